//! Did the stamp land? The Go linker silently ignores `-X` for a variable that does not exist,
//! so after the build every `-X importpath.name` is checked against what Go itself says is
//! linked: `go list -deps` (same environment and flags as the build) names the packages and the
//! exact source files compiled into the exe, and their package-level declarations
//! ([`super::govars`]) say whether `name` is a variable `-X` can set.
//!
//! *Invariant:* reads only; an `-X` with no effect is an error that lists the module's own
//! linked string variables with version-like names, so the fix can be copied from it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::govars::{self, GoVar, VarKind};
use super::invocation::{GoInvocation, XFlag};
use super::BuildError;

/// A package as `go list -json` describes it (the fields we ask for).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoPackage {
    import_path: String,
    name: String,
    dir: PathBuf,
    #[serde(default)]
    go_files: Vec<String>,
    #[serde(default)]
    dep_only: bool,
    #[serde(default)]
    module: Option<GoModule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoModule {
    path: String,
    #[serde(default)]
    main: bool,
}

/// An `-X` that has no effect, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlanded {
    /// `importpath.name` as written.
    pub variable: String,
    pub reason: String,
}

/// What the `-X` check found wrong: every flag with no effect and the variables that would
/// take one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampReport {
    pub unlanded: Vec<Unlanded>,
    /// The main module's path.
    pub module: String,
    /// `importpath.Name` (or `main.name`) of every linked string variable with a version-like
    /// name in the main module.
    pub candidates: Vec<String>,
    /// Whether `ldflags` is configured (else the `version_package` default was used).
    pub configured: bool,
}

impl std::fmt::Display for StampReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for u in &self.unlanded {
            writeln!(f, "-X {} has no effect: {}", u.variable, u.reason)?;
        }
        if self.candidates.is_empty() {
            writeln!(
                f,
                "no linked package of {} declares a string variable with a version-like name",
                self.module
            )?;
        } else {
            writeln!(
                f,
                "the linked packages of {} declare these string variables:",
                self.module
            )?;
            for c in &self.candidates {
                writeln!(f, "  {c}")?;
            }
        }
        let example = self
            .candidates
            .first()
            .map_or("<importpath>.<name>", String::as_str);
        if self.configured {
            write!(
                f,
                "fix: change `ldflags` in [workspace.metadata.winrelease] to -X {example}=…"
            )
        } else {
            write!(f, "fix: set `ldflags` in [workspace.metadata.winrelease] (GoReleaser style) to -X {example}={{{{.Version}}}} …, or point `version_package` at the package declaring `version`, `commit`, `commitTime` and `dirty`")
        }
    }
}

/// Checks that every `-X` of `invocation` sets a variable linked into `package`.
pub(super) fn check(
    module_dir: &Path,
    package: &str,
    invocation: &GoInvocation,
    configured: bool,
) -> Result<(), BuildError> {
    if invocation.stamps.is_empty() {
        return Ok(());
    }
    let packages = go_list(module_dir, package, invocation)?;
    let root = packages.iter().find(|p| !p.dep_only);
    let mut unlanded = Vec::new();
    for x in &invocation.stamps {
        if let Some(reason) = no_effect(x, &packages, root, package)? {
            unlanded.push(Unlanded {
                variable: x.variable.clone(),
                reason,
            });
        }
    }
    if unlanded.is_empty() {
        return Ok(());
    }
    let module = root
        .and_then(|r| r.module.as_ref())
        .map_or_else(String::new, |m| m.path.clone());
    Err(BuildError::StampNotLanded(StampReport {
        unlanded,
        candidates: candidates(&packages, root)?,
        module,
        configured,
    }))
}

