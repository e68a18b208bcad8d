//! Validation of a [`Package`] and resolution of everything the tables need: the directory tree,
//! 8.3 names, component GUIDs, file sizes and sequence numbers.
//!
//! All checks run here, before anything is written; the table builder may then assume a valid
//! model. Iteration is over the model's vectors or sorted maps only, so the plan is deterministic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;

use sha2::{Digest, Sha256};

use crate::cp1252;
use crate::error::MsiError;
use crate::guid::Guid;
use crate::model::*;
use crate::names::{
    check_identifier, check_long_name, check_optional_text, check_text, escape_formatted, fold,
    generated_short_name, is_short_name,
};

/// Most payload files per package (one component each). The CAB format allows 65,535 files and
/// tables are best kept well under 65,536 rows; 32,767 leaves room and keeps every string's
/// reference count within 16 bits.
pub(crate) const MAX_FILES: usize = 32_767;
/// Windows Installer cannot open packages of 2 GiB or more, so the payload must stay below that.
pub(crate) const MAX_PAYLOAD_BYTES: u64 = 0x7FFF_8000;
/// Firewall rules get fixed sequence slots between InstallServices and StartServices.
pub(crate) const MAX_FIREWALL_RULES: usize = 20;
/// Commands get fixed sequence slots between WriteRegistryValues and WriteIniValues.
pub(crate) const MAX_COMMANDS: usize = 40;

/// Directory key of the 64-bit system folder (where sc.exe and netsh.exe live).
pub(crate) const SYSTEM64_FOLDER: &str = "System64Folder";

/// Properties the writer sets itself.
pub(crate) const OLDER_FOUND: &str = "OLDERVERSIONFOUND";
pub(crate) const NEWER_FOUND: &str = "NEWERVERSIONFOUND";
pub(crate) const NEWER_VERSION: &str = "NEWERVERSION";
const RESERVED_PROPERTIES: &[&str] = &[
    "ALLUSERS",
    "ARPNOMODIFY",
    "ARPNOREPAIR",
    "ARPHELPLINK",
    "ARPURLINFOABOUT",
    "ARPCONTACT",
    "ARPCOMMENTS",
    "ARPINSTALLLOCATION",
    "REBOOT",
    "MSIRESTARTMANAGERCONTROL",
    "TARGETDIR",
    "SOURCEDIR",
    OLDER_FOUND,
    NEWER_FOUND,
    NEWER_VERSION,
];

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

/// Standard actions (they share the sequence tables' key space with custom actions).
pub(crate) const STANDARD_ACTIONS: &[&str] = &[
    "AppSearch",
    "CostFinalize",
    "CostInitialize",
    "CreateFolders",
    "DeleteServices",
    "ExecuteAction",
    "FileCost",
    "FindRelatedProducts",
    "InstallAdminPackage",
    "InstallFiles",
    "InstallFinalize",
    "InstallInitialize",
    "InstallServices",
    "InstallValidate",
    "LaunchConditions",
    "MigrateFeatureStates",
    "ProcessComponents",
    "PublishFeatures",
    "PublishProduct",
    "RegisterProduct",
    "RegisterUser",
    "RemoveExistingProducts",
    "RemoveFiles",
    "RemoveFolders",
    "RemoveRegistryValues",
    "StartServices",
    "StopServices",
    "UnpublishFeatures",
    "ValidateProductID",
    "WriteRegistryValues",
];

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

/// A component that only creates a folder (`DataDir::create`).
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

/// What lives in a folder, for case-insensitive clash detection and short-name assignment.
#[derive(Clone, Debug)]
struct Child {
    name: String,
    kind: ChildKind,
    what: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ChildKind {
    Dir(String),
    File(String),
}

#[derive(Default)]
struct Tree {
    rows: Vec<(String, Option<String>, String)>, // key, parent, long name ("" for roots)
    keys: HashSet<String>,
    display: HashMap<String, String>,
    children: HashMap<(String, String), Child>,
}

impl Tree {
    fn root(&mut self, key: &str, parent: Option<&str>, name: &str) {
        if self.keys.insert(key.to_string()) {
            self.rows.push((
                key.to_string(),
                parent.map(str::to_string),
                name.to_string(),
            ));
            self.display.insert(key.to_string(), key.to_string());
        }
    }

