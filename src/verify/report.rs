//! What verification reports: one line per check, the verified release, or the failed check
//! with the error that names the file and what differs.

use std::fmt;
use std::io;
use std::path::PathBuf;

use minisig::KeyId;

use crate::digest::Sha256Digest;
use crate::manifest::{Manifest, ManifestError};

/// Whether a check passed or could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// The check passed.
    Ok,
    /// The check was not possible (e.g. the previous manifest is not at hand); not a failure.
    Skipped,
}

/// One line of the verification report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    pub status: CheckStatus,
    /// What was checked (`manifest signature`, `hellosvc_1.2.3_windows_amd64.exe sha256`).
    pub check: String,
    /// What was found.
    pub detail: String,
}

impl fmt::Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            CheckStatus::Ok => "ok  ",
            CheckStatus::Skipped => "skip",
        };
        write!(f, "{status} {}: {}", self.check, self.detail)
    }
}

/// A verified release.
#[derive(Debug, Clone)]
pub struct Verified {
    /// One line per check, in order.
    pub lines: Vec<CheckLine>,
    /// The verified manifest.
    pub manifest: Manifest,
    /// The manifest's path.
    pub manifest_path: PathBuf,
}

/// The first failed check, with the checks that passed before it.
#[derive(Debug)]
pub struct VerifyFailure {
    /// Checks that passed (print them before the failure).
    pub passed: Vec<CheckLine>,
    /// What was being checked.
    pub check: String,
    /// Why it failed.
    pub error: Box<VerifyError>,
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL {}: {}", self.check, self.error)
    }
}

impl std::error::Error for VerifyFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is missing\nfix: {fix}")]
    Missing { path: PathBuf, fix: &'static str },
    #[error("{path} {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: ManifestError,
    },
    #[error("{path} is not a minisign signature ({reason})")]
    SignatureUnreadable { path: PathBuf, reason: String },
    #[error("{path} was signed by key {signed_by}, not by the given public key {expected}: it was signed by another key (or the wrong --pubkey was given)")]
    WrongKey {
        path: PathBuf,
        signed_by: KeyId,
        expected: KeyId,
    },
    #[error("{path} does not match its signature: the file was changed after signing, or the signature belongs to another file")]
    BadSignature { path: PathBuf },
    #[error("{path}: the trusted comment was edited after signing (its global signature does not match)")]
    CommentEdited { path: PathBuf },
    #[error("{path}: trusted comment {reason}: not a winrelease signature")]
    CommentMalformed { path: PathBuf, reason: String },
    #[error("{path}: the signature is valid, but it binds {field} {found:?} where this release has {expected:?}: the file was swapped in from another release")]
    BindingMismatch {
        path: PathBuf,
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("{path} is {found} bytes, but the manifest says {expected}: the file was truncated, extended or replaced")]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{path} has sha256 {found}, but the manifest says {expected}: the file's content was changed")]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: Sha256Digest,
    },
    #[error("{path}: {reason}")]
    Sums { path: PathBuf, reason: String },
    #[error("the manifest expired at {expires} (it is now {now})\nfix: publish a new release; an expired manifest may be a frozen or replayed one")]
    Expired { expires: String, now: String },
    #[error("version {version} is not newer than version {previous}, which it claims to follow: this is a rollback")]
    NotNewer { version: String, previous: String },
    #[error("{path}: {reason}")]
    Chain { path: PathBuf, reason: String },
}
