//! Publish stage: copies a verified release into a **release store** (a folder or share that
//! Group Policy reads, or an S3 bucket) and maintains the store's signed index and channel
//! pointers.
//!
//! # Store layout
//!
//! ```text
//! <store>/<product>/<version>/          every file of the release: exe, MSI, zip, SHA256SUMS,
//!                                       manifest.json and all .minisig files; immutable
//! <store>/<product>/index.json          every published version with its manifest's SHA-256,
//!                                       signed; its sequence grows with every change
//! <store>/<product>/channels/<ch>.json  which version channel <ch> gets: version, manifest
//!                                       SHA-256, a sequence that only grows, expiry; signed
//! <store>/<product>/.lock               held by the publisher in its critical section
//! ```
//!
//! Index and pointers carry their signature inside the file (see [`docs`]), so each is
//! replaced by a single atomic rename or conditional PUT.
//!
//! # Guarantees
//!
//! * Nothing unverified is published: the release folder is verified with
//!   [`crate::verify::verify_release`] against the signing key's public key first, and the files
//!   are re-hashed while they are copied.
//! * A version appears complete or not at all (staging folder + rename; on S3 its
//!   `manifest.json` is uploaded last and marks it complete). The index is written after the
//!   version, the channel pointer after the index, so no document ever names a missing
//!   version. A crash at any point leaves leftovers that readers never see and that the next
//!   publish removes (the steps are [`FOLDER_CRASH_POINTS`] and [`S3_CRASH_POINTS`]).
//! * Published versions are immutable: publishing different bytes under an existing version
//!   is refused naming the files that differ; identical bytes are a no-op.
//! * One publisher at a time per product ([`lock`]); a stale lock is broken safely.
//! * Channels move forward with [`promote`]; [`rollback`] moves one back with a new, higher
//!   sequence number and says so in the pointer (`rollback_from`).

pub mod docs;
pub mod lock;

mod crash;
mod fs_backend;
mod names;
mod s3_backend;
mod store;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use minisig::PublicKey;

pub use crash::{CRASH_ENV, FOLDER_CRASH_POINTS, S3_CRASH_POINTS};
pub use docs::{ChannelPointer, Index, IndexEntry, CHANNELS_DIR, INDEX_FILE};
pub use fs_backend::FolderStore;
pub use lock::{LockError, LockInfo, LockOptions, LOCK_FILE};
pub use names::check_windows_name;
pub use s3_backend::{S3Config, S3Credentials, S3Store};
pub use store::{Revision, SourceFile, Store, StoreError, StoredObject, VersionListing};

use crate::config::check_channel_name;
use crate::digest::{hash_file, Sha256Digest};
use crate::keys::{signature_file_name, ReleaseKey, SignError};
use crate::manifest::{read_limited, ArtifactKind, Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use crate::stamp::rfc3339_utc;
use crate::verify::{verify_release, CheckLine, VerifyError, VerifyFailure};
use crash::crash_point;
use docs::{channel_file, channel_key, index_key, MAX_DOC_BYTES};

/// Opens the store at `location`: `s3://bucket[/prefix]` (endpoint, region and credentials
/// from the AWS environment variables, see [`S3Config::from_env`]) or a folder path.
pub fn open_store(location: &str) -> Result<Box<dyn Store>, StoreError> {
    match S3Config::parse_url(location) {
        Some((bucket, prefix)) => Ok(Box::new(S3Store::new(&S3Config::from_env(
            &bucket, &prefix,
        ))?)),
        None => Ok(Box::new(FolderStore::new(location))),
    }
}

/// Settings shared by [`publish`], [`promote`] and [`rollback`].
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The current time, Unix seconds: releases must not be expired at this time (the CLI
    /// passes the wall clock; nothing else reads it).
    pub now: i64,
    /// Waiting for and breaking the product lock.
    pub lock: LockOptions,
    /// Channel pointers expire with the manifest they point to, or this many days after
    /// `now` if that is earlier (forces re-promotion, limiting how long a frozen pointer can
    /// be replayed).
    pub pointer_validity_days: Option<u32>,
}

impl PublishOptions {
    /// Default lock settings, pointers valid as long as their manifest.
    pub fn new(now: i64) -> PublishOptions {
        PublishOptions {
            now,
            lock: LockOptions::default(),
            pointer_validity_days: None,
        }
    }
}

/// What happened to the version folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionOutcome {
    /// Copied into the store.
    Published { files: usize },
    /// The store already had the version with identical bytes; nothing was copied.
    AlreadyPresent,
}

/// A channel pointer write (or the decision that none was needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelChange {
    pub channel: String,
    /// The version before, if the channel existed.
    pub from: Option<String>,
    pub to: String,
    /// The pointer's sequence number now.
    pub sequence: u64,
    /// False when the channel already pointed there (nothing written).
    pub changed: bool,
    /// A rollback pointer was written.
    pub rollback: bool,
    /// The pointer's expiry (RFC 3339).
    pub expires: String,
    /// Where the pointer is.
    pub path: String,
}

impl fmt::Display for ChannelChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self.from.as_deref().unwrap_or("(new channel)");
        if !self.changed {
            write!(
                f,
                "channel {} already at {} (sequence {}), unchanged",
                self.channel, self.to, self.sequence
            )
        } else if self.rollback {
            write!(
                f,
                "channel {} rolled back {from} -> {} (sequence {}, expires {})",
                self.channel, self.to, self.sequence, self.expires
            )
        } else {
            write!(
                f,
                "channel {}: {from} -> {} (sequence {}, expires {})",
                self.channel, self.to, self.sequence, self.expires
            )
        }
    }
}

/// An MSI in the store, for a Group Policy software installation package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpoPackage {
    pub version: String,
    /// The MSI's path as Group Policy should reference it (a UNC path when the store was given
    /// as one).
    pub msi_path: String,
}

