//! Custom action, upgrade and service rules (ICE68, ICE77, WR-CA-IMPERSONATE, ICE61,
//! WR-DOWNGRADE, WR-SERVICE).

use std::collections::BTreeSet;

use super::{key_of, Linter};

impl Linter {
    /// ICE77: deferred custom actions only inside the script; impersonation warning.
    pub(super) fn custom_actions(&mut self) {
        let types = self.custom_action_types();
        const BASE_TYPES: [i32; 20] = [
            1, 2, 5, 6, 7, 17, 18, 19, 21, 22, 23, 34, 35, 37, 38, 39, 50, 51, 53, 54,
        ];
        let mut names: Vec<&String> = types.keys().collect();
        names.sort();
        for action in names {
            let kind = types[action];
            if !BASE_TYPES.contains(&(kind & 0x3F)) {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind} has no valid base type ({})", kind & 0x3F),
                );
            }
            if kind & 0x300 != 0 && kind & 0x400 == 0 {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind}: rollback/commit actions must be in-script (0x400)"),
                );
            }
            if kind & 0x800 != 0 && kind & 0x400 == 0 {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind}: no-impersonate (0x800) only applies to deferred actions"),
                );
            }
        }
        let execute = self.sequence("InstallExecuteSequence");
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let (init, finalize) = (seq("InstallInitialize"), seq("InstallFinalize"));
        for (action, (_, sequence)) in &execute {
            let Some(kind) = types.get(action) else {
                continue;
            };
            let Some(sequence) = sequence else { continue };
            if kind & 0x400 != 0 {
                let inside = matches!((init, finalize), (Some(i), Some(f)) if *sequence > i && *sequence < f);
                if !inside {
                    self.error(
                        "ICE77",
                        "InstallExecuteSequence",
                        Some(action.clone()),
                        format!("deferred custom action (type {kind}) at {sequence} must be between InstallInitialize and InstallFinalize"),
                    );
                }
                if kind & 0x800 == 0 && kind & 0x3F != 51 && kind & 0x3F != 19 {
                    self.warn(
                        "WR-CA-IMPERSONATE",
                        "CustomAction",
                        Some(action.clone()),
                        "deferred custom action runs impersonated; machine changes should use no-impersonate (0x800)",
                    );
                }
            }
        }
        for table in [
            "InstallUISequence",
            "AdminUISequence",
            "AdvtExecuteSequence",
        ] {
            for action in self.sequence(table).keys() {
                if types.get(action).is_some_and(|k| k & 0x400 != 0) {
                    self.error(
                        "ICE77",
                        table,
                        Some(action.clone()),
                        "deferred custom actions belong only in execute sequences",
                    );
                }
            }
        }
    }

    /// Downgrade detection and refusal; ICE61 (upgrade action properties).
    pub(super) fn upgrades(&mut self) {
        const T: &str = "Upgrade";
        let props = self.property_map();
        let upgrade = self.rows(T);
        let execute = self.sequence("InstallExecuteSequence");
        let secure: BTreeSet<String> = props
            .get("SecureCustomProperties")
            .map(|s| s.split(';').map(str::to_string).collect())
            .unwrap_or_default();
        let product_upgrade_code = props.get("UpgradeCode").cloned();
        let product_version = props.get("ProductVersion").cloned();
        let mut downgrade_properties = Vec::new();
        for row in &upgrade.rows {
            let key = key_of(&upgrade, row);
            let attributes = upgrade.int(row, "Attributes").unwrap_or(0);
            let property = upgrade
                .text(row, "ActionProperty")
                .unwrap_or("")
                .to_string();
            if property.chars().any(|c| c.is_ascii_lowercase()) {
                self.error(
                    "ICE61",
                    T,
                    Some(key.clone()),
                    format!("ActionProperty {property:?} must be upper case (public)"),
                );
            }
            if !secure.contains(&property) {
                self.error("ICE61", T, Some(key.clone()), format!("ActionProperty {property} is not listed in SecureCustomProperties, so managed installs cannot see it"));
            }
            if let (Some(code), Some(ours)) =
                (upgrade.text(row, "UpgradeCode"), &product_upgrade_code)
            {
                if code != ours {
                    self.warn(
                        T,
                        T,
                        Some(key.clone()),
                        format!(
                            "row for UpgradeCode {code}, but the product's UpgradeCode is {ours}"
                        ),
                    );
                }
            }
            let min = upgrade.text(row, "VersionMin");
            let max = upgrade.text(row, "VersionMax");
            if attributes & 0x2 != 0
                && max.is_none()
                && min.is_some()
                && min == product_version.as_deref()
                && attributes & 0x100 == 0
            {
                downgrade_properties.push(property);
            }
        }
        if downgrade_properties.is_empty() {
            self.error(
                "WR-DOWNGRADE",
                T,
                None,
                "no Upgrade row detects newer versions (VersionMin = ProductVersion exclusive, no maximum, OnlyDetect); \
                 downgrades would be installed side by side",
            );
            return;
        }
        let types = self.custom_action_types();
        let launch = self.rows("LaunchCondition");
        let conditions: Vec<String> = launch
            .rows
            .iter()
            .filter_map(|r| launch.text(r, "Condition").map(str::to_string))
            .collect();
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let refused = downgrade_properties.iter().any(|property| {
            let by_launch_condition = conditions.iter().any(|c| c.contains(property.as_str()))
                && matches!((seq("FindRelatedProducts"), seq("LaunchConditions")), (Some(f), Some(l)) if f < l);
            let by_error_action = execute.iter().any(|(action, (condition, _))| {
                types.get(action).is_some_and(|k| k & 0x3F == 19) && condition.as_deref().is_some_and(|c| c.contains(property.as_str()))
            });
            by_launch_condition || by_error_action
        });
        if !refused {
            self.error(
                "WR-DOWNGRADE",
                T,
                None,
                format!(
                    "newer versions are detected ({}) but nothing refuses the install: add a LaunchCondition on it (with \
                     FindRelatedProducts before LaunchConditions) or a type-19 error custom action",
                    downgrade_properties.join(", ")
                ),
            );
        }
    }

    /// WR-SERVICE: services stopped and deleted as an upgrade and an uninstall need.
    pub(super) fn services(&mut self) {
        let control = self.rows("ServiceControl");
        let controls: Vec<(String, i32)> = control
            .rows
            .iter()
            .filter_map(|r| {
                Some((
                    control.text(r, "Name")?.to_string(),
                    control.int(r, "Event")?,
                ))
            })
            .collect();
        let install = self.rows("ServiceInstall");
        for row in &install.rows {
            let Some(name) = install.text(row, "Name").map(str::to_string) else {
                continue;
            };
            let events = controls
                .iter()
                .filter(|(n, _)| n == &name)
                .fold(0, |acc, (_, e)| acc | e);
            let key = Some(key_of(&install, row));
            if events & 0x80 == 0 {
                self.warn(
                    "WR-SERVICE",
                    "ServiceControl",
                    key.clone(),
                    format!(
                        "service {name:?} is not deleted on uninstall (ServiceControl event 0x80)"
                    ),
                );
            }
            if events & 0x2 == 0 {
                self.warn("WR-SERVICE", "ServiceControl", key.clone(), format!("service {name:?} is not stopped on install (event 0x2): upgrades may need a reboot"));
            }
            if events & 0x20 == 0 {
                self.warn(
                    "WR-SERVICE",
                    "ServiceControl",
                    key,
                    format!("service {name:?} is not stopped on uninstall (event 0x20)"),
                );
            }
        }
    }
}
