//! What a silent, per-machine, boot-time install needs: ALLUSERS=1, no per-user data, nothing
//! from dialogs or the command line, no reboot; and the lint's verdict.

use std::collections::{BTreeMap, BTreeSet};

use super::formatted::{condition_identifiers, is_public, property_references};
use super::lists::{INSTALLER_PROPERTIES, PER_USER_FOLDERS};
use super::{outcome, pass, Check, Pkg, Status};
use crate::lint::{Finding, Severity};
use crate::read::Value;
use crate::transform::check_value;

impl Pkg {
    pub(super) fn per_machine(&self) -> Check {
        let mut fails = Vec::new();
        let mut warns = Vec::new();
        match self.property("ALLUSERS") {
            Some("1") => {}
            Some("2") => fails.push(
                "ALLUSERS=2 lets Windows Installer choose per-user or per-machine; Group Policy computer assignment needs ALLUSERS=1".to_string(),
            ),
            other => fails.push(format!(
                "ALLUSERS is {}: without ALLUSERS=1 the package installs per-user, for the computer account only",
                other.map_or("unset".to_string(), |v| format!("{v:?}"))
            )),
        }
        if self.property("MSIINSTALLPERUSER") == Some("1") {
            fails.push("MSIINSTALLPERUSER=1 makes the install per-user".into());
        }
        let template_ok = self.facts.platform.eq_ignore_ascii_case("x64");
        if !template_ok {
            warns.push(format!(
                "Template platform is {:?}, not x64",
                self.facts.platform
            ));
        }
        outcome(
            "per-machine",
            fails,
            warns,
            "ALLUSERS=1, x64: installs for the whole machine",
        )
    }

    pub(super) fn directory_chains(&self) -> BTreeMap<String, Vec<String>> {
        let parents: BTreeMap<String, Option<String>> = self
            .rows("Directory")
            .iter()
            .filter_map(|r| {
                Some((
                    r[0].as_str()?.to_string(),
                    r.get(1).and_then(Value::as_str).map(str::to_string),
                ))
            })
            .collect();
        parents
            .keys()
            .map(|key| {
                let mut chain = vec![key.clone()];
                let mut current = key.clone();
                while let Some(Some(parent)) = parents.get(&current) {
                    if chain.contains(parent) || chain.len() > 64 {
                        break;
                    }
                    chain.push(parent.clone());
                    current = parent.clone();
                }
                (key.clone(), chain)
            })
            .collect()
    }

    pub(super) fn per_user_data(&self) -> Check {
        let mut fails = Vec::new();
        for table in ["Registry", "RemoveRegistry"] {
            let root = self.column(table, "Root");
            let key = self.column(table, "Key");
            for row in self.rows(table) {
                let Some(r) = root.and_then(|i| row[i].as_int()) else {
                    continue;
                };
                if r == 1 {
                    fails.push(format!(
                        "{table} {} writes HKEY_CURRENT_USER\\{} (the computer account's hive under Group Policy)",
                        row[0].as_str().unwrap_or("?"),
                        key.and_then(|i| row[i].as_str()).unwrap_or("")
                    ));
                }
            }
        }
        let chains = self.directory_chains();
        let per_user = |dir: &str| -> Option<&str> {
            chains
                .get(dir)?
                .iter()
                .find(|d| PER_USER_FOLDERS.contains(&d.as_str()))
                .map(String::as_str)
        };
        for (table, column) in [
            ("Component", "Directory_"),
            ("CreateFolder", "Directory_"),
            ("Shortcut", "Directory_"),
            ("IniFile", "DirProperty"),
        ] {
            for (row, dir) in self.cells(table, column) {
                if let Some(folder) = dir.as_str().and_then(per_user) {
                    fails.push(format!(
                        "{table} {} installs under {folder}, a per-user folder (the computer account's profile under Group Policy)",
                        row[0].as_str().unwrap_or("?")
                    ));
                }
            }
        }
        fails.sort();
        fails.dedup();
        outcome(
            "per-user-data",
            fails,
            Vec::new(),
            "no HKEY_CURRENT_USER registry, no files or folders in per-user profile folders",
        )
    }

