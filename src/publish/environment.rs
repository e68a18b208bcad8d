//! What publishing takes from the machine and the process it runs in: AWS settings, the
//! crash-injection test hook, the host name, the temporary folder and the clock. The caller
//! (the `xtask` binary, or a test) reads them once and passes them in.
//!
//! *Invariant:* nothing under `publish/` reads an environment variable or a clock; every such
//! value arrives through a [`PublishEnvironment`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::crash::CrashHook;
use super::s3_backend::S3Environment;
use crate::fsio::{IoContext, IoError};

/// Time as the lock needs it: the wall clock (when a lock was taken, how old one is), a
/// monotonic clock and sleeping (its bounded wait). The system implementation lives in
/// `xtask`; tests may bring their own.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// The current instant of a monotonic clock.
    fn instant(&self) -> Instant;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// Everything publishing needs from its surroundings, as plain values.
#[derive(Debug, Clone)]
pub struct PublishEnvironment {
    /// AWS settings for `s3://` stores (endpoint, region, credentials, …).
    pub s3: S3Environment,
    /// Test hook: abort the process when publishing reaches this step (see
    /// [`super::FOLDER_CRASH_POINTS`]); `None` in normal use.
    pub crash_at: Option<String>,
    /// This machine's host name, recorded in the locks it takes (a lock of this host whose
    /// process no longer runs is stale).
    pub host: String,
    /// Where scratch folders (S3 downloads) are made.
    pub temp_dir: PathBuf,
    /// Wall and monotonic time for the lock.
    pub clock: Arc<dyn Clock>,
}

impl PublishEnvironment {
    /// The crash hook stores opened with this environment carry.
    pub fn crash_hook(&self) -> CrashHook {
        CrashHook::new(self.crash_at.clone())
    }

    /// A new scratch folder (for S3 downloads) in [`Self::temp_dir`], removed when dropped.
    pub fn scratch_dir(&self) -> Result<tempfile::TempDir, IoError> {
        tempfile::tempdir_in(&self.temp_dir).at("creating a scratch folder in", &self.temp_dir)
    }
}
