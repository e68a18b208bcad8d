//! `cargo xtask stamp`, `build` and `lint-msi`: single stages on their own.

use std::path::Path;

use anyhow::{Context, Result};
use winrelease::config::Project;
use winrelease::{gobuild, stamp};

/// Prints the version read from git and its MSI ProductVersion.
pub fn stamp(project: &Project) -> Result<i32> {
    let v = stamp::versioned(&project.root)?;
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
    Ok(0)
}

/// Cross-compiles the service and the other binaries into the version folder.
pub fn build(project: &Project, verbose: bool) -> Result<i32> {
    let v = stamp::versioned(&project.root)?;
    for w in &v.stamp.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("stamp: {} (MSI {})", v.stamp.version, v.msi_version);
    let go_env = crate::edge::go_environment();
    let exes = gobuild::build_project(project, &v, &go_env).context("build stage")?;
    for exe in exes.all() {
        if verbose {
            eprintln!("  $ {}", exe.command_line);
        }
        println!(
            "built {} ({} bytes, {})",
            exe.path.display(),
            exe.size,
            exe.go_version
        );
    }
    Ok(0)
}

/// Lints any MSI; exit 1 when it has errors.
pub fn lint_msi(file: &Path) -> Result<i32> {
    let findings = msi_writer::lint(file).with_context(|| format!("reading {}", file.display()))?;
    for finding in &findings {
        println!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == msi_writer::Severity::Error)
        .count();
    println!(
        "{}: {errors} error(s), {} warning(s)",
        file.display(),
        findings.len() - errors
    );
    Ok(if errors == 0 { 0 } else { 1 })
}
