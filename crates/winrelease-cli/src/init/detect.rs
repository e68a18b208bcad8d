//! What `init` finds in a Go repository: the module path, its main packages, the variables a
//! release stamps (`var Version`, `Commit`, … in any package), a config file and static folders.
//! Everything is read from files; nothing is run, nothing is written.
//!
//! *Invariant:* results are sorted, so the same repository always gives the same configuration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// What was found.
#[derive(Debug, Clone)]
pub struct Found {
    /// `module` line of `go.mod`.
    pub module: String,
    /// Main packages as `./cmd/name` (or `.`), sorted, with the exe name each gets.
    pub mains: Vec<MainPackage>,
    /// The package and variables to stamp, if any were found.
    pub stamp: Option<StampVars>,
    /// A config file, relative to the root (`configs/config.yaml`).
    pub config: Option<String>,
    /// Folders of static files at the root (`static`, `web`), relative to the root.
    pub static_dirs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainPackage {
    pub package: String,
    pub exe_name: String,
}

/// Stamped variables of one package.
#[derive(Debug, Clone)]
pub struct StampVars {
    /// `-X` import path: `main` for a main package, else the package's import path.
    pub import_path: String,
    /// (variable, GoReleaser template) pairs, in source order.
    pub vars: Vec<(String, &'static str)>,
    /// Variables found that a reproducible build cannot fill (a branch name), for the note.
    pub unfilled: Vec<String>,
}

/// Variable names (lower-cased) and what stamps them.
const STAMPED: &[(&str, &str)] = &[
    ("version", "{{.Version}}"),
    ("appversion", "{{.Version}}"),
    ("commit", "{{.FullCommit}}"),
    ("gitcommit", "{{.FullCommit}}"),
    ("revision", "{{.FullCommit}}"),
    ("commithash", "{{.FullCommit}}"),
    ("date", "{{.CommitDate}}"),
    ("builddate", "{{.CommitDate}}"),
    ("buildtime", "{{.CommitDate}}"),
    ("commitdate", "{{.CommitDate}}"),
    ("committime", "{{.CommitDate}}"),
    ("builtby", "winrelease"),
    ("dirty", "{{.IsGitDirty}}"),
];
/// Names recognised but left alone: the same commit builds the same bytes on every branch.
const UNFILLED: &[&str] = &["branch", "gitbranch", "builduser"];

/// Reads the repository at `root`.
pub fn detect(root: &Path) -> Result<Found> {
    let go_mod = root.join("go.mod");
    let text = std::fs::read_to_string(&go_mod).with_context(|| {
        format!(
            "{} has no go.mod; winrelease releases a Go module\nfix: run init on the folder that holds the service's go.mod",
            root.display()
        )
    })?;
    let module = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("module "))
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .with_context(|| format!("{}: no `module` line", go_mod.display()))?;
    let mut go_dirs = Vec::new();
    go_package_dirs(root, root, &mut go_dirs)?;
    let mains: Vec<MainPackage> = go_dirs
        .iter()
        .filter(|(_, package)| package == "main")
        .filter_map(|(rel, _)| main_package(&module, rel))
        .collect();
    if mains.is_empty() {
        bail!(
            "{}: no main package (a folder whose Go files say `package main`) at the root or under cmd/\nfix: winrelease builds a Go program; run init on the repository of one",
            root.display()
        );
    }
    Ok(Found {
        stamp: stamp_vars(root, &module, &go_dirs)?,
        config: config_file(root, &mains),
        static_dirs: static_dirs(root),
        module,
        mains,
    })
}

/// A main package at the root or one level under `cmd/`; others (examples, tools deep in the
/// tree) are not what a release ships.
fn main_package(module: &str, rel: &Path) -> Option<MainPackage> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [] => Some(MainPackage {
            package: ".".into(),
            exe_name: module.rsplit('/').next().unwrap_or(module).to_string(),
        }),
        [cmd, name] if cmd == "cmd" => Some(MainPackage {
            package: format!("./cmd/{name}"),
            exe_name: name.clone(),
        }),
        _ => None,
    }
}

/// Every folder below `root` with Go files (not tests, not vendor, testdata or hidden folders),
/// with its package name, sorted.
fn go_package_dirs(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    let mut package = None;
    for entry in &entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            let skip = name.starts_with('.')
                || name == "vendor"
                || name == "testdata"
                || (dir == root && name == "target");
            if !skip {
                go_package_dirs(root, &path, out)?;
            }
        } else if package.is_none() && name.ends_with(".go") && !name.ends_with("_test.go") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            package = package_clause(&text);
        }
    }
    if let Some(package) = package {
        let rel = dir.strip_prefix(root).unwrap_or(dir).to_path_buf();
        out.push((rel, package));
    }
    out.sort();
    Ok(())
}

