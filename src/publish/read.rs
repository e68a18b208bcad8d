//! What a release reads from the store before it builds: where the channel is, and the
//! release it follows (its manifest to chain to, its MSI for the Group Policy check).
//!
//! *Invariant:* everything returned was verified: the pointer and the index with the release
//! public key, the previous manifest against the index's SHA-256, the previous MSI against
//! the manifest's. Callers never build store paths themselves.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use minisig::PublicKey;

use super::docs::{IndexEntry, INDEX_FILE};
use super::error::PublishError;
use super::names::check_product;
use super::pointers::{read_index, read_pointer};
use super::store::Store;
use crate::digest::{hash_file, Sha256Digest};
use crate::fsio::IoContext;
use crate::manifest::{read_limited, ArtifactKind, Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES};

/// What the store says about a release about to be built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreView {
    /// The version the channel's verified pointer names; `None` when the channel does not
    /// exist yet.
    pub channel_version: Option<String>,
    /// The newest version older than the release (per the verified index).
    pub previous_version: Option<String>,
    /// That version's `manifest.json`, copied or downloaded into the scratch folder: what the
    /// trust stage chains the release to.
    pub previous_manifest: Option<PathBuf>,
    /// That version's MSI, copied or downloaded into the scratch folder; `None` when there
    /// is no older version or it has no MSI.
    pub previous_msi: Option<PathBuf>,
}

/// Reads what a release of `version` of `product` to `channel` needs from the store: the
/// channel's current version and the previous release's manifest and MSI (into `scratch`).
pub fn read_release_context(
    store: &dyn Store,
    product: &str,
    channel: &str,
    version: &semver::Version,
    public_key: &PublicKey,
    scratch: &Path,
) -> Result<StoreView, PublishError> {
    check_product(product)?;
    let channel_version =
        read_pointer(store, product, channel, public_key)?.map(|(pointer, _)| pointer.version);
    let Some(previous) = previous_release(store, product, version, public_key, scratch)? else {
        return Ok(StoreView {
            channel_version,
            ..StoreView::default()
        });
    };
    let previous_msi = previous.msi_copy(scratch)?;
    Ok(StoreView {
        channel_version,
        previous_manifest: Some(previous.manifest_copy(scratch)?),
        previous_version: Some(previous.version),
        previous_msi,
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
    let previous = previous_release(store, product, version, public_key, scratch)?;
    Ok(previous.map(|p| p.manifest_path))
}

/// The newest older version, fetched, its manifest checked against the index.
struct PreviousRelease {
    /// The fetched version's folder.
    dir: PathBuf,
    version: String,
    manifest_path: PathBuf,
    manifest_bytes: Vec<u8>,
}

fn previous_release(
    store: &dyn Store,
    product: &str,
    version: &semver::Version,
    public_key: &PublicKey,
    scratch: &Path,
) -> Result<Option<PreviousRelease>, PublishError> {
    let Some((index, _)) = read_index(store, product, public_key)? else {
        return Ok(None);
    };
    let Some(entry) = newest_older(&index.versions, version) else {
        return Ok(None);
    };
    let dir = store.fetch_version(product, &entry.version, scratch)?;
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = read_limited(&manifest_path, MAX_MANIFEST_BYTES).at("reading", &manifest_path)?;
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
    Ok(Some(PreviousRelease {
        dir,
        version: entry.version.clone(),
        manifest_path,
        manifest_bytes: bytes,
    }))
}

/// The index entry of the newest version older than `version`.
fn newest_older<'i>(
    entries: &'i [IndexEntry],
    version: &semver::Version,
) -> Option<&'i IndexEntry> {
    entries.iter().rev().find(|e| {
        semver::Version::parse(&e.version)
            .is_ok_and(|v| v.cmp_precedence(version) == Ordering::Less)
    })
}

impl PreviousRelease {
    /// `scratch/<version>/`, where copies out of the store go (an S3 download is already there).
    fn scratch_dir(&self, scratch: &Path) -> Result<PathBuf, PublishError> {
        let dir = scratch.join(&self.version);
        if self.dir != dir {
            fs::create_dir_all(&dir).at("creating", &dir)?;
        }
        Ok(dir)
    }

    /// The verified manifest bytes in `scratch/<version>/manifest.json`.
    fn manifest_copy(&self, scratch: &Path) -> Result<PathBuf, PublishError> {
        let dest = self.scratch_dir(scratch)?.join(MANIFEST_FILE);
        if dest != self.manifest_path {
            fs::write(&dest, &self.manifest_bytes)
                .at("copying the previous release's manifest to", &dest)?;
        }
        Ok(dest)
    }

    /// The release's MSI in `scratch/<version>/` (copied there from a folder store), checked
    /// against its manifest; `None` when it has none.
    fn msi_copy(&self, scratch: &Path) -> Result<Option<PathBuf>, PublishError> {
        let invalid = |reason: String| PublishError::StoreVersionInvalid {
            version: self.version.clone(),
            reason,
        };
        let manifest = Manifest::parse(&self.manifest_bytes)
            .map_err(|e| invalid(format!("its manifest does not parse: {e}")))?;
        let Some(msi) = manifest
            .artifacts
            .iter()
            .find(|a| a.kind == ArtifactKind::Msi)
        else {
            return Ok(None);
        };
        let dest_dir = self.scratch_dir(scratch)?;
        let dest = dest_dir.join(&msi.name);
        if self.dir != dest_dir {
            let source = self.dir.join(&msi.name);
            fs::copy(&source, &dest).at("copying the previous release's MSI", &source)?;
        }
        let found = hash_file(&dest)
            .map_err(|source| PublishError::Sign {
                what: msi.name.clone(),
                source: source.into(),
            })?
            .sha256
            .to_hex();
        if found != msi.sha256 {
            return Err(invalid(format!(
                "its MSI {} has sha256 {found}, but its manifest says {}",
                msi.name, msi.sha256
            )));
        }
        Ok(Some(dest))
    }
}
