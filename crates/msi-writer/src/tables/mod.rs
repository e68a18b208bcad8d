//! Turns a validated [`Plan`] into table rows.
//!
//! Sequencing decisions (see also the crate documentation):
//! - Standard actions use Microsoft's suggested sequence numbers (the ones WiX also uses), with
//!   FindRelatedProducts at 25 so that LaunchConditions (100) can refuse a downgrade.
//! - RemoveExistingProducts runs at 1501, right after InstallInitialize: the old version is
//!   removed inside the new install's transaction, so a failed upgrade rolls back to the old
//!   version, still installed and running.
//! - Every custom action that changes the system is deferred (in-script, 0x400) and runs without
//!   impersonation (0x800) as LocalSystem, between InstallInitialize and InstallFinalize.

use crate::database::{row, Cell, Database};
use crate::model::*;
use crate::names::escape_formatted;
use crate::plan::{Plan, NEWER_FOUND, NEWER_VERSION, OLDER_FOUND, SYSTEM64_FOLDER};
use crate::schema::*;
use crate::MsiError;

/// Feature holding every component.
pub(crate) const FEATURE_NAME: &str = "ProductFeature";
/// The embedded cabinet's stream name (the Media.Cabinet value without `#`).
pub(crate) const CABINET_STREAM: &str = "product.cab";

// Custom action type bits (msidbCustomAction*).
pub(crate) const CA_EXE_FILE: i32 = 18; // exe installed with the product, Source = File key
pub(crate) const CA_EXE_DIRECTORY: i32 = 34; // exe by path, Source = working directory
pub(crate) const CA_SET_PROPERTY: i32 = 51;
pub(crate) const CA_RETURN_IGNORE: i32 = 0x40;
pub(crate) const CA_ROLLBACK: i32 = 0x100;
pub(crate) const CA_IN_SCRIPT: i32 = 0x400;
pub(crate) const CA_NO_IMPERSONATE: i32 = 0x800;

const DEFERRED: i32 = CA_IN_SCRIPT | CA_NO_IMPERSONATE;

// Sequence slots for our custom actions.
pub(crate) const SEQ_SET_ARP_LOCATION: i32 = 1001;
pub(crate) const SEQ_REMOVE_EXISTING: i32 = 1501;
pub(crate) const SEQ_FIREWALL_UNINSTALL: i32 = 2010; // + 2 per rule: restore (rollback), remove
pub(crate) const SEQ_COMMANDS: i32 = 5050; // + 1 per command
pub(crate) const SEQ_RECOVERY: i32 = 5810; // failure actions, then 5811 failure flag
pub(crate) const SEQ_FIREWALL_INSTALL: i32 = 5820; // + 3 per rule: undo (rollback), clean, add

/// Upgrade attributes.
const UPGRADE_MIGRATE_FEATURES: i32 = 0x1;
const UPGRADE_ONLY_DETECT: i32 = 0x2;
const UPGRADE_VERSION_MAX_INCLUSIVE: i32 = 0x200;

/// Builds every table of the package.
pub(crate) fn build(plan: &Plan<'_>) -> Result<Database, MsiError> {
    let mut db = Database::default();
    properties(plan, &mut db);
    directories(plan, &mut db);
    components_and_files(plan, &mut db);
    service(plan, &mut db);
    event_log(plan, &mut db);
    upgrade(plan, &mut db);
    let custom = custom_actions(plan, &mut db)?;
    sequences(&custom, &mut db);
    Ok(db)
}