/// What [`publish`] did.
#[derive(Debug, Clone)]
pub struct PublishReport {
    pub product: String,
    pub version: String,
    /// The store, as given.
    pub store: String,
    /// The version's folder in the store.
    pub version_path: String,
    /// SHA-256 of the published `manifest.json`.
    pub manifest_sha256: String,
    /// The checks the release folder passed before anything was written.
    pub verified: Vec<CheckLine>,
    pub outcome: VersionOutcome,
    /// The index's sequence number after the publish.
    pub index_sequence: u64,
    /// Whether the index was rewritten.
    pub index_changed: bool,
    /// Complete versions an interrupted publish had left out of the index, verified and
    /// added now.
    pub adopted: Vec<String>,
    pub channel: Option<ChannelChange>,
    /// The new MSI, to deploy with Group Policy.
    pub msi: Option<GpoPackage>,
    /// The package this one upgrades (mark it in the GPO's Upgrades tab).
    pub upgrades: Option<GpoPackage>,
    /// Leftovers of interrupted publishes that were removed.
    pub cleaned: Vec<String>,
    /// Why a stale lock was broken, if one was.
    pub broke_stale_lock: Option<String>,
}

impl fmt::Display for PublishReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "release {} {} verified ({} checks)",
            self.product,
            self.version,
            self.verified.len()
        )?;
        match &self.outcome {
            VersionOutcome::Published { files } => {
                writeln!(f, "published {files} files to {}", self.version_path)?
            }
            VersionOutcome::AlreadyPresent => writeln!(
                f,
                "{} is already in the store with identical bytes; nothing copied",
                self.version
            )?,
        }
        if self.index_changed {
            writeln!(f, "index.json updated (sequence {})", self.index_sequence)?;
        } else {
            writeln!(
                f,
                "index.json already lists {} (sequence {})",
                self.version, self.index_sequence
            )?;
        }
        for version in &self.adopted {
            writeln!(
                f,
                "added {version} to the index (left out by an interrupted publish; verified)"
            )?;
        }
        if let Some(channel) = &self.channel {
            writeln!(f, "{channel}")?;
        }
        for leftover in &self.cleaned {
            writeln!(f, "removed leftover of an interrupted publish: {leftover}")?;
        }
        if let Some(reason) = &self.broke_stale_lock {
            writeln!(f, "broke a stale lock ({reason})")?;
        }
        match &self.msi {
            Some(msi) => {
                writeln!(f, "Group Policy package: {}", msi.msi_path)?;
                if let Some(old) = &self.upgrades {
                    writeln!(
                        f,
                        "  upgrades the package of {}: {} (add it on the new package's Upgrades tab)",
                        old.version, old.msi_path
                    )?;
                }
            }
            None => writeln!(f, "no MSI in this release (nothing for Group Policy)")?,
        }
        Ok(())
    }
}

/// Errors of publishing, promoting, rolling back and verifying a store.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{what} {name:?} cannot be used in the store: it {reason}\nfix: {fix}")]
    BadName {
        what: &'static str,
        name: String,
        reason: String,
        fix: &'static str,
    },
    #[error(
        "{0}\nfix: channel names become file names clients ask for; use e.g. `stable` or `beta`"
    )]
    BadChannel(String),
    #[error("refusing to publish {dir}: it does not verify\n{failure}\nfix: publish only what the release stage wrote, signed with the key you publish with; rebuild the release if a file was changed")]
    Unverified {
        dir: PathBuf,
        failure: Box<VerifyFailure>,
    },
    #[error("the release in {dir} is of product {found:?}, not {expected:?}\nfix: publish it with its own product's configuration")]
    WrongProduct {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("version {version} is already in the store with different content: {differences}\nfix: a published version is immutable; release a new version (tag a higher one)")]
    VersionDiffers {
        version: String,
        /// The files that differ, are missing or are extra, by name.
        files: Vec<String>,
        differences: String,
    },
    #[error("{version} follows {previous} with manifest sha256 {linked}, but the store's {previous} has manifest sha256 {stored}: it was chained to another build of {previous}\nfix: build the release with the store's {previous}/manifest.json as the previous manifest, or publish into the store it was chained to")]
    ChainMismatch {
        version: String,
        previous: String,
        linked: String,
        stored: String,
    },
    #[error("channel {channel} is at {current}, which is newer than {requested}\nfix: channels only move forward with promote/publish; to go back, run rollback --channel {channel} --to {requested}")]
    ChannelBackwards {
        channel: String,
        current: String,
        requested: String,
    },
    #[error("channel {channel} is at {current}; {requested} is not older, so this is not a rollback\nfix: to move the channel forward, promote {requested} --channel {channel}")]
    NotARollback {
        channel: String,
        current: String,
        requested: String,
    },
    #[error("channel {channel} of {product} does not exist in the store, so there is nothing to roll back\nfix: promote a version to it first")]
    NoChannel { product: String, channel: String },
    #[error("version {version} of {product} is not in the store {store}\nfix: publish it first")]
    NotInStore {
        product: String,
        version: String,
        store: String,
    },
    #[error("version {version} in the store does not verify, so no channel may point to it: {reason}\nfix: run verify on the store; choose another version")]
    StoreVersionInvalid { version: String, reason: String },
    #[error("{location} {reason}\nfix: run verify on the store and restore the file from a backup; winrelease never replaces a store document it cannot verify")]
    DocumentInvalid { location: String, reason: String },
    #[error("{path} changed while it was being published\nfix: do not modify the release folder during publish; publish again")]
    ChangedDuringPublish { path: PathBuf },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing {what}: {source}")]
    Sign {
        what: String,
        #[source]
        source: SignError,
    },
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_error(context: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PublishError {
    let path = path.to_path_buf();
    move |source| PublishError::Io {
        context,
        path,
        source,
    }
}

fn check_product(product: &str) -> Result<(), PublishError> {
    check_windows_name(product).map_err(|reason| PublishError::BadName {
        what: "product",
        name: product.to_string(),
        reason,
        fix: "the product name is a folder of the store (and of a UNC path); change `product` in the configuration",
    })?;
    if product.starts_with('.') {
        return Err(PublishError::BadName {
            what: "product",
            name: product.to_string(),
            reason: "starts with `.`, which marks the store's own hidden files".into(),
            fix: "change `product` in the configuration",
        });
    }
    Ok(())
}

fn check_channel(channel: &str) -> Result<(), PublishError> {
    check_channel_name(channel).map_err(PublishError::BadChannel)
}

fn check_version_name(version: &str) -> Result<semver::Version, PublishError> {
    let bad = |reason: String| PublishError::BadName {
        what: "version",
        name: version.to_string(),
        reason,
        fix: "versions are SemVer and folder names of the store; tag a plain SemVer version",
    };
    check_windows_name(version).map_err(bad)?;
    semver::Version::parse(version).map_err(|e| bad(format!("is not SemVer ({e})")))
}

fn precedence(a: &str, b: &str) -> Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp_precedence(&y),
        _ => a.cmp(b),
    }
}

