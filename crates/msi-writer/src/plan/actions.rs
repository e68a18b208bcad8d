//! Checks of what becomes custom actions: firewall rules (`netsh advfirewall`) and commands
//! (installed programs run by the installer).
//!
//! Invariant: the counts fit the fixed sequence slots the table builder gives them, names are
//! unique (case-insensitively for rules, which netsh compares that way) and command ids never
//! take a standard action's name or the writer's `Wr` prefix.

use std::collections::{BTreeSet, HashSet};

use crate::error::MsiError;
use crate::model::{ExeCommand, FirewallProfile, FirewallRule};
use crate::names::{check_identifier, check_optional_text, check_text, fold};

use super::checks::{check_limit, check_unique, require_file};
use super::Plan;

/// Firewall rules get fixed sequence slots between InstallServices and StartServices.
pub(crate) const MAX_FIREWALL_RULES: usize = 20;
/// Commands get fixed sequence slots between WriteRegistryValues and WriteIniValues.
pub(crate) const MAX_COMMANDS: usize = 40;

/// Standard actions (they share the sequence tables' key space with custom actions).
pub(crate) const STANDARD_ACTIONS: &[&str] = &[
    "AppSearch",
    "CostFinalize",
    "CostInitialize",
    "CreateFolders",
    "DeleteServices",
    "ExecuteAction",
    "FileCost",
    "FindRelatedProducts",
    "InstallAdminPackage",
    "InstallFiles",
    "InstallFinalize",
    "InstallInitialize",
    "InstallServices",
    "InstallValidate",
    "LaunchConditions",
    "MigrateFeatureStates",
    "ProcessComponents",
    "PublishFeatures",
    "PublishProduct",
    "RegisterProduct",
    "RegisterUser",
    "RemoveExistingProducts",
    "RemoveFiles",
    "RemoveFolders",
    "RemoveRegistryValues",
    "StartServices",
    "StopServices",
    "UnpublishFeatures",
    "ValidateProductID",
    "WriteRegistryValues",
];

/// Checks every firewall rule.
pub(super) fn check_firewall_rules(plan: &Plan<'_>) -> Result<(), MsiError> {
    let rules = &plan.pkg.firewall_rules;
    check_limit(
        "firewall rules",
        rules.len() as u64,
        MAX_FIREWALL_RULES as u64,
        "each rule has fixed sequence slots before StartServices",
    )?;
    let mut rule_names = HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("firewall_rules[{i}]");
        check_text(&format!("{field}.name"), &rule.name, 200)?;
        if rule.name.contains('"') {
            return Err(MsiError::text(
                format!("{field}.name"),
                "must not contain '\"' (it is quoted on the netsh command line)",
            ));
        }
        check_unique(
            rule_names.insert(fold(&rule.name)),
            "firewall rule name",
            &rule.name,
        )?;
        check_rule_lists(&field, rule)?;
        match &rule.program {
            Some(key) => require_file(plan, &format!("{field}.program"), key)?,
            None if plan.files.is_empty() => {
                return Err(MsiError::Missing {
                    what: format!("{field} without a program"),
                    needs: "at least one payload file whose component it follows".into(),
                })
            }
            None => {}
        }
    }
    Ok(())
}

/// Ports: at least one, none 0, none twice; profiles: none twice.
fn check_rule_lists(field: &str, rule: &FirewallRule) -> Result<(), MsiError> {
    if rule.ports.is_empty() {
        return Err(MsiError::text(
            format!("{field}.ports"),
            "list at least one port",
        ));
    }
    if rule.ports.contains(&0) {
        return Err(MsiError::PortZero {
            field: format!("{field}.ports"),
        });
    }
    let distinct: BTreeSet<u16> = rule.ports.iter().copied().collect();
    if distinct.len() != rule.ports.len() {
        return Err(MsiError::text(
            format!("{field}.ports"),
            "lists a port twice",
        ));
    }
    let profiles: BTreeSet<FirewallProfile> = rule.profiles.iter().copied().collect();
    if profiles.len() != rule.profiles.len() {
        return Err(MsiError::text(
            format!("{field}.profiles"),
            "lists a profile twice",
        ));
    }
    Ok(())
}

/// Checks every command.
pub(super) fn check_commands(plan: &Plan<'_>) -> Result<(), MsiError> {
    let commands = &plan.pkg.commands;
    check_limit(
        "commands",
        commands.len() as u64,
        MAX_COMMANDS as u64,
        "each command has a fixed sequence slot after WriteRegistryValues",
    )?;
    let mut command_ids = HashSet::new();
    for (i, command) in commands.iter().enumerate() {
        let field = format!("commands[{i}]");
        check_command_id(&field, command)?;
        check_unique(
            command_ids.insert(command.id.as_str()),
            "command id",
            &command.id,
        )?;
        require_file(plan, &format!("{field}.file"), &command.file)?;
        check_optional_text(&format!("{field}.arguments"), &command.arguments, 255)?;
    }
    Ok(())
}

fn check_command_id(field: &str, command: &ExeCommand) -> Result<(), MsiError> {
    check_identifier(&format!("{field}.id"), &command.id, 72)?;
    if command.id.starts_with("Wr") || STANDARD_ACTIONS.contains(&command.id.as_str()) {
        return Err(MsiError::ReservedName {
            kind: "custom action name (names starting with \"Wr\" and standard action names are reserved)",
            key: command.id.clone(),
        });
    }
    Ok(())
}
