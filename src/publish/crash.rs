//! Crash injection for the tests: a store opened with a crash step (the xtask edge reads it
//! from `WINRELEASE_PUBLISH_CRASH_AT`) aborts the process (no unwinding, no destructors, like
//! `kill -9`) when publishing reaches that step, so a test can check that the store is valid
//! after a crash at every step.

/// The environment variable the caller reads the step to abort at from.
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

/// The step a store aborts at, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashHook {
    at: Option<String>,
}

impl CrashHook {
    /// Aborts at `at` (one of the crash points), or never for `None`.
    pub fn new(at: Option<String>) -> CrashHook {
        CrashHook { at }
    }

    /// Aborts the process if this hook names `step`.
    pub fn reach(&self, step: &str) {
        if self.at.as_deref() == Some(step) {
            eprintln!("winrelease: {CRASH_ENV}={step}: aborting here (test hook)");
            std::process::abort();
        }
    }
}
