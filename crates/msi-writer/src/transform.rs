//! Windows Installer transforms (`.mst`) for per-site settings: a writer for the one kind of
//! transform a site needs (new values for the public properties a package declares as
//! site-settable) and a general reader that decodes any transform against its base package and
//! applies it, for checks and tests.
//!
//! # The format, as written here
//!
//! A transform is a compound file whose root storage has the class
//! {000C1082-0000-0000-C000-000000000046} (an installer package has {000C1084-…}). It holds:
//! - `\x05SummaryInformation`: Title `Transform`; Template (platform and language of the base
//!   package) and Last Saved By (the same, after the transform); Revision Number
//!   `{base ProductCode}base version;{new ProductCode}new version;{UpgradeCode}`; Page Count (the
//!   base package's schema); Character Count: validation flags in the upper 16 bits, suppressed
//!   error conditions in the lower 16 bits; Security 4; create and save times copied from the
//!   base package, so the bytes depend only on the base package and the settings.
//! - its own `_StringPool`/`_StringData` (same layout as a package's: codepage, then one
//!   `(length, reference count)` pair per string id), in the base package's codepage (1252);
//! - one stream per changed table, named like the table's stream in a package. Unlike a
//!   package's column-wise tables, it is row by row: each row is a 16-bit mask followed by cells
//!   in their stored widths (string ids into the transform's own pool, integers with the sign
//!   bit flipped, 0 = null). Mask 0 deletes the row whose key follows; a mask with the low bit
//!   set carries the first `mask >> 8` columns in full (insert); any other mask updates the
//!   columns whose bits are set (bit `i` = column `i`), the key columns always being present.
//!   A site transform is one such update per property: mask `0x0002`, the property name, the
//!   new value.
//!
//! # Validation flags
//!
//! [`TransformScope::ThisPackage`] (the default) asks Windows Installer to apply the transform
//! only to the package it was made from: same ProductCode, same UpgradeCode, same language, same
//! major.minor.build. winrelease derives a new ProductCode for every version, so Windows
//! Installer refuses a transform made for 1.2.0 when 1.3.0 is installed with it (the install
//! fails) instead of silently changing a package nobody checked it against: each release
//! publishes its own site transforms.
//! [`TransformScope::ThisAndLaterVersions`] drops the ProductCode and asks for the same
//! UpgradeCode and language and a version at least the base version, for admins who keep one
//! transform per site across upgrades; a later version that no longer declares a setting makes
//! the transform fail to apply (no error condition is suppressed), rather than pass unnoticed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use crate::cfb::{write_compound_file, Stream, StreamData};
use crate::cp1252;
use crate::database::encode_stream_name;
use crate::model::PropertyKind;
use crate::summary::{self, ReadValue};

/// Root storage class of a transform, {000C1082-0000-0000-C000-000000000046}.
pub const TRANSFORM_CLSID: &str = "000C1082-0000-0000-C000-000000000046";

/// The same class in the compound file's byte order.
const TRANSFORM_CLSID_BYTES: [u8; 16] = [
    0x82, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// Transform validation flags (`MSITRANSFORM_VALIDATE_*`), the upper word of Character Count.
pub mod validate {
    /// The package's language must match the transform's Template language.
    pub const LANGUAGE: u16 = 0x0001;
    /// The package's ProductCode must be the transform's base ProductCode.
    pub const PRODUCT: u16 = 0x0002;
    /// The platform must match (Windows Installer does not check it).
    pub const PLATFORM: u16 = 0x0004;
    /// Compare the major version only.
    pub const MAJOR_VERSION: u16 = 0x0008;
    /// Compare major.minor.
    pub const MINOR_VERSION: u16 = 0x0010;
    /// Compare major.minor.build.
    pub const UPDATE_VERSION: u16 = 0x0020;
    /// Package version < base version.
    pub const NEW_LESS_BASE_VERSION: u16 = 0x0040;
    /// Package version <= base version.
    pub const NEW_LESS_EQUAL_BASE_VERSION: u16 = 0x0080;
    /// Package version = base version.
    pub const NEW_EQUAL_BASE_VERSION: u16 = 0x0100;
    /// Package version >= base version.
    pub const NEW_GREATER_EQUAL_BASE_VERSION: u16 = 0x0200;
    /// Package version > base version.
    pub const NEW_GREATER_BASE_VERSION: u16 = 0x0400;
    /// The package's UpgradeCode must be the transform's UpgradeCode.
    pub const UPGRADE_CODE: u16 = 0x0800;
}

/// Error conditions a transform may ask to be ignored (`MSITRANSFORM_ERROR_*`), the lower word
/// of Character Count.
pub mod suppress {
    /// Adding a row that exists.
    pub const ADD_EXISTING_ROW: u16 = 0x0001;
    /// Deleting a row that does not exist.
    pub const DELETE_MISSING_ROW: u16 = 0x0002;
    /// Adding a table that exists.
    pub const ADD_EXISTING_TABLE: u16 = 0x0004;
    /// Deleting a table that does not exist.
    pub const DELETE_MISSING_TABLE: u16 = 0x0008;
    /// Updating a row that does not exist.
    pub const UPDATE_MISSING_ROW: u16 = 0x0010;
    /// The transform and the package have different codepages.
    pub const CHANGE_CODEPAGE: u16 = 0x0020;
}

/// Which packages a site transform may be applied to (its validation flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransformScope {
    /// Only the package it was made from: ProductCode, UpgradeCode, language and
    /// major.minor.build must match.
    #[default]
    ThisPackage,
    /// The package it was made from and later versions of the same product line: UpgradeCode
    /// and language must match, the version must be at least the base version.
    ThisAndLaterVersions,
}

