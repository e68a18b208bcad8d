//! `cargo xtask …`: the command-line face of winrelease. Each command is a few lines that call
//! the library; all behaviour lives in `winrelease`.

mod test_cmd;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use winrelease::config::Project;
use winrelease::pipeline;

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
    /// Run the whole pipeline (currently: stamp and build).
    Release,
    /// Run every test suite: cargo tests and `go test` (what CI runs).
    Test,
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Test => test_cmd::run(),
        Cmd::Stamp => {
            let project = load(&cli.manifest_path)?;
            let v = pipeline::versioned(&project)?;
            for w in &v.stamp.warnings {
                eprintln!("warning: {w}");
            }
            println!("version:      {}", v.stamp.version);
            println!("msi version:  {}", v.msi_version);
            println!(
                "tag:          {}",
                v.stamp.tag.as_deref().unwrap_or("(none)")
            );
            println!("distance:     {}", v.stamp.distance);
            println!("commit:       {}", v.stamp.commit);
            println!("commit time:  {}", v.stamp.commit_time_rfc3339());
            println!("dirty:        {}", v.stamp.dirty);
            Ok(())
        }
        Cmd::Build | Cmd::Release => {
            let project = load(&cli.manifest_path)?;
            let v = pipeline::versioned(&project)?;
            for w in &v.stamp.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!("stamp: {} (MSI {})", v.stamp.version, v.msi_version);
            let exe = pipeline::build(&project, &v).context("build stage")?;
            if cli.verbose {
                eprintln!("  $ {}", exe.command_line);
            }
            println!(
                "built {} ({} bytes, {})",
                exe.path.display(),
                exe.size,
                exe.go_version
            );
            if matches!(cli.command, Cmd::Release) {
                eprintln!("note: release currently stops after the build stage; packaging, signing and publishing are being added");
            }
            Ok(())
        }
    }
}

fn load(manifest_path: &Option<PathBuf>) -> Result<Project> {
    Ok(Project::load(manifest_path.as_deref())?)
}
