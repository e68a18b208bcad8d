//! The release store on the S3 backend, against a real S3 API server on 127.0.0.1 (moto's
//! server mode, started by `.ci/s3-server`): the same scenarios as the folder backend, the
//! crash at every step, conditional writes, and an endpoint that is down.
//!
//! The streaming transfers (multipart uploads of large files, downloads hashed as they arrive)
//! are checked against the folder backend byte for byte.
//!
//! Needs `WINRELEASE_TEST_S3_ENDPOINT` (and optionally `WINRELEASE_TEST_S3_BUCKET`); without
//! it the tests skip with a message, except under `CI=true`, where they fail.

mod publish_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use publish_support::s3::{fresh, s3_env, S3Env};
use publish_support::*;
use winrelease::digest::Sha256Digest;
use winrelease::publish::{
    self, promote, verify_store, FolderStore, S3Store, S3Transfer, SourceFile, Store, StoreError,
    MIN_PART_BYTES, S3_CRASH_POINTS,
};

#[test]
#[ignore = "child process of the crash tests; runs only when started by them"]
fn crash_child() {
    child_main();
}

#[test]
fn s3_publish_writes_the_layout_and_gpo_paths() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    let spec = fresh(&env, "layout");
    scenario_publish_and_gpo(&fx, &spec);
    let store = spec.open();
    let StoreSpec::S3 { prefix, .. } = &spec else {
        unreachable!()
    };
    assert_eq!(
        store.display_path(&[PRODUCT, "1.0.0", "hellosvc_1.0.0_x64.msi"]),
        format!(
            "s3://{}/{prefix}/Hello Service/1.0.0/hellosvc_1.0.0_x64.msi",
            env.bucket
        )
    );
    assert_eq!(store.list_products().unwrap(), [PRODUCT]);
    assert_eq!(store.list_channels(PRODUCT).unwrap(), ["stable"]);
}

#[test]
fn s3_republishing_is_a_no_op_or_refused() {
    let Some(env) = s3_env() else { return };
    scenario_immutable(&Fixture::new(), &fresh(&env, "immutable"));
}

#[test]
fn s3_channels_promote_and_roll_back() {
    let Some(env) = s3_env() else { return };
    scenario_channels(&Fixture::new(), &fresh(&env, "channels"));
}

#[test]
fn s3_tampering_in_the_store_is_detected() {
    let Some(env) = s3_env() else { return };
    scenario_tamper(&Fixture::new(), &fresh(&env, "tamper"));
}

#[test]
fn s3_two_publishers_at_once() {
    let Some(env) = s3_env() else { return };
    scenario_concurrent(&Fixture::new(), &fresh(&env, "concurrent"));
}

#[test]
fn s3_locks_wait_time_out_and_break_when_stale() {
    let Some(env) = s3_env() else { return };
    scenario_locks(&Fixture::new(), &fresh(&env, "locks"));
}

#[test]
fn s3_bad_input_changes_nothing() {
    let Some(env) = s3_env() else { return };
    scenario_bad_input(&Fixture::new(), &fresh(&env, "bad-input"));
}

#[test]
fn s3_crash_at_every_step_leaves_a_valid_store() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    scenario_crash_every_step(&fx, S3_CRASH_POINTS, "version-published", &|step| {
        fresh(&env, &format!("crash-{step}"))
    });
}

/// The server enforces create-only and compare-and-swap writes; the store relies on them.
#[test]
fn s3_conditional_writes_are_enforced_by_the_server() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    let spec = fresh(&env, "conditional");
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();

    let key = format!("{PRODUCT}/channels/stable.json");
    let current = store.read(&key, 1 << 20).unwrap().unwrap();
    // Create-only on an existing object: refused.
    let err = store.replace(&key, b"{}", None, "test").unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // Update with the ETag of a content that has since been replaced: refused.
    let mut changed = current.bytes.clone();
    changed.push(b'\n');
    store
        .replace(&key, &changed, Some(&current.revision), "test")
        .unwrap();
    let err = store
        .replace(&key, b"{}", Some(&current.revision), "test")
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let after = store.read(&key, 1 << 20).unwrap().unwrap();
    assert_eq!(after.bytes, changed);
    store
        .replace(&key, &current.bytes, Some(&after.revision), "test")
        .unwrap();

    // A version cannot be created twice, even bypassing the publish logic.
    let err = store.create_version(PRODUCT, "1.0.0", &[]).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    fx.assert_valid(&*store);
}

