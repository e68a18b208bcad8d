//! Applying a transform to a package in memory: each row of each table stream is decoded
//! against the package's schema and applied, and whatever Windows Installer would refuse or
//! fail on is reported.
//!
//! Invariant: the package file is never changed; a row that cannot be decoded stops its table
//! with a problem instead of a panic.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::read_err;
use super::facts::{load_table, open_package, read_package_facts};
use super::file::{TransformFile, TransformSummary};
use super::{suppress, PackageFacts, TransformError};
use crate::read::table::read_raw;
use crate::read::{Table, Value};

/// What a transform row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOp {
    /// Adds a whole row (or replaces an existing one).
    Insert,
    /// Changes some columns of an existing row.
    Update,
    /// Removes a row.
    Delete,
}

/// One decoded transform row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowChange {
    /// Table.
    pub table: String,
    /// What it does.
    pub op: RowOp,
    /// Primary key of the row.
    pub key: Vec<Value>,
    /// `(column, value before, value after)` for every non-key column it sets.
    pub cells: Vec<(String, Option<Value>, Value)>,
}

/// Why a transform does not apply cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyProblem {
    /// Table concerned.
    pub table: String,
    /// What is wrong.
    pub message: String,
    /// The transform asks Windows Installer to ignore this condition (Character Count).
    pub suppressed: bool,
}

/// The result of applying a transform to a package in memory.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The transform's summary.
    pub summary: TransformSummary,
    /// The base package's facts.
    pub package: PackageFacts,
    /// Why Windows Installer would refuse the transform for this package (validation flags).
    pub refusals: Vec<String>,
    /// Every row change, in stream order.
    pub changes: Vec<RowChange>,
    /// Conditions that fail (or, when suppressed, would fail) the transform.
    pub problems: Vec<ApplyProblem>,
    /// Every table the transform touches, after the transform.
    pub tables: BTreeMap<String, Table>,
}

impl Applied {
    /// True when Windows Installer would accept and apply the transform without error.
    pub fn is_clean(&self) -> bool {
        self.refusals.is_empty() && self.problems.iter().all(|p| p.suppressed)
    }
}

/// Applies `transform` to the package at `msi` in memory (the file is not changed): decodes
/// every row against the package's schema, records what changes, and reports what Windows
/// Installer would refuse (validation flags) or fail on (missing tables or rows, rows that
/// already exist, columns the table does not have, schema changes this reader cannot follow).
pub fn apply(msi: &Path, transform: &TransformFile) -> Result<Applied, TransformError> {
    let package = read_package_facts(msi)?;
    let refusals = transform.summary.refusals(&package);
    let mut pkg = open_package(msi)?;
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    let mut tables = BTreeMap::new();
    let suppressed = transform.summary.suppressed;
    let mut problem = |table: &str, message: String, flag: u16| {
        problems.push(ApplyProblem {
            table: table.to_string(),
            message,
            suppressed: flag != 0 && suppressed & flag != 0,
        })
    };
    if transform.codepage != 0 && transform.codepage != package.codepage && package.codepage != 0 {
        problem(
            "_StringPool",
            format!(
                "the transform's codepage {} differs from the package's {}",
                transform.codepage, package.codepage
            ),
            suppress::CHANGE_CODEPAGE,
        );
    }
    for name in &transform.tables {
        if name == "_Tables" || name == "_Columns" {
            problem(
                name,
                "the transform adds or removes tables or columns; this reader checks only row changes to existing tables".into(),
                0,
            );
            continue;
        }
        let table = match load_table(&mut pkg, name).map_err(read_err(msi))? {
            Some(table) => table,
            None => {
                problem(name, format!("the package has no table {name}"), 0);
                continue;
            }
        };
        let stream = &transform.streams[name];
        let (table, table_changes, table_problems) = apply_table(transform, table, stream);
        for (message, flag) in table_problems {
            problem(name, message, flag);
        }
        changes.extend(table_changes);
        tables.insert(name.clone(), table);
    }
    Ok(Applied {
        summary: transform.summary.clone(),
        package,
        refusals,
        changes,
        problems,
        tables,
    })
}

/// Applies one table stream; returns the new table, the changes and the problems (message and
/// the error-condition flag that would suppress it, 0 for none).
fn apply_table(
    transform: &TransformFile,
    mut table: Table,
    stream: &[u8],
) -> (Table, Vec<RowChange>, Vec<(String, u16)>) {
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    let mut at = 0usize;
    while at < stream.len() {
        match decode_row(transform, &table, stream, &mut at) {
            Ok(row) => changes.push(apply_row(&mut table, row, &mut problems)),
            Err(message) => {
                problems.push((message, 0));
                break;
            }
        }
    }
    table.sort_by_key();
    (table, changes, problems)
}

/// One row of a transform's table stream: what it does and the cells it carries.
struct DecodedRow {
    op: RowOp,
    cells: BTreeMap<usize, Value>,
}

