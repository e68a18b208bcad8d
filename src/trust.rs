//! The trust stage: covers a release's artifacts with `SHA256SUMS`, a minisign signature per
//! file (its trusted comment a [`Binding`]) and the signed manifest, in one all-or-nothing step
//! ([`release_trust`]).
//!
//! The artifacts — exe, MSI, portable zip, site transforms — are written by the stages before
//! it, directly into the version folder; this stage only reads them (once each, for SHA-256 and
//! minisign's BLAKE2b prehash together). What it writes itself (`SHA256SUMS`, the `.minisig`
//! files, `manifest.json`) is hashed while written.
//!
//! *Invariant:* on success the version folder holds a complete, verifiable release; on any
//! error it holds nothing new. Everything is first written into a staging folder inside the
//! version folder and renamed into place, the manifest and its signature last; files an earlier
//! run left are moved aside and put back if a rename fails.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::binding::Binding;
use crate::config::Project;
use crate::digest::{
    check_file_name, hash_file, sha256sums_text, BadFileName, FileDigest, HashingWriter,
    Sha256Digest, SHA256SUMS_FILE,
};
use crate::fsio::{IoContext, IoError};
use crate::gobuild::BuiltExe;
use crate::keys::{signature_file_name, ReleaseKey, SignError};
use crate::manifest::{
    read_limited, Artifact, ArtifactKind, GitInfo, Manifest, ManifestError, MsiIdentity, Previous,
    Toolchain, DEFAULT_EXPIRY_DAYS, MANIFEST_FILE, MAX_MANIFEST_BYTES, SCHEMA_VERSION,
};
use crate::stamp::Versioned;
use crate::stamp::{rfc3339_utc, Stamp};
use crate::version::MsiVersion;

/// The MSI of a release and its identity (from the MSI writer).
#[derive(Debug, Clone)]
pub struct MsiArtifact {
    /// The `.msi`, inside the version folder.
    pub path: PathBuf,
    pub identity: MsiIdentity,
}

/// Everything the trust stage needs; all of it is known once the artifacts are written.
#[derive(Debug, Clone)]
pub struct TrustRequest {
    pub product: String,
    pub channel: String,
    pub stamp: Stamp,
    pub msi_version: MsiVersion,
    /// `go version` output of the toolchain that built the exe.
    pub go_version: String,
    /// `target/winrelease/<version>/`: holds the artifacts; receives everything written.
    pub version_dir: PathBuf,
    /// The built exe (the service's), inside `version_dir`.
    pub exe: PathBuf,
    /// The other binaries' exes, inside `version_dir`.
    pub other_exes: Vec<PathBuf>,
    /// The MSI, when the MSI stage ran.
    pub msi: Option<MsiArtifact>,
    /// The portable zip ([`crate::portable_zip`]), inside `version_dir`, when one was made.
    pub zip: Option<PathBuf>,
    /// Per-site transforms (`.mst`) made for the MSI, inside `version_dir`.
    pub transforms: Vec<PathBuf>,
    /// The manifest of the release this one follows (from the release store), if any.
    pub previous_manifest: Option<PathBuf>,
    /// Days from the commit time until the manifest expires.
    pub expiry_days: u32,
}

impl TrustRequest {
    /// The request for a project's release after the build stage: no MSI, zip, transforms or
    /// previous manifest, [`DEFAULT_EXPIRY_DAYS`]; set those fields when there are ones.
    pub fn new(project: &Project, versioned: &Versioned, exe: &BuiltExe) -> TrustRequest {
        let config = &project.config;
        TrustRequest {
            product: config.product.clone(),
            channel: config.channel.clone(),
            stamp: versioned.stamp.clone(),
            msi_version: versioned.msi_version,
            go_version: exe.go_version.clone(),
            version_dir: project.version_dir(&versioned.stamp.version),
            exe: exe.path.clone(),
            other_exes: Vec::new(),
            msi: None,
            zip: None,
            transforms: Vec::new(),
            previous_manifest: None,
            expiry_days: DEFAULT_EXPIRY_DAYS,
        }
    }

