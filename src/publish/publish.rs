//! The publish transaction: verify the release folder, take the product's lock, copy the
//! version in (or find it identical), update the index, move the channel, report the Group
//! Policy packages.
//!
//! *Invariant:* the steps run in this order, each after the previous one is durable: version,
//! then index, then channel pointer, so no document ever names a missing version.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use minisig::PublicKey;

use super::docs::{ChannelPointer, Index, IndexEntry, INDEX_FILE};
use super::error::PublishError;
use super::lock;
use super::names::{
    check_artifact_name, check_channel, check_product, check_version_name, precedence,
};
use super::pointers::{read_index, read_pointer, write_index, write_pointer, PointerTarget, Read};
use super::report::{GpoPackage, PublishReport, VersionOutcome};
use super::store::{SourceFile, Store, StoredObject, VersionListing};
use super::store_version::{msi_name, verify_store_version, StoreVersion};
use super::PublishOptions;
use crate::digest::{hash_file, Sha256Digest};
use crate::fsio::IoContext;
use crate::keys::{signature_file_name, ReleaseKey};
use crate::manifest::{read_limited, Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use crate::verify::{verify_release, CheckLine};

/// Publishes the release in `release_dir` (`target/winrelease/<version>/`) to `store` as
/// `product`, optionally moving `channel` to it, signing index and pointer with `key`.
///
/// The release is verified against `key`'s public key at `options.now` before anything is
/// written; a release that does not verify is refused. See the module documentation of
/// [`super`] for the guarantees.
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
    let release = VerifiedRelease::open(release_dir, product, &public_key, options.now)?;

    store.check_ready()?;
    let lock = lock::acquire(store, product, &options.lock, &options.env)?;
    store.crash_hook().reach("locked");
    let abandoned =
        |lock: &StoredObject| lock::stale_reason(lock, &options.lock, &options.env).is_some();
    let cleaned = store.clean_leftovers(product, &abandoned)?;
    let index = read_index(store, product, &public_key)?;
    let pointer = match channel {
        Some(channel) => read_pointer(store, product, channel, &public_key)?,
        None => None,
    };
    if let (Some(channel), Some((current, _))) = (channel, &pointer) {
        check_not_backwards(channel, current, &release.version)?;
    }
    let listing = store.list_versions(product)?;
    check_chain(store, product, &release, &listing)?;

    let scratch = options.env.scratch_dir()?;
    let at = StoreAt {
        store,
        product,
        public_key: &public_key,
        now: options.now,
        scratch: scratch.path(),
    };
    let outcome = place_version(&at, &release, &listing)?;
    store.crash_hook().reach("version-published");
    let index = update_index(&at, key, &release, index, &listing)?;
    let channel_change = match channel {
        Some(channel) => Some(write_pointer(
            store,
            product,
            channel,
            key,
            pointer.as_ref(),
            &release.pointer_target(),
            options,
        )?),
        None => None,
    };
    let current = pointer.as_ref().map(|(p, _)| p.version.as_str());
    let (msi, upgrades) = gpo_packages(store, product, &release, current, &index.entries);

    store.crash_hook().reach("unlocking");
    let broke_stale_lock = lock.broke_stale.clone();
    lock.release()?;
    Ok(PublishReport {
        product: product.to_string(),
        store: store.location(),
        version_path: store.display_path(&[product, &release.version]),
        manifest_sha256: release.manifest_sha256.to_hex(),
        verified: release.checks,
        outcome,
        index_sequence: index.sequence,
        index_changed: index.changed,
        adopted: index.adopted,
        channel: channel_change,
        msi,
        upgrades,
        cleaned,
        broke_stale_lock,
        version: release.version,
    })
}

/// A release folder that verified, with the files to copy and the hashes they verified with.
struct VerifiedRelease {
    manifest: Manifest,
    version: String,
    manifest_sha256: Sha256Digest,
    /// When the manifest expires, Unix seconds.
    manifest_expires: i64,
    files: Vec<SourceFile>,
    msi_name: Option<String>,
    /// The checks it passed.
    checks: Vec<CheckLine>,
}