/// What a row mask means: the operation and the columns present.
fn row_columns(table: &Table, mask: u16) -> Result<(RowOp, Vec<usize>), String> {
    let ncols = table.columns.len();
    if mask & 1 != 0 {
        let n = usize::from(mask >> 8);
        if n > ncols {
            return Err(format!("a row carries {n} columns, the table has {ncols}"));
        }
        Ok((RowOp::Insert, (0..n).collect()))
    } else if mask == 0 {
        Ok((
            RowOp::Delete,
            (0..ncols).filter(|&i| table.columns[i].key).collect(),
        ))
    } else {
        if ncols < 16 && mask >> ncols != 0 {
            return Err(format!(
                "a row mask {mask:#06x} names columns the table (with {ncols}) does not have"
            ));
        }
        Ok((
            RowOp::Update,
            (0..ncols)
                .filter(|&i| table.columns[i].key || (i < 16 && mask & (1 << i) != 0))
                .collect(),
        ))
    }
}

/// Decodes the row at `*at` (advanced past it); the reason when it cannot be decoded.
fn decode_row(
    transform: &TransformFile,
    table: &Table,
    stream: &[u8],
    at: &mut usize,
) -> Result<DecodedRow, String> {
    let Some(mask) = stream.get(*at..*at + 2) else {
        return Err(format!("a row mask is cut off at byte {at}"));
    };
    let mask = u16::from_le_bytes([mask[0], mask[1]]);
    *at += 2;
    let (op, present) = row_columns(table, mask)?;
    let mut cells = BTreeMap::new();
    for i in present {
        let column = &table.columns[i];
        let width = column.kind.width(transform.pool.long_refs());
        let Some(bytes) = stream.get(*at..*at + width) else {
            return Err(format!("a row is cut off in column {}", column.name));
        };
        *at += width;
        let raw = read_raw(bytes);
        let value = match raw {
            0 => Value::Null,
            _ => column.kind.decode(raw, &transform.pool).ok_or_else(|| {
                format!(
                    "column {} refers to string {raw}, which the transform's pool does not have",
                    column.name
                )
            })?,
        };
        cells.insert(i, value);
    }
    Ok(DecodedRow { op, cells })
}

/// Applies one decoded row to `table`, recording problems; returns the change it makes.
fn apply_row(table: &mut Table, row: DecodedRow, problems: &mut Vec<(String, u16)>) -> RowChange {
    let ncols = table.columns.len();
    let DecodedRow { op, cells } = row;
    let key: Vec<Value> = (0..ncols)
        .filter(|&i| table.columns[i].key)
        .map(|i| cells.get(&i).cloned().unwrap_or(Value::Null))
        .collect();
    let show_key = key
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/");
    let existing = table.rows.iter().position(|r| table.key_of(r) == key);
    let mut change = RowChange {
        table: table.name.clone(),
        op,
        key,
        cells: Vec::new(),
    };
    let non_key = |i: &usize| !table.columns[*i].key;
    let name = |i: usize| table.columns[i].name.clone();
    match (op, existing) {
        (RowOp::Delete, Some(index)) => {
            table.rows.remove(index);
        }
        (RowOp::Delete, None) => problems.push((
            format!("deletes row {show_key}, which does not exist"),
            suppress::DELETE_MISSING_ROW,
        )),
        (RowOp::Insert, existing) => {
            let mut new_row = vec![Value::Null; ncols];
            for (&i, value) in &cells {
                new_row[i] = value.clone();
                if non_key(&i) {
                    let before = existing.map(|e| table.rows[e][i].clone());
                    change.cells.push((name(i), before, value.clone()));
                }
            }
            match existing {
                Some(index) => {
                    problems.push((
                        format!("adds row {show_key}, which already exists"),
                        suppress::ADD_EXISTING_ROW,
                    ));
                    table.rows[index] = new_row;
                }
                None => table.rows.push(new_row),
            }
        }
        (RowOp::Update, Some(index)) => {
            for (&i, value) in cells.iter().filter(|(i, _)| non_key(i)) {
                let before = std::mem::replace(&mut table.rows[index][i], value.clone());
                change.cells.push((name(i), Some(before), value.clone()));
            }
        }
        (RowOp::Update, None) => {
            problems.push((
                format!("updates row {show_key}, which does not exist"),
                suppress::UPDATE_MISSING_ROW,
            ));
            for (&i, value) in cells.iter().filter(|(i, _)| non_key(i)) {
                change.cells.push((name(i), None, value.clone()));
            }
        }
    }
    change
}

/// The properties a transform changes: `(name, value after)` for every Property row it inserts
/// or updates (deleted properties are left out).
pub fn property_changes(applied: &Applied) -> BTreeMap<String, String> {
    applied
        .changes
        .iter()
        .filter(|c| c.table == "Property" && c.op != RowOp::Delete)
        .filter_map(|c| {
            let name = match c.key.first()? {
                Value::Str(s) => s.clone(),
                _ => return None,
            };
            let value = c
                .cells
                .iter()
                .find(|(col, _, _)| col == "Value")
                .map(|(_, _, v)| v)?;
            match value {
                Value::Str(s) => Some((name, s.clone())),
                _ => Some((name, String::new())),
            }
        })
        .collect()
}
