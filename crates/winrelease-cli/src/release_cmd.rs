//! `cargo xtask release` and `cargo xtask plan`.

use std::path::Path;

use anyhow::Result;
use serde_json::json;
use winrelease::config::Project;
use winrelease::keys;
use winrelease::release::{self, KeyPlan, ReleaseOptions, ReleasePlan, ReleaseSummary};

use crate::progress::StageProgress;

pub struct Flags {
    pub options: ReleaseOptions,
    pub dry_run: bool,
    pub json: bool,
    pub verbose: bool,
}

pub fn run(project: &Project, flags: Flags) -> Result<i32> {
    let env = crate::edge::environment();
    let plan = match release::plan(project, &env, &flags.options) {
        Ok(plan) => plan,
        Err(err) => return Ok(fail(&err.to_string(), err.exit_code(), flags.json)),
    };
    if flags.dry_run {
        print_plan(&plan, flags.json);
        return Ok(0);
    }
    if !flags.json {
        for w in &plan.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "releasing {} {} (MSI {}) from {}{}",
            plan.product,
            plan.version,
            plan.msi_version,
            &plan.commit[..12],
            if plan.snapshot { " as a snapshot" } else { "" }
        );
    }
    let mut progress = StageProgress::for_terminal(flags.verbose, flags.json);
    match release::execute(project, &env, plan, &mut progress) {
        Ok(summary) => {
            if flags.json {
                let json = summary_json(project, &summary, &progress.timings);
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else {
                print_summary(project, &summary, flags.verbose);
            }
            Ok(0)
        }
        Err(err) => Ok(fail(&err.to_string(), err.exit_code(), flags.json)),
    }
}

fn fail(message: &str, code: i32, json: bool) -> i32 {
    if json {
        println!(
            "{}",
            json!({"ok": false, "exit_code": code, "error": message})
        );
    } else {
        eprintln!("error: {message}");
    }
    code
}

fn print_plan(plan: &ReleasePlan, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"ok": true, "dry_run": true, "plan": plan}))
                .expect("plan serializes")
        );
        return;
    }
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    println!("plan (dry run: nothing is written)");
    println!("  product      {}", plan.product);
    println!(
        "  version      {} (MSI ProductVersion {})",
        plan.version, plan.msi_version
    );
    println!(
        "  commit       {}{}{}",
        plan.commit,
        plan.tag
            .as_deref()
            .map(|t| format!(" tag {t}"))
            .unwrap_or_default(),
        if plan.dirty { " (dirty)" } else { "" }
    );
    println!(
        "  channel      {}{}",
        plan.channel,
        if plan.snapshot { " (snapshot)" } else { "" }
    );
    println!("  output       {}", plan.version_dir.display());
    println!("  store        {}", plan.store);
    println!("  signing key  {}", describe_key(&plan.key));
    println!("  artifacts");
    for a in &plan.artifacts {
        println!("    {:<10} {}", a.kind, a.name);
    }
}

fn describe_key(key: &KeyPlan) -> String {
    match key {
        KeyPlan::Environment => format!("from {}", keys::ENV_SECRET_KEY),
        KeyPlan::File(p) => format!("file {}", p.display()),
        KeyPlan::Development(dir) => {
            format!("DEVELOPMENT key in {} (not for production)", dir.display())
        }
    }
}

fn public_key_path(project: &Project, summary: &ReleaseSummary) -> std::path::PathBuf {
    if summary.trust.development_key {
        project
            .out_dir()
            .join(keys::DEV_KEY_DIR)
            .join(keys::DEV_PUBLIC_KEY_FILE)
    } else {
        Path::new("winrelease.pub").to_path_buf()
    }
}

fn print_summary(project: &Project, s: &ReleaseSummary, verbose: bool) {
    if verbose {
        for line in &s.verification {
            eprintln!("  {line}");
        }
    }
    println!();
    println!(
        "released {} {} (MSI ProductVersion {})",
        s.plan.product, s.plan.version, s.plan.msi_version
    );
    println!(
        "  commit   {}{}",
        s.plan.commit,
        if s.plan.dirty { " (dirty)" } else { "" }
    );
    println!("  channel  {}", s.plan.channel);
    for a in &s.trust.artifacts {
        println!(
            "  {:<58} {:>10} bytes  sha256 {}",
            a.name,
            a.size,
            a.sha256.to_hex()
        );
    }
    println!(
        "  manifest {} (expires {})",
        s.trust.manifest.display(),
        s.trust.expires
    );
    println!("  signed   key {} ({})", s.trust.key_id, s.key_source);
    match &s.publish {
        Some(publish) => {
            let outcome = match publish.outcome {
                winrelease::publish::VersionOutcome::AlreadyPresent => {
                    "already there with identical bytes"
                }
                winrelease::publish::VersionOutcome::Published { .. } => "new",
            };
            println!("  published {} ({outcome})", publish.version_path);
            if let Some(msi) = &publish.msi {
                println!("  Group Policy package: {}", msi.msi_path);
            }
            if let Some(old) = &publish.upgrades {
                println!("  it upgrades:          {} ({})", old.msi_path, old.version);
            }
        }
        None => println!("  not published: the work tree is dirty"),
    }
    println!(
        "verify:  cargo xtask verify {} --pubkey {}",
        s.plan.version_dir.display(),
        public_key_path(project, s).display()
    );
}

/// The `--json` summary; its shape is documented in the README and tested.
pub fn summary_json(
    project: &Project,
    s: &ReleaseSummary,
    timings: &[(release::Stage, std::time::Duration)],
) -> serde_json::Value {
    json!({
        "ok": true,
        "product": s.plan.product,
        "version": s.plan.version,
        "msi_version": s.plan.msi_version,
        "commit": s.plan.commit,
        "tag": s.plan.tag,
        "dirty": s.plan.dirty,
        "snapshot": s.plan.snapshot,
        "channel": s.plan.channel,
        "version_dir": s.plan.version_dir,
        "manifest": s.trust.manifest,
        "store": s.plan.store,
        "published": s.publish.as_ref().map(|p| p.version_path.clone()),
        "manifest_sha256": s.trust.manifest_sha256.to_hex(),
        "expires": s.trust.expires,
        "key_id": s.trust.key_id.to_string(),
        "development_key": s.trust.development_key,
        "public_key": public_key_path(project, s),
        "msi": {
            "product_code": s.msi.product_code,
            "upgrade_code": s.msi.upgrade_code,
            "package_code": s.msi.package_code,
        },
        "artifacts": s.trust.artifacts.iter().map(|a| json!({
            "name": a.name,
            "kind": a.kind,
            "size": a.size,
            "sha256": a.sha256.to_hex(),
            "path": a.path,
            "signature": a.signature,
        })).collect::<Vec<_>>(),
        "timings_ms": timings.iter().map(|(stage, d)| (stage.name().to_string(), json!(d.as_millis() as u64))).collect::<serde_json::Map<_, _>>(),
    })
}
