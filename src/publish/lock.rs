//! The per-product publish lock: an object `<product>/.lock` created only if absent, holding
//! who holds it. A second publisher waits (bounded) and then fails naming the holder. A lock
//! is stale, and is broken, when its holder is a process on this host that no longer runs, or
//! when it is older than a configurable age (a crashed CI runner elsewhere).

use std::fmt;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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
    /// A lock for this process, taken now.
    pub fn for_this_process() -> LockInfo {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LockInfo {
            host: host_name(),
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

/// This machine's host name (Linux: the kernel's; Windows: `COMPUTERNAME`).
pub fn host_name() -> String {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return name.to_string();
        }
    }
    for var in ["COMPUTERNAME", "HOSTNAME"] {
        if let Ok(name) = std::env::var(var) {
            if !name.trim().is_empty() {
                return name.trim().to_string();
            }
        }
    }
    "unknown-host".into()
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

/// Why a lock was judged stale.
fn stale_reason(lock: &StoredObject, options: &LockOptions) -> Option<String> {
    let now = SystemTime::now();
    match LockInfo::parse(&lock.bytes) {
        Some(info) => {
            if info.host == host_name() && process_alive(info.pid) == Some(false) {
                return Some(format!(
                    "held by {info}, a process that no longer runs on this host"
                ));
            }
            let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
            let age = now_secs.saturating_sub(info.acquired);
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

pub(crate) fn acquire<'a>(
    store: &'a dyn Store,
    product: &str,
    options: &LockOptions,
) -> Result<ProductLock<'a>, LockError> {
    let bytes = LockInfo::for_this_process().to_bytes();
    let start = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if store.lock_create(product, &bytes)? {
            return Ok(ProductLock {
                store,
                product: product.to_string(),
                bytes,
                released: false,
                broke_stale: None,
            });
        }
        let Some(held) = store.lock_read(product)? else {
            // Released between our attempt and the read: try again at once, within the bound.
            if start.elapsed() >= options.timeout {
                return Err(LockError::Timeout {
                    location: store.display_path(&[product, LOCK_FILE]),
                    holder: "publishers that keep taking it".into(),
                    waited: start.elapsed().as_secs(),
                    stale: options.stale_after.as_secs(),
                });
            }
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        if let Some(reason) = stale_reason(&held, options) {
            if store.lock_break(product, &held, &bytes)? {
                return Ok(ProductLock {
                    store,
                    product: product.to_string(),
                    bytes,
                    released: false,
                    broke_stale: Some(reason),
                });
            }
            continue; // someone else broke it first; try again
        }
        let waited = start.elapsed();
        if waited >= options.timeout {
            let holder = LockInfo::parse(&held.bytes)
                .map(|info| info.to_string())
                .unwrap_or_else(|| "unreadable lock".into());
            return Err(LockError::Timeout {
                location: store.display_path(&[product, LOCK_FILE]),
                holder,
                waited: waited.as_secs(),
                stale: options.stale_after.as_secs(),
            });
        }
        let left = options.timeout.saturating_sub(waited);
        thread::sleep(pause.min(left));
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