impl VerifiedRelease {
    /// Verifies the release in `release_dir` at `now` and checks that it is of `product` and
    /// that its names can be store paths.
    fn open(
        release_dir: &Path,
        product: &str,
        public_key: &PublicKey,
        now: i64,
    ) -> Result<VerifiedRelease, PublishError> {
        let folder = if release_dir.is_dir() {
            release_dir
        } else {
            release_dir.parent().unwrap_or(Path::new("."))
        };
        check_plain_files(folder)?;
        let verified = verify_release(release_dir, public_key, now, None).map_err(|failure| {
            PublishError::Unverified {
                dir: release_dir.to_path_buf(),
                failure: Box::new(failure),
            }
        })?;
        let manifest = verified.manifest;
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
        check_version_name(&manifest.version)?;
        for artifact in &manifest.artifacts {
            check_artifact_name(&artifact.name)?;
        }
        let manifest_sha256 = reread_manifest(&dir, &manifest)?;
        let files = release_files(&dir, &manifest, manifest_sha256)?;
        check_only_signed(&dir, &files)?;
        Ok(VerifiedRelease {
            version: manifest.version.clone(),
            manifest_sha256,
            manifest_expires: manifest
                .expires_unix()
                .expect("a verified manifest has an expiry"),
            files,
            msi_name: msi_name(&manifest),
            checks: verified.lines,
            manifest,
        })
    }

    /// The index entry of this release.
    fn index_entry(&self) -> IndexEntry {
        IndexEntry {
            version: self.version.clone(),
            manifest_sha256: self.manifest_sha256.to_hex(),
            msi: self.msi_name.clone(),
            expires: self.manifest.expires.clone(),
        }
    }

    /// A channel pointer to this release.
    fn pointer_target(&self) -> PointerTarget<'_> {
        PointerTarget {
            version: &self.version,
            manifest_sha256: self.manifest_sha256,
            manifest_expires: self.manifest_expires,
            rollback_from: None,
            rollout: None,
        }
    }
}

/// Refuses a release folder holding anything but plain files, before anything in it is read: a
/// symbolic link would make publishing read (and copy into the store) a file from elsewhere.
fn check_plain_files(dir: &Path) -> Result<(), PublishError> {
    for (name, kind) in folder_entries(dir)? {
        if !kind.is_file() {
            return Err(PublishError::StrayEntry {
                dir: dir.to_path_buf(),
                name,
                problem: if kind.is_symlink() {
                    "is a symbolic link (a release folder holds the files themselves)"
                } else {
                    "is not a plain file"
                },
            });
        }
    }
    Ok(())
}

/// Refuses a verified release folder holding a file its manifest does not sign.
fn check_only_signed(dir: &Path, files: &[SourceFile]) -> Result<(), PublishError> {
    let signed: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    for (name, _) in folder_entries(dir)? {
        if !signed.contains(name.as_str()) {
            return Err(PublishError::StrayEntry {
                dir: dir.to_path_buf(),
                name,
                problem: "is not signed by the release's manifest",
            });
        }
    }
    Ok(())
}

/// The entries of `dir` (names shown lossily), with their types as stored (links not followed).
fn folder_entries(dir: &Path) -> Result<Vec<(String, fs::FileType)>, PublishError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).at("listing", dir)? {
        let entry = entry.at("listing", dir)?;
        let kind = entry.file_type().at("listing", dir)?;
        out.push((entry.file_name().to_string_lossy().into_owned(), kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The manifest as verified: re-read once and compared, so the bytes published are the bytes
/// that verified. Returns their SHA-256.
fn reread_manifest(dir: &Path, manifest: &Manifest) -> Result<Sha256Digest, PublishError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = read_limited(&path, MAX_MANIFEST_BYTES).at("reading", &path)?;
    if Manifest::parse(&bytes).ok().as_ref() != Some(manifest) {
        return Err(PublishError::ChangedDuringPublish { path });
    }
    Ok(Sha256Digest::of(&bytes))
}

/// The SHA-256 of a file of the release folder.
fn hash_release_file(path: &Path, name: &str) -> Result<Sha256Digest, PublishError> {
    Ok(hash_file(path)
        .map_err(|e| PublishError::Sign {
            what: name.to_string(),
            source: e.into(),
        })?
        .sha256)
}

/// The files of a verified release: every artifact and its signature, then the manifest's
/// signature and the manifest (last, as the version's completion mark on S3).
fn release_files(
    dir: &Path,
    manifest: &Manifest,
    manifest_sha256: Sha256Digest,
) -> Result<Vec<SourceFile>, PublishError> {
    let file = |name: &str, sha256: Sha256Digest| SourceFile {
        name: name.to_string(),
        path: dir.join(name),
        sha256,
    };
    let hashed = |name: String| -> Result<SourceFile, PublishError> {
        Ok(file(&name, hash_release_file(&dir.join(&name), &name)?))
    };
    let mut files = Vec::new();
    for artifact in &manifest.artifacts {
        files.push(hashed(artifact.signature.clone())?);
    }
    files.push(hashed(signature_file_name(MANIFEST_FILE))?);
    for artifact in &manifest.artifacts {
        let sha256 =
            Sha256Digest::from_hex(&artifact.sha256).expect("a validated manifest has hex digests");
        files.push(file(&artifact.name, sha256));
    }
    files.push(file(MANIFEST_FILE, manifest_sha256));
    Ok(files)
}

/// A channel only moves forward with publish.
fn check_not_backwards(
    channel: &str,
    current: &ChannelPointer,
    version: &str,
) -> Result<(), PublishError> {
    if precedence(&current.version, version) == Ordering::Greater {
        return Err(PublishError::ChannelBackwards {
            channel: channel.to_string(),
            current: current.version.clone(),
            requested: version.to_string(),
        });
    }
    Ok(())
}

/// The release must be chained to the store's copy of the version it follows, if the store
/// has it.
fn check_chain(
    store: &dyn Store,
    product: &str,
    release: &VerifiedRelease,
    listing: &VersionListing,
) -> Result<(), PublishError> {
    let Some(previous) = &release.manifest.previous else {
        return Ok(());
    };
    if !listing.complete.contains(&previous.version) {
        return Ok(());
    }
    let key = format!("{product}/{}/{MANIFEST_FILE}", previous.version);
    let Some(object) = store.read(&key, MAX_MANIFEST_BYTES)? else {
        return Ok(());
    };
    let stored = Sha256Digest::of(&object.bytes).to_hex();
    if stored != previous.manifest_sha256 {
        return Err(PublishError::ChainMismatch {
            version: release.version.clone(),
            previous: previous.version.clone(),
            linked: previous.manifest_sha256.clone(),
            stored,
        });
    }
    Ok(())
}

/// The store, product and verification settings the steps under the lock share.
struct StoreAt<'a> {
    store: &'a dyn Store,
    product: &'a str,
    public_key: &'a PublicKey,
    now: i64,
    /// Where S3 versions are downloaded to be verified.
    scratch: &'a Path,
}

impl StoreAt<'_> {
    fn verify(&self, version: &str) -> Result<StoreVersion, String> {
        verify_store_version(
            self.store,
            self.product,
            version,
            self.public_key,
            self.now,
            self.scratch,
        )
    }
}