fn properties(plan: &Plan<'_>, db: &mut Database) {
    let pkg = plan.pkg;
    let product = &pkg.product;
    let mut add = |name: &str, value: String| db.add(&PROPERTY, row![name, value]);
    add("ProductName", product.name.clone());
    add("ProductVersion", product.version.to_string());
    add("ProductCode", product.product_code.to_string());
    add("ProductLanguage", product.language.to_string());
    add("Manufacturer", product.manufacturer.clone());
    add("UpgradeCode", product.upgrade_code.to_string());
    add("ALLUSERS", "1".into());
    add("REBOOT", "ReallySuppress".into());
    add("MSIRESTARTMANAGERCONTROL", "Disable".into());
    let arp = &pkg.arp;
    if arp.no_modify {
        add("ARPNOMODIFY", "1".into());
    }
    if arp.no_repair {
        add("ARPNOREPAIR", "1".into());
    }
    if let Some(link) = &arp.help_link {
        add("ARPHELPLINK", link.clone());
    }
    if let Some(link) = &arp.about_link {
        add("ARPURLINFOABOUT", link.clone());
    }
    if let Some(contact) = &arp.contact {
        add("ARPCONTACT", contact.clone());
    }
    match (&arp.comments, product.description.is_empty()) {
        (Some(comments), _) => add("ARPCOMMENTS", comments.clone()),
        (None, false) => add("ARPCOMMENTS", product.description.clone()),
        (None, true) => {}
    }
    for property in &pkg.properties {
        add(&property.name, property.value.clone());
    }

    // Public properties the server side of a managed (elevated or Group Policy) install may take
    // from the client: the upgrade detection results, the install directory and our settings.
    let mut secure: Vec<String> = vec![
        OLDER_FOUND.into(),
        NEWER_FOUND.into(),
        NEWER_VERSION.into(),
        pkg.install_dir.property.clone(),
    ];
    secure.extend(pkg.properties.iter().map(|p| p.name.clone()));
    let mut hidden = Vec::new();
    if let Some(ServiceSpec {
        account:
            ServiceAccount::User {
                password_property: Some(property),
                ..
            },
        ..
    }) = &pkg.service
    {
        secure.push(property.clone());
        hidden.push(property.clone());
    }
    secure.sort();
    secure.dedup();
    add("SecureCustomProperties", secure.join(";"));
    if !hidden.is_empty() {
        add("MsiHiddenProperties", hidden.join(";"));
    }

    for property in pkg.properties.iter().filter(|p| p.site_settable) {
        db.add(
            &WINRELEASE_SETTINGS,
            row![&property.name, property.kind.as_str()],
        );
    }
}

fn directories(plan: &Plan<'_>, db: &mut Database) {
    for dir in &plan.dirs {
        db.add(
            &DIRECTORY,
            row![&dir.key, dir.parent.clone(), &dir.default_dir],
        );
    }
}

fn components_and_files(plan: &Plan<'_>, db: &mut Database) {
    for file in &plan.files {
        let key = &file.spec.key;
        db.add(
            &COMPONENT,
            row![
                key,
                file.component_guid.to_string(),
                &file.dir_key,
                file.component_attributes,
                Cell::Null,
                key
            ],
        );
        db.add(&FEATURE_COMPONENTS, row![FEATURE_NAME, key]);
        let language = file.spec.version.as_ref().map(|_| "0");
        db.add(
            &FILE,
            row![
                key,
                key,
                &file.file_name,
                file.size as i32,
                file.spec.version.clone(),
                language,
                0x200, // msidbFileAttributesVital
                file.sequence,
            ],
        );
    }
    for folder in &plan.folder_components {
        db.add(
            &COMPONENT,
            row![
                &folder.key,
                folder.guid.to_string(),
                &folder.dir_key,
                0x100,
                Cell::Null,
                Cell::Null
            ],
        );
        db.add(&CREATE_FOLDER, row![&folder.dir_key, &folder.key]);
        db.add(&FEATURE_COMPONENTS, row![FEATURE_NAME, &folder.key]);
    }
    let pkg = plan.pkg;
    db.add(
        &FEATURE,
        row![
            FEATURE_NAME,
            Cell::Null,
            &pkg.product.name,
            Cell::Null,
            1,
            1,
            Cell::Null,
            0
        ],
    );
    if !plan.files.is_empty() {
        db.add(
            &MEDIA,
            row![
                1,
                plan.files.len() as i32,
                Cell::Null,
                format!("#{CABINET_STREAM}"),
                Cell::Null,
                Cell::Null
            ],
        );
    }
}

