//! Group Policy readiness: can this MSI be assigned to computers by Group Policy software
//! installation, with these transforms, as an upgrade of that previous release?
//!
//! Group Policy installs an assigned package at boot, silently (`/qn`), as the computer account,
//! from a file share; it cannot pass properties on a command line (only transforms chosen when
//! the package is assigned), cannot answer a dialog and must not reboot the machine. It
//! advertises the package first (AdvtExecuteSequence) and admins often deploy from an
//! administrative image (AdminExecuteSequence). [`check`] reports one line per requirement; a
//! package is ready when no line fails.
//!
//! The checks read the package through [`crate::read`] and reuse the [lint](crate::lint) for
//! the sequence tables, so they also judge packages built by other tools (wixl, WiX).
//!
//! Code map: `install` (what a silent per-machine install needs, and the lint), `transforms`
//! (each transform applies cleanly and keeps the package deployable), `previous` (this package
//! upgrades the previous release), `formatted` (property references in formatted text and
//! conditions), `lists` (the fixed lists of folders, properties and tables).
//! *Invariant:* the check only reads; every failure is a line of the report, not an error,
//! except an unreadable package.

mod formatted;
mod install;
mod lists;
mod previous;
mod transforms;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::lint::{lint, Finding};
use crate::read::{Sequence, Table, Value};
use crate::transform::{read_package_facts, read_tables, PackageFacts, TransformError};
use lists::TABLES;
use transforms::check_transform;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The requirement is met.
    Pass,
    /// Works, but worth a look.
    Warn,
    /// Group Policy deployment will fail or misbehave.
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One requirement and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Short id: `per-machine`, `per-user-data`, `silent`, `no-command-line`, `no-reboot`,
    /// `advertise`, `admin-image`, `lint`, `transform`, `upgrade-code`, `product-code`,
    /// `version`, `upgrade-removes-previous`, `component-ids`.
    pub id: &'static str,
    /// Pass, warn or fail.
    pub status: Status,
    /// What was checked and found (one line; problems separated by `; `).
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.id, self.message)
    }
}

/// The readiness report.
#[derive(Clone, Debug)]
pub struct Report {
    /// The package checked.
    pub msi: PathBuf,
    /// One entry per check, in a fixed order.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The check with this id (the first, for `transform`).
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.failures().count();
        if failed == 0 {
            write!(f, "ready for Group Policy: {}", self.msi.display())
        } else {
            write!(
                f,
                "NOT ready for Group Policy: {failed} check(s) failed for {}",
                self.msi.display()
            )
        }
    }
}

/// What else to check the package against.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Transforms the package will be assigned with.
    pub transforms: Vec<PathBuf>,
    /// The previous release's MSI, which this package must upgrade.
    pub previous: Option<PathBuf>,
}

/// Checks the MSI at `msi`. Fails only when `msi` itself cannot be read as a package; unreadable
/// transforms or previous packages are reported as failed checks.
pub fn check(msi: &Path, options: &Options) -> Result<Report, TransformError> {
    let facts = read_package_facts(msi)?;
    let tables = read_tables(msi, TABLES)?;
    let findings = lint(msi).map_err(|e| TransformError::Read {
        path: msi.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let pkg = Pkg {
        facts,
        tables,
        findings,
    };
    let mut checks = vec![
        pkg.per_machine(),
        pkg.per_user_data(),
        pkg.silent(),
        pkg.no_command_line(),
        pkg.no_reboot(),
        pkg.lint_rules(
            "advertise",
            &["WR-ADVT-SEQUENCE", "ICE72"],
            Some("AdvtExecuteSequence"),
            "AdvtExecuteSequence has the standard actions in order: the package can be assigned (advertised)",
        ),
        pkg.lint_rules(
            "admin-image",
            &["WR-ADMIN-SEQUENCE"],
            None,
            "AdminExecuteSequence has the standard actions in order: `msiexec /a` makes an administrative image",
        ),
        pkg.lint_errors(),
    ];
    for path in &options.transforms {
        checks.push(check_transform(msi, &pkg, path));
    }
    if let Some(previous) = &options.previous {
        checks.extend(pkg.against_previous(previous));
    }
    Ok(Report {
        msi: msi.to_path_buf(),
        checks,
    })
}

/// What the checks know about the package.
struct Pkg {
    facts: PackageFacts,
    tables: BTreeMap<String, Table>,
    findings: Vec<Finding>,
}

/// A passed check.
fn pass(id: &'static str, message: impl Into<String>) -> Check {
    Check {
        id,
        status: Status::Pass,
        message: message.into(),
    }
}

/// Fail when anything fails, else warn when anything warns, else pass with `ok`.
fn outcome(id: &'static str, fails: Vec<String>, warns: Vec<String>, ok: &str) -> Check {
    if !fails.is_empty() {
        let mut all = fails;
        all.extend(warns);
        Check {
            id,
            status: Status::Fail,
            message: all.join("; "),
        }
    } else if !warns.is_empty() {
        Check {
            id,
            status: Status::Warn,
            message: warns.join("; "),
        }
    } else {
        pass(id, ok)
    }
}

impl Pkg {
    /// The rows of `table` (none when the package has no such table).
    fn rows(&self, table: &str) -> &[Vec<Value>] {
        self.tables.get(table).map_or(&[], |t| &t.rows)
    }

    /// The index of `column` in `table`.
    fn column(&self, table: &str, column: &str) -> Option<usize> {
        self.tables
            .get(table)?
            .columns
            .iter()
            .position(|c| c.name == column)
    }

    /// `(row, value)` of `column` for every row of `table`.
    fn cells<'a>(&'a self, table: &str, column: &str) -> Vec<(&'a [Value], &'a Value)> {
        match self.column(table, column) {
            Some(i) => self
                .rows(table)
                .iter()
                .map(|r| (r.as_slice(), &r[i]))
                .collect(),
            None => Vec::new(),
        }
    }

    /// A Property table value.
    fn property(&self, name: &str) -> Option<&str> {
        self.facts.properties.get(name).map(String::as_str)
    }

    /// A sequence table of the package (empty when it has none).
    fn sequence(&self, table: &str) -> Sequence {
        self.tables
            .get(table)
            .map(Table::sequence)
            .unwrap_or_default()
    }

    fn custom_action_types(&self) -> BTreeMap<String, i32> {
        self.tables
            .get("CustomAction")
            .map(Table::custom_action_types)
            .unwrap_or_default()
    }
}