    fn add_dir(
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
            return Err(MsiError::NameClash {
                dir: self.display[parent].clone(),
                name: name.to_string(),
                first: child.what.clone(),
                second: what.to_string(),
            });
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

    fn add_file(&mut self, parent: &str, name: &str, file_key: &str) -> Result<(), MsiError> {
        let slot = (parent.to_string(), fold(name));
        let what = format!("file {file_key:?}");
        if let Some(child) = self.children.get(&slot) {
            return Err(MsiError::NameClash {
                dir: self.display[parent].clone(),
                name: name.to_string(),
                first: child.what.clone(),
                second: what,
            });
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

    /// Assigns each child its Filename/DefaultDir value: the long name alone when it is a valid
    /// 8.3 name, else `short|long` with a generated short name unique within the folder.
    fn short_names(&self) -> HashMap<ChildKind, String> {
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
}

fn check_guid(field: &str, guid: &Guid) -> Result<(), MsiError> {
    if guid.is_nil() {
        return Err(MsiError::NilGuid {
            field: field.into(),
        });
    }
    Ok(())
}

fn check_public_property_name(field: &str, name: &str) -> Result<(), MsiError> {
    check_identifier(field, name, 72)?;
    if name.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(MsiError::InvalidProperty {
            name: name.to_string(),
            reason: "public properties must be all upper case (Windows Installer ignores mixed-case names on the \
                     command line and in managed installs)"
                .into(),
        });
    }
    Ok(())
}

/// Service names: what the service control manager accepts, minus characters that would break
/// the generated `sc.exe` command lines.
pub(crate) fn check_service_name(name: &str) -> Result<(), MsiError> {
    let bad = |reason: &str| MsiError::InvalidServiceName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > 256 {
        return Err(bad("longer than 256 characters"));
    }
    if let Some(ch) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '"') || c.is_control())
    {
        return Err(bad(&format!(
            "{ch:?} is not allowed (no '/', '\\', '\"' or control characters)"
        )));
    }
    if name.trim() != name {
        return Err(bad("leading or trailing spaces"));
    }
    if let Some(ch) = cp1252::first_unencodable(name) {
        return Err(bad(&format!("{ch:?} is outside Windows-1252")));
    }
    Ok(())
}

fn check_version(field: &str, version: &str) -> Result<(), MsiError> {
    let parts: Vec<&str> = version.split('.').collect();
    let ok = (1..=4).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|v| v <= 65535)
        });
    if ok {
        Ok(())
    } else {
        Err(MsiError::InvalidVersion {
            value: version.to_string(),
            reason: format!("{field}: a file version is 1 to 4 numbers from 0 to 65535 separated by dots (e.g. 1.4.2.0)"),
        })
    }
}

