//! Moving a channel to a version already in the store: [`promote`] forward, [`rollback`]
//! back. Both take the lock, check the direction against the current pointer, verify the
//! target version and write the new pointer the same way.
//!
//! *Invariant:* a channel only ever points to a version that is in the store and verifies,
//! unexpired; a rollback says so in the pointer (`rollback_from`) with a higher sequence.

use std::cmp::Ordering;

use super::docs::{ChannelPointer, PointerRollout};
use super::error::PublishError;
use super::lock;
use super::names::{check_channel, check_product, check_version_name, precedence};
use super::pointers::{read_pointer, write_pointer, PointerTarget};
use super::report::ChannelChange;
use super::store::Store;
use super::store_version::verified_target;
use super::PublishOptions;
use crate::keys::ReleaseKey;

/// Moves `channel` of `product` forward to `version`, which must be in the store, verify,
/// and be newer than the channel's current version (the same version refreshes nothing).
pub fn promote(
    store: &dyn Store,
    product: &str,
    version: &str,
    channel: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    move_channel(
        store,
        product,
        channel,
        version,
        key,
        options,
        Direction::Forward,
    )
}

/// Moves `channel` of `product` back to the older `to_version` with a new pointer whose
/// sequence is higher than the current one and which records the version rolled back from,
/// so clients can tell a signed rollback from a replayed old pointer.
pub fn rollback(
    store: &dyn Store,
    product: &str,
    channel: &str,
    to_version: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, PublishError> {
    move_channel(
        store,
        product,
        channel,
        to_version,
        key,
        options,
        Direction::Back,
    )
}

/// Which way a channel may move.
#[derive(Clone, Copy)]
enum Direction {
    /// To the current version or a newer one.
    Forward,
    /// To an older version than the current one (which must exist).
    Back,
}

impl Direction {
    /// Checks the move from `current` to `version`; returns the pointer's `rollback_from`.
    fn check(
        self,
        product: &str,
        channel: &str,
        current: Option<&ChannelPointer>,
        version: &str,
    ) -> Result<Option<String>, PublishError> {
        let older =
            |current: &ChannelPointer| precedence(version, &current.version) == Ordering::Less;
        match (self, current) {
            (Direction::Forward, Some(current)) if older(current) => {
                Err(PublishError::ChannelBackwards {
                    channel: channel.to_string(),
                    current: current.version.clone(),
                    requested: version.to_string(),
                })
            }
            (Direction::Forward, _) => Ok(None),
            (Direction::Back, Some(current)) if older(current) => Ok(Some(current.version.clone())),
            (Direction::Back, Some(current)) => Err(PublishError::NotARollback {
                channel: channel.to_string(),
                current: current.version.clone(),
                requested: version.to_string(),
            }),
            (Direction::Back, None) => Err(PublishError::NoChannel {
                product: product.to_string(),
                channel: channel.to_string(),
            }),
        }
    }
}

/// Points `channel` at `version` under the lock, if `direction` allows the move.
fn move_channel(
    store: &dyn Store,
    product: &str,
    channel: &str,
    version: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
    direction: Direction,
) -> Result<ChannelChange, PublishError> {
    check_product(product)?;
    check_channel(channel)?;
    check_version_name(version)?;
    move_pointer(store, product, channel, key, options, |current| {
        Ok(NextPointer {
            rollback_from: direction.check(product, channel, current, version)?,
            version: version.to_string(),
            rollout: None,
        })
    })
}

/// The pointer a channel move writes next.
pub(crate) struct NextPointer {
    pub version: String,
    /// Set for a rollback: the version the channel goes back from.
    pub rollback_from: Option<String>,
    /// Set while the version is rolled out in steps.
    pub rollout: Option<PointerRollout>,
}

/// Under the lock: reads and verifies the channel's pointer, lets `decide` choose the next one,
/// checks that its version is in the store and verifies, and writes it with a higher sequence.
/// Promote, rollback and the rollout commands all move a channel through here.
pub(crate) fn move_pointer<E: From<PublishError>>(
    store: &dyn Store,
    product: &str,
    channel: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
    decide: impl FnOnce(Option<&ChannelPointer>) -> Result<NextPointer, E>,
) -> Result<ChannelChange, E> {
    store.check_ready().map_err(PublishError::from)?;
    let public_key = key.public_key();
    let lock =
        lock::acquire(store, product, &options.lock, &options.env).map_err(PublishError::from)?;
    let current = read_pointer(store, product, channel, &public_key)?;
    let next = decide(current.as_ref().map(|(p, _)| p))?;
    let target = verified_target(
        store,
        product,
        &next.version,
        &public_key,
        options.now,
        &options.env,
    )?;
    let target = PointerTarget {
        version: &next.version,
        manifest_sha256: target.manifest_sha256,
        manifest_expires: target.manifest.expires_unix().unwrap_or(options.now),
        rollback_from: next.rollback_from,
        rollout: next.rollout,
    };
    let change = write_pointer(
        store,
        product,
        channel,
        key,
        current.as_ref(),
        &target,
        options,
    )?;
    lock.release().map_err(PublishError::from)?;
    Ok(change)
}
