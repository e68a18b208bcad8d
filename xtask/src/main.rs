//! `cargo xtask …`: the command-line face of winrelease. Each command is a few lines that call
//! the library; all behaviour lives in `winrelease`.

mod bench;
mod edge;
mod fuzz_cmd;
mod progress;
mod release_cmd;
mod repro;
mod site_cmds;
mod stage_cmds;
mod store_cmds;
mod test_cmd;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use winrelease::config::Project;
use winrelease::{keys, verify};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Release a Go service for Windows: stamp, build, package, sign, publish"
)]
struct Cli {
    /// The workspace's root Cargo.toml (default: the current workspace).
    #[arg(long, global = true)]
    manifest_path: Option<PathBuf>,
    /// Show the exact commands run.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the version metadata read from git and the MSI ProductVersion it maps to.
    Stamp,
    /// Cross-compile the Go service for windows/amd64 into target/winrelease/<version>/.
    Build,
    /// Run the whole pipeline: stamp, build, package (MSI, zip), sign, manifest, verify.
    Release(ReleaseArgs),
    /// Show what `release` would build and publish, writing nothing (same as `release --dry-run`).
    Plan(ReleaseArgs),
    /// Make a signing key pair: winrelease.pub (commit it) and winrelease.key (keep it secret).
    Keygen {
        /// Folder to write the key pair to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a release: manifest signature, every artifact's size, hash and signature, chain, expiry.
    Verify {
        /// manifest.json or the release folder holding it.
        path: PathBuf,
        /// The release public key (minisign format).
        #[arg(long)]
        pubkey: PathBuf,
        /// The previous release's manifest.json, to check the chain link.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Publish a verified release folder into the release store (immutable, atomic).
    Publish(store_cmds::PublishArgs),
    /// Move a channel forward to a newer published version.
    Promote(store_cmds::PromoteArgs),
    /// Move a channel back to an older published version (a new, signed pointer).
    Rollback(store_cmds::RollbackArgs),
    /// Verify a whole release store: every version, the index and every channel pointer.
    VerifyStore(store_cmds::VerifyStoreArgs),
    /// Lint an MSI: our package rules and the ICE checks that can run on Linux.
    LintMsi {
        /// The .msi to check (ours or anyone's, e.g. one made by wixl).
        file: PathBuf,
    },
    /// Run every test suite: cargo tests and `go test` (what CI runs).
    Test,
    /// Run the coverage-guided fuzz targets (cargo fuzz, nightly); `--list` names them.
    Fuzz(fuzz_cmd::FuzzArgs),
    /// Measure the pipeline against wixl, go-msi, sha256sum/openssl and go build; write target/bench/.
    Bench(bench::BenchArgs),
    /// One measured MSI build, run by `bench` in its own process.
    #[command(hide = true)]
    BenchChild(bench::ChildArgs),
    /// Build HEAD twice (two clones, other times, umask, locale, TZ) and compare every artifact.
    Repro(repro::ReproArgs),
    /// Make a per-site transform (.mst) that sets site settings of an MSI, for Group Policy.
    Transform(site_cmds::TransformArgs),
    /// Group Policy readiness report for an MSI, its transforms and the previous release's MSI.
    GpoCheck(site_cmds::GpoCheckArgs),
}

#[derive(clap::Args)]
struct ReleaseArgs {
    /// Build an untagged or dirty commit for testing (never published to "stable").
    #[arg(long)]
    snapshot: bool,
    /// Show what would be built and published, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one machine-readable JSON summary object on stdout (and no progress).
    #[arg(long)]
    json: bool,
    /// Release channel (default: from the config; "snapshot" with --snapshot).
    #[arg(long)]
    channel: Option<String>,
    /// Release store: a folder, a UNC path, or s3://bucket/prefix (default: from the config,
    /// else target/winrelease/store).
    #[arg(long)]
    store: Option<String>,
    /// Secret key file (otherwise WINRELEASE_SECRET_KEY, or the development key outside CI).
    #[arg(long)]
    key: Option<PathBuf>,
}

impl ReleaseArgs {
    fn flags(self, verbose: bool, dry_run: bool) -> release_cmd::Flags {
        release_cmd::Flags {
            options: winrelease::release::ReleaseOptions {
                snapshot: self.snapshot,
                channel: self.channel,
                store: self.store,
                key_file: self.key,
            },
            dry_run: self.dry_run || dry_run,
            json: self.json,
            verbose,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Test => test_cmd::run().map(|()| 0),
        Cmd::Fuzz(args) => fuzz_cmd::run(args),
        Cmd::LintMsi { file } => stage_cmds::lint_msi(&file),
        Cmd::Transform(args) => site_cmds::transform(args),
        Cmd::GpoCheck(args) => site_cmds::gpo_check(args),
        Cmd::Publish(args) => store_cmds::publish(&load(&cli.manifest_path)?, args),
        Cmd::Promote(args) => store_cmds::promote(&load(&cli.manifest_path)?, args),
        Cmd::Rollback(args) => store_cmds::rollback(&load(&cli.manifest_path)?, args),
        Cmd::VerifyStore(args) => store_cmds::verify_store(args),
        Cmd::Bench(args) => bench::run(args, cli.manifest_path.as_deref()),
        Cmd::BenchChild(args) => bench::child(args, cli.manifest_path.as_deref()),
        Cmd::Repro(args) => repro::run(args, cli.manifest_path.as_deref()),
        Cmd::Stamp => stage_cmds::stamp(&load(&cli.manifest_path)?),
        Cmd::Build => stage_cmds::build(&load(&cli.manifest_path)?, cli.verbose),
        Cmd::Release(args) => {
            let project = load(&cli.manifest_path)?;
            release_cmd::run(&project, args.flags(cli.verbose, false))
        }
        Cmd::Plan(args) => {
            let project = load(&cli.manifest_path)?;
            release_cmd::run(&project, args.flags(cli.verbose, true))
        }
        Cmd::Keygen { out } => keygen(&out),
        Cmd::Verify {
            path,
            pubkey,
            previous,
        } => verify_cmd(&path, &pubkey, previous.as_deref()),
    }
}

/// `keygen`: a key pair in `out`, encrypted with the passphrase in `WINRELEASE_PASSPHRASE`.
fn keygen(out: &Path) -> Result<i32> {
    let passphrase = edge::keygen_passphrase().with_context(|| {
        format!(
            "set the passphrase for the new key in {}",
            keys::ENV_PASSPHRASE
        )
    })?;
    let paths = keys::keygen(out, &keys::Passphrase::new(passphrase))?;
    println!(
        "public key:  {} (commit it; admins verify with it)",
        paths.public.display()
    );
    println!("secret key:  {} (keep it secret)", paths.secret.display());
    println!(
        "for CI: store `base64 -w0 {}` as the secret {} and the passphrase as {}",
        paths.secret.display(),
        keys::ENV_SECRET_KEY,
        keys::ENV_PASSPHRASE
    );
    Ok(0)
}

/// `verify`: every check on one line; exit 1 at the first failure.
fn verify_cmd(path: &Path, pubkey: &Path, previous: Option<&Path>) -> Result<i32> {
    let key = keys::load_public_key(pubkey)?;
    match verify::verify_release(path, &key, edge::now(), previous) {
        Ok(verified) => {
            for line in &verified.lines {
                println!("{line}");
            }
            println!(
                "verified: {} {}",
                verified.manifest.product, verified.manifest.version
            );
            Ok(0)
        }
        Err(failure) => {
            for line in &failure.passed {
                println!("{line}");
            }
            println!("{failure}");
            Ok(1)
        }
    }
}

fn load(manifest_path: &Option<PathBuf>) -> Result<Project> {
    Ok(Project::load(manifest_path.as_deref())?)
}