impl TransformScope {
    /// The validation flags written for this scope.
    pub fn validation_flags(self) -> u16 {
        use validate::*;
        match self {
            TransformScope::ThisPackage => {
                LANGUAGE | PRODUCT | UPGRADE_CODE | UPDATE_VERSION | NEW_EQUAL_BASE_VERSION
            }
            TransformScope::ThisAndLaterVersions => {
                LANGUAGE | UPGRADE_CODE | UPDATE_VERSION | NEW_GREATER_EQUAL_BASE_VERSION
            }
        }
    }
}

/// Options of [`make_transform`].
#[derive(Clone, Debug, Default)]
pub struct TransformOptions {
    /// Which packages the transform applies to.
    pub scope: TransformScope,
}

/// A site-settable public property, as the package's `WinreleaseSettings` table declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteSetting {
    /// Property name (upper case).
    pub property: String,
    /// Value kind.
    pub kind: PropertyKind,
    /// The package's default value (its Property table row).
    pub default: String,
}

/// One property a site transform changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyChange {
    /// Property name.
    pub property: String,
    /// Its value kind.
    pub kind: PropertyKind,
    /// The base package's value.
    pub default: String,
    /// The value the transform sets.
    pub value: String,
}

/// A site transform, ready to be written.
#[derive(Clone, Debug)]
pub struct SiteTransform {
    /// The `.mst` file's bytes.
    pub bytes: Vec<u8>,
    /// The base package's ProductCode.
    pub product_code: String,
    /// The base package's ProductVersion.
    pub product_version: String,
    /// The base package's UpgradeCode.
    pub upgrade_code: String,
    /// Validation flags written (see [`validate`]).
    pub validation: u16,
    /// The changes, sorted by property name.
    pub changes: Vec<PropertyChange>,
}

