//! Writing a site transform: one Property update per setting, in its own string pool, with the
//! summary information that binds it to its base package.
//!
//! Invariant: the bytes depend only on the base package and the settings.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::check::check_value;
use super::facts::read_package_facts;
use super::{
    PackageFacts, PropertyChange, SiteSetting, SiteTransform, TransformError, TransformOptions,
};
use crate::cfb::{write_compound_file, Stream, StreamData};
use crate::cp1252;
use crate::read::PackageKind;
use crate::stream_name;
use crate::summary;

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
    let (ids, pool, data) = string_pool(changes)?;
    // Property table: one update per setting, mask bit 1 = the Value column.
    let mut property = Vec::new();
    for change in changes {
        property.extend_from_slice(&0x0002u16.to_le_bytes());
        property.extend_from_slice(&(ids[change.property.as_str()] as u16).to_le_bytes());
        property.extend_from_slice(&(ids[change.value.as_str()] as u16).to_le_bytes());
    }
    let props = summary_properties(facts, changes, validation);
    let table = |name: &str, bytes: Vec<u8>| Stream {
        name: stream_name::encode(name, true),
        data: StreamData::Bytes(bytes),
    };
    let streams = vec![
        Stream {
            name: crate::read::SUMMARY_STREAM.into(),
            data: StreamData::Bytes(summary::encode_property_set(&props)),
        },
        table("_StringPool", pool),
        table("_StringData", data),
        table("Property", property),
    ];
    let clsid = PackageKind::Transform.clsid().to_bytes_le();
    let mut out = Vec::new();
    write_compound_file(&mut out, clsid, &streams).map_err(|source| TransformError::Write {
        path: PathBuf::from("<memory>"),
        source,
    })?;
    Ok(out)
}

/// String ids, `_StringPool` and `_StringData` of a transform.
type EncodedPool<'a> = (BTreeMap<&'a str, u32>, Vec<u8>, Vec<u8>);

/// The transform's string pool: every distinct string once, numbered in sorted order from 1.
fn string_pool(changes: &[PropertyChange]) -> Result<EncodedPool<'_>, TransformError> {
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
    Ok((ids, pool, data))
}

/// The transform's summary information (see the module documentation).
fn summary_properties(
    facts: &PackageFacts,
    changes: &[PropertyChange],
    validation: u16,
) -> Vec<(u32, summary::Value)> {
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
    let comments = format!(
        "Site settings for {} {}: {}",
        facts.product_name,
        facts.product_version,
        names.join(", ")
    );
    let mut props: Vec<(u32, summary::Value)> = vec![
        (1, summary::Value::I2(cp1252::CODEPAGE as i16)),
        (2, text("Transform")),
        (3, text(&facts.product_name)),
        (4, text(&facts.manufacturer)),
        (5, text("Installer,Transform,site settings")),
        (6, text(&comments)),
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
    props
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
