//! End to end: `cargo xtask release --snapshot` as users run it (the release-profile xtask
//! binary, in a fresh clone), cold and warm, against a bare `go build` of the same service.
//!
//! Cold = an empty `GOCACHE` (Go compiles its standard library for windows/amd64 again) and no
//! `target/winrelease`; the module cache (`GOMODCACHE`) is kept, so no run measures the
//! network. Warm = the same clone and cache again with nothing changed. Cold releases and cold
//! `go build`s alternate, so machine load hits both alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Serialize;

use super::measure::{run_child, run_measured, Samples};

#[derive(Debug, Clone, Serialize)]
pub struct E2eResult {
    pub commit: String,
    pub release_cold: Samples,
    pub go_build_cold: Samples,
    pub release_warm: Samples,
    pub go_build_warm: Samples,
    /// `plan --snapshot`: process start, `cargo metadata`, git stamp, safety rules.
    pub plan_warm: Samples,
    /// Stage timings the warm releases reported (`--json` `timings_ms`), seconds.
    pub warm_stages: BTreeMap<String, Samples>,
    pub cold_stages: BTreeMap<String, Samples>,
    /// Parts of the warm sign stage timed alone on the release's exe (seconds): hashing it,
    /// and deflating it into a zip at the portable zip's level (9) and at level 6.
    pub sign_parts: BTreeMap<String, Samples>,
    /// Size of the exe deflated at level 9 and level 6 (bytes).
    pub zip_sizes: BTreeMap<String, u64>,
    /// Largest artifact of the release, bytes, and its name.
    pub largest_artifact: (String, u64),
    /// Peak RSS of the release process tree (the largest single process among xtask and the Go
    /// toolchain processes it runs, as `wait4` reports it), cold and warm, bytes.
    pub release_tree_peak_rss_cold: u64,
    pub release_tree_peak_rss_warm: u64,
}

/// The environment every measured child gets: development key (the local user's case), not CI.
fn base_env(cmd: &mut Command, clone: &Path, gocache: &Path) {
    cmd.env_remove("CI")
        .env_remove(winrelease::keys::ENV_SECRET_KEY)
        .env_remove(winrelease::keys::ENV_PASSPHRASE)
        .env("CARGO_TARGET_DIR", clone.join("target"))
        .env("GOCACHE", gocache)
        .env_remove("GOFLAGS");
}

/// A clone of the workspace's HEAD in `dir`.
pub fn clone_head(root: &Path, dir: &Path) -> Result<String> {
    let status = Command::new("git")
        .args(["clone", "-q", "--no-hardlinks"])
        .arg(root)
        .arg(dir)
        .status()
        .context("running git clone")?;
    anyhow::ensure!(status.success(), "git clone {} failed", root.display());
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn release(xtask: &Path, clone: &Path, gocache: &Path) -> Result<(f64, u64, serde_json::Value)> {
    let mut cmd = Command::new(xtask);
    cmd.arg("--manifest-path")
        .arg(clone.join("Cargo.toml"))
        .args(["release", "--snapshot", "--json"]);
    base_env(&mut cmd, clone, gocache);
    let run = run_measured(xtask, &cmd).context("cargo xtask release --snapshot")?;
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .with_context(|| format!("release --json printed {:?}", run.stdout))?;
    Ok((run.wall.as_secs_f64(), run.max_rss, json))
}

fn go_build(clone: &Path, gocache: &Path, out: &Path) -> Result<f64> {
    let mut cmd = Command::new("go");
    cmd.current_dir(clone.join("service"))
        .args([
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags=-s -w -buildid=",
            "-o",
        ])
        .arg(out)
        .arg("./cmd/hellosvc")
        .env("GOOS", "windows")
        .env("GOARCH", "amd64")
        .env("CGO_ENABLED", "0");
    base_env(&mut cmd, clone, gocache);
    Ok(run_child(&mut cmd)
        .context("bare go build")?
        .wall
        .as_secs_f64())
}

fn record_stages(into: &mut BTreeMap<String, Samples>, json: &serde_json::Value) {
    if let Some(map) = json.get("timings_ms").and_then(|t| t.as_object()) {
        for (stage, ms) in map {
            if let Some(ms) = ms.as_f64() {
                into.entry(stage.clone())
                    .or_insert_with(|| Samples::new("s"))
                    .push(ms / 1000.0);
            }
        }
    }
}

fn fresh_dir(path: &Path) -> Result<PathBuf> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)?;
    Ok(path.to_path_buf())
}

