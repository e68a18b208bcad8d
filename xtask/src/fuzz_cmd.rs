//! `cargo xtask fuzz`: the coverage-guided fuzz targets in `fuzz/` (cargo fuzz, libFuzzer, on
//! the nightly toolchain), one per reader of untrusted bytes. Each target runs for `--time`
//! seconds on a working corpus under `fuzz/target/corpus/<target>/`, seeded from the committed
//! `fuzz/corpus/<target>/` (made by `--make-corpus`) and the dictionary `fuzz/dict/<target>.dict`
//! when there is one. A crash, hang or out-of-memory fails the command and names the input.

mod seeds;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60)]
    time: u64,
    /// Print the target names, one a line, and run nothing.
    #[arg(long)]
    list: bool,
    /// Regenerate the seed corpora in fuzz/corpus/ from artifacts the pipeline makes.
    #[arg(long)]
    make_corpus: bool,
    /// Targets to run (default: every target).
    targets: Vec<String>,
}

/// A hang: one input running longer than this many seconds fails the run.
const HANG_SECS: u64 = 10;

fn fuzz_dir() -> PathBuf {
    crate::test_cmd::workspace_root().join("fuzz")
}

/// The targets: the files of `fuzz/fuzz_targets/`, sorted.
fn targets(fuzz: &Path) -> Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().expect("a file name").to_string_lossy();
            names.push(stem.into_owned());
        }
    }
    names.sort();
    Ok(names)
}

pub fn run(args: FuzzArgs) -> Result<i32> {
    let fuzz = fuzz_dir();
    let all = targets(&fuzz)?;
    if args.list {
        for name in &all {
            println!("{name}");
        }
        return Ok(0);
    }
    if args.make_corpus {
        return seeds::make_corpus(&crate::test_cmd::workspace_root()).map(|()| 0);
    }
    let chosen = if args.targets.is_empty() {
        all.clone()
    } else {
        args.targets
    };
    if let Some(unknown) = chosen.iter().find(|t| !all.contains(t)) {
        bail!(
            "no fuzz target {unknown:?}; the targets are: {}",
            all.join(", ")
        );
    }
    require_cargo_fuzz()?;
    let built = cargo_fuzz(&fuzz, &["build"])
        .status()
        .context("starting cargo fuzz build")?;
    if !built.success() {
        bail!("cargo fuzz build failed ({built})");
    }
    let mut failed = Vec::new();
    for target in &chosen {
        let outcome = run_target(&fuzz, target, args.time)?;
        println!("{outcome}");
        if !outcome.ok {
            failed.push(target.clone());
        }
    }
    if !failed.is_empty() {
        bail!("fuzz targets failed: {} (inputs under fuzz/artifacts/; each becomes a regression test in the reader's crate)", failed.join(", "));
    }
    Ok(0)
}

/// `cargo +nightly fuzz <sub> …` with the options every run uses: no sanitizer (the readers
/// are safe Rust; the instrumentation is for coverage), debug assertions and overflow checks on.
fn cargo_fuzz(fuzz: &Path, sub: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .arg("fuzz")
        .args(sub)
        .args(["--sanitizer", "none", "--debug-assertions"])
        .current_dir(fuzz.parent().expect("fuzz/ is in the workspace"));
    cmd
}

fn require_cargo_fuzz() -> Result<()> {
    let found = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        bail!("cargo fuzz on the nightly toolchain is needed\nfix: rustup toolchain install nightly --profile minimal && cargo install cargo-fuzz --locked (.ci/run does both)");
    }
    Ok(())
}

/// What one target's run did.
struct Outcome {
    target: String,
    ok: bool,
    execs: Option<u64>,
    /// libFuzzer's `cov:` (covered edges) and `ft:` (features) at the end.
    cov: Option<u64>,
    ft: Option<u64>,
    log: PathBuf,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        write!(
            f,
            "{} {}: {} executions, cov {} edges, ft {} (log {})",
            if self.ok { "ok  " } else { "FAIL" },
            self.target,
            n(self.execs),
            n(self.cov),
            n(self.ft),
            self.log.display()
        )
    }
}

fn run_target(fuzz: &Path, target: &str, secs: u64) -> Result<Outcome> {
    let work = fuzz.join("target/corpus").join(target);
    let logs = fuzz.join("target/logs");
    fs::create_dir_all(&work)?;
    fs::create_dir_all(&logs)?;
    let log = logs.join(format!("{target}.log"));
    let mut libfuzzer = vec![
        format!("-max_total_time={secs}"),
        format!("-timeout={HANG_SECS}"),
        "-rss_limit_mb=2048".to_string(),
        "-print_final_stats=1".to_string(),
    ];
    let dict = fuzz.join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        libfuzzer.push(format!("-dict={}", dict.display()));
    }
    let seeds = fuzz.join("corpus").join(target);
    let status = cargo_fuzz(fuzz, &["run", target])
        .arg(&work)
        .arg(&seeds)
        .arg("--")
        .args(&libfuzzer)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log)?)
        .status()
        .context("starting cargo fuzz run")?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    if !status.success() {
        eprintln!("--- end of {}:", log.display());
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
    }
    Ok(Outcome {
        target: target.to_string(),
        ok: status.success(),
        execs: stat(&text, "stat::number_of_executed_units:"),
        cov: last_counter(&text, "cov:"),
        ft: last_counter(&text, "ft:"),
        log,
    })
}

/// The number after `key` on libFuzzer's final-statistics line.
fn stat(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

/// The number after the last `key` in libFuzzer's status lines (`#123 NEW cov: 456 ft: 789 …`).
fn last_counter(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .rev()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| l.split_once(key))
        .find_map(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_figures() {
        let log = "INFO: seed\n#2 INITED cov: 10 ft: 12 corp: 1/1b\n#9 NEW cov: 15 ft: 20 corp: 2/3b\n#100 DONE cov: 17 ft: 22 corp: 3/5b\nstat::number_of_executed_units: 100\n";
        assert_eq!(stat(log, "stat::number_of_executed_units:"), Some(100));
        assert_eq!(last_counter(log, "cov:"), Some(17));
        assert_eq!(last_counter(log, "ft:"), Some(22));
        assert_eq!(stat("nothing", "stat::x:"), None);
    }

    #[test]
    fn every_target_has_a_committed_seed_corpus() {
        let fuzz = fuzz_dir();
        let names = targets(&fuzz).unwrap();
        assert!(names.len() >= 8, "{names:?}");
        for name in names {
            let seeds = fuzz.join("corpus").join(&name);
            let count = fs::read_dir(&seeds)
                .map(|d| d.filter_map(|e| e.ok()).count())
                .unwrap_or(0);
            assert!(
                count > 0,
                "{} has no seeds: run cargo xtask fuzz --make-corpus",
                seeds.display()
            );
        }
    }
}