/// Copies the version into the store, or checks that the store's copy is identical.
fn place_version(
    at: &StoreAt,
    release: &VerifiedRelease,
    listing: &VersionListing,
) -> Result<VersionOutcome, PublishError> {
    let version = &release.version;
    if listing.complete.contains(version) {
        compare_with_store(at, version, &release.files)?;
        return Ok(VersionOutcome::AlreadyPresent);
    }
    at.store
        .create_version(at.product, version, &release.files)?;
    // Verify what the store now holds before any document names it: catches a release
    // folder changed after verification, and any backend fault. The version is then
    // visible but unindexed, and verify reports it.
    at.verify(version)
        .map_err(|reason| PublishError::StoreVersionInvalid {
            version: version.clone(),
            reason,
        })?;
    Ok(VersionOutcome::Published {
        files: release.files.len(),
    })
}

/// Compares the release's files with the stored version; `Err` lists every difference.
fn compare_with_store(
    at: &StoreAt,
    version: &str,
    files: &[SourceFile],
) -> Result<(), PublishError> {
    let dir = at.store.fetch_version(at.product, version, at.scratch)?;
    let mut stored = BTreeSet::new();
    for entry in fs::read_dir(&dir).at("listing", &dir)? {
        let entry = entry.at("listing", &dir)?;
        stored.insert(entry.file_name().to_string_lossy().into_owned());
    }
    let wanted: BTreeMap<&str, &SourceFile> = files.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut differing = Vec::new();
    let mut details = Vec::new();
    for name in artifacts_first(
        wanted
            .keys()
            .copied()
            .chain(stored.iter().map(String::as_str)),
    ) {
        let difference = match (wanted.get(name), stored.contains(name)) {
            (Some(file), true) => {
                let found = hash_release_file(&dir.join(name), name)?;
                (found != file.sha256).then(|| {
                    format!(
                        "{name} differs (store sha256 {}, this release {})",
                        &found.to_hex()[..16],
                        &file.sha256.to_hex()[..16]
                    )
                })
            }
            (Some(_), false) => Some(format!("{name} is missing from the stored version")),
            (None, _) => Some(format!("{name} is only in the stored version")),
        };
        if let Some(detail) = difference {
            differing.push(name.to_string());
            details.push(detail);
        }
    }
    if differing.is_empty() {
        return Ok(());
    }
    Err(PublishError::VersionDiffers {
        version: version.to_string(),
        files: differing,
        differences: details.join(", "),
    })
}

