//! What a transform needs to know about its base package: identity, summary facts, the
//! Property table and the declared site settings; and whole tables for checks.
//!
//! Invariant: packages are read only through [`crate::read`]; nothing here writes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::error::read_err;
use super::{SiteSetting, TransformError};
use crate::model::PropertyKind;
use crate::properties::SETTINGS_TABLE;
use crate::read::summary::pid;
use crate::read::{Package, Storage, Table};

/// What a transform needs to know about a package: identity, summary facts and Property table.
#[derive(Clone, Debug)]
pub struct PackageFacts {
    /// The file.
    pub path: PathBuf,
    /// ProductCode property.
    pub product_code: String,
    /// ProductVersion property.
    pub product_version: String,
    /// UpgradeCode property (empty when missing).
    pub upgrade_code: String,
    /// ProductLanguage property (0 when missing or not a number).
    pub language: u16,
    /// Summary Template platform (`x64`, `Intel`, ...; empty when platform-neutral).
    pub platform: String,
    /// Summary Page Count (schema), when present.
    pub page_count: Option<i32>,
    /// Summary create time (raw FILETIME), when present.
    pub created: Option<u64>,
    /// Summary last-save time (raw FILETIME), when present.
    pub saved: Option<u64>,
    /// Database codepage.
    pub codepage: u32,
    /// ProductName property.
    pub product_name: String,
    /// Manufacturer property.
    pub manufacturer: String,
    /// The whole Property table.
    pub properties: BTreeMap<String, String>,
    /// The `WinreleaseSettings` rows, when the table exists.
    pub settings: Option<Vec<SiteSetting>>,
}

/// Opens the package at `path` with [`crate::read`].
pub(super) fn open_package(path: &Path) -> Result<Package, TransformError> {
    let file = File::open(path).map_err(read_err(path))?;
    Storage::from_file(file)
        .and_then(Package::from_storage)
        .map_err(|e| TransformError::Read {
            path: path.to_path_buf(),
            source: io::Error::new(e.kind(), format!("not a readable MSI package ({e})")),
        })
}

/// Reads table `name` of an open package, rows sorted by primary key (`None` when the package
/// has no such table).
pub(super) fn load_table(pkg: &mut Package, name: &str) -> io::Result<Option<Table>> {
    let mut table = pkg.table(name)?;
    if let Some(table) = &mut table {
        table.sort_by_key();
    }
    Ok(table)
}

fn kind_from_name(name: &str) -> Option<PropertyKind> {
    match name {
        "text" => Some(PropertyKind::Text),
        "port" => Some(PropertyKind::Port),
        "integer" => Some(PropertyKind::Integer),
        _ => None,
    }
}

/// The Property table as a map (rows without a name left out, null values empty).
fn property_map(pkg: &mut Package, msi: &Path) -> Result<BTreeMap<String, String>, TransformError> {
    let Some(table) = pkg.table("Property").map_err(read_err(msi))? else {
        return Ok(BTreeMap::new());
    };
    Ok(table
        .rows
        .iter()
        .filter_map(|row| {
            let name = row[0].as_str()?;
            Some((
                name.to_string(),
                row[1].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}

/// The `WinreleaseSettings` rows, sorted by property (`None` without the table).
fn declared_settings(
    pkg: &mut Package,
    msi: &Path,
    properties: &BTreeMap<String, String>,
) -> Result<Option<Vec<SiteSetting>>, TransformError> {
    let Some(table) = pkg.table(SETTINGS_TABLE).map_err(read_err(msi))? else {
        return Ok(None);
    };
    let bad = |reason: String| TransformError::BadPackage {
        path: msi.to_path_buf(),
        reason,
    };
    let mut settings = Vec::new();
    for row in &table.rows {
        let property = row[0].as_str().unwrap_or_default().to_string();
        let kind_name = row[1].as_str().unwrap_or_default();
        let kind = kind_from_name(kind_name).ok_or_else(|| bad(format!(
            "WinreleaseSettings row {property:?} has the unknown kind {kind_name:?} (text, port or integer)"
        )))?;
        let default = properties.get(&property).cloned().ok_or_else(|| {
            bad(format!(
            "WinreleaseSettings declares {property}, which has no Property table row (no default)"
        ))
        })?;
        settings.push(SiteSetting {
            property,
            kind,
            default,
        });
    }
    settings.sort_by(|a, b| a.property.cmp(&b.property));
    Ok(Some(settings))
}

/// Reads the facts of the package at `msi`.
pub fn read_package_facts(msi: &Path) -> Result<PackageFacts, TransformError> {
    let mut pkg = open_package(msi)?;
    let properties = property_map(&mut pkg, msi)?;
    let settings = declared_settings(&mut pkg, msi, &properties)?;
    let info = pkg.summary();
    let prop = |name: &str| properties.get(name).cloned().unwrap_or_default();
    Ok(PackageFacts {
        path: msi.to_path_buf(),
        product_code: prop("ProductCode"),
        product_version: prop("ProductVersion"),
        upgrade_code: prop("UpgradeCode"),
        language: prop("ProductLanguage").parse().unwrap_or(0),
        platform: info
            .text(pid::TEMPLATE)
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string(),
        page_count: info.int(pid::PAGE_COUNT),
        created: info.filetime(pid::CREATE_TIME),
        saved: info.filetime(pid::LAST_SAVE_TIME),
        codepage: pkg.codepage(),
        product_name: prop("ProductName"),
        manufacturer: prop("Manufacturer"),
        settings,
        properties,
    })
}

/// The site-settable properties of the package at `msi`; [`TransformError::NotOurs`] when it
/// declares none.
pub fn site_settings(msi: &Path) -> Result<Vec<SiteSetting>, TransformError> {
    read_package_facts(msi)?
        .settings
        .ok_or_else(|| TransformError::NotOurs {
            path: msi.to_path_buf(),
        })
}

/// Reads table `name` of the package at `msi` (`None` when it has no such table).
pub fn read_table(msi: &Path, name: &str) -> Result<Option<Table>, TransformError> {
    let mut pkg = open_package(msi)?;
    load_table(&mut pkg, name).map_err(read_err(msi))
}

/// Reads the tables `names` of the package at `msi` (absent tables are left out).
pub fn read_tables(msi: &Path, names: &[&str]) -> Result<BTreeMap<String, Table>, TransformError> {
    let mut pkg = open_package(msi)?;
    let mut out = BTreeMap::new();
    for name in names {
        if let Some(table) = load_table(&mut pkg, name).map_err(read_err(msi))? {
            out.insert(name.to_string(), table);
        }
    }
    Ok(out)
}
