//! The world outside the process, as one value: what the CLI edge (`xtask/src/edge.rs`) read from
//! the environment variables and the clock, passed down to the stages.
//!
//! *Invariant:* the library reads no environment variable and no clock; every such value
//! arrives through an [`Environment`] built at the edge (or by a test).

use crate::keys::{KeyEnvironment, Passphrase};
use crate::publish::PublishEnvironment;

/// Everything the pipeline needs from outside the process.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `CI=true`: a missing signing key is an error, not the development key.
    pub ci: bool,
    /// The wall clock when the command started, Unix seconds. Used only for decisions (is a
    /// manifest born expired, is a pointer still valid), never written into an artifact.
    pub now: i64,
    /// The signing key and its passphrase from the environment.
    pub keys: KeyEnvironment,
    /// [`crate::authenticode::ENV_AUTHENTICODE_PASSPHRASE`], when set.
    pub authenticode_passphrase: Option<Passphrase>,
    /// The values of [`crate::gobuild::GO_ENV_INPUTS`], in that order.
    pub go_env: Vec<String>,
    /// AWS settings, host name, temporary folder and clock for the release store.
    pub publish: PublishEnvironment,
}
