//! One version of the store, fetched and verified like a release folder, and what the index
//! says about it.
//!
//! *Invariant:* a version counts as good only after [`crate::verify::verify_release`] passed
//! on the bytes the store holds and its manifest names the product and version it is stored
//! as.

use std::path::Path;

use minisig::PublicKey;

use super::docs::IndexEntry;
use super::environment::PublishEnvironment;
use super::error::PublishError;
use super::store::Store;
use crate::digest::Sha256Digest;
use crate::manifest::{read_limited, ArtifactKind, Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use crate::verify::{verify_release, Verified, VerifyError};

/// A version of the store, fetched and verified at `now` (or, when only its expiry fails,
/// at the last second it was valid, so an expired version still proves its integrity).
pub(crate) struct StoreVersion {
    pub manifest: Manifest,
    pub manifest_sha256: Sha256Digest,
    /// How many checks passed.
    pub lines: usize,
    pub expired: bool,
}

impl StoreVersion {
    /// The entry the index should have for this version.
    pub fn index_entry(&self) -> IndexEntry {
        IndexEntry {
            version: self.manifest.version.clone(),
            manifest_sha256: self.manifest_sha256.to_hex(),
            msi: msi_name(&self.manifest),
            expires: self.manifest.expires.clone(),
        }
    }
}

/// The file name of the release's MSI, if it has one.
pub(crate) fn msi_name(manifest: &Manifest) -> Option<String> {
    manifest
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Msi)
        .map(|a| a.name.clone())
}

/// Fetches `version` of `product` (into `scratch` for S3) and verifies it; `Err` says why it
/// is not a good version.
pub(crate) fn verify_store_version(
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
    let (verified, expired) = verify_allowing_expiry(&dir, public_key, now)?;
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

/// Verifies the release in `dir` at `now`; an expired one again at the last second it was
/// valid. Returns the verification and whether it had expired.
fn verify_allowing_expiry(
    dir: &Path,
    public_key: &PublicKey,
    now: i64,
) -> Result<(Verified, bool), String> {
    match verify_release(dir, public_key, now, None) {
        Ok(verified) => Ok((verified, false)),
        Err(failure) if matches!(*failure.error, VerifyError::Expired { .. }) => {
            let bytes = read_limited(&dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES)
                .map_err(|e| e.to_string())?;
            let expires = Manifest::parse(&bytes)
                .ok()
                .and_then(|m| m.expires_unix())
                .ok_or_else(|| failure.to_string())?;
            let verified =
                verify_release(dir, public_key, expires - 1, None).map_err(|f| f.to_string())?;
            Ok((verified, true))
        }
        Err(failure) => Err(failure.to_string()),
    }
}

/// Checks that `version` is in the store and verifies, unexpired, at `now`: a version a
/// channel may point to.
pub(crate) fn verified_target(
    store: &dyn Store,
    product: &str,
    version: &str,
    public_key: &PublicKey,
    now: i64,
    env: &PublishEnvironment,
) -> Result<StoreVersion, PublishError> {
    let listing = store.list_versions(product)?;
    if !listing.complete.iter().any(|v| v == version) {
        return Err(PublishError::NotInStore {
            product: product.to_string(),
            version: version.to_string(),
            store: store.location(),
        });
    }
    let scratch = env.scratch_dir()?;
    let invalid = |reason: String| PublishError::StoreVersionInvalid {
        version: version.to_string(),
        reason,
    };
    let found = verify_store_version(store, product, version, public_key, now, scratch.path())
        .map_err(invalid)?;
    if found.expired {
        return Err(invalid(format!(
            "its manifest expired at {}; clients refuse it",
            found.manifest.expires
        )));
    }
    Ok(found)
}