/// The files of a verified release: every artifact and its signature, then the manifest's
/// signature and the manifest (last, as the version's completion mark on S3).
fn release_files(
    dir: &Path,
    manifest: &Manifest,
    manifest_sha256: Sha256Digest,
) -> Result<Vec<SourceFile>, PublishError> {
    let mut files = Vec::new();
    let mut add_hashed = |name: String| -> Result<(), PublishError> {
        let path = dir.join(&name);
        let digest = hash_file(&path).map_err(|e| PublishError::Sign {
            what: name.clone(),
            source: e.into(),
        })?;
        files.push(SourceFile {
            name,
            path,
            sha256: digest.sha256,
        });
        Ok(())
    };
    for artifact in &manifest.artifacts {
        add_hashed(artifact.signature.clone())?;
    }
    add_hashed(signature_file_name(MANIFEST_FILE))?;
    for artifact in &manifest.artifacts {
        files.push(SourceFile {
            name: artifact.name.clone(),
            path: dir.join(&artifact.name),
            sha256: Sha256Digest::from_hex(&artifact.sha256)
                .expect("a validated manifest has hex digests"),
        });
    }
    files.push(SourceFile {
        name: MANIFEST_FILE.to_string(),
        path: dir.join(MANIFEST_FILE),
        sha256: manifest_sha256,
    });
    Ok(files)
}

/// Reads and verifies the product's index; `None` when there is none yet.
fn read_index(
    store: &dyn Store,
    product: &str,
    public_key: &PublicKey,
) -> Result<Option<(Index, Revision)>, PublishError> {
    let Some(object) = store.read(&index_key(product), MAX_DOC_BYTES)? else {
        return Ok(None);
    };
    let invalid = |reason: String| PublishError::DocumentInvalid {
        location: store.display_path(&[product, INDEX_FILE]),
        reason,
    };
    let index = open_index(&object.bytes, product, public_key).map_err(invalid)?;
    Ok(Some((index, object.revision)))
}

fn open_index(bytes: &[u8], product: &str, public_key: &PublicKey) -> Result<Index, String> {
    let opened = docs::open::<Index>(bytes, public_key, INDEX_FILE)?;
    opened.doc.validate(product)?;
    if opened.binding.product != product || opened.binding.version != opened.doc.binding_version() {
        return Err(format!(
            "has a signature for product {:?} version {:?}, not for its content",
            opened.binding.product, opened.binding.version
        ));
    }
    Ok(opened.doc)
}

