//! `cargo xtask bench`: the pipeline against the tools users would pick instead, on this
//! machine, in one run (interleaved repetitions, medians with min–max), with a pass/fail line
//! for every target. Writes `target/bench/report.md`, `report.json` and `chart.svg`.
//!
//! Targets are goals, not tests: the command exits 0 when a target is missed (it prints FAIL)
//! and non-zero only when something could not be measured at all.
//!
//! The alias `cargo xtask` builds this binary with the release profile on purpose: the MSI,
//! cabinet and hashing code (and their dependencies) are many times slower unoptimized, and the
//! release profile is what users run, so that is what is measured.

mod cold_build;
mod e2e;
mod gomsi;
mod hashing;
mod measure;
mod msi;
mod payload;
mod report;
mod s3;
mod wxs;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use winrelease::config::Project;

/// Files in the generated payload.
pub const PAYLOAD_FILES: usize = 5_000;
/// Bytes in the generated payload: 100 MiB.
pub const PAYLOAD_BYTES: u64 = 100 << 20;

/// Parts of the bench, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// MSI stage vs wixl and go-msi, both payloads, and peak RSS.
    Msi,
    /// Hashing throughput.
    Hash,
    /// End-to-end release, cold and warm, vs go build.
    E2e,
    /// `cargo build --release -p xtask` into an empty target folder: a fresh clone's first run.
    ColdBuild,
    /// S3 publish and verify-store of a large version against the local S3 server.
    S3,
}

/// `cargo xtask bench` options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Two repetitions and a smaller hashing input: a quick look, not numbers to quote.
    #[arg(long)]
    pub quick: bool,
    /// Repetitions of each measurement (default 5; 2 with --quick).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Repetitions of the cold end-to-end release (each compiles Go's standard library, about
    /// half a minute on two cores; default: --reps).
    #[arg(long)]
    pub cold_reps: Option<usize>,
    /// Run only these parts (comma-separated); the report then shows only their targets.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Keep the scratch folder target/bench/work (payload, clone, every tool's MSI).
    #[arg(long)]
    pub keep: bool,
}

