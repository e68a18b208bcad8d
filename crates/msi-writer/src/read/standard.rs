//! Typed views of standard tables that several checks read the same way: sequence tables and
//! CustomAction.
//!
//! Invariant: rows without the key a view needs are left out (they are another check's finding).

use std::collections::BTreeMap;

use super::table::Table;

/// A sequence table (`InstallExecuteSequence`, ...): action → (condition, sequence number).
pub type Sequence = BTreeMap<String, (Option<String>, Option<i32>)>;

impl Table {
    /// This table as a sequence table.
    pub fn sequence(&self) -> Sequence {
        self.rows
            .iter()
            .filter_map(|r| {
                Some((
                    self.text(r, "Action")?.to_string(),
                    (
                        self.text(r, "Condition").map(str::to_string),
                        self.int(r, "Sequence"),
                    ),
                ))
            })
            .collect()
    }

    /// This table as the CustomAction table: action → type.
    pub fn custom_action_types(&self) -> BTreeMap<String, i32> {
        self.rows
            .iter()
            .filter_map(|r| Some((self.text(r, "Action")?.to_string(), self.int(r, "Type")?)))
            .collect()
    }
}
