//! The scenarios every backend passes: publishing and Group Policy paths, immutability,
//! channels, tampering, concurrent publishers, locks and bad input.

use std::fs;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use semver::Version;
use winrelease::publish::{
    self, promote, rollback, verify_store, FolderStore, LockError, LockInfo, LockOptions,
    PublishError, PublishOptions, StoreReport, VersionOutcome,
};

use super::*;

pub fn scenario_publish_and_gpo(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    let first = fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    assert_eq!(first.outcome, VersionOutcome::Published { files: 10 });
    assert_eq!(first.index_sequence, 1);
    let channel = first.channel.as_ref().unwrap();
    assert!(channel.changed && channel.from.is_none() && channel.sequence == 1);
    let msi = first.msi.as_ref().unwrap();
    assert_eq!(
        msi.msi_path,
        store.display_path(&[PRODUCT, "1.0.0", &Fixture::msi_name("1.0.0")])
    );
    assert!(first.upgrades.is_none(), "first release upgrades nothing");

    let second = fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
    assert_eq!(second.index_sequence, 2);
    let upgrades = second.upgrades.as_ref().expect("1.1.0 upgrades 1.0.0");
    assert_eq!(upgrades.version, "1.0.0");
    assert_eq!(upgrades.msi_path, msi.msi_path);
    let text = second.to_string();
    assert!(
        text.contains(&second.msi.as_ref().unwrap().msi_path),
        "{text}"
    );
    assert!(text.contains("upgrades the package of 1.0.0"), "{text}");

    assert_eq!(versions_in(&*store), ["1.0.0", "1.1.0"]);
    let index = read_index(&*store);
    assert_eq!(index.sequence, 2);
    assert_eq!(
        index
            .versions
            .iter()
            .map(|e| e.version.as_str())
            .collect::<Vec<_>>(),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(
        index.versions[1].manifest_sha256,
        fx.releases["1.1.0"].manifest_sha256.to_hex()
    );
    let pointer = read_pointer(&*store, "stable").unwrap();
    assert_eq!((pointer.version.as_str(), pointer.sequence), ("1.1.0", 2));
    assert_eq!(pointer.expires, fx.releases["1.1.0"].expires);
    // Every file of the release is in the store, byte for byte.
    let scratch = tempfile::tempdir().unwrap();
    let stored = store
        .fetch_version(PRODUCT, "1.1.0", scratch.path())
        .unwrap();
    for entry in fs::read_dir(fx.dir("1.1.0")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        assert_eq!(
            fs::read(stored.join(&name)).unwrap(),
            fs::read(entry.path()).unwrap(),
            "{name:?}"
        );
    }
    let report = fx.assert_valid(&*store);
    assert_eq!(report.warnings().count(), 0, "{report}");

    // What the next release is chained to: the newest older version's manifest.
    let pk = fx.key.public_key();
    let scratch = tempfile::tempdir().unwrap();
    let previous = |v: &str| {
        publish::previous_manifest(
            &*store,
            PRODUCT,
            &Version::parse(v).unwrap(),
            &pk,
            scratch.path(),
        )
        .unwrap()
        .map(|path| winrelease::digest::Sha256Digest::of(&fs::read(path).unwrap()))
    };
    assert_eq!(
        previous("1.2.0"),
        Some(fx.releases["1.1.0"].manifest_sha256)
    );
    assert_eq!(
        previous("1.1.0"),
        Some(fx.releases["1.0.0"].manifest_sha256)
    );
    assert_eq!(
        previous("1.1.0-rc.1"),
        Some(fx.releases["1.0.0"].manifest_sha256)
    );
    assert_eq!(previous("1.0.0"), None);

    check_release_context(fx, &*store);
}

/// What a release plan reads: the channel, and the previous release's manifest and MSI,
/// copied (folder) or downloaded (S3) into the scratch folder, on every backend.
fn check_release_context(fx: &Fixture, store: &dyn Store) {
    let pk = fx.key.public_key();
    let scratch = tempfile::tempdir().unwrap();
    let view = publish::read_release_context(
        store,
        PRODUCT,
        "stable",
        &Version::parse("1.2.0").unwrap(),
        &pk,
        scratch.path(),
    )
    .unwrap();
    assert_eq!(view.channel_version.as_deref(), Some("1.1.0"));
    assert_eq!(view.previous_version.as_deref(), Some("1.1.0"));
    let manifest = view.previous_manifest.expect("1.1.0 is older than 1.2.0");
    assert!(
        manifest.starts_with(scratch.path()),
        "{}",
        manifest.display()
    );
    assert_eq!(
        winrelease::digest::Sha256Digest::of(&fs::read(manifest).unwrap()),
        fx.releases["1.1.0"].manifest_sha256
    );
    let msi = view.previous_msi.expect("1.1.0 has an MSI");
    assert!(msi.starts_with(scratch.path()), "{}", msi.display());
    assert_eq!(
        fs::read(&msi).unwrap(),
        fs::read(fx.dir("1.1.0").join(Fixture::msi_name("1.1.0"))).unwrap()
    );
    let first = publish::read_release_context(
        store,
        PRODUCT,
        "beta",
        &Version::parse("1.0.0").unwrap(),
        &pk,
        scratch.path(),
    )
    .unwrap();
    assert_eq!(first, publish::StoreView::default());
}

pub fn scenario_immutable(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    let again = fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    assert_eq!(again.outcome, VersionOutcome::AlreadyPresent);
    assert!(!again.index_changed);
    assert!(!again.channel.as_ref().unwrap().changed);
    assert!(
        again
            .to_string()
            .contains("already in the store with identical bytes"),
        "{again}"
    );
    assert_eq!(
        visible_state(&*store),
        before,
        "an identical republish changes nothing"
    );

    // Another build of 1.0.0 (different exe), properly signed with the same key.
    let other_root = tempfile::tempdir().unwrap();
    make_release(other_root.path(), &fx.key, "1.0.0", None, 7);
    let err = publish::publish(
        &other_root.path().join("1.0.0"),
        &*store,
        PRODUCT,
        Some("stable"),
        &fx.key,
        &options(),
    )
    .unwrap_err();
    let exe = format!("{EXE_NAME}_1.0.0_windows_amd64.exe");
    match &err {
        PublishError::VersionDiffers { files, .. } => {
            assert_eq!(files[0], exe, "the artifact is named first: {files:?}");
            assert!(files.contains(&"manifest.json".to_string()), "{files:?}");
        }
        other => panic!("expected VersionDiffers, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("{exe} differs")), "{message}");
    assert!(message.contains("immutable"), "{message}");
    assert_eq!(
        visible_state(&*store),
        before,
        "a refused republish changes nothing"
    );
    assert!(
        store.lock_read(PRODUCT).unwrap().is_none(),
        "lock released on error"
    );
}

pub fn scenario_channels(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    for version in VERSIONS {
        let report = fx.publish(&*store, version, None).unwrap();
        assert!(report.channel.is_none());
    }
    assert!(read_pointer(&*store, "stable").is_none());
    let opts = options();
    let key = &fx.key;

    let c = promote(&*store, PRODUCT, "1.0.0", "stable", key, &opts).unwrap();
    assert_eq!((c.from, c.to.as_str(), c.sequence), (None, "1.0.0", 1));
    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert_eq!((c.from.as_deref(), c.sequence), (Some("1.0.0"), 2));
    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert!(
        !c.changed,
        "promoting the current version again writes nothing"
    );

    let err = promote(&*store, PRODUCT, "1.1.0", "stable", key, &opts).unwrap_err();
    assert!(
        matches!(err, PublishError::ChannelBackwards { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("rollback --channel stable --to 1.1.0"),
        "{err}"
    );
    // Publishing an older version with the channel is refused before anything is written.
    let err = fx.publish(&*store, "1.1.0", Some("stable")).unwrap_err();
    assert!(
        matches!(err, PublishError::ChannelBackwards { .. }),
        "{err}"
    );

    let c = rollback(&*store, PRODUCT, "stable", "1.1.0", key, &opts).unwrap();
    assert!(c.rollback && c.changed);
    assert_eq!(
        (c.from.as_deref(), c.to.as_str(), c.sequence),
        (Some("1.2.0"), "1.1.0", 3)
    );
    let pointer = read_pointer(&*store, "stable").unwrap();
    assert_eq!(pointer.rollback_from.as_deref(), Some("1.2.0"));
    assert_eq!(pointer.sequence, 3);

    let err = rollback(&*store, PRODUCT, "stable", "1.2.0", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NotARollback { .. }), "{err}");
    let err = rollback(&*store, PRODUCT, "beta", "1.0.0", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NoChannel { .. }), "{err}");
    let err = promote(&*store, PRODUCT, "9.9.9", "stable", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NotInStore { .. }), "{err}");
    let err = promote(&*store, PRODUCT, "1.2.0", "Stable!", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::BadChannel(_)), "{err}");

    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert_eq!((c.sequence, c.rollback), (4, false));
    assert_eq!(read_pointer(&*store, "stable").unwrap().rollback_from, None);
    promote(&*store, PRODUCT, "1.0.0", "beta", key, &opts).unwrap();

    // A shorter pointer validity caps the expiry below the manifest's.
    let short = PublishOptions {
        pointer_validity_days: Some(7),
        ..options()
    };
    let c = promote(&*store, PRODUCT, "1.2.0", "canary", key, &short).unwrap();
    assert_eq!(c.expires, winrelease::stamp::rfc3339_utc(NOW + 7 * DAY));

    let report = fx.assert_valid(&*store);
    let text = report.to_string();
    assert!(
        text.contains("channels/stable.json: signature valid, 1.2.0 (sequence 4)"),
        "{text}"
    );
    assert!(
        text.contains("channels/beta.json: signature valid, 1.0.0 (sequence 1)"),
        "{text}"
    );
    // Past the canary pointer's expiry the store no longer verifies.
    let later = verify_store(
        &*store,
        None,
        &fx.key.public_key(),
        NOW + 8 * DAY,
        &test_env(),
    )
    .unwrap();
    assert!(!later.is_valid());
    assert!(
        later.to_string().contains("channels/canary.json: expired"),
        "{later}"
    );
}

/// Tampering with objects in the store (through the backend's own replace) is detected.
pub fn scenario_tamper(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("beta")).unwrap();
    fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
    fx.assert_valid(&*store);
    let overwrite = |key: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let object = store.read(key, 1 << 30).unwrap().unwrap();
        let mut bytes = object.bytes.clone();
        edit(&mut bytes);
        store
            .replace(key, &bytes, Some(&object.revision), "tamper")
            .unwrap();
        object.bytes
    };
    let failures = |report: &StoreReport| -> String {
        report
            .failures()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // 1. A byte of the stored MSI.
    let msi_key = format!("{PRODUCT}/1.1.0/{}", Fixture::msi_name("1.1.0"));
    let original = overwrite(&msi_key, &|b| b[100] ^= 0x20);
    let report = fx.verify(&*store);
    let text = failures(&report);
    assert!(text.contains(&format!("FAIL {PRODUCT} 1.1.0:")), "{report}");
    assert!(text.contains(&Fixture::msi_name("1.1.0")), "{report}");
    assert!(
        text.contains("channels/stable.json: points to 1.1.0, which does not verify"),
        "{report}"
    );
    // Publishing the genuine 1.1.0 again names the tampered file.
    let err = fx.publish(&*store, "1.1.0", None).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} differs", Fixture::msi_name("1.1.0"))),
        "{err}"
    );
    overwrite(&msi_key, &|b| *b = original.clone());
    fx.assert_valid(&*store);

    // 2. The index edited without re-signing (a version hidden).
    let index_key = format!("{PRODUCT}/index.json");
    let original = overwrite(&index_key, &|b| {
        let text = String::from_utf8(b.clone()).unwrap();
        *b = text
            .replacen("\"sequence\": 2", "\"sequence\": 9", 1)
            .into_bytes();
    });
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains("index.json: does not match its signature"),
        "{report}"
    );
    let err = fx.publish(&*store, "1.2.0", None).unwrap_err();
    assert!(matches!(err, PublishError::DocumentInvalid { .. }), "{err}");
    overwrite(&index_key, &|b| *b = original.clone());

    // 3. The beta pointer (validly signed) copied over the stable one: a replay across channels.
    let stable_key = format!("{PRODUCT}/channels/stable.json");
    let beta = store
        .read(&format!("{PRODUCT}/channels/beta.json"), 1 << 20)
        .unwrap()
        .unwrap();
    let original = overwrite(&stable_key, &|b| *b = beta.bytes.clone());
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains("carries the signature of \"channels/beta.json\""),
        "{report}"
    );
    overwrite(&stable_key, &|b| *b = original.clone());

    // 4. A pointer signed by another key.
    let (other_key, _) = new_key();
    let other_store_root = tempfile::tempdir().unwrap();
    let other_store = FolderStore::new(other_store_root.path());
    let other_fx_root = tempfile::tempdir().unwrap();
    make_release(other_fx_root.path(), &other_key, "1.0.0", None, 0);
    publish::publish(
        &other_fx_root.path().join("1.0.0"),
        &other_store,
        PRODUCT,
        Some("stable"),
        &other_key,
        &options(),
    )
    .unwrap();
    let foreign = other_store.read(&stable_key, 1 << 20).unwrap().unwrap();
    overwrite(&stable_key, &|b| *b = foreign.bytes.clone());
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains(&format!("is signed by key {}", other_key.key_id())),
        "{report}"
    );
    overwrite(&stable_key, &|b| *b = original.clone());
    fx.assert_valid(&*store);
}

