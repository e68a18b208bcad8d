//! The edge: the one place that reads environment variables and the clock. Everything the
//! library needs from them is built here into one [`Environment`] and passed down.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use winrelease::authenticode::ENV_AUTHENTICODE_PASSPHRASE;
use winrelease::environment::Environment;
use winrelease::gobuild::{GoEnvironment, GO_ENV_INPUTS};
use winrelease::keys::{KeyEnvironment, Passphrase, ENV_PASSPHRASE, ENV_SECRET_KEY};
use winrelease::publish::{Clock, PublishEnvironment, S3Environment, CRASH_ENV};

/// A variable's value; empty counts as unset (GitHub Actions expands a missing secret to "").
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A fresh random GUID (`init`'s UpgradeCode), upper-case as Windows Installer writes them.
pub fn fresh_guid() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// The release store when `--store` is not given (the repository variable the release
/// workflow passes); it wins over the config's `store`.
pub const ENV_STORE: &str = "WINRELEASE_STORE";

/// `--store`, else [`ENV_STORE`].
pub fn store_override(flag: Option<String>) -> Option<String> {
    flag.or_else(|| var(ENV_STORE))
}

/// The wall clock, Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Everything the pipeline needs from the process environment and the clock.
pub fn environment() -> Environment {
    Environment {
        now: now(),
        keys: key_environment(),
        authenticode_passphrase: std::env::var(ENV_AUTHENTICODE_PASSPHRASE)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Passphrase::new),
        go_env: go_environment(),
        publish: publish_environment(),
    }
}

/// What the Go build sees: the variables hashed into its inputs, and every variable (with a
/// Unicode name and value) for `{{.Env.NAME}}` templates.
pub fn go_environment() -> GoEnvironment {
    GoEnvironment {
        inputs: GO_ENV_INPUTS
            .iter()
            .map(|name| std::env::var(name).unwrap_or_default())
            .collect(),
        vars: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    }
}

/// `WINRELEASE_PASSPHRASE` as `keygen` takes it: any value that is set, even an empty one.
pub fn keygen_passphrase() -> Option<String> {
    std::env::var(ENV_PASSPHRASE).ok()
}

/// `WINRELEASE_SECRET_KEY`, `WINRELEASE_PASSPHRASE` and `CI`, for loading the release key.
pub fn key_environment() -> KeyEnvironment {
    KeyEnvironment::from_variables(
        std::env::var(ENV_SECRET_KEY).ok(),
        std::env::var(ENV_PASSPHRASE).ok(),
        std::env::var("CI").ok().as_deref(),
    )
}

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
        // Empty counts as unset: a workflow passes unset repository variables as "".
        .filter(|(name, value)| name.starts_with("AWS_") && !value.trim().is_empty())
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
