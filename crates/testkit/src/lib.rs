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
    require_tool_or(tool, &format!("apt-get install {DEBIAN_PACKAGES}"))
}

/// [`require_tool`] for a tool that does not come from Debian's packages, with its own install
/// hint (`"install Go: https://go.dev/dl/"`).
pub fn require_tool_or(tool: &str, install: &str) -> Option<PathBuf> {
    let found = find_in_path(tool);
    if found.is_none() {
        if ci() {
            panic!("`{tool}` is required under CI=true but is not on PATH ({install})");
        }
        eprintln!("skipping: `{tool}` is not installed ({install})");
    }
    found
}

/// Runs `git` in `dir` with a fixed identity (and the machine's clock); panics with git's
/// output when it fails. Returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run_git(dir, args, None)
}

/// [`git`] with the author and committer date fixed to `date` (RFC 3339), for repositories
/// whose commit times a test asserts.
pub fn git_at(dir: &Path, args: &[&str], date: &str) -> String {
    run_git(dir, args, Some(date))
}

fn run_git(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        // The user's git config must not sign, hook or rewrite a fixture's commits.
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(date) = date {
        command
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
    }
    let out = command.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A fresh one-commit repository holding the files of the repository at `root` that git lists
/// (tracked and untracked, not ignored), as a user's clone of it would look.
pub fn copy_of_repository(root: &Path) -> tempfile::TempDir {
    let listed = git(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    for rel in listed.split('\0').filter(|p| !p.is_empty()) {
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copying a file of the repository");
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "copy"]);
    dir
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
