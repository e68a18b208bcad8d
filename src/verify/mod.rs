//! Verify a release folder against a public key: the manifest's signature and expiry, each
//! artifact's size, SHA-256 and signature (with the trusted comment's product, version and
//! file name), `SHA256SUMS`, and the link to the previous release.
//!
//! [`verify_release`] stops at the first failed check and reports it with the checks that
//! passed before it, one line each, so the CLI can print them and exit non-zero. It never
//! panics on malformed input and reads every file at most once.
//!
//! *Invariant:* the only clock read is the `now` its caller passes, and nothing is written.

use std::cmp::Ordering;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use minisig::{KeyId, PublicKey, Signature};

use crate::binding::Binding;
use crate::digest::{
    check_file_name, hash_reader, parse_sha256sums, FileDigest, Sha256Digest, SHA256SUMS_FILE,
};
use crate::keys::SIGNATURE_SUFFIX;
use crate::manifest::{
    read_limited, Artifact, ArtifactKind, Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES,
};
use crate::stamp::rfc3339_utc;

mod report;

pub use report::{CheckLine, CheckStatus, Verified, VerifyError, VerifyFailure};

/// Longest signature file accepted (real ones are about 400 bytes).
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// Verifies the release whose manifest is `path` (a `manifest.json`, or a folder holding one)
/// with `public_key`, at time `now` (Unix seconds; the CLI passes the real time). The previous
/// release's manifest is `previous_manifest` when given, else `../<previous version>/
/// manifest.json` next to this release's folder when that exists; without it the chain link is
/// reported as skipped (the version order is still checked).
pub fn verify_release(
    path: &Path,
    public_key: &PublicKey,
    now: i64,
    previous_manifest: Option<&Path>,
) -> Result<Verified, VerifyFailure> {
    let mut run = Run { lines: Vec::new() };
    let checked = run.all(path, public_key, now, previous_manifest);
    run.finish(checked)
}

/// Checks only a manifest and its signature (`manifest.json.minisig` next to it), as for a
/// previous release fetched without its other files; expiry is not checked (a release chains
/// to its predecessor however old it is).
pub fn verify_manifest_signature(
    manifest_path: &Path,
    public_key: &PublicKey,
) -> Result<Verified, VerifyFailure> {
    let mut run = Run { lines: Vec::new() };
    let checked = run.manifest(manifest_path).and_then(|(manifest, bytes)| {
        run.manifest_signature(public_key, &manifest, manifest_path, &bytes)
            .map(|()| (manifest, manifest_path.to_path_buf()))
    });
    run.finish(checked)
}

type Step<T> = Result<T, (String, VerifyError)>;

struct Run {
    lines: Vec<CheckLine>,
}

fn fail<T>(check: &str, error: VerifyError) -> Step<T> {
    Err((check.to_string(), error))
}

impl Run {
    /// The verdict: the lines that passed with the manifest, or with the check that failed.
    fn finish(self, checked: Step<(Manifest, PathBuf)>) -> Result<Verified, VerifyFailure> {
        match checked {
            Ok((manifest, manifest_path)) => Ok(Verified {
                lines: self.lines,
                manifest,
                manifest_path,
            }),
            Err((check, error)) => Err(VerifyFailure {
                passed: self.lines,
                check,
                error: Box::new(error),
            }),
        }
    }

    fn ok(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.lines.push(CheckLine {
            status: CheckStatus::Ok,
            check: check.into(),
            detail: detail.into(),
        });
    }

    /// Every check, in the order the report lists them.
    fn all(
        &mut self,
        path: &Path,
        key: &PublicKey,
        now: i64,
        previous_manifest: Option<&Path>,
    ) -> Step<(Manifest, PathBuf)> {
        let manifest_path = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        // Parse first: a malformed manifest deserves that diagnosis rather than "bad signature".
        let (manifest, bytes) = self.manifest(&manifest_path)?;
        self.manifest_signature(key, &manifest, &manifest_path, &bytes)?;
        self.expiry(&manifest, now)?;
        self.version_order(&manifest)?;
        let mut sums = None;
        for artifact in &manifest.artifacts {
            self.artifact(key, &manifest, &dir, artifact)?;
            if artifact.kind == ArtifactKind::Checksums {
                sums = Some(dir.join(&artifact.name));
            }
        }
        // Validation guarantees exactly one checksums artifact.
        if let Some(sums_path) = sums {
            self.sums(SHA256SUMS_FILE, &manifest, &sums_path)?;
        }
        self.chain(key, &manifest, &manifest_path, previous_manifest)?;
        Ok((manifest, manifest_path))
    }

