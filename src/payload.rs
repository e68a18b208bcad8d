//! The file set: what a release installs besides the service exe and its default config.
//! Extra binaries (`[[binaries]]`, built by the build stage like the service), extra files and
//! folders (`[[files]]`, globs relative to the workspace root) and empty folders (`[[folders]]`),
//! each placed under the install folder or the data folder.
//!
//! The MSI and the portable zip both take the one [`Payload`] resolved here, so they ship the
//! same files in the same places.
//!
//! *Invariant:* a resolved payload is sorted, has no two files at the same place (compared as
//! Windows compares names) and holds only regular files inside the workspace, each with a path
//! whose every component is a name Windows accepts.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::publish::check_windows_name;

/// An extra main package: built like the service, installed next to it, not a service itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryConfig {
    /// The main package, relative to `service_dir` (`./cmd/myctl`).
    pub go_package: String,
    /// The exe's base name (`myctl`: installed as `myctl.exe`).
    pub exe_name: String,
}

/// Everything a release installs, as the MSI and the zip both take it.
#[derive(Debug, Clone, Copy)]
pub struct FileSet<'a> {
    /// The service's exe and the `[[binaries]]`.
    pub exes: &'a crate::gobuild::BuiltExes,
    /// The rendered default config, when the service has one.
    pub config: Option<&'a crate::service_config::DefaultConfig>,
    /// Extra files and empty folders.
    pub payload: &'a Payload,
}

/// What a release ships besides its exes, read from the workspace: the rendered default config
/// and the payload. The release plan reads it (so a broken template or a glob that matches
/// nothing stops a release before anything is built); the MSI and zip stages take it.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub config: Option<crate::service_config::DefaultConfig>,
    pub payload: Payload,
}

/// Why the contents could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContentsError {
    #[error(transparent)]
    Config(#[from] crate::service_config::ServiceConfigError),
    #[error("{file}: {table}: {source}", table = crate::config::METADATA_TABLE)]
    Payload {
        file: PathBuf,
        #[source]
        source: PayloadError,
    },
}

impl Contents {
    /// Renders and checks the default config and resolves the `files` and `folders` settings.
    pub fn read(project: &crate::config::Project) -> Result<Contents, ContentsError> {
        let config = &project.config;
        Ok(Contents {
            config: crate::service_config::default_config(&project.root, config)?,
            payload: resolve(&project.root, &config.files, &config.folders).map_err(|source| {
                ContentsError::Payload {
                    file: project.manifest.clone(),
                    source,
                }
            })?,
        })
    }

    /// The whole file set once the exes are built.
    pub fn with<'a>(&'a self, exes: &'a crate::gobuild::BuiltExes) -> FileSet<'a> {
        FileSet {
            exes,
            config: self.config.as_ref(),
            payload: &self.payload,
        }
    }
}

/// Where a file or folder goes on the target machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// The program folder (`ProgramFiles\<product>`, `INSTALLDIR`).
    #[default]
    Install,
    /// The data folder (`ProgramData\<product>`, `DATADIR`), where the config lives.
    Data,
}

/// `[[files]]`: files shipped as they are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A file, a folder (taken whole) or a glob (`web/static/**/*`), relative to the
    /// workspace root. Below a folder or a glob's fixed prefix, sub-folders are kept.
    pub src: String,
    /// The folder under `location` the files go to (`static`); default: `location` itself.
    #[serde(default)]
    pub dst: String,
    #[serde(default)]
    pub location: Location,
    /// Config-like: never overwritten on upgrade, kept on uninstall (an admin's edits win).
    #[serde(default)]
    pub keep: bool,
}

/// `[[folders]]`: a folder created on install even when empty (`logs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    pub path: String,
    #[serde(default)]
    pub location: Location,
}

/// One file the release installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// The file in the workspace.
    pub source: PathBuf,
    pub location: Location,
    /// Folder names below `location`.
    pub dir: Vec<String>,
    pub name: String,
    /// Never overwritten, kept on uninstall.
    pub keep: bool,
}