#[test]
fn s3_endpoint_down_fails_fast_and_changes_nothing() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    // A port that was just free: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let down = S3Store::new(&s3_config(
        &format!("http://127.0.0.1:{closed}"),
        &env.bucket,
        "tests/down",
    ))
    .unwrap();
    let started = Instant::now();
    let err = fx.publish(&down, "1.0.0", Some("stable")).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(30),
        "bounded retries: {elapsed:?}"
    );
    let message = err.to_string();
    eprintln!("endpoint down, after {elapsed:?}:\n{message}");
    assert!(
        matches!(assert_store_error(&err), StoreError::S3 { .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{closed}")),
        "{message}"
    );
    assert!(message.contains("endpoint is up"), "{message}");
    for result in [
        promote(&down, PRODUCT, "1.0.0", "stable", &fx.key, &options()).map(|_| ()),
        verify_store(&down, None, &fx.key.public_key(), NOW, &test_env()).map(|_| ()),
    ] {
        assert!(result.is_err());
    }

    // Nothing reached the real server under that prefix.
    let real = StoreSpec::S3 {
        endpoint: env.endpoint.clone(),
        bucket: env.bucket.clone(),
        prefix: "tests/down".into(),
    }
    .open();
    assert!(real.list_products().unwrap().is_empty());

    // A bucket that does not exist: a clear error too.
    let missing =
        S3Store::new(&s3_config(&env.endpoint, "no-such-bucket-winrelease", "x")).unwrap();
    let err = fx.publish(&missing, "1.0.0", None).unwrap_err();
    assert!(
        err.to_string().contains("NoSuchBucket") || err.to_string().contains("404"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Streaming transfers
// ---------------------------------------------------------------------------------------------

/// A store on a fresh prefix that sends files larger than S3's smallest part in parts of
/// that size, two at a time, and downloads in ranges of 4 MiB.
fn streaming_store(env: &S3Env, name: &str) -> Box<dyn Store> {
    let StoreSpec::S3 {
        endpoint,
        bucket,
        prefix,
    } = fresh(env, name)
    else {
        unreachable!()
    };
    let transfer = S3Transfer {
        part_bytes: MIN_PART_BYTES,
        parts_in_flight: 2,
        download_range_bytes: 4 << 20,
    };
    Box::new(
        S3Store::new(&s3_config(&endpoint, &bucket, &prefix))
            .unwrap()
            .with_transfer(transfer),
    )
}

/// Release 1.3.0 (after the fixture's 1.2.0) whose MSI is two parts and a tail of bytes that
/// do not compress; returns its folder.
fn large_release(fx: &Fixture, root: &Path) -> PathBuf {
    let mut msi = Vec::with_capacity(2 * MIN_PART_BYTES + 12_345);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while msi.len() < 2 * MIN_PART_BYTES + 12_345 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        msi.push((x >> 32) as u8);
    }
    let previous = &fx.releases["1.2.0"].manifest;
    make_release_with_msi(root, &fx.key, "1.3.0", Some(previous), 0, &msi);
    root.join("1.3.0")
}

fn publish_all(fx: &Fixture, store: &dyn Store, large: &Path) {
    for version in VERSIONS {
        fx.publish(store, version, Some("stable")).unwrap();
    }
    publish::publish(large, store, PRODUCT, Some("stable"), &fx.key, &options()).unwrap();
}

#[test]
fn s3_streaming_store_is_byte_identical_to_the_folder_store() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    let root = tempfile::tempdir().unwrap();
    let large = large_release(&fx, root.path());
    let folder_root = tempfile::tempdir().unwrap();
    let folder = FolderStore::new(folder_root.path());
    let s3 = streaming_store(&env, "identical");
    publish_all(&fx, &folder, &large);
    publish_all(&fx, &*s3, &large);

    let (expected, found) = (visible_state(&folder), visible_state(&*s3));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        found.keys().collect::<Vec<_>>(),
        "the same objects"
    );
    for (key, bytes) in &expected {
        assert!(
            &found[key] == bytes,
            "{key} differs between the folder and the S3 store"
        );
    }
    let msi = Fixture::msi_name("1.3.0");
    assert!(found[&format!("{PRODUCT}/1.3.0/{msi}")] == fs::read(large.join(&msi)).unwrap());
    fx.assert_valid(&*s3);
}

#[test]
fn s3_multipart_upload_round_trips() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    let root = tempfile::tempdir().unwrap();
    let large = large_release(&fx, root.path());
    let store = streaming_store(&env, "multipart");
    publish_all(&fx, &*store, &large);

    let msi = Fixture::msi_name("1.3.0");
    let object = store
        .read(&format!("{PRODUCT}/1.3.0/{msi}"), 1 << 30)
        .unwrap()
        .unwrap();
    assert!(object.bytes == fs::read(large.join(&msi)).unwrap());
    // A multipart completion gives an ETag ending in -<parts>; a single PUT an MD5.
    let etag = format!("{:?}", object.revision);
    assert!(etag.contains('-'), "the MSI went up in parts: {etag}");
    let sums = store
        .read(&format!("{PRODUCT}/1.3.0/SHA256SUMS"), 1 << 20)
        .unwrap()
        .unwrap();
    let etag = format!("{:?}", sums.revision);
    assert!(!etag.contains('-'), "a small file goes in one PUT: {etag}");
    assert!(
        store.list_versions(PRODUCT).unwrap().leftovers.is_empty(),
        "no staged upload is left behind"
    );
    fx.assert_valid(&*store);

    // A file that changed after verification never reaches its key, and nothing is left.
    let changed = SourceFile {
        name: msi.clone(),
        path: large.join(&msi),
        sha256: Sha256Digest::of(b"the bytes that were verified"),
    };
    let err = store
        .create_version(PRODUCT, "2.0.0", &[changed])
        .unwrap_err();
    assert!(matches!(err, StoreError::SourceChanged { .. }), "{err}");
    let listing = store.list_versions(PRODUCT).unwrap();
    assert!(!listing.complete.contains(&"2.0.0".to_string()));
    assert!(listing.leftovers.is_empty(), "{listing:?}");

    // A staged upload a crash left behind is a leftover, invisible to readers, and cleaned.
    let staged = format!("{PRODUCT}/2.0.0/.upload/{msi}");
    store.replace(&staged, b"part", None, "test").unwrap();
    let listing = store.list_versions(PRODUCT).unwrap();
    assert_eq!(
        listing.leftovers,
        ["2.0.0/ (upload without manifest.json)"],
        "{listing:?}"
    );
    assert!(!listing.complete.contains(&"2.0.0".to_string()));
    store.clean_leftovers(PRODUCT, &|_| true).unwrap();
    assert!(store.read(&staged, 1 << 20).unwrap().is_none());
    assert!(store.list_versions(PRODUCT).unwrap().leftovers.is_empty());
}