fn service(plan: &Plan<'_>, db: &mut Database) {
    let Some(service) = &plan.pkg.service else {
        return;
    };
    let name = escape_formatted(&service.name);
    let (start_name, password) = match &service.account {
        ServiceAccount::LocalSystem => (None, None),
        ServiceAccount::LocalService => (Some("NT AUTHORITY\\LocalService".to_string()), None),
        ServiceAccount::NetworkService => (Some("NT AUTHORITY\\NetworkService".to_string()), None),
        ServiceAccount::User {
            name,
            password_property,
        } => (
            Some(escape_formatted(name)),
            password_property.as_ref().map(|p| format!("[{p}]")),
        ),
    };
    let dependencies = (!service.dependencies.is_empty()).then(|| {
        let mut list: String = service
            .dependencies
            .iter()
            .map(|d| format!("{}[~]", escape_formatted(d)))
            .collect();
        list.push_str("[~]");
        list
    });
    let start_type = match service.start {
        StartType::Auto => 2,
        StartType::Demand => 3,
        StartType::Disabled => 4,
    };
    // 0x8000 (msidbServiceInstallErrorControlVital): failing to install the service fails the install.
    let error_control = 0x8000
        | match service.error_control {
            ErrorControl::Ignore => 0,
            ErrorControl::Normal => 1,
            ErrorControl::Critical => 3,
        };
    let component = &plan.file(&service.exe).spec.key;
    db.add(
        &SERVICE_INSTALL,
        row![
            "WrService",
            &name,
            escape_formatted(&service.display_name),
            0x10, // SERVICE_WIN32_OWN_PROCESS
            start_type,
            error_control,
            Cell::Null,
            dependencies,
            start_name,
            password,
            (!service.arguments.is_empty()).then(|| service.arguments.clone()),
            component,
            (!service.description.is_empty()).then(|| service.description.clone()),
        ],
    );
    // Stop on install (the running old exe must be released) and on uninstall, delete on
    // uninstall, start on install if asked.
    let mut events = 0x2 | 0x20 | 0x80;
    if service.start_on_install {
        events |= 0x1;
    }
    db.add(
        &SERVICE_CONTROL,
        row![
            "WrService",
            &name,
            events,
            Cell::Null,
            i32::from(service.wait),
            component
        ],
    );
}

fn event_log(plan: &Plan<'_>, db: &mut Database) {
    let Some(source) = &plan.pkg.event_log_source else {
        return;
    };
    let key = format!(
        "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\{}",
        escape_formatted(&source.name)
    );
    let component = &plan.file(&source.file).spec.key;
    let (message_file, types) = match &source.message_file {
        MessageFile::EventCreate => ("%SystemRoot%\\System32\\EventCreate.exe".to_string(), 7),
        MessageFile::File {
            key,
            types_supported,
        } => (plan.file(key).formatted_path.clone(), *types_supported),
    };
    const HKLM: i32 = 2;
    // "-" with no value: delete the key with everything in it when the component is removed.
    db.add(
        &REGISTRY,
        row!["WrEventLogSource", HKLM, &key, "-", Cell::Null, component],
    );
    // "#%" = REG_EXPAND_SZ, "#" = REG_DWORD.
    db.add(
        &REGISTRY,
        row![
            "WrEventLogMessageFile",
            HKLM,
            &key,
            "EventMessageFile",
            format!("#%{message_file}"),
            component
        ],
    );
    db.add(
        &REGISTRY,
        row![
            "WrEventLogTypes",
            HKLM,
            &key,
            "TypesSupported",
            format!("#{types}"),
            component
        ],
    );
}

fn upgrade(plan: &Plan<'_>, db: &mut Database) {
    let product = &plan.pkg.product;
    let code = product.upgrade_code.to_string();
    let version = product.version.to_string();
    // Older or same versions are removed (same version only if its ProductCode differs; with
    // the derived ProductCode a rebuild of the same version is the same product, which Windows
    // Installer treats as maintenance / "already installed" rather than as an upgrade).
    db.add(
        &UPGRADE,
        row![
            &code,
            Cell::Null,
            &version,
            Cell::Null,
            UPGRADE_MIGRATE_FEATURES | UPGRADE_VERSION_MAX_INCLUSIVE,
            Cell::Null,
            OLDER_FOUND,
        ],
    );
    // Strictly newer versions are only detected; the launch condition refuses the install.
    db.add(
        &UPGRADE,
        row![
            &code,
            &version,
            Cell::Null,
            Cell::Null,
            UPGRADE_ONLY_DETECT,
            Cell::Null,
            NEWER_FOUND
        ],
    );
    // The newer product's version, from its Add/Remove Programs entry, for the refusal message.
    db.add(&APP_SEARCH, row![NEWER_VERSION, "WrNewerVersionSearch"]);
    db.add(
        &REG_LOCATOR,
        row![
            "WrNewerVersionSearch",
            2, // HKLM
            format!("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\[{NEWER_FOUND}]"),
            "DisplayVersion",
            2 | 0x10, // raw value, 64-bit registry view
        ],
    );
    db.add(
        &LAUNCH_CONDITION,
        row![
            format!("Installed OR NOT {NEWER_FOUND}"),
            downgrade_message(&product.name, &version),
        ],
    );
}