impl PayloadFile {
    /// `dir/name` below its location, `/`-separated (the zip's entry name).
    pub fn relative_path(&self) -> String {
        join(&self.dir, &self.name)
    }
}

impl Location {
    /// `install` or `data`, as written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Location::Install => "install",
            Location::Data => "data",
        }
    }
}

/// One empty folder the release creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFolder {
    pub location: Location,
    /// Folder names below `location` (at least one).
    pub path: Vec<String>,
}

/// The resolved extra files and folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    pub files: Vec<PayloadFile>,
    pub folders: Vec<PayloadFolder>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("files[{index}].src = {pattern:?} matches no file\nfix: correct the path or glob (it is relative to the workspace root {root})")]
    NoMatch {
        index: usize,
        pattern: String,
        root: PathBuf,
    },
    #[error("files[{index}].src = {pattern:?} is not a valid glob: {message}")]
    BadGlob {
        index: usize,
        pattern: String,
        message: String,
    },
    #[error("files[{index}]: {path}: {message}")]
    BadFile {
        index: usize,
        path: PathBuf,
        message: String,
    },
    #[error("{first} and {second} would both be installed as {target}\nfix: give one of them another `dst`")]
    Clash {
        first: PathBuf,
        second: PathBuf,
        target: String,
    },
}

/// Checks the `binaries`, `files` and `folders` settings; `Err` is (key, message).
pub fn check_config(
    binaries: &[BinaryConfig],
    files: &[FileConfig],
    folders: &[FolderConfig],
) -> Result<(), (String, String)> {
    for (i, binary) in binaries.iter().enumerate() {
        check_exe_name(&binary.exe_name).map_err(|m| (format!("binaries[{i}].exe_name"), m))?;
    }
    for (i, file) in files.iter().enumerate() {
        if file.src.trim().is_empty() {
            return Err((format!("files[{i}].src"), "must not be empty".into()));
        }
        check_relative(&file.src, true).map_err(|m| (format!("files[{i}].src"), m))?;
        if !file.dst.is_empty() {
            check_relative(&file.dst, false).map_err(|m| (format!("files[{i}].dst"), m))?;
        }
    }
    for (i, folder) in folders.iter().enumerate() {
        check_relative(&folder.path, false).map_err(|m| (format!("folders[{i}].path"), m))?;
    }
    Ok(())
}

/// An exe base name: a Windows file name without `.exe` (hyphens, spaces and non-ASCII are
/// fine; Windows Installer identifiers are derived from it, never taken verbatim).
pub fn check_exe_name(name: &str) -> Result<(), String> {
    check_windows_name(name).map_err(|m| {
        format!("{name:?} {m}; use the exe's file name without a path and without .exe")
    })?;
    if name.to_ascii_lowercase().ends_with(".exe") {
        return Err("must not end in .exe; winrelease adds it".into());
    }
    Ok(())
}

/// A relative path whose components are Windows names (glob characters allowed in `src`).
fn check_relative(path: &str, is_src: bool) -> Result<(), String> {
    let p = Path::new(path);
    if p.is_absolute() || path.starts_with('\\') || path.contains(':') {
        return Err(format!(
            "{path:?} is absolute; give a path relative to {}",
            if is_src {
                "the workspace root"
            } else {
                "the install or data folder"
            }
        ));
    }
    for part in path.split(['/', '\\']).filter(|s| !s.is_empty()) {
        if part == ".." {
            return Err(format!("{path:?} leaves its folder (`..`)"));
        }
        let wild = is_src && part.contains(['*', '?', '[']);
        if part != "." && !wild {
            check_windows_name(part).map_err(|m| format!("{path:?}: {part:?} {m}"))?;
        }
    }
    Ok(())
}

