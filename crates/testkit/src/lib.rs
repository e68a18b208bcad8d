//! Helpers every crate's tests share. The one rule they enforce: a test that needs a real tool
//! (msitools, minisign, wine, …) skips with one line on a developer's machine that lacks it, but
//! fails under `CI=true`, where a silent skip would hide a missing install step.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages that provide the tools the suites use (`.ci/run` installs them).
pub const DEBIAN_PACKAGES: &str =
    "wine64 msitools minisign binutils-mingw-w64-x86-64 cabextract gcab wixl osslsigncode";

/// The path of `tool` on PATH. When it is missing: prints one line saying how to install it and
/// returns `None` (the caller skips), or panics when `CI=true`.
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let found = find_in_path(tool);
    if found.is_none() {
        if ci() {
            panic!("`{tool}` is required under CI=true but is not on PATH (apt-get install {DEBIAN_PACKAGES})");
        }
        eprintln!("skipping: `{tool}` is not installed (apt-get install {DEBIAN_PACKAGES})");
    }
    found
}

/// `tool`'s path on PATH, if any.
pub fn find_in_path(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// True when running in CI (`CI=true`).
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A throw-away self-signed code-signing certificate made with `openssl` in `dir`:
/// `(cert.pem, key.pem)`, the key encrypted with `passphrase` when one is given. Panics with
/// openssl's output when it fails (call [`require_tool`] for `openssl` first).
pub fn code_signing_certificate(dir: &Path, passphrase: Option<&str>) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut command = Command::new("openssl");
    command
        .args(["req", "-x509", "-newkey", "rsa:2048", "-days", "30"])
        .args(["-subj", "/CN=winrelease throw-away test certificate"])
        .args(["-addext", "extendedKeyUsage=codeSigning"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert);
    // The passphrase goes through a file, never on a command line.
    let pass_file = dir.join("passphrase.txt");
    match passphrase {
        Some(p) => {
            std::fs::write(&pass_file, p).expect("writing the passphrase file");
            command
                .arg("-passout")
                .arg(format!("file:{}", pass_file.display()))
        }
        None => command.arg("-nodes"),
    };
    let out = command.output().expect("openssl runs");
    let _ = std::fs::remove_file(&pass_file);
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}
