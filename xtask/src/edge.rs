//! The edge: the one place that reads environment variables and the clock. Everything the
//! library needs from them is built here into one [`Environment`] and passed down.

use std::time::{SystemTime, UNIX_EPOCH};

use winrelease::environment::{Environment, ENV_AUTHENTICODE_PASSPHRASE};
use winrelease::gobuild::{GoEnvironment, GO_ENV_INPUTS};
use winrelease::sign::{self, KeyEnvironment, Passphrase};

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
        keys: KeyEnvironment::new(
            var(sign::ENV_SECRET_KEY),
            passphrase(sign::ENV_PASSPHRASE),
            ci,
        ),
        authenticode_passphrase: passphrase(ENV_AUTHENTICODE_PASSPHRASE),
        go_env: go_environment(),
    }
}

/// What the Go build sees: the variables hashed into its inputs, and every variable (with a
/// Unicode name and value) for `{{.Env.NAME}}` templates.
fn go_environment() -> GoEnvironment {
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
