//! A package's database: summary information, string pool and the table schema from `_Tables`,
//! `_Columns` and `_Validation`; tables are decoded when asked for.
//!
//! Invariant: opening fails only when the file is not a compound file of a known class or its
//! summary, string pool or schema cannot be decoded; a transform opens with an empty schema
//! (its table streams are row changes, decoded against a package by `crate::transform`).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;

use super::category::Category;
use super::storage::{PackageKind, Storage, SUMMARY_STREAM};
use super::string_pool::StringPool;
use super::summary::SummaryInfo;
use super::table::{Column, Table, Validation};

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// An open package (or transform).
pub struct Package {
    storage: Storage,
    kind: PackageKind,
    summary: SummaryInfo,
    pool: StringPool,
    /// Table name → columns, for every table `_Tables` lists.
    schema: BTreeMap<String, Vec<Column>>,
}

impl Package {
    /// Opens the package at `path`.
    pub fn open(path: &Path) -> io::Result<Package> {
        Package::from_storage(Storage::open(path)?)
    }

    /// Opens package bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> io::Result<Package> {
        Package::from_storage(Storage::from_bytes(bytes)?)
    }

    /// Reads the summary, string pool and schema of an open compound file.
    pub fn from_storage(mut storage: Storage) -> io::Result<Package> {
        let kind = storage.kind().ok_or_else(|| {
            invalid(format!(
                "unrecognized package class {{{}}}",
                storage.clsid().hyphenated()
            ))
        })?;
        let summary = SummaryInfo::decode(&storage.read(SUMMARY_STREAM)?)
            .map_err(|reason| invalid(format!("summary information: {reason}")))?;
        let mut stream = |name: &str| {
            storage
                .read_named(name, true)?
                .ok_or_else(|| invalid(format!("no {name} stream")))
        };
        let (pool, data) = (stream("_StringPool")?, stream("_StringData")?);
        let pool = StringPool::parse(&pool, &data).map_err(invalid)?;
        let mut package = Package {
            storage,
            kind,
            summary,
            pool,
            schema: BTreeMap::new(),
        };
        if kind != PackageKind::Transform {
            package.schema = package.read_schema()?;
        }
        Ok(package)
    }

    /// What the root class says this is.
    pub fn kind(&self) -> PackageKind {
        self.kind
    }

    /// The summary information.
    pub fn summary(&self) -> &SummaryInfo {
        &self.summary
    }

    /// The string pool.
    pub fn string_pool(&self) -> &StringPool {
        &self.pool
    }

    /// The database codepage (the string pool's).
    pub fn codepage(&self) -> u32 {
        self.pool.codepage()
    }

    /// The compound file.
    pub fn storage(&mut self) -> &mut Storage {
        &mut self.storage
    }

    /// True when `_Tables` lists `name`.
    pub fn has_table(&self, name: &str) -> bool {
        self.schema.contains_key(name)
    }

    /// Every table `_Tables` lists, with its columns, by name.
    pub fn schema(&self) -> &BTreeMap<String, Vec<Column>> {
        &self.schema
    }

    /// True when the package has the (non-table) stream `name`, such as an embedded cabinet.
    pub fn has_stream(&self, name: &str) -> bool {
        self.storage.has_stream(name, false)
    }

    /// Decodes table `name`, rows in stored order (`None` when `_Tables` does not list it; no
    /// rows when it has no stream).
    /// `_Tables` and `_Columns` themselves are read too.
    pub fn table(&mut self, name: &str) -> io::Result<Option<Table>> {
        let columns = match name {
            "_Tables" => tables_columns(),
            "_Columns" => columns_columns(),
            _ => match self.schema.get(name) {
                Some(columns) => columns.clone(),
                None => return Ok(None),
            },
        };
        self.decode_table(name, columns).map(Some)
    }

    fn decode_table(&mut self, name: &str, columns: Vec<Column>) -> io::Result<Table> {
        let stream = self.storage.read_named(name, true)?.unwrap_or_default();
        Table::decode(name, columns, &stream, &self.pool).map_err(invalid)
    }

    /// `_Tables`, `_Columns` and `_Validation` → the columns of every listed table.
    fn read_schema(&mut self) -> io::Result<BTreeMap<String, Vec<Column>>> {
        let tables = self.decode_table("_Tables", tables_columns())?;
        let mut specs: BTreeMap<String, BTreeMap<i32, (String, i32)>> = BTreeMap::new();
        for row in &tables.rows {
            let name = row[0].as_str().unwrap_or_default().to_string();
            if specs.insert(name.clone(), BTreeMap::new()).is_some() {
                return Err(invalid(format!("repeated key in _Tables: {name:?}")));
            }
        }
        let columns = self.decode_table("_Columns", columns_columns())?;
        for row in &columns.rows {
            let table = row[0].as_str().unwrap_or_default();
            let spec = specs.get_mut(table).ok_or_else(|| {
                invalid(format!(
                    "_Columns mentions table {table:?}, which _Tables does not list"
                ))
            })?;
            let number = row[1].as_int().unwrap_or(0);
            let entry = (
                row[2].as_str().unwrap_or_default().to_string(),
                row[3].as_int().unwrap_or(0),
            );
            if spec.insert(number, entry).is_some() {
                return Err(invalid(format!(
                    "repeated key in _Columns: {table:?} {number}"
                )));
            }
        }
        let validation = self.read_validation(specs.contains_key("_Validation"))?;
        specs
            .into_iter()
            .map(|(table, spec)| {
                let columns = table_columns(&table, spec, &validation)?;
                Ok((table, columns))
            })
            .collect()
    }

    /// `(table, column)` → its `_Validation` row.
    fn read_validation(
        &mut self,
        listed: bool,
    ) -> io::Result<HashMap<(String, String), Validation>> {
        if !listed {
            return Ok(HashMap::new());
        }
        let table = self.decode_table("_Validation", validation_columns())?;
        let mut out = HashMap::new();
        for row in &table.rows {
            let text = |i: usize| row[i].as_str().map(str::to_string);
            let key = (text(0).unwrap_or_default(), text(1).unwrap_or_default());
            let range = match (row[3].as_int(), row[4].as_int()) {
                (Some(min), Some(max)) => Some((min, max)),
                _ => None,
            };
            let validation = Validation {
                nullable: row[2].as_str() == Some("Y"),
                range,
                foreign_key: text(5).zip(row[6].as_int()),
                category: row[7].as_str().and_then(Category::parse),
                set: text(8)
                    .map(|s| s.split(';').map(str::to_string).collect())
                    .unwrap_or_default(),
            };
            if out.insert(key.clone(), validation).is_some() {
                return Err(invalid(format!("repeated key in _Validation: {key:?}")));
            }
        }
        Ok(out)
    }
}

