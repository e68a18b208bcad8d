//! `cargo xtask test`: every suite, in the order that fails fastest.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run_step(name: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {name}");
    let status = cmd.status().with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// Whether a tool is on PATH; under `CI=true` a missing one is an error, elsewhere a skip.
fn have_tool(tool: &str, install: &str) -> Result<bool> {
    let found = testkit::find_in_path(tool).is_some();
    if !found {
        if testkit::ci() {
            bail!("{tool} is required under CI=true; install it: {install}");
        }
        eprintln!("==> skipping {tool}: not installed ({install})");
    }
    Ok(found)
}

pub fn run() -> Result<()> {
    let root = workspace_root();
    if have_tool(
        "actionlint",
        "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7",
    )? {
        run_step(
            "actionlint (.github/workflows)",
            Command::new("actionlint").current_dir(&root),
        )?;
    }
    run_step(
        "go test (service)",
        Command::new("go")
            .args(["test", "./..."])
            .current_dir(root.join("service")),
    )?;
    run_step(
        "go test (agent)",
        Command::new("go")
            .args(["test", "./..."])
            .current_dir(root.join("agent")),
    )?;
    run_step(
        "cargo test (workspace)",
        Command::new(env!("CARGO"))
            .args(["test", "--workspace", "--release"])
            .current_dir(&root),
    )?;
    Ok(())
}
