//! `cargo xtask test`: every suite, in the order that fails fastest.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

fn workspace_root() -> PathBuf {
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

pub fn run() -> Result<()> {
    let root = workspace_root();
    run_step(
        "go test (service)",
        Command::new("go")
            .args(["test", "./..."])
            .current_dir(root.join("service")),
    )?;
    run_step(
        "cargo test (workspace)",
        Command::new(env!("CARGO"))
            .args(["test", "--workspace", "--release"])
            .current_dir(&root),
    )?;
    Ok(())
}
