//! The one place the release-store commands read the process environment and the system
//! clock: everything publishing takes from the machine, gathered into a
//! [`PublishEnvironment`] and passed down.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use winrelease::publish::{Clock, PublishEnvironment, S3Environment, CRASH_ENV};

/// The operating system's clocks.
#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The wall clock, Unix seconds (what releases are checked against).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Reads the AWS variables, the crash-injection hook ([`CRASH_ENV`]), the host name and the
/// temporary folder, with the system clock.
pub fn publish_environment() -> PublishEnvironment {
    PublishEnvironment {
        s3: s3_environment(),
        crash_at: std::env::var(CRASH_ENV).ok(),
        host: host_name(),
        temp_dir: std::env::temp_dir(),
        clock: Arc::new(SystemClock),
    }
}

/// The endpoint from `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or `AWS_ENDPOINT` (the first
/// set), and every `AWS_*` variable for `object_store` to pick its options from.
fn s3_environment() -> S3Environment {
    let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()));
    let variables = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| name.starts_with("AWS_"))
        .map(|(name, value)| (name, value.into()))
        .collect();
    S3Environment {
        endpoint,
        variables,
    }
}

/// This machine's host name (Linux: the kernel's; Windows: `COMPUTERNAME`).
fn host_name() -> String {
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
