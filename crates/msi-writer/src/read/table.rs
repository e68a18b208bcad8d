//! Tables: columns as `_Columns` and `_Validation` describe them, values, and the column-wise
//! row layout of a package's table streams.
//!
//! Invariant: a [`Table`]'s rows all have one value per column, in column order.

use std::fmt;

use super::category::Category;
use super::string_pool::StringPool;

use crate::schema::{
    TYPE_FIELD_SIZE, TYPE_KEY, TYPE_LOCALIZABLE, TYPE_NONBINARY, TYPE_NULLABLE, TYPE_STRING,
    TYPE_VALID,
};

/// A cell value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// Null.
    Null,
    /// An integer.
    Int(i32),
    /// A string.
    Str(String),
    /// A binary (stream) cell; its data is not compared.
    Stream,
}

impl Value {
    /// The text of a string cell.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The number of an integer cell.
    pub fn as_int(&self) -> Option<i32> {
        match self {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Stream => f.write_str("[stream]"),
        }
    }
}

/// Storage kind of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// 16-bit integer.
    Int16,
    /// 32-bit integer.
    Int32,
    /// String (an id into the string pool).
    Str,
    /// Binary stream.
    Binary,
}

impl ColumnKind {
    /// The kind a `_Columns.Type` value stores, or why it stores none.
    fn from_type_bits(bits: i32) -> Result<ColumnKind, String> {
        if bits & !TYPE_NULLABLE == TYPE_STRING | TYPE_VALID {
            return Ok(ColumnKind::Binary);
        }
        if bits & TYPE_STRING != 0 {
            return Ok(ColumnKind::Str);
        }
        match bits & TYPE_FIELD_SIZE {
            4 if bits & TYPE_NONBINARY == 0 => Ok(ColumnKind::Int32),
            4 => Ok(ColumnKind::Binary),
            // Sizes below 2 are stored in 2 bytes too.
            0..=2 => Ok(ColumnKind::Int16),
            size => Err(format!("invalid field size for an integer column ({size})")),
        }
    }

    /// Bytes one cell takes in a table stream.
    pub fn width(self, long_refs: bool) -> usize {
        match self {
            ColumnKind::Str if long_refs => 3,
            ColumnKind::Str | ColumnKind::Int16 | ColumnKind::Binary => 2,
            ColumnKind::Int32 => 4,
        }
    }

    /// The value of a stored cell (`raw` little-endian, `width` bytes); `None` for a string id
    /// the pool does not have.
    pub fn decode(self, raw: u32, pool: &StringPool) -> Option<Value> {
        Some(match self {
            _ if raw == 0 && self != ColumnKind::Binary => Value::Null,
            ColumnKind::Str => Value::Str(pool.get(raw)?.to_string()),
            ColumnKind::Int16 => Value::Int(raw as i32 - 0x8000),
            ColumnKind::Int32 => Value::Int((raw ^ 0x8000_0000) as i32),
            ColumnKind::Binary => Value::Stream,
        })
    }
}

/// What `_Validation` says about a column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    /// `Nullable` is `Y`.
    pub nullable: bool,
    /// `MinValue..=MaxValue`, when both are given.
    pub range: Option<(i32, i32)>,
    /// `KeyTable` and `KeyColumn`, when both are given.
    pub foreign_key: Option<(String, i32)>,
    /// `Category`, when it names a known category.
    pub category: Option<Category>,
    /// `Set`, split at `;` (empty: any value).
    pub set: Vec<String>,
}

/// A column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Storage kind.
    pub kind: ColumnKind,
    /// Part of the primary key.
    pub key: bool,
    /// Null allowed (the type bit or `_Validation`).
    pub nullable: bool,
    /// Localizable (type bit).
    pub localizable: bool,
    /// Maximum string length in characters (0 = unlimited; 0 for other kinds).
    pub max_len: usize,
    /// The column's `_Validation` row, when it has one.
    pub validation: Option<Validation>,
}

impl Column {
    /// A column from its `_Columns` row and `_Validation` row.
    pub fn new(
        name: &str,
        type_bits: i32,
        validation: Option<Validation>,
    ) -> Result<Column, String> {
        let kind = ColumnKind::from_type_bits(type_bits)
            .map_err(|reason| format!("column {name}: {reason}"))?;
        Ok(Column {
            name: name.to_string(),
            kind,
            key: type_bits & TYPE_KEY != 0,
            nullable: type_bits & TYPE_NULLABLE != 0
                || validation.as_ref().is_some_and(|v| v.nullable),
            localizable: type_bits & TYPE_LOCALIZABLE != 0,
            max_len: match kind {
                ColumnKind::Str => (type_bits & TYPE_FIELD_SIZE) as usize,
                _ => 0,
            },
            validation,
        })
    }

