//! A transform the package will be assigned with: Windows Installer accepts it, it applies
//! cleanly, sets only declared site settings to valid values and undoes nothing Group Policy
//! needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{outcome, Check, Pkg, Status};
use crate::read::Value;
use crate::transform::{self, apply, check_value, property_changes, TransformFile};

pub(super) fn check_transform(msi: &Path, pkg: &Pkg, path: &Path) -> Check {
    let id = "transform";
    let name = path.display();
    let fail = |message: String| Check {
        id,
        status: Status::Fail,
        message,
    };
    let file = match TransformFile::read(path) {
        Ok(file) => file,
        Err(e) => return fail(e.to_string()),
    };
    let applied = match apply(msi, &file) {
        Ok(applied) => applied,
        Err(e) => return fail(format!("{name}: {e}")),
    };
    let mut fails: Vec<String> = Vec::new();
    if !applied.refusals.is_empty() {
        fails.push(format!(
            "Windows Installer would refuse it: {}",
            applied.refusals.join("; ")
        ));
    }
    let mut warns = Vec::new();
    for problem in &applied.problems {
        if problem.suppressed {
            warns.push(format!(
                "{} (error suppressed by the transform): {}",
                problem.table, problem.message
            ));
        } else {
            fails.push(format!("{}: {}", problem.table, problem.message));
        }
    }
    let changed = property_changes(&applied);
    let settings: BTreeMap<&str, _> = pkg
        .facts
        .settings
        .iter()
        .flatten()
        .map(|s| (s.property.as_str(), s.kind))
        .collect();
    for (property, value) in &changed {
        match settings.get(property.as_str()) {
            Some(kind) => {
                if let Err(reason) = check_value(*kind, value) {
                    fails.push(format!("{property}={value:?}: {reason}"));
                }
            }
            None => warns.push(format!(
                "changes {property}, which the package does not declare site-settable"
            )),
        }
    }
    // What the transform must not undo.
    if let Some(properties) = applied.tables.get("Property") {
        let after = |name: &str| {
            properties
                .get(&[Value::Str(name.to_string())], "Value")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if pkg.property("ALLUSERS") == Some("1") && after("ALLUSERS").as_deref() != Some("1") {
            fails.push("sets ALLUSERS to something other than 1: no longer per-machine".into());
        }
        if pkg.property("REBOOT") == Some("ReallySuppress")
            && after("REBOOT").as_deref() != Some("ReallySuppress")
        {
            fails
                .push("changes REBOOT=ReallySuppress: the install may restart the computer".into());
        }
    }
    let other_tables: BTreeSet<&str> = applied
        .changes
        .iter()
        .map(|c| c.table.as_str())
        .filter(|t| *t != "Property")
        .collect();
    if !other_tables.is_empty() {
        warns.push(format!(
            "also changes {}",
            other_tables.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let sets = changed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let scope = if file.summary.validation & transform::validate::PRODUCT != 0 {
        "this package only"
    } else {
        "this product line"
    };
    let ok = format!("{name} applies cleanly ({scope}): sets {sets}");
    let mut check = outcome(id, fails, warns, &ok);
    if check.status != Status::Pass {
        check.message = format!("{name}: {}", check.message);
    }
    check
}
