//! `init`: add winrelease to an existing Go repository. It reads the repository ([`detect`]),
//! then writes a small `xtask/` crate whose `main` is [`crate::main`], the `cargo xtask` alias,
//! a root `Cargo.toml` whose `[workspace.metadata.winrelease]` is filled in from what it found
//! (with a fresh UpgradeCode), winrelease's tested `Cargo.lock`, `.gitignore` lines and two
//! GitHub workflows.
//!
//! *Invariant:* nothing that exists is overwritten (each file is created whole or not at all;
//! `.gitignore` only gains missing lines), and every file left alone is named in the report.

mod detect;
mod templates;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use templates::Source;

/// `cargo xtask init` options.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The Go repository to add winrelease to (the folder holding its go.mod).
    #[arg(long, default_value = ".")]
    pub into: PathBuf,
    /// Take winrelease from this git URL (default: from this checkout of winrelease, by path).
    #[arg(long, conflicts_with = "winrelease_path")]
    pub winrelease_git: Option<String>,
    /// Take winrelease from this folder (a checkout of the winrelease repository).
    #[arg(long)]
    pub winrelease_path: Option<PathBuf>,
    /// The service's main package when the repository has several (`./cmd/name`); the others
    /// become `[[binaries]]`.
    #[arg(long)]
    pub service: Option<String>,
}

/// The winrelease lockfile the adopter's xtask starts from: the versions winrelease is tested
/// with (cargo adds the xtask and drops what it does not use).
const LOCKFILE: &str = include_str!("../../../../Cargo.lock");

/// Runs `init`; `upgrade_code` is the fresh GUID the edge made.
pub fn run(args: &InitArgs, upgrade_code: &str) -> Result<i32> {
    let root = &args.into;
    let found = detect::detect(root)?;
    let service = service_index(&found, args.service.as_deref())?;
    let source = match (&args.winrelease_git, &args.winrelease_path) {
        (Some(url), _) => Source::Git(url.clone()),
        (None, Some(path)) => Source::Path(
            absolute(path)?
                .join("crates/winrelease-cli")
                .display()
                .to_string(),
        ),
        (None, None) => Source::Path(env!("CARGO_MANIFEST_DIR").to_string()),
    };
    let files: Vec<(&str, String)> = vec![
        (
            "Cargo.toml",
            templates::root_cargo_toml(&found, service, upgrade_code),
        ),
        ("Cargo.lock", LOCKFILE.to_string()),
        ("xtask/Cargo.toml", templates::xtask_cargo_toml(&source)),
        ("xtask/src/main.rs", templates::XTASK_MAIN.to_string()),
        (".cargo/config.toml", templates::CARGO_CONFIG.to_string()),
        (
            ".github/workflows/winrelease-ci.yml",
            templates::CI_WORKFLOW.to_string(),
        ),
        (
            ".github/workflows/winrelease-release.yml",
            templates::RELEASE_WORKFLOW.to_string(),
        ),
    ];
    report_findings(&found, service);
    let mut left_alone = Vec::new();
    for (rel, text) in &files {
        if write_new(&root.join(rel), text)? {
            println!("wrote       {rel}");
        } else {
            println!("left alone  {rel} (it exists)");
            left_alone.push(*rel);
        }
    }
    let added = append_missing_lines(&root.join(".gitignore"), &["/target"])?;
    println!(
        ".gitignore  {}",
        if added {
            "+ /target"
        } else {
            "already ignores /target"
        }
    );
    if !left_alone.contains(&"Cargo.lock") {
        settle_lockfile(root)?;
    }
    if left_alone.contains(&"Cargo.toml") {
        println!(
            "note: Cargo.toml exists, so no [workspace.metadata.winrelease] was written; add the xtask member and this table to it:\n\n{}",
            templates::root_cargo_toml(&found, service, upgrade_code)
        );
    }
    println!("\nnext: commit the new files, then `cargo xtask release --snapshot`");
    Ok(0)
}

/// The service's place among the main packages: `--service`, else the one named like the
/// module, else the first.
fn service_index(found: &detect::Found, wanted: Option<&str>) -> Result<usize> {
    let names = || {
        found
            .mains
            .iter()
            .map(|m| m.package.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(wanted) = wanted {
        let wanted = wanted.trim_end_matches('/');
        return found
            .mains
            .iter()
            .position(|m| m.package == wanted || m.exe_name == wanted)
            .with_context(|| {
                format!(
                    "--service {wanted}: no such main package\nfix: pick one of {}",
                    names()
                )
            });
    }
    let module_name = found.module.rsplit('/').next().unwrap_or(&found.module);
    Ok(found
        .mains
        .iter()
        .position(|m| m.exe_name == module_name)
        .unwrap_or(0))
}

fn report_findings(found: &detect::Found, service: usize) {
    println!("module      {}", found.module);
    for (i, main) in found.mains.iter().enumerate() {
        let role = if i == service { "service" } else { "binary" };
        println!("{role:<11} {} → {}.exe", main.package, main.exe_name);
    }
    match &found.stamp {
        Some(stamp) => {
            let vars: Vec<&str> = stamp.vars.iter().map(|(n, _)| n.as_str()).collect();
            println!("stamps      {} ({})", stamp.import_path, vars.join(", "));
        }
        None => println!("stamps      main.version, main.commit, … (no version variables found)"),
    }
    println!(
        "config      {}",
        found
            .config
            .as_deref()
            .unwrap_or("none found (config_template = \"\")")
    );
    for dir in &found.static_dirs {
        println!("files       {dir}/ → install folder");
    }
}

/// Lets cargo resolve the new workspace once, so the `Cargo.lock` the user commits is the one
/// every later `cargo xtask` uses (else the first release would see it changed: a dirty tree).
/// Also proves the written `Cargo.toml` is one cargo reads.
fn settle_lockfile(root: &Path) -> Result<()> {
    let out = std::process::Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .context("running `cargo metadata` on the new workspace")?;
    if !out.status.success() {
        anyhow::bail!(
            "cargo cannot read the new workspace in {}:\n{}\nfix: correct the file it names (init left the others in place)",
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    println!("Cargo.lock  resolved for the new workspace");
    Ok(())
}

/// Creates `path` with `text` unless it exists; `false` when it did. The file appears whole or
/// not at all.
fn write_new(path: &Path, text: &str) -> Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error).with_context(|| format!("writing {}", path.display())),
    }
}

/// Appends each of `lines` that `path` lacks; `true` when it added one.
fn append_missing_lines(path: &Path, lines: &[&str]) -> Result<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    // `/target`, `target` and `target/` all ignore cargo's output folder.
    let same = |have: &str, line: &str| have.trim().trim_matches('/') == line.trim_matches('/');
    let missing: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| !text.lines().any(|have| same(have, line)))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    let mut new = text.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    for line in missing {
        new.push_str(line);
        new.push('\n');
    }
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}
