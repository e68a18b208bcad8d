//! The sequence tables: Microsoft's suggested standard actions (data) plus our custom actions.
//!
//! Invariant: standard actions keep the sequence numbers WiX also uses; FindRelatedProducts
//! runs before LaunchConditions so a downgrade can be refused.

use crate::database::{row, Database};
use crate::schema::*;

use super::custom_actions::Scheduled;

pub(crate) const SEQ_REMOVE_EXISTING: i32 = 1501;

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

pub(super) fn sequences(custom: &[Scheduled], db: &mut Database) {
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
