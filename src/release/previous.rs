//! A previous release handed in as a folder (`release --previous DIR`): its `manifest.json`,
//! `manifest.json.minisig` and MSI, e.g. fetched from the repository's previous GitHub Release
//! when the CI runner has no release store that outlives it.
//!
//! *Invariant:* the folder only fills in what the release store does not know (a store that
//! has a channel pointer or an older version wins), and nothing from it is used unless the
//! manifest's signature verifies with the release key and the MSI matches the manifest.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use minisig::PublicKey;

use super::plan::StoreView;
use super::ReleaseError;
use crate::digest::hash_file;
use crate::manifest::{ArtifactKind, MANIFEST_FILE};
use crate::verify;

/// What the release needs of a previous release found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousFolder {
    pub version: String,
    pub channel: String,
    /// Its verified `manifest.json`.
    pub manifest: PathBuf,
    /// Its MSI, checked against the manifest; `None` when the release had none.
    pub msi: Option<PathBuf>,
}

fn refused(dir: &Path, reason: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Refused(format!(
        "the previous release in {} (--previous) {reason}",
        dir.display()
    ))
}

/// Reads and verifies the previous release in `dir`; `None` when `dir` holds no manifest (an
/// empty folder: there was no previous release to fetch).
pub fn read_previous_folder(
    dir: &Path,
    product: &str,
    public_key: Option<&PublicKey>,
) -> Result<Option<PreviousFolder>, ReleaseError> {
    if !dir.is_dir() {
        return Err(refused(dir, "does not exist\nfix: run `cargo xtask fetch-previous --out DIR` first (it makes the folder, empty when there is no previous release), or drop --previous"));
    }
    let manifest_path = dir.join(MANIFEST_FILE);
    if !manifest_path.exists() {
        return Ok(None);
    }
    let Some(key) = public_key else {
        return Err(refused(dir, "can only be verified with the release key, and there is none yet\nfix: configure the key that signed it (WINRELEASE_SECRET_KEY or --key)"));
    };
    let verified = verify::verify_manifest_signature(&manifest_path, key)
        .map_err(|failure| refused(dir, format_args!("does not verify: {failure}")))?;
    let manifest = verified.manifest;
    if manifest.product != product {
        return Err(refused(
            dir,
            format_args!("is a release of {:?}, not of {product:?}", manifest.product),
        ));
    }
    let msi = match manifest
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Msi)
    {
        None => None,
        Some(artifact) => {
            let path = dir.join(&artifact.name);
            let found = hash_file(&path)
                .map_err(|e| {
                    refused(
                        dir,
                        format_args!(
                            "lacks its MSI: {e}\nfix: fetch {} with the manifest",
                            artifact.name
                        ),
                    )
                })?
                .sha256
                .to_hex();
            if found != artifact.sha256 {
                return Err(refused(
                    dir,
                    format_args!(
                        "has an MSI {} with sha256 {found}, but its signed manifest says {}",
                        artifact.name, artifact.sha256
                    ),
                ));
            }
            Some(path)
        }
    };
    Ok(Some(PreviousFolder {
        version: manifest.version,
        channel: manifest.channel,
        manifest: manifest_path,
        msi,
    }))
}

/// Fills what `view` (read from the release store) lacks from the previous release in `dir`:
/// the channel's version when the folder's release is on `channel`, and the release to chain
/// to and check Group Policy against when it is older than `version`.
pub fn apply_previous_folder(
    view: &mut StoreView,
    dir: &Path,
    product: &str,
    channel: &str,
    version: &semver::Version,
    public_key: Option<&PublicKey>,
) -> Result<(), ReleaseError> {
    let Some(previous) = read_previous_folder(dir, product, public_key)? else {
        return Ok(());
    };
    if view.channel_version.is_none() && previous.channel == channel {
        view.channel_version = Some(previous.version.clone());
    }
    let older = semver::Version::parse(&previous.version)
        .is_ok_and(|v| v.cmp_precedence(version) == Ordering::Less);
    if view.previous_version.is_none() && older {
        view.previous_version = Some(previous.version);
        view.previous_manifest = Some(previous.manifest);
        view.previous_msi = previous.msi;
    }
    Ok(())
}
