//! Validation of a [`Package`] and resolution of everything the tables need: the directory tree,
//! 8.3 names, component GUIDs, file sizes and sequence numbers.
//!
//! All checks run here, before anything is written; the table builder may then assume a valid
//! model. Iteration is over the model's vectors or sorted maps only, so the plan is deterministic.
//! Checks run in a fixed order (product, directories, files, service, firewall rules, properties,
//! commands), so a model with several problems always reports the same first one.
//!
//! - `tree`: Directory rows, folder contents and short names.
//! - `dirs`: the install and data directories.
//! - `files`: payload files and folder-only components.
//! - `service`: the service, its recovery settings and the Event Log source.
//! - `actions`: firewall rules and commands (what becomes custom actions).
//! - `properties`: public properties and the names the writer reserves.
//! - `checks`: checks of single values the others share.

mod actions;
mod checks;
mod dirs;
mod files;
mod properties;
mod service;
mod tree;

use std::collections::HashMap;

use crate::error::MsiError;
use crate::guid::Guid;
use crate::model::*;
use crate::names::{check_optional_text, check_text};

pub(crate) use properties::{DOWNGRADE_FOUND, NEWER_FOUND, NEWER_VERSION, OLDER_FOUND};

use checks::check_guid;
use tree::Tree;

/// Directory key of the 64-bit system folder (where sc.exe and netsh.exe live).
pub(crate) const SYSTEM64_FOLDER: &str = "System64Folder";

/// A Directory table row.
#[derive(Clone, Debug)]
pub(crate) struct DirRow {
    pub key: String,
    pub parent: Option<String>,
    pub default_dir: String,
}

/// A resolved payload file (also its component).
#[derive(Debug)]
pub(crate) struct PlannedFile<'a> {
    pub spec: &'a FileSpec,
    pub dir_key: String,
    /// FileName column: `short|long` or just the name when it is a valid 8.3 name.
    pub file_name: String,
    pub size: u64,
    pub sequence: i32,
    pub component_guid: Guid,
    pub component_attributes: i32,
    /// `[DIRKEY]name`, a formatted string that resolves to the installed path at any time.
    pub formatted_path: String,
}

/// A component that only creates a folder (`DataDir::create`, `Package::empty_dirs`).
#[derive(Debug)]
pub(crate) struct FolderComponent {
    pub key: String,
    pub dir_key: String,
    pub guid: Guid,
}

/// The resolved package.
pub(crate) struct Plan<'a> {
    pub pkg: &'a Package,
    pub dirs: Vec<DirRow>,
    pub files: Vec<PlannedFile<'a>>,
    pub folder_components: Vec<FolderComponent>,
    pub file_index: HashMap<&'a str, usize>,
    pub payload_bytes: u64,
}

impl<'a> Plan<'a> {
    pub(crate) fn file(&self, key: &str) -> &PlannedFile<'a> {
        &self.files[self.file_index[key]]
    }
}

/// Validates the model and resolves the plan. Reads the metadata of payload files named by path.
pub(crate) fn plan(pkg: &Package) -> Result<Plan<'_>, MsiError> {
    check_product(pkg)?;
    let mut tree = Tree::new();
    let bases = dirs::base_dirs(&mut tree, pkg)?;
    let staged = files::stage(&mut tree, pkg, &bases)?;
    let empty_dirs = files::stage_empty_dirs(&mut tree, pkg, &bases)?;
    let folder_components = files::folder_components(pkg, &tree, &bases, empty_dirs);
    if pkg.recovery.is_some() || !pkg.firewall_rules.is_empty() {
        // Working directory of the sc.exe/netsh.exe custom actions.
        tree.root(SYSTEM64_FOLDER, Some("TARGETDIR"), "");
    }
    let names = tree.short_names();
    let plan = Plan {
        pkg,
        dirs: tree.dir_rows(&names),
        files: files::resolve(pkg, &tree, &names, staged.placed),
        folder_components,
        file_index: staged.index,
        payload_bytes: staged.payload_bytes,
    };
    check_references(&plan)?;
    Ok(plan)
}

/// Product identity and Add/Remove Programs texts.
fn check_product(pkg: &Package) -> Result<(), MsiError> {
    let product = &pkg.product;
    check_text("product.name", &product.name, 63)?; // ICE16
    check_text("product.manufacturer", &product.manufacturer, 255)?;
    check_optional_text("product.description", &product.description, 255)?;
    check_guid("product.product_code", &product.product_code)?;
    check_guid("product.upgrade_code", &product.upgrade_code)?;
    if product.product_code == product.upgrade_code {
        return Err(MsiError::SameGuid {
            first: "product.product_code".into(),
            second: "product.upgrade_code".into(),
            guid: product.product_code.to_string(),
        });
    }
    let arp = &pkg.arp;
    for (field, value) in [
        ("arp.help_link", &arp.help_link),
        ("arp.about_link", &arp.about_link),
        ("arp.contact", &arp.contact),
        ("arp.comments", &arp.comments),
    ] {
        if let Some(value) = value {
            check_text(field, value, 1024)?;
        }
    }
    Ok(())
}

/// The parts of the model that refer to payload files or to the resolved directories.
fn check_references(plan: &Plan<'_>) -> Result<(), MsiError> {
    service::check_service_and_friends(plan)?;
    actions::check_firewall_rules(plan)?;
    properties::check_properties(plan)?;
    actions::check_commands(plan)
}
