//! The release store on the S3 backend, against a real S3 API server on 127.0.0.1 (moto's
//! server mode, started by `.ci/s3-server`): the same scenarios as the folder backend, the
//! crash at every step, conditional writes, and an endpoint that is down.
//!
//! Needs `WINRELEASE_TEST_S3_ENDPOINT` (and optionally `WINRELEASE_TEST_S3_BUCKET`); without
//! it the tests skip with a message, except under `CI=true`, where they fail.

mod publish_support;

use std::time::{Duration, Instant};

use publish_support::s3::{fresh, s3_env};
use publish_support::*;
use winrelease::publish::{promote, verify_store, S3Store, StoreError, S3_CRASH_POINTS};

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
