//! CustomAction rows and their InstallExecuteSequence placement: the ARP install location,
//! commands, service recovery (`sc.exe`) and firewall rules (`netsh advfirewall`).
//!
//! Invariant: every action that changes the system is deferred and runs without
//! impersonation, each firewall change has its rollback twin scheduled before it, and no
//! command line is longer than the 255 characters its column holds.

use crate::database::{row, Database};
use crate::model::*;
use crate::names::escape_formatted;
use crate::plan::{Plan, OLDER_FOUND, SYSTEM64_FOLDER};
use crate::schema::CUSTOM_ACTION;
use crate::MsiError;

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
pub(crate) const SEQ_FIREWALL_UNINSTALL: i32 = 2010; // + 2 per rule: restore (rollback), remove
pub(crate) const SEQ_COMMANDS: i32 = 5050; // + 1 per command
pub(crate) const SEQ_RECOVERY: i32 = 5810; // failure actions, then 5811 failure flag
pub(crate) const SEQ_FIREWALL_INSTALL: i32 = 5820; // + 3 per rule: undo (rollback), clean, add

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

/// Custom action rows and their InstallExecuteSequence placement, added together.
struct Actions<'d> {
    db: &'d mut Database,
    scheduled: Vec<Scheduled>,
}

impl Actions<'_> {
    /// Adds the CustomAction row (`kind`, `source`, `target`) for `at.action` and schedules it.
    fn schedule(
        &mut self,
        at: Scheduled,
        kind: i32,
        source: &str,
        target: String,
    ) -> Result<(), MsiError> {
        add_action(self.db, &at.action, kind, source, target)?;
        self.scheduled.push(at);
        Ok(())
    }
}

/// The condition "`component` is being installed" (install, upgrade, repair).
fn installing(component: &str) -> String {
    format!("${component}=3")
}

/// The condition "`component` is being removed".
fn removing(component: &str) -> String {
    format!("${component}=2")
}

pub(super) fn custom_actions(
    plan: &Plan<'_>,
    db: &mut Database,
) -> Result<Vec<Scheduled>, MsiError> {
    let pkg = plan.pkg;
    let mut actions = Actions {
        db,
        scheduled: Vec::new(),
    };
    actions.schedule(
        Scheduled {
            action: "WrSetArpInstallLocation".into(),
            condition: None,
            sequence: SEQ_SET_ARP_LOCATION,
        },
        CA_SET_PROPERTY,
        "ARPINSTALLLOCATION",
        format!("[{}]", pkg.install_dir.property),
    )?;
    command_actions(pkg, &mut actions)?;
    if let (Some(recovery), Some(service)) = (&pkg.recovery, &pkg.service) {
        recovery_actions(recovery, service, &mut actions)?;
    }
    for (i, rule) in pkg.firewall_rules.iter().enumerate() {
        firewall_actions(plan, i, rule, &mut actions)?;
    }
    Ok(actions.scheduled)
}

/// One deferred action per command, running the installed exe.
fn command_actions(pkg: &Package, actions: &mut Actions<'_>) -> Result<(), MsiError> {
    for (i, command) in pkg.commands.iter().enumerate() {
        let mut kind = CA_EXE_FILE | DEFERRED;
        if command.ignore_exit_code {
            kind |= CA_RETURN_IGNORE;
        }
        let component = &command.file;
        let condition = match command.when {
            CommandWhen::FirstInstall => format!(
                "{} AND NOT Installed AND NOT {OLDER_FOUND}",
                installing(component)
            ),
            CommandWhen::EveryInstall => installing(component),
        };
        actions.schedule(
            Scheduled {
                action: command.id.clone(),
                condition: Some(condition),
                sequence: SEQ_COMMANDS + i as i32,
            },
            kind,
            &command.file,
            command.arguments.clone(),
        )?;
    }
    Ok(())
}

/// `sc.exe failure` (and optionally `sc.exe failureflag`) after InstallServices.
fn recovery_actions(
    recovery: &Recovery,
    service: &ServiceSpec,
    actions: &mut Actions<'_>,
) -> Result<(), MsiError> {
    let delay = recovery.restart_delay_ms;
    actions.schedule(
        Scheduled {
            action: "WrServiceRecovery".into(),
            condition: Some(installing(&service.exe)),
            sequence: SEQ_RECOVERY,
        },
        CA_EXE_DIRECTORY | DEFERRED,
        SYSTEM64_FOLDER,
        format!(
            "\"[{SYSTEM64_FOLDER}]sc.exe\" failure {} reset= {} actions= restart/{delay}/restart/{delay}/restart/{delay}",
            quote(&service.name),
            recovery.reset_period_s,
        ),
    )?;
    if recovery.on_non_crash_failures {
        // Ignore failure: the flag only widens when the actions apply (and Wine's sc.exe
        // lacks the command); the restart actions themselves are set above.
        actions.schedule(
            Scheduled {
                action: "WrServiceRecoveryFlag".into(),
                condition: Some(installing(&service.exe)),
                sequence: SEQ_RECOVERY + 1,
            },
            CA_EXE_DIRECTORY | DEFERRED | CA_RETURN_IGNORE,
            SYSTEM64_FOLDER,
            format!(
                "\"[{SYSTEM64_FOLDER}]sc.exe\" failureflag {} 1",
                quote(&service.name)
            ),
        )?;
    }
    Ok(())
}

/// The five `netsh` actions of firewall rule `i`: undo, clean and add on install; restore and
/// remove on uninstall.
fn firewall_actions(
    plan: &Plan<'_>,
    i: usize,
    rule: &FirewallRule,
    actions: &mut Actions<'_>,
) -> Result<(), MsiError> {
    let n = i + 1;
    let i = i as i32;
    let component = rule.program.as_deref().unwrap_or(&plan.pkg.files[0].key);
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
    let step = |action: String, condition: String, sequence: i32| Scheduled {
        action,
        condition: Some(condition),
        sequence,
    };
    let steps = [
        // Install: the rollback step comes first so it is registered before the rule is added.
        (
            step(
                format!("WrFirewallUndo{n}"),
                installing(component),
                SEQ_FIREWALL_INSTALL + 3 * i,
            ),
            base | CA_ROLLBACK | ignore,
            &delete,
        ),
        // Remove a stale rule of the same name (left by a failed run or made by hand), so the
        // add below never creates a duplicate.
        (
            step(
                format!("WrFirewallClean{n}"),
                installing(component),
                SEQ_FIREWALL_INSTALL + 3 * i + 1,
            ),
            base | ignore,
            &delete,
        ),
        (
            step(
                format!("WrFirewallAdd{n}"),
                installing(component),
                SEQ_FIREWALL_INSTALL + 3 * i + 2,
            ),
            add_kind,
            &add,
        ),
        // Uninstall (including the old product's removal during a major upgrade, which then
        // re-adds its rules): rollback re-adds, then delete; a failure to delete never blocks
        // an uninstall.
        (
            step(
                format!("WrFirewallRestore{n}"),
                removing(component),
                SEQ_FIREWALL_UNINSTALL + 2 * i,
            ),
            base | CA_ROLLBACK | ignore,
            &add,
        ),
        (
            step(
                format!("WrFirewallRemove{n}"),
                removing(component),
                SEQ_FIREWALL_UNINSTALL + 2 * i + 1,
            ),
            base | ignore,
            &delete,
        ),
    ];
    for (at, kind, target) in steps {
        actions.schedule(at, kind, SYSTEM64_FOLDER, target.clone())?;
    }
    Ok(())
}