/// `bench-child`: the measured process of one MSI build (hidden; the bench runs it).
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    #[command(subcommand)]
    pub what: ChildCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum ChildCmd {
    /// The example service's MSI stage (package_msi::package_msi) for a built exe.
    ProjectMsi {
        #[arg(long)]
        exe: PathBuf,
    },
    /// Runs a command and writes its wall time and peak RSS to `report` (see measure::run_measured).
    Measure {
        #[arg(long)]
        report: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// The generated payload's MSI (write_package + lint), planned with these arguments.
    PayloadMsi {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        total: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Publishes a release to an S3 store (the S3 rows).
    S3Publish(s3::S3ChildArgs),
    /// Verifies an S3 store (the S3 rows).
    S3Verify(s3::S3ChildArgs),
}

/// Runs a `bench-child` command; prints its report as one JSON line.
pub fn child(args: ChildArgs, manifest_path: Option<&Path>) -> Result<i32> {
    if let ChildCmd::Measure { report, command } = &args.what {
        return measure::launch(report, command);
    }
    match &args.what {
        ChildCmd::S3Publish(s3_args) => return s3::child_publish(s3_args),
        ChildCmd::S3Verify(s3_args) => return s3::child_verify(s3_args),
        _ => {}
    }
    let report = match args.what {
        ChildCmd::ProjectMsi { exe } => msi::child_project_msi(manifest_path, &exe)?,
        ChildCmd::PayloadMsi {
            root,
            count,
            total,
            out,
        } => msi::child_payload_msi(&root, count, total, &out)?,
        ChildCmd::Measure { .. } | ChildCmd::S3Publish(_) | ChildCmd::S3Verify(_) => {
            unreachable!("handled above")
        }
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(0)
}

/// Runs the bench; 0 when everything was measured (targets may still FAIL).
pub fn run(args: BenchArgs, manifest_path: Option<&Path>) -> Result<i32> {
    let reps = args.reps.unwrap_or(if args.quick { 2 } else { 5 }).max(1);
    let cold_reps = args.cold_reps.unwrap_or(reps).max(1);
    let parts = if args.only.is_empty() {
        vec![Part::Msi, Part::Hash, Part::E2e, Part::S3, Part::ColdBuild]
    } else {
        args.only.clone()
    };
    let (root, target_dir) = winrelease_cli::repro::workspace_dirs(manifest_path)?;
    let out_dir = target_dir.join("bench");
    let work = out_dir.join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("removing the old {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    // Children run a copy: another cargo command may replace target/release/xtask meanwhile.
    let xtask = winrelease_cli::repro::private_copy_of_self(&work)?;
    let mut rep = report::Report::new(reps, cold_reps, args.quick);
    eprintln!(
        "bench: {reps} repetition(s), parts {:?}, scratch {}",
        parts,
        work.display()
    );

    let clone = work.join("clone");
    let needs_clone = parts.iter().any(|p| *p != Part::Hash);
    if needs_clone {
        let commit = e2e::clone_head(&root, &clone)?;
        eprintln!("bench: measuring commit {commit} (a fresh clone of HEAD; uncommitted changes are not measured)");
        rep.commit = Some(commit);
    }

    let mut failed = false;
    let mut record_failure = |rep: &mut report::Report, part: &str, err: anyhow::Error| {
        eprintln!("bench: the {part} part failed: {err:#}");
        rep.skipped
            .push(format!("{part}: could not be measured: {err:#}"));
        failed = true;
    };

    if parts.contains(&Part::Msi) {
        if let Err(err) = msi_part(&mut rep, &work, &clone, &xtask, reps) {
            record_failure(&mut rep, "MSI", err);
        }
    }

    if parts.contains(&Part::Hash) {
        let size: u64 = if args.quick { 256 << 20 } else { 512 << 20 };
        eprintln!("bench: hashing {} MiB…", size >> 20);
        match hashing::run(&work.join("hash"), size, reps) {
            Ok(h) => rep.hashing = Some(h),
            Err(err) => record_failure(&mut rep, "hashing", err),
        }
    }

    if parts.contains(&Part::E2e) {
        eprintln!("bench: end to end (release --snapshot vs go build)…");
        match e2e::run(&xtask, &work, &clone, cold_reps, reps) {
            Ok(e) => rep.e2e = Some(e),
            Err(err) => record_failure(&mut rep, "end-to-end", err),
        }
    }

    if parts.contains(&Part::ColdBuild) {
        eprintln!("bench: cold xtask build (several minutes)…");
        match cold_build::run(&clone, &work) {
            Ok(c) => rep.cold_build = Some(c),
            Err(err) => record_failure(&mut rep, "cold build", err),
        }
    }

    if parts.contains(&Part::S3) {
        let size = if args.quick {
            s3::QUICK_BYTES
        } else {
            s3::FULL_BYTES
        };
        eprintln!("bench: S3 publish and verify-store, {} MiB…", size >> 20);
        match s3::run(&xtask, &root, &work.join("s3"), size, reps.min(2)) {
            Ok(s) => rep.s3 = Some(s),
            Err(err) => record_failure(&mut rep, "S3", err),
        }
    }

    rep.finish();
    std::fs::create_dir_all(&out_dir)?;
    let md = rep.markdown();
    std::fs::write(out_dir.join("report.md"), &md)?;
    std::fs::write(
        out_dir.join("report.json"),
        serde_json::to_string_pretty(&rep)?,
    )?;
    std::fs::write(out_dir.join("chart.svg"), rep.svg())?;
    println!("{md}");
    println!(
        "wrote {}, report.json, chart.svg",
        out_dir.join("report.md").display()
    );
    if !args.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(if failed { 1 } else { 0 })
}

/// MSI stage vs wixl and go-msi: (a) the example service's exe, (b) the generated payload.
fn msi_part(
    rep: &mut report::Report,
    work: &Path,
    clone: &Path,
    xtask: &Path,
    reps: usize,
) -> Result<()> {
    eprintln!(
        "bench: go-msi program (fetching {} through the Go module proxy)…",
        gomsi::MODULE
    );
    let gomsi_bin = gomsi::build(&work.join("gomsi"));
    match &gomsi_bin {
        Ok(_) => {
            let local = gomsi::local_replacements();
            if !local.is_empty() {
                rep.notes.push(format!(
                    "go-msi was built from local sources named in {} ({}), not fetched through the proxy",
                    gomsi::ENV_REPLACE,
                    local.iter().map(|(m, p)| format!("{m} = {p}")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Err(reason) => {
            eprintln!("bench: go-msi SKIPPED: {reason}");
            rep.skipped.push(format!("go-msi: {reason}"));
        }
    }

    // (a) the example service's exe, built by the pipeline's own build stage.
    let clone_project = Project::load(Some(&clone.join("Cargo.toml")))?;
    let versioned = winrelease::stamp::versioned(&clone_project.root)?;
    eprintln!(
        "bench: building the example service ({})…",
        versioned.stamp.version
    );
    let go_env = winrelease_cli::edge::go_environment();
    let exes = winrelease::gobuild::build_project(&clone_project, &versioned, &go_env)
        .context("building the example service")?;
    let contents = winrelease::payload::Contents::read(&clone_project)?;
    let model =
        winrelease::package_msi::package_model(&clone_project, &versioned, contents.with(&exes))?;
    let exe = &exes.service;
    let a = msi::compare(
        "example service exe",
        msi::OurSide::Project {
            manifest: &clone.join("Cargo.toml"),
            exe: &exe.path,
        },
        &model,
        reps,
        &work.join("msi-exe"),
        &gomsi_bin,
        xtask,
    )?;
    rep.msi.push(a);

    // (b) the generated 5,000-file payload.
    let root = work.join("payload");
    let plan = payload::plan(&root, PAYLOAD_FILES, PAYLOAD_BYTES);
    eprintln!(
        "bench: writing the payload ({} files, {:.0} MB: {} text, {} random, {} zeros)…",
        plan.files.len(),
        plan.total_bytes() as f64 / 1e6,
        plan.count(payload::Kind::Text),
        plan.count(payload::Kind::Random),
        plan.count(payload::Kind::Zeros)
    );
    payload::write(&plan)?;
    let model = payload::package(&plan)?;
    let b = msi::compare(
        &format!("{PAYLOAD_FILES} files, {} MiB", PAYLOAD_BYTES >> 20),
        msi::OurSide::Payload {
            root: &root,
            count: PAYLOAD_FILES,
            total: PAYLOAD_BYTES,
        },
        &model,
        reps,
        &work.join("msi-payload"),
        &gomsi_bin,
        xtask,
    )?;
    rep.msi.push(b);
    Ok(())
}
