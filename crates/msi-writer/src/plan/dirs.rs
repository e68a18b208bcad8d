//! The install directory and the data directories: their keys, checked against reserved names,
//! and their folders added to the tree.
//!
//! Invariant: a model directory key never shadows TARGETDIR, a generated `dir_` key, a Windows
//! Installer system folder or a property the writer sets.

use std::collections::BTreeMap;

use crate::error::MsiError;
use crate::model::Package;
use crate::names::check_identifier;

use super::checks::{check_public_property_name, check_unique};
use super::properties::RESERVED_PROPERTIES;
use super::tree::Tree;

/// Windows Installer's system folder properties: never usable as our directory keys.
const SYSTEM_FOLDERS: &[&str] = &[
    "AdminToolsFolder",
    "AppDataFolder",
    "CommonAppDataFolder",
    "CommonFiles64Folder",
    "CommonFilesFolder",
    "DesktopFolder",
    "FavoritesFolder",
    "FontsFolder",
    "LocalAppDataFolder",
    "MyPicturesFolder",
    "NetHoodFolder",
    "PersonalFolder",
    "PrintHoodFolder",
    "ProgramFiles64Folder",
    "ProgramFilesFolder",
    "ProgramMenuFolder",
    "RecentFolder",
    "SendToFolder",
    "StartMenuFolder",
    "StartupFolder",
    "System16Folder",
    "System64Folder",
    "SystemFolder",
    "TempFolder",
    "TemplateFolder",
    "WindowsFolder",
    "WindowsVolume",
];

/// Directory keys of the model's base folders.
pub(super) struct BaseDirs<'a> {
    /// Key of the install directory (its property).
    pub install: String,
    /// Tree key of each data directory, by its model key.
    pub data: BTreeMap<&'a str, String>,
}

/// Checks the install and data directories and adds their folders to `tree`.
pub(super) fn base_dirs<'a>(tree: &mut Tree, pkg: &'a Package) -> Result<BaseDirs<'a>, MsiError> {
    let install = &pkg.install_dir;
    check_public_property_name("install_dir.property", &install.property)?;
    if RESERVED_PROPERTIES.contains(&install.property.as_str()) {
        return Err(MsiError::ReservedName {
            kind: "install directory property",
            key: install.property.clone(),
        });
    }
    let install_key = tree.add_path(
        install.under,
        &install.path,
        &install.property,
        "install_dir.path",
        "the install directory",
    )?;

    let mut data_keys: BTreeMap<&str, String> = BTreeMap::new();
    for (i, data) in pkg.data_dirs.iter().enumerate() {
        let field = format!("data_dirs[{i}]");
        check_identifier(&format!("{field}.key"), &data.key, 72)?;
        if is_reserved_data_key(&data.key, &install.property) {
            return Err(MsiError::ReservedName {
                kind: "data directory key",
                key: data.key.clone(),
            });
        }
        check_unique(
            !data_keys.contains_key(data.key.as_str()),
            "data directory key",
            &data.key,
        )?;
        let key = tree.add_path(
            data.under,
            &data.path,
            &data.key,
            &format!("{field}.path"),
            &format!("data directory {:?}", data.key),
        )?;
        data_keys.insert(&data.key, key);
    }
    Ok(BaseDirs {
        install: install_key,
        data: data_keys,
    })
}

fn is_reserved_data_key(key: &str, install_property: &str) -> bool {
    key == install_property
        || key == "TARGETDIR"
        || key.starts_with("dir_")
        || SYSTEM_FOLDERS.iter().any(|f| f.eq_ignore_ascii_case(key))
        || RESERVED_PROPERTIES.contains(&key)
}