/// The name in a Go file's `package` clause.
fn package_clause(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("package "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

/// The package whose string variables most look like version stamps (ties: the shortest
/// path), and those variables.
fn stamp_vars(
    root: &Path,
    module: &str,
    go_dirs: &[(PathBuf, String)],
) -> Result<Option<StampVars>> {
    let mut best: Option<(usize, StampVars)> = None;
    for (rel, package) in go_dirs {
        let mut vars = Vec::new();
        let mut unfilled = Vec::new();
        for name in string_vars(&root.join(rel))? {
            let lower = name.to_ascii_lowercase();
            if let Some((_, template)) = STAMPED.iter().find(|(n, _)| *n == lower) {
                vars.push((name, *template));
            } else if UNFILLED.contains(&lower.as_str()) {
                unfilled.push(name);
            }
        }
        if !vars.iter().any(|(_, t)| *t == "{{.Version}}") {
            continue;
        }
        let import_path = if package == "main" {
            "main".to_string()
        } else {
            let rel = rel.to_string_lossy().replace('\\', "/");
            format!("{module}/{rel}")
        };
        let score = vars.len();
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            let found = StampVars {
                import_path,
                vars,
                unfilled,
            };
            best = Some((score, found));
        }
    }
    Ok(best.map(|(_, vars)| vars))
}

/// Names of the package-level string variables declared in the Go files of `dir`
/// (`var Version = "dev"`, `var Version string`, and the same inside `var ( … )`).
fn string_vars(dir: &Path) -> Result<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            name.ends_with(".go") && !name.ends_with("_test.go")
        })
        .collect();
    files.sort();
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut in_block = false;
        for line in text.lines() {
            let line = line.trim();
            if in_block {
                if line.starts_with(')') {
                    in_block = false;
                } else {
                    names.extend(declared_strings(line));
                }
            } else if line == "var (" {
                in_block = true;
            } else if let Some(rest) = line.strip_prefix("var ") {
                names.extend(declared_strings(rest));
            }
        }
    }
    Ok(names)
}

/// `Version = "dev"`, `Version string`, `Commit, Date string` → the names, when the values
/// are strings (an `-X` sets only string variables).
fn declared_strings(decl: &str) -> Vec<String> {
    let decl = decl.split("//").next().unwrap_or("").trim();
    let names = match decl.split_once('=') {
        Some((_, value)) if !value.trim_start().starts_with(['"', '`']) => return Vec::new(),
        Some((names, _)) => names,
        None => match decl.strip_suffix("string") {
            Some(names) => names,
            None => return Vec::new(),
        },
    };
    let mut words: Vec<&str> = names
        .split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.last() == Some(&"string") {
        words.pop();
    }
    words
        .into_iter()
        .filter(|w| w.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// A config file the service ships: `config.*` (or `<exe>.*`) with a known extension at the
/// root or in `configs/`, `config/`, `conf/`, `etc/` or the service's own folder.
fn config_file(root: &Path, mains: &[MainPackage]) -> Option<String> {
    const EXTENSIONS: [&str; 5] = ["yaml", "yml", "json", "toml", "ini"];
    let service = &mains[0];
    let mut dirs = vec![
        String::new(),
        "configs".into(),
        "config".into(),
        "conf".into(),
        "etc".into(),
    ];
    dirs.push(service.package.trim_start_matches("./").to_string());
    let stems = ["config", service.exe_name.as_str()];
    for dir in dirs {
        for stem in stems {
            for ext in EXTENSIONS {
                let rel = if dir.is_empty() || dir == "." {
                    format!("{stem}.{ext}")
                } else {
                    format!("{dir}/{stem}.{ext}")
                };
                if root.join(&rel).is_file() {
                    return Some(rel);
                }
            }
        }
    }
    None
}

/// Folders at the root that hold files a service serves and no Go code.
fn static_dirs(root: &Path) -> Vec<String> {
    ["static", "public", "assets", "www", "web"]
        .iter()
        .filter(|name| {
            let dir = root.join(name);
            dir.is_dir() && !has_go_files(&dir)
        })
        .map(|s| s.to_string())
        .collect()
}

fn has_go_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            if path.is_dir() {
                has_go_files(&path)
            } else {
                path.extension().is_some_and(|x| x == "go")
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_variables_are_found_in_every_declaration_form() {
        assert_eq!(declared_strings(r#"Version = "dev""#), ["Version"]);
        assert_eq!(declared_strings("Revision string"), ["Revision"]);
        assert_eq!(
            declared_strings("Commit, Date string // set by -X"),
            ["Commit", "Date"]
        );
        assert!(declared_strings("count = 3").is_empty());
        assert!(declared_strings("started time.Time").is_empty());
    }

    #[test]
    fn a_repository_is_read_the_way_its_authors_laid_it_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "go.mod",
            "module git.example.org/ops/acme-agent\n\ngo 1.22\n",
        );
        write("cmd/acme-agent/main.go", "package main\nfunc main() {}\n");
        write("cmd/acmectl/main.go", "package main\nfunc main() {}\n");
        write("tools/gen/main.go", "package main\nfunc main() {}\n");
        write(
            "internal/buildinfo/info.go",
            "package buildinfo\n\nvar (\n\tVersion  = \"dev\"\n\tRevision = \"\"\n\tBranch   string\n\tBuildDate string\n)\n",
        );
        write("configs/config.yaml", "listen: :9000\n");
        write("static/index.html", "<h1>acme</h1>\n");
        let found = detect(root).unwrap();
        assert_eq!(found.module, "git.example.org/ops/acme-agent");
        let mains: Vec<&str> = found.mains.iter().map(|m| m.exe_name.as_str()).collect();
        assert_eq!(mains, ["acme-agent", "acmectl"]);
        let stamp = found.stamp.unwrap();
        assert_eq!(
            stamp.import_path,
            "git.example.org/ops/acme-agent/internal/buildinfo"
        );
        assert_eq!(
            stamp.vars,
            [
                ("Version".to_string(), "{{.Version}}"),
                ("Revision".to_string(), "{{.FullCommit}}"),
                ("BuildDate".to_string(), "{{.CommitDate}}"),
            ]
        );
        assert_eq!(stamp.unfilled, ["Branch"]);
        assert_eq!(found.config.as_deref(), Some("configs/config.yaml"));
        assert_eq!(found.static_dirs, ["static"]);
    }
}
