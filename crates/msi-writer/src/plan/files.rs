//! Payload files and folder-only components: keys, names, versions, sizes, folders, sequence
//! numbers, component GUIDs and attributes.
//!
//! Invariant: a file's component GUID depends only on the UpgradeCode and its target path, so
//! it stays the same across releases; File.Sequence follows the model's order.

use std::collections::HashMap;
use std::fs;

use crate::error::MsiError;
use crate::model::{DirBase, DirRef, FileSpec, Package, Source};
use crate::names::{check_identifier, check_long_name, escape_formatted, fold};

use super::checks::{check_limit, check_unique, check_version};
use super::dirs::BaseDirs;
use super::tree::{ChildKind, ShortNames, Tree};
use super::{FolderComponent, PlannedFile};

/// Most payload files per package (one component each). The CAB format allows 65,535 files and
/// tables are best kept well under 65,536 rows; 32,767 leaves room and keeps every string's
/// reference count within 16 bits.
pub(crate) const MAX_FILES: usize = 32_767;
/// Windows Installer cannot open packages of 2 GiB or more, so the payload must stay below that.
pub(crate) const MAX_PAYLOAD_BYTES: u64 = 0x7FFF_8000;

/// The files checked and placed in the tree, before short names are known.
pub(super) struct StagedFiles<'a> {
    /// Position of each file in `Package::files`, by key.
    pub index: HashMap<&'a str, usize>,
    /// Directory key and size of each file, in model order.
    pub placed: Vec<(String, u64)>,
    /// Sum of the sizes.
    pub payload_bytes: u64,
}

/// Checks every payload file and adds it (and its sub-folders) to `tree`.
pub(super) fn stage<'a>(
    tree: &mut Tree,
    pkg: &'a Package,
    bases: &BaseDirs<'_>,
) -> Result<StagedFiles<'a>, MsiError> {
    check_limit(
        "payload files",
        pkg.files.len() as u64,
        MAX_FILES as u64,
        "one component per file; tables are kept below 32,768 rows",
    )?;
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut placed = Vec::with_capacity(pkg.files.len());
    let mut payload_bytes = 0u64;
    for (i, file) in pkg.files.iter().enumerate() {
        let field = format!("files[{i}]");
        check_file_spec(&field, file)?;
        check_unique(index.insert(&file.key, i).is_none(), "file key", &file.key)?;
        check_long_name(&format!("{field}.name"), &file.name)?;
        if let Some(version) = &file.version {
            check_version(&format!("{field}.version"), version)?;
        }
        let dir_key = place(tree, bases, &field, file)?;
        let size = source_size(file)?;
        check_limit(
            format!("size of file {:?}", file.key),
            size,
            i32::MAX as u64,
            "File.FileSize is a 32-bit signed integer",
        )?;
        payload_bytes += size;
        placed.push((dir_key, size));
    }
    check_limit(
        "total payload bytes",
        payload_bytes,
        MAX_PAYLOAD_BYTES,
        "Windows Installer packages must stay below 2 GiB; ship large data outside the MSI",
    )?;
    Ok(StagedFiles {
        index,
        placed,
        payload_bytes,
    })
}

/// The file key is an identifier that starts with a letter.
fn check_file_spec(field: &str, file: &FileSpec) -> Result<(), MsiError> {
    check_identifier(&format!("{field}.key"), &file.key, 72)?;
    if !file.key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        // Component keys appear in conditions ($key=3), whose identifiers start with a letter.
        return Err(MsiError::InvalidIdentifier {
            field: format!("{field}.key (must start with a letter)"),
            value: file.key.clone(),
            max: 72,
        });
    }
    Ok(())
}

/// Adds the file's sub-folders and the file itself to `tree`; returns its directory key.
fn place(
    tree: &mut Tree,
    bases: &BaseDirs<'_>,
    field: &str,
    file: &FileSpec,
) -> Result<String, MsiError> {
    let what = format!("file {:?}", file.key);
    let dir_key = add_dir_ref(tree, bases, &format!("{field}.dir"), &file.dir, &what)?;
    tree.add_file(&dir_key, &file.name, &file.key)?;
    Ok(dir_key)
}

