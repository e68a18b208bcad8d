//! Build: cross-compile the Go service for windows/amd64, reproducibly.
//!
//! Same commit → same bytes: `-trimpath` drops local paths, `-buildvcs=false` and
//! `-buildid=` drop per-checkout ids, `CGO_ENABLED=0` keeps the host's C toolchain out, and the
//! only time the build sees is the commit's (`SOURCE_DATE_EPOCH`). The Windows VERSIONINFO
//! resource is generated in Rust (`winversion`) and handed to the linker as a `.syso` placed in
//! the main package for the duration of the build only (see `SysoGuard`).
//!
//! What the exe is stamped with is configured GoReleaser-style ([`Stamping`], rendered by
//! [`invocation`]); after the link, [`landing`] checks with `go list` that every `-X` names a
//! variable that is really linked, because the linker silently ignores one that is not.
//!
//! *Invariant:* the exe appears at its final path complete and checked, or not at all (built in
//! a scratch directory, renamed last).

mod cache;
pub mod govars;
pub mod invocation;
pub mod landing;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Project;
use crate::environment::Variables;
use crate::stamp::{Stamp, Versioned};
use crate::version::MsiVersion;

pub use invocation::{invocation, GoInvocation, InvocationInputs, Stamping, StampingError, XFlag};
pub use landing::StampReport;

/// Environment variables Go reads that change the bytes `go build` produces. Their values are
/// read by the caller (the CLI edge) and hashed into the build's inputs.
pub const GO_ENV_INPUTS: &[&str] = &[
    "GOAMD64",
    "GOEXPERIMENT",
    "GOTOOLCHAIN",
    "GOPROXY",
    "GONOSUMDB",
    "GOPRIVATE",
];

/// What the build sees of the environment, read by the CLI edge.
#[derive(Debug, Clone, Default)]
pub struct GoEnvironment {
    /// The values of [`GO_ENV_INPUTS`] in the environment `go` runs in, in that order (an
    /// unset variable is an empty value); hashed into the build's inputs.
    pub inputs: Vec<String>,
    /// The variables `{{.Env.NAME}}` templates may name.
    pub vars: Variables,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`go` was not found on PATH\nfix: install Go (https://go.dev/dl/) and make sure `go version` works")]
    GoMissing,
    #[error("{go_mod} asks for go {required}, but `go` on PATH is {found}\nfix: install Go {required} or newer")]
    GoTooOld {
        go_mod: PathBuf,
        required: String,
        found: String,
    },
    #[error("cannot read {path}: {source}\nfix: point `service_dir` in [workspace.metadata.winrelease] at the Go module")]
    NoGoModule {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("go build failed (exit {status}):\n{output}")]
    GoBuildFailed { status: String, output: String },
    /// A `ldflags`/`flags`/`tags`/`env` entry that cannot be rendered or would fight the build.
    #[error(transparent)]
    Stamping(#[from] StampingError),
    /// An `-X` with no effect; the exe was not kept.
    #[error("{0}")]
    StampNotLanded(StampReport),
    #[error("`go list` (checking the -X targets) failed:\n{output}")]
    GoListFailed { output: String },
    #[error("VERSIONINFO resource: {0}")]
    VersionInfo(#[from] winversion::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

/// What to build: everything the build stage reads, nothing it discovers on its own.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The Go module's directory.
    pub module_dir: &'a Path,
    /// The main package, relative to `module_dir` (`./cmd/hellosvc`).
    pub package: &'a str,
    /// Package holding the `version`, `commit`, `commitTime`, `dirty` variables (used when
    /// `stamping.ldflags` is empty).
    pub version_package: &'a str,
    /// The configured `ldflags`, `flags`, `tags` and `env`.
    pub stamping: Stamping<'a>,
    pub exe_name: &'a str,
    pub stamp: &'a Stamp,
    pub msi_version: MsiVersion,
    pub product: &'a str,
    pub manufacturer: &'a str,
    pub description: &'a str,
    /// Directory the exe is written to (created if missing).
    pub out_dir: &'a Path,
    /// What the build sees of the environment.
    pub go_env: &'a GoEnvironment,
}

/// One main package to build: the service's, or a `[[binaries]]` entry's.
#[derive(Debug, Clone, Copy)]
pub struct Binary<'a> {
    /// The main package, relative to the module (`./cmd/hellosvc`).
    pub package: &'a str,
    /// The exe's base name (`hellosvc`).
    pub exe_name: &'a str,
}

impl Binary<'_> {
    /// Every binary of `project`, the service's first.
    pub fn all(project: &Project) -> Vec<Binary<'_>> {
        let config = &project.config;
        let service = Binary {
            package: &config.go_package,
            exe_name: &config.exe_name,
        };
        let others = config.binaries.iter().map(|b| Binary {
            package: &b.go_package,
            exe_name: &b.exe_name,
        });
        std::iter::once(service).chain(others).collect()
    }
}