/// The distinct `names`, artifacts first: the MSI differing is the news; SHA256SUMS, the
/// signatures and the manifest follow.
fn artifacts_first<'n>(names: impl Iterator<Item = &'n str>) -> Vec<&'n str> {
    let mut names: Vec<&str> = names.collect::<BTreeSet<_>>().into_iter().collect();
    let rank = |name: &str| match name {
        MANIFEST_FILE => 3,
        _ if name.starts_with(MANIFEST_FILE) => 3,
        _ if name.ends_with(crate::keys::SIGNATURE_SUFFIX) => 2,
        crate::digest::SHA256SUMS_FILE => 1,
        _ => 0,
    };
    names.sort_by_key(|n| (rank(n), n.to_string()));
    names
}

/// The index after publishing.
struct IndexUpdate {
    entries: Vec<IndexEntry>,
    sequence: u64,
    changed: bool,
    /// Versions an interrupted publish had left out, added now.
    adopted: Vec<String>,
}

/// Lists the release in the index, and any complete version an interrupted publish left out.
fn update_index(
    at: &StoreAt,
    key: &ReleaseKey,
    release: &VerifiedRelease,
    index: Read<Index>,
    listing: &VersionListing,
) -> Result<IndexUpdate, PublishError> {
    let (mut entries, mut sequence, revision) = match index {
        Some((index, revision)) => (index.versions, index.sequence, Some(revision)),
        None => (Vec::new(), 0, None),
    };
    let mut changed = add_release_entry(at, &mut entries, release)?;
    let adopted = adopt_unindexed(at, &mut entries, listing);
    changed |= !adopted.is_empty();
    entries.sort_by(|a, b| precedence(&a.version, &b.version));
    if changed {
        // At least one more than before, and never below the number of versions listed
        // (several may be added at once when adopting).
        sequence = (sequence + 1).max(entries.len() as u64);
        write_index(
            at.store,
            at.product,
            key,
            revision.as_ref(),
            sequence,
            entries.clone(),
        )?;
    }
    Ok(IndexUpdate {
        entries,
        sequence,
        changed,
        adopted,
    })
}

/// Adds the release's entry; `false` when the index already lists it. An entry with another
/// manifest is an invalid index.
fn add_release_entry(
    at: &StoreAt,
    entries: &mut Vec<IndexEntry>,
    release: &VerifiedRelease,
) -> Result<bool, PublishError> {
    let sha = release.manifest_sha256;
    match entries.iter().find(|e| e.version == release.version) {
        Some(entry) if entry.manifest_sha256 != sha.to_hex() => {
            Err(PublishError::DocumentInvalid {
                location: at.store.display_path(&[at.product, INDEX_FILE]),
                reason: format!(
                    "lists {} with manifest sha256 {}, but the stored manifest has {sha}",
                    release.version, entry.manifest_sha256
                ),
            })
        }
        Some(_) => Ok(false),
        None => {
            entries.push(release.index_entry());
            Ok(true)
        }
    }
}

/// Adds every complete, verifying version the index does not list; returns them.
/// Unverifiable versions stay out of the index; verify reports them.
fn adopt_unindexed(
    at: &StoreAt,
    entries: &mut Vec<IndexEntry>,
    listing: &VersionListing,
) -> Vec<String> {
    let mut adopted = Vec::new();
    for other in &listing.complete {
        if entries.iter().any(|e| &e.version == other) {
            continue;
        }
        if let Ok(found) = at.verify(other) {
            entries.push(found.index_entry());
            adopted.push(other.clone());
        }
    }
    adopted
}

/// Group Policy: the new package and the one it upgrades (what the channel had, else the
/// release this one follows, else the newest older version in the store with an MSI).
fn gpo_packages(
    store: &dyn Store,
    product: &str,
    release: &VerifiedRelease,
    channel_had: Option<&str>,
    entries: &[IndexEntry],
) -> (Option<GpoPackage>, Option<GpoPackage>) {
    let version = &release.version;
    let older = |v: &str| precedence(v, version) == Ordering::Less;
    let listed = |v: &str| entries.iter().any(|e| e.version == v);
    let upgraded_version = channel_had
        .filter(|v| older(v))
        .map(str::to_string)
        .or_else(|| {
            let previous = release.manifest.previous.as_ref()?;
            listed(&previous.version).then(|| previous.version.clone())
        })
        .or_else(|| {
            entries
                .iter()
                .rev()
                .find(|e| older(&e.version) && e.msi.is_some())
                .map(|e| e.version.clone())
        });
    let package = |version: &str, msi: &str| GpoPackage {
        version: version.to_string(),
        msi_path: store.display_path(&[product, version, msi]),
    };
    let msi = release
        .msi_name
        .as_deref()
        .map(|name| package(version, name));
    let upgrades = msi.as_ref().and(upgraded_version).and_then(|old| {
        let entry = entries.iter().find(|e| e.version == old)?;
        Some(package(&old, entry.msi.as_ref()?))
    });
    (msi, upgrades)
}