/// Validates the model and resolves the plan. Reads the metadata of payload files named by path.
pub(crate) fn plan(pkg: &Package) -> Result<Plan<'_>, MsiError> {
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

    // Directory tree.
    let mut tree = Tree::default();
    tree.root("TARGETDIR", None, "SourceDir");
    let install = &pkg.install_dir;
    check_public_property_name("install_dir.property", &install.property)?;
    if RESERVED_PROPERTIES.contains(&install.property.as_str()) {
        return Err(MsiError::ReservedName {
            kind: "install directory property",
            key: install.property.clone(),
        });
    }
    let install_key = add_path(
        &mut tree,
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
        if data.key == install.property
            || data.key == "TARGETDIR"
            || data.key.starts_with("dir_")
            || SYSTEM_FOLDERS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&data.key))
            || RESERVED_PROPERTIES.contains(&data.key.as_str())
        {
            return Err(MsiError::ReservedName {
                kind: "data directory key",
                key: data.key.clone(),
            });
        }
        if data_keys.contains_key(data.key.as_str()) {
            return Err(MsiError::DuplicateKey {
                kind: "data directory key",
                key: data.key.clone(),
            });
        }
        let key = add_path(
            &mut tree,
            data.under,
            &data.path,
            &data.key,
            &format!("{field}.path"),
            &format!("data directory {:?}", data.key),
        )?;
        data_keys.insert(&data.key, key);
    }

    // Files.
    if pkg.files.len() > MAX_FILES {
        return Err(MsiError::LimitExceeded {
            what: "payload files".into(),
            count: pkg.files.len() as u64,
            max: MAX_FILES as u64,
            why: "one component per file; tables are kept below 32,768 rows",
        });
    }
    let mut file_index: HashMap<&str, usize> = HashMap::new();
    let mut staged = Vec::with_capacity(pkg.files.len());
    let mut payload_bytes = 0u64;
    for (i, file) in pkg.files.iter().enumerate() {
        let field = format!("files[{i}]");
        check_identifier(&format!("{field}.key"), &file.key, 72)?;
        if !file.key.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // Component keys appear in conditions ($key=3), whose identifiers start with a letter.
            return Err(MsiError::InvalidIdentifier {
                field: format!("{field}.key (must start with a letter)"),
                value: file.key.clone(),
                max: 72,
            });
        }
        if file_index.insert(&file.key, i).is_some() {
            return Err(MsiError::DuplicateKey {
                kind: "file key",
                key: file.key.clone(),
            });
        }
        check_long_name(&format!("{field}.name"), &file.name)?;
        if let Some(version) = &file.version {
            check_version(&format!("{field}.version"), version)?;
        }
        let base =
            match &file.dir.base {
                DirBase::Install => install_key.clone(),
                DirBase::Data(key) => data_keys.get(key.as_str()).cloned().ok_or_else(|| {
                    MsiError::UnknownReference {
                        field: format!("{field}.dir"),
                        kind: "data directory",
                        key: key.clone(),
                    }
                })?,
            };
        let mut dir_key = base;
        for (j, sub) in file.dir.sub.iter().enumerate() {
            check_long_name(&format!("{field}.dir.sub[{j}]"), sub)?;
            dir_key = tree.add_dir(
                &dir_key,
                sub,
                None,
                &format!("folder {sub:?} of file {:?}", file.key),
            )?;
        }
        tree.add_file(&dir_key, &file.name, &file.key)?;
        let size = match &file.source {
            Source::Bytes(bytes) => bytes.len() as u64,
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
                meta.len()
            }
        };
        if size > i32::MAX as u64 {
            return Err(MsiError::LimitExceeded {
                what: format!("size of file {:?}", file.key),
                count: size,
                max: i32::MAX as u64,
                why: "File.FileSize is a 32-bit signed integer",
            });
        }
        payload_bytes += size;
        staged.push((dir_key, size));
    }
    if payload_bytes > MAX_PAYLOAD_BYTES {
        return Err(MsiError::LimitExceeded {
            what: "total payload bytes".into(),
            count: payload_bytes,
            max: MAX_PAYLOAD_BYTES,
            why:
                "Windows Installer packages must stay below 2 GiB; ship large data outside the MSI",
        });
    }

    // Folder-only components.
    let mut folder_components = Vec::new();
    for data in &pkg.data_dirs {
        if data.create {
            let dir_key = data_keys[data.key.as_str()].clone();
            let path = tree.display[&dir_key].clone();
            folder_components.push(FolderComponent {
                key: format!("WrFolder.{}", data.key),
                guid: product
                    .upgrade_code
                    .derive(&format!("winrelease:folder:{}", fold(&path))),
                dir_key,
            });
        }
    }

    if pkg.recovery.is_some() || !pkg.firewall_rules.is_empty() {
        // Working directory of the sc.exe/netsh.exe custom actions.
        tree.root(SYSTEM64_FOLDER, Some("TARGETDIR"), "");
    }
    let names = tree.short_names();
    let mut files = Vec::with_capacity(pkg.files.len());
    for (i, (file, (dir_key, size))) in pkg.files.iter().zip(staged).enumerate() {
        let target = format!("{}\\{}", tree.display[&dir_key], file.name);
        let mut attributes = 0x100; // msidbComponentAttributes64bit
        if file.never_overwrite {
            attributes |= 0x80;
        }
        if file.permanent {
            attributes |= 0x10;
        }
        files.push(PlannedFile {
            spec: file,
            file_name: names[&ChildKind::File(file.key.clone())].clone(),
            formatted_path: format!("[{dir_key}]{}", escape_formatted(&file.name)),
            dir_key,
            size,
            sequence: i as i32 + 1,
            component_guid: product
                .upgrade_code
                .derive(&format!("winrelease:component:{}", fold(&target))),
            component_attributes: attributes,
        });
    }
    let dirs = tree
        .rows
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
        .collect();

    let plan = Plan {
        pkg,
        dirs,
        files,
        folder_components,
        file_index,
        payload_bytes,
    };
    check_service_and_friends(&plan)?;
    Ok(plan)
}