    /// The manifest parses and validates; returns it with its bytes.
    fn manifest(&mut self, manifest_path: &Path) -> Step<(Manifest, Vec<u8>)> {
        let check = "manifest";
        let bytes = read_manifest(manifest_path).or_else(|e| fail(check, e))?;
        let manifest = Manifest::parse(&bytes).or_else(|source| {
            fail(
                check,
                VerifyError::Manifest {
                    path: manifest_path.to_path_buf(),
                    source,
                },
            )
        })?;
        self.ok(
            check,
            format!(
                "{} {} ({}), schema_version {}, {} artifacts",
                manifest.product,
                manifest.version,
                manifest.channel,
                manifest.schema_version,
                manifest.artifacts.len()
            ),
        );
        Ok((manifest, bytes))
    }

    /// `manifest.json.minisig` signs these bytes and binds them to the manifest's product and
    /// version.
    fn manifest_signature(
        &mut self,
        key: &PublicKey,
        manifest: &Manifest,
        manifest_path: &Path,
        bytes: &[u8],
    ) -> Step<()> {
        let check = "manifest signature";
        let digest = hash_bytes(check, manifest_path, bytes)?;
        let signed_by = verify_signed(
            check,
            key,
            manifest_path,
            &digest,
            &Expected {
                product: &manifest.product,
                version: &manifest.version,
                file: MANIFEST_FILE,
                size: None,
                sha256: None,
            },
        )?;
        self.ok(
            check,
            format!("valid, key {signed_by}, binds {MANIFEST_FILE} of this product and version"),
        );
        Ok(())
    }

    /// The manifest has not expired at `now`.
    fn expiry(&mut self, manifest: &Manifest, now: i64) -> Step<()> {
        let check = "expiry";
        let expires = manifest.expires_unix().unwrap_or(i64::MIN);
        if now >= expires {
            return fail(
                check,
                VerifyError::Expired {
                    expires: manifest.expires.clone(),
                    now: rfc3339_utc(now),
                },
            );
        }
        self.ok(
            check,
            format!("expires {} (now {})", manifest.expires, rfc3339_utc(now)),
        );
        Ok(())
    }

    /// The release is newer than the one it says it follows.
    fn version_order(&mut self, manifest: &Manifest) -> Step<()> {
        let check = "version order";
        let Some(previous) = &manifest.previous else {
            self.ok(check, "first release of the chain (no previous release)");
            return Ok(());
        };
        let version = semver::Version::parse(&manifest.version).ok();
        let prev = semver::Version::parse(&previous.version).ok();
        let newer = matches!((&version, &prev), (Some(v), Some(p)) if v.cmp_precedence(p) == Ordering::Greater);
        if !newer {
            return fail(
                check,
                VerifyError::NotNewer {
                    version: manifest.version.clone(),
                    previous: previous.version.clone(),
                },
            );
        }
        self.ok(
            check,
            format!("{} follows {}", manifest.version, previous.version),
        );
        Ok(())
    }

