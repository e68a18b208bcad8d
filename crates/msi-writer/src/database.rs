//! The database layer: typed rows in, `_StringPool`, `_StringData`, `_Tables`, `_Columns`,
//! `_Validation` and one stream per table out.
//!
//! Format (as read by Windows Installer, Wine/libmsi and the `msi` crate):
//! - `_StringPool` starts with the codepage (bit 31 set when string references are 3 bytes wide),
//!   then one `(u16 byte length, u16 reference count)` pair per string id, from id 1;
//!   `_StringData` is the strings' bytes, concatenated in id order.
//! - A table stream stores its rows column by column. Strings are string ids (0 = null),
//!   integers are stored with the sign bit flipped (0 = null), 2 or 4 bytes wide.
//! - Rows are sorted by their primary key's stored values; the engine relies on that order.
//!
//! Every distinct string is interned once through a hash map, and ids are given in sorted string
//! order, so building is O(n log n) in the number of cells whatever the insertion order, and the
//! output does not depend on hash-map iteration order.

use std::collections::{BTreeMap, HashMap};

use crate::cp1252;
use crate::error::MsiError;
use crate::schema::{ColType, TableDef, VALIDATION};

/// A cell value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i32),
    Str(String),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Str(text.to_string())
    }
}
impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Str(text)
    }
}
impl From<&String> for Cell {
    fn from(text: &String) -> Cell {
        Cell::Str(text.clone())
    }
}
impl From<i32> for Cell {
    fn from(value: i32) -> Cell {
        Cell::Int(value)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Null, Into::into)
    }
}

/// Builds a `Vec<Cell>` from heterogeneous values.
macro_rules! row {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::database::Cell::from($value)),*]
    };
}
pub(crate) use row;

/// The most string ids a pool can hold with 3-byte references.
const MAX_STRING_ID: usize = 0xFF_FFFF;
/// Reference counts are 16-bit.
const MAX_REFCOUNT: u32 = 0xFFFF;
/// String lengths in `_StringPool` are 16-bit; longer strings need a format extension that not
/// every reader agrees on, so we do not write them.
const MAX_STRING_BYTES: usize = 0xFFFF;

/// An in-memory database under construction.
#[derive(Default)]
pub(crate) struct Database {
    tables: BTreeMap<&'static str, (&'static TableDef, Vec<Vec<Cell>>)>,
}

/// The encoded database streams.
#[derive(Debug)]
pub(crate) struct EncodedDatabase {
    /// `(table name, stream bytes)`, including `_StringPool` and `_StringData`; the stream names
    /// still need [`crate::stream_name::encode`] with `is_table = true`.
    pub tables: Vec<(String, Vec<u8>)>,
    /// Number of distinct strings.
    pub string_count: usize,
}

impl Database {
    /// Appends a row; the row is checked against the definition when the database is encoded.
    pub(crate) fn add(&mut self, def: &'static TableDef, row: Vec<Cell>) {
        self.tables
            .entry(def.name)
            .or_insert_with(|| (def, Vec::new()))
            .1
            .push(row);
    }

    /// Serializes all tables, with the system tables derived from the definitions.
    pub(crate) fn encode(&self) -> Result<EncodedDatabase, MsiError> {
        let mut all: BTreeMap<&'static str, (&'static TableDef, Vec<Vec<Cell>>)> = self
            .tables
            .iter()
            .filter(|(_, (_, rows))| !rows.is_empty())
            .map(|(name, (def, rows))| (*name, (*def, rows.clone())))
            .collect();
        let mut defs: Vec<&'static TableDef> = all.values().map(|(def, _)| *def).collect();
        defs.push(&VALIDATION);
        defs.sort_by_key(|def| def.name);

        let (tables_rows, columns_rows, validation_rows) = system_rows(&defs);
        all.insert(VALIDATION.name, (&VALIDATION, validation_rows));
        all.insert(TABLES.name, (&TABLES, tables_rows));
        all.insert(COLUMNS.name, (&COLUMNS, columns_rows));

