//! The product's signed documents as the publishing logic uses them: the index and the
//! channel pointers, read and verified with the release public key, and written (sealed with
//! the release key, replaced only if unchanged since they were read).
//!
//! *Invariant:* a document is only ever replaced after it was read and verified; one that
//! does not verify is an error ([`PublishError::DocumentInvalid`]), never overwritten.

use minisig::PublicKey;
use serde::Serialize;

use super::docs::{self, channel_file, channel_key, index_key, Opened, MAX_DOC_BYTES};
use super::docs::{ChannelPointer, Index, IndexEntry, PointerRollout, CHANNELS_DIR, INDEX_FILE};
use super::error::PublishError;
use super::names::check_product;
use super::report::ChannelChange;
use super::store::{Revision, Store};
use super::PublishOptions;
use crate::digest::Sha256Digest;
use crate::keys::ReleaseKey;
use crate::stamp::rfc3339_utc;

/// A verified document and the revision it was read at (for the conditional replace).
pub(crate) type Read<T> = Option<(T, Revision)>;

/// Reads and verifies the product's index; `None` when there is none yet.
pub(crate) fn read_index(
    store: &dyn Store,
    product: &str,
    public_key: &PublicKey,
) -> Result<Read<Index>, PublishError> {
    let Some(object) = store.read(&index_key(product), MAX_DOC_BYTES)? else {
        return Ok(None);
    };
    let index = open_index(&object.bytes, product, public_key).map_err(|reason| {
        PublishError::DocumentInvalid {
            location: store.display_path(&[product, INDEX_FILE]),
            reason,
        }
    })?;
    Ok(Some((index, object.revision)))
}

/// Verifies index bytes; `Err` says why they are not the index of `product`. Public for the
/// fuzz targets (`fuzz/`), which feed it untrusted bytes.
pub fn open_index(bytes: &[u8], product: &str, public_key: &PublicKey) -> Result<Index, String> {
    let opened = docs::open::<Index>(bytes, public_key, INDEX_FILE)?;
    opened.doc.validate(product)?;
    let version = opened.doc.binding_version().to_string();
    check_binding(opened, product, &version)
}