/// Resolves the `files` and `folders` settings against the workspace at `root`.
pub fn resolve(
    root: &Path,
    files: &[FileConfig],
    folders: &[FolderConfig],
) -> Result<Payload, PayloadError> {
    let mut placed: BTreeMap<(Location, String), PayloadFile> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        for (source, below) in expand(root, index, &file.src)? {
            let mut dir = components(&file.dst);
            dir.extend(below.iter().take(below.len() - 1).cloned());
            let name = below.last().cloned().unwrap_or_default();
            for part in dir.iter().chain([&name]) {
                check_windows_name(part).map_err(|message| PayloadError::BadFile {
                    index,
                    path: source.clone(),
                    message: format!("{part:?} {message}"),
                })?;
            }
            let entry = PayloadFile {
                source,
                location: file.location,
                dir,
                name,
                keep: file.keep,
            };
            insert(&mut placed, entry)?;
        }
    }
    let mut folders: Vec<PayloadFolder> = folders
        .iter()
        .map(|f| PayloadFolder {
            location: f.location,
            path: components(&f.path),
        })
        .filter(|f| !f.path.is_empty())
        .collect();
    folders.sort_by_key(|f| (f.location, f.path.join("/").to_uppercase()));
    folders.dedup_by_key(|f| (f.location, f.path.join("/").to_uppercase()));
    Ok(Payload {
        files: placed.into_values().collect(),
        folders,
    })
}

/// Adds `entry`, refusing a second file at the same place (names compared as Windows does).
fn insert(
    placed: &mut BTreeMap<(Location, String), PayloadFile>,
    entry: PayloadFile,
) -> Result<(), PayloadError> {
    let slot = (entry.location, entry.relative_path().to_uppercase());
    if let Some(first) = placed.get(&slot) {
        let target = format!("{:?} {}", entry.location, entry.relative_path());
        return Err(PayloadError::Clash {
            first: first.source.clone(),
            second: entry.source,
            target,
        });
    }
    placed.insert(slot, entry);
    Ok(())
}

/// The regular files `pattern` names, each with its path components below the pattern's
/// fixed prefix (a plain file: its name alone), sorted.
fn expand(
    root: &Path,
    index: usize,
    pattern: &str,
) -> Result<Vec<(PathBuf, Vec<String>)>, PayloadError> {
    let normalized = pattern.replace('\\', "/");
    let fixed: Vec<&str> = normalized
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .take_while(|s| !s.contains(['*', '?', '[']))
        .collect();
    let base = root.join(fixed.iter().collect::<PathBuf>());
    let full = root.join(&normalized);
    let mut found: Vec<(PathBuf, Vec<String>)> = Vec::new();
    if base == full && base.is_file() {
        let name = fixed.last().map(|s| s.to_string()).unwrap_or_default();
        found.push((base, vec![name]));
    } else if base == full && base.is_dir() {
        walk(&base, &mut Vec::new(), &mut found).map_err(|e| bad_file(index, &base, e))?;
    } else {
        let text = full.to_string_lossy().into_owned();
        let paths = glob::glob(&text).map_err(|e| PayloadError::BadGlob {
            index,
            pattern: pattern.to_string(),
            message: e.to_string(),
        })?;
        for path in paths {
            let path = path.map_err(|e| bad_file(index, e.path(), e.to_string()))?;
            if path.is_file() {
                let below = below(&base, &path).map_err(|m| bad_file(index, &path, m))?;
                found.push((path, below));
            }
        }
    }
    if found.is_empty() {
        return Err(PayloadError::NoMatch {
            index,
            pattern: pattern.to_string(),
            root: root.to_path_buf(),
        });
    }
    found.sort();
    Ok(found)
}

/// Every regular file below `dir`, with its path components below the starting folder.
fn walk(
    dir: &Path,
    prefix: &mut Vec<String>,
    found: &mut Vec<(PathBuf, Vec<String>)>,
) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| format!("the name {n:?} is not valid Unicode"))?;
        prefix.push(name);
        if path.is_dir() {
            walk(&path, prefix, found)?;
        } else if path.is_file() {
            found.push((path, prefix.clone()));
        }
        prefix.pop();
    }
    Ok(())
}

