//! The process environment, read in one place: the library reads no environment variable, so
//! the values it needs are read here and passed down as plain data.

use winrelease::authenticode::ENV_AUTHENTICODE_PASSPHRASE;
use winrelease::keys::{KeyEnvironment, Passphrase, ENV_PASSPHRASE, ENV_SECRET_KEY};

/// `WINRELEASE_SECRET_KEY`, `WINRELEASE_PASSPHRASE` and `CI`, for loading the release key.
pub fn key_environment() -> KeyEnvironment {
    KeyEnvironment::from_variables(
        std::env::var(ENV_SECRET_KEY).ok(),
        std::env::var(ENV_PASSPHRASE).ok(),
        std::env::var("CI").ok().as_deref(),
    )
}

/// `WINRELEASE_AUTHENTICODE_PASSPHRASE`, when set and not empty.
pub fn authenticode_passphrase() -> Option<Passphrase> {
    std::env::var(ENV_AUTHENTICODE_PASSPHRASE)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Passphrase::new)
}