    pub(super) fn silent(&self) -> Check {
        let mut fails = Vec::new();
        let mut warns = Vec::new();
        let ui = self.sequence("InstallUISequence");
        let execute = self.sequence("InstallExecuteSequence");
        let types = self.custom_action_types();
        // Under /qn (and Group Policy) the UI sequence does not run: whatever it sets must also
        // happen in the execute sequence.
        const PROPERTY_SETTERS: &[&str] = &[
            "AppSearch",
            "CCPSearch",
            "FindRelatedProducts",
            "LaunchConditions",
            "RMCCPSearch",
        ];
        for action in ui.keys() {
            let sets_state =
                PROPERTY_SETTERS.contains(&action.as_str()) || types.contains_key(action);
            if sets_state && !execute.contains_key(action) {
                fails.push(format!(
                    "{action} runs only in InstallUISequence, which /qn and Group Policy skip"
                ));
            }
        }
        for row in self.rows("LaunchCondition") {
            let condition = row[0].as_str().unwrap_or_default();
            if condition_identifiers(condition)
                .iter()
                .any(|i| i == "UILevel")
            {
                fails.push(format!(
                    "LaunchCondition {condition:?} depends on UILevel: a silent install may be refused"
                ));
            }
        }
        for (action, (condition, _)) in &execute {
            let is_error = types.get(action).is_some_and(|t| t & 0x3F == 19);
            if is_error
                && condition
                    .as_deref()
                    .is_some_and(|c| condition_identifiers(c).iter().any(|i| i == "UILevel"))
            {
                fails.push(format!(
                    "error action {action} is conditioned on UILevel: a silent install may be refused"
                ));
            }
        }
        if self.tables.contains_key("InstallUISequence") && !ui.contains_key("ExecuteAction") {
            warns.push("InstallUISequence has no ExecuteAction".into());
        }
        outcome(
            "silent",
            fails,
            warns,
            "installs with /qn: nothing needed from dialogs, the UI sequence sets nothing the install needs",
        )
    }

    /// Properties something in the package defines (Property table, directories, searches,
    /// upgrade detection, set-property custom actions).
    pub(super) fn defined_properties(&self) -> BTreeSet<String> {
        let mut defined: BTreeSet<String> = self.facts.properties.keys().cloned().collect();
        for (table, column) in [
            ("Directory", "Directory"),
            ("AppSearch", "Property"),
            ("Upgrade", "ActionProperty"),
        ] {
            for (_, value) in self.cells(table, column) {
                if let Some(name) = value.as_str() {
                    defined.insert(name.to_string());
                }
            }
        }
        for (row, kind) in self.cells("CustomAction", "Type") {
            if kind
                .as_int()
                .is_some_and(|t| t & 0x3F == 51 || t & 0x3F == 35)
            {
                if let Some(source) = self
                    .column("CustomAction", "Source")
                    .and_then(|i| row[i].as_str())
                {
                    defined.insert(source.to_string());
                }
            }
        }
        defined
    }

