//! Racing publishers, on the folder backend and on S3, under CPU load the test starts itself:
//! eight publishers of eight different versions (half of them also moving `stable`), and eight
//! publishers of one version (two different builds of it), while readers verify the store in a
//! loop. Nothing accepted is lost (every accepted version is in the index), nothing is torn (no
//! reader ever sees a store that fails verification, an index naming a version that is not
//! there or a pointer naming one missing from the index), every refusal says why.
//!
//! The S3 tests need `WINRELEASE_TEST_S3_ENDPOINT` (see `tests/publish_s3.rs`).

#[allow(unused_imports)]
mod publish_support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use publish_support::s3::{fresh, s3_env};
use publish_support::*;
use winrelease::keys::ReleaseKey;
use winrelease::publish::{
    self, Index, PublishError, PublishReport, Store, StoreCheckStatus, VersionOutcome,
};

const PUBLISHERS: usize = 8;
/// Reader threads verifying the store while the publishers run.
const READERS: usize = 2;

/// Busy threads, one per core, for as long as the value lives: the publishers and readers
/// race on a loaded machine, where a scheduling gap is likely to open between any two steps.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start() -> CpuLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|i| {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut x = 0x9E37_79B9_u64 + i as u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Eight unchained releases 1.0.0 … 1.7.0, and a second build of 1.0.0 (other exe bytes).
struct Releases {
    _root: tempfile::TempDir,
    key: ReleaseKey,
    versions: Vec<(String, PathBuf)>,
    other_build: PathBuf,
}

impl Releases {
    fn new() -> Releases {
        let root = tempfile::tempdir().unwrap();
        let (key, _) = new_key();
        let versions = (0..PUBLISHERS)
            .map(|minor| {
                let version = format!("1.{minor}.0");
                make_release(root.path(), &key, &version, None, 0);
                let dir = root.path().join(&version);
                (version, dir)
            })
            .collect();
        let other_root = root.path().join("other-build");
        make_release(&other_root, &key, "1.0.0", None, 1);
        Releases {
            other_build: other_root.join("1.0.0"),
            _root: root,
            key,
            versions,
        }
    }

    fn publish(
        &self,
        store: &dyn Store,
        dir: &std::path::Path,
        channel: Option<&str>,
    ) -> Result<PublishReport, PublishError> {
        let mut options = options();
        // Eight publishes one after the other, each a few seconds on a loaded S3 test server:
        // the last waits longer than the suite's usual 30 s.
        options.lock.timeout = Duration::from_secs(300);
        publish::publish(dir, store, PRODUCT, channel, &self.key, &options)
    }
}

/// What the readers saw.
#[derive(Default)]
struct Seen {
    verifications: AtomicUsize,
}

/// One reader's check of the store as it is right now: the whole store verifies (warnings for
/// an unindexed new version or a held lock are fine); then, read in the order publish writes
/// them backwards (pointer, index, versions), the pointer names an indexed version and every
/// indexed version is complete.
fn check_not_torn(store: &dyn Store, releases: &Releases) {
    let report = publish::verify_store(store, None, &releases.key.public_key(), NOW, &test_env())
        .expect("the store can be read while publishers write");
    let failures: Vec<String> = report.failures().map(|c| c.to_string()).collect();
    assert!(
        failures.is_empty(),
        "a reader saw a torn store:\n{}",
        failures.join("\n")
    );
    let pointer = read_pointer(store, "stable");
    let Some(object) = store
        .read(&format!("{PRODUCT}/index.json"), 1 << 20)
        .unwrap()
    else {
        assert!(
            pointer.is_none(),
            "a channel pointer exists before any index"
        );
        return;
    };
    let value: serde_json::Value = serde_json::from_slice(&object.bytes).unwrap();
    let index: Index = serde_json::from_value(value["signed"].clone()).unwrap();
    if let Some(pointer) = pointer {
        assert!(
            index.entry(&pointer.version).is_some(),
            "stable points to {}, which the index does not list",
            pointer.version
        );
    }
    let complete: BTreeSet<String> = versions_in(store).into_iter().collect();
    for entry in &index.versions {
        assert!(
            complete.contains(&entry.version),
            "the index names {} before it is complete",
            entry.version
        );
    }
}