    /// The artifacts other stages wrote, with their kinds: exe, MSI, zip, transforms.
    fn inputs(&self) -> Vec<(ArtifactKind, &Path)> {
        let mut inputs = vec![(ArtifactKind::Exe, self.exe.as_path())];
        inputs.extend(
            self.other_exes
                .iter()
                .map(|e| (ArtifactKind::Exe, e.as_path())),
        );
        if let Some(msi) = &self.msi {
            inputs.push((ArtifactKind::Msi, &msi.path));
        }
        if let Some(zip) = &self.zip {
            inputs.push((ArtifactKind::Zip, zip));
        }
        for transform in &self.transforms {
            inputs.push((ArtifactKind::Transform, transform));
        }
        inputs
    }

    /// The binding of the release file `file` with `sha256`.
    fn binding(&self, file: &str, sha256: Sha256Digest) -> Binding {
        Binding {
            product: self.product.clone(),
            version: self.stamp.version.to_string(),
            file: file.to_string(),
            sha256,
        }
    }
}

/// One artifact the trust stage covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSummary {
    pub name: String,
    pub kind: ArtifactKind,
    pub size: u64,
    pub sha256: Sha256Digest,
    /// The artifact's path.
    pub path: PathBuf,
    /// Its `.minisig`.
    pub signature: PathBuf,
}

/// What [`release_trust`] wrote.
#[derive(Debug, Clone)]
pub struct TrustSummary {
    /// Every artifact (exe, MSI, zip, transforms, SHA256SUMS), sorted by name.
    pub artifacts: Vec<ArtifactSummary>,
    /// `manifest.json`.
    pub manifest: PathBuf,
    /// SHA-256 of the manifest (what the next release's `previous.manifest_sha256` will be).
    pub manifest_sha256: Sha256Digest,
    /// `manifest.json.minisig`.
    pub manifest_signature: PathBuf,
    /// Key id of the signing key.
    pub key_id: minisig::KeyId,
    /// The release was signed with the development key: not for production.
    pub development_key: bool,
    /// When the manifest expires (RFC 3339).
    pub expires: String,
    /// The previous release linked in the manifest, if any.
    pub previous: Option<Previous>,
}

/// Errors of the trust stage. Nothing is left behind when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    BadFileName(#[from] BadFileName),
    #[error("{path} is not directly inside the version folder {dir}\nfix: the exe and the MSI must be in target/winrelease/<version>/, where their signatures are written")]
    OutsideVersionDir { path: PathBuf, dir: PathBuf },
    #[error("previous manifest {path}: {reason}\nfix: {fix}")]
    Previous {
        path: PathBuf,
        reason: String,
        fix: &'static str,
    },
    #[error(
        "the manifest this release would write {0}\nfix: correct the configuration value it names"
    )]
    Manifest(#[from] ManifestError),
    #[error("expiry: {0}")]
    Expiry(String),
}

/// A file the manifest lists, with its digest.
struct Covered {
    name: String,
    kind: ArtifactKind,
    digest: FileDigest,
}

/// The trust stage: given the version folder with the artifacts, writes `SHA256SUMS`, a
/// `.minisig` for every artifact and for `SHA256SUMS`, `manifest.json` and
/// `manifest.json.minisig`, and returns what it wrote (see the module docs for how).
pub fn release_trust(request: &TrustRequest, key: &ReleaseKey) -> Result<TrustSummary, TrustError> {
    let dir = &request.version_dir;
    let expires = expiry(request)?;
    let mut covered = hash_inputs(request)?;
    let previous = match &request.previous_manifest {
        Some(path) => Some(previous_link(path, request)?),
        None => None,
    };

    let staging = tempfile::Builder::new()
        .prefix(".winrelease-trust-")
        .tempdir_in(dir)
        .at("creating a staging folder in", dir)?;
    let stage = staging.path();
    covered.push(write_sums(stage, &covered)?);
    covered.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut staged_names = sign_artifacts(stage, request, key, &covered)?;

    let manifest = manifest_for(request, &covered, previous.clone(), expires);
    manifest.validate()?;
    let manifest_digest = write_hashed(
        &stage.join(MANIFEST_FILE),
        manifest.to_canonical_json().as_bytes(),
    )?;
    let manifest_sig_name = write_signature(stage, request, key, MANIFEST_FILE, &manifest_digest)?;
    // The manifest and its signature go in last, so a reader never sees a manifest whose
    // artifacts are not yet in place.
    staged_names.push(MANIFEST_FILE.to_string());
    staged_names.push(manifest_sig_name.clone());

    commit_staged(stage, dir, &staged_names)?;
    drop(staging);

    Ok(TrustSummary {
        artifacts: covered.iter().map(|c| summarize(dir, c)).collect(),
        manifest: dir.join(MANIFEST_FILE),
        manifest_sha256: manifest_digest.sha256,
        manifest_signature: dir.join(manifest_sig_name),
        key_id: key.key_id(),
        development_key: key.is_development(),
        expires: manifest.expires,
        previous,
    })
}