    pub(super) fn no_command_line(&self) -> Check {
        let mut fails = Vec::new();
        let defined = self.defined_properties();
        let needs_value = |name: &str| {
            is_public(name)
                && !defined.contains(name)
                && !INSTALLER_PROPERTIES.contains(&name)
                && !name.starts_with("ARP")
                && !name.starts_with("MSI")
        };
        let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, columns) in [
            ("CustomAction", &["Target"][..]),
            (
                "ServiceInstall",
                &["Name", "DisplayName", "StartName", "Password", "Arguments"][..],
            ),
            ("ServiceControl", &["Name", "Arguments"][..]),
            ("Registry", &["Key", "Name", "Value"][..]),
            ("IniFile", &["FileName", "Section", "Key", "Value"][..]),
        ] {
            for column in columns {
                for (row, value) in self.cells(table, column) {
                    for name in value.as_str().map(property_references).unwrap_or_default() {
                        if needs_value(&name) {
                            needed
                                .entry(name)
                                .or_default()
                                .insert(format!("{table} {}", row[0].as_str().unwrap_or("?")));
                        }
                    }
                }
            }
        }
        for row in self.rows("LaunchCondition") {
            let condition = row[0].as_str().unwrap_or_default();
            for name in condition_identifiers(condition) {
                if needs_value(&name) {
                    needed
                        .entry(name)
                        .or_default()
                        .insert(format!("LaunchCondition {condition:?}"));
                }
            }
        }
        for (name, users) in needed {
            fails.push(format!(
                "{name} has no default but {} uses it: it would have to come from the msiexec command line, which Group Policy cannot pass (give it a default in the Property table)",
                users.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        for setting in self.facts.settings.iter().flatten() {
            if setting.default.is_empty() {
                fails.push(format!("site setting {} has no default", setting.property));
            } else if let Err(reason) = check_value(setting.kind, &setting.default) {
                fails.push(format!(
                    "site setting {} default {:?}: {reason}",
                    setting.property, setting.default
                ));
            }
        }
        let settings = self
            .facts
            .settings
            .iter()
            .flatten()
            .map(|s| format!("{}={}", s.property, s.default))
            .collect::<Vec<_>>();
        let ok = if settings.is_empty() {
            "every property the package uses has a default".to_string()
        } else {
            format!(
                "every property the package uses has a default (site settings {})",
                settings.join(", ")
            )
        };
        outcome("no-command-line", fails, Vec::new(), &ok)
    }

    pub(super) fn no_reboot(&self) -> Check {
        let mut fails = Vec::new();
        for table in [
            "InstallExecuteSequence",
            "AdminExecuteSequence",
            "AdvtExecuteSequence",
        ] {
            let actions = self.sequence(table);
            for action in ["ScheduleReboot", "ForceReboot"] {
                if actions.contains_key(action) {
                    fails.push(format!("{table} schedules {action}"));
                }
            }
        }
        if self.property("REBOOT") != Some("ReallySuppress") {
            fails.push(format!(
                "REBOOT is {}: set REBOOT=ReallySuppress so a file in use never restarts the computer during a boot-time install",
                self.property("REBOOT").map_or("unset".to_string(), |v| format!("{v:?}"))
            ));
        }
        if !matches!(
            self.property("MSIRESTARTMANAGERCONTROL"),
            Some("Disable") | Some("DisableShutdown")
        ) {
            fails.push(format!(
                "MSIRESTARTMANAGERCONTROL is {}: set Disable so Restart Manager does not stop applications or ask for a restart",
                self.property("MSIRESTARTMANAGERCONTROL")
                    .map_or("unset".to_string(), |v| format!("{v:?}"))
            ));
        }
        // A running service holds its exe: without a stop before the files are replaced, an
        // upgrade needs a reboot.
        let events: BTreeMap<String, i32> = self
            .cells("ServiceControl", "Event")
            .into_iter()
            .filter_map(|(row, event)| {
                let name = self
                    .column("ServiceControl", "Name")
                    .and_then(|i| row[i].as_str())?;
                Some((name.to_string(), event.as_int()?))
            })
            .fold(BTreeMap::new(), |mut acc, (name, event)| {
                *acc.entry(name).or_insert(0) |= event;
                acc
            });
        for (_, name) in self.cells("ServiceInstall", "Name") {
            let Some(name) = name.as_str() else { continue };
            if events.get(name).copied().unwrap_or(0) & 0x2 == 0 {
                fails.push(format!(
                    "service {name} is not stopped before its files are replaced (ServiceControl event 0x2): an upgrade would need a reboot"
                ));
            }
        }
        outcome(
            "no-reboot",
            fails,
            Vec::new(),
            "REBOOT=ReallySuppress, MSIRESTARTMANAGERCONTROL=Disable, no ScheduleReboot/ForceReboot, services stopped before files are replaced",
        )
    }

    pub(super) fn lint_rules(
        &self,
        id: &'static str,
        rules: &[&str],
        table: Option<&str>,
        ok: &str,
    ) -> Check {
        let fails: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter(|f| {
                rules.contains(&f.rule)
                    && table.is_none_or(|t| f.table.as_deref() == Some(t) || f.rule != "ICE72")
            })
            .map(ToString::to_string)
            .collect();
        outcome(id, fails, Vec::new(), ok)
    }

    pub(super) fn lint_errors(&self) -> Check {
        let errors: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let warnings = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        if errors.is_empty() {
            pass("lint", format!("no lint errors ({warnings} warning(s))"))
        } else {
            let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
            let more = errors.len().saturating_sub(shown.len());
            Check {
                id: "lint",
                status: Status::Fail,
                message: format!(
                    "{} lint error(s): {}{}",
                    errors.len(),
                    shown.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                ),
            }
        }
    }
}