/// Runs `publishers` (each given its number) at once, behind a barrier, while [`READERS`]
/// readers check the store until the last publisher is done; returns the results in order and
/// how many verifications the readers made.
fn race<T: Send>(
    spec: &StoreSpec,
    releases: &Releases,
    publisher: impl Fn(usize, &dyn Store) -> T + Sync,
) -> (Vec<T>, usize) {
    let _load = CpuLoad::start();
    let started = Instant::now();
    let seen = Seen::default();
    let done = AtomicBool::new(false);
    let barrier = Barrier::new(PUBLISHERS);
    let results = thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                scope.spawn(|| {
                    let store = spec.open();
                    loop {
                        let last = done.load(Ordering::SeqCst);
                        check_not_torn(&*store, releases);
                        seen.verifications.fetch_add(1, Ordering::Relaxed);
                        if last {
                            break;
                        }
                        thread::sleep(Duration::from_millis(10));
                    }
                })
            })
            .collect();
        let publishers: Vec<_> = (0..PUBLISHERS)
            .map(|i| {
                let (barrier, publisher) = (&barrier, &publisher);
                scope.spawn(move || {
                    let store = spec.open();
                    barrier.wait();
                    publisher(i, &*store)
                })
            })
            .collect();
        let results: Vec<T> = publishers.into_iter().map(|p| p.join().unwrap()).collect();
        done.store(true, Ordering::SeqCst);
        for reader in readers {
            reader.join().unwrap();
        }
        results
    });
    eprintln!(
        "race on {}: {:.1} s under CPU load",
        spec.open().location(),
        started.elapsed().as_secs_f64()
    );
    (results, seen.verifications.load(Ordering::Relaxed))
}

/// After a race: the store verifies with no warning (no leftover, no lock, nothing unindexed).
fn assert_clean(store: &dyn Store, releases: &Releases) {
    let report =
        publish::verify_store(store, None, &releases.key.public_key(), NOW, &test_env()).unwrap();
    assert!(report.is_valid(), "{report}");
    let warnings: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == StoreCheckStatus::Warning)
        .map(|c| c.to_string())
        .collect();
    assert!(warnings.is_empty(), "left behind:\n{}", warnings.join("\n"));
}

/// Eight versions at once; odd publishers also move `stable`. Every publish without a channel
/// is accepted; one with `stable` is accepted or refused because a newer version got there
/// first. Accepted versions are all in the index, refused ones nowhere.
fn scenario_eight_versions(spec: &StoreSpec) {
    let releases = Releases::new();
    let (results, verifications) = race(spec, &releases, |i, store| {
        let (version, dir) = &releases.versions[i];
        let channel = (i % 2 == 1).then_some("stable");
        (
            version.clone(),
            channel.is_some(),
            releases.publish(store, dir, channel),
        )
    });
    let store = spec.open();
    let index = read_index(&*store);
    let indexed: BTreeSet<&str> = index.versions.iter().map(|e| e.version.as_str()).collect();
    let mut accepted = Vec::new();
    for (version, with_channel, result) in &results {
        match result {
            Ok(report) => {
                assert!(
                    matches!(report.outcome, VersionOutcome::Published { .. }),
                    "{version}: {report}"
                );
                assert!(
                    indexed.contains(version.as_str()),
                    "{version} was accepted but is not in the index"
                );
                accepted.push(version.clone());
            }
            Err(PublishError::ChannelBackwards { .. }) if *with_channel => {
                let text = result.as_ref().unwrap_err().to_string();
                assert!(
                    text.contains("newer than") && text.contains("fix:"),
                    "{text}"
                );
                assert!(
                    !indexed.contains(version.as_str()),
                    "refused {version} is in the index"
                );
            }
            Err(e) => panic!("{version} refused for no good reason: {e}"),
        }
    }
    assert!(accepted.len() > PUBLISHERS / 2, "{accepted:?}");
    assert_eq!(
        indexed.len(),
        accepted.len(),
        "the index holds exactly the accepted versions"
    );
    assert_eq!(
        index.sequence,
        accepted.len() as u64,
        "every accepted publish saw the one before"
    );
    let newest_on_stable = results
        .iter()
        .filter(|(_, with_channel, r)| *with_channel && r.is_ok())
        .map(|(v, _, _)| semver::Version::parse(v).unwrap())
        .max()
        .unwrap();
    assert_eq!(
        read_pointer(&*store, "stable").unwrap().version,
        newest_on_stable.to_string()
    );
    assert_clean(&*store, &releases);
    eprintln!(
        "eight versions: {PUBLISHERS} publishers, {} accepted, {} refused (channel would move back), {verifications} reader verifications, 0 lost",
        accepted.len(),
        PUBLISHERS - accepted.len()
    );
}

