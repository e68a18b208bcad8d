//! The build's input record: when everything that decides the exe's bytes is unchanged since the
//! last build, the exe on disk is reused instead of linked again.
//!
//! *Invariant:* an exe is reused only when its record's input hash matches and the exe still has
//! the recorded SHA-256; a missing or unreadable record only costs a rebuild.

use std::path::{Path, PathBuf};

use super::{io, BuildError, BuildRequest, GoInvocation, GO_ENV_INPUTS, SYSO_NAME};

/// Where the build's input record for `file_name` lives: beside the version folders, so it is
/// never taken for a release artifact.
pub(super) fn cache_record_path(out_dir: &Path, file_name: &str) -> PathBuf {
    let parent = out_dir.parent().unwrap_or(out_dir);
    parent
        .join(".build-cache")
        .join(format!("{file_name}.inputs"))
}

/// SHA-256 over everything that decides the exe's bytes: toolchain, flags (the rendered
/// `ldflags` among them), the environment Go runs in, the version resource, and every file of the Go module (`.git` and the generated
/// `.syso` aside). Dependencies are pinned by `go.sum`, which is one of those files.
pub(super) fn inputs_digest(
    req: &BuildRequest,
    go_version: &str,
    invocation: &GoInvocation,
    syso: &[u8],
) -> Result<String, BuildError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut part = |text: &str| {
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    };
    part(go_version);
    invocation.flags.iter().for_each(|flag| part(flag));
    for (name, value) in &invocation.env {
        part(name);
        part(value);
    }
    part(req.package);
    for index in 0..GO_ENV_INPUTS.len() {
        part(req.go_env.inputs.get(index).map_or("", String::as_str));
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
pub(super) fn cached_exe(record: &Path, exe: &Path, inputs: &str) -> Option<u64> {
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
pub(super) fn write_cache_record(record: &Path, exe: &Path, inputs: &str) {
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