    /// Size, SHA-256 and signature of one artifact, from one read of the file.
    fn artifact(
        &mut self,
        key: &PublicKey,
        manifest: &Manifest,
        dir: &Path,
        artifact: &Artifact,
    ) -> Step<FileDigest> {
        let name = &artifact.name;
        let path = dir.join(name);
        let check = name.as_str();
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return fail(
                    check,
                    VerifyError::Missing {
                        path,
                        fix: "copy the whole release folder; every file the manifest lists must be next to it",
                    },
                )
            }
            Err(source) => return fail(check, VerifyError::Io { path, source }),
        };
        let digest = hash_reader(io::BufReader::new(file)).or_else(|source| {
            fail(
                check,
                VerifyError::Io {
                    path: path.clone(),
                    source,
                },
            )
        })?;
        let signed_by = verify_signed(
            &format!("{name} signature"),
            key,
            &path,
            &digest,
            &Expected {
                product: &manifest.product,
                version: &manifest.version,
                file: name,
                size: Some(artifact.size),
                sha256: Some(&artifact.sha256),
            },
        )
        // A bad signature explained by the manifest's size or hash is reported as that check.
        .map_err(|(check, error)| match error {
            VerifyError::SizeMismatch { .. } => (format!("{name} size"), error),
            VerifyError::HashMismatch { .. } => (format!("{name} sha256"), error),
            _ => (check, error),
        })?;
        if digest.size != artifact.size {
            return fail(
                &format!("{name} size"),
                VerifyError::SizeMismatch {
                    path,
                    expected: artifact.size,
                    found: digest.size,
                },
            );
        }
        self.ok(format!("{name} size"), format!("{} bytes", digest.size));
        if digest.sha256.to_hex() != artifact.sha256 {
            return fail(
                &format!("{name} sha256"),
                VerifyError::HashMismatch {
                    path,
                    expected: artifact.sha256.clone(),
                    found: digest.sha256,
                },
            );
        }
        self.ok(format!("{name} sha256"), digest.sha256.to_hex());
        self.ok(
            format!("{name} signature"),
            format!(
                "valid, key {signed_by}, binds {} {} {name}",
                manifest.product, manifest.version
            ),
        );
        Ok(digest)
    }

    /// `SHA256SUMS` must list exactly the other artifacts, with the manifest's digests.
    fn sums(&mut self, check: &str, manifest: &Manifest, path: &Path) -> Step<()> {
        // Already verified byte for byte against the manifest; read it again only to parse it.
        let bytes = read_limited(path, MAX_MANIFEST_BYTES).or_else(|source| {
            fail(
                check,
                VerifyError::Io {
                    path: path.into(),
                    source,
                },
            )
        })?;
        let sums_error = |reason: String| VerifyError::Sums {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::str::from_utf8(&bytes)
            .or_else(|_| fail(check, sums_error("is not UTF-8 text".into())))?;
        let entries = parse_sha256sums(text).or_else(|reason| fail(check, sums_error(reason)))?;
        let mut expected: Vec<(&str, &str)> = manifest
            .artifacts
            .iter()
            .filter(|a| a.kind != ArtifactKind::Checksums)
            .map(|a| (a.name.as_str(), a.sha256.as_str()))
            .collect();
        expected.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let found: Vec<(&str, String)> = entries
            .iter()
            .map(|(name, digest)| (name.as_str(), digest.to_hex()))
            .collect();
        if found.len() != expected.len()
            || found
                .iter()
                .zip(&expected)
                .any(|(f, e)| f.0 != e.0 || f.1 != e.1)
        {
            return fail(
                check,
                sums_error(format!(
                    "lists {} but the manifest has {}",
                    describe(found.iter().map(|(n, d)| (*n, d.as_str()))),
                    describe(expected.iter().copied())
                )),
            );
        }
        self.ok(
            check,
            format!(
                "lists the {} other artifacts with the manifest's sha256",
                found.len()
            ),
        );
        Ok(())
    }

    /// The link to the previous release, when its manifest is at hand.
    fn chain(
        &mut self,
        key: &PublicKey,
        manifest: &Manifest,
        manifest_path: &Path,
        given: Option<&Path>,
    ) -> Step<()> {
        let check = "chain";
        let Some(previous) = &manifest.previous else {
            if let Some(given) = given {
                return fail(
                    check,
                    VerifyError::Chain {
                        path: given.to_path_buf(),
                        reason: "a previous manifest was given, but this manifest links no previous release".into(),
                    },
                );
            }
            self.lines.push(CheckLine {
                status: CheckStatus::Skipped,
                check: check.into(),
                detail: "no previous release to link".into(),
            });
            return Ok(());
        };
        let path = match given {
            Some(given) if given.is_dir() => given.join(MANIFEST_FILE),
            Some(given) => given.to_path_buf(),
            None => {
                let sibling = sibling_manifest(manifest_path, &previous.version);
                match sibling {
                    Some(path) if path.is_file() => path,
                    _ => {
                        self.lines.push(CheckLine {
                            status: CheckStatus::Skipped,
                            check: check.into(),
                            detail: format!(
                                "previous release {} not found next to this one; pass its manifest to check the link",
                                previous.version
                            ),
                        });
                        return Ok(());
                    }
                }
            }
        };
        let chain_error = |reason: String| VerifyError::Chain {
            path: path.clone(),
            reason,
        };
        let bytes = read_manifest(&path).or_else(|e| fail(check, e))?;
        let found = Sha256Digest::of(&bytes);
        if found.to_hex() != previous.manifest_sha256 {
            return fail(
                check,
                chain_error(format!(
                    "has sha256 {found}, but this release follows the manifest with sha256 {}: it is not the release this one was chained to",
                    previous.manifest_sha256
                )),
            );
        }
        let prev = Manifest::parse(&bytes)
            .or_else(|e| fail(check, chain_error(format!("the linked manifest {e}"))))?;
        if prev.product != manifest.product || prev.version != previous.version {
            return fail(
                check,
                chain_error(format!(
                    "is {} {}, but the link names {} {}",
                    prev.product, prev.version, manifest.product, previous.version
                )),
            );
        }
        let digest = hash_bytes(check, &path, &bytes)?;
        verify_signed(
            check,
            key,
            &path,
            &digest,
            &Expected {
                product: &prev.product,
                version: &prev.version,
                file: MANIFEST_FILE,
                size: None,
                sha256: None,
            },
        )?;
        self.ok(
            check,
            format!(
                "follows {} {} ({}, sha256 and signature match)",
                prev.product,
                prev.version,
                path.display()
            ),
        );
        Ok(())
    }
}

