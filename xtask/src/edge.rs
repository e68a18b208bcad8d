//! The edge: the one place that reads environment variables and the clock. Everything the
//! library needs from them is built here into one [`Environment`] and passed down.

use std::time::{SystemTime, UNIX_EPOCH};

use winrelease::authenticode::ENV_AUTHENTICODE_PASSPHRASE;
use winrelease::environment::Environment;
use winrelease::gobuild::GO_ENV_INPUTS;
use winrelease::keys::{KeyEnvironment, Passphrase, ENV_PASSPHRASE, ENV_SECRET_KEY};

/// A variable's value; empty counts as unset (GitHub Actions expands a missing secret to "").
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `CI=true` (GitHub Actions and `.ci/run` set it).
pub fn is_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The wall clock, Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A secret copied into a CI variable often gains a trailing newline; a passphrase cannot
/// contain one (minisign reads it as a line), so it is dropped.
fn passphrase(name: &str) -> Option<Passphrase> {
    var(name).map(|p| {
        let line = p
            .strip_suffix("\r\n")
            .or_else(|| p.strip_suffix('\n'))
            .unwrap_or(&p);
        Passphrase::new(line.to_owned())
    })
}

/// Everything the pipeline needs from the process environment and the clock.
pub fn environment() -> Environment {
    let ci = is_ci();
    Environment {
        ci,
        now: now(),
        keys: KeyEnvironment::from_variables(
            std::env::var(ENV_SECRET_KEY).ok(),
            std::env::var(ENV_PASSPHRASE).ok(),
            std::env::var("CI").ok().as_deref(),
        ),
        authenticode_passphrase: passphrase(ENV_AUTHENTICODE_PASSPHRASE),
        go_env: GO_ENV_INPUTS
            .iter()
            .map(|name| std::env::var(name).unwrap_or_default())
            .collect(),
    }
}

/// The signing key's environment alone (for the store commands).
pub fn key_environment() -> KeyEnvironment {
    environment().keys
}