        for (def, rows) in all.values() {
            for row in rows {
                check_row(def, row)?;
            }
        }
        let (strings, refcounts) = distinct_strings(&all)?;
        let ids: HashMap<&str, u32> = strings
            .iter()
            .enumerate()
            .map(|(index, text)| (*text, index as u32 + 1))
            .collect();
        let long_refs = strings.len() > 0xFFFF;
        let (pool, data) = string_pool(&strings, &refcounts, long_refs)?;

        let mut out = vec![
            ("_StringPool".to_string(), pool),
            ("_StringData".to_string(), data),
        ];
        for (name, (def, rows)) in &all {
            out.push((name.to_string(), encode_table(def, rows, &ids, long_refs)?));
        }
        Ok(EncodedDatabase {
            tables: out,
            string_count: strings.len(),
        })
    }
}

type Rows = Vec<Vec<Cell>>;

/// The `_Tables`, `_Columns` and `_Validation` rows that describe `defs`.
fn system_rows(defs: &[&'static TableDef]) -> (Rows, Rows, Rows) {
    let mut validation_rows = Vec::new();
    let mut columns_rows = Vec::new();
    let mut tables_rows = Vec::new();
    for def in defs {
        tables_rows.push(row![def.name]);
        for (index, column) in def.columns.iter().enumerate() {
            columns_rows.push(row![
                def.name,
                index as i32 + 1,
                column.name,
                column.type_bits()
            ]);
            let (min, max) = match column.range {
                Some((min, max)) => (Cell::Int(min), Cell::Int(max)),
                None => (Cell::Null, Cell::Null),
            };
            validation_rows.push(vec![
                Cell::from(def.name),
                Cell::from(column.name),
                Cell::from(if column.nullable { "Y" } else { "N" }),
                min,
                max,
                Cell::from(column.key_table),
                Cell::from(column.key_column.map(i32::from)),
                Cell::from(column.category),
                Cell::from(column.set),
                Cell::Null,
            ]);
        }
    }
    (tables_rows, columns_rows, validation_rows)
}

/// Every distinct string of the database, sorted (string ids number them in this order), with
/// its reference count.
#[allow(clippy::type_complexity)]
fn distinct_strings<'a>(
    all: &'a BTreeMap<&'static str, (&'static TableDef, Rows)>,
) -> Result<(Vec<&'a str>, HashMap<&'a str, u32>), MsiError> {
    let mut refcounts: HashMap<&str, u32> = HashMap::new();
    for (_, rows) in all.values() {
        for row in rows {
            for cell in row {
                if let Cell::Str(text) = cell {
                    *refcounts.entry(text.as_str()).or_insert(0) += 1;
                }
            }
        }
    }
    let mut strings: Vec<&str> = refcounts.keys().copied().collect();
    strings.sort_unstable();
    if strings.len() > MAX_STRING_ID {
        return Err(MsiError::LimitExceeded {
            what: "distinct strings in the database".into(),
            count: strings.len() as u64,
            max: MAX_STRING_ID as u64,
            why: "string ids are at most 3 bytes wide",
        });
    }
    Ok((strings, refcounts))
}

/// The `_StringPool` (codepage header, then length and reference count per string) and
/// `_StringData` streams.
fn string_pool(
    strings: &[&str],
    refcounts: &HashMap<&str, u32>,
    long_refs: bool,
) -> Result<(Vec<u8>, Vec<u8>), MsiError> {
    let mut pool = Vec::with_capacity(4 + strings.len() * 4);
    let mut data = Vec::new();
    let header = u32::from(cp1252::CODEPAGE) | if long_refs { 0x8000_0000 } else { 0 };
    pool.extend_from_slice(&header.to_le_bytes());
    for text in strings {
        let bytes = cp1252::encode(text).map_err(|ch| {
            MsiError::Internal(format!(
                "string {text:?} reached the database with unencodable {ch:?}"
            ))
        })?;
        if bytes.len() > MAX_STRING_BYTES {
            return Err(MsiError::LimitExceeded {
                what: format!(
                    "a database string starting {:?}",
                    text.chars().take(40).collect::<String>()
                ),
                count: bytes.len() as u64,
                max: MAX_STRING_BYTES as u64,
                why: "string pool lengths are 16-bit",
            });
        }
        let refs = refcounts[text];
        if refs > MAX_REFCOUNT {
            return Err(MsiError::LimitExceeded {
                what: format!("references to the string {text:?}"),
                count: u64::from(refs),
                max: u64::from(MAX_REFCOUNT),
                why: "string reference counts are 16-bit",
            });
        }
        pool.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        pool.extend_from_slice(&(refs as u16).to_le_bytes());
        data.extend_from_slice(&bytes);
    }
    Ok((pool, data))
}

/// `_Tables` and `_Columns` are not described in `_Columns` themselves; these definitions only
/// drive encoding.
static TABLES: TableDef = TableDef {
    name: "_Tables",
    columns: &[crate::schema::ColumnDef {
        name: "Name",
        ty: ColType::Str(64),
        key: true,
        nullable: false,
        localizable: false,
        category: None,
        range: None,
        key_table: None,
        key_column: None,
        set: None,
    }],
};

static COLUMNS: TableDef = TableDef {
    name: "_Columns",
    columns: &[
        system_column("Table", ColType::Str(64), true),
        system_column("Number", ColType::I16, true),
        system_column("Name", ColType::Str(64), false),
        system_column("Type", ColType::I16, false),
    ],
};

const fn system_column(name: &'static str, ty: ColType, key: bool) -> crate::schema::ColumnDef {
    crate::schema::ColumnDef {
        name,
        ty,
        key,
        nullable: false,
        localizable: false,
        category: None,
        range: None,
        key_table: None,
        key_column: None,
        set: None,
    }
}

fn check_row(def: &TableDef, row: &[Cell]) -> Result<(), MsiError> {
    let fail = |column: &str, what: String| {
        Err(MsiError::Internal(format!(
            "{}.{}: {what} (row {row:?})",
            def.name, column
        )))
    };
    if row.len() != def.columns.len() {
        return fail(
            "*",
            format!("{} cells for {} columns", row.len(), def.columns.len()),
        );
    }
    for (column, cell) in def.columns.iter().zip(row) {
        match (cell, column.ty) {
            (Cell::Null, _) => {
                if !column.nullable {
                    return fail(column.name, "null in a non-nullable column".into());
                }
            }
            (Cell::Str(text), ColType::Str(max)) => {
                if text.is_empty() {
                    return fail(column.name, "empty string (write Null instead)".into());
                }
                if max > 0 && text.chars().count() > usize::from(max) {
                    return fail(
                        column.name,
                        format!("{} characters, column holds {max}", text.chars().count()),
                    );
                }
            }
            (Cell::Int(value), ColType::I16) => {
                if !(-32767..=32767).contains(value) {
                    return fail(column.name, format!("{value} does not fit a 16-bit column"));
                }
            }
            (Cell::Int(value), ColType::I32) => {
                if *value == i32::MIN {
                    return fail(column.name, "i32::MIN cannot be stored".into());
                }
            }
            _ => return fail(column.name, format!("{cell:?} has the wrong type")),
        }
        if let (Some((min, max)), Cell::Int(value)) = (column.range, cell) {
            if value < &min || value > &max {
                return fail(column.name, format!("{value} outside {min}..={max}"));
            }
        }
    }
    Ok(())
}

/// The stored (raw) value of a cell: what rows are sorted by and what is written.
fn raw(ty: ColType, cell: &Cell, ids: &HashMap<&str, u32>) -> u32 {
    match (ty, cell) {
        (_, Cell::Null) => 0,
        (ColType::Str(_), Cell::Str(text)) => ids[text.as_str()],
        (ColType::I16, Cell::Int(value)) => u32::from((*value as i16 as u16) ^ 0x8000),
        (ColType::I32, Cell::Int(value)) => (*value as u32) ^ 0x8000_0000,
        _ => unreachable!("checked by check_row"),
    }
}

fn encode_table(
    def: &TableDef,
    rows: &[Vec<Cell>],
    ids: &HashMap<&str, u32>,
    long_refs: bool,
) -> Result<Vec<u8>, MsiError> {
    let mut raw_rows: Vec<Vec<u32>> = rows
        .iter()
        .map(|row| {
            def.columns
                .iter()
                .zip(row)
                .map(|(column, cell)| raw(column.ty, cell, ids))
                .collect()
        })
        .collect();
    let key_columns: Vec<usize> = (0..def.columns.len())
        .filter(|&i| def.columns[i].key)
        .collect();
    let key_of = |row: &Vec<u32>| key_columns.iter().map(|&i| row[i]).collect::<Vec<u32>>();
    raw_rows.sort_by_key(key_of);
    for pair in raw_rows.windows(2) {
        if key_of(&pair[0]) == key_of(&pair[1]) {
            return Err(MsiError::Internal(format!(
                "duplicate primary key in table {}",
                def.name
            )));
        }
    }
    let mut out = Vec::new();
    for (index, column) in def.columns.iter().enumerate() {
        for row in &raw_rows {
            let value = row[index];
            match column.ty {
                ColType::Str(_) if long_refs => out.extend_from_slice(&value.to_le_bytes()[..3]),
                ColType::Str(_) | ColType::I16 => {
                    out.extend_from_slice(&(value as u16).to_le_bytes())
                }
                ColType::I32 => out.extend_from_slice(&value.to_le_bytes()),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MEDIA, PROPERTY};

    #[test]
    fn tables_are_sorted_by_key_and_stored_column_wise() {
        let mut db = Database::default();
        db.add(
            &MEDIA,
            row![2, 20, Cell::Null, "#b.cab", Cell::Null, Cell::Null],
        );
        db.add(
            &MEDIA,
            row![1, 10, Cell::Null, "#a.cab", Cell::Null, Cell::Null],
        );
        db.add(&PROPERTY, row!["Zeta", "1"]);
        db.add(&PROPERTY, row!["Alpha", "2"]);
        let encoded = db.encode().unwrap();
        let stream = |name: &str| &encoded.tables.iter().find(|(n, _)| n == name).unwrap().1;
        let media = stream("Media");
        // DiskId column: 1 then 2, sign bit flipped.
        assert_eq!(&media[..4], &[0x01, 0x80, 0x02, 0x80]);
        // LastSequence column, 4 bytes each.
        assert_eq!(&media[4..12], &[10, 0, 0, 0x80, 20, 0, 0, 0x80]);
        assert_eq!(media.len(), 2 * (2 + 4 + 2 + 2 + 2 + 2));
        // Sorted string ids: "#a.cab" < "#b.cab" < ... so Cabinet ids ascend with the rows.
        let pool = stream("_StringPool");
        assert_eq!(&pool[..4], &1252u32.to_le_bytes());
        let data = stream("_StringData");
        assert!(data.starts_with(b"#a.cab#b.cab"));
    }

    #[test]
    fn rejects_rows_that_break_the_schema() {
        let mut db = Database::default();
        db.add(&PROPERTY, row!["A", Cell::Null]);
        assert!(matches!(db.encode(), Err(MsiError::Internal(_))));
        let mut db = Database::default();
        db.add(&PROPERTY, row!["A", "1"]);
        db.add(&PROPERTY, row!["A", "2"]);
        assert!(db
            .encode()
            .unwrap_err()
            .to_string()
            .contains("duplicate primary key"));
    }
}