/// Reads and verifies a channel pointer; `None` when the channel does not exist.
pub(crate) fn read_pointer(
    store: &dyn Store,
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<Read<ChannelPointer>, PublishError> {
    let Some(object) = store.read(&channel_key(product, channel), MAX_DOC_BYTES)? else {
        return Ok(None);
    };
    let pointer = open_pointer(&object.bytes, product, channel, public_key).map_err(|reason| {
        PublishError::DocumentInvalid {
            location: pointer_path(store, product, channel),
            reason,
        }
    })?;
    Ok(Some((pointer, object.revision)))
}

/// Verifies pointer bytes; `Err` says why they are not the pointer of `channel`. Public for
/// the fuzz targets (`fuzz/`).
pub fn open_pointer(
    bytes: &[u8],
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<ChannelPointer, String> {
    let opened = docs::open::<ChannelPointer>(bytes, public_key, &channel_file(channel))?;
    opened.doc.validate(product, channel)?;
    let version = opened.doc.version.clone();
    check_binding(opened, product, &version)
}

/// The signature must bind the product and version the content names.
fn check_binding<T>(opened: Opened<T>, product: &str, version: &str) -> Result<T, String> {
    if opened.binding.product != product || opened.binding.version != version {
        return Err(format!(
            "has a signature for product {:?} version {:?}, not for its content",
            opened.binding.product, opened.binding.version
        ));
    }
    Ok(opened.doc)
}

/// The version a channel points at (its pointer verified with `public_key`); `None` when the
/// channel does not exist yet. Lets a release refuse to move a channel backwards before it
/// builds anything; `publish` checks again under the lock.
pub fn channel_version(
    store: &dyn Store,
    product: &str,
    channel: &str,
    public_key: &PublicKey,
) -> Result<Option<String>, PublishError> {
    check_product(product)?;
    Ok(read_pointer(store, product, channel, public_key)?.map(|(pointer, _)| pointer.version))
}

fn pointer_path(store: &dyn Store, product: &str, channel: &str) -> String {
    store.display_path(&[product, CHANNELS_DIR, &format!("{channel}.json")])
}

/// Signs `doc` as `file` of `product` at `version`.
fn seal<T: Serialize>(
    doc: &T,
    key: &ReleaseKey,
    product: &str,
    version: &str,
    file: &str,
) -> Result<Vec<u8>, PublishError> {
    docs::seal(doc, key, product, version, file).map_err(|source| PublishError::Sign {
        what: file.to_string(),
        source,
    })
}

/// Replaces the index of `product` (read as `current`) by one listing `versions` with
/// `sequence`.
pub(crate) fn write_index(
    store: &dyn Store,
    product: &str,
    key: &ReleaseKey,
    current: Option<&Revision>,
    sequence: u64,
    versions: Vec<IndexEntry>,
) -> Result<(), PublishError> {
    let index = Index {
        schema_version: docs::DOC_SCHEMA_VERSION,
        product: product.to_string(),
        sequence,
        versions,
    };
    let bytes = seal(&index, key, product, index.binding_version(), INDEX_FILE)?;
    store.replace(&index_key(product), &bytes, current, "index")?;
    store.crash_hook().reach("index-replaced");
    Ok(())
}

/// What a pointer write needs to know about its target.
pub(crate) struct PointerTarget<'a> {
    pub version: &'a str,
    pub manifest_sha256: Sha256Digest,
    /// When the target's manifest expires, Unix seconds.
    pub manifest_expires: i64,
    /// Set for a rollback: the version the channel goes back from.
    pub rollback_from: Option<String>,
    /// Set while the target is rolled out in steps.
    pub rollout: Option<PointerRollout>,
}

/// A pointer's expiry: its manifest's, or `pointer_validity_days` from now if earlier.
fn pointer_expires(options: &PublishOptions, manifest_expires: i64) -> i64 {
    match options.pointer_validity_days {
        Some(days) => manifest_expires.min(options.now + i64::from(days) * 86_400),
        None => manifest_expires,
    }
}

/// Points `channel` at `target` after `current`; writes nothing when `current` already says
/// exactly that (and it is no rollback).
pub(crate) fn write_pointer(
    store: &dyn Store,
    product: &str,
    channel: &str,
    key: &ReleaseKey,
    current: Option<&(ChannelPointer, Revision)>,
    target: &PointerTarget,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    let expires = rfc3339_utc(pointer_expires(options, target.manifest_expires));
    let mut change = ChannelChange {
        channel: channel.to_string(),
        from: current.map(|(p, _)| p.version.clone()),
        to: target.version.to_string(),
        sequence: current.map_or(1, |(p, _)| p.sequence + 1),
        changed: true,
        rollback: target.rollback_from.is_some(),
        expires,
        path: pointer_path(store, product, channel),
    };
    if let Some((pointer, _)) = current {
        if target.rollback_from.is_none()
            && pointer.rollout == target.rollout
            && pointer.version == target.version
            && pointer.manifest_sha256 == target.manifest_sha256.to_hex()
            && pointer.expires == change.expires
        {
            change.sequence = pointer.sequence;
            change.changed = false;
            return Ok(change);
        }
    }
    let pointer = ChannelPointer {
        schema_version: docs::DOC_SCHEMA_VERSION,
        product: product.to_string(),
        channel: channel.to_string(),
        version: target.version.to_string(),
        manifest_sha256: target.manifest_sha256.to_hex(),
        sequence: change.sequence,
        expires: change.expires.clone(),
        rollback_from: target.rollback_from.clone(),
        rollout: target.rollout.clone(),
    };
    let bytes = seal(
        &pointer,
        key,
        product,
        target.version,
        &channel_file(channel),
    )?;
    let revision = current.map(|(_, r)| r);
    store.replace(&channel_key(product, channel), &bytes, revision, "channel")?;
    store.crash_hook().reach("channel-replaced");
    Ok(change)
}
