//! Sequence rules: ICE27-like ordering, ICE26 (UI sequences), the standard actions of the admin
//! and advertise sequences (WR-ADMIN-SEQUENCE, WR-ADVT-SEQUENCE, ICE72), RemoveExistingProducts
//! placement (WR-REP).

use super::Linter;
use crate::read::Sequence;

/// Standard actions that change the system: they belong between InstallInitialize and
/// InstallFinalize, and never in a UI sequence.
const IN_SCRIPT: [&str; 16] = [
    "ProcessComponents",
    "UnpublishFeatures",
    "StopServices",
    "DeleteServices",
    "RemoveRegistryValues",
    "RemoveFiles",
    "RemoveFolders",
    "CreateFolders",
    "InstallFiles",
    "WriteRegistryValues",
    "InstallServices",
    "StartServices",
    "RegisterUser",
    "RegisterProduct",
    "PublishFeatures",
    "PublishProduct",
];

impl Linter {
    /// ICE27-like ordering, the standard actions of the admin and advertise sequences,
    /// RemoveExistingProducts placement.
    pub(super) fn sequences(&mut self) {
        let execute = self.sequence("InstallExecuteSequence");
        self.execute_order(&execute);
        self.remove_existing_products(&execute);
        self.ui_sequences();
        self.admin_and_advertise();
    }

    /// ICE27: the execute sequence's standard actions in order.
    fn execute_order(&mut self, execute: &Sequence) {
        const T: &str = "InstallExecuteSequence";
        if execute.is_empty() {
            self.error(
                "ICE27",
                T,
                None,
                "InstallExecuteSequence is empty or missing",
            );
        }
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let ordered = [
            "CostInitialize",
            "FileCost",
            "CostFinalize",
            "InstallValidate",
            "InstallInitialize",
            "InstallFinalize",
        ];
        self.check_order(T, execute, &ordered, true);
        let (init, finalize) = (seq("InstallInitialize"), seq("InstallFinalize"));
        if let (Some(init), Some(finalize)) = (init, finalize) {
            for action in IN_SCRIPT {
                if let Some(s) = seq(action) {
                    if s <= init || s >= finalize {
                        self.error("ICE27", T, Some(action.into()), format!("{action} ({s}) must run between InstallInitialize ({init}) and InstallFinalize ({finalize})"));
                    }
                }
            }
        }
        for (before, after) in [
            ("FindRelatedProducts", "MigrateFeatureStates"),
            ("FindRelatedProducts", "RemoveExistingProducts"),
            ("StopServices", "DeleteServices"),
            ("DeleteServices", "InstallServices"),
            ("RemoveFiles", "InstallFiles"),
            ("InstallFiles", "InstallServices"),
            ("InstallServices", "StartServices"),
            ("InstallFiles", "StartServices"),
        ] {
            if let (Some(a), Some(b)) = (seq(before), seq(after)) {
                if a >= b {
                    self.error(
                        "ICE27",
                        T,
                        Some(after.into()),
                        format!("{after} ({b}) must come after {before} ({a})"),
                    );
                }
            }
        }
    }

    /// WR-REP: RemoveExistingProducts inside the install transaction.
    fn remove_existing_products(&mut self, execute: &Sequence) {
        const T: &str = "InstallExecuteSequence";
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let (init, finalize) = (seq("InstallInitialize"), seq("InstallFinalize"));
        // RemoveExistingProducts: inside the install transaction.
        match (seq("RemoveExistingProducts"), init, finalize) {
            (Some(rep), _, Some(fin)) if rep > fin => self.error(
                "WR-REP",
                T,
                Some("RemoveExistingProducts".into()),
                format!(
                    "RemoveExistingProducts ({rep}) runs after InstallFinalize ({fin}): the old version is removed only after the \
                     new one is committed, so a failed removal leaves both installed and downgrade checks can be bypassed; \
                     schedule it right after InstallInitialize"
                ),
            ),
            (Some(rep), Some(init), _) if rep < init => self.error(
                "WR-REP",
                T,
                Some("RemoveExistingProducts".into()),
                format!(
                    "RemoveExistingProducts ({rep}) runs before InstallInitialize ({init}): the old version is removed in its own \
                     transaction, so a failed upgrade leaves nothing installed; schedule it right after InstallInitialize"
                ),
            ),
            (None, _, _) => {
                let upgrade = self.rows("Upgrade");
                let removes = upgrade
                    .rows
                    .iter()
                    .any(|r| upgrade.int(r, "Attributes").unwrap_or(0) & 0x2 == 0);
                if removes {
                    self.error("WR-REP", T, None, "the Upgrade table removes older versions but RemoveExistingProducts is not sequenced");
                }
            }
            _ => {}
        }
    }