/// Runs the end-to-end measurements in `clone` (a clone of the workspace's HEAD).
pub fn run(
    xtask: &Path,
    work: &Path,
    clone: &Path,
    cold_reps: usize,
    warm_reps: usize,
) -> Result<E2eResult> {
    let xtask = xtask.to_path_buf();
    let clone = clone.to_path_buf();
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&clone)
        .output()?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let exe_out = work.join("bare-go-build.exe");
    let mut exe_path: Option<PathBuf> = None;
    let mut r = E2eResult {
        commit,
        release_cold: Samples::new("s"),
        go_build_cold: Samples::new("s"),
        release_warm: Samples::new("s"),
        go_build_warm: Samples::new("s"),
        plan_warm: Samples::new("s"),
        warm_stages: BTreeMap::new(),
        cold_stages: BTreeMap::new(),
        sign_parts: BTreeMap::new(),
        zip_sizes: BTreeMap::new(),
        largest_artifact: (String::new(), 0),
        release_tree_peak_rss_cold: 0,
        release_tree_peak_rss_warm: 0,
    };
    for rep in 0..cold_reps {
        eprint!(
            "\r  release cold: repetition {}/{cold_reps} (about a minute each)   ",
            rep + 1
        );
        let winrelease_out = clone.join("target").join("winrelease");
        if winrelease_out.exists() {
            std::fs::remove_dir_all(&winrelease_out)?;
        }
        let gocache = fresh_dir(&work.join("gocache-cold"))?;
        let (wall, rss, json) = release(&xtask, &clone, &gocache)?;
        r.release_cold.push(wall);
        r.release_tree_peak_rss_cold = r.release_tree_peak_rss_cold.max(rss);
        record_stages(&mut r.cold_stages, &json);
        if let Some(arts) = json.get("artifacts").and_then(|a| a.as_array()) {
            for a in arts {
                let size = a.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
                if size > r.largest_artifact.1 {
                    let name = a.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                    r.largest_artifact = (name.to_string(), size);
                }
            }
        }
        let gocache = fresh_dir(&work.join("gocache-cold"))?;
        r.go_build_cold.push(go_build(&clone, &gocache, &exe_out)?);
    }
    eprintln!();
    // Warm: one unmeasured release fills the cache and target/winrelease, then nothing changes.
    let warm_cache = fresh_dir(&work.join("gocache-warm"))?;
    eprint!("  release warm: filling the Go cache…");
    release(&xtask, &clone, &warm_cache)?;
    go_build(&clone, &warm_cache, &exe_out)?;
    for rep in 0..warm_reps {
        eprint!(
            "\r  release warm: repetition {}/{warm_reps}            ",
            rep + 1
        );
        let (wall, rss, json) = release(&xtask, &clone, &warm_cache)?;
        r.release_warm.push(wall);
        r.release_tree_peak_rss_warm = r.release_tree_peak_rss_warm.max(rss);
        record_stages(&mut r.warm_stages, &json);
        exe_path = artifact_path(&json, "exe");
        r.go_build_warm
            .push(go_build(&clone, &warm_cache, &exe_out)?);
        let mut plan = Command::new(&xtask);
        plan.arg("--manifest-path")
            .arg(clone.join("Cargo.toml"))
            .args(["plan", "--snapshot", "--json"]);
        base_env(&mut plan, &clone, &warm_cache);
        r.plan_warm.push(
            run_child(&mut plan)
                .context("plan --snapshot")?
                .wall
                .as_secs_f64(),
        );
    }
    eprintln!();
    if let Some(exe) = exe_path {
        sign_stage_parts(&exe, warm_reps, &mut r)?;
    }
    for dir in ["gocache-cold", "gocache-warm"] {
        let _ = std::fs::remove_dir_all(work.join(dir));
    }
    Ok(r)
}

/// The `path` of the first artifact of `kind` in a `release --json` summary.
fn artifact_path(json: &serde_json::Value, kind: &str) -> Option<PathBuf> {
    json.get("artifacts")?
        .as_array()?
        .iter()
        .find(|a| a.get("kind").and_then(|k| k.as_str()) == Some(kind))?
        .get("path")?
        .as_str()
        .map(PathBuf::from)
}

/// Times what the sign stage does with the exe, one piece at a time, to show where a warm
/// re-release spends its time: one hashing pass, and the portable zip's deflate.
fn sign_stage_parts(exe: &Path, reps: usize, r: &mut E2eResult) -> Result<()> {
    use std::io::Write as _;
    use std::time::Instant;
    let bytes = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
    for _ in 0..reps {
        let t = Instant::now();
        winrelease::digest::hash_file(exe)?;
        r.sign_parts
            .entry("hash the exe (SHA-256 + BLAKE2b)".into())
            .or_insert_with(|| Samples::new("s"))
            .push(t.elapsed().as_secs_f64());
        for level in [9i64, 6] {
            let t = Instant::now();
            let mut out = std::io::Cursor::new(Vec::new());
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(level));
            zip.start_file("hellosvc.exe", options)?;
            zip.write_all(&bytes)?;
            zip.finish()?;
            r.sign_parts
                .entry(format!("deflate the exe into a zip, level {level}"))
                .or_insert_with(|| Samples::new("s"))
                .push(t.elapsed().as_secs_f64());
            r.zip_sizes
                .insert(format!("level {level}"), out.get_ref().len() as u64);
        }
    }
    Ok(())
}
