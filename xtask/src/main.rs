//! `cargo xtask …` in winrelease's own repository: every command of [`winrelease_cli`] (what an
//! adopter's xtask has) plus the commands that develop winrelease itself: `test`, `bench`.

mod bench;
mod fuzz_cmd;
mod test_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use winrelease_cli::GlobalArgs;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Release a Go service for Windows: stamp, build, package, sign, publish"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Release(winrelease_cli::Command),
    /// Run every test suite: cargo tests and `go test` (what CI runs).
    Test,
    /// Run the coverage-guided fuzz targets (cargo fuzz, nightly); `--list` names them.
    Fuzz(fuzz_cmd::FuzzArgs),
    /// Measure the pipeline against wixl, go-msi, sha256sum/openssl and go build; write target/bench/.
    Bench(bench::BenchArgs),
    /// One measured MSI build, run by `bench` in its own process.
    #[command(hide = true)]
    BenchChild(bench::ChildArgs),
}

fn main() {
    let cli = Cli::parse();
    winrelease_cli::exit(run(cli))
}

fn run(cli: Cli) -> Result<i32> {
    let manifest_path = cli.global.manifest_path.as_deref();
    match cli.command {
        Cmd::Release(command) => winrelease_cli::run(&cli.global, command),
        Cmd::Test => test_cmd::run().map(|()| 0),
        Cmd::Fuzz(args) => fuzz_cmd::run(args),
        Cmd::Bench(args) => bench::run(args, manifest_path),
        Cmd::BenchChild(args) => bench::child(args, manifest_path),
    }
}