    /// The SQL-like type name: `SMALLINT`, `INTEGER`, `VARCHAR(n)`, `BINARY`.
    pub fn type_name(&self) -> String {
        match self.kind {
            ColumnKind::Int16 => "SMALLINT".into(),
            ColumnKind::Int32 => "INTEGER".into(),
            ColumnKind::Str => format!("VARCHAR({})", self.max_len),
            ColumnKind::Binary => "BINARY".into(),
        }
    }

    /// The `_Validation` category, if any.
    pub fn category(&self) -> Option<Category> {
        self.validation.as_ref().and_then(|v| v.category)
    }

    /// True when `value` fits the column: kind, nullability, range, category, set, length.
    pub fn is_valid_value(&self, value: &Value) -> bool {
        let validation = self.validation.clone().unwrap_or_default();
        match value {
            Value::Null => self.nullable && self.kind != ColumnKind::Binary,
            Value::Int(number) => {
                let in_range = validation
                    .range
                    .is_none_or(|(min, max)| (min..=max).contains(number));
                in_range
                    && match self.kind {
                        ColumnKind::Int16 => {
                            *number > i32::from(i16::MIN) && *number <= i32::from(i16::MAX)
                        }
                        ColumnKind::Int32 => *number > i32::MIN,
                        ColumnKind::Str | ColumnKind::Binary => false,
                    }
            }
            Value::Str(text) => {
                self.kind == ColumnKind::Str
                    && validation.category.is_none_or(|c| c.validate(text))
                    && (validation.set.is_empty() || validation.set.contains(text))
                    && (self.max_len == 0 || text.chars().count() <= self.max_len)
            }
            Value::Stream => self.kind == ColumnKind::Binary,
        }
    }
}

/// A table's columns and rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Rows (in stored order as read from a package; sorted by key when a transform has been
    /// applied).
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Decodes a package's table stream, stored column by column.
    pub fn decode(
        name: &str,
        columns: Vec<Column>,
        stream: &[u8],
        pool: &StringPool,
    ) -> Result<Table, String> {
        let widths: Vec<usize> = columns
            .iter()
            .map(|c| c.kind.width(pool.long_refs()))
            .collect();
        let row_width: usize = widths.iter().sum();
        let count = stream.len().checked_div(row_width).unwrap_or(0);
        if count > 65536 {
            return Err(format!("table {name} has {count} rows, more than 65536"));
        }
        let mut rows = vec![Vec::with_capacity(columns.len()); count];
        let mut at = 0;
        for (column, width) in columns.iter().zip(widths) {
            for row in &mut rows {
                let raw = read_raw(&stream[at..at + width]);
                // Ids the pool lacks read as empty strings, as Windows Installer shows them.
                let value = column
                    .kind
                    .decode(raw, pool)
                    .unwrap_or(Value::Str(String::new()));
                row.push(value);
                at += width;
            }
        }
        Ok(Table {
            name: name.to_string(),
            columns,
            rows,
        })
    }

    /// The index of the column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value of `column` in `row` (Null when the table has no such column).
    pub fn cell<'a>(&self, row: &'a [Value], column: &str) -> &'a Value {
        self.column_index(column)
            .and_then(|i| row.get(i))
            .unwrap_or(&Value::Null)
    }

    /// The text of `column` in `row`, when it is a string.
    pub fn text<'a>(&self, row: &'a [Value], column: &str) -> Option<&'a str> {
        self.cell(row, column).as_str()
    }

    /// The number in `column` of `row`, when it is an integer.
    pub fn int(&self, row: &[Value], column: &str) -> Option<i32> {
        self.cell(row, column).as_int()
    }

    /// `(a, b)` of every row where both columns hold text.
    pub fn text_pairs(&self, a: &str, b: &str) -> Vec<(String, String)> {
        self.rows
            .iter()
            .filter_map(|r| Some((self.text(r, a)?.to_string(), self.text(r, b)?.to_string())))
            .collect()
    }

    /// The primary key values of `row`.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.columns
            .iter()
            .zip(row)
            .filter(|(c, _)| c.key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The row whose primary key is `key`.
    pub fn find(&self, key: &[Value]) -> Option<&Vec<Value>> {
        self.rows.iter().find(|r| self.key_of(r) == key)
    }

    /// The value of `column` in the row with primary key `key`.
    pub fn get(&self, key: &[Value], column: &str) -> Option<&Value> {
        let index = self.column_index(column)?;
        self.find(key).map(|row| &row[index])
    }

    /// Sorts the rows by primary key.
    pub fn sort_by_key(&mut self) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_by_key(|r| self.key_of(r));
        self.rows = rows;
    }
}

/// A little-endian cell of 2, 3 or 4 bytes.
pub(crate) fn read_raw(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}
