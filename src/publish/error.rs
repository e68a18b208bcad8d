//! The errors of publishing, promoting, rolling back and verifying a store. Each says what
//! is wrong and, after `fix:`, what to do.

use std::path::PathBuf;

use super::lock::LockError;
use super::store::StoreError;
use crate::fsio::IoError;
use crate::keys::SignError;
use crate::verify::VerifyFailure;

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
    #[error("refusing to publish {dir}: {name} {problem}\nfix: publish only the files the release stage wrote, in the folder itself (no links, folders or other files); remove {name} or rebuild the release")]
    StrayEntry {
        dir: PathBuf,
        name: String,
        problem: &'static str,
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
    #[error(transparent)]
    Io(#[from] IoError),
}
