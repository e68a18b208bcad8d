//! MSI stage against wixl and go-msi on the same payload.
//!
//! Every tool runs as a child process, interleaved repetition by repetition (ours, wixl,
//! go-msi, ours, …) so machine noise hits all of them alike. Our side is the pipeline's own
//! code in a `bench-child` process: the MSI stage exactly as `release` runs it for the example
//! service, and `write_package` + `lint` (what that stage does) for the generated payload.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use msi_writer as mw;
use serde::{Deserialize, Serialize};
use winrelease::config::Project;
use winrelease::gobuild::{BuiltExe, BuiltExes};

use super::measure::{run_child, run_measured, Samples};
use super::{gomsi, payload, wxs};

/// What a `bench-child` MSI run prints (one JSON object on stdout).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// The MSI stage: model, write, lint.
    pub stage_s: f64,
    /// Of which writing the package.
    pub write_s: Option<f64>,
    /// Of which the lint that reads it back.
    pub lint_s: Option<f64>,
    pub msi: PathBuf,
    pub msi_bytes: u64,
    /// VmHWM of the child process at the end: its own peak resident set.
    pub peak_rss: u64,
}

/// Inside the child: the example service's MSI stage (`package_msi::package_msi`) for `exe`.
pub fn child_project_msi(manifest: Option<&Path>, exe: &Path) -> Result<ChildReport> {
    let project = Project::load(manifest)?;
    let versioned = winrelease::stamp::versioned(&project.root)?;
    let built = BuiltExe {
        exe_name: project.config.exe_name.clone(),
        path: exe.to_path_buf(),
        size: std::fs::metadata(exe)
            .with_context(|| format!("reading {}", exe.display()))?
            .len(),
        go_version: String::new(),
        command_line: String::new(),
    };
    let exes = BuiltExes {
        service: built,
        others: Vec::new(),
    };
    let started = Instant::now();
    let contents = winrelease::payload::Contents::read(&project)?;
    let out_dir = project.version_dir(&versioned.stamp.version);
    let set = contents.with(&exes);
    let msi = winrelease::package_msi::package_msi(&project, &versioned, set, &out_dir)?;
    let stage_s = started.elapsed().as_secs_f64();
    Ok(ChildReport {
        stage_s,
        write_s: None,
        lint_s: None,
        msi_bytes: msi.size,
        msi: msi.path,
        peak_rss: super::measure::own_peak_rss().unwrap_or(0),
    })
}

/// Inside the child: the generated payload's MSI, written and linted like the MSI stage does.
pub fn child_payload_msi(root: &Path, count: usize, total: u64, out: &Path) -> Result<ChildReport> {
    let started = Instant::now();
    let plan = payload::plan(root, count, total);
    let pkg = payload::package(&plan)?;
    let write_started = Instant::now();
    let report = mw::write_package(&pkg, out)?;
    let write_s = write_started.elapsed().as_secs_f64();
    let lint_started = Instant::now();
    let errors: Vec<String> = mw::lint(out)?
        .into_iter()
        .filter(|f| f.severity == mw::Severity::Error)
        .map(|f| f.to_string())
        .collect();
    if !errors.is_empty() {
        bail!("the payload MSI fails its lint:\n{}", errors.join("\n"));
    }
    let lint_s = lint_started.elapsed().as_secs_f64();
    Ok(ChildReport {
        stage_s: started.elapsed().as_secs_f64(),
        write_s: Some(write_s),
        lint_s: Some(lint_s),
        msi: out.to_path_buf(),
        msi_bytes: report.msi_bytes,
        peak_rss: super::measure::own_peak_rss().unwrap_or(0),
    })
}

