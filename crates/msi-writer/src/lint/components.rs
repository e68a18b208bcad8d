//! Directory, component, file and media rules (ICE05, ICE08, ICE18, ICE21, ICE30, ICE80,
//! WR-DIRECTORY-TREE, WR-MEDIA).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{key_of, Linter};
use crate::read::category::is_guid;

impl Linter {
    /// Directory → parent, for every row with a key.
    fn directory_parents(&mut self) -> HashMap<String, Option<String>> {
        let t = self.rows("Directory");
        t.rows
            .iter()
            .filter_map(|r| {
                Some((
                    t.text(r, "Directory")?.to_string(),
                    t.text(r, "Directory_Parent").map(str::to_string),
                ))
            })
            .collect()
    }

    /// ICE05/ICE03-like: TARGETDIR is the single root and every directory reaches it.
    pub(super) fn directories(&mut self) {
        const T: &str = "Directory";
        let parents = self.directory_parents();
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
}

/// `start` and its ancestors, up to a root or a loop.
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

/// What the component rules look up in other tables.
struct Context {
    files: HashMap<String, String>,
    registry: HashMap<String, String>,
    create_folders: HashSet<(String, String)>,
    in_feature: HashSet<String>,
    parents: HashMap<String, Option<String>>,
    x64: bool,
}

impl Linter {
    fn component_context(&mut self) -> Context {
        let pairs = |linter: &mut Linter, table: &str, a: &str, b: &str| {
            linter.text_pairs(table, a, b).into_iter()
        };
        let features = self.rows("FeatureComponents");
        Context {
            files: pairs(self, "File", "File", "Component_").collect(),
            registry: pairs(self, "Registry", "Registry", "Component_").collect(),
            create_folders: pairs(self, "CreateFolder", "Directory_", "Component_").collect(),
            in_feature: features
                .rows
                .iter()
                .filter_map(|r| features.text(r, "Component_").map(str::to_string))
                .collect(),
            parents: self.directory_parents(),
            x64: self.pkg.summary().platform().as_deref() == Some("x64"),
        }
    }

    /// ICE08 (duplicate GUIDs), ICE18/ICE21 (key paths, feature membership), ICE80 (bitness).
    pub(super) fn components(&mut self) {
        const T: &str = "Component";
        let components = self.rows(T);
        let context = self.component_context();
        let mut guids: BTreeMap<String, String> = BTreeMap::new();
        for row in &components.rows {
            let Some(key) = components.text(row, "Component").map(str::to_string) else {
                continue;
            };
            let attributes = components.int(row, "Attributes").unwrap_or(0);
            self.component_id(&mut guids, &key, components.text(row, "ComponentId"));
            if !context.in_feature.contains(&key) {
                self.error(
                    "ICE21",
                    T,
                    Some(key.clone()),
                    "the component belongs to no feature",
                );
            }
            let directory = components.text(row, "Directory_").unwrap_or("").to_string();
            let key_path = components.text(row, "KeyPath");
            self.key_path(&context, &key, attributes, &directory, key_path);
            self.bitness(&context, &key, attributes, &directory);
        }
    }

    /// ICE08: a ComponentId is an upper-case braced GUID used by one component only.
    fn component_id(
        &mut self,
        guids: &mut BTreeMap<String, String>,
        key: &str,
        guid: Option<&str>,
    ) {
        const T: &str = "Component";
        let key = key.to_string();
        if let Some(guid) = guid {
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
    }

    /// ICE18: the key path exists and belongs to this component.
    fn key_path(
        &mut self,
        context: &Context,
        key: &str,
        attributes: i32,
        directory: &str,
        key_path: Option<&str>,
    ) {
        const T: &str = "Component";
        let key = key.to_string();
        match key_path {
            None => {
                if !context
                    .create_folders
                    .contains(&(directory.to_string(), key.clone()))
                {
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
                    (context.registry.get(key_path), "Registry")
                } else if attributes & 0x20 != 0 {
                    (None, "ODBCDataSource")
                } else {
                    (context.files.get(key_path), "File")
                };
                match owner {
                    Some(owner) if owner == &key => {}
                    Some(owner) => self.error(
                        "ICE18",
                        T,
                        Some(key.clone()),
                        format!(
                            "KeyPath {key_path:?} belongs to component {owner:?}, not to this one"
                        ),
                    ),
                    None if kind == "ODBCDataSource" => {}
                    None => self.error(
                        "ICE18",
                        T,
                        Some(key.clone()),
                        format!("KeyPath {key_path:?} is not in the {kind} table"),
                    ),
                }
            }
        }
    }

    /// ICE80: 64-bit components under 64-bit folders, 32-bit ones under 32-bit folders.
    fn bitness(&mut self, context: &Context, key: &str, attributes: i32, directory: &str) {
        const T: &str = "Component";
        let key = key.to_string();
        let chain = directory_chain(&context.parents, directory);
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
        if !is_64 && context.x64 {
            self.warn(
                "ICE80",
                T,
                Some(key.clone()),
                "32-bit component in an x64 package: it is installed to the 32-bit registry view",
            );
        }
    }

    /// ICE30: two files installed to the same path.
    pub(super) fn duplicate_targets(&mut self) {
        let component_dirs: HashMap<String, String> = self
            .text_pairs("Component", "Component", "Directory_")
            .into_iter()
            .collect();
        let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
        let t = self.rows("File");
        for row in &t.rows {
            let (Some(key), Some(component), Some(name)) = (
                t.text(row, "File"),
                t.text(row, "Component_"),
                t.text(row, "FileName"),
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

    /// WR-MEDIA: embedded cabinets exist and every file's sequence is on a medium.
    pub(super) fn media(&mut self) {
        let media = self.rows("Media");
        let last = media
            .rows
            .iter()
            .filter_map(|r| media.int(r, "LastSequence"))
            .max()
            .unwrap_or(0);
        for row in &media.rows {
            if let Some(cabinet) = media.text(row, "Cabinet") {
                if let Some(stream) = cabinet.strip_prefix('#') {
                    if !self.pkg.has_stream(stream) {
                        self.error(
                            "WR-MEDIA",
                            "Media",
                            Some(key_of(&media, row)),
                            format!("embedded cabinet stream {stream:?} is missing"),
                        );
                    }
                }
            }
        }
        let files = self.rows("File");
        for row in &files.rows {
            if let Some(sequence) = files.int(row, "Sequence") {
                if sequence > last {
                    self.error(
                        "WR-MEDIA",
                        "File",
                        Some(key_of(&files, row)),
                        format!(
                            "Sequence {sequence} is beyond the last Media.LastSequence ({last})"
                        ),
                    );
                }
            }
        }
    }
}