/// The manifest's expiry, Unix seconds: `expiry_days` (at least 1) after the commit time.
fn expiry(request: &TrustRequest) -> Result<i64, TrustError> {
    i64::from(request.expiry_days)
        .checked_mul(86_400)
        .and_then(|s| request.stamp.commit_time.checked_add(s))
        .filter(|_| request.expiry_days > 0)
        .ok_or_else(|| {
            TrustError::Expiry(format!(
                "{} days after the commit time is not a usable expiry; choose 1 day or more",
                request.expiry_days
            ))
        })
}

/// Name and digest of every artifact other stages wrote; each must sit in the version folder.
fn hash_inputs(request: &TrustRequest) -> Result<Vec<Covered>, TrustError> {
    request
        .inputs()
        .into_iter()
        .map(|(kind, path)| {
            let name = name_in_dir(path, &request.version_dir)?;
            let digest = hash_file(path)?;
            Ok(Covered { name, kind, digest })
        })
        .collect()
}

/// Writes `SHA256SUMS` over `covered` into `stage`.
fn write_sums(stage: &Path, covered: &[Covered]) -> Result<Covered, TrustError> {
    let text = sha256sums_text(
        &covered
            .iter()
            .map(|c| (c.name.clone(), c.digest.sha256))
            .collect::<Vec<_>>(),
    )?;
    let digest = write_hashed(&stage.join(SHA256SUMS_FILE), text.as_bytes())?;
    Ok(Covered {
        name: SHA256SUMS_FILE.to_string(),
        kind: ArtifactKind::Checksums,
        digest,
    })
}

/// Writes a signature for every covered file into `stage`; returns the names to move into the
/// version folder (the signatures and `SHA256SUMS`), in order.
fn sign_artifacts(
    stage: &Path,
    request: &TrustRequest,
    key: &ReleaseKey,
    covered: &[Covered],
) -> Result<Vec<String>, TrustError> {
    let mut staged_names = Vec::new();
    for c in covered {
        staged_names.push(write_signature(stage, request, key, &c.name, &c.digest)?);
        if c.kind == ArtifactKind::Checksums {
            staged_names.push(c.name.clone());
        }
    }
    Ok(staged_names)
}

/// Signs `name` (whose digest is `digest`) and writes `<name>.minisig` into `stage`; returns
/// the signature's file name.
fn write_signature(
    stage: &Path,
    request: &TrustRequest,
    key: &ReleaseKey,
    name: &str,
    digest: &FileDigest,
) -> Result<String, TrustError> {
    let signed = key.sign(digest, &request.binding(name, digest.sha256))?;
    let sig_name = signature_file_name(name);
    write_hashed(&stage.join(&sig_name), signed.text.as_bytes())?;
    Ok(sig_name)
}

/// The manifest of this release, listing `covered` (sorted by name).
fn manifest_for(
    request: &TrustRequest,
    covered: &[Covered],
    previous: Option<Previous>,
    expires: i64,
) -> Manifest {
    let commit_time = rfc3339_utc(request.stamp.commit_time);
    Manifest {
        schema_version: SCHEMA_VERSION,
        product: request.product.clone(),
        version: request.stamp.version.to_string(),
        msi_version: request.msi_version.to_string(),
        channel: request.channel.clone(),
        git: GitInfo {
            commit: request.stamp.commit.clone(),
            tag: request.stamp.tag.clone(),
            commit_time: commit_time.clone(),
            dirty: request.stamp.dirty,
        },
        toolchain: Toolchain {
            go: request.go_version.clone(),
            winrelease: env!("CARGO_PKG_VERSION").to_string(),
        },
        msi: request.msi.as_ref().map(|m| m.identity.clone()),
        artifacts: covered
            .iter()
            .map(|c| Artifact {
                name: c.name.clone(),
                kind: c.kind,
                size: c.digest.size,
                sha256: c.digest.sha256.to_hex(),
                signature: signature_file_name(&c.name),
            })
            .collect(),
        previous,
        created: commit_time,
        expires: rfc3339_utc(expires),
    }
}