#[test]
fn s3_download_that_does_not_match_the_manifest_is_refused() {
    let Some(env) = s3_env() else { return };
    let fx = Fixture::new();
    let store = fresh(&env, "mismatch").open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let exe = format!("{EXE_NAME}_1.0.0_windows_amd64.exe");
    let key = format!("{PRODUCT}/1.0.0/{exe}");
    let object = store.read(&key, 1 << 30).unwrap().unwrap();
    let mut bytes = object.bytes.clone();
    bytes[1000] ^= 0x01;
    store
        .replace(&key, &bytes, Some(&object.revision), "tamper")
        .unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let err = store
        .fetch_version(PRODUCT, "1.0.0", scratch.path())
        .unwrap_err();
    let message = err.to_string();
    match &err {
        StoreError::Corrupted { location, .. } => assert!(
            location.ends_with(&format!("/{PRODUCT}/1.0.0/{exe}")),
            "{location}"
        ),
        other => panic!("expected Corrupted, got {other}"),
    }
    assert!(
        message.contains(&Sha256Digest::of(&bytes).to_hex()) && message.contains("fix:"),
        "{message}"
    );
    assert!(
        !scratch.path().join("1.0.0").join(&exe).exists(),
        "the refused download is not left on disk"
    );
    let report = fx.verify(&*store);
    assert!(!report.is_valid(), "{report}");
    assert!(report.to_string().contains(&exe), "{report}");
}
