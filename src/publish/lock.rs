//! The per-product publish lock: an object `<product>/.lock` created only if absent, holding
//! who holds it. A second publisher waits (bounded) and then fails naming the holder. A lock
//! is stale, and is broken, when its holder is a process on this host that no longer runs, or
//! when it is older than a configurable age (a crashed CI runner elsewhere).
//!
//! *Invariant:* the lock reads no clock and no host name itself: both come from the caller's
//! [`PublishEnvironment`].

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::environment::{Clock, PublishEnvironment};
use super::store::{Store, StoreError, StoredObject};

/// Name of the lock object in a product's folder.
pub const LOCK_FILE: &str = ".lock";

/// How long to wait for a lock, and when a lock counts as abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// Longest wait for another publisher to finish.
    pub timeout: Duration,
    /// A lock older than this is broken even when its holder cannot be checked (another host).
    pub stale_after: Duration,
}

impl Default for LockOptions {
    /// Wait up to 10 minutes (a publish copies a few MiB; a long wait means a stuck
    /// publisher); break locks older than 2 hours.
    fn default() -> Self {
        LockOptions {
            timeout: Duration::from_secs(600),
            stale_after: Duration::from_secs(2 * 3600),
        }
    }
}

/// Unix seconds of `clock`'s wall time.
fn unix_secs(clock: &dyn Clock) -> i64 {
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap_or_default();
    now.as_secs() as i64
}

/// What a lock says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Host name of the holder.
    pub host: String,
    /// Process id of the holder.
    pub pid: u32,
    /// When the lock was taken, Unix seconds (wall clock of the holder).
    pub acquired: i64,
    /// Unique per acquisition, so two locks of one process differ.
    pub token: String,
}

impl LockInfo {
    /// A lock for this process on `owner.host`, taken now by `owner.clock`.
    pub fn for_this_process(owner: &PublishEnvironment) -> LockInfo {
        let now = owner
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LockInfo {
            host: owner.host.clone(),
            pid: std::process::id(),
            acquired: now.as_secs() as i64,
            token: format!("{}-{}-{n}", std::process::id(), now.as_nanos()),
        }
    }

    /// The lock object's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("LockInfo serializes");
        text.push('\n');
        text.into_bytes()
    }

    fn parse(bytes: &[u8]) -> Option<LockInfo> {
        serde_json::from_slice(bytes).ok()
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process {} on host {}, since {}",
            self.pid,
            self.host,
            crate::stamp::rfc3339_utc(self.acquired)
        )
    }
}

/// Whether process `pid` on this host still runs. `None` when this platform cannot tell.
fn process_alive(pid: u32) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses; `Z`ombies and `X` (dead) do not
        // hold anything any more.
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            Some(!matches!(state, Some('Z' | 'X')))
        }
        Err(_) => Some(false),
    }
}

/// Why a lock was judged stale; `None` while its holder may still run. Also judges the
/// folder backend's lock files that waiters write before linking them to `.lock`.
pub(crate) fn stale_reason(
    lock: &StoredObject,
    options: &LockOptions,
    owner: &PublishEnvironment,
) -> Option<String> {
    let now = owner.clock.now();
    match LockInfo::parse(&lock.bytes) {
        Some(info) => {
            if info.host == owner.host && process_alive(info.pid) == Some(false) {
                return Some(format!(
                    "held by {info}, a process that no longer runs on this host"
                ));
            }
            let age = unix_secs(&*owner.clock).saturating_sub(info.acquired);
            (age >= 0 && age as u64 > options.stale_after.as_secs()).then(|| {
                format!(
                    "held by {info}, older than {} s",
                    options.stale_after.as_secs()
                )
            })
        }
        None => {
            let age = lock
                .modified
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            (age > options.stale_after).then(|| {
                format!(
                    "unreadable, and older than {} s",
                    options.stale_after.as_secs()
                )
            })
        }
    }
}

/// The product's lock, held until [`ProductLock::release`] or drop.
pub(crate) struct ProductLock<'a> {
    store: &'a dyn Store,
    product: String,
    bytes: Vec<u8>,
    released: bool,
    /// Set when a stale lock was broken to get this one.
    pub broke_stale: Option<String>,
}

/// Errors of taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another publisher holds the lock {location} ({holder}); waited {waited} s\nfix: wait for it to finish and run again; if it crashed on another host, remove {location} after checking that it no longer runs (locks older than {stale} s are broken automatically)")]
    Timeout {
        location: String,
        holder: String,
        waited: u64,
        stale: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<'a> ProductLock<'a> {
    fn taken(
        store: &'a dyn Store,
        product: &str,
        bytes: Vec<u8>,
        broke_stale: Option<String>,
    ) -> Self {
        ProductLock {
            store,
            product: product.to_string(),
            bytes,
            released: false,
            broke_stale,
        }
    }
}

/// Takes the product's lock: waits (bounded by `options.timeout`) for a live holder, breaks a
/// stale one.
pub(crate) fn acquire<'a>(
    store: &'a dyn Store,
    product: &str,
    options: &LockOptions,
    owner: &PublishEnvironment,
) -> Result<ProductLock<'a>, LockError> {
    let bytes = LockInfo::for_this_process(owner).to_bytes();
    let clock = &*owner.clock;
    let start = clock.instant();
    let timeout = |holder: String| LockError::Timeout {
        location: store.display_path(&[product, LOCK_FILE]),
        holder,
        waited: clock.instant().duration_since(start).as_secs(),
        stale: options.stale_after.as_secs(),
    };
    let mut pause = Duration::from_millis(20);
    loop {
        if store.lock_create(product, &bytes)? {
            return Ok(ProductLock::taken(store, product, bytes, None));
        }
        let waited = clock.instant().duration_since(start);
        let Some(held) = store.lock_read(product)? else {
            // Released between our attempt and the read: try again at once, within the bound.
            if waited >= options.timeout {
                return Err(timeout("publishers that keep taking it".into()));
            }
            clock.sleep(Duration::from_millis(10));
            continue;
        };
        if let Some(reason) = stale_reason(&held, options, owner) {
            if store.lock_break(product, &held, &bytes)? {
                return Ok(ProductLock::taken(store, product, bytes, Some(reason)));
            }
            continue; // someone else broke it first; try again
        }
        if waited >= options.timeout {
            let holder = LockInfo::parse(&held.bytes)
                .map(|info| info.to_string())
                .unwrap_or_else(|| "unreadable lock".into());
            return Err(timeout(holder));
        }
        clock.sleep(pause.min(options.timeout.saturating_sub(waited)));
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

impl ProductLock<'_> {
    /// Releases the lock; `false` if it had been broken and taken by someone else meanwhile.
    pub(crate) fn release(mut self) -> Result<bool, StoreError> {
        self.released = true;
        self.store.lock_release(&self.product, &self.bytes)
    }
}

impl Drop for ProductLock<'_> {
    fn drop(&mut self) {
        if !self.released {
            // Best effort on error paths; a lock left behind is broken as stale later.
            let _ = self.store.lock_release(&self.product, &self.bytes);
        }
    }
}
