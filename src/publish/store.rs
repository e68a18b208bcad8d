//! The backend interface of the release store: a handful of primitives that the folder and
//! S3 backends implement with their own atomicity tools (rename vs. conditional PUT). The
//! publishing logic in [`super`] is written once against it.
//!
//! Keys are `/`-separated and relative to the store root: `Hello Service/index.json`,
//! `Hello Service/channels/stable.json`. Product and version are separate arguments where the
//! backend needs to know the layout (versions, locks, leftovers).

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::crash::CrashHook;
use crate::digest::Sha256Digest;
use crate::fsio::IoError;

/// Identifies one state of an object, for compare-and-swap: the ETag on S3, the SHA-256 of the
/// content in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision(pub(crate) String);

/// An object read from the store.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub revision: Revision,
    /// When it was last written, if the backend knows.
    pub modified: Option<SystemTime>,
}

/// The versions of a product found in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionListing {
    /// Complete, visible versions (a folder named after the version; on S3 a version prefix
    /// that holds `manifest.json`), sorted by SemVer precedence.
    pub complete: Vec<String>,
    /// Leftovers of interrupted publishes, invisible to readers: staging folders, temporary
    /// files, S3 uploads without their `manifest.json`.
    pub leftovers: Vec<String>,
}

/// A file to copy into a new version, with the SHA-256 it was verified with; the copy is
/// refused if the bytes read differ (the release folder changed after verification).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub path: PathBuf,
    pub sha256: Sha256Digest,
}

/// Errors of a store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("the release store {path} does not exist or is not a folder\nfix: create it (or mount the share), or pass the right store path")]
    Missing { path: PathBuf },
    #[error("the release store {path} is not writable ({source})\nfix: publish as a user with write access to the store (on a share: change and NTFS permissions)")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("S3 {operation} {location} failed: {message}\nfix: {fix}")]
    S3 {
        operation: &'static str,
        location: String,
        message: String,
        fix: String,
    },
    #[error("{location} already exists")]
    AlreadyExists { location: String },
    #[error("{location} was changed by another publisher while this one held the lock\nfix: check that no publisher ran with a lock it had broken as stale (see --stale-lock-after), then run verify on the store")]
    Conflict { location: String },
    #[error("{location} is a symbolic link: a release store holds only the files winrelease writes, and winrelease follows no link in it\nfix: replace the link with the file it points to (or restore the store from a backup), then run verify on the store")]
    Link { location: String },
    #[error("{location} is larger than {max} bytes: not a file winrelease writes")]
    TooLarge { location: String, max: u64 },
    #[error("{location} differs from its version's manifest.json (downloaded sha256 {found}, the manifest lists {expected}): refused\nfix: the object was changed in the store after it was published; run verify on the store, and restore the object from the release folder it was published from")]
    Corrupted {
        location: String,
        expected: Sha256Digest,
        found: Sha256Digest,
    },
    #[error("{path} has sha256 {found}, but it was verified with sha256 {expected}: the release folder changed while publishing\nfix: do not modify the release folder during publish; publish again")]
    SourceChanged {
        path: PathBuf,
        expected: Sha256Digest,
        found: Sha256Digest,
    },
}

/// A release store backend. Implemented by [`super::FolderStore`] and [`super::S3Store`].
///
/// Every mutating method is called with the product's lock held (see [`super::lock`]).
pub trait Store: Send + Sync {
    /// Where the store is, for messages (`/srv/store`, `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// The user-facing path of an object, in the style the store root was given in
    /// (`\\server\share\Hello Service\1.2.3\x.msi`).
    fn display_path(&self, parts: &[&str]) -> String;

    /// The test hook that aborts the process at a named step (see [`super::crash`]).
    fn crash_hook(&self) -> &CrashHook;

    /// Checks that the store exists and can be written (folder) or reached (S3).
    fn check_ready(&self) -> Result<(), StoreError>;

    /// Product folders/prefixes in the store, sorted.
    fn list_products(&self) -> Result<Vec<String>, StoreError>;

    /// Versions of `product`, and leftovers of interrupted publishes.
    fn list_versions(&self, product: &str) -> Result<VersionListing, StoreError>;

    /// Channel names that have a pointer file under `<product>/channels/`, sorted.
    fn list_channels(&self, product: &str) -> Result<Vec<String>, StoreError>;

    /// Reads the object at `key`; `None` if absent; `TooLarge` past `max` bytes.
    fn read(&self, key: &str, max: u64) -> Result<Option<StoredObject>, StoreError>;

    /// Atomically replaces the object at `key` with `bytes` if its current revision is
    /// `expected` (`None`: only if it does not exist); otherwise `Conflict`. Readers see the
    /// old or the new bytes, never a mix. `step` names the crash points inside.
    fn replace(
        &self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Revision>,
        step: &str,
    ) -> Result<(), StoreError>;

    /// Creates `<product>/<version>/` holding `files`, appearing complete or not at all;
    /// `AlreadyExists` if the version exists.
    fn create_version(
        &self,
        product: &str,
        version: &str,
        files: &[SourceFile],
    ) -> Result<(), StoreError>;

    /// A local folder holding the files of `<product>/<version>/`: the folder itself for the
    /// folder backend, a download into `scratch/<version>/` for S3.
    fn fetch_version(
        &self,
        product: &str,
        version: &str,
        scratch: &Path,
    ) -> Result<PathBuf, StoreError>;

    /// Removes the leftovers of interrupted publishes of `product`; returns their names.
    /// Lock files that publishers write while they wait for the lock (the folder backend's
    /// temporary copies of `.lock`) are removed only when `abandoned` says their holder is
    /// gone, so cleaning up never pulls a file from under a publisher taking the lock.
    fn clean_leftovers(
        &self,
        product: &str,
        abandoned: &dyn Fn(&StoredObject) -> bool,
    ) -> Result<Vec<String>, StoreError>;

    /// Creates the product's lock with `bytes` if there is none; `false` if one exists.
    fn lock_create(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError>;

    /// The product's lock, if one is held.
    fn lock_read(&self, product: &str) -> Result<Option<StoredObject>, StoreError>;

    /// Replaces the lock `stale` (as read) by `bytes`, only if it is still that lock;
    /// `true` when this caller now holds the lock.
    fn lock_break(
        &self,
        product: &str,
        stale: &StoredObject,
        bytes: &[u8],
    ) -> Result<bool, StoreError>;

    /// Removes the lock if it is still `bytes` (ours); `false` if someone else's lock is there.
    fn lock_release(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError>;
}

/// Refuses a copy whose bytes (hashed while copying) are not the verified ones.
pub(crate) fn check_copied(source: &SourceFile, found: Sha256Digest) -> Result<(), StoreError> {
    if found == source.sha256 {
        Ok(())
    } else {
        Err(StoreError::SourceChanged {
            path: source.path.clone(),
            expected: source.sha256,
            found,
        })
    }
}