fn describe<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let items: Vec<String> = entries
        .map(|(name, digest)| format!("{name} ({})", digest.get(..12).unwrap_or(digest)))
        .collect();
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

/// Digests of bytes already read from `path`.
fn hash_bytes(check: &str, path: &Path, bytes: &[u8]) -> Step<FileDigest> {
    hash_reader(bytes).or_else(|source| {
        fail(
            check,
            VerifyError::Io {
                path: path.to_path_buf(),
                source,
            },
        )
    })
}

/// `../<version>/manifest.json` relative to the folder of `manifest_path`, when the version is
/// a plain folder name.
fn sibling_manifest(manifest_path: &Path, version: &str) -> Option<PathBuf> {
    check_file_name(version).ok()?;
    let release_dir = manifest_path.parent()?;
    let release_dir = if release_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        release_dir
    };
    let parent = release_dir.canonicalize().ok()?.parent()?.to_path_buf();
    Some(parent.join(version).join(MANIFEST_FILE))
}

fn read_manifest(path: &Path) -> Result<Vec<u8>, VerifyError> {
    read_limited(path, MAX_MANIFEST_BYTES).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            VerifyError::Missing {
                path: path.to_path_buf(),
                fix: "give the path of a manifest.json or of the release folder that holds it",
            }
        } else {
            VerifyError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// What a signed file must be bound to.
struct Expected<'a> {
    product: &'a str,
    version: &'a str,
    file: &'a str,
    /// The manifest's size and SHA-256 for the file, used to explain a bad signature.
    size: Option<u64>,
    sha256: Option<&'a str>,
}