/// Two publishers at once, each with its own store handle (as two CI jobs would be).
pub fn scenario_concurrent(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();

    // Different versions: both succeed, one after the other.
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = ["1.1.0", "1.2.0"]
            .into_iter()
            .map(|version| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    let own = spec.open();
                    barrier.wait();
                    fx.publish(&*own, version, None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in &results {
        let report = result.as_ref().unwrap();
        assert!(matches!(report.outcome, VersionOutcome::Published { .. }));
    }
    let mut sequences: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().unwrap().index_sequence)
        .collect();
    sequences.sort();
    assert_eq!(sequences, [2, 3], "each publisher saw the other's index");
    assert_eq!(read_index(&*store).versions.len(), 3);
    fx.assert_valid(&*store);

    // The same version twice at once: exactly one copies, the other finds identical bytes.
    let fresh_root = tempfile::tempdir().unwrap();
    let spec2 = match spec {
        StoreSpec::Folder(_) => StoreSpec::Folder(fresh_root.path().to_path_buf()),
        StoreSpec::S3 {
            endpoint,
            bucket,
            prefix,
        } => StoreSpec::S3 {
            endpoint: endpoint.clone(),
            bucket: bucket.clone(),
            prefix: format!("{prefix}-same"),
        },
    };
    let barrier = Arc::new(Barrier::new(2));
    let outcomes: Vec<VersionOutcome> = thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                let spec2 = &spec2;
                scope.spawn(move || {
                    let own = spec2.open();
                    barrier.wait();
                    fx.publish(&*own, "1.0.0", Some("stable")).unwrap().outcome
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        outcomes.contains(&VersionOutcome::AlreadyPresent),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, VersionOutcome::Published { .. })),
        "{outcomes:?}"
    );
    let store2 = spec2.open();
    assert_eq!(read_index(&*store2).sequence, 1);
    assert_eq!(read_pointer(&*store2, "stable").unwrap().sequence, 1);
    fx.assert_valid(&*store2);
}