/// Adds `under\path...` with the last folder keyed `key`.
fn add_path(
    tree: &mut Tree,
    under: KnownFolder,
    path: &[String],
    key: &str,
    field: &str,
    what: &str,
) -> Result<String, MsiError> {
    if path.is_empty() {
        return Err(MsiError::text(field, "needs at least one folder name"));
    }
    tree.root(under.directory_key(), Some("TARGETDIR"), "");
    let mut parent = under.directory_key().to_string();
    for (j, name) in path.iter().enumerate() {
        check_long_name(&format!("{field}[{j}]"), name)?;
        let last = j + 1 == path.len();
        parent = tree.add_dir(
            &parent,
            name,
            last.then_some(key),
            if last { what } else { "an intermediate folder" },
        )?;
    }
    Ok(parent)
}

fn require_file(plan: &Plan<'_>, field: &str, key: &str) -> Result<(), MsiError> {
    if plan.file_index.contains_key(key) {
        Ok(())
    } else {
        Err(MsiError::UnknownReference {
            field: field.to_string(),
            kind: "file",
            key: key.to_string(),
        })
    }
}

fn check_service_and_friends(plan: &Plan<'_>) -> Result<(), MsiError> {
    let pkg = plan.pkg;
    if let Some(service) = &pkg.service {
        check_service_name(&service.name)?;
        check_text("service.display_name", &service.display_name, 256)?;
        check_optional_text("service.description", &service.description, 255)?;
        check_optional_text("service.arguments", &service.arguments, 255)?;
        require_file(plan, "service.exe", &service.exe)?;
        for dependency in &service.dependencies {
            check_service_name(dependency)?;
        }
        if let ServiceAccount::User {
            name,
            password_property,
        } = &service.account
        {
            check_text("service.account", name, 255)?;
            if let Some(property) = password_property {
                check_public_property_name("service.account.password_property", property)?;
                if pkg.properties.iter().any(|p| &p.name == property) {
                    return Err(MsiError::InvalidProperty {
                        name: property.clone(),
                        reason: "a password property must not have a default value in the package"
                            .into(),
                    });
                }
            }
        }
    }
    if let Some(recovery) = &pkg.recovery {
        if pkg.service.is_none() {
            return Err(MsiError::Missing {
                what: "recovery".into(),
                needs: "a service (Package::service)".into(),
            });
        }
        let _ = recovery;
    }
    if let Some(source) = &pkg.event_log_source {
        check_service_name(&source.name).map_err(|e| match e {
            MsiError::InvalidServiceName { name, reason } => {
                MsiError::text("event_log_source.name", format!("{name:?}: {reason}"))
            }
            other => other,
        })?;
        require_file(plan, "event_log_source.file", &source.file)?;
        if let MessageFile::File { key, .. } = &source.message_file {
            require_file(plan, "event_log_source.message_file", key)?;
        }
    }

    if pkg.firewall_rules.len() > MAX_FIREWALL_RULES {
        return Err(MsiError::LimitExceeded {
            what: "firewall rules".into(),
            count: pkg.firewall_rules.len() as u64,
            max: MAX_FIREWALL_RULES as u64,
            why: "each rule has fixed sequence slots before StartServices",
        });
    }
    let mut rule_names = HashSet::new();
    for (i, rule) in pkg.firewall_rules.iter().enumerate() {
        let field = format!("firewall_rules[{i}]");
        check_text(&format!("{field}.name"), &rule.name, 200)?;
        if rule.name.contains('"') {
            return Err(MsiError::text(
                format!("{field}.name"),
                "must not contain '\"' (it is quoted on the netsh command line)",
            ));
        }
        if !rule_names.insert(fold(&rule.name)) {
            return Err(MsiError::DuplicateKey {
                kind: "firewall rule name",
                key: rule.name.clone(),
            });
        }
        if rule.ports.is_empty() {
            return Err(MsiError::text(
                format!("{field}.ports"),
                "list at least one port",
            ));
        }
        if rule.ports.contains(&0) {
            return Err(MsiError::PortZero {
                field: format!("{field}.ports"),
            });
        }
        let distinct: BTreeSet<u16> = rule.ports.iter().copied().collect();
        if distinct.len() != rule.ports.len() {
            return Err(MsiError::text(
                format!("{field}.ports"),
                "lists a port twice",
            ));
        }
        let profiles: BTreeSet<FirewallProfile> = rule.profiles.iter().copied().collect();
        if profiles.len() != rule.profiles.len() {
            return Err(MsiError::text(
                format!("{field}.profiles"),
                "lists a profile twice",
            ));
        }
        match &rule.program {
            Some(key) => require_file(plan, &format!("{field}.program"), key)?,
            None if plan.files.is_empty() => {
                return Err(MsiError::Missing {
                    what: format!("{field} without a program"),
                    needs: "at least one payload file whose component it follows".into(),
                })
            }
            None => {}
        }
    }

    let mut property_names = HashSet::new();
    for (i, property) in pkg.properties.iter().enumerate() {
        let field = format!("properties[{i}]");
        check_public_property_name(&format!("{field}.name"), &property.name)?;
        let directory_keys: HashSet<&str> = plan.dirs.iter().map(|d| d.key.as_str()).collect();
        if RESERVED_PROPERTIES.contains(&property.name.as_str())
            || directory_keys.contains(property.name.as_str())
        {
            return Err(MsiError::ReservedName {
                kind: "property",
                key: property.name.clone(),
            });
        }
        if !property_names.insert(property.name.as_str()) {
            return Err(MsiError::DuplicateKey {
                kind: "property",
                key: property.name.clone(),
            });
        }
        check_text(&format!("{field}.value"), &property.value, 1024)?;
        match property.kind {
            PropertyKind::Text => {}
            PropertyKind::Port => match property.value.parse::<u32>() {
                Ok(0) => {
                    return Err(MsiError::PortZero {
                        field: format!("property {}", property.name),
                    })
                }
                Ok(port) if port <= 65535 && !property.value.starts_with('0') => {}
                _ => {
                    return Err(MsiError::InvalidProperty {
                        name: property.name.clone(),
                        reason: format!("{:?} is not a port number (1 to 65535)", property.value),
                    })
                }
            },
            PropertyKind::Integer => {
                if property.value.parse::<i64>().is_err() {
                    return Err(MsiError::InvalidProperty {
                        name: property.name.clone(),
                        reason: format!("{:?} is not a decimal integer", property.value),
                    });
                }
            }
        }
    }

    if pkg.commands.len() > MAX_COMMANDS {
        return Err(MsiError::LimitExceeded {
            what: "commands".into(),
            count: pkg.commands.len() as u64,
            max: MAX_COMMANDS as u64,
            why: "each command has a fixed sequence slot after WriteRegistryValues",
        });
    }
    let mut command_ids = HashSet::new();
    for (i, command) in pkg.commands.iter().enumerate() {
        let field = format!("commands[{i}]");
        check_identifier(&format!("{field}.id"), &command.id, 72)?;
        if command.id.starts_with("Wr") || STANDARD_ACTIONS.contains(&command.id.as_str()) {
            return Err(MsiError::ReservedName {
                kind: "custom action name (names starting with \"Wr\" and standard action names are reserved)",
                key: command.id.clone(),
            });
        }
        if !command_ids.insert(command.id.as_str()) {
            return Err(MsiError::DuplicateKey {
                kind: "command id",
                key: command.id.clone(),
            });
        }
        require_file(plan, &format!("{field}.file"), &command.file)?;
        check_optional_text(&format!("{field}.arguments"), &command.arguments, 255)?;
    }
    Ok(())
}