/// Verifies `<path>.minisig` for the file with `digest` and checks its trusted comment against
/// `expected`. A bad data signature is explained by the manifest's size or hash when they
/// differ too (truncated vs. changed file).
fn verify_signed(
    check: &str,
    key: &PublicKey,
    path: &Path,
    digest: &FileDigest,
    expected: &Expected,
) -> Step<KeyId> {
    let mut sig_path = path.as_os_str().to_os_string();
    sig_path.push(SIGNATURE_SUFFIX);
    let sig_path = PathBuf::from(sig_path);
    let signature = read_signature(check, &sig_path)?;
    match minisig::verify_prehash(key, &signature, &digest.prehash) {
        Ok(_) => {}
        Err(minisig::Error::KeyIdMismatch {
            signature_key_id,
            public_key_id,
        }) => {
            return fail(
                check,
                VerifyError::WrongKey {
                    path: sig_path,
                    signed_by: signature_key_id,
                    expected: public_key_id,
                },
            )
        }
        Err(minisig::Error::BadSignature) => {
            return fail(check, explain_bad_signature(path, digest, expected))
        }
        Err(minisig::Error::BadGlobalSignature) => {
            return fail(check, VerifyError::CommentEdited { path: sig_path })
        }
        Err(other) => {
            return fail(
                check,
                VerifyError::SignatureUnreadable {
                    path: sig_path,
                    reason: other.to_string(),
                },
            )
        }
    }
    check_binding(check, path, &sig_path, &signature, digest, expected)?;
    Ok(signature.key_id())
}

/// Reads and parses the signature file `sig_path`.
fn read_signature(check: &str, sig_path: &Path) -> Step<Signature> {
    let bytes = read_limited(sig_path, MAX_SIGNATURE_BYTES).or_else(|source| {
        let error = if source.kind() == io::ErrorKind::NotFound {
            VerifyError::Missing {
                path: sig_path.to_path_buf(),
                fix: "every file of a release has its signature next to it; copy the .minisig files too",
            }
        } else {
            VerifyError::Io {
                path: sig_path.to_path_buf(),
                source,
            }
        };
        fail(check, error)
    })?;
    let unreadable = |reason: String| VerifyError::SignatureUnreadable {
        path: sig_path.to_path_buf(),
        reason,
    };
    let text = std::str::from_utf8(&bytes)
        .or_else(|_| fail(check, unreadable("not UTF-8 text".into())))?;
    Signature::parse(text).or_else(|e| fail(check, unreadable(e.to_string())))
}

/// Why the data signature does not match: the file's size or hash differs from the manifest's
/// when the manifest allows telling, else the file does not match its signature.
fn explain_bad_signature(path: &Path, digest: &FileDigest, expected: &Expected) -> VerifyError {
    if let Some(size) = expected.size.filter(|s| *s != digest.size) {
        return VerifyError::SizeMismatch {
            path: path.to_path_buf(),
            expected: size,
            found: digest.size,
        };
    }
    if let Some(sha) = expected.sha256.filter(|s| *s != digest.sha256.to_hex()) {
        return VerifyError::HashMismatch {
            path: path.to_path_buf(),
            expected: sha.to_string(),
            found: digest.sha256,
        };
    }
    VerifyError::BadSignature {
        path: path.to_path_buf(),
    }
}

/// The verified signature's trusted comment binds exactly `expected`'s file, version and
/// product, and the file's SHA-256.
fn check_binding(
    check: &str,
    path: &Path,
    sig_path: &Path,
    signature: &Signature,
    digest: &FileDigest,
    expected: &Expected,
) -> Step<()> {
    let binding = Binding::parse(signature.trusted_comment()).or_else(|reason| {
        fail(
            check,
            VerifyError::CommentMalformed {
                path: sig_path.to_path_buf(),
                reason,
            },
        )
    })?;
    let sha256 = (binding.sha256.to_hex(), digest.sha256.to_hex());
    for (field, found, wanted) in [
        ("file", binding.file.as_str(), expected.file),
        ("version", binding.version.as_str(), expected.version),
        ("product", binding.product.as_str(), expected.product),
        ("sha256", sha256.0.as_str(), sha256.1.as_str()),
    ] {
        if found != wanted {
            return fail(
                check,
                VerifyError::BindingMismatch {
                    path: path.to_path_buf(),
                    field,
                    found: found.to_string(),
                    expected: wanted.to_string(),
                },
            );
        }
    }
    Ok(())
}
