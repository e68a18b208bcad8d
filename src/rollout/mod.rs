//! Staged fleet rollout: a channel pointer may carry a [`PointerRollout`] (target = the
//! pointer's version, the previous version, the share of hosts allowed to take the target);
//! the host agent (`agent/`, Go) follows it, installs, gates on health, rolls back by itself
//! and reports to a status folder; the operator moves the rollout with [`start`],
//! [`advance`] (gated on those reports, see [`gate`]), [`halt`] and [`abort`].
//!
//! - `placement.rs`: a host's place in line, [`place`] (the same function as the agent's,
//!   tested against shared vectors);
//! - `status.rs`: reading the hosts' reports ([`read_statuses`]);
//! - `gate.rs`: whether the current step may widen ([`judge`]);
//! - `commands.rs`: the moves, each a new signed pointer with a higher sequence.
//!
//! *Invariant:* every change is a pointer written by the store's own pointer machinery under
//! the product lock; nothing here writes a status file or reads a clock.

mod commands;
pub mod gate;
mod placement;
mod status;

pub use commands::{abort, advance, halt, read_channel, start, Advanced, StartRequest};
pub use gate::{judge, GateReport, HostReason};
pub use placement::{in_step, place, SLOTS};
pub use status::{read_statuses, HostStatus, StatusReport};

use crate::publish::PublishError;
pub use crate::publish::{PointerRollout, RolloutState};

/// Why a rollout command did nothing (or, for [`RolloutError::GateClosed`], only halted).
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("--steps {0:?} must ascend from above 0 and end at 100\nfix: e.g. --steps 5,25,100")]
    BadSteps(Vec<u8>),
    #[error("channel {channel} is rolling out {version} (at {percent}%)\nfix: advance it to 100%, or abort it, before starting another")]
    AlreadyRunning {
        channel: String,
        version: String,
        percent: u8,
    },
    #[error("channel {channel} is at {current}; {requested} is not newer\nfix: publish {requested} without --channel (so no host takes it yet), then start its rollout; to go back use rollback")]
    NotNewer {
        channel: String,
        current: String,
        requested: String,
    },
    #[error("channel {channel} has no rollout (it points at {version})\nfix: start one with `rollout start VERSION --channel {channel}`")]
    NoRollout { channel: String, version: String },
    #[error("rollout on channel {channel} halted, the health gate is closed:\n  {}\nfix: look at those hosts (rollout status), then `rollout advance` again or `rollout abort`", reasons.join("\n  "))]
    GateClosed {
        channel: String,
        reasons: Vec<String>,
        gate: Box<GateReport>,
    },
}
