//! `cargo xtask …`: the command-line face of winrelease, as a library so that any repository's
//! `xtask` is one line: `fn main() { winrelease_cli::main() }` (what `init` writes). Each command
//! is a few lines that call the library; all behaviour lives in `winrelease`.
//!
//! Invariant: this crate and the binaries built on it are the only code that reads environment
//! variables and the clock ([`edge`]); every command returns its exit code, and [`exit`] is the
//! one place that prints an error and ends the process.

pub mod edge;
mod fetch_previous;
mod init;
mod progress;
mod release_cmd;
pub mod repro;
mod rollout_cmds;
mod site_cmds;
mod stage_cmds;
mod store_cmds;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use winrelease::config::Project;
use winrelease::{keys, verify};

/// `cargo xtask` with winrelease's commands: what an adopter's xtask runs.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Release a Go service for Windows: stamp, build, package, sign, publish"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// The workspace's root Cargo.toml (default: the current workspace).
    #[arg(long, global = true)]
    pub manifest_path: Option<PathBuf>,
    /// Show the exact commands run.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// winrelease's commands. A binary with commands of its own flattens this enum into its
/// subcommands and hands these to [`run`].
#[derive(Subcommand)]
pub enum Command {
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
    /// Add winrelease to an existing Go repository: an xtask crate, the release configuration
    /// filled in from what the repository holds, the cargo alias and two GitHub workflows.
    Init(init::InitArgs),
    /// Staged rollout to the host agents: start, status, advance, halt, abort.
    #[command(subcommand)]
    Rollout(rollout_cmds::RolloutCommand),
    /// Lint an MSI: our package rules and the ICE checks that can run on Linux.
    LintMsi {
        /// The .msi to check (ours or anyone's, e.g. one made by wixl).
        file: PathBuf,
    },
    /// Build HEAD twice (two clones, other times, umask, locale, TZ) and compare every artifact.
    Repro(repro::ReproArgs),
    /// Make a per-site transform (.mst) that sets site settings of an MSI, for Group Policy.
    Transform(site_cmds::TransformArgs),
    /// Group Policy readiness report for an MSI, its transforms and the previous release's MSI.
    GpoCheck(site_cmds::GpoCheckArgs),
    /// Before a CI release: with no release store configured, fetch the previous GitHub
    /// Release's manifest and MSI (with `gh`) for `release --previous`.
    FetchPrevious(fetch_previous::FetchPreviousArgs),
}

/// Options of `release` and `plan`.
#[derive(clap::Args)]
pub struct ReleaseArgs {
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
    /// A folder with the previous release's manifest.json(.minisig) and MSI (what
    /// `fetch-previous` writes), used when the store has no earlier release.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
}

impl ReleaseArgs {
    fn flags(self, verbose: bool, dry_run: bool) -> release_cmd::Flags {
        release_cmd::Flags {
            options: winrelease::release::ReleaseOptions {
                snapshot: self.snapshot,
                channel: self.channel,
                store: edge::store_override(self.store),
                key_file: self.key,
                previous: self.previous,
            },
            dry_run: self.dry_run || dry_run,
            json: self.json,
            verbose,
        }
    }
}

/// The whole command line: parse the arguments, run the command, exit with its code. The one
/// entry point an adopter's `xtask/src/main.rs` calls.
pub fn main() -> ! {
    let cli = Cli::parse();
    exit(run(&cli.global, cli.command))
}

/// End the process with a command's exit code, or print its error and exit 1.
pub fn exit(result: Result<i32>) -> ! {
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}

/// Run one of winrelease's commands; returns its exit code.
pub fn run(global: &GlobalArgs, command: Command) -> Result<i32> {
    match command {
        Command::Init(args) => init::run(&args, &edge::fresh_guid()),
        Command::LintMsi { file } => stage_cmds::lint_msi(&file),
        Command::Transform(args) => site_cmds::transform(args),
        Command::GpoCheck(args) => site_cmds::gpo_check(args),
        Command::FetchPrevious(args) => fetch_previous::run(&load(&global.manifest_path)?, args),
        Command::Publish(args) => store_cmds::publish(&load(&global.manifest_path)?, args),
        Command::Promote(args) => store_cmds::promote(&load(&global.manifest_path)?, args),
        Command::Rollback(args) => store_cmds::rollback(&load(&global.manifest_path)?, args),
        Command::VerifyStore(args) => store_cmds::verify_store(args),
        Command::Rollout(cmd) => rollout_cmds::run(&load(&global.manifest_path)?, cmd),
        Command::Repro(args) => repro::run(args, global.manifest_path.as_deref()),
        Command::Stamp => stage_cmds::stamp(&load(&global.manifest_path)?),
        Command::Build => stage_cmds::build(&load(&global.manifest_path)?, global.verbose),
        Command::Release(args) => {
            let project = load(&global.manifest_path)?;
            release_cmd::run(&project, args.flags(global.verbose, false))
        }
        Command::Plan(args) => {
            let project = load(&global.manifest_path)?;
            release_cmd::run(&project, args.flags(global.verbose, true))
        }
        Command::Keygen { out } => keygen(&out),
        Command::Verify {
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