/// Everything that can go wrong while making, reading or applying a transform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// A file cannot be read, or is not the kind of file expected.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The package has no `WinreleaseSettings` table.
    #[error("{} has no WinreleaseSettings table: it was not built by winrelease, or its project declares no \
             site_settings, so no property of it is site-settable (for other packages, make transforms with Orca \
             or msitran on Windows)", path.display())]
    NotOurs {
        /// The package.
        path: PathBuf,
    },

    /// The package contradicts itself (a declared setting without a Property row, ...).
    #[error("{}: {reason}", path.display())]
    BadPackage {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// No setting was given.
    #[error("no settings given: name at least one site setting as NAME=VALUE; this package declares {declared}")]
    NoSettings {
        /// The declared settings, for the message.
        declared: String,
    },

    /// A name the package does not declare as site-settable.
    #[error("{name:?} is not a site setting of this package{hint}; its site-settable properties are {declared}")]
    UnknownSetting {
        /// The name given.
        name: String,
        /// The declared settings, for the message.
        declared: String,
        /// A "did you mean" hint, or empty.
        hint: String,
    },

    /// The same setting given twice.
    #[error("{name} is given twice; give each setting once")]
    DuplicateSetting {
        /// The repeated name.
        name: String,
    },

    /// A value that fails its setting's kind.
    #[error("{name}={value:?}: {reason}")]
    InvalidValue {
        /// The setting.
        name: String,
        /// The value given.
        value: String,
        /// Why it is refused and what is expected.
        reason: String,
    },

    /// A transform file that cannot be decoded.
    #[error("{} is not a usable transform: {reason}", path.display())]
    BadTransform {
        /// The transform file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// Writing the transform failed; nothing is left at the output path.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Checks `value` against `kind`: a port is 1 to 65535 in plain decimal; an integer is plain
/// decimal (optional `-`) fitting 64 bits; text is non-empty, Windows-1252, without control
/// characters, and without `"` or a trailing `\`, which would break the quoted command line the
/// value is substituted into (`--set "key=[PROPERTY]"`). Returns the reason on failure.
pub fn check_value(kind: PropertyKind, value: &str) -> Result<(), String> {
    let plain_digits =
        |digits: &str| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match kind {
        PropertyKind::Port => {
            let ok = plain_digits(value)
                && !value.starts_with('0')
                && value
                    .parse::<u32>()
                    .is_ok_and(|port| (1..=65535).contains(&port));
            if !ok {
                return Err("not a port number: give a plain decimal port from 1 to 65535".into());
            }
        }
        PropertyKind::Integer => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            if !plain_digits(digits) || value.parse::<i64>().is_err() {
                return Err(
                    "not an integer: give plain decimal digits, optionally after '-' (64-bit range)"
                        .into(),
                );
            }
        }
        PropertyKind::Text => {
            if value.is_empty() {
                return Err("empty: a text setting needs a value (the package default applies when the setting is left out)".into());
            }
            if let Some(ch) = value.chars().find(|c| c.is_control()) {
                return Err(format!(
                    "contains the control character {ch:?}; use printable text on one line"
                ));
            }
            if value.contains('"') {
                return Err("contains '\"', which would end the quoted argument the value is passed in; leave it out".into());
            }
            if value.ends_with('\\') {
                return Err("ends with '\\', which would escape the closing quote of the argument the value is passed in; remove the trailing backslash".into());
            }
        }
    }
    if let Some(ch) = cp1252::first_unencodable(value) {
        return Err(format!(
            "contains {ch:?}, which Windows-1252 (the package's codepage) cannot hold; use Western European characters"
        ));
    }
    if value.len() > 0xFFFF {
        return Err("longer than 65,535 bytes, the longest string a transform holds".into());
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------ //
// The base package

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

fn read_err(path: &Path) -> impl Fn(io::Error) -> TransformError + '_ {
    move |source| TransformError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn open_package(path: &Path) -> Result<msi::Package<File>, TransformError> {
    let file = File::open(path).map_err(read_err(path))?;
    msi::Package::open(file).map_err(|e| TransformError::Read {
        path: path.to_path_buf(),
        source: io::Error::new(e.kind(), format!("not a readable MSI package ({e})")),
    })
}

/// Reads a package's summary-information stream as a property map.
fn package_summary(path: &Path) -> Result<BTreeMap<u32, ReadValue>, TransformError> {
    let file = File::open(path).map_err(read_err(path))?;
    let mut cfb = ::cfb::CompoundFile::open(file).map_err(read_err(path))?;
    let mut bytes = Vec::new();
    cfb.open_stream("\u{5}SummaryInformation")
        .and_then(|mut s| s.read_to_end(&mut bytes))
        .map_err(read_err(path))?;
    summary::decode_property_set(&bytes).map_err(|reason| TransformError::BadPackage {
        path: path.to_path_buf(),
        reason: format!("summary information: {reason}"),
    })
}

fn kind_from_name(name: &str) -> Option<PropertyKind> {
    match name {
        "text" => Some(PropertyKind::Text),
        "port" => Some(PropertyKind::Port),
        "integer" => Some(PropertyKind::Integer),
        _ => None,
    }
}

/// Reads the facts of the package at `msi`.
pub fn read_package_facts(msi: &Path) -> Result<PackageFacts, TransformError> {
    let mut pkg = open_package(msi)?;
    let codepage = pkg.database_codepage().id() as u32;
    let mut properties = BTreeMap::new();
    if pkg.has_table("Property") {
        let rows = pkg
            .select_rows(msi::Select::table("Property"))
            .map_err(read_err(msi))?;
        for row in rows {
            if let (Some(name), value) = (row[0].as_str(), row[1].as_str()) {
                properties.insert(name.to_string(), value.unwrap_or_default().to_string());
            }
        }
    }
    let settings = if pkg.has_table(crate::properties::SETTINGS_TABLE) {
        let rows = pkg
            .select_rows(msi::Select::table(crate::properties::SETTINGS_TABLE))
            .map_err(read_err(msi))?;
        let mut settings = Vec::new();
        for row in rows {
            let property = row[0].as_str().unwrap_or_default().to_string();
            let kind_name = row[1].as_str().unwrap_or_default();
            let kind = kind_from_name(kind_name).ok_or_else(|| TransformError::BadPackage {
                path: msi.to_path_buf(),
                reason: format!(
                    "WinreleaseSettings row {property:?} has the unknown kind {kind_name:?} (text, port or integer)"
                ),
            })?;
            let default = properties.get(&property).cloned().ok_or_else(|| {
                TransformError::BadPackage {
                    path: msi.to_path_buf(),
                    reason: format!(
                        "WinreleaseSettings declares {property}, which has no Property table row (no default)"
                    ),
                }
            })?;
            settings.push(SiteSetting {
                property,
                kind,
                default,
            });
        }
        settings.sort_by(|a, b| a.property.cmp(&b.property));
        Some(settings)
    } else {
        None
    };
    drop(pkg);

    let info = package_summary(msi)?;
    let text = |pid: u32| match info.get(&pid) {
        Some(ReadValue::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let time = |pid: u32| match info.get(&pid) {
        Some(ReadValue::FileTime(t)) => Some(*t),
        _ => None,
    };
    let template = text(7);
    let platform = template.split(';').next().unwrap_or_default().to_string();
    let prop = |name: &str| properties.get(name).cloned().unwrap_or_default();
    Ok(PackageFacts {
        path: msi.to_path_buf(),
        product_code: prop("ProductCode"),
        product_version: prop("ProductVersion"),
        upgrade_code: prop("UpgradeCode"),
        language: prop("ProductLanguage").parse().unwrap_or(0),
        platform,
        page_count: match info.get(&14) {
            Some(ReadValue::Int(n)) => Some(*n),
            _ => None,
        },
        created: time(12),
        saved: time(13),
        codepage,
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

fn declared_list(settings: &[SiteSetting]) -> String {
    settings
        .iter()
        .map(|s| {
            format!(
                "{} ({}, default {:?})",
                s.property,
                s.kind.as_str(),
                s.default
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------------------------------------ //
// Writing

/// Makes a transform of the package at `msi` that sets each `(property, value)` of `settings`
/// and changes nothing else. Refuses a package without `WinreleaseSettings`, names it does not
/// declare there (property names are case-sensitive), values that fail their kind
/// ([`check_value`]), repeated names and an empty list. The bytes depend only on the package and
/// the settings (times come from the package's summary information).
pub fn make_transform(
    msi: &Path,
    settings: &[(String, String)],
    options: &TransformOptions,
) -> Result<SiteTransform, TransformError> {
    let facts = read_package_facts(msi)?;
    let declared = facts
        .settings
        .clone()
        .ok_or_else(|| TransformError::NotOurs {
            path: msi.to_path_buf(),
        })?;
    if declared.is_empty() {
        return Err(TransformError::NotOurs {
            path: msi.to_path_buf(),
        });
    }
    if settings.is_empty() {
        return Err(TransformError::NoSettings {
            declared: declared_list(&declared),
        });
    }
    if facts.codepage != u32::from(cp1252::CODEPAGE) {
        return Err(TransformError::BadPackage {
            path: msi.to_path_buf(),
            reason: format!(
                "database codepage {}, but site transforms are written in codepage 1252 like winrelease packages",
                facts.codepage
            ),
        });
    }
    for (field, value) in [
        ("ProductCode", &facts.product_code),
        ("ProductVersion", &facts.product_version),
        ("UpgradeCode", &facts.upgrade_code),
    ] {
        if value.is_empty() {
            return Err(TransformError::BadPackage {
                path: msi.to_path_buf(),
                reason: format!("the Property table has no {field}"),
            });
        }
    }

    let mut changes: BTreeMap<String, PropertyChange> = BTreeMap::new();
    for (name, value) in settings {
        let Some(setting) = declared.iter().find(|s| &s.property == name) else {
            let hint = declared
                .iter()
                .find(|s| s.property.eq_ignore_ascii_case(name))
                .map(|s| {
                    format!(
                        " (property names are case-sensitive: did you mean {}?)",
                        s.property
                    )
                })
                .unwrap_or_default();
            return Err(TransformError::UnknownSetting {
                name: name.clone(),
                declared: declared_list(&declared),
                hint,
            });
        };
        check_value(setting.kind, value).map_err(|reason| TransformError::InvalidValue {
            name: name.clone(),
            value: value.clone(),
            reason: format!("{reason} ({} is a {} setting)", name, setting.kind.as_str()),
        })?;
        let change = PropertyChange {
            property: name.clone(),
            kind: setting.kind,
            default: setting.default.clone(),
            value: value.clone(),
        };
        if changes.insert(name.clone(), change).is_some() {
            return Err(TransformError::DuplicateSetting { name: name.clone() });
        }
    }
    let changes: Vec<PropertyChange> = changes.into_values().collect();
    let validation = options.scope.validation_flags();
    let bytes = encode_site_transform(&facts, &changes, validation)?;
    Ok(SiteTransform {
        bytes,
        product_code: facts.product_code,
        product_version: facts.product_version,
        upgrade_code: facts.upgrade_code,
        validation,
        changes,
    })
}

/// [`make_transform`], then writes the transform to `out` (through a temporary file in the same
/// directory, renamed into place; nothing is left at `out` on failure).
pub fn write_transform(
    msi: &Path,
    settings: &[(String, String)],
    options: &TransformOptions,
    out: &Path,
) -> Result<SiteTransform, TransformError> {
    let transform = make_transform(msi, settings, options)?;
    let write_err = |source| TransformError::Write {
        path: out.to_path_buf(),
        source,
    };
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".msi-writer-")
        .suffix(".mst.tmp")
        .tempfile_in(&dir)
        .map_err(write_err)?;
    temp.write_all(&transform.bytes).map_err(write_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(write_err)?;
    }
    temp.as_file().sync_all().map_err(write_err)?;
    temp.persist(out).map_err(|e| write_err(e.error))?;
    Ok(transform)
}

fn encode_site_transform(
    facts: &PackageFacts,
    changes: &[PropertyChange],
    validation: u16,
) -> Result<Vec<u8>, TransformError> {
    // String pool: every distinct string once, numbered in sorted order from 1.
    let mut refcounts: BTreeMap<&str, u16> = BTreeMap::new();
    for change in changes {
        *refcounts.entry(change.property.as_str()).or_insert(0) += 1;
        *refcounts.entry(change.value.as_str()).or_insert(0) += 1;
    }
    let ids: BTreeMap<&str, u32> = refcounts
        .keys()
        .enumerate()
        .map(|(i, s)| (*s, i as u32 + 1))
        .collect();
    let mut pool = u32::from(cp1252::CODEPAGE).to_le_bytes().to_vec();
    let mut data = Vec::new();
    for (text, refs) in &refcounts {
        let bytes = cp1252::encode(text).map_err(|ch| TransformError::InvalidValue {
            name: "setting".into(),
            value: text.to_string(),
            reason: format!("contains {ch:?}, which Windows-1252 cannot hold"),
        })?;
        pool.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        pool.extend_from_slice(&refs.to_le_bytes());
        data.extend_from_slice(&bytes);
    }

    // Property table: one update per setting, mask bit 1 = the Value column.
    let mut property = Vec::new();
    for change in changes {
        property.extend_from_slice(&0x0002u16.to_le_bytes());
        property.extend_from_slice(&(ids[change.property.as_str()] as u16).to_le_bytes());
        property.extend_from_slice(&(ids[change.value.as_str()] as u16).to_le_bytes());
    }

    let text = |value: &str| {
        summary::Value::Str(cp1252::encode(value).unwrap_or_else(|_| {
            value
                .chars()
                .map(|c| cp1252::encode_char(c).unwrap_or(b'?'))
                .collect()
        }))
    };
    let template = format!("{};{}", facts.platform, facts.language);
    let lineage = format!(
        "{pc}{v};{pc}{v};{uc}",
        pc = facts.product_code,
        v = facts.product_version,
        uc = facts.upgrade_code
    );
    let names: Vec<&str> = changes.iter().map(|c| c.property.as_str()).collect();
    let mut props: Vec<(u32, summary::Value)> = vec![
        (1, summary::Value::I2(cp1252::CODEPAGE as i16)),
        (2, text("Transform")),
        (3, text(&facts.product_name)),
        (4, text(&facts.manufacturer)),
        (5, text("Installer,Transform,site settings")),
        (
            6,
            text(&format!(
                "Site settings for {} {}: {}",
                facts.product_name,
                facts.product_version,
                names.join(", ")
            )),
        ),
        (7, text(&template)),
        (8, text(&template)),
        (9, text(&lineage)),
    ];
    if let Some(created) = facts.created {
        props.push((12, summary::Value::FileTime(created)));
    }
    if let Some(saved) = facts.saved.or(facts.created) {
        props.push((13, summary::Value::FileTime(saved)));
    }
    props.push((
        14,
        summary::Value::I4(facts.page_count.unwrap_or(200).max(200)),
    ));
    props.push((16, summary::Value::I4((u32::from(validation) << 16) as i32)));
    props.push((18, text("winrelease")));
    props.push((19, summary::Value::I4(4)));

    let streams = vec![
        Stream {
            name: "\u{5}SummaryInformation".into(),
            data: StreamData::Bytes(summary::encode_property_set(&props)),
        },
        Stream {
            name: encode_stream_name("_StringPool", true),
            data: StreamData::Bytes(pool),
        },
        Stream {
            name: encode_stream_name("_StringData", true),
            data: StreamData::Bytes(data),
        },
        Stream {
            name: encode_stream_name("Property", true),
            data: StreamData::Bytes(property),
        },
    ];
    let mut out = Vec::new();
    write_compound_file(&mut out, TRANSFORM_CLSID_BYTES, &streams).map_err(|source| {
        TransformError::Write {
            path: PathBuf::from("<memory>"),
            source,
        }
    })?;
    Ok(out)
}

// ------------------------------------------------------------------------------------------ //
// Reading

/// The transform-specific summary information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformSummary {
    /// Validation flags (upper word of Character Count; see [`validate`]).
    pub validation: u16,
    /// Error conditions to ignore (lower word of Character Count; see [`suppress`]).
    pub suppressed: u16,
    /// Revision Number as written.
    pub revision: String,
    /// Base ProductCode from the Revision Number.
    pub base_product_code: String,
    /// Base version from the Revision Number.
    pub base_version: String,
    /// New ProductCode from the Revision Number.
    pub new_product_code: String,
    /// New version from the Revision Number.
    pub new_version: String,
    /// UpgradeCode from the Revision Number.
    pub upgrade_code: String,
    /// Template: base platform;language.
    pub template: String,
    /// Page Count: the schema the transform needs.
    pub page_count: Option<i32>,
}

impl TransformSummary {
    /// The language of the Template (0 when none).
    pub fn language(&self) -> u16 {
        self.template
            .split(';')
            .nth(1)
            .and_then(|l| l.split(',').next())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Why Windows Installer would refuse to apply this transform to `package`, following the
    /// validation flags (empty when it applies).
    pub fn refusals(&self, package: &PackageFacts) -> Vec<String> {
        let mut out = Vec::new();
        let wants = |flag: u16| self.validation & flag != 0;
        if wants(validate::PRODUCT)
            && !self
                .base_product_code
                .eq_ignore_ascii_case(&package.product_code)
        {
            out.push(format!(
                "made for ProductCode {}, the package's is {} (a transform for another release; make one for this package)",
                self.base_product_code, package.product_code
            ));
        }
        if wants(validate::UPGRADE_CODE)
            && !self
                .upgrade_code
                .eq_ignore_ascii_case(&package.upgrade_code)
        {
            out.push(format!(
                "made for UpgradeCode {}, the package's is {} (another product)",
                self.upgrade_code, package.upgrade_code
            ));
        }
        if wants(validate::LANGUAGE) {
            let language = self.language();
            if language != 0 && package.language != 0 && language != package.language {
                out.push(format!(
                    "made for language {language}, the package's is {}",
                    package.language
                ));
            }
        }
        let fields = if wants(validate::UPDATE_VERSION) {
            3
        } else if wants(validate::MINOR_VERSION) {
            2
        } else if wants(validate::MAJOR_VERSION) {
            1
        } else {
            0
        };
        if fields > 0 {
            let parse = |v: &str| -> Vec<u32> {
                v.split('.')
                    .take(fields)
                    .map(|f| f.parse().unwrap_or(0))
                    .collect()
            };
            let (have, base) = (parse(&package.product_version), parse(&self.base_version));
            use std::cmp::Ordering::*;
            let order = have.cmp(&base);
            let (ok, relation) = if wants(validate::NEW_LESS_BASE_VERSION) {
                (order == Less, "lower than")
            } else if wants(validate::NEW_LESS_EQUAL_BASE_VERSION) {
                (order != Greater, "at most")
            } else if wants(validate::NEW_GREATER_EQUAL_BASE_VERSION) {
                (order != Less, "at least")
            } else if wants(validate::NEW_GREATER_BASE_VERSION) {
                (order == Greater, "higher than")
            } else {
                (order == Equal, "equal to")
            };
            if !ok {
                out.push(format!(
                    "the package's version {} must be {relation} {} (first {fields} fields)",
                    package.product_version, self.base_version
                ));
            }
        }
        out
    }
}

/// A decoded transform file: summary, string pool and raw table streams (decoded against a
/// package's schema by [`apply`]).
#[derive(Clone, Debug)]
pub struct TransformFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Summary information.
    pub summary: TransformSummary,
    /// The string pool's codepage.
    pub codepage: u32,
    /// Names of the table streams (decoded), `_StringPool`/`_StringData` excluded.
    pub tables: Vec<String>,
    strings: Vec<Option<String>>,
    long_refs: bool,
    streams: BTreeMap<String, Vec<u8>>,
}

/// Decodes a compound-file stream name written with Windows Installer's packing.
fn decode_stream_name(name: &str) -> (bool, String) {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._";
    let mut chars = name.chars().peekable();
    let is_table = chars.peek() == Some(&'\u{4840}');
    if is_table {
        chars.next();
    }
    let mut out = String::new();
    for ch in chars {
        let code = ch as u32;
        if (0x3800..0x4800).contains(&code) {
            let packed = code - 0x3800;
            out.push(ALPHABET[(packed & 0x3F) as usize] as char);
            out.push(ALPHABET[((packed >> 6) & 0x3F) as usize] as char);
        } else if (0x4800..0x4840).contains(&code) {
            out.push(ALPHABET[(code - 0x4800) as usize] as char);
        } else {
            out.push(ch);
        }
    }
    (is_table, out)
}

fn bad(path: &Path, reason: impl Into<String>) -> TransformError {
    TransformError::BadTransform {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl TransformFile {
    /// Reads the transform at `path`.
    pub fn read(path: &Path) -> Result<TransformFile, TransformError> {
        let bytes = std::fs::read(path).map_err(read_err(path))?;
        TransformFile::parse(path, &bytes)
    }

    /// Decodes transform bytes; `path` only names the source in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<TransformFile, TransformError> {
        let mut cfb = ::cfb::CompoundFile::open(Cursor::new(bytes))
            .map_err(|e| bad(path, format!("not a compound file ({e})")))?;
        let clsid = *cfb.root_entry().clsid();
        let expected = uuid::Uuid::parse_str(TRANSFORM_CLSID).expect("valid constant");
        if clsid != expected {
            let what = if clsid
                == uuid::Uuid::parse_str("000C1084-0000-0000-C000-000000000046")
                    .expect("valid constant")
            {
                "an installer package (.msi), not a transform".to_string()
            } else if clsid
                == uuid::Uuid::parse_str("000C1086-0000-0000-C000-000000000046")
                    .expect("valid constant")
            {
                "a patch (.msp), not a transform".to_string()
            } else {
                format!("its root storage class is {{{}}}, not the transform class {{{TRANSFORM_CLSID}}}", clsid.hyphenated().to_string().to_uppercase())
            };
            return Err(bad(path, what));
        }
        let names: Vec<String> = cfb
            .read_root_storage()
            .filter(|e| e.is_stream())
            .map(|e| e.name().to_string())
            .collect();
        let mut streams = BTreeMap::new();
        let mut summary_bytes = None;
        for name in names {
            let mut data = Vec::new();
            cfb.open_stream(&name)
                .and_then(|mut s| s.read_to_end(&mut data))
                .map_err(|e| bad(path, format!("stream {name:?}: {e}")))?;
            if name == "\u{5}SummaryInformation" {
                summary_bytes = Some(data);
                continue;
            }
            let (is_table, decoded) = decode_stream_name(&name);
            if is_table {
                streams.insert(decoded, data);
            }
        }
        let summary_bytes =
            summary_bytes.ok_or_else(|| bad(path, "no summary information stream"))?;
        let info = summary::decode_property_set(&summary_bytes)
            .map_err(|reason| bad(path, format!("summary information: {reason}")))?;
        let text = |pid: u32| match info.get(&pid) {
            Some(ReadValue::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let char_count = match info.get(&16) {
            Some(ReadValue::Int(n)) => *n as u32,
            _ => 0,
        };
        let revision = text(9);
        let lineage = parse_lineage(&revision).ok_or_else(|| {
            bad(
                path,
                format!("Revision Number {revision:?} is not {{ProductCode}}version;{{ProductCode}}version;{{UpgradeCode}}"),
            )
        })?;
        let summary = TransformSummary {
            validation: (char_count >> 16) as u16,
            suppressed: (char_count & 0xFFFF) as u16,
            revision: revision.clone(),
            base_product_code: lineage.0,
            base_version: lineage.1,
            new_product_code: lineage.2,
            new_version: lineage.3,
            upgrade_code: lineage.4,
            template: text(7),
            page_count: match info.get(&14) {
                Some(ReadValue::Int(n)) => Some(*n),
                _ => None,
            },
        };

        let pool = streams
            .remove("_StringPool")
            .ok_or_else(|| bad(path, "no _StringPool stream"))?;
        let data = streams
            .remove("_StringData")
            .ok_or_else(|| bad(path, "no _StringData stream"))?;
        let (codepage, long_refs, strings) =
            parse_string_pool(&pool, &data).map_err(|reason| bad(path, reason))?;
        Ok(TransformFile {
            path: path.to_path_buf(),
            summary,
            codepage,
            tables: streams.keys().cloned().collect(),
            strings,
            long_refs,
            streams,
        })
    }

    fn string(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).and_then(|s| s.as_deref())
    }
}

/// `{PC}ver;{PC}ver;{UC}` → its five parts.
fn parse_lineage(text: &str) -> Option<(String, String, String, String, String)> {
    let mut parts = text.split(';');
    let split = |part: &str| -> Option<(String, String)> {
        let end = part.find('}')?;
        part.starts_with('{')
            .then(|| (part[..=end].to_string(), part[end + 1..].to_string()))
    };
    let (base_code, base_version) = split(parts.next()?)?;
    let (new_code, new_version) = split(parts.next()?)?;
    let upgrade = parts.next().unwrap_or_default().to_string();
    if !(upgrade.is_empty() || (upgrade.starts_with('{') && upgrade.ends_with('}'))) {
        return None;
    }
    Some((base_code, base_version, new_code, new_version, upgrade))
}

/// Parses `_StringPool`/`_StringData` into (codepage, 3-byte refs, strings by id).
fn parse_string_pool(pool: &[u8], data: &[u8]) -> Result<(u32, bool, Vec<Option<String>>), String> {
    if pool.len() < 4 || !pool.len().is_multiple_of(4) {
        return Err(format!(
            "_StringPool has {} bytes, not a multiple of 4",
            pool.len()
        ));
    }
    let word = |i: usize| u16::from_le_bytes([pool[i * 2], pool[i * 2 + 1]]);
    let header = u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]);
    let codepage = header & 0x7FFF_FFFF;
    let long_refs = header & 0x8000_0000 != 0;
    let decode = |bytes: &[u8]| match codepage {
        65001 => String::from_utf8_lossy(bytes).into_owned(),
        _ => cp1252::decode(bytes),
    };
    let count = pool.len() / 4;
    let mut strings: Vec<Option<String>> = vec![None];
    let mut offset = 0usize;
    let mut i = 1;
    while i < count {
        let (len_low, refs) = (word(i * 2), word(i * 2 + 1));
        if len_low == 0 && refs == 0 {
            strings.push(None);
            i += 1;
            continue;
        }
        let len = if len_low == 0 {
            // A string over 64 KiB: this entry's count holds the high word of the length, the
            // next entry's length field the low word.
            if i + 1 >= count {
                return Err("_StringPool ends inside a long string entry".into());
            }
            let len = (usize::from(refs) << 16) | usize::from(word(i * 2 + 2));
            i += 2;
            len
        } else {
            i += 1;
            usize::from(len_low)
        };
        let bytes = data
            .get(offset..offset + len)
            .ok_or("_StringData is shorter than _StringPool says")?;
        strings.push(Some(decode(bytes)));
        offset += len;
    }
    Ok((codepage, long_refs, strings))
}

// ------------------------------------------------------------------------------------------ //
// Applying

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

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// A column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Storage kind.
    pub kind: ColumnKind,
    /// Part of the primary key.
    pub key: bool,
}

/// A table's columns and rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Rows, sorted by primary key.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    fn key_of(&self, row: &[Value]) -> Vec<Value> {
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
        let index = self.columns.iter().position(|c| c.name == column)?;
        self.find(key).map(|row| &row[index])
    }
}

/// Reads table `name` of an open package (`None` when the package has no such table).
fn load_table(pkg: &mut msi::Package<File>, name: &str) -> io::Result<Option<Table>> {
    let Some(table) = pkg.get_table(name) else {
        return Ok(None);
    };
    let columns: Vec<Column> = table
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            kind: match c.coltype() {
                msi::ColumnType::Int16 => ColumnKind::Int16,
                msi::ColumnType::Int32 => ColumnKind::Int32,
                msi::ColumnType::Str(_) => ColumnKind::Str,
                msi::ColumnType::Binary => ColumnKind::Binary,
            },
            key: c.is_primary_key(),
        })
        .collect();
    let mut rows: Vec<Vec<Value>> = pkg
        .select_rows(msi::Select::table(name))?
        .map(|row| {
            (0..columns.len())
                .map(|i| match &row[i] {
                    msi::Value::Null => Value::Null,
                    msi::Value::Int(v) => Value::Int(*v),
                    msi::Value::Str(s) => Value::Str(s.clone()),
                    msi::Value::Binary => Value::Stream,
                })
                .collect()
        })
        .collect();
    let mut out = Table {
        name: name.to_string(),
        columns,
        rows: Vec::new(),
    };
    rows.sort_by_key(|r| out.key_of(r));
    out.rows = rows;
    Ok(Some(out))
}

/// Reads table `name` of the package at `msi` (`None` when it has no such table).
pub fn read_table(msi: &Path, name: &str) -> Result<Option<Table>, TransformError> {
    let mut pkg = open_package(msi)?;
    load_table(&mut pkg, name).map_err(read_err(msi))
}

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

fn cell_width(kind: ColumnKind, long_refs: bool) -> usize {
    match kind {
        ColumnKind::Str if long_refs => 3,
        ColumnKind::Str | ColumnKind::Int16 | ColumnKind::Binary => 2,
        ColumnKind::Int32 => 4,
    }
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
    let ncols = table.columns.len();
    let mut at = 0usize;
    while at < stream.len() {
        if at + 2 > stream.len() {
            problems.push((format!("a row mask is cut off at byte {at}"), 0));
            break;
        }
        let mask = u16::from_le_bytes([stream[at], stream[at + 1]]);
        at += 2;
        let (op, present): (RowOp, Vec<usize>) = if mask & 1 != 0 {
            let n = usize::from(mask >> 8);
            if n > ncols {
                problems.push((
                    format!("a row carries {n} columns, the table has {ncols}"),
                    0,
                ));
                break;
            }
            (RowOp::Insert, (0..n).collect())
        } else if mask == 0 {
            (
                RowOp::Delete,
                (0..ncols).filter(|&i| table.columns[i].key).collect(),
            )
        } else {
            if ncols < 16 && mask >> ncols != 0 {
                problems.push((
                    format!("a row mask {mask:#06x} names columns the table (with {ncols}) does not have"),
                    0,
                ));
                break;
            }
            (
                RowOp::Update,
                (0..ncols)
                    .filter(|&i| table.columns[i].key || (i < 16 && mask & (1 << i) != 0))
                    .collect(),
            )
        };
        let mut cells: BTreeMap<usize, Value> = BTreeMap::new();
        let mut broken = None;
        for &i in &present {
            let column = &table.columns[i];
            let width = cell_width(column.kind, transform.long_refs);
            let Some(raw) = stream.get(at..at + width) else {
                broken = Some(format!("a row is cut off in column {}", column.name));
                break;
            };
            at += width;
            let raw = raw
                .iter()
                .rev()
                .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            let value = match column.kind {
                _ if raw == 0 => Value::Null,
                ColumnKind::Str => match transform.string(raw) {
                    Some(text) => Value::Str(text.to_string()),
                    None => {
                        broken = Some(format!(
                            "column {} refers to string {raw}, which the transform's pool does not have",
                            column.name
                        ));
                        break;
                    }
                },
                ColumnKind::Int16 => Value::Int(raw as i32 - 0x8000),
                ColumnKind::Int32 => Value::Int((raw ^ 0x8000_0000) as i32),
                ColumnKind::Binary => Value::Stream,
            };
            cells.insert(i, value);
        }
        if let Some(message) = broken {
            problems.push((message, 0));
            break;
        }
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
            key: key.clone(),
            cells: Vec::new(),
        };
        match (op, existing) {
            (RowOp::Delete, Some(index)) => {
                table.rows.remove(index);
            }
            (RowOp::Delete, None) => problems.push((
                format!("deletes row {show_key}, which does not exist"),
                suppress::DELETE_MISSING_ROW,
            )),
            (RowOp::Insert, existing) => {
                let mut row = vec![Value::Null; ncols];
                for (&i, value) in &cells {
                    row[i] = value.clone();
                    if !table.columns[i].key {
                        let before = existing.map(|e| table.rows[e][i].clone());
                        change
                            .cells
                            .push((table.columns[i].name.clone(), before, value.clone()));
                    }
                }
                match existing {
                    Some(index) => {
                        problems.push((
                            format!("adds row {show_key}, which already exists"),
                            suppress::ADD_EXISTING_ROW,
                        ));
                        table.rows[index] = row;
                    }
                    None => table.rows.push(row),
                }
            }
            (RowOp::Update, Some(index)) => {
                for (&i, value) in &cells {
                    if !table.columns[i].key {
                        let before = std::mem::replace(&mut table.rows[index][i], value.clone());
                        change.cells.push((
                            table.columns[i].name.clone(),
                            Some(before),
                            value.clone(),
                        ));
                    }
                }
            }
            (RowOp::Update, None) => {
                problems.push((
                    format!("updates row {show_key}, which does not exist"),
                    suppress::UPDATE_MISSING_ROW,
                ));
                for (&i, value) in &cells {
                    if !table.columns[i].key {
                        change
                            .cells
                            .push((table.columns[i].name.clone(), None, value.clone()));
                    }
                }
            }
        }
        changes.push(change);
    }
    let mut rows = std::mem::take(&mut table.rows);
    rows.sort_by_key(|r| table.key_of(r));
    table.rows = rows;
    (table, changes, problems)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_round_trip() {
        for name in [
            "Property",
            "_StringPool",
            "_StringData",
            "AdvtExecuteSequence",
            "A.b_9",
        ] {
            assert_eq!(
                decode_stream_name(&encode_stream_name(name, true)),
                (true, name.to_string())
            );
        }
        assert_eq!(
            decode_stream_name(&encode_stream_name("product.cab", false)),
            (false, "product.cab".to_string())
        );
    }

    #[test]
    fn lineage_parses_into_codes_and_versions() {
        let parsed = parse_lineage("{A}1.2.3;{B}1.2.4;{C}").unwrap();
        assert_eq!(
            parsed,
            (
                "{A}".into(),
                "1.2.3".into(),
                "{B}".into(),
                "1.2.4".into(),
                "{C}".into()
            )
        );
        assert!(parse_lineage("{A}1.2.3").is_none());
        assert!(parse_lineage("A1;{B}2;{C}").is_none());
    }

    #[test]
    fn values_are_checked_by_kind() {
        use PropertyKind::*;
        for ok in ["1", "80", "8080", "65535"] {
            assert!(check_value(Port, ok).is_ok(), "{ok}");
        }
        for bad in ["0", "65536", "", "+80", "080", "80 ", "port", "-1"] {
            assert!(check_value(Port, bad).is_err(), "{bad:?}");
        }
        for ok in ["0", "-5", "9223372036854775807"] {
            assert!(check_value(Integer, ok).is_ok(), "{ok}");
        }
        for bad in ["", "+5", "1.5", "9223372036854775808", "- 1", "0x10"] {
            assert!(check_value(Integer, bad).is_err(), "{bad:?}");
        }
        for ok in ["berlin", "Zürich Süd", "a b c", "C:\\data"] {
            assert!(check_value(Text, ok).is_ok(), "{ok}");
        }
        for bad in ["", "a\nb", "tab\there", "say \"hi\"", "C:\\data\\", "東京"] {
            assert!(check_value(Text, bad).is_err(), "{bad:?}");
        }
    }
}
