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
//!
//! This module writes the data tables (Property, Directory, Component, File, Feature, Media,
//! service, Event Log, Upgrade); `custom_actions` the CustomAction rows and where they run;
//! `sequences` the five sequence tables. Invariant: no check happens here that could fail on a
//! valid plan, except the length of a custom action's command line, which is known only here.

mod custom_actions;
mod sequences;

use crate::database::{row, Cell, Database};
use crate::model::*;
use crate::names::escape_formatted;
use crate::plan::{Plan, DOWNGRADE_FOUND, NEWER_FOUND, NEWER_VERSION, OLDER_FOUND};
use crate::schema::*;
use crate::MsiError;

/// Feature holding every component.
pub(crate) const FEATURE_NAME: &str = "ProductFeature";
/// The embedded cabinet's stream name (the Media.Cabinet value without `#`).
pub(crate) const CABINET_STREAM: &str = "product.cab";

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
    let custom = custom_actions::custom_actions(plan, &mut db)?;
    sequences::sequences(&custom, &mut db);
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
    if let Some(allow) = &pkg.downgrade_property {
        // A default, so the launch condition never depends on a missing property; only a
        // command line (or a transform made for the purpose) sets it to 1.
        add(allow, "0".to_string());
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
    if let Some(allow) = &pkg.downgrade_property {
        secure.extend([DOWNGRADE_FOUND.to_string(), allow.clone()]);
    }
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
    let mut condition = format!("Installed OR NOT {NEWER_FOUND}");
    if let Some(allow) = &plan.pkg.downgrade_property {
        // Asked for on the command line: newer versions are removed like older ones
        // (RemoveExistingProducts), and the launch condition lets the install through.
        db.add(
            &UPGRADE,
            row![
                &code,
                &version,
                Cell::Null,
                Cell::Null,
                UPGRADE_MIGRATE_FEATURES,
                Cell::Null,
                DOWNGRADE_FOUND
            ],
        );
        condition.push_str(&format!(" OR {allow}=\"1\""));
    }
    db.add(
        &LAUNCH_CONDITION,
        row![condition, downgrade_message(&product.name, &version)],
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
