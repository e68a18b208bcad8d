//! `publish`, `promote`, `rollback` and `verify-store`: the release store commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use winrelease::config::Project;
use winrelease::keys::{self, KeySettings};
use winrelease::publish::{self, PublishOptions};
use winrelease::release::{self, ReleaseOptions};

use crate::edge::{now, publish_environment};

#[derive(clap::Args)]
pub struct StoreArgs {
    /// Release store: a folder, a UNC path, or s3://bucket/prefix (default: from the config).
    #[arg(long)]
    store: Option<String>,
    /// Secret key file (otherwise WINRELEASE_SECRET_KEY, or the development key outside CI).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PublishArgs {
    /// The release folder (target/winrelease/<version>/).
    release_dir: PathBuf,
    /// Channel to move to this version (optional).
    #[arg(long)]
    channel: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
pub struct PromoteArgs {
    /// The published version to move the channel to (must be newer than its current one).
    version: String,
    #[arg(long)]
    channel: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
pub struct RollbackArgs {
    #[arg(long)]
    channel: String,
    /// The older published version the channel goes back to.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
pub struct VerifyStoreArgs {
    /// Release store: a folder, a UNC path, or s3://bucket/prefix.
    store: String,
    /// The release public key (minisign format).
    #[arg(long)]
    pubkey: PathBuf,
    /// Only this product.
    #[arg(long)]
    product: Option<String>,
}

pub(crate) fn location(project: &Project, args: &StoreArgs) -> String {
    let options = ReleaseOptions {
        store: crate::edge::store_override(args.store.clone()),
        ..ReleaseOptions::default()
    };
    release::store_location(project, &options)
}

pub(crate) fn key(project: &Project, args: &StoreArgs) -> Result<keys::ReleaseKey> {
    let mut settings = KeySettings::new(&project.out_dir());
    settings.key_file = args.key.clone();
    Ok(keys::load_release_key(
        &settings,
        &crate::edge::key_environment(),
    )?)
}

pub fn publish(project: &Project, args: PublishArgs) -> Result<i32> {
    let env = publish_environment();
    let location = location(project, &args.store);
    let store = publish::open_store(&location, &env)?;
    let key = key(project, &args.store)?;
    let report = publish::publish(
        &args.release_dir,
        &*store,
        &project.config.product,
        args.channel.as_deref(),
        &key,
        &PublishOptions::new(now(), env),
    )
    .with_context(|| format!("publishing {} to {location}", args.release_dir.display()))?;
    println!("{report}");
    Ok(0)
}

pub fn promote(project: &Project, args: PromoteArgs) -> Result<i32> {
    let env = publish_environment();
    let store = publish::open_store(&location(project, &args.store), &env)?;
    let key = key(project, &args.store)?;
    let change = publish::promote(
        &*store,
        &project.config.product,
        &args.version,
        &args.channel,
        &key,
        &PublishOptions::new(now(), env),
    )?;
    println!(
        "channel {}: {} → {} (sequence {}{})",
        change.channel,
        change.from.as_deref().unwrap_or("(none)"),
        change.to,
        change.sequence,
        if change.changed { "" } else { ", unchanged" }
    );
    Ok(0)
}

pub fn rollback(project: &Project, args: RollbackArgs) -> Result<i32> {
    let env = publish_environment();
    let store = publish::open_store(&location(project, &args.store), &env)?;
    let key = key(project, &args.store)?;
    let change = publish::rollback(
        &*store,
        &project.config.product,
        &args.channel,
        &args.to,
        &key,
        &PublishOptions::new(now(), env),
    )?;
    println!(
        "channel {} rolled back: {} → {} (signed pointer, sequence {})",
        change.channel,
        change.from.as_deref().unwrap_or("(none)"),
        change.to,
        change.sequence
    );
    Ok(0)
}

pub fn verify_store(args: VerifyStoreArgs) -> Result<i32> {
    let public_key = keys::load_public_key(Path::new(&args.pubkey))?;
    let env = publish_environment();
    let store = publish::open_store(&args.store, &env)?;
    let report = publish::verify_store(&*store, args.product.as_deref(), &public_key, now(), &env)?;
    println!("{report}");
    Ok(if report.is_valid() { 0 } else { 1 })
}