/// A live lock makes the second publisher wait, then fail naming the holder; stale locks
/// (dead process on this host, or too old) are broken.
pub fn scenario_locks(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    // Held by this (running) process.
    let live = LockInfo::for_this_process(&test_env());
    assert!(store.lock_create(PRODUCT, &live.to_bytes()).unwrap());
    let short = PublishOptions {
        lock: LockOptions {
            timeout: Duration::from_millis(1500),
            stale_after: Duration::from_secs(3600),
        },
        ..options()
    };
    let started = std::time::Instant::now();
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &fx.key, &short).unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    match &err {
        PublishError::Lock(LockError::Timeout { holder, .. }) => {
            assert!(
                holder.contains(&format!("process {}", std::process::id())),
                "{holder}"
            );
        }
        other => panic!("expected a lock timeout, got {other}"),
    }
    assert!(err.to_string().contains(".lock"), "{err}");
    assert_eq!(
        visible_state(&*store),
        before,
        "nothing published while locked"
    );
    let promote_err = promote(&*store, PRODUCT, "1.0.0", "beta", &fx.key, &short).unwrap_err();
    assert!(
        matches!(promote_err, PublishError::Lock(_)),
        "{promote_err}"
    );
    // The live lock is still the one we created.
    assert_eq!(
        store.lock_read(PRODUCT).unwrap().unwrap().bytes,
        live.to_bytes()
    );
    assert!(store.lock_release(PRODUCT, &live.to_bytes()).unwrap());

    // Held by a process of this host that has exited.
    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let dead = LockInfo {
        pid: dead_pid,
        ..LockInfo::for_this_process(&test_env())
    };
    assert!(store.lock_create(PRODUCT, &dead.to_bytes()).unwrap());
    let report = fx.publish(&*store, "1.1.0", None).unwrap();
    let reason = report
        .broke_stale_lock
        .expect("the dead holder's lock was broken");
    assert!(reason.contains("no longer runs"), "{reason}");
    assert!(store.lock_read(PRODUCT).unwrap().is_none());

    // Held by another host, three hours ago (older than stale_after = 2 h).
    let old = LockInfo {
        host: "build-agent-7".into(),
        pid: 4242,
        acquired: LockInfo::for_this_process(&test_env()).acquired - 3 * 3600,
        token: "old".into(),
    };
    assert!(store.lock_create(PRODUCT, &old.to_bytes()).unwrap());
    let report = fx.publish(&*store, "1.2.0", None).unwrap();
    let reason = report.broke_stale_lock.expect("the old lock was broken");
    assert!(
        reason.contains("build-agent-7") && reason.contains("older than"),
        "{reason}"
    );
    // …but a recent lock of another host is respected.
    let recent = LockInfo {
        acquired: LockInfo::for_this_process(&test_env()).acquired,
        ..old
    };
    assert!(store.lock_create(PRODUCT, &recent.to_bytes()).unwrap());
    let err = promote(&*store, PRODUCT, "1.2.0", "stable", &fx.key, &short).unwrap_err();
    assert!(err.to_string().contains("build-agent-7"), "{err}");
    assert!(store.lock_release(PRODUCT, &recent.to_bytes()).unwrap());
    fx.assert_valid(&*store);
}