impl<'a> BuildRequest<'a> {
    /// The build of one of `project`'s binaries at `versioned`, into its version folder.
    pub fn for_project(
        project: &'a Project,
        versioned: &'a Versioned,
        binary: Binary<'a>,
        module_dir: &'a Path,
        out_dir: &'a Path,
        go_env: &'a GoEnvironment,
    ) -> BuildRequest<'a> {
        let config = &project.config;
        BuildRequest {
            module_dir,
            package: binary.package,
            version_package: &config.version_package,
            stamping: config.stamping(),
            exe_name: binary.exe_name,
            stamp: &versioned.stamp,
            msi_version: versioned.msi_version,
            product: &config.product,
            manufacturer: &config.manufacturer,
            description: &config.description,
            out_dir,
            go_env,
        }
    }
}

impl BuildRequest<'_> {
    /// The `go` invocation this request builds with (templates rendered, windows/amd64).
    pub fn invocation(&self) -> Result<GoInvocation, StampingError> {
        invocation(&InvocationInputs {
            stamping: self.stamping,
            version_package: self.version_package,
            stamp: self.stamp,
            exe_name: self.exe_name,
            vars: &self.go_env.vars,
        })
    }
}

/// The built executable.
#[derive(Debug, Clone)]
pub struct BuiltExe {
    /// Its base name (`hellosvc`): installed as `<exe_name>.exe`.
    pub exe_name: String,
    pub path: PathBuf,
    pub size: u64,
    /// `go version` of the toolchain that built it, e.g. `go1.26.8`.
    pub go_version: String,
    /// The `go build` invocation, for `-v` output.
    pub command_line: String,
}

/// Every exe of a release: the service's and those of `[[binaries]]`.
#[derive(Debug, Clone)]
pub struct BuiltExes {
    pub service: BuiltExe,
    /// The `[[binaries]]`, in configuration order.
    pub others: Vec<BuiltExe>,
}

impl BuiltExes {
    /// The service's exe first, then the others.
    pub fn all(&self) -> impl Iterator<Item = &BuiltExe> {
        std::iter::once(&self.service).chain(&self.others)
    }
}

