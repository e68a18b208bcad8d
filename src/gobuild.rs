//! Build: cross-compile the Go service for windows/amd64, reproducibly.
//!
//! Same commit → same bytes: `-trimpath` drops local paths, `-buildvcs=false` and
//! `-buildid=` drop per-checkout ids, `CGO_ENABLED=0` keeps the host's C toolchain out, and the
//! only time the build sees is the commit's (`SOURCE_DATE_EPOCH`). The Windows VERSIONINFO
//! resource is generated in Rust (`winversion`) and handed to the linker as a `.syso` placed in
//! the main package for the duration of the build only (see `SysoGuard`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Project;
use crate::stamp::{Stamp, Versioned};
use crate::version::MsiVersion;

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
    /// Package holding the `version`, `commit`, `commitTime`, `dirty` variables.
    pub version_package: &'a str,
    pub exe_name: &'a str,
    pub stamp: &'a Stamp,
    pub msi_version: MsiVersion,
    pub product: &'a str,
    pub manufacturer: &'a str,
    pub description: &'a str,
    /// Directory the exe is written to (created if missing).
    pub out_dir: &'a Path,
    /// The values of [`GO_ENV_INPUTS`] in the environment `go` runs in, in that order (an
    /// unset variable is an empty value).
    pub go_env: &'a [String],
}

