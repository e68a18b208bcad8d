//! Property table rules (ICE24, ICE16, WR-ALLUSERS, WR-REBOOT, WR-RESTART-MANAGER).

use std::collections::BTreeMap;

use super::Linter;
use crate::read::category::is_guid;

impl Linter {
    /// The Property table rules.
    pub(super) fn properties(&mut self) {
        let props = self.property_map();
        self.required_properties(&props);
        self.group_policy_properties(&props);
    }

    /// ICE24, ICE16: the required properties and their formats.
    fn required_properties(&mut self, props: &BTreeMap<String, String>) {
        const T: &str = "Property";
        for name in [
            "ProductCode",
            "ProductVersion",
            "ProductLanguage",
            "Manufacturer",
            "ProductName",
            "UpgradeCode",
        ] {
            if !props.contains_key(name) {
                self.error(
                    "ICE24",
                    T,
                    Some(name.into()),
                    format!("required property {name} is missing"),
                );
            }
        }
        for name in ["ProductCode", "UpgradeCode"] {
            if let Some(value) = props.get(name) {
                if !is_guid(value) {
                    self.error(
                        "ICE24",
                        T,
                        Some(name.into()),
                        format!("{name} {value:?} is not an upper-case braced GUID"),
                    );
                }
            }
        }
        if let Some(version) = props.get("ProductVersion") {
            let fields: Vec<&str> = version.split('.').collect();
            let limits = [255u32, 255, 65535, 65535];
            let ok = (2..=4).contains(&fields.len())
                && fields.iter().zip(limits).all(|(f, max)| {
                    !f.is_empty()
                        && f.bytes().all(|b| b.is_ascii_digit())
                        && f.parse::<u32>().is_ok_and(|v| v <= max)
                });
            if !ok {
                self.error(
                    "ICE24",
                    T,
                    Some("ProductVersion".into()),
                    format!("ProductVersion {version:?} is not major.minor.build (255.255.65535)"),
                );
            }
        }
        if let Some(language) = props.get("ProductLanguage") {
            if language.parse::<u16>().is_err() {
                self.error(
                    "ICE24",
                    T,
                    Some("ProductLanguage".into()),
                    format!("ProductLanguage {language:?} is not a language id"),
                );
            }
        }
        if let Some(name) = props.get("ProductName") {
            if name.chars().count() > 63 {
                self.error(
                    "ICE16",
                    T,
                    Some("ProductName".into()),
                    "ProductName is longer than 63 characters",
                );
            }
        }
    }

    /// WR-ALLUSERS, WR-REBOOT, WR-RESTART-MANAGER: what a silent per-machine install needs.
    fn group_policy_properties(&mut self, props: &BTreeMap<String, String>) {
        const T: &str = "Property";
        if props.get("ALLUSERS").map(String::as_str) != Some("1") {
            self.error(
                "WR-ALLUSERS",
                T,
                Some("ALLUSERS".into()),
                format!(
                    "ALLUSERS is {:?}; a per-machine package (Group Policy computer assignment) needs ALLUSERS=1",
                    props.get("ALLUSERS").map_or("unset", String::as_str)
                ),
            );
        }
        let reboot_actions: Vec<String> = ["ScheduleReboot", "ForceReboot"]
            .iter()
            .filter(|a| self.sequence("InstallExecuteSequence").contains_key(**a))
            .map(|a| a.to_string())
            .collect();
        if props.get("REBOOT").map(String::as_str) != Some("ReallySuppress")
            && !reboot_actions.is_empty()
        {
            self.error(
                "WR-REBOOT",
                "InstallExecuteSequence",
                Some(reboot_actions.join(",")),
                "the package schedules a reboot; silent Group Policy installs must not reboot (remove it or set REBOOT=ReallySuppress)",
            );
        }
        if props.get("MSIRESTARTMANAGERCONTROL").map(String::as_str) != Some("Disable")
            && self.pkg.has_table("ServiceInstall")
        {
            self.warn(
                "WR-RESTART-MANAGER",
                T,
                Some("MSIRESTARTMANAGERCONTROL".into()),
                "Restart Manager is not disabled; it may prompt or stop unrelated processes during a silent service upgrade",
            );
        }
    }
}
