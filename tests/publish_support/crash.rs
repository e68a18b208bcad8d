//! A crash (abort, like kill -9) at every step of a publish: the child process the crash
//! tests run, and the checks on the store it leaves; plus small assertions the backends'
//! tests share.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};
use winrelease::keys::{KeySource, ReleaseKey};
use winrelease::publish::{
    self, CrashHook, StoreCheckStatus, StoreReport, VersionOutcome, CRASH_ENV,
};
use winrelease::publish::{PublishError, StoreError};

use super::*;

/// Environment variable through which the parent tells the child what to publish.
pub const CHILD_ENV: &str = "WINRELEASE_TEST_PUBLISH_CHILD";

#[derive(Debug, Serialize, Deserialize)]
pub struct ChildJob {
    pub store: StoreSpec,
    pub release: PathBuf,
    pub key_file: PathBuf,
    pub channel: String,
}

/// Body of the `crash_child` test: publishes as the parent says (and is expected to abort at
/// the step named by `WINRELEASE_PUBLISH_CRASH_AT`, which this test binary reads, as xtask
/// would, and passes to the store). Does nothing when not started as a child.
pub fn child_main() {
    let Ok(job) = std::env::var(CHILD_ENV) else {
        return;
    };
    let job: ChildJob = serde_json::from_str(&job).unwrap();
    let text = fs::read_to_string(&job.key_file).unwrap();
    let secret = minisig::SecretKey::from_unencrypted_file(&text).unwrap();
    let key = ReleaseKey::new(secret, KeySource::File(job.key_file.clone()));
    let store = job
        .store
        .open_with(CrashHook::new(std::env::var(CRASH_ENV).ok()));
    let report = publish::publish(
        &job.release,
        &*store,
        PRODUCT,
        Some(&job.channel),
        &key,
        &options(),
    )
    .unwrap();
    println!("child finished without crashing:\n{report}");
}

/// Runs this test binary's `crash_child` test as a child process publishing `version`, with a
/// crash injected at `step`; returns (exit status, stderr).
fn run_child(
    fx: &Fixture,
    spec: &StoreSpec,
    version: &str,
    step: &str,
    key_file: &Path,
) -> (std::process::ExitStatus, String) {
    let job = ChildJob {
        store: spec.clone(),
        release: fx.dir(version),
        key_file: key_file.to_path_buf(),
        channel: "stable".into(),
    };
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, serde_json::to_string(&job).unwrap())
        .env(CRASH_ENV, step)
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// For every step in `points`: a store with 1.0.0 on `stable`; a child publishing 1.1.0 to
/// `stable` is killed (abort, like kill -9) at that step. Then: the store verifies, what is
/// visible is either the old or the new state (never a partial version, never a document
/// naming a missing version), and the next publish succeeds and leaves a clean store.
pub fn scenario_crash_every_step(
    fx: &Fixture,
    points: &[&str],
    visible_from: &str,
    fresh_store: &dyn Fn(&str) -> StoreSpec,
) {
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("test.key");
    fs::write(&key_file, fx.secret.to_unencrypted_file().as_bytes()).unwrap();
    let position = |name: &str| {
        points
            .iter()
            .position(|p| *p == name)
            .unwrap_or_else(|| panic!("{name} is not a crash point"))
    };
    let new_sha = fx.releases["1.1.0"].manifest_sha256.to_hex();
    for (i, step) in points.iter().enumerate() {
        let spec = fresh_store(step);
        let store = spec.open();
        fx.publish(&*store, "1.0.0", Some("stable")).unwrap();

        let (status, stderr) = run_child(fx, &spec, "1.1.0", step, &key_file);
        assert!(
            stderr.contains(&format!("{CRASH_ENV}={step}: aborting here")),
            "step {step}: the child did not reach the step (status {status:?}):\n{stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(6),
                "step {step}: child must die by SIGABRT"
            );
        }

        // The store is valid right after the crash.
        let report = fx.verify(&*store);
        assert!(
            report.is_valid(),
            "step {step}: store invalid after the crash:\n{report}"
        );
        let versions = versions_in(&*store);
        let new_visible = i >= position(visible_from);
        let expected: &[&str] = if new_visible {
            &["1.0.0", "1.1.0"]
        } else {
            &["1.0.0"]
        };
        assert_eq!(versions, expected, "step {step}");
        let index = read_index(&*store);
        let indexed = index.versions.iter().any(|e| e.version == "1.1.0");
        assert_eq!(
            indexed,
            i >= position("index-replaced"),
            "step {step}: index"
        );
        let pointer = read_pointer(&*store, "stable").unwrap();
        let moved = i >= position("channel-replaced");
        assert_eq!(
            pointer.version,
            if moved { "1.1.0" } else { "1.0.0" },
            "step {step}: channel"
        );
        if moved {
            assert_eq!(pointer.manifest_sha256, new_sha);
        }

        // The next publish succeeds (breaking the dead child's lock) and cleans up.
        let report = fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
        let expect_lock = i >= position("locked") && i <= position("unlocking");
        assert_eq!(
            report.broke_stale_lock.is_some(),
            expect_lock,
            "step {step}: {report}"
        );
        assert_eq!(
            matches!(report.outcome, VersionOutcome::AlreadyPresent),
            new_visible,
            "step {step}: {report}"
        );
        let after = fx.assert_valid(&*store);
        assert_eq!(
            after.warnings().count(),
            0,
            "step {step}: leftovers or lock remain:\n{after}"
        );
        assert_eq!(versions_in(&*store), ["1.0.0", "1.1.0"]);
        assert_eq!(read_pointer(&*store, "stable").unwrap().version, "1.1.0");
        let index = read_index(&*store);
        assert_eq!(index.versions.len(), 2, "step {step}");
        eprintln!(
            "crash at {step}: store valid, recovered ({} checks)",
            after.checks.len()
        );
    }
}

/// Asserts the error is a store-level error about reachability or permissions.
pub fn assert_store_error(err: &PublishError) -> &StoreError {
    match err {
        PublishError::Store(e) => e,
        other => panic!("expected a store error, got {other}"),
    }
}

pub fn ok_status(report: &StoreReport) -> usize {
    report
        .checks
        .iter()
        .filter(|c| c.status == StoreCheckStatus::Ok)
        .count()
}