impl<'a> BuildRequest<'a> {
    /// The build of `project`'s service at `versioned`, into its version folder.
    pub fn for_project(
        project: &'a Project,
        versioned: &'a Versioned,
        module_dir: &'a Path,
        out_dir: &'a Path,
        go_env: &'a [String],
    ) -> BuildRequest<'a> {
        let config = &project.config;
        BuildRequest {
            module_dir,
            package: &config.go_package,
            version_package: &config.version_package,
            exe_name: &config.exe_name,
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

/// The built executable.
#[derive(Debug, Clone)]
pub struct BuiltExe {
    pub path: PathBuf,
    pub size: u64,
    /// `go version` of the toolchain that built it, e.g. `go1.26.8`.
    pub go_version: String,
    /// The `go build` invocation, for `-v` output.
    pub command_line: String,
}

/// Builds `project`'s service at `versioned` into its version folder.
pub fn build_project(
    project: &Project,
    versioned: &Versioned,
    go_env: &[String],
) -> Result<BuiltExe, BuildError> {
    let module_dir = project.service_dir();
    let out_dir = project.version_dir(&versioned.stamp.version);
    build(&BuildRequest::for_project(
        project,
        versioned,
        &module_dir,
        &out_dir,
        go_env,
    ))
}

/// The stable artifact name: `<exe>_<version>_windows_amd64.exe`.
pub fn exe_file_name(exe_name: &str, version: &semver::Version) -> String {
    format!("{exe_name}_{version}_windows_amd64.exe")
}

/// Runs `go build` for windows/amd64 and returns the exe, written atomically.
pub fn build(req: &BuildRequest) -> Result<BuiltExe, BuildError> {
    let go_version = go_version()?;
    let go_mod = req.module_dir.join("go.mod");
    let go_mod_text =
        std::fs::read_to_string(&go_mod).map_err(|source| BuildError::NoGoModule {
            path: go_mod.clone(),
            source,
        })?;
    if let Some(required) = go_directive(&go_mod_text) {
        if !version_at_least(go_version.trim_start_matches("go"), &required) {
            return Err(BuildError::GoTooOld {
                go_mod,
                required,
                found: go_version,
            });
        }
    }

    let vp = req.version_package;
    let ldflags = format!(
        "-s -w -buildid= -X {vp}.version={} -X {vp}.commit={} -X {vp}.commitTime={} -X {vp}.dirty={}",
        req.stamp.version,
        req.stamp.commit,
        req.stamp.commit_time_rfc3339(),
        req.stamp.dirty
    );
    let syso_bytes = winversion::coff_object(&version_info(req))?;
    let file_name = exe_file_name(req.exe_name, &req.stamp.version);
    let final_path = req.out_dir.join(&file_name);
    // Inputs of this build; when they match the record of the exe already there, Go would
    // produce the same bytes again, so the exe is reused (a warm re-release skips the link).
    let inputs = inputs_digest(req, &go_version, &ldflags, &syso_bytes)?;
    let record = cache_record_path(req.out_dir, &file_name);
    if let Some(size) = cached_exe(&record, &final_path, &inputs) {
        return Ok(BuiltExe {
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
    let syso = SysoGuard::write(package_dir.join(SYSO_NAME), &syso_bytes)?;

    let partial = scratch.path().join(&file_name);

    let mut cmd = Command::new("go");
    cmd.current_dir(req.module_dir)
        .args(["build", "-trimpath", "-buildvcs=false"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(&partial)
        .arg(req.package)
        .env("GOOS", "windows")
        .env("GOARCH", "amd64")
        .env("CGO_ENABLED", "0")
        .env("SOURCE_DATE_EPOCH", req.stamp.commit_time.to_string())
        // Flags from the environment would make the build depend on the machine.
        .env_remove("GOFLAGS");
    let command_line = format!(
        "GOOS=windows GOARCH=amd64 CGO_ENABLED=0 SOURCE_DATE_EPOCH={} go build -trimpath -buildvcs=false '-ldflags={ldflags}' -o {} {}",
        req.stamp.commit_time,
        final_path.display(),
        req.package
    );
    let output = cmd.output().map_err(io("running go build"))?;
    drop(syso);
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(BuildError::GoBuildFailed {
            status: output
                .status
                .code()
                .map_or("signal".to_string(), |c| c.to_string()),
            output: text.trim_end().to_string(),
        });
    }
    std::fs::rename(&partial, &final_path)
        .map_err(io(format!("moving the exe to {}", final_path.display())))?;
    let size = std::fs::metadata(&final_path)
        .map_err(io("reading the exe's size"))?
        .len();
    write_cache_record(&record, &final_path, &inputs);
    Ok(BuiltExe {
        path: final_path,
        size,
        go_version,
        command_line,
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

/// Where the build's input record for `file_name` lives: beside the version folders, so it is
/// never taken for a release artifact.
fn cache_record_path(out_dir: &Path, file_name: &str) -> PathBuf {
    let parent = out_dir.parent().unwrap_or(out_dir);
    parent
        .join(".build-cache")
        .join(format!("{file_name}.inputs"))
}

/// SHA-256 over everything that decides the exe's bytes: toolchain, flags, environment that
/// Go reads, the version resource, and every file of the Go module (`.git` and the generated
/// `.syso` aside). Dependencies are pinned by `go.sum`, which is one of those files.
fn inputs_digest(
    req: &BuildRequest,
    go_version: &str,
    ldflags: &str,
    syso: &[u8],
) -> Result<String, BuildError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        go_version,
        ldflags,
        req.package,
        &req.stamp.commit_time.to_string(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for index in 0..GO_ENV_INPUTS.len() {
        let value = req.go_env.get(index).map_or("", String::as_str);
        h.update((value.len() as u64).to_le_bytes());
        h.update(value.as_bytes());
    }
    h.update(syso);
    let mut files = Vec::new();
    collect_files(req.module_dir, req.module_dir, &mut files)?;
    files.sort();
    for rel in files {
        let bytes = std::fs::read(req.module_dir.join(&rel))
            .map_err(io(format!("reading {}", rel.display())))?;
        let name = rel.to_string_lossy();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    for entry in std::fs::read_dir(dir).map_err(io(format!("listing {}", dir.display())))? {
        let entry = entry.map_err(io(format!("listing {}", dir.display())))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == SYSO_NAME {
            continue;
        }
        let path = entry.path();
        if entry
            .file_type()
            .map_err(io(format!("reading {}", path.display())))?
            .is_dir()
        {
            collect_files(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// The exe's size when `record` says it was built from `inputs` and it still has the recorded
/// hash (so an edited or truncated exe is rebuilt).
fn cached_exe(record: &Path, exe: &Path, inputs: &str) -> Option<u64> {
    let text = std::fs::read_to_string(record).ok()?;
    let (recorded_inputs, recorded_sha) = text.trim().split_once(' ')?;
    if recorded_inputs != inputs {
        return None;
    }
    let bytes = std::fs::read(exe).ok()?;
    use sha2::{Digest, Sha256};
    (format!("{:x}", Sha256::digest(&bytes)) == recorded_sha).then_some(bytes.len() as u64)
}

/// Best effort: a missing record only costs a rebuild next time.
fn write_cache_record(record: &Path, exe: &Path, inputs: &str) {
    use sha2::{Digest, Sha256};
    let Ok(bytes) = std::fs::read(exe) else {
        return;
    };
    let line = format!("{inputs} {:x}\n", Sha256::digest(&bytes));
    if let Some(dir) = record.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(record, line);
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