/// The message shown (and logged) when a newer version is installed.
pub(crate) fn downgrade_message(product: &str, version: &str) -> String {
    format!(
        "A newer version of {} ([{NEWER_VERSION}]) is already installed; this package is version {version}. \
         Downgrades are not supported: uninstall the newer version first.",
        escape_formatted(product)
    )
}

/// A custom action with its sequence placement.
pub(crate) struct Scheduled {
    pub action: String,
    pub condition: Option<String>,
    pub sequence: i32,
}

fn add_action(
    db: &mut Database,
    action: &str,
    kind: i32,
    source: &str,
    target: String,
) -> Result<(), MsiError> {
    let len = target.chars().count();
    if len > 255 {
        return Err(MsiError::TooLong {
            what: format!("the command line of custom action {action}"),
            len,
            max: 255,
            hint: "shorten the names that appear in it (rule name, service name, arguments)",
        });
    }
    // An empty target (a command without arguments) is stored as null, as the engine expects.
    let target = (!target.is_empty()).then_some(target);
    db.add(&CUSTOM_ACTION, row![action, kind, source, target]);
    Ok(())
}

fn quote(text: &str) -> String {
    format!("\"{}\"", escape_formatted(text))
}

/// The netsh command that adds `rule`.
pub(crate) fn firewall_add_command(rule: &FirewallRule, program: Option<&str>) -> String {
    let ports: Vec<String> = rule.ports.iter().map(u16::to_string).collect();
    let protocol = match rule.protocol {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
    };
    let mut profiles: Vec<FirewallProfile> = rule.profiles.clone();
    profiles.sort();
    let profile = if profiles.is_empty() {
        "any".to_string()
    } else {
        profiles
            .iter()
            .map(|p| match p {
                FirewallProfile::Domain => "domain",
                FirewallProfile::Private => "private",
                FirewallProfile::Public => "public",
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let program = program
        .map(|p| format!(" program=\"{p}\""))
        .unwrap_or_default();
    format!(
        "\"[{SYSTEM64_FOLDER}]netsh.exe\" advfirewall firewall add rule name={} dir=in action=allow \
         protocol={protocol} localport={}{program} profile={profile} enable=yes",
        quote(&rule.name),
        ports.join(","),
    )
}

/// The netsh command that deletes every rule named like `rule`.
pub(crate) fn firewall_delete_command(rule: &FirewallRule) -> String {
    format!(
        "\"[{SYSTEM64_FOLDER}]netsh.exe\" advfirewall firewall delete rule name={}",
        quote(&rule.name)
    )
}

fn custom_actions(plan: &Plan<'_>, db: &mut Database) -> Result<Vec<Scheduled>, MsiError> {
    let pkg = plan.pkg;
    let mut out = Vec::new();
    let installing = |component: &str| format!("${component}=3");
    let removing = |component: &str| format!("${component}=2");

    add_action(
        db,
        "WrSetArpInstallLocation",
        CA_SET_PROPERTY,
        "ARPINSTALLLOCATION",
        format!("[{}]", pkg.install_dir.property),
    )?;
    out.push(Scheduled {
        action: "WrSetArpInstallLocation".into(),
        condition: None,
        sequence: SEQ_SET_ARP_LOCATION,
    });

    for (i, command) in pkg.commands.iter().enumerate() {
        let mut kind = CA_EXE_FILE | DEFERRED;
        if command.ignore_exit_code {
            kind |= CA_RETURN_IGNORE;
        }
        add_action(
            db,
            &command.id,
            kind,
            &command.file,
            command.arguments.clone(),
        )?;
        let component = &command.file;
        let condition = match command.when {
            CommandWhen::FirstInstall => format!(
                "{} AND NOT Installed AND NOT {OLDER_FOUND}",
                installing(component)
            ),
            CommandWhen::EveryInstall => installing(component),
        };
        out.push(Scheduled {
            action: command.id.clone(),
            condition: Some(condition),
            sequence: SEQ_COMMANDS + i as i32,
        });
    }

    if let (Some(recovery), Some(service)) = (&pkg.recovery, &pkg.service) {
        let delay = recovery.restart_delay_ms;
        add_action(
            db,
            "WrServiceRecovery",
            CA_EXE_DIRECTORY | DEFERRED,
            SYSTEM64_FOLDER,
            format!(
                "\"[{SYSTEM64_FOLDER}]sc.exe\" failure {} reset= {} actions= restart/{delay}/restart/{delay}/restart/{delay}",
                quote(&service.name),
                recovery.reset_period_s,
            ),
        )?;
        out.push(Scheduled {
            action: "WrServiceRecovery".into(),
            condition: Some(installing(&service.exe)),
            sequence: SEQ_RECOVERY,
        });
        if recovery.on_non_crash_failures {
            // Ignore failure: the flag only widens when the actions apply (and Wine's sc.exe
            // lacks the command); the restart actions themselves are set above.
            add_action(
                db,
                "WrServiceRecoveryFlag",
                CA_EXE_DIRECTORY | DEFERRED | CA_RETURN_IGNORE,
                SYSTEM64_FOLDER,
                format!(
                    "\"[{SYSTEM64_FOLDER}]sc.exe\" failureflag {} 1",
                    quote(&service.name)
                ),
            )?;
            out.push(Scheduled {
                action: "WrServiceRecoveryFlag".into(),
                condition: Some(installing(&service.exe)),
                sequence: SEQ_RECOVERY + 1,
            });
        }
    }

    for (i, rule) in pkg.firewall_rules.iter().enumerate() {
        let n = i + 1;
        let component = rule.program.as_deref().unwrap_or(&pkg.files[0].key);
        let program = rule
            .program
            .as_deref()
            .map(|key| plan.file(key).formatted_path.as_str());
        let add = firewall_add_command(rule, program);
        let delete = firewall_delete_command(rule);
        let ignore = CA_RETURN_IGNORE;
        let base = CA_EXE_DIRECTORY | DEFERRED;
        let add_kind = if rule.abort_on_failure {
            base
        } else {
            base | ignore
        };
        let steps: [(String, i32, &String, Option<String>, i32); 5] = [
            // Install: the rollback step comes first so it is registered before the rule is added.
            (
                format!("WrFirewallUndo{n}"),
                base | CA_ROLLBACK | ignore,
                &delete,
                Some(installing(component)),
                SEQ_FIREWALL_INSTALL + 3 * i as i32,
            ),
            // Remove a stale rule of the same name (left by a failed run or made by hand), so the
            // add below never creates a duplicate.
            (
                format!("WrFirewallClean{n}"),
                base | ignore,
                &delete,
                Some(installing(component)),
                SEQ_FIREWALL_INSTALL + 3 * i as i32 + 1,
            ),
            (
                format!("WrFirewallAdd{n}"),
                add_kind,
                &add,
                Some(installing(component)),
                SEQ_FIREWALL_INSTALL + 3 * i as i32 + 2,
            ),
            // Uninstall (including the old product's removal during a major upgrade, which then
            // re-adds its rules): rollback re-adds, then delete; a failure to delete never blocks
            // an uninstall.
            (
                format!("WrFirewallRestore{n}"),
                base | CA_ROLLBACK | ignore,
                &add,
                Some(removing(component)),
                SEQ_FIREWALL_UNINSTALL + 2 * i as i32,
            ),
            (
                format!("WrFirewallRemove{n}"),
                base | ignore,
                &delete,
                Some(removing(component)),
                SEQ_FIREWALL_UNINSTALL + 2 * i as i32 + 1,
            ),
        ];
        for (action, kind, target, condition, sequence) in steps {
            add_action(db, &action, kind, SYSTEM64_FOLDER, target.clone())?;
            out.push(Scheduled {
                action,
                condition,
                sequence,
            });
        }
    }
    Ok(out)
}

/// `(action, condition, sequence)` of the standard InstallExecuteSequence we write.
pub(crate) const INSTALL_EXECUTE: &[(&str, Option<&str>, i32)] = &[
    ("FindRelatedProducts", None, 25),
    ("AppSearch", None, 50),
    ("LaunchConditions", None, 100),
    ("ValidateProductID", None, 700),
    ("CostInitialize", None, 800),
    ("FileCost", None, 900),
    ("CostFinalize", None, 1000),
    ("MigrateFeatureStates", None, 1200),
    ("InstallValidate", None, 1400),
    ("InstallInitialize", None, 1500),
    ("RemoveExistingProducts", None, SEQ_REMOVE_EXISTING),
    ("ProcessComponents", None, 1600),
    ("UnpublishFeatures", None, 1800),
    ("StopServices", Some("VersionNT"), 1900),
    ("DeleteServices", Some("VersionNT"), 2000),
    ("RemoveRegistryValues", None, 2600),
    ("RemoveFiles", None, 3500),
    ("RemoveFolders", None, 3600),
    ("CreateFolders", None, 3700),
    ("InstallFiles", None, 4000),
    ("WriteRegistryValues", None, 5000),
    ("InstallServices", Some("VersionNT"), 5800),
    ("StartServices", Some("VersionNT"), 5900),
    ("RegisterUser", None, 6000),
    ("RegisterProduct", None, 6100),
    ("PublishFeatures", None, 6300),
    ("PublishProduct", None, 6400),
    ("InstallFinalize", None, 6600),
];

pub(crate) const INSTALL_UI: &[(&str, Option<&str>, i32)] = &[
    ("FindRelatedProducts", None, 25),
    ("AppSearch", None, 50),
    ("LaunchConditions", None, 100),
    ("ValidateProductID", None, 700),
    ("CostInitialize", None, 800),
    ("FileCost", None, 900),
    ("CostFinalize", None, 1000),
    ("MigrateFeatureStates", None, 1200),
    ("ExecuteAction", None, 1300),
];

pub(crate) const ADMIN_EXECUTE: &[(&str, Option<&str>, i32)] = &[
    ("CostInitialize", None, 800),
    ("FileCost", None, 900),
    ("CostFinalize", None, 1000),
    ("InstallValidate", None, 1400),
    ("InstallInitialize", None, 1500),
    ("InstallAdminPackage", None, 3900),
    ("InstallFiles", None, 4000),
    ("InstallFinalize", None, 6600),
];

pub(crate) const ADMIN_UI: &[(&str, Option<&str>, i32)] = &[
    ("CostInitialize", None, 800),
    ("FileCost", None, 900),
    ("CostFinalize", None, 1000),
    ("ExecuteAction", None, 1300),
];

pub(crate) const ADVT_EXECUTE: &[(&str, Option<&str>, i32)] = &[
    ("CostInitialize", None, 800),
    ("CostFinalize", None, 1000),
    ("InstallValidate", None, 1400),
    ("InstallInitialize", None, 1500),
    ("PublishFeatures", None, 6300),
    ("PublishProduct", None, 6400),
    ("InstallFinalize", None, 6600),
];

fn sequences(custom: &[Scheduled], db: &mut Database) {
    let standard =
        |db: &mut Database, table: &'static TableDef, rows: &[(&str, Option<&str>, i32)]| {
            for (action, condition, sequence) in rows {
                db.add(table, row![*action, *condition, *sequence]);
            }
        };
    standard(db, &INSTALL_EXECUTE_SEQUENCE, INSTALL_EXECUTE);
    for action in custom {
        db.add(
            &INSTALL_EXECUTE_SEQUENCE,
            row![&action.action, action.condition.clone(), action.sequence],
        );
    }
    standard(db, &INSTALL_UI_SEQUENCE, INSTALL_UI);
    standard(db, &ADMIN_EXECUTE_SEQUENCE, ADMIN_EXECUTE);
    standard(db, &ADMIN_UI_SEQUENCE, ADMIN_UI);
    standard(db, &ADVT_EXECUTE_SEQUENCE, ADVT_EXECUTE);
}