/// The version a channel points at (its pointer verified with `public_key`); `None` when the
/// channel does not exist yet. Lets a release refuse to move a channel backwards before it
/// builds anything; `publish` checks again under the lock.
pub fn channel_version(
    store: &dyn Store,
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<Option<String>, PublishError> {
    check_product(product)?;
    Ok(read_pointer(store, product, channel, public_key)?.map(|(pointer, _)| pointer.version))
}

/// Reads and verifies a channel pointer; `None` when the channel does not exist.
fn read_pointer(
    store: &dyn Store,
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<Option<(ChannelPointer, Revision)>, PublishError> {
    let Some(object) = store.read(&channel_key(product, channel), MAX_DOC_BYTES)? else {
        return Ok(None);
    };
    let pointer = open_pointer(&object.bytes, product, channel, public_key).map_err(|reason| {
        PublishError::DocumentInvalid {
            location: store.display_path(&[product, CHANNELS_DIR, &format!("{channel}.json")]),
            reason,
        }
    })?;
    Ok(Some((pointer, object.revision)))
}

fn open_pointer(
    bytes: &[u8],
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<ChannelPointer, String> {
    let opened = docs::open::<ChannelPointer>(bytes, public_key, &channel_file(channel))?;
    opened.doc.validate(product, channel)?;
    if opened.binding.product != product || opened.binding.version != opened.doc.version {
        return Err(format!(
            "has a signature for product {:?} version {:?}, not for its content",
            opened.binding.product, opened.binding.version
        ));
    }
    Ok(opened.doc)
}

/// A version of the store, fetched and verified at `now` (or, when only its expiry fails,
/// at the last second it was valid, so an expired version still proves its integrity).
struct StoreVersion {
    manifest: Manifest,
    manifest_sha256: Sha256Digest,
    lines: usize,
    expired: bool,
}

fn verify_store_version(
    store: &dyn Store,
    product: &str,
    version: &str,
    public_key: &PublicKey,
    now: i64,
    scratch: &Path,
) -> Result<StoreVersion, String> {
    let dir = store
        .fetch_version(product, version, scratch)
        .map_err(|e| e.to_string())?;
    let (verified, expired) = match verify_release(&dir, public_key, now, None) {
        Ok(verified) => (verified, false),
        Err(failure) if matches!(*failure.error, VerifyError::Expired { .. }) => {
            let bytes = read_limited(&dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES)
                .map_err(|e| e.to_string())?;
            let expires = Manifest::parse(&bytes)
                .ok()
                .and_then(|m| m.expires_unix())
                .ok_or_else(|| failure.to_string())?;
            let verified =
                verify_release(&dir, public_key, expires - 1, None).map_err(|f| f.to_string())?;
            (verified, true)
        }
        Err(failure) => return Err(failure.to_string()),
    };
    let manifest = verified.manifest;
    if manifest.product != product || manifest.version != version {
        return Err(format!(
            "its manifest is for {} {}, but it is stored as {product} {version}",
            manifest.product, manifest.version
        ));
    }
    let bytes =
        read_limited(&dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES).map_err(|e| e.to_string())?;
    Ok(StoreVersion {
        manifest,
        manifest_sha256: Sha256Digest::of(&bytes),
        lines: verified.lines.len(),
        expired,
    })
}

/// The index entry of a verified store version.
fn index_entry(found: &StoreVersion) -> IndexEntry {
    IndexEntry {
        version: found.manifest.version.clone(),
        manifest_sha256: found.manifest_sha256.to_hex(),
        msi: msi_name(&found.manifest),
        expires: found.manifest.expires.clone(),
    }
}

fn msi_name(manifest: &Manifest) -> Option<String> {
    manifest
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Msi)
        .map(|a| a.name.clone())
}

/// Compares the release's files with the stored version; `Err` lists every difference.
fn compare_with_store(
    store: &dyn Store,
    product: &str,
    version: &str,
    files: &[SourceFile],
    scratch: &Path,
) -> Result<(), PublishError> {
    let dir = store.fetch_version(product, version, scratch)?;
    let mut stored = BTreeSet::new();
    for entry in fs::read_dir(&dir).map_err(io_error("listing", &dir))? {
        let entry = entry.map_err(io_error("listing", &dir))?;
        stored.insert(entry.file_name().to_string_lossy().into_owned());
    }
    let wanted: BTreeMap<&str, &SourceFile> = files.iter().map(|f| (f.name.as_str(), f)).collect();
    let names: BTreeSet<&str> = wanted
        .keys()
        .copied()
        .chain(stored.iter().map(String::as_str))
        .collect();
    // Artifacts first: the MSI differing is the news; its signature and the manifest follow.
    let mut names: Vec<&str> = names.into_iter().collect();
    let rank = |name: &str| match name {
        MANIFEST_FILE => 3,
        _ if name.starts_with(MANIFEST_FILE) => 3,
        _ if name.ends_with(crate::keys::SIGNATURE_SUFFIX) => 2,
        crate::digest::SHA256SUMS_FILE => 1,
        _ => 0,
    };
    names.sort_by_key(|n| (rank(n), n.to_string()));
    let mut differing = Vec::new();
    let mut details = Vec::new();
    for name in names {
        match (wanted.get(name), stored.contains(name)) {
            (Some(file), true) => {
                let path = dir.join(name);
                let found = hash_file(&path)
                    .map_err(|e| PublishError::Sign {
                        what: name.to_string(),
                        source: e.into(),
                    })?
                    .sha256;
                if found != file.sha256 {
                    differing.push(name.to_string());
                    details.push(format!(
                        "{name} differs (store sha256 {}, this release {})",
                        &found.to_hex()[..16],
                        &file.sha256.to_hex()[..16]
                    ));
                }
            }
            (Some(_), false) => {
                differing.push(name.to_string());
                details.push(format!("{name} is missing from the stored version"));
            }
            (None, _) => {
                differing.push(name.to_string());
                details.push(format!("{name} is only in the stored version"));
            }
        }
    }
    if differing.is_empty() {
        Ok(())
    } else {
        Err(PublishError::VersionDiffers {
            version: version.to_string(),
            files: differing,
            differences: details.join(", "),
        })
    }
}

fn pointer_expires(options: &PublishOptions, manifest_expires: i64) -> i64 {
    match options.pointer_validity_days {
        Some(days) => manifest_expires.min(options.now + i64::from(days) * 86_400),
        None => manifest_expires,
    }
}

/// What a pointer write needs to know about its target.
struct PointerTarget<'a> {
    version: &'a str,
    manifest_sha256: Sha256Digest,
    manifest_expires: i64,
}

#[allow(clippy::too_many_arguments)]
fn write_pointer(
    store: &dyn Store,
    product: &str,
    channel: &str,
    key: &ReleaseKey,
    current: Option<&(ChannelPointer, Revision)>,
    target: &PointerTarget,
    rollback_from: Option<String>,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    let expires = rfc3339_utc(pointer_expires(options, target.manifest_expires));
    let path = store.display_path(&[product, CHANNELS_DIR, &format!("{channel}.json")]);
    if let Some((pointer, _)) = current {
        if rollback_from.is_none()
            && pointer.version == target.version
            && pointer.manifest_sha256 == target.manifest_sha256.to_hex()
            && pointer.expires == expires
        {
            return Ok(ChannelChange {
                channel: channel.to_string(),
                from: Some(pointer.version.clone()),
                to: pointer.version.clone(),
                sequence: pointer.sequence,
                changed: false,
                rollback: false,
                expires,
                path,
            });
        }
    }
    let sequence = current.map_or(1, |(p, _)| p.sequence + 1);
    let pointer = ChannelPointer {
        schema_version: docs::DOC_SCHEMA_VERSION,
        product: product.to_string(),
        channel: channel.to_string(),
        version: target.version.to_string(),
        manifest_sha256: target.manifest_sha256.to_hex(),
        sequence,
        expires: expires.clone(),
        rollback_from: rollback_from.clone(),
    };
    let file = channel_file(channel);
    let bytes = docs::seal(&pointer, key, product, target.version, &file).map_err(|source| {
        PublishError::Sign {
            what: file.clone(),
            source,
        }
    })?;
    store.replace(
        &channel_key(product, channel),
        &bytes,
        current.map(|(_, r)| r),
        "channel",
    )?;
    crash_point("channel-replaced");
    Ok(ChannelChange {
        channel: channel.to_string(),
        from: current.map(|(p, _)| p.version.clone()),
        to: target.version.to_string(),
        sequence,
        changed: true,
        rollback: rollback_from.is_some(),
        expires,
        path,
    })
}

/// Publishes the release in `release_dir` (`target/winrelease/<version>/`) to `store` as
/// `product`, optionally moving `channel` to it, signing index and pointer with `key`.
///
/// The release is verified against `key`'s public key at `options.now` before anything is
/// written; a release that does not verify is refused. See the module documentation for the
/// guarantees.
pub fn publish(
    release_dir: &Path,
    store: &dyn Store,
    product: &str,
    channel: Option<&str>,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<PublishReport, PublishError> {
    check_product(product)?;
    if let Some(channel) = channel {
        check_channel(channel)?;
    }
    let public_key = key.public_key();
    let verified =
        verify_release(release_dir, &public_key, options.now, None).map_err(|failure| {
            PublishError::Unverified {
                dir: release_dir.to_path_buf(),
                failure: Box::new(failure),
            }
        })?;
    let manifest = verified.manifest.clone();
    let dir = verified
        .manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| release_dir.to_path_buf());
    if manifest.product != product {
        return Err(PublishError::WrongProduct {
            dir,
            found: manifest.product,
            expected: product.to_string(),
        });
    }
    let version = manifest.version.clone();
    check_version_name(&version)?;
    for artifact in &manifest.artifacts {
        check_windows_name(&artifact.name).map_err(|reason| PublishError::BadName {
            what: "artifact",
            name: artifact.name.clone(),
            reason,
            fix: "artifact names become file names on the share; rename the exe or MSI in the configuration",
        })?;
    }
    // The manifest as verified: re-read once and compared, so the bytes published are the
    // bytes that verified.
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = read_limited(&manifest_path, MAX_MANIFEST_BYTES)
        .map_err(io_error("reading", &manifest_path))?;
    if Manifest::parse(&manifest_bytes).ok().as_ref() != Some(&manifest) {
        return Err(PublishError::ChangedDuringPublish {
            path: manifest_path,
        });
    }
    let manifest_sha256 = Sha256Digest::of(&manifest_bytes);
    let manifest_expires = manifest
        .expires_unix()
        .expect("a verified manifest has an expiry");
    let files = release_files(&dir, &manifest, manifest_sha256)?;
    let msi_name = msi_name(&manifest);

    store.check_ready()?;
    let lock = lock::acquire(store, product, &options.lock)?;
    crash_point("locked");
    let cleaned = store.clean_leftovers(product)?;
    let index = read_index(store, product, &public_key)?;
    let pointer = match channel {
        Some(channel) => read_pointer(store, product, channel, &public_key)?,
        None => None,
    };
    if let (Some(channel), Some((current, _))) = (channel, &pointer) {
        if precedence(&current.version, &version) == Ordering::Greater {
            return Err(PublishError::ChannelBackwards {
                channel: channel.to_string(),
                current: current.version.clone(),
                requested: version,
            });
        }
    }
    let listing = store.list_versions(product)?;
    if let Some(previous) = &manifest.previous {
        if listing.complete.contains(&previous.version) {
            let key = format!("{product}/{}/{MANIFEST_FILE}", previous.version);
            if let Some(object) = store.read(&key, MAX_MANIFEST_BYTES)? {
                let stored = Sha256Digest::of(&object.bytes).to_hex();
                if stored != previous.manifest_sha256 {
                    return Err(PublishError::ChainMismatch {
                        version,
                        previous: previous.version.clone(),
                        linked: previous.manifest_sha256.clone(),
                        stored,
                    });
                }
            }
        }
    }

    let scratch = tempfile::tempdir().map_err(io_error(
        "creating a scratch folder in",
        &std::env::temp_dir(),
    ))?;
    let outcome = if listing.complete.contains(&version) {
        compare_with_store(store, product, &version, &files, scratch.path())?;
        VersionOutcome::AlreadyPresent
    } else {
        store.create_version(product, &version, &files)?;
        // Verify what the store now holds before any document names it: catches a release
        // folder changed after verification, and any backend fault. The version is then
        // visible but unindexed, and verify reports it.
        verify_store_version(
            store,
            product,
            &version,
            &public_key,
            options.now,
            scratch.path(),
        )
        .map_err(|reason| PublishError::StoreVersionInvalid {
            version: version.clone(),
            reason,
        })?;
        VersionOutcome::Published { files: files.len() }
    };
    crash_point("version-published");

    // The index: this version, and any complete version an interrupted publish left out.
    let mut entries: Vec<IndexEntry> = index
        .as_ref()
        .map(|(i, _)| i.versions.clone())
        .unwrap_or_default();
    let mut index_changed = false;
    match entries.iter().find(|e| e.version == version) {
        Some(entry) if entry.manifest_sha256 != manifest_sha256.to_hex() => {
            return Err(PublishError::DocumentInvalid {
                location: store.display_path(&[product, INDEX_FILE]),
                reason: format!(
                    "lists {version} with manifest sha256 {}, but the stored manifest has {manifest_sha256}",
                    entry.manifest_sha256
                ),
            });
        }
        Some(_) => {}
        None => {
            entries.push(IndexEntry {
                version: version.clone(),
                manifest_sha256: manifest_sha256.to_hex(),
                msi: msi_name.clone(),
                expires: manifest.expires.clone(),
            });
            index_changed = true;
        }
    }
    let mut adopted = Vec::new();
    for other in &listing.complete {
        if *other == version || entries.iter().any(|e| &e.version == other) {
            continue;
        }
        // Unverifiable versions stay out of the index; verify reports them.
        if let Ok(found) = verify_store_version(
            store,
            product,
            other,
            &public_key,
            options.now,
            scratch.path(),
        ) {
            entries.push(index_entry(&found));
            adopted.push(other.clone());
            index_changed = true;
        }
    }
    entries.sort_by(|a, b| precedence(&a.version, &b.version));
    let mut index_sequence = index.as_ref().map_or(0, |(i, _)| i.sequence);
    if index_changed {
        // At least one more than before, and never below the number of versions listed
        // (several may be added at once when adopting).
        index_sequence = (index_sequence + 1).max(entries.len() as u64);
        let new_index = Index {
            schema_version: docs::DOC_SCHEMA_VERSION,
            product: product.to_string(),
            sequence: index_sequence,
            versions: entries.clone(),
        };
        let bytes = docs::seal(
            &new_index,
            key,
            product,
            new_index.binding_version(),
            INDEX_FILE,
        )
        .map_err(|source| PublishError::Sign {
            what: INDEX_FILE.into(),
            source,
        })?;
        store.replace(
            &index_key(product),
            &bytes,
            index.as_ref().map(|(_, r)| r),
            "index",
        )?;
        crash_point("index-replaced");
    }

    let channel_change = match channel {
        Some(channel) => Some(write_pointer(
            store,
            product,
            channel,
            key,
            pointer.as_ref(),
            &PointerTarget {
                version: &version,
                manifest_sha256,
                manifest_expires,
            },
            None,
            options,
        )?),
        None => None,
    };

    // Group Policy: the new package and the one it upgrades (what the channel had, else the
    // release this one follows, else the newest older version in the store).
    let older = |v: &str| precedence(v, &version) == Ordering::Less;
    let upgraded_version = pointer
        .as_ref()
        .map(|(p, _)| p.version.clone())
        .filter(|v| older(v))
        .or_else(|| {
            manifest
                .previous
                .as_ref()
                .map(|p| p.version.clone())
                .filter(|v| entries.iter().any(|e| &e.version == v))
        })
        .or_else(|| {
            entries
                .iter()
                .rev()
                .find(|e| older(&e.version) && e.msi.is_some())
                .map(|e| e.version.clone())
        });
    let msi = msi_name.as_ref().map(|name| GpoPackage {
        version: version.clone(),
        msi_path: store.display_path(&[product, &version, name]),
    });
    let upgrades = msi.as_ref().and(upgraded_version).and_then(|old| {
        let entry = entries.iter().find(|e| e.version == old)?;
        let name = entry.msi.as_ref()?;
        Some(GpoPackage {
            msi_path: store.display_path(&[product, &old, name]),
            version: old,
        })
    });

    crash_point("unlocking");
    let broke_stale_lock = lock.broke_stale.clone();
    lock.release()?;
    Ok(PublishReport {
        product: product.to_string(),
        store: store.location(),
        version_path: store.display_path(&[product, &version]),
        manifest_sha256: manifest_sha256.to_hex(),
        verified: verified.lines,
        outcome,
        index_sequence,
        index_changed,
        adopted,
        channel: channel_change,
        msi,
        upgrades,
        cleaned,
        broke_stale_lock,
        version,
    })
}

/// The `manifest.json` of the newest version of `product` in the store older than `version`,
/// per the store's verified index: what the trust stage should chain a new release to
/// (`TrustRequest::previous_manifest`). For S3 it is downloaded into `scratch`. `None` when the
/// store has no older version.
pub fn previous_manifest(
    store: &dyn Store,
    product: &str,
    version: &semver::Version,
    public_key: &PublicKey,
    scratch: &Path,
) -> Result<Option<PathBuf>, PublishError> {
    check_product(product)?;
    let Some((index, _)) = read_index(store, product, public_key)? else {
        return Ok(None);
    };
    let Some(entry) = index.versions.iter().rev().find(|e| {
        semver::Version::parse(&e.version)
            .is_ok_and(|v| v.cmp_precedence(version) == Ordering::Less)
    }) else {
        return Ok(None);
    };
    let dir = store.fetch_version(product, &entry.version, scratch)?;
    let path = dir.join(MANIFEST_FILE);
    let bytes = read_limited(&path, MAX_MANIFEST_BYTES).map_err(io_error("reading", &path))?;
    let found = Sha256Digest::of(&bytes).to_hex();
    if found != entry.manifest_sha256 {
        return Err(PublishError::DocumentInvalid {
            location: store.display_path(&[product, INDEX_FILE]),
            reason: format!(
                "lists {} with manifest sha256 {}, but the stored manifest has {found}",
                entry.version, entry.manifest_sha256
            ),
        });
    }
    Ok(Some(path))
}

/// Checks that `version` is in the store and verifies at `options.now`.
fn verified_target(
    store: &dyn Store,
    product: &str,
    version: &str,
    public_key: &PublicKey,
    options: &PublishOptions,
) -> Result<StoreVersion, PublishError> {
    let listing = store.list_versions(product)?;
    if !listing.complete.iter().any(|v| v == version) {
        return Err(PublishError::NotInStore {
            product: product.to_string(),
            version: version.to_string(),
            store: store.location(),
        });
    }
    let scratch = tempfile::tempdir().map_err(io_error(
        "creating a scratch folder in",
        &std::env::temp_dir(),
    ))?;
    let found = verify_store_version(
        store,
        product,
        version,
        public_key,
        options.now,
        scratch.path(),
    )
    .map_err(|reason| PublishError::StoreVersionInvalid {
        version: version.to_string(),
        reason,
    })?;
    if found.expired {
        return Err(PublishError::StoreVersionInvalid {
            version: version.to_string(),
            reason: format!(
                "its manifest expired at {}; clients refuse it",
                found.manifest.expires
            ),
        });
    }
    Ok(found)
}

/// Moves `channel` of `product` forward to `version`, which must be in the store, verify,
/// and be newer than the channel's current version (the same version refreshes nothing).
pub fn promote(
    store: &dyn Store,
    product: &str,
    version: &str,
    channel: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    check_product(product)?;
    check_channel(channel)?;
    check_version_name(version)?;
    store.check_ready()?;
    let public_key = key.public_key();
    let lock = lock::acquire(store, product, &options.lock)?;
    let current = read_pointer(store, product, channel, &public_key)?;
    if let Some((pointer, _)) = &current {
        if precedence(version, &pointer.version) == Ordering::Less {
            return Err(PublishError::ChannelBackwards {
                channel: channel.to_string(),
                current: pointer.version.clone(),
                requested: version.to_string(),
            });
        }
    }
    let target = verified_target(store, product, version, &public_key, options)?;
    let change = write_pointer(
        store,
        product,
        channel,
        key,
        current.as_ref(),
        &PointerTarget {
            version,
            manifest_sha256: target.manifest_sha256,
            manifest_expires: target.manifest.expires_unix().unwrap_or(options.now),
        },
        None,
        options,
    )?;
    lock.release()?;
    Ok(change)
}

/// Moves `channel` of `product` back to the older `to_version` with a new pointer whose
/// sequence is higher than the current one and which records the version rolled back from,
/// so clients can tell a signed rollback from a replayed old pointer.
pub fn rollback(
    store: &dyn Store,
    product: &str,
    channel: &str,
    to_version: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    check_product(product)?;
    check_channel(channel)?;
    check_version_name(to_version)?;
    store.check_ready()?;
    let public_key = key.public_key();
    let lock = lock::acquire(store, product, &options.lock)?;
    let Some(current) = read_pointer(store, product, channel, &public_key)? else {
        return Err(PublishError::NoChannel {
            product: product.to_string(),
            channel: channel.to_string(),
        });
    };
    if precedence(to_version, &current.0.version) != Ordering::Less {
        return Err(PublishError::NotARollback {
            channel: channel.to_string(),
            current: current.0.version.clone(),
            requested: to_version.to_string(),
        });
    }
    let target = verified_target(store, product, to_version, &public_key, options)?;
    let change = write_pointer(
        store,
        product,
        channel,
        key,
        Some(&current),
        &PointerTarget {
            version: to_version,
            manifest_sha256: target.manifest_sha256,
            manifest_expires: target.manifest.expires_unix().unwrap_or(options.now),
        },
        Some(current.0.version.clone()),
        options,
    )?;
    lock.release()?;
    Ok(change)
}

// ---------------------------------------------------------------------------------------------
// Verifying a whole store
// ---------------------------------------------------------------------------------------------

/// The outcome of one store check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreCheckStatus {
    Ok,
    /// Not a failure: the store is valid, but something deserves attention (an expired old
    /// version, leftovers of an interrupted publish, a version missing from the index).
    Warning,
    Failed,
}

