//! An MSI lint: the rules this project's packages must meet (per-machine x64, codepage 1252,
//! upgrade and downgrade handling, Group Policy readiness) plus the classic ICE checks that make
//! sense on Linux (column values, foreign keys, key paths, duplicate GUIDs, 64-bit components,
//! custom action scheduling, sequence order).
//!
//! It reads any MSI with the `msi` crate, so it also judges packages built by other tools.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::Path;

use msi::{Row, Select, Value};

use crate::error::MsiError;
use crate::schema;

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

type Pkg = msi::Package<File>;

struct Linter {
    pkg: Pkg,
    findings: Vec<Finding>,
    cache: HashMap<String, Vec<Row>>,
}

/// Lints the MSI at `path`. Returns the findings, errors first; an empty list means clean.
/// Fails only when the file cannot be read as an MSI at all.
pub fn lint(path: &Path) -> Result<Vec<Finding>, MsiError> {
    let read_err = |source| MsiError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let pkg = msi::Package::open(file).map_err(read_err)?;
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
    Ok(findings)
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

fn int(value: &Value) -> Option<i32> {
    value.as_int()
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Int(v) => v.to_string(),
        Value::Str(s) => s.clone(),
        Value::Binary => "[binary]".into(),
    }
}

fn is_guid(text: &str) -> bool {
    msi::Category::Guid.validate(text)
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
        self.rows(table)
            .iter()
            .filter_map(|r| Some((text(&r[a])?.to_string(), text(&r[b])?.to_string())))
            .collect()
    }

    fn rows(&mut self, table: &str) -> Vec<Row> {
        if !self.pkg.has_table(table) {
            return Vec::new();
        }
        if !self.cache.contains_key(table) {
            let rows = match self.pkg.select_rows(Select::table(table)) {
                Ok(rows) => rows.collect(),
                Err(e) => {
                    self.error("ICE03", table, None, format!("table cannot be read: {e}"));
                    Vec::new()
                }
            };
            self.cache.insert(table.to_string(), rows);
        }
        self.cache[table].clone()
    }

    fn property_map(&mut self) -> BTreeMap<String, String> {
        self.rows("Property")
            .iter()
            .filter_map(|r| {
                Some((
                    text(&r["Property"])?.to_string(),
                    text(&r["Value"]).unwrap_or("").to_string(),
                ))
            })
            .collect()
    }

    /// `action → (condition, sequence)` of a sequence table.
    fn sequence(&mut self, table: &str) -> BTreeMap<String, (Option<String>, Option<i32>)> {
        self.rows(table)
            .iter()
            .filter_map(|r| {
                Some((
                    text(&r["Action"])?.to_string(),
                    (
                        text(&r["Condition"]).map(str::to_string),
                        int(&r["Sequence"]),
                    ),
                ))
            })
            .collect()
    }

    fn key_of(row: &Row) -> String {
        let keys: Vec<String> = row
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_primary_key())
            .map(|(i, _)| show(&row[i]))
            .collect();
        keys.join("/")
    }

    fn summary(&mut self) {
        const T: &str = "Summary";
        let codepage = self.pkg.database_codepage().id();
        if codepage == 65001 {
            self.error(
                "WR-CODEPAGE",
                "_StringPool",
                None,
                "database codepage is UTF-8 (65001), which Windows Installer rejects; use 1252",
            );
        } else if codepage != 1252 {
            self.warn(
                "WR-CODEPAGE",
                "_StringPool",
                None,
                format!("database codepage is {codepage}, not 1252"),
            );
        }
        let info = self.pkg.summary_info();
        let summary_codepage = info.codepage().id();
        let arch = info.arch().map(str::to_string);
        let languages = info.languages();
        let page_count = info.page_count();
        let word_count = info.word_count();
        let uuid = info.uuid();
        if summary_codepage == 65001 {
            self.error(
                "WR-CODEPAGE",
                T,
                None,
                "summary information codepage is UTF-8 (65001); use 1252",
            );
        } else if summary_codepage != 1252 {
            self.warn(
                "WR-CODEPAGE",
                T,
                None,
                format!("summary information codepage is {summary_codepage}, not 1252"),
            );
        }
        match arch.as_deref() {
            Some("x64") => {}
            other => self.error(
                "WR-TEMPLATE",
                T,
                None,
                format!(
                    "Template platform is {:?}; a per-machine x64 package needs \"x64;<language>\"",
                    other.unwrap_or("")
                ),
            ),
        }
        if languages.is_empty() {
            self.error(
                "WR-TEMPLATE",
                T,
                None,
                "Template names no language (e.g. \"x64;1033\")",
            );
        }
        let needs_500 = [
            "MsiServiceConfig",
            "MsiServiceConfigFailureActions",
            "MsiLockPermissionsEx",
        ]
        .iter()
        .any(|t| self.pkg.has_table(t));
        let minimum = if needs_500 { 500 } else { 200 };
        match page_count {
            Some(count) if count >= minimum => {}
            other => self.error(
                "WR-TEMPLATE",
                T,
                None,
                format!(
                    "Page Count (schema) is {}; x64 packages need at least 200, and 500 when MSI 5.0 tables are used",
                    other.map_or("missing".to_string(), |c| c.to_string())
                ),
            ),
        }
        match word_count {
            Some(words) if words & 1 != 0 => self.warn(
                "WR-TEMPLATE",
                T,
                None,
                "Word Count says short file names only; long names are expected",
            ),
            Some(_) => {}
            None => self.error(
                "WR-TEMPLATE",
                T,
                None,
                "Word Count (source image type) is missing",
            ),
        }
        if uuid.is_none() {
            self.error(
                "WR-PACKAGECODE",
                T,
                None,
                "Revision Number (PackageCode) is missing or not a GUID",
            );
        }
    }

    fn properties(&mut self) {
        const T: &str = "Property";
        let props = self.property_map();
        for name in [
            "ProductCode",
            "ProductVersion",
            "ProductLanguage",
            "Manufacturer",
            "ProductName",
            "UpgradeCode",
        ] {
            if !props.contains_key(name) {
                self.error(
                    "ICE24",
                    T,
                    Some(name.into()),
                    format!("required property {name} is missing"),
                );
            }
        }
        for name in ["ProductCode", "UpgradeCode"] {
            if let Some(value) = props.get(name) {
                if !is_guid(value) {
                    self.error(
                        "ICE24",
                        T,
                        Some(name.into()),
                        format!("{name} {value:?} is not an upper-case braced GUID"),
                    );
                }
            }
        }
        if let Some(version) = props.get("ProductVersion") {
            let fields: Vec<&str> = version.split('.').collect();
            let limits = [255u32, 255, 65535, 65535];
            let ok = (2..=4).contains(&fields.len())
                && fields.iter().zip(limits).all(|(f, max)| {
                    !f.is_empty()
                        && f.bytes().all(|b| b.is_ascii_digit())
                        && f.parse::<u32>().is_ok_and(|v| v <= max)
                });
            if !ok {
                self.error(
                    "ICE24",
                    T,
                    Some("ProductVersion".into()),
                    format!("ProductVersion {version:?} is not major.minor.build (255.255.65535)"),
                );
            }
        }
        if let Some(language) = props.get("ProductLanguage") {
            if language.parse::<u16>().is_err() {
                self.error(
                    "ICE24",
                    T,
                    Some("ProductLanguage".into()),
                    format!("ProductLanguage {language:?} is not a language id"),
                );
            }
        }
        if let Some(name) = props.get("ProductName") {
            if name.chars().count() > 63 {
                self.error(
                    "ICE16",
                    T,
                    Some("ProductName".into()),
                    "ProductName is longer than 63 characters",
                );
            }
        }
        if props.get("ALLUSERS").map(String::as_str) != Some("1") {
            self.error(
                "WR-ALLUSERS",
                T,
                Some("ALLUSERS".into()),
                format!(
                    "ALLUSERS is {:?}; a per-machine package (Group Policy computer assignment) needs ALLUSERS=1",
                    props.get("ALLUSERS").map_or("unset", String::as_str)
                ),
            );
        }
        let reboot_actions: Vec<String> = ["ScheduleReboot", "ForceReboot"]
            .iter()
            .filter(|a| self.sequence("InstallExecuteSequence").contains_key(**a))
            .map(|a| a.to_string())
            .collect();
        if props.get("REBOOT").map(String::as_str) != Some("ReallySuppress")
            && !reboot_actions.is_empty()
        {
            self.error(
                "WR-REBOOT",
                "InstallExecuteSequence",
                Some(reboot_actions.join(",")),
                "the package schedules a reboot; silent Group Policy installs must not reboot (remove it or set REBOOT=ReallySuppress)",
            );
        }
        if props.get("MSIRESTARTMANAGERCONTROL").map(String::as_str) != Some("Disable")
            && self.pkg.has_table("ServiceInstall")
        {
            self.warn(
                "WR-RESTART-MANAGER",
                T,
                Some("MSIRESTARTMANAGERCONTROL".into()),
                "Restart Manager is not disabled; it may prompt or stop unrelated processes during a silent service upgrade",
            );
        }
    }

    /// ICE03: every value fits its column (type, nullability, length, range, category, set), using
    /// the package's `_Validation` table as the `msi` crate exposes it.
    fn column_values(&mut self) {
        let tables: Vec<msi::Table> = self
            .pkg
            .tables()
            .filter(|t| !t.name().starts_with('_'))
            .cloned()
            .collect();
        let validated: HashSet<(String, String)> = self
            .text_pairs("_Validation", "Table", "Column")
            .into_iter()
            .collect();
        for table in tables {
            let name = table.name().to_string();
            for column in table.columns() {
                if !validated.contains(&(name.clone(), column.name().to_string()))
                    && !validated.is_empty()
                {
                    self.warn(
                        "ICE03",
                        &name,
                        None,
                        format!("column {} has no _Validation entry", column.name()),
                    );
                }
            }
            for row in self.rows(&name) {
                for (i, column) in table.columns().iter().enumerate() {
                    let value = &row[i];
                    if !column.is_valid_value(value) {
                        let why = if value.is_null() {
                            "is null but the column is not nullable".to_string()
                        } else {
                            format!(
                                "value {:?} does not fit the column definition ({}{})",
                                show(value),
                                column.coltype(),
                                column
                                    .category()
                                    .map(|c| format!(", {c}"))
                                    .unwrap_or_default()
                            )
                        };
                        self.error(
                            "ICE03",
                            &name,
                            Some(Self::key_of(&row)),
                            format!("{}: {why}", column.name()),
                        );
                    }
                }
            }
        }
    }

    /// ICE03 (foreign keys): references between the tables we know.
    fn foreign_keys(&mut self) {
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
                    for row in self.rows(target) {
                        if let Some(value) = text(&row[key_column as usize - 1]) {
                            targets.insert(value.to_string());
                        }
                    }
                }
                for row in self.rows(def.name) {
                    if !row.has_column(column.name) {
                        continue;
                    }
                    if let Some(value) = text(&row[column.name]) {
                        if !targets.contains(value) {
                            self.error(
                                "ICE03",
                                def.name,
                                Some(Self::key_of(&row)),
                                format!("{} {value:?} does not exist in {key_tables}", column.name),
                            );
                        }
                    }
                }
            }
        }
    }

    /// ICE05/ICE03-like: TARGETDIR is the single root and every directory reaches it.
    fn directories(&mut self) {
        const T: &str = "Directory";
        let rows = self.rows(T);
        let parents: HashMap<String, Option<String>> = rows
            .iter()
            .filter_map(|r| {
                Some((
                    text(&r["Directory"])?.to_string(),
                    text(&r["Directory_Parent"]).map(str::to_string),
                ))
            })
            .collect();
        match parents.get("TARGETDIR") {
            Some(None) => {}
            Some(Some(_)) => self.error(
                "ICE05",
                T,
                Some("TARGETDIR".into()),
                "TARGETDIR must be the root (no parent)",
            ),
            None => self.error(
                "ICE05",
                T,
                Some("TARGETDIR".into()),
                "the Directory table has no TARGETDIR row",
            ),
        }
        let mut names: Vec<&String> = parents.keys().collect();
        names.sort();
        for name in names {
            let mut seen = HashSet::new();
            let mut current = name.clone();
            loop {
                if !seen.insert(current.clone()) {
                    self.error(
                        "WR-DIRECTORY-TREE",
                        T,
                        Some(name.clone()),
                        "the parent chain loops",
                    );
                    break;
                }
                match parents.get(&current) {
                    Some(Some(parent)) if parent == &current => {
                        break; // a self-parented root: Windows treats it like a root
                    }
                    Some(Some(parent)) => current = parent.clone(),
                    Some(None) => {
                        if current != "TARGETDIR" {
                            self.warn(
                                "WR-DIRECTORY-TREE",
                                T,
                                Some(name.clone()),
                                format!("root {current:?} is not TARGETDIR"),
                            );
                        }
                        break;
                    }
                    None => break, // dangling parent: reported by the foreign key check
                }
            }
        }
    }

    fn directory_chain(parents: &HashMap<String, Option<String>>, start: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = Some(start.to_string());
        while let Some(dir) = current {
            if chain.contains(&dir) {
                break;
            }
            current = parents.get(&dir).cloned().flatten();
            chain.push(dir);
        }
        chain
    }

    /// ICE08 (duplicate GUIDs), ICE18/ICE21 (key paths, feature membership), ICE80 (bitness).
    fn components(&mut self) {
        const T: &str = "Component";
        let components = self.rows(T);
        let files: HashMap<String, String> = self
            .text_pairs("File", "File", "Component_")
            .into_iter()
            .collect();
        let registry: HashMap<String, String> = self
            .text_pairs("Registry", "Registry", "Component_")
            .into_iter()
            .collect();
        let create_folders: HashSet<(String, String)> = self
            .text_pairs("CreateFolder", "Directory_", "Component_")
            .into_iter()
            .collect();
        let in_feature: HashSet<String> = self
            .rows("FeatureComponents")
            .iter()
            .filter_map(|r| text(&r["Component_"]).map(str::to_string))
            .collect();
        let parents: HashMap<String, Option<String>> = self
            .rows("Directory")
            .iter()
            .filter_map(|r| {
                Some((
                    text(&r["Directory"])?.to_string(),
                    text(&r["Directory_Parent"]).map(str::to_string),
                ))
            })
            .collect();
        let x64 = self.pkg.summary_info().arch() == Some("x64");

        let mut guids: BTreeMap<String, String> = BTreeMap::new();
        for row in &components {
            let Some(key) = text(&row["Component"]).map(str::to_string) else {
                continue;
            };
            let attributes = int(&row["Attributes"]).unwrap_or(0);
            if let Some(guid) = text(&row["ComponentId"]) {
                if !is_guid(guid) {
                    self.error(
                        "ICE08",
                        T,
                        Some(key.clone()),
                        format!("ComponentId {guid:?} is not an upper-case braced GUID"),
                    );
                } else if let Some(other) = guids.insert(guid.to_string(), key.clone()) {
                    self.error(
                        "ICE08",
                        T,
                        Some(key.clone()),
                        format!("ComponentId {guid} is also used by component {other:?}"),
                    );
                }
            } else {
                self.warn(
                    "ICE08",
                    T,
                    Some(key.clone()),
                    "no ComponentId: Windows Installer will not track or remove this component",
                );
            }
            if !in_feature.contains(&key) {
                self.error(
                    "ICE21",
                    T,
                    Some(key.clone()),
                    "the component belongs to no feature",
                );
            }
            let directory = text(&row["Directory_"]).unwrap_or("").to_string();
            match text(&row["KeyPath"]) {
                None => {
                    if !create_folders.contains(&(directory.clone(), key.clone())) {
                        self.error(
                            "ICE18",
                            T,
                            Some(key.clone()),
                            format!("KeyPath is empty (the folder {directory:?} is the key path) but the component does not create that folder"),
                        );
                    }
                }
                Some(key_path) => {
                    // Attribute 0x4 = registry key path, 0x20 = ODBC data source.
                    let (owner, kind) = if attributes & 0x4 != 0 {
                        (registry.get(key_path), "Registry")
                    } else if attributes & 0x20 != 0 {
                        (None, "ODBCDataSource")
                    } else {
                        (files.get(key_path), "File")
                    };
                    match owner {
                        Some(owner) if owner == &key => {}
                        Some(owner) => self.error(
                            "ICE18",
                            T,
                            Some(key.clone()),
                            format!("KeyPath {key_path:?} belongs to component {owner:?}, not to this one"),
                        ),
                        None if kind == "ODBCDataSource" => {}
                        None => self.error("ICE18", T, Some(key.clone()), format!("KeyPath {key_path:?} is not in the {kind} table")),
                    }
                }
            }
            let chain = Self::directory_chain(&parents, &directory);
            let has = |names: &[&str]| chain.iter().any(|d| names.contains(&d.as_str()));
            let is_64 = attributes & 0x100 != 0;
            if is_64 && has(&["ProgramFilesFolder", "CommonFilesFolder", "SystemFolder"]) {
                self.error(
                    "ICE80",
                    T,
                    Some(key.clone()),
                    "64-bit component installed under a 32-bit folder",
                );
            }
            if !is_64
                && has(&[
                    "ProgramFiles64Folder",
                    "CommonFiles64Folder",
                    "System64Folder",
                ])
            {
                self.error(
                    "ICE80",
                    T,
                    Some(key.clone()),
                    "32-bit component installed under a 64-bit folder (set attribute 0x100)",
                );
            }
            if !is_64 && x64 {
                self.warn("ICE80", T, Some(key.clone()), "32-bit component in an x64 package: it is installed to the 32-bit registry view");
            }
        }
    }

    /// ICE30: two files installed to the same path.
    fn duplicate_targets(&mut self) {
        let component_dirs: HashMap<String, String> = self
            .text_pairs("Component", "Component", "Directory_")
            .into_iter()
            .collect();
        let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
        for row in self.rows("File") {
            let (Some(key), Some(component), Some(name)) = (
                text(&row["File"]),
                text(&row["Component_"]),
                text(&row["FileName"]),
            ) else {
                continue;
            };
            let Some(dir) = component_dirs.get(component) else {
                continue;
            };
            let long = name.rsplit('|').next().unwrap_or(name).to_uppercase();
            if let Some(other) = seen.insert((dir.clone(), long), key.to_string()) {
                self.error(
                    "ICE30",
                    "File",
                    Some(key.to_string()),
                    format!("installs to the same path as file {other:?} in directory {dir:?}"),
                );
            }
        }
    }

    fn media(&mut self) {
        let media = self.rows("Media");
        let last = media
            .iter()
            .filter_map(|r| int(&r["LastSequence"]))
            .max()
            .unwrap_or(0);
        for row in &media {
            if let Some(cabinet) = text(&row["Cabinet"]) {
                if let Some(stream) = cabinet.strip_prefix('#') {
                    if !self.pkg.has_stream(stream) {
                        self.error(
                            "WR-MEDIA",
                            "Media",
                            Some(Self::key_of(row)),
                            format!("embedded cabinet stream {stream:?} is missing"),
                        );
                    }
                }
            }
        }
        for row in self.rows("File") {
            if let Some(sequence) = int(&row["Sequence"]) {
                if sequence > last {
                    self.error(
                        "WR-MEDIA",
                        "File",
                        Some(Self::key_of(&row)),
                        format!(
                            "Sequence {sequence} is beyond the last Media.LastSequence ({last})"
                        ),
                    );
                }
            }
        }
    }

    fn custom_action_types(&mut self) -> HashMap<String, i32> {
        self.rows("CustomAction")
            .iter()
            .filter_map(|r| Some((text(&r["Action"])?.to_string(), int(&r["Type"])?)))
            .collect()
    }

    /// ICE27-like ordering, the standard actions of the admin and advertise sequences,
    /// RemoveExistingProducts placement.
    fn sequences(&mut self) {
        let execute = self.sequence("InstallExecuteSequence");
        const T: &str = "InstallExecuteSequence";
        if execute.is_empty() {
            self.error(
                "ICE27",
                T,
                None,
                "InstallExecuteSequence is empty or missing",
            );
        }
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let ordered = [
            "CostInitialize",
            "FileCost",
            "CostFinalize",
            "InstallValidate",
            "InstallInitialize",
            "InstallFinalize",
        ];
        self.check_order(T, &execute, &ordered, true);
        let (init, finalize) = (seq("InstallInitialize"), seq("InstallFinalize"));
        let in_script = [
            "ProcessComponents",
            "UnpublishFeatures",
            "StopServices",
            "DeleteServices",
            "RemoveRegistryValues",
            "RemoveFiles",
            "RemoveFolders",
            "CreateFolders",
            "InstallFiles",
            "WriteRegistryValues",
            "InstallServices",
            "StartServices",
            "RegisterUser",
            "RegisterProduct",
            "PublishFeatures",
            "PublishProduct",
        ];
        if let (Some(init), Some(finalize)) = (init, finalize) {
            for action in in_script {
                if let Some(s) = seq(action) {
                    if s <= init || s >= finalize {
                        self.error("ICE27", T, Some(action.into()), format!("{action} ({s}) must run between InstallInitialize ({init}) and InstallFinalize ({finalize})"));
                    }
                }
            }
        }
        for (before, after) in [
            ("FindRelatedProducts", "MigrateFeatureStates"),
            ("FindRelatedProducts", "RemoveExistingProducts"),
            ("StopServices", "DeleteServices"),
            ("DeleteServices", "InstallServices"),
            ("RemoveFiles", "InstallFiles"),
            ("InstallFiles", "InstallServices"),
            ("InstallServices", "StartServices"),
            ("InstallFiles", "StartServices"),
        ] {
            if let (Some(a), Some(b)) = (seq(before), seq(after)) {
                if a >= b {
                    self.error(
                        "ICE27",
                        T,
                        Some(after.into()),
                        format!("{after} ({b}) must come after {before} ({a})"),
                    );
                }
            }
        }

        // RemoveExistingProducts: inside the install transaction.
        match (seq("RemoveExistingProducts"), init, finalize) {
            (Some(rep), _, Some(fin)) if rep > fin => self.error(
                "WR-REP",
                T,
                Some("RemoveExistingProducts".into()),
                format!(
                    "RemoveExistingProducts ({rep}) runs after InstallFinalize ({fin}): the old version is removed only after the \
                     new one is committed, so a failed removal leaves both installed and downgrade checks can be bypassed; \
                     schedule it right after InstallInitialize"
                ),
            ),
            (Some(rep), Some(init), _) if rep < init => self.error(
                "WR-REP",
                T,
                Some("RemoveExistingProducts".into()),
                format!(
                    "RemoveExistingProducts ({rep}) runs before InstallInitialize ({init}): the old version is removed in its own \
                     transaction, so a failed upgrade leaves nothing installed; schedule it right after InstallInitialize"
                ),
            ),
            (None, _, _) => {
                let removes = self
                    .rows("Upgrade")
                    .iter()
                    .any(|r| int(&r["Attributes"]).unwrap_or(0) & 0x2 == 0);
                if removes {
                    self.error("WR-REP", T, None, "the Upgrade table removes older versions but RemoveExistingProducts is not sequenced");
                }
            }
            _ => {}
        }

        for table in ["InstallUISequence", "AdminUISequence"] {
            let ui = self.sequence(table);
            for action in in_script.iter().chain(&[
                "InstallValidate",
                "InstallInitialize",
                "InstallFinalize",
                "RemoveExistingProducts",
            ]) {
                if ui.contains_key(*action) {
                    self.error(
                        "ICE26",
                        table,
                        Some(action.to_string()),
                        format!(
                            "{action} changes the system and belongs only in execute sequences"
                        ),
                    );
                }
            }
            if !ui.is_empty() && !ui.contains_key("ExecuteAction") {
                self.error("ICE26", table, Some("ExecuteAction".into()), "ExecuteAction is missing, so the execute sequence never runs from this UI sequence");
            }
        }

        let admin = self.sequence("AdminExecuteSequence");
        if admin.is_empty() {
            self.error(
                "WR-ADMIN-SEQUENCE",
                "AdminExecuteSequence",
                None,
                "missing: `msiexec /a` cannot make an administrative image",
            );
        } else {
            let required = [
                "CostInitialize",
                "FileCost",
                "CostFinalize",
                "InstallValidate",
                "InstallInitialize",
                "InstallAdminPackage",
                "InstallFiles",
                "InstallFinalize",
            ];
            self.check_order("AdminExecuteSequence", &admin, &required, true);
        }
        let advt = self.sequence("AdvtExecuteSequence");
        if advt.is_empty() {
            self.error(
                "WR-ADVT-SEQUENCE",
                "AdvtExecuteSequence",
                None,
                "missing: the package cannot be assigned or advertised",
            );
        } else {
            let required = [
                "CostInitialize",
                "CostFinalize",
                "InstallValidate",
                "InstallInitialize",
                "PublishFeatures",
                "PublishProduct",
                "InstallFinalize",
            ];
            self.check_order("AdvtExecuteSequence", &advt, &required, true);
            let types = self.custom_action_types();
            for action in advt.keys() {
                if let Some(kind) = types.get(action) {
                    if ![19, 35, 51].contains(&(kind & 0x3F)) {
                        self.error("ICE72", "AdvtExecuteSequence", Some(action.clone()), format!("custom action type {kind} is not allowed here (only 19, 35 and 51)"));
                    }
                }
            }
        }
    }

    /// Checks that `actions` are all present (when `required`) and in this order.
    fn check_order(
        &mut self,
        table: &'static str,
        sequence: &BTreeMap<String, (Option<String>, Option<i32>)>,
        actions: &[&str],
        required: bool,
    ) {
        let rule = match table {
            "AdminExecuteSequence" => "WR-ADMIN-SEQUENCE",
            "AdvtExecuteSequence" => "WR-ADVT-SEQUENCE",
            _ => "ICE27",
        };
        let mut previous: Option<(&str, i32)> = None;
        for action in actions {
            match sequence.get(*action).and_then(|(_, s)| *s) {
                Some(s) => {
                    if let Some((prev, ps)) = previous {
                        if s <= ps {
                            self.error(
                                rule,
                                table,
                                Some(action.to_string()),
                                format!("{action} ({s}) must come after {prev} ({ps})"),
                            );
                        }
                    }
                    previous = Some((action, s));
                }
                None if required => self.error(
                    rule,
                    table,
                    Some(action.to_string()),
                    format!("standard action {action} is missing"),
                ),
                None => {}
            }
        }
    }

    /// ICE77: deferred custom actions only inside the script; impersonation warning.
    fn custom_actions(&mut self) {
        let types = self.custom_action_types();
        const BASE_TYPES: [i32; 20] = [
            1, 2, 5, 6, 7, 17, 18, 19, 21, 22, 23, 34, 35, 37, 38, 39, 50, 51, 53, 54,
        ];
        let mut names: Vec<&String> = types.keys().collect();
        names.sort();
        for action in names {
            let kind = types[action];
            if !BASE_TYPES.contains(&(kind & 0x3F)) {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind} has no valid base type ({})", kind & 0x3F),
                );
            }
            if kind & 0x300 != 0 && kind & 0x400 == 0 {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind}: rollback/commit actions must be in-script (0x400)"),
                );
            }
            if kind & 0x800 != 0 && kind & 0x400 == 0 {
                self.error(
                    "ICE68",
                    "CustomAction",
                    Some(action.clone()),
                    format!("type {kind}: no-impersonate (0x800) only applies to deferred actions"),
                );
            }
        }
        let execute = self.sequence("InstallExecuteSequence");
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let (init, finalize) = (seq("InstallInitialize"), seq("InstallFinalize"));
        for (action, (_, sequence)) in &execute {
            let Some(kind) = types.get(action) else {
                continue;
            };
            let Some(sequence) = sequence else { continue };
            if kind & 0x400 != 0 {
                let inside = matches!((init, finalize), (Some(i), Some(f)) if *sequence > i && *sequence < f);
                if !inside {
                    self.error(
                        "ICE77",
                        "InstallExecuteSequence",
                        Some(action.clone()),
                        format!("deferred custom action (type {kind}) at {sequence} must be between InstallInitialize and InstallFinalize"),
                    );
                }
                if kind & 0x800 == 0 && kind & 0x3F != 51 && kind & 0x3F != 19 {
                    self.warn(
                        "WR-CA-IMPERSONATE",
                        "CustomAction",
                        Some(action.clone()),
                        "deferred custom action runs impersonated; machine changes should use no-impersonate (0x800)",
                    );
                }
            }
        }
        for table in [
            "InstallUISequence",
            "AdminUISequence",
            "AdvtExecuteSequence",
        ] {
            for action in self.sequence(table).keys() {
                if types.get(action).is_some_and(|k| k & 0x400 != 0) {
                    self.error(
                        "ICE77",
                        table,
                        Some(action.clone()),
                        "deferred custom actions belong only in execute sequences",
                    );
                }
            }
        }
    }

    /// Downgrade detection and refusal; ICE61 (upgrade action properties).
    fn upgrades(&mut self) {
        const T: &str = "Upgrade";
        let props = self.property_map();
        let upgrade_rows = self.rows(T);
        let execute = self.sequence("InstallExecuteSequence");
        let secure: BTreeSet<String> = props
            .get("SecureCustomProperties")
            .map(|s| s.split(';').map(str::to_string).collect())
            .unwrap_or_default();
        let product_upgrade_code = props.get("UpgradeCode").cloned();
        let product_version = props.get("ProductVersion").cloned();
        let mut downgrade_properties = Vec::new();
        for row in &upgrade_rows {
            let key = Self::key_of(row);
            let attributes = int(&row["Attributes"]).unwrap_or(0);
            let property = text(&row["ActionProperty"]).unwrap_or("").to_string();
            if property.chars().any(|c| c.is_ascii_lowercase()) {
                self.error(
                    "ICE61",
                    T,
                    Some(key.clone()),
                    format!("ActionProperty {property:?} must be upper case (public)"),
                );
            }
            if !secure.contains(&property) {
                self.error("ICE61", T, Some(key.clone()), format!("ActionProperty {property} is not listed in SecureCustomProperties, so managed installs cannot see it"));
            }
            if let (Some(code), Some(ours)) = (text(&row["UpgradeCode"]), &product_upgrade_code) {
                if code != ours {
                    self.warn(
                        T,
                        T,
                        Some(key.clone()),
                        format!(
                            "row for UpgradeCode {code}, but the product's UpgradeCode is {ours}"
                        ),
                    );
                }
            }
            let min = text(&row["VersionMin"]);
            let max = text(&row["VersionMax"]);
            if attributes & 0x2 != 0
                && max.is_none()
                && min.is_some()
                && min == product_version.as_deref()
                && attributes & 0x100 == 0
            {
                downgrade_properties.push(property);
            }
        }
        if downgrade_properties.is_empty() {
            self.error(
                "WR-DOWNGRADE",
                T,
                None,
                "no Upgrade row detects newer versions (VersionMin = ProductVersion exclusive, no maximum, OnlyDetect); \
                 downgrades would be installed side by side",
            );
            return;
        }
        let types = self.custom_action_types();
        let conditions: Vec<String> = self
            .rows("LaunchCondition")
            .iter()
            .filter_map(|r| text(&r["Condition"]).map(str::to_string))
            .collect();
        let seq = |name: &str| execute.get(name).and_then(|(_, s)| *s);
        let refused = downgrade_properties.iter().any(|property| {
            let by_launch_condition = conditions.iter().any(|c| c.contains(property.as_str()))
                && matches!((seq("FindRelatedProducts"), seq("LaunchConditions")), (Some(f), Some(l)) if f < l);
            let by_error_action = execute.iter().any(|(action, (condition, _))| {
                types.get(action).is_some_and(|k| k & 0x3F == 19) && condition.as_deref().is_some_and(|c| c.contains(property.as_str()))
            });
            by_launch_condition || by_error_action
        });
        if !refused {
            self.error(
                "WR-DOWNGRADE",
                T,
                None,
                format!(
                    "newer versions are detected ({}) but nothing refuses the install: add a LaunchCondition on it (with \
                     FindRelatedProducts before LaunchConditions) or a type-19 error custom action",
                    downgrade_properties.join(", ")
                ),
            );
        }
    }

    fn services(&mut self) {
        let controls: Vec<(String, i32)> = self
            .rows("ServiceControl")
            .iter()
            .filter_map(|r| Some((text(&r["Name"])?.to_string(), int(&r["Event"])?)))
            .collect();
        for row in self.rows("ServiceInstall") {
            let Some(name) = text(&row["Name"]).map(str::to_string) else {
                continue;
            };
            let events = controls
                .iter()
                .filter(|(n, _)| n == &name)
                .fold(0, |acc, (_, e)| acc | e);
            let key = Some(Self::key_of(&row));
            if events & 0x80 == 0 {
                self.warn(
                    "WR-SERVICE",
                    "ServiceControl",
                    key.clone(),
                    format!(
                        "service {name:?} is not deleted on uninstall (ServiceControl event 0x80)"
                    ),
                );
            }
            if events & 0x2 == 0 {
                self.warn("WR-SERVICE", "ServiceControl", key.clone(), format!("service {name:?} is not stopped on install (event 0x2): upgrades may need a reboot"));
            }
            if events & 0x20 == 0 {
                self.warn(
                    "WR-SERVICE",
                    "ServiceControl",
                    key,
                    format!("service {name:?} is not stopped on uninstall (event 0x20)"),
                );
            }
        }
    }
}