/// A release folder that fails verification, an illegal channel or product: refused, and the
/// store is left exactly as it was.
pub fn scenario_bad_input(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    // A tampered release folder (a copy, so the fixture stays intact).
    let copy_root = tempfile::tempdir().unwrap();
    let copy = copy_root.path().join("1.1.0");
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(fx.dir("1.1.0")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let exe = copy.join(format!("{EXE_NAME}_1.1.0_windows_amd64.exe"));
    let mut bytes = fs::read(&exe).unwrap();
    bytes[64] ^= 1;
    fs::write(&exe, bytes).unwrap();
    let err =
        publish::publish(&copy, &*store, PRODUCT, Some("stable"), &fx.key, &options()).unwrap_err();
    assert!(matches!(err, PublishError::Unverified { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("refusing to publish"), "{message}");
    assert!(message.contains("windows_amd64.exe"), "{message}");

    // Signed by another key than the one publishing.
    let (other, _) = new_key();
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &other, &options()).unwrap_err();
    assert!(matches!(err, PublishError::Unverified { .. }), "{err}");

    // Expired at publish time.
    let late = PublishOptions {
        now: NOW + 400 * DAY,
        ..options()
    };
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &fx.key, &late).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");

    for channel in ["Stable", "stable/../x", "", "a b", &"x".repeat(65)] {
        let err = fx.publish(&*store, "1.1.0", Some(channel)).unwrap_err();
        assert!(
            matches!(err, PublishError::BadChannel(_)),
            "{channel:?}: {err}"
        );
    }
    for product in ["Hello:Service", "Hello Service.", "CON", ".hidden", "a/b"] {
        let err = publish::publish(
            &fx.dir("1.1.0"),
            &*store,
            product,
            None,
            &fx.key,
            &options(),
        )
        .unwrap_err();
        assert!(
            matches!(err, PublishError::BadName { .. }),
            "{product:?}: {err}"
        );
    }
    // The right product name, but not the release's.
    let err = publish::publish(
        &fx.dir("1.1.0"),
        &*store,
        "Other Product",
        None,
        &fx.key,
        &options(),
    )
    .unwrap_err();
    assert!(matches!(err, PublishError::WrongProduct { .. }), "{err}");

    assert_eq!(visible_state(&*store), before);
    assert!(store.list_versions(PRODUCT).unwrap().leftovers.is_empty());
    assert!(store.lock_read(PRODUCT).unwrap().is_none());
}