/// One tool's results on one payload.
#[derive(Debug, Clone, Serialize)]
pub struct ToolResult {
    pub tool: String,
    /// Seconds: our MSI stage as timed inside the process; the peers' whole process.
    pub time: Samples,
    /// Seconds: the whole child process (ours includes loading the project).
    pub process_time: Samples,
    pub msi_bytes: u64,
    pub peak_rss: u64,
    /// Rows in the File table (msiinfo), a check that the packages are equivalent.
    pub file_rows: Option<usize>,
    /// Set when the tool could not run; the reason.
    pub skipped: Option<String>,
}

impl ToolResult {
    fn new(tool: &str) -> ToolResult {
        ToolResult {
            tool: tool.into(),
            time: Samples::new("s"),
            process_time: Samples::new("s"),
            msi_bytes: 0,
            peak_rss: 0,
            file_rows: None,
            skipped: None,
        }
    }

    pub fn skipped(tool: &str, reason: String) -> ToolResult {
        ToolResult {
            skipped: Some(reason),
            ..ToolResult::new(tool)
        }
    }
}

/// All tools on one payload.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadResult {
    pub payload: String,
    pub files: usize,
    pub payload_bytes: u64,
    pub ours: ToolResult,
    /// Our write and lint split (payload only).
    pub ours_write: Samples,
    pub ours_lint: Samples,
    pub wixl: ToolResult,
    pub gomsi: ToolResult,
    /// What the peers' packages lack compared with ours.
    pub not_expressed: Vec<String>,
    pub wixl_lacks: Vec<String>,
    pub gomsi_lacks: Vec<String>,
}

/// How our side of a payload is run.
pub enum OurSide<'a> {
    /// `package_msi::package_msi` for the example service in `manifest`'s workspace.
    Project { manifest: &'a Path, exe: &'a Path },
    /// The generated payload (planned with these arguments).
    Payload {
        root: &'a Path,
        count: usize,
        total: u64,
    },
}