fn summarize(dir: &Path, c: &Covered) -> ArtifactSummary {
    ArtifactSummary {
        name: c.name.clone(),
        kind: c.kind,
        size: c.digest.size,
        sha256: c.digest.sha256,
        path: dir.join(&c.name),
        signature: dir.join(signature_file_name(&c.name)),
    }
}

/// The file name of `path`, which must sit directly in `dir`.
fn name_in_dir(path: &Path, dir: &Path) -> Result<String, TrustError> {
    let outside = || TrustError::OutsideVersionDir {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
    };
    let parent = path.parent().ok_or_else(outside)?;
    let same = match (parent.canonicalize(), dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(outside());
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(outside)?
        .to_string();
    check_file_name(&name).map_err(|reason| BadFileName {
        name: name.clone(),
        reason,
    })?;
    Ok(name)
}

/// The `previous` link to the manifest at `path`: it must be a valid manifest of the same
/// product with a strictly older version.
fn previous_link(path: &Path, request: &TrustRequest) -> Result<Previous, TrustError> {
    let fail = |reason: String, fix: &'static str| TrustError::Previous {
        path: path.to_path_buf(),
        reason,
        fix,
    };
    let bytes = read_limited(path, MAX_MANIFEST_BYTES).map_err(|e| {
        fail(
            format!("cannot be read ({e})"),
            "pass the manifest.json of the last published release, or none for the first release",
        )
    })?;
    let previous = Manifest::parse(&bytes).map_err(|e| {
        fail(
            e.to_string(),
            "pass the manifest.json of the last published release",
        )
    })?;
    if previous.product != request.product {
        return Err(fail(
            format!(
                "is for product {:?}, this release is {:?}",
                previous.product, request.product
            ),
            "pass the previous manifest of this product",
        ));
    }
    let older = semver::Version::parse(&previous.version)
        .map(|v| v.cmp_precedence(&request.stamp.version) == std::cmp::Ordering::Less)
        .unwrap_or(false);
    if !older {
        return Err(fail(
            format!(
                "is version {}, which is not older than this release's {}",
                previous.version, request.stamp.version
            ),
            "release a version newer than the last published one (tag a higher version)",
        ));
    }
    Ok(Previous {
        version: previous.version,
        manifest_sha256: Sha256Digest::of(&bytes).to_hex(),
    })
}

/// Writes `bytes` to a new file at `path`, hashing them on the way.
fn write_hashed(path: &Path, bytes: &[u8]) -> Result<FileDigest, IoError> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .at("writing", path)?;
    let mut writer = HashingWriter::new(file);
    writer.write_all(bytes).at("writing", path)?;
    let (file, digest) = writer.finish();
    file.sync_all().at("writing", path)?;
    Ok(digest)
}

/// Moves `names` from `stage` into `dest`. Existing files of the same names are moved aside
/// first and put back if any rename fails, so `dest` ends up either fully updated or unchanged.
fn commit_staged(stage: &Path, dest: &Path, names: &[String]) -> Result<(), IoError> {
    let aside = stage.join(".replaced");
    fs::create_dir(&aside).at("creating", &aside)?;
    let mut moved_aside: Vec<&String> = Vec::new();
    let mut placed: Vec<&String> = Vec::new();
    let result = names
        .iter()
        .try_for_each(|name| {
            let target = dest.join(name);
            if fs::symlink_metadata(&target).is_ok() {
                fs::rename(&target, aside.join(name)).at("moving aside the earlier", &target)?;
                moved_aside.push(name);
            }
            Ok(())
        })
        .and_then(|()| {
            names.iter().try_for_each(|name| {
                let target = dest.join(name);
                fs::rename(stage.join(name), &target).at("moving into place", &target)?;
                placed.push(name);
                Ok(())
            })
        });
    if result.is_err() {
        for name in placed {
            let _ = fs::remove_file(dest.join(name));
        }
        for name in moved_aside {
            let _ = fs::rename(aside.join(name), dest.join(name));
        }
    }
    result
}
