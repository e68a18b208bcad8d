//! An MSI lint: the rules this project's packages must meet (per-machine x64, codepage 1252,
//! upgrade and downgrade handling, Group Policy readiness) plus the classic ICE checks that make
//! sense on Linux (column values, foreign keys, key paths, duplicate GUIDs, 64-bit components,
//! custom action scheduling, sequence order).
//!
//! It reads any MSI through [`crate::read`], so it also judges packages built by other tools.
//! One file per rule family: `summary` (codepages, Template, counts, PackageCode), `properties`
//! (required and Group Policy properties), `columns` (ICE03 values and foreign keys),
//! `components` (directories, components, files, media), `sequences` (ICE26/27, admin and
//! advertise sequences, RemoveExistingProducts), `actions` (custom actions, upgrades,
//! services).
//!
//! *Invariant:* the lint only reads; findings come out sorted (errors first) and do not depend
//! on table or hash-map order.

mod actions;
mod columns;
mod components;
mod properties;
mod sequences;
mod summary;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::rc::Rc;

use crate::error::MsiError;
use crate::read::{Package, Sequence, Table, Value};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The package is wrong or will misbehave; release builds must fail.
    Error,
    /// Suspicious or not Group Policy friendly; worth a look.
    Warning,
}

/// One problem found by [`lint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Rule id: an ICE number where the check follows one (`ICE03`, `ICE08`, ...) or `WR-…` for
    /// this project's rules.
    pub rule: &'static str,
    /// Table concerned, if any (`Summary` for summary information).
    pub table: Option<String>,
    /// Primary key of the row concerned, if any.
    pub row: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity} {}", self.rule)?;
        match (&self.table, &self.row) {
            (Some(table), Some(row)) => write!(f, " [{table} {row}]")?,
            (Some(table), None) => write!(f, " [{table}]")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Lints the MSI at `path`. Returns the findings, errors first; an empty list means clean.
/// Fails only when the file cannot be read as an MSI at all.
pub fn lint(path: &Path) -> Result<Vec<Finding>, MsiError> {
    let pkg = Package::open(path).map_err(|source| MsiError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(lint_package(pkg))
}

/// Lints an open package (see [`lint`]).
pub(crate) fn lint_package(pkg: Package) -> Vec<Finding> {
    let mut linter = Linter {
        pkg,
        findings: Vec::new(),
        cache: HashMap::new(),
    };
    linter.summary();
    linter.properties();
    linter.column_values();
    linter.foreign_keys();
    linter.directories();
    linter.components();
    linter.duplicate_targets();
    linter.media();
    linter.sequences();
    linter.custom_actions();
    linter.upgrades();
    linter.services();
    let mut findings = linter.findings;
    findings.sort_by(|a, b| {
        (a.severity, a.rule, &a.table, &a.row).cmp(&(b.severity, b.rule, &b.table, &b.row))
    });
    findings
}

/// The package being linted and what was found so far.
struct Linter {
    pkg: Package,
    findings: Vec<Finding>,
    cache: HashMap<String, Rc<Table>>,
}

/// A cell as a finding shows it.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Int(v) => v.to_string(),
        Value::Str(s) => s.clone(),
        Value::Stream => "[binary]".into(),
    }
}

/// The primary key of `row`, as a finding names it (`a/b`).
fn key_of(table: &Table, row: &[Value]) -> String {
    let keys: Vec<String> = table.key_of(row).iter().map(show).collect();
    keys.join("/")
}

impl Linter {
    fn report(
        &mut self,
        severity: Severity,
        rule: &'static str,
        table: Option<&str>,
        row: Option<String>,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            rule,
            table: table.map(str::to_string),
            row,
            message: message.into(),
        });
    }

    fn error(
        &mut self,
        rule: &'static str,
        table: &str,
        row: Option<String>,
        message: impl Into<String>,
    ) {
        self.report(Severity::Error, rule, Some(table), row, message);
    }

    fn warn(
        &mut self,
        rule: &'static str,
        table: &str,
        row: Option<String>,
        message: impl Into<String>,
    ) {
        self.report(Severity::Warning, rule, Some(table), row, message);
    }

    /// `(a, b)` of every row of `table` where both columns hold text (rows missing either are
    /// someone else's finding).
    fn text_pairs(&mut self, table: &str, a: &str, b: &str) -> Vec<(String, String)> {
        self.rows(table).text_pairs(a, b)
    }

    /// Table `table` (empty when the package has none or it cannot be read, which is an
    /// ICE03 finding).
    fn rows(&mut self, table: &str) -> Rc<Table> {
        if let Some(rows) = self.cache.get(table) {
            return rows.clone();
        }
        let rows = match self.pkg.table(table) {
            Ok(Some(rows)) => rows,
            Ok(None) => return Rc::new(empty(table)),
            Err(e) => {
                self.error("ICE03", table, None, format!("table cannot be read: {e}"));
                empty(table)
            }
        };
        let rows = Rc::new(rows);
        self.cache.insert(table.to_string(), rows.clone());
        rows
    }

    fn property_map(&mut self) -> BTreeMap<String, String> {
        let t = self.rows("Property");
        t.rows
            .iter()
            .filter_map(|r| {
                Some((
                    t.text(r, "Property")?.to_string(),
                    t.text(r, "Value").unwrap_or("").to_string(),
                ))
            })
            .collect()
    }

    /// `action → (condition, sequence)` of a sequence table.
    fn sequence(&mut self, table: &str) -> Sequence {
        self.rows(table).sequence()
    }

    /// `action → type` of the CustomAction table.
    fn custom_action_types(&mut self) -> BTreeMap<String, i32> {
        self.rows("CustomAction").custom_action_types()
    }
}

fn empty(name: &str) -> Table {
    Table {
        name: name.to_string(),
        columns: Vec::new(),
        rows: Vec::new(),
    }
}
