//! Support code for the Wine end-to-end suite (`tests/wine.rs`).
//!
//! - [`require_wine`]: the tool check (skip with one line on a developer machine, fail under
//!   `CI=true`).
//! - [`prefix`]: a throw-away Wine prefix with its own wineserver, and the commands the suite
//!   runs in it (`msiexec`, `sc`, `reg`), with the `fixme` lines each command caused.
//! - [`http`]: plain HTTP GETs against the service, with timeouts and retries.
//! - [`fixture`]: a temporary git repository holding the example service, tagged and built by
//!   the pipeline once per version.
//! - [`report`]: one timing line per scenario and a closing table.

// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]

pub mod fixture;
pub mod http;
pub mod prefix;
pub mod report;

use std::path::{Path, PathBuf};

/// The one line a developer without Wine needs.
pub const INSTALL_HINT: &str = "apt-get install wine64 msitools binutils-mingw-w64-x86-64";

/// Programs the suite runs directly. (`go` and `git` are needed by the build stage as well; the
/// build tests already require them.)
const REQUIRED_TOOLS: &[&str] = &["wine", "wineserver", "x86_64-w64-mingw32-ld"];

/// Returns `true` when every tool is present. Otherwise prints one line and returns `false` so
/// the test can skip, except under `CI=true`, where a missing tool fails the test.
pub fn require_wine(test: &str) -> bool {
    let missing: Vec<&str> = REQUIRED_TOOLS
        .iter()
        .copied()
        .filter(|tool| find_on_path(tool).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: skipped, {} not found; install with `{INSTALL_HINT}`",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message} (CI=true: the Wine suite must run in CI)");
    }
    // Written to the stderr handle, not with `eprintln!`, which the test harness captures: the
    // line must show in a plain `cargo test`.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
    false
}

/// The first executable called `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `target/wine-logs/<test>/`: where a failing run leaves its msiexec logs and Wine's stderr.
pub fn logs_dir(test: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`, set by cargo for integration tests.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .join("wine-logs")
        .join(test)
}

/// A free TCP port on this machine (asked from the kernel, then released), so the suite does not
/// clash with a service already listening on 8080.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("0.0.0.0", 0)).expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// `target/wine-logs/<test>/`, emptied when the test starts; removed when the test passes and
/// kept (with its path printed) when it fails, so CI can upload it.
pub struct KeptOnFailure {
    dir: PathBuf,
}

impl KeptOnFailure {
    pub fn new(test: &str) -> KeptOnFailure {
        let dir = logs_dir(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the Wine logs folder");
        KeptOnFailure { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for KeptOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "Wine suite failed: msiexec logs and Wine's stderr kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
