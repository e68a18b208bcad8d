//! The operator's moves: `start`, `advance`, `halt`, `abort`. Each takes the product lock,
//! reads and verifies the channel pointer, and writes a new signed pointer with a higher
//! sequence through the store's own machinery (the same path as promote and rollback).

use super::gate::{judge, GateReport};
use super::status::HostStatus;
use super::RolloutError;
use crate::keys::ReleaseKey;
use crate::publish::{
    move_pointer, read_pointer, ChannelChange, ChannelPointer, NextPointer, PointerRollout,
    PublishError, PublishOptions, RolloutState, Store,
};

/// What `rollout start` asks for.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub version: String,
    pub steps: Vec<u8>,
    pub max_failures: u32,
}

/// What `advance` did.
#[derive(Debug, Clone)]
pub enum Advanced {
    /// To the next step (the new percent).
    Step(ChannelChange, u8),
    /// The last step was done: the pointer now carries the version without a rollout.
    Finished(ChannelChange),
}

/// Starts rolling `request.version` out on `channel` in `request.steps`: the pointer names
/// the version, its rollout the channel's current version as the one to stay on or go back to.
pub fn start(
    store: &dyn Store,
    product: &str,
    channel: &str,
    request: &StartRequest,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, RolloutError> {
    check_steps(&request.steps)?;
    move_pointer(store, product, channel, key, options, |current| {
        let current = current.ok_or_else(|| no_channel(product, channel))?;
        if let Some(r) = &current.rollout {
            if r.percent < 100 {
                return Err(RolloutError::AlreadyRunning {
                    channel: channel.to_string(),
                    version: current.version.clone(),
                    percent: r.percent,
                });
            }
        }
        if !is_newer(&request.version, &current.version) {
            return Err(RolloutError::NotNewer {
                channel: channel.to_string(),
                current: current.version.clone(),
                requested: request.version.clone(),
            });
        }
        Ok(NextPointer {
            version: request.version.clone(),
            rollback_from: None,
            rollout: Some(PointerRollout {
                previous: current.version.clone(),
                previous_manifest_sha256: current.manifest_sha256.clone(),
                percent: request.steps[0],
                steps: request.steps.clone(),
                max_failures: request.max_failures,
                state: RolloutState::Active,
            }),
        })
    })
}

/// Moves the rollout to its next step when the gate passes; otherwise halts it and returns
/// [`RolloutError::GateClosed`] with every host and reason.
pub fn advance(
    store: &dyn Store,
    product: &str,
    channel: &str,
    hosts: &[HostStatus],
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<Advanced, RolloutError> {
    let mut closed: Option<GateReport> = None;
    let mut next_percent = None;
    let change = move_pointer(store, product, channel, key, options, |current| {
        let (current, rollout) = with_rollout(current, product, channel)?;
        let gate = judge(current, rollout, hosts);
        let mut next = rollout.clone();
        if !gate.passes() {
            next.state = RolloutState::Halted;
            closed = Some(gate);
        } else {
            next.state = RolloutState::Active;
            next_percent = rollout.steps.iter().copied().find(|s| *s > rollout.percent);
            next.percent = next_percent.unwrap_or(100);
        }
        let finished = closed.is_none() && next_percent.is_none();
        Ok::<_, RolloutError>(NextPointer {
            version: current.version.clone(),
            rollback_from: None,
            rollout: (!finished).then_some(next),
        })
    })?;
    match (closed, next_percent) {
        (Some(gate), _) => Err(RolloutError::GateClosed {
            channel: channel.to_string(),
            reasons: gate.reasons(),
            gate: Box::new(gate),
        }),
        (None, Some(percent)) => Ok(Advanced::Step(change, percent)),
        (None, None) => Ok(Advanced::Finished(change)),
    }
}

/// Halts the rollout: no host moves forward until `advance` passes its gate.
pub fn halt(
    store: &dyn Store,
    product: &str,
    channel: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, RolloutError> {
    move_pointer(store, product, channel, key, options, |current| {
        let (current, rollout) = with_rollout(current, product, channel)?;
        let mut next = rollout.clone();
        next.state = RolloutState::Halted;
        Ok(NextPointer {
            version: current.version.clone(),
            rollback_from: None,
            rollout: Some(next),
        })
    })
}

/// Aborts the rollout: the channel goes back to the previous version with a signed rollback
/// pointer, and agents that took the target reinstall the previous version.
pub fn abort(
    store: &dyn Store,
    product: &str,
    channel: &str,
    key: &ReleaseKey,
    options: &PublishOptions,
) -> Result<ChannelChange, RolloutError> {
    move_pointer(store, product, channel, key, options, |current| {
        let (current, rollout) = with_rollout(current, product, channel)?;
        Ok(NextPointer {
            version: rollout.previous.clone(),
            rollback_from: Some(current.version.clone()),
            rollout: None,
        })
    })
}

fn no_channel(product: &str, channel: &str) -> RolloutError {
    RolloutError::Publish(PublishError::NoChannel {
        product: product.to_string(),
        channel: channel.to_string(),
    })
}

fn with_rollout<'a>(
    current: Option<&'a ChannelPointer>,
    product: &str,
    channel: &str,
) -> Result<(&'a ChannelPointer, &'a PointerRollout), RolloutError> {
    let current = current.ok_or_else(|| no_channel(product, channel))?;
    let rollout = current
        .rollout
        .as_ref()
        .ok_or_else(|| RolloutError::NoRollout {
            channel: channel.to_string(),
            version: current.version.clone(),
        })?;
    Ok((current, rollout))
}

fn is_newer(version: &str, than: &str) -> bool {
    match (
        semver::Version::parse(version),
        semver::Version::parse(than),
    ) {
        (Ok(v), Ok(t)) => v.cmp_precedence(&t) == std::cmp::Ordering::Greater,
        _ => false,
    }
}

fn check_steps(steps: &[u8]) -> Result<(), RolloutError> {
    let ascending = steps.windows(2).all(|w| w[0] < w[1]);
    if steps.is_empty() || !ascending || steps[0] == 0 || steps.last() != Some(&100) {
        return Err(RolloutError::BadSteps(steps.to_vec()));
    }
    Ok(())
}

/// The channel's pointer, verified with `public_key` (`None`: no such channel), for
/// `rollout status`.
pub fn read_channel(
    store: &dyn Store,
    product: &str,
    channel: &str,
    public_key: &minisig::PublicKey,
) -> Result<Option<ChannelPointer>, PublishError> {
    Ok(read_pointer(store, product, channel, public_key)?.map(|(pointer, _)| pointer))
}