/// One line of a store verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCheck {
    pub status: StoreCheckStatus,
    /// What was checked (`Hello Service 1.2.3`, `Hello Service channels/stable.json`).
    pub subject: String,
    pub detail: String,
}

impl fmt::Display for StoreCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            StoreCheckStatus::Ok => "ok  ",
            StoreCheckStatus::Warning => "warn",
            StoreCheckStatus::Failed => "FAIL",
        };
        write!(f, "{status} {}: {}", self.subject, self.detail)
    }
}

/// Everything [`verify_store`] checked.
#[derive(Debug, Clone)]
pub struct StoreReport {
    pub store: String,
    pub checks: Vec<StoreCheck>,
}

impl StoreReport {
    /// True when no check failed (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &StoreCheck> {
        self.checks
            .iter()
            .filter(|c| c.status == StoreCheckStatus::Failed)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &StoreCheck> {
        self.checks
            .iter()
            .filter(|c| c.status == StoreCheckStatus::Warning)
    }
}

impl fmt::Display for StoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.failures().count();
        let warned = self.warnings().count();
        if failed == 0 {
            write!(f, "store {} is valid ({warned} warnings)", self.store)
        } else {
            write!(
                f,
                "store {} is NOT valid: {failed} failed checks, {warned} warnings",
                self.store
            )
        }
    }
}