/// Runs every tool `reps` times on `pkg` (the model of `side`), interleaved.
pub fn compare(
    label: &str,
    side: OurSide,
    pkg: &mw::Package,
    reps: usize,
    work: &Path,
    gomsi_bin: &Result<PathBuf, String>,
    xtask: &Path,
) -> Result<PayloadResult> {
    std::fs::create_dir_all(work)?;
    let sources = wxs::materialize_sources(pkg, &work.join("sources"))?;
    let work_abs = work.canonicalize()?;
    let relative: std::collections::BTreeMap<String, PathBuf> = sources
        .iter()
        .map(|(k, p)| {
            let abs = p.canonicalize().unwrap_or_else(|_| p.clone());
            (k.clone(), wxs::relative_to(&abs, &work_abs))
        })
        .collect();
    let wxs_path = work.join("package.wxs");
    std::fs::write(&wxs_path, wxs::generate(pkg, &relative)?)?;
    let spec_path = work.join("gomsi-spec.json");
    std::fs::write(
        &spec_path,
        serde_json::to_vec_pretty(&gomsi::spec(pkg, &sources))?,
    )?;
    let payload_bytes: u64 = sources
        .values()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();

    let self_exe = xtask;
    let mut ours = ToolResult::new("winrelease (msi-writer)");
    let mut ours_write = Samples::new("s");
    let mut ours_lint = Samples::new("s");
    let mut wixl = if which("wixl") {
        ToolResult::new("wixl")
    } else {
        ToolResult::skipped(
            "wixl",
            "wixl is not installed (Debian: apt-get install wixl)".into(),
        )
    };
    let mut go = match gomsi_bin {
        Ok(_) => ToolResult::new("go-msi"),
        Err(reason) => ToolResult::skipped("go-msi", reason.clone()),
    };
    let wixl_out = work.join("wixl.msi");
    let go_out = work.join("gomsi.msi");
    let mut our_msi = PathBuf::new();

    for rep in 0..reps {
        eprint!("\r  {label}: repetition {}/{reps}   ", rep + 1);
        let mut cmd = Command::new(self_exe);
        match &side {
            OurSide::Project { manifest, exe } => {
                cmd.arg("--manifest-path")
                    .arg(manifest)
                    .args(["bench-child", "project-msi", "--exe"])
                    .arg(exe);
            }
            OurSide::Payload { root, count, total } => {
                cmd.args(["bench-child", "payload-msi", "--root"])
                    .arg(root)
                    .args(["--count", &count.to_string(), "--total", &total.to_string()])
                    .arg("--out")
                    .arg(work.join("ours.msi"));
            }
        }
        let run = run_child(&mut cmd).context("our MSI stage (bench-child)")?;
        let report: ChildReport = serde_json::from_str(run.stdout.trim())
            .with_context(|| format!("bench-child printed {:?}", run.stdout))?;
        ours.time.push(report.stage_s);
        ours.process_time.push(run.wall.as_secs_f64());
        ours.msi_bytes = report.msi_bytes;
        ours.peak_rss = ours.peak_rss.max(report.peak_rss);
        if let Some(w) = report.write_s {
            ours_write.push(w);
        }
        if let Some(l) = report.lint_s {
            ours_lint.push(l);
        }
        our_msi = report.msi;

        if wixl.skipped.is_none() {
            let _ = std::fs::remove_file(&wixl_out);
            let run = run_measured(
                xtask,
                Command::new("wixl")
                    .args(["-a", "x64", "-o"])
                    .arg(&wixl_out)
                    .arg(&wxs_path)
                    .current_dir(work),
            );
            record_peer_run(&mut wixl, run, &wixl_out, "wixl")?;
        }
        if let (Ok(bin), None) = (gomsi_bin, &go.skipped) {
            let _ = std::fs::remove_file(&go_out);
            let run = run_measured(xtask, Command::new(bin).arg(&spec_path).arg(&go_out));
            record_peer_run(&mut go, run, &go_out, "go-msi program")?;
        }
    }
    eprintln!();
    // Equivalence check: every package has the same number of File rows.
    if which("msiinfo") {
        ours.file_rows = file_rows(&our_msi);
        if wixl.skipped.is_none() {
            wixl.file_rows = file_rows(&wixl_out);
        }
        if go.skipped.is_none() {
            go.file_rows = file_rows(&go_out);
        }
    }
    Ok(PayloadResult {
        payload: label.into(),
        files: pkg.files.len(),
        payload_bytes,
        ours,
        ours_write,
        ours_lint,
        wixl,
        gomsi: go,
        not_expressed: wxs::not_expressed(pkg),
        wixl_lacks: wxs::wixl_lacks(pkg),
        gomsi_lacks: gomsi::lacks(pkg),
    })
}

/// Number of rows in an MSI's File table, read with `msiinfo export`.
fn file_rows(msi: &Path) -> Option<usize> {
    let out = Command::new("msiinfo")
        .arg("export")
        .arg(msi)
        .arg("File")
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(3)
            .filter(|l| !l.trim().is_empty())
            .count()
    })
}

/// True when `tool` is an executable on PATH.
pub fn which(tool: &str) -> bool {
    testkit::find_in_path(tool).is_some()
}

/// Adds one measured run of a peer tool to its results, or marks the peer skipped with the last
/// line of its failure (GLib and Go print warnings first; the reason is the last line).
fn record_peer_run(
    peer: &mut ToolResult,
    run: Result<super::measure::ChildRun>,
    out: &Path,
    label: &str,
) -> Result<()> {
    match run {
        Ok(run) => {
            peer.time.push(run.wall.as_secs_f64());
            peer.process_time.push(run.wall.as_secs_f64());
            peer.peak_rss = peer.peak_rss.max(run.max_rss);
            peer.msi_bytes = std::fs::metadata(out)?.len();
        }
        Err(err) => {
            let text = format!("{err:#}");
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            peer.skipped = Some(format!("{label} failed: {last}"));
        }
    }
    Ok(())
}
