//! Helpers shared by the integration tests: finding and running the stock `minisign` CLI.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The path of `tool` on `PATH`. When it is missing the test is skipped with a one-line message,
/// except under `CI=true`, where a missing tool fails the test.
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    testkit::require_tool(tool)
}

/// Result of one minisign run, with both output streams as text.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "success={} stdout={:?} stderr={:?}",
            self.success, self.stdout, self.stderr
        )
    }
}

/// Runs `minisign args…` in `dir`, feeding `stdin` (minisign reads passwords from standard input
/// when it is not a terminal, one line per prompt).
pub fn minisign(tool: &Path, dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(tool)
        .args(args)
        .current_dir(dir)
        // Keep minisign away from the developer's ~/.minisign.
        .env("MINISIGN_CONFIG_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minisign");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("write minisign's stdin");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for minisign");
    Run {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

/// Reads `dir/name` as text.
pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read test file")
}

/// Some data that is not all one byte value, a bit over one 64 KiB read chunk.
pub fn sample_data() -> Vec<u8> {
    (0..70_000u32).map(|i| (i * 7 + i / 251) as u8).collect()
}