/// `path`'s components below `base`, as Unicode names.
fn below(base: &Path, path: &Path) -> Result<Vec<String>, String> {
    let rest = path
        .strip_prefix(base)
        .map_err(|_| format!("is outside {}", base.display()))?;
    rest.components()
        .map(|c| match c {
            Component::Normal(n) => n
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| format!("the name {n:?} is not valid Unicode")),
            other => Err(format!("has the component {other:?}")),
        })
        .collect()
}

fn bad_file(index: usize, path: &Path, message: impl Into<String>) -> PayloadError {
    PayloadError::BadFile {
        index,
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The non-empty, non-`.` components of a `/`- or `\`-separated relative path.
fn components(path: &str) -> Vec<String> {
    path.split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .map(str::to_string)
        .collect()
}

fn join(dir: &[String], name: &str) -> String {
    dir.iter()
        .map(String::as_str)
        .chain([name])
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(src: &str, dst: &str, location: Location) -> FileConfig {
        FileConfig {
            src: src.into(),
            dst: dst.into(),
            location,
            keep: false,
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("web/static/index.html", "<h1>hi</h1>"),
            ("web/static/css/site.css", "body{}"),
            ("web/static/Ünïcode 文件.txt", "x"),
            ("LICENSE", "MIT"),
            ("conf/extra.yaml", "a: 1"),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn folders_globs_and_plain_files_keep_their_sub_folders() {
        let dir = tree();
        let payload = resolve(
            dir.path(),
            &[
                file("web/static", "static", Location::Install),
                file("conf/*.yaml", "", Location::Data),
                file("LICENSE", "doc", Location::Install),
            ],
            &[FolderConfig {
                path: "logs".into(),
                location: Location::Data,
            }],
        )
        .unwrap();
        let placed: Vec<(Location, String)> = payload
            .files
            .iter()
            .map(|f| (f.location, f.relative_path()))
            .collect();
        assert_eq!(
            placed,
            [
                (Location::Install, "doc/LICENSE".to_string()),
                (Location::Install, "static/css/site.css".to_string()),
                (Location::Install, "static/index.html".to_string()),
                (Location::Install, "static/Ünïcode 文件.txt".to_string()),
                (Location::Data, "extra.yaml".to_string()),
            ]
        );
        assert_eq!(payload.folders[0].path, ["logs"]);
    }

    #[test]
    fn a_glob_matching_nothing_or_two_files_in_one_place_is_refused() {
        let dir = tree();
        let err = resolve(dir.path(), &[file("web/*.png", "", Location::Install)], &[]);
        assert!(matches!(err, Err(PayloadError::NoMatch { .. })), "{err:?}");
        let err = resolve(
            dir.path(),
            &[
                file("LICENSE", "", Location::Install),
                file("web/static/../../LICENSE", "", Location::Install),
            ],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("would both be installed"), "{err}");
    }

    #[test]
    fn paths_that_leave_their_folder_or_windows_cannot_hold_are_refused() {
        for (dst, needle) in [
            ("../x", "leaves its folder"),
            ("/abs", "absolute"),
            ("C:/x", "absolute"),
            ("logs/CON", "reserved"),
            ("trailing. ", "ends with"),
        ] {
            let err =
                check_config(&[], &[file("LICENSE", dst, Location::Install)], &[]).unwrap_err();
            assert_eq!(err.0, "files[0].dst");
            assert!(err.1.contains(needle), "{dst}: {}", err.1);
        }
        assert!(check_exe_name("my-svc").is_ok());
        assert!(check_exe_name("My Service 2").is_ok());
        assert!(check_exe_name("服务").is_ok());
        assert!(check_exe_name("a/b").is_err());
        assert!(check_exe_name("x.exe").is_err());
    }
}
