//! The "cold xtask build" row: what a fresh clone pays before `cargo xtask` does anything, i.e.
//! `cargo build --release -p xtask` into an empty target folder (crates already downloaded).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use serde::Serialize;

/// One cold build of the xtask.
#[derive(Debug, Serialize)]
pub struct ColdBuild {
    /// Wall time, seconds.
    pub wall_s: f64,
    /// Crates compiled (cargo's "Compiling" lines).
    pub units: usize,
    pub command: String,
}

/// Builds the clone's xtask into a fresh target folder under `work` (removed afterwards).
pub fn run(clone: &Path, work: &Path) -> Result<ColdBuild> {
    let target = work.join("cold-target");
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = ["build", "--release", "-p", "xtask", "--timings"];
    let start = Instant::now();
    let out = Command::new(&cargo)
        .args(args)
        .arg("--manifest-path")
        .arg(clone.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .with_context(|| format!("running {cargo}"))?;
    let wall_s = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "cold xtask build failed: {stderr}");
    let units = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    let _ = std::fs::remove_dir_all(&target);
    Ok(ColdBuild {
        wall_s,
        units,
        command: format!("cargo {} (empty CARGO_TARGET_DIR)", args.join(" ")),
    })
}