/// Why `x` does not land, or `None` when it does.
fn no_effect(
    x: &XFlag,
    packages: &[GoPackage],
    root: Option<&GoPackage>,
    package: &str,
) -> Result<Option<String>, BuildError> {
    let Some((path, name)) = x.split() else {
        return Ok(Some("not of the form importpath.name".into()));
    };
    let root_is_main = root.is_some_and(|r| r.name == "main");
    let target = if path == "main" {
        root.filter(|_| root_is_main)
    } else {
        packages
            .iter()
            .find(|p| p.import_path == path && (p.dep_only || !root_is_main))
    };
    let Some(target) = target else {
        return Ok(Some(
            if root_is_main && root.is_some_and(|r| r.import_path == path) {
                format!("the main package's variables are written `main.{name}`, not with its import path")
            } else {
                format!("package {path} is not linked into {package}")
            },
        ));
    };
    let vars = package_vars(target)?;
    Ok(match vars.iter().find(|v| v.name == name).map(|v| v.kind) {
        None => Some(format!("package {path} declares no variable `{name}`")),
        Some(VarKind::Computed) => Some(format!(
            "`{name}` is initialized by a function call, which Go runs at start-up over the -X value; declare it `var {name} string`"
        )),
        Some(VarKind::Other) => Some(format!("`{name}` is not a string variable")),
        Some(VarKind::String | VarKind::Untyped) => None,
    })
}

/// The main module's linked string variables whose names look like version data.
fn candidates(packages: &[GoPackage], root: Option<&GoPackage>) -> Result<Vec<String>, BuildError> {
    let mut out = Vec::new();
    for p in packages
        .iter()
        .filter(|p| p.module.as_ref().is_some_and(|m| m.main))
    {
        let prefix = if root.is_some_and(|r| std::ptr::eq(r, p)) && p.name == "main" {
            "main"
        } else {
            p.import_path.as_str()
        };
        for var in package_vars(p)? {
            if var.kind.takes_x() && version_like(&var.name) {
                out.push(format!("{prefix}.{}", var.name));
            }
        }
    }
    Ok(out)
}

fn version_like(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "version", "commit", "revision", "branch", "date", "time", "build", "built", "dirty",
        "tag", "sha", "hash", "release",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

fn package_vars(p: &GoPackage) -> Result<Vec<GoVar>, BuildError> {
    let mut vars = Vec::new();
    for file in &p.go_files {
        let path = p.dir.join(file);
        let source = std::fs::read_to_string(&path)
            .map_err(super::io(format!("reading {}", path.display())))?;
        vars.extend(govars::package_vars(&source));
    }
    Ok(vars)
}

/// `go list -deps -json` of `package`, with the build's environment and flags.
fn go_list(
    module_dir: &Path,
    package: &str,
    invocation: &GoInvocation,
) -> Result<Vec<GoPackage>, BuildError> {
    let output = invocation
        .command(module_dir, "list")
        .args(["-deps", "-json=ImportPath,Name,Dir,GoFiles,DepOnly,Module"])
        .arg(package)
        .output()
        .map_err(super::io("running go list"))?;
    if !output.status.success() {
        return Err(BuildError::GoListFailed {
            output: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_string(),
        });
    }
    serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<GoPackage>()
        .collect::<Result<_, _>>()
        .map_err(|e| BuildError::GoListFailed {
            output: format!("unreadable `go list -json` output: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_the_variables_and_the_fix() {
        let report = StampReport {
            unlanded: vec![Unlanded {
                variable: "example.org/w/internal/buildinfo.Verison".into(),
                reason: "package example.org/w/internal/buildinfo declares no variable `Verison`"
                    .into(),
            }],
            module: "example.org/w".into(),
            candidates: vec!["example.org/w/internal/buildinfo.Version".into()],
            configured: true,
        };
        assert_eq!(
            report.to_string(),
            "-X example.org/w/internal/buildinfo.Verison has no effect: package example.org/w/internal/buildinfo declares no variable `Verison`\n\
             the linked packages of example.org/w declare these string variables:\n  example.org/w/internal/buildinfo.Version\n\
             fix: change `ldflags` in [workspace.metadata.winrelease] to -X example.org/w/internal/buildinfo.Version=…"
        );
    }

    #[test]
    fn version_like_names() {
        for n in [
            "Version",
            "gitCommit",
            "Revision",
            "BuildDate",
            "builtBy",
            "dirty",
            "Branch",
        ] {
            assert!(version_like(n), "{n}");
        }
        assert!(!version_like("logger"));
    }
}