    /// ICE26: UI sequences change nothing and run the execute sequence.
    fn ui_sequences(&mut self) {
        for table in ["InstallUISequence", "AdminUISequence"] {
            let ui = self.sequence(table);
            for action in IN_SCRIPT.iter().chain(&[
                "InstallValidate",
                "InstallInitialize",
                "InstallFinalize",
                "RemoveExistingProducts",
            ]) {
                if ui.contains_key(*action) {
                    self.error(
                        "ICE26",
                        table,
                        Some(action.to_string()),
                        format!(
                            "{action} changes the system and belongs only in execute sequences"
                        ),
                    );
                }
            }
            if !ui.is_empty() && !ui.contains_key("ExecuteAction") {
                self.error("ICE26", table, Some("ExecuteAction".into()), "ExecuteAction is missing, so the execute sequence never runs from this UI sequence");
            }
        }
    }

    /// WR-ADMIN-SEQUENCE, WR-ADVT-SEQUENCE, ICE72: administrative images and advertising.
    fn admin_and_advertise(&mut self) {
        let admin = self.sequence("AdminExecuteSequence");
        if admin.is_empty() {
            self.error(
                "WR-ADMIN-SEQUENCE",
                "AdminExecuteSequence",
                None,
                "missing: `msiexec /a` cannot make an administrative image",
            );
        } else {
            let required = [
                "CostInitialize",
                "FileCost",
                "CostFinalize",
                "InstallValidate",
                "InstallInitialize",
                "InstallAdminPackage",
                "InstallFiles",
                "InstallFinalize",
            ];
            self.check_order("AdminExecuteSequence", &admin, &required, true);
        }
        let advt = self.sequence("AdvtExecuteSequence");
        if advt.is_empty() {
            self.error(
                "WR-ADVT-SEQUENCE",
                "AdvtExecuteSequence",
                None,
                "missing: the package cannot be assigned or advertised",
            );
        } else {
            let required = [
                "CostInitialize",
                "CostFinalize",
                "InstallValidate",
                "InstallInitialize",
                "PublishFeatures",
                "PublishProduct",
                "InstallFinalize",
            ];
            self.check_order("AdvtExecuteSequence", &advt, &required, true);
            let types = self.custom_action_types();
            for action in advt.keys() {
                if let Some(kind) = types.get(action) {
                    if ![19, 35, 51].contains(&(kind & 0x3F)) {
                        self.error("ICE72", "AdvtExecuteSequence", Some(action.clone()), format!("custom action type {kind} is not allowed here (only 19, 35 and 51)"));
                    }
                }
            }
        }
    }

    /// Checks that `actions` are all present (when `required`) and in this order.
    fn check_order(
        &mut self,
        table: &'static str,
        sequence: &Sequence,
        actions: &[&str],
        required: bool,
    ) {
        let rule = match table {
            "AdminExecuteSequence" => "WR-ADMIN-SEQUENCE",
            "AdvtExecuteSequence" => "WR-ADVT-SEQUENCE",
            _ => "ICE27",
        };
        let mut previous: Option<(&str, i32)> = None;
        for action in actions {
            match sequence.get(*action).and_then(|(_, s)| *s) {
                Some(s) => {
                    if let Some((prev, ps)) = previous {
                        if s <= ps {
                            self.error(
                                rule,
                                table,
                                Some(action.to_string()),
                                format!("{action} ({s}) must come after {prev} ({ps})"),
                            );
                        }
                    }
                    previous = Some((action, s));
                }
                None if required => self.error(
                    rule,
                    table,
                    Some(action.to_string()),
                    format!("standard action {action} is missing"),
                ),
                None => {}
            }
        }
    }
}