/// Adds the folders of `dir` to `tree`; returns the key of its innermost folder.
fn add_dir_ref(
    tree: &mut Tree,
    bases: &BaseDirs<'_>,
    field: &str,
    dir: &DirRef,
    what: &str,
) -> Result<String, MsiError> {
    let mut dir_key = match &dir.base {
        DirBase::Install => bases.install.clone(),
        DirBase::Data(key) => {
            bases
                .data
                .get(key.as_str())
                .cloned()
                .ok_or_else(|| MsiError::UnknownReference {
                    field: field.to_string(),
                    kind: "data directory",
                    key: key.clone(),
                })?
        }
    };
    for (j, sub) in dir.sub.iter().enumerate() {
        check_long_name(&format!("{field}.sub[{j}]"), sub)?;
        dir_key = tree.add_dir(&dir_key, sub, None, &format!("folder {sub:?} of {what}"))?;
    }
    Ok(dir_key)
}

/// Checks the model's empty folders and adds them to `tree`; returns their directory keys.
pub(super) fn stage_empty_dirs(
    tree: &mut Tree,
    pkg: &Package,
    bases: &BaseDirs<'_>,
) -> Result<Vec<String>, MsiError> {
    let mut keys: Vec<String> = Vec::new();
    for (i, dir) in pkg.empty_dirs.iter().enumerate() {
        let field = format!("empty_dirs[{i}]");
        let key = add_dir_ref(tree, bases, &field, dir, "an empty folder")?;
        check_unique(!keys.contains(&key), "empty folder", tree.display(&key))?;
        keys.push(key);
    }
    Ok(keys)
}

/// The file's size: of the bytes, or of the regular file it names.
fn source_size(file: &FileSpec) -> Result<u64, MsiError> {
    match &file.source {
        Source::Bytes(bytes) => Ok(bytes.len() as u64),
        Source::Path(path) => {
            let meta = fs::metadata(path).map_err(|source| MsiError::SourceMissing {
                key: file.key.clone(),
                path: path.clone(),
                source,
            })?;
            if !meta.is_file() {
                return Err(MsiError::SourceMissing {
                    key: file.key.clone(),
                    path: path.clone(),
                    source: std::io::Error::other("not a regular file"),
                });
            }
            Ok(meta.len())
        }
    }
}

/// A component for each data directory the model asks to create and each empty folder.
pub(super) fn folder_components(
    pkg: &Package,
    tree: &Tree,
    bases: &BaseDirs<'_>,
    empty_dirs: Vec<String>,
) -> Vec<FolderComponent> {
    let data = pkg.data_dirs.iter().filter(|data| data.create).map(|data| {
        (
            format!("WrFolder.{}", data.key),
            bases.data[data.key.as_str()].clone(),
        )
    });
    let empty = empty_dirs
        .into_iter()
        .map(|dir_key| (format!("WrFolder.{dir_key}"), dir_key));
    data.chain(empty)
        .map(|(key, dir_key)| FolderComponent {
            key,
            guid: pkg.product.upgrade_code.derive(&format!(
                "winrelease:folder:{}",
                fold(tree.display(&dir_key))
            )),
            dir_key,
        })
        .collect()
}

/// The staged files with their File table names, sequence numbers and components.
pub(super) fn resolve<'a>(
    pkg: &'a Package,
    tree: &Tree,
    names: &ShortNames,
    placed: Vec<(String, u64)>,
) -> Vec<PlannedFile<'a>> {
    pkg.files
        .iter()
        .zip(placed)
        .enumerate()
        .map(|(i, (file, (dir_key, size)))| {
            let target = format!("{}\\{}", tree.display(&dir_key), file.name);
            PlannedFile {
                spec: file,
                file_name: names[&ChildKind::File(file.key.clone())].clone(),
                formatted_path: format!("[{dir_key}]{}", escape_formatted(&file.name)),
                dir_key,
                size,
                sequence: i as i32 + 1,
                component_guid: pkg
                    .product
                    .upgrade_code
                    .derive(&format!("winrelease:component:{}", fold(&target))),
                component_attributes: component_attributes(file),
            }
        })
        .collect()
}

fn component_attributes(file: &FileSpec) -> i32 {
    let mut attributes = 0x100; // msidbComponentAttributes64bit
    if file.never_overwrite {
        attributes |= 0x80;
    }
    if file.permanent {
        attributes |= 0x10;
    }
    attributes
}