struct Checks {
    checks: Vec<StoreCheck>,
}

impl Checks {
    fn push(&mut self, status: StoreCheckStatus, subject: String, detail: String) {
        self.checks.push(StoreCheck {
            status,
            subject,
            detail,
        });
    }
}

/// Verifies every version, the index and every channel pointer of `product` (of every
/// product when `None`) with `public_key` at `now`. Problems are reported in the
/// [`StoreReport`]; `Err` only when the store cannot be read at all.
pub fn verify_store(
    store: &dyn Store,
    product: Option<&str>,
    public_key: &PublicKey,
    now: i64,
) -> Result<StoreReport, PublishError> {
    let products = match product {
        Some(product) => {
            check_product(product)?;
            vec![product.to_string()]
        }
        None => store.list_products()?,
    };
    let mut checks = Checks { checks: Vec::new() };
    if products.is_empty() {
        checks.push(
            StoreCheckStatus::Warning,
            store.location(),
            "the store holds no product".into(),
        );
    }
    for product in &products {
        verify_product(store, product, public_key, now, &mut checks)?;
    }
    Ok(StoreReport {
        store: store.location(),
        checks: checks.checks,
    })
}

fn verify_product(
    store: &dyn Store,
    product: &str,
    public_key: &PublicKey,
    now: i64,
    checks: &mut Checks,
) -> Result<(), PublishError> {
    use StoreCheckStatus::{Failed, Ok as Passed, Warning};
    let listing = store.list_versions(product)?;
    for leftover in &listing.leftovers {
        checks.push(
            Warning,
            format!("{product} {leftover}"),
            "leftover of an interrupted publish; invisible to clients, removed by the next publish"
                .into(),
        );
    }
    if let Some(lock) = store.lock_read(product)? {
        let holder = serde_json::from_slice::<LockInfo>(&lock.bytes)
            .map(|info| info.to_string())
            .unwrap_or_else(|_| "unreadable".into());
        checks.push(
            Warning,
            format!("{product} {LOCK_FILE}"),
            format!("a publish is running or crashed ({holder})"),
        );
    }

    let scratch = tempfile::tempdir().map_err(io_error(
        "creating a scratch folder in",
        &std::env::temp_dir(),
    ))?;
    // version -> (manifest sha256, usable for a channel, the entry the index should have)
    let mut good: BTreeMap<String, (String, bool, IndexEntry)> = BTreeMap::new();
    for version in &listing.complete {
        let subject = format!("{product} {version}");
        match verify_store_version(store, product, version, public_key, now, scratch.path()) {
            Ok(found) if found.expired => {
                checks.push(
                    Warning,
                    subject,
                    format!(
                        "intact ({} checks), but expired at {}: clients refuse it and no channel may point to it",
                        found.lines, found.manifest.expires
                    ),
                );
                good.insert(
                    version.clone(),
                    (found.manifest_sha256.to_hex(), false, index_entry(&found)),
                );
            }
            Ok(found) => {
                checks.push(
                    Passed,
                    subject,
                    format!(
                        "{} checks passed, manifest sha256 {}",
                        found.lines, found.manifest_sha256
                    ),
                );
                good.insert(
                    version.clone(),
                    (found.manifest_sha256.to_hex(), true, index_entry(&found)),
                );
            }
            Err(reason) => checks.push(Failed, subject, reason),
        }
    }

    let index_subject = format!("{product} {INDEX_FILE}");
    match store.read(&index_key(product), MAX_DOC_BYTES)? {
        None if listing.complete.is_empty() => {}
        None => checks.push(
            Warning,
            index_subject,
            "missing (an interrupted first publish); the next publish writes it".into(),
        ),
        Some(object) => match open_index(&object.bytes, product, public_key) {
            Err(reason) => checks.push(Failed, index_subject, reason),
            Ok(index) => {
                let mut problems = Vec::new();
                for entry in &index.versions {
                    if !listing.complete.contains(&entry.version) {
                        problems.push(format!(
                            "lists {}, which is not in the store",
                            entry.version
                        ));
                    } else if let Some((sha, _, expected)) = good.get(&entry.version) {
                        if *sha != entry.manifest_sha256 {
                            problems.push(format!(
                                "lists {} with manifest sha256 {}, but the stored manifest has {sha}",
                                entry.version, entry.manifest_sha256
                            ));
                        } else if entry != expected {
                            problems.push(format!(
                                "lists {} with msi {:?} and expiry {}, but its manifest says {:?} and {}",
                                entry.version, entry.msi, entry.expires, expected.msi, expected.expires
                            ));
                        }
                    }
                }
                if problems.is_empty() {
                    checks.push(
                        Passed,
                        index_subject.clone(),
                        format!(
                            "signature valid, sequence {}, {} versions, all present with matching manifests",
                            index.sequence,
                            index.versions.len()
                        ),
                    );
                } else {
                    checks.push(Failed, index_subject.clone(), problems.join("; "));
                }
                for version in &listing.complete {
                    if index.entry(version).is_none() {
                        checks.push(
                            Warning,
                            index_subject.clone(),
                            format!("does not list {version} (an interrupted publish); the next publish adds it"),
                        );
                    }
                }
            }
        },
    }

    for channel in store.list_channels(product)? {
        let subject = format!("{product} {}", channel_file(&channel));
        if let Err(reason) = check_channel_name(&channel) {
            checks.push(Failed, subject, reason);
            continue;
        }
        let Some(object) = store.read(&channel_key(product, &channel), MAX_DOC_BYTES)? else {
            continue; // removed meanwhile
        };
        let pointer = match open_pointer(&object.bytes, product, &channel, public_key) {
            Ok(pointer) => pointer,
            Err(reason) => {
                checks.push(Failed, subject, reason);
                continue;
            }
        };
        let problem = match good.get(&pointer.version) {
            _ if !listing.complete.contains(&pointer.version) => Some(format!(
                "points to {}, which is not in the store",
                pointer.version
            )),
            None => Some(format!(
                "points to {}, which does not verify",
                pointer.version
            )),
            Some((sha, _, _)) if *sha != pointer.manifest_sha256 => Some(format!(
                "points to {} with manifest sha256 {}, but the stored manifest has {sha}",
                pointer.version, pointer.manifest_sha256
            )),
            Some((_, false, _)) => Some(format!(
                "points to {}, whose manifest has expired",
                pointer.version
            )),
            Some(_) if pointer.expires_unix().is_none_or(|e| now >= e) => Some(format!(
                "expired at {} (it is now {}); promote again to renew it",
                pointer.expires,
                rfc3339_utc(now)
            )),
            Some(_) => None,
        };
        match problem {
            Some(reason) => checks.push(Failed, subject, reason),
            None => {
                let rollback = pointer
                    .rollback_from
                    .as_ref()
                    .map(|from| format!(", rolled back from {from}"))
                    .unwrap_or_default();
                checks.push(
                    Passed,
                    subject,
                    format!(
                        "signature valid, {} (sequence {}{rollback}), expires {}",
                        pointer.version, pointer.sequence, pointer.expires
                    ),
                );
            }
        }
    }
    Ok(())
}