/// The columns of `table` from its `_Columns` rows (numbered 1..=n) and `_Validation`.
fn table_columns(
    table: &str,
    spec: BTreeMap<i32, (String, i32)>,
    validation: &HashMap<(String, String), Validation>,
) -> io::Result<Vec<Column>> {
    if spec.is_empty() {
        return Err(invalid(format!("no columns found for table {table:?}")));
    }
    if spec.keys().next() != Some(&1) || spec.keys().next_back() != Some(&(spec.len() as i32)) {
        return Err(invalid(format!(
            "table {table:?} does not have a complete set of columns"
        )));
    }
    spec.into_values()
        .map(|(name, bits)| {
            let rules = validation.get(&(table.to_string(), name.clone())).cloned();
            Column::new(&name, bits, rules).map_err(invalid)
        })
        .collect()
}

// Type bits of the system tables' columns.
const KEY: i32 = 0x2000;
const NULL: i32 = 0x1000;
const STR64: i32 = 0x0800 | 64;
const STR: i32 = 0x0800;
const INT16: i32 = 0x0400 | 2;
const INT32: i32 = 4;

fn system_columns(specs: &[(&str, i32)]) -> Vec<Column> {
    specs
        .iter()
        .map(|(name, bits)| Column::new(name, bits | 0x0100, None).expect("valid constant"))
        .collect()
}

/// `_Tables`'s column (it is not described in `_Columns`).
fn tables_columns() -> Vec<Column> {
    system_columns(&[("Name", STR64 | KEY)])
}

/// `_Columns`'s columns (it is not described in itself).
fn columns_columns() -> Vec<Column> {
    system_columns(&[
        ("Table", STR64 | KEY),
        ("Number", INT16 | KEY),
        ("Name", STR64),
        ("Type", INT16),
    ])
}

/// `_Validation`'s columns, as every package defines them.
fn validation_columns() -> Vec<Column> {
    system_columns(&[
        ("Table", STR | 32 | KEY),
        ("Column", STR | 32 | KEY),
        ("Nullable", STR | 4),
        ("MinValue", INT32 | NULL),
        ("MaxValue", INT32 | NULL),
        ("KeyTable", STR | 255 | NULL),
        ("KeyColumn", INT16 | NULL),
        ("Category", STR | 32 | NULL),
        ("Set", STR | 255 | NULL),
        ("Description", STR | 255 | NULL),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ColumnKind;

    #[test]
    fn system_column_kinds_follow_their_type_bits() {
        let kinds: Vec<ColumnKind> = validation_columns().iter().map(|c| c.kind).collect();
        use ColumnKind::*;
        assert_eq!(
            kinds,
            [Str, Str, Str, Int32, Int32, Str, Int16, Str, Str, Str]
        );
    }
}
