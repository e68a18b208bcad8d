//! ICE03: every value fits its column, and references between the tables we know resolve.

use std::collections::HashSet;

use super::{key_of, show, Linter};
use crate::read::{Column, Value};
use crate::schema;

/// Why `value` does not fit `column`.
fn why_invalid(column: &Column, value: &Value) -> String {
    if *value == Value::Null {
        return "is null but the column is not nullable".to_string();
    }
    format!(
        "value {:?} does not fit the column definition ({}{})",
        show(value),
        column.type_name(),
        column
            .category()
            .map(|c| format!(", {c}"))
            .unwrap_or_default()
    )
}

impl Linter {
    /// ICE03: every value fits its column (type, nullability, length, range, category, set), using
    /// the package's `_Validation` table.
    pub(super) fn column_values(&mut self) {
        let tables: Vec<(String, Vec<Column>)> = self
            .pkg
            .schema()
            .iter()
            .filter(|(name, _)| !name.starts_with('_'))
            .map(|(name, columns)| (name.clone(), columns.clone()))
            .collect();
        let validated: HashSet<(String, String)> = self
            .text_pairs("_Validation", "Table", "Column")
            .into_iter()
            .collect();
        for (name, columns) in tables {
            for column in &columns {
                if !validated.contains(&(name.clone(), column.name.clone()))
                    && !validated.is_empty()
                {
                    self.warn(
                        "ICE03",
                        &name,
                        None,
                        format!("column {} has no _Validation entry", column.name),
                    );
                }
            }
            let table = self.rows(&name);
            for row in &table.rows {
                for (column, value) in columns.iter().zip(row) {
                    if !column.is_valid_value(value) {
                        self.error(
                            "ICE03",
                            &name,
                            Some(key_of(&table, row)),
                            format!("{}: {}", column.name, why_invalid(column, value)),
                        );
                    }
                }
            }
        }
    }

    /// ICE03 (foreign keys): references between the tables we know.
    pub(super) fn foreign_keys(&mut self) {
        let known = [
            &schema::COMPONENT,
            &schema::CREATE_FOLDER,
            &schema::DIRECTORY,
            &schema::FEATURE,
            &schema::FEATURE_COMPONENTS,
            &schema::FILE,
            &schema::REGISTRY,
            &schema::SERVICE_CONTROL,
            &schema::SERVICE_INSTALL,
            &schema::APP_SEARCH,
            &schema::WINRELEASE_SETTINGS,
        ];
        for def in known {
            if !self.pkg.has_table(def.name) {
                continue;
            }
            for column in def.columns {
                let (Some(key_tables), Some(key_column)) = (column.key_table, column.key_column)
                else {
                    continue;
                };
                if def.name == "File" && column.name == "Version" {
                    continue; // companion-file reference, usually a version string
                }
                let mut targets: HashSet<String> = HashSet::new();
                for target in key_tables.split(';') {
                    for row in &self.rows(target).rows {
                        let cell = row.get(key_column as usize - 1).and_then(Value::as_str);
                        if let Some(value) = cell {
                            targets.insert(value.to_string());
                        }
                    }
                }
                let table = self.rows(def.name);
                if table.column_index(column.name).is_none() {
                    continue;
                }
                for row in &table.rows {
                    if let Some(value) = table.text(row, column.name) {
                        if !targets.contains(value) {
                            self.error(
                                "ICE03",
                                def.name,
                                Some(key_of(&table, row)),
                                format!("{} {value:?} does not exist in {key_tables}", column.name),
                            );
                        }
                    }
                }
            }
        }
    }
}