/// One version eight times at once, four publishers with each of two builds: exactly one
/// publisher copies it; those with the same build find it there, those with the other are
/// refused naming the files that differ.
fn scenario_one_version(spec: &StoreSpec) {
    let releases = Releases::new();
    let (results, verifications) = race(spec, &releases, |i, store| {
        let dir = if i % 2 == 0 {
            &releases.versions[0].1
        } else {
            &releases.other_build
        };
        (i % 2, releases.publish(store, dir, Some("stable")))
    });
    let published: Vec<usize> = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(report) if matches!(report.outcome, VersionOutcome::Published { .. })))
        .map(|(build, _)| *build)
        .collect();
    assert_eq!(
        published.len(),
        1,
        "exactly one publisher copies the version"
    );
    let winner = published[0];
    for (build, result) in &results {
        match result {
            Ok(_) => assert_eq!(
                *build, winner,
                "a publisher of the other build was accepted"
            ),
            Err(e @ PublishError::VersionDiffers { .. }) => {
                assert_ne!(*build, winner);
                let text = e.to_string();
                assert!(
                    text.contains("different content")
                        && text.contains("hellosvc_1.0.0_windows_amd64.exe"),
                    "{text}"
                );
            }
            Err(e) => panic!("build {build} refused for no good reason: {e}"),
        }
    }
    let store = spec.open();
    let index = read_index(&*store);
    assert_eq!(index.versions.len(), 1);
    assert_eq!(
        index.sequence, 1,
        "only the copying publisher changed the index"
    );
    assert_clean(&*store, &releases);
    eprintln!(
        "one version: {PUBLISHERS} publishers, 1 copied, {} found it present, {} refused (other build), {verifications} reader verifications, 0 lost",
        results.iter().filter(|(b, r)| *b == winner && r.is_ok()).count() - 1,
        results.iter().filter(|(_, r)| r.is_err()).count()
    );
}

fn folder_spec() -> (tempfile::TempDir, StoreSpec) {
    let root = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Folder(root.path().to_path_buf());
    (root, spec)
}

#[test]
fn folder_eight_publishers_of_eight_versions() {
    let (_root, spec) = folder_spec();
    scenario_eight_versions(&spec);
}

#[test]
fn folder_eight_publishers_of_one_version() {
    let (_root, spec) = folder_spec();
    scenario_one_version(&spec);
}

#[test]
fn s3_eight_publishers_of_eight_versions() {
    let Some(env) = s3_env() else { return };
    scenario_eight_versions(&fresh(&env, "race-versions"));
}

#[test]
fn s3_eight_publishers_of_one_version() {
    let Some(env) = s3_env() else { return };
    scenario_one_version(&fresh(&env, "race-one"));
}
