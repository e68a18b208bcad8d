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
//! * Nothing here reads an environment variable or a clock: the caller passes a
//!   [`PublishEnvironment`] (AWS settings, host name, temporary folder, [`Clock`], crash hook)
//!   and the time releases are checked at.
//! * Published versions are immutable: publishing different bytes under an existing version
//!   is refused naming the files that differ; identical bytes are a no-op.
//! * One publisher at a time per product ([`lock`]); a stale lock is broken safely.
//! * Channels move forward with [`promote`]; [`rollback`] moves one back with a new, higher
//!   sequence number and says so in the pointer (`rollback_from`).

//!
//! # Modules
//!
//! [`publish()`] (`publish.rs`) is the transaction; `promote.rs` moves channels; `pointers.rs`
//! reads, verifies and writes index and pointers; `store_version.rs` verifies one stored
//! version; `verify_store.rs` the whole store; `read.rs` is what a release reads before it
//! builds; `report.rs` what the commands print; [`Store`] (`store.rs`) is the backend
//! interface, implemented by `fs_backend.rs` and `s3_backend.rs`.

pub mod docs;
pub mod lock;

mod crash;
mod environment;
mod error;
mod fs_backend;
mod names;
mod pointers;
mod promote;
#[allow(clippy::module_inception)]
mod publish;
mod read;
mod report;
mod s3_backend;
mod store;
mod store_version;
mod verify_store;

pub use crash::{CrashHook, CRASH_ENV, FOLDER_CRASH_POINTS, S3_CRASH_POINTS};
pub use docs::{
    ChannelPointer, Index, IndexEntry, PointerRollout, RolloutState, CHANNELS_DIR, INDEX_FILE,
};
pub use environment::{Clock, PublishEnvironment};
pub use error::PublishError;
pub use fs_backend::FolderStore;
pub use lock::{LockError, LockInfo, LockOptions, LOCK_FILE};
pub use names::check_windows_name;
/// For [`crate::rollout`], which writes channel pointers the same way.
pub(crate) use pointers::read_pointer;
pub use pointers::{channel_version, open_index, open_pointer};
/// For [`crate::rollout`], which moves channels the same way promote does.
pub(crate) use promote::{move_pointer, NextPointer};
pub use promote::{promote, rollback};
pub use publish::publish;
pub use read::{previous_manifest, read_release_context, StoreView};
pub use report::{ChannelChange, GpoPackage, PublishReport, VersionOutcome};
pub use s3_backend::{
    S3Config, S3Credentials, S3Environment, S3Store, S3Transfer, MAX_S3_OBJECT_BYTES,
    MIN_PART_BYTES,
};
pub use store::{Revision, SourceFile, Store, StoreError, StoredObject, VersionListing};
pub use verify_store::{verify_store, StoreCheck, StoreCheckStatus, StoreReport};

/// Opens the store at `location`: `s3://bucket[/prefix]` (endpoint, region and credentials
/// from `env.s3`, see [`S3Config::new`]) or a folder path; it aborts at `env.crash_at`.
pub fn open_store(location: &str, env: &PublishEnvironment) -> Result<Box<dyn Store>, StoreError> {
    let crash = env.crash_hook();
    match S3Config::parse_url(location) {
        Some((bucket, prefix)) => {
            let config = S3Config::new(&bucket, &prefix, &env.s3);
            Ok(Box::new(S3Store::new(&config)?.with_crash_hook(crash)))
        }
        None => Ok(Box::new(FolderStore::new(location).with_crash_hook(crash))),
    }
}

/// Settings shared by [`publish()`], [`promote`] and [`rollback`].
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
    /// Host name, clock and temporary folder of the publishing machine.
    pub env: PublishEnvironment,
}

impl PublishOptions {
    /// Default lock settings, pointers valid as long as their manifest.
    pub fn new(now: i64, env: PublishEnvironment) -> PublishOptions {
        PublishOptions {
            now,
            lock: LockOptions::default(),
            pointer_validity_days: None,
            env,
        }
    }
}
