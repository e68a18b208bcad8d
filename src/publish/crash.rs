//! Crash injection for the tests: `WINRELEASE_PUBLISH_CRASH_AT=<step>` makes the process abort
//! (no unwinding, no destructors, like `kill -9`) when publishing reaches that step, so a test
//! can check that the store is valid after a crash at every step.

/// The environment variable naming the step to abort at.
pub const CRASH_ENV: &str = "WINRELEASE_PUBLISH_CRASH_AT";

/// The steps of a publish to the folder backend, in the order they are reached.
pub const FOLDER_CRASH_POINTS: &[&str] = &[
    "lock-temp-written",
    "locked",
    "staging-created",
    "file-copied",
    "staged",
    "version-renamed",
    "version-published",
    "index-temp-written",
    "index-replaced",
    "channel-temp-written",
    "channel-replaced",
    "unlocking",
];

/// The steps of a publish to the S3 backend, in the order they are reached.
pub const S3_CRASH_POINTS: &[&str] = &[
    "locked",
    "file-copied",
    "staged",
    "version-published",
    "index-replaced",
    "channel-replaced",
    "unlocking",
];

/// Aborts the process if [`CRASH_ENV`] names `step`.
pub(crate) fn crash_point(step: &str) {
    if let Some(value) = std::env::var_os(CRASH_ENV) {
        if value == step {
            eprintln!("winrelease: {CRASH_ENV}={step}: aborting here (test hook)");
            std::process::abort();
        }
    }
}
