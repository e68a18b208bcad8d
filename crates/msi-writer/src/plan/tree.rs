//! The directory tree: Directory keys, what lives in each folder, and the Filename/DefaultDir
//! values (8.3 short names) of every folder and file.
//!
//! Invariant: names are compared case-insensitively within a folder, so two children that
//! Windows would see as one are refused; rows keep the order they were added in.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::error::MsiError;
use crate::model::KnownFolder;
use crate::names::{check_long_name, fold, generated_short_name, is_short_name};

use super::DirRow;

/// What lives in a folder, for case-insensitive clash detection and short-name assignment.
#[derive(Clone, Debug)]
struct Child {
    name: String,
    kind: ChildKind,
    what: String,
}

/// A folder's child: a directory (by Directory key) or a file (by File key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum ChildKind {
    Dir(String),
    File(String),
}

/// Filename/DefaultDir value of every child, from [`Tree::short_names`].
pub(super) type ShortNames = HashMap<ChildKind, String>;

/// The folders of the package and what each one holds.
#[derive(Default)]
pub(super) struct Tree {
    rows: Vec<(String, Option<String>, String)>, // key, parent, long name ("" for roots)
    keys: HashSet<String>,
    display: HashMap<String, String>,
    children: HashMap<(String, String), Child>,
}

impl Tree {
    /// A tree holding only TARGETDIR (`SourceDir`).
    pub(super) fn new() -> Tree {
        let mut tree = Tree::default();
        tree.root("TARGETDIR", None, "SourceDir");
        tree
    }

    /// Adds a root or system folder row (once; later calls with the same key do nothing).
    pub(super) fn root(&mut self, key: &str, parent: Option<&str>, name: &str) {
        if self.keys.insert(key.to_string()) {
            self.rows.push((
                key.to_string(),
                parent.map(str::to_string),
                name.to_string(),
            ));
            self.display.insert(key.to_string(), key.to_string());
        }
    }

    /// The folder's path for messages and GUID derivation, e.g. `ProgramFiles64Folder\Hello`.
    pub(super) fn display(&self, key: &str) -> &str {
        &self.display[key]
    }

    /// Adds `under\path...` with the last folder keyed `key`.
    pub(super) fn add_path(
        &mut self,
        under: KnownFolder,
        path: &[String],
        key: &str,
        field: &str,
        what: &str,
    ) -> Result<String, MsiError> {
        if path.is_empty() {
            return Err(MsiError::text(field, "needs at least one folder name"));
        }
        self.root(under.directory_key(), Some("TARGETDIR"), "");
        let mut parent = under.directory_key().to_string();
        for (j, name) in path.iter().enumerate() {
            check_long_name(&format!("{field}[{j}]"), name)?;
            let last = j + 1 == path.len();
            parent = self.add_dir(
                &parent,
                name,
                last.then_some(key),
                if last { what } else { "an intermediate folder" },
            )?;
        }
        Ok(parent)
    }

    /// Adds (or finds) the folder `name` under `parent`, keyed `fixed_key` or by a hash of its path.
    pub(super) fn add_dir(
        &mut self,
        parent: &str,
        name: &str,
        fixed_key: Option<&str>,
        what: &str,
    ) -> Result<String, MsiError> {
        let slot = (parent.to_string(), fold(name));
        if let Some(child) = self.children.get(&slot) {
            if let ChildKind::Dir(existing) = &child.kind {
                if child.name == name && fixed_key.is_none_or(|k| k == existing) {
                    return Ok(existing.clone());
                }
            }
            return Err(self.clash(parent, name, child, what.to_string()));
        }
        let key = match fixed_key {
            Some(key) => key.to_string(),
            None => {
                let digest = Sha256::digest(format!("{parent}\\{}", fold(name)).as_bytes());
                let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
                format!("dir_{hex}")
            }
        };
        if !self.keys.insert(key.clone()) {
            return Err(MsiError::DuplicateKey {
                kind: "directory key",
                key,
            });
        }
        self.rows
            .push((key.clone(), Some(parent.to_string()), name.to_string()));
        self.display
            .insert(key.clone(), format!("{}\\{}", self.display[parent], name));
        self.children.insert(
            slot,
            Child {
                name: name.to_string(),
                kind: ChildKind::Dir(key.clone()),
                what: what.to_string(),
            },
        );
        Ok(key)
    }

    /// Records the file `name` (File key `file_key`) in the folder `parent`.
    pub(super) fn add_file(
        &mut self,
        parent: &str,
        name: &str,
        file_key: &str,
    ) -> Result<(), MsiError> {
        let slot = (parent.to_string(), fold(name));
        let what = format!("file {file_key:?}");
        if let Some(child) = self.children.get(&slot) {
            return Err(self.clash(parent, name, child, what));
        }
        self.children.insert(
            slot,
            Child {
                name: name.to_string(),
                kind: ChildKind::File(file_key.to_string()),
                what,
            },
        );
        Ok(())
    }

    /// The error for `second` taking a name `child` already has in `parent`.
    fn clash(&self, parent: &str, name: &str, child: &Child, second: String) -> MsiError {
        MsiError::NameClash {
            dir: self.display[parent].clone(),
            name: name.to_string(),
            first: child.what.clone(),
            second,
        }
    }

    /// Assigns each child its Filename/DefaultDir value: the long name alone when it is a valid
    /// 8.3 name, else `short|long` with a generated short name unique within the folder.
    pub(super) fn short_names(&self) -> ShortNames {
        let mut by_parent: BTreeMap<&str, Vec<(&String, &Child)>> = BTreeMap::new();
        for ((parent, folded), child) in &self.children {
            by_parent
                .entry(parent.as_str())
                .or_default()
                .push((folded, child));
        }
        let mut out = HashMap::new();
        for (parent, mut children) in by_parent {
            children.sort_by(|a, b| a.0.cmp(b.0));
            let mut used: HashSet<String> = children
                .iter()
                .filter(|(_, c)| is_short_name(&c.name))
                .map(|(folded, _)| (*folded).clone())
                .collect();
            for (_, child) in children {
                let value = if is_short_name(&child.name) {
                    child.name.clone()
                } else {
                    let mut attempt = 0;
                    let short = loop {
                        let candidate = generated_short_name(parent, &child.name, attempt);
                        if used.insert(fold(&candidate)) {
                            break candidate;
                        }
                        attempt += 1;
                    };
                    format!("{short}|{}", child.name)
                };
                out.insert(child.kind.clone(), value);
            }
        }
        out
    }

    /// The Directory table rows, in the order the folders were added.
    pub(super) fn dir_rows(&self, names: &ShortNames) -> Vec<DirRow> {
        self.rows
            .iter()
            .map(|(key, parent, name)| DirRow {
                key: key.clone(),
                parent: parent.clone(),
                default_dir: match parent.as_deref() {
                    None => name.clone(),
                    Some("TARGETDIR") if name.is_empty() => ".".to_string(),
                    Some(_) => names[&ChildKind::Dir(key.clone())].clone(),
                },
            })
            .collect()
    }
}