/// Builds every binary of `project` at `versioned` into its version folder.
pub fn build_project(
    project: &Project,
    versioned: &Versioned,
    go_env: &GoEnvironment,
) -> Result<BuiltExes, BuildError> {
    let module_dir = project.service_dir();
    let out_dir = project.version_dir(&versioned.stamp.version);
    let mut built = Binary::all(project)
        .into_iter()
        .map(|binary| {
            build(&BuildRequest::for_project(
                project,
                versioned,
                binary,
                &module_dir,
                &out_dir,
                go_env,
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let service = built.remove(0);
    Ok(BuiltExes {
        service,
        others: built,
    })
}

/// The stable artifact name: `<exe>_<version>_windows_amd64.exe`.
pub fn exe_file_name(exe_name: &str, version: &semver::Version) -> String {
    format!("{exe_name}_{version}_windows_amd64.exe")
}

/// Runs `go build` for windows/amd64, checks that every `-X` landed, and returns the exe,
/// written atomically.
pub fn build(req: &BuildRequest) -> Result<BuiltExe, BuildError> {
    let go_version = go_version()?;
    check_go_mod(req.module_dir, &go_version)?;
    let invocation = req.invocation()?;
    let syso_bytes = winversion::coff_object(&version_info(req))?;
    let file_name = exe_file_name(req.exe_name, &req.stamp.version);
    let final_path = req.out_dir.join(&file_name);
    // Inputs of this build; when they match the record of the exe already there, Go would
    // produce the same bytes again, so the exe is reused (a warm re-release skips the link).
    let inputs = cache::inputs_digest(req, &go_version, &invocation, &syso_bytes)?;
    let record = cache::cache_record_path(req.out_dir, &file_name);
    if let Some(size) = cache::cached_exe(&record, &final_path, &inputs) {
        return Ok(BuiltExe {
            exe_name: req.exe_name.to_string(),
            path: final_path,
            size,
            go_version,
            command_line: "(reused: inputs unchanged since the last build)".into(),
        });
    }

    std::fs::create_dir_all(req.out_dir)
        .map_err(io(format!("creating {}", req.out_dir.display())))?;
    // Scratch space for the partial exe; removed on every path out of this function.
    let scratch = tempfile::Builder::new()
        .prefix(".winrelease-build-")
        .tempdir_in(req.out_dir)
        .map_err(io("creating a scratch directory"))?;
    let partial = scratch.path().join(&file_name);
    run_go_build(req, &invocation, &syso_bytes, &partial)?;
    landing::check(
        req.module_dir,
        req.package,
        &invocation,
        !req.stamping.ldflags.is_empty(),
    )?;
    std::fs::rename(&partial, &final_path)
        .map_err(io(format!("moving the exe to {}", final_path.display())))?;
    let size = std::fs::metadata(&final_path)
        .map_err(io("reading the exe's size"))?
        .len();
    cache::write_cache_record(&record, &final_path, &inputs);
    Ok(BuiltExe {
        exe_name: req.exe_name.to_string(),
        path: final_path.clone(),
        size,
        go_version,
        command_line: invocation.command_line(&final_path, req.package),
    })
}

/// Refuses a module whose `go` directive asks for a newer toolchain than `go_version`.
fn check_go_mod(module_dir: &Path, go_version: &str) -> Result<(), BuildError> {
    let go_mod = module_dir.join("go.mod");
    let go_mod_text =
        std::fs::read_to_string(&go_mod).map_err(|source| BuildError::NoGoModule {
            path: go_mod.clone(),
            source,
        })?;
    match go_directive(&go_mod_text) {
        Some(required) if !version_at_least(go_version.trim_start_matches("go"), &required) => {
            Err(BuildError::GoTooOld {
                go_mod,
                required,
                found: go_version.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// `go build` of the main package into `partial`, with the VERSIONINFO resource beside its
/// sources for the length of the build.
fn run_go_build(
    req: &BuildRequest,
    invocation: &GoInvocation,
    syso_bytes: &[u8],
    partial: &Path,
) -> Result<(), BuildError> {
    // Go links every `.syso` in the main package's directory; it does not take one from a build
    // overlay (tried: the linker opens the original path). `winversion::write_go_overlay` links
    // it from a side module instead, but Go records that module's directory in the build info,
    // which breaks reproducibility across checkouts. So the resource is written next to the
    // sources for the length of the build and removed by `SysoGuard` on every way out.
    let package_dir = req.module_dir.join(req.package);
    if !package_dir.is_dir() {
        return Err(BuildError::Io {
            context: format!("finding the Go package {}", package_dir.display()),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let syso = SysoGuard::write(package_dir.join(SYSO_NAME), syso_bytes)?;
    let output = invocation
        .command(req.module_dir, "build")
        .arg("-o")
        .arg(partial)
        .arg(req.package)
        .output()
        .map_err(io("running go build"))?;
    drop(syso);
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    Err(BuildError::GoBuildFailed {
        status: output
            .status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        output: text.trim_end().to_string(),
    })
}

/// File name of the generated resource object inside the main package's directory.
pub const SYSO_NAME: &str = "zz_winrelease_version_windows_amd64.syso";

/// Removes the generated `.syso` when dropped, so a failed or interrupted build does not leave
/// it in the user's tree.
struct SysoGuard(PathBuf);

impl SysoGuard {
    fn write(path: PathBuf, bytes: &[u8]) -> Result<SysoGuard, BuildError> {
        std::fs::write(&path, bytes).map_err(io(format!("writing {}", path.display())))?;
        Ok(SysoGuard(path))
    }
}

impl Drop for SysoGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The VERSIONINFO stamped into the exe: what Explorer's Details tab and the MSI File table show.
pub fn version_info(req: &BuildRequest) -> winversion::VersionInfo {
    let quad = req.msi_version.as_quad();
    winversion::VersionInfo {
        file_version: quad,
        product_version: quad,
        product_version_string: req.stamp.version.to_string(),
        company_name: req.manufacturer.to_string(),
        product_name: req.product.to_string(),
        file_description: if req.description.is_empty() {
            req.product.to_string()
        } else {
            req.description.to_string()
        },
        original_filename: format!("{}.exe", req.exe_name),
        internal_name: req.exe_name.to_string(),
        legal_copyright: String::new(),
    }
}

/// `go env GOVERSION`, or `GoMissing`.
pub fn go_version() -> Result<String, BuildError> {
    let output = Command::new("go")
        .args(["env", "GOVERSION"])
        .env_remove("GOFLAGS")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BuildError::GoMissing,
            _ => BuildError::Io {
                context: "running `go env GOVERSION`".into(),
                source: e,
            },
        })?;
    if !output.status.success() {
        return Err(BuildError::GoBuildFailed {
            status: output.status.to_string(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The `go 1.x[.y]` directive of a go.mod.
fn go_directive(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("go ")?;
        Some(rest.trim().to_string())
    })
}

/// Compares dotted Go versions numerically (`1.26.8` ≥ `1.24.0`); pre-release suffixes such as
/// `rc1` count as lower than the release.
fn version_at_least(found: &str, required: &str) -> bool {
    fn parts(v: &str) -> Vec<u64> {
        v.split('.')
            .map(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .collect()
    }
    let (mut f, mut r) = (parts(found), parts(required));
    let len = f.len().max(r.len());
    f.resize(len, 0);
    r.resize(len, 0);
    f >= r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_compare_numerically() {
        assert!(version_at_least("1.26.8", "1.24.0"));
        assert!(version_at_least("1.24", "1.24.0"));
        assert!(!version_at_least("1.9", "1.24"));
        assert!(!version_at_least("1.24.0", "1.24.1"));
    }

    #[test]
    fn go_directive_is_read_from_go_mod() {
        let m = "module example.com/x\n\ngo 1.24.0\n\nrequire golang.org/x/sys v0.30.0\n";
        assert_eq!(go_directive(m).as_deref(), Some("1.24.0"));
        assert_eq!(go_directive("module x\n"), None);
    }

    #[test]
    fn exe_names_carry_the_version() {
        let v = semver::Version::parse("1.4.1-dev.7+g1a2b3c4").unwrap();
        assert_eq!(
            exe_file_name("hellosvc", &v),
            "hellosvc_1.4.1-dev.7+g1a2b3c4_windows_amd64.exe"
        );
    }
}
