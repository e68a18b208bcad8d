//! The release store on the folder backend (a local folder or a mounted share): publishing,
//! Group Policy paths, immutability, channels and rollback, tamper detection, two concurrent
//! publishers, locks, bad input, and a crash (abort, like kill -9) injected at every step.

mod publish_support;

use std::fs;
use std::path::Path;

use publish_support::*;
use winrelease::publish::{
    self, FolderStore, PublishError, Store, StoreError, FOLDER_CRASH_POINTS,
};

fn folder_spec(root: &Path) -> StoreSpec {
    StoreSpec::Folder(root.to_path_buf())
}

#[test]
#[ignore = "child process of the crash tests; runs only when started by them"]
fn crash_child() {
    child_main();
}

#[test]
fn publish_writes_the_layout_and_gpo_paths() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_publish_and_gpo(&fx, &folder_spec(store_root.path()));

    // The layout on disk, as Group Policy and admins see it.
    let product = store_root.path().join(PRODUCT);
    for file in [
        "1.0.0/manifest.json",
        "1.0.0/manifest.json.minisig",
        "1.0.0/hellosvc_1.0.0_x64.msi",
        "1.0.0/hellosvc_1.0.0_x64.msi.minisig",
        "1.0.0/SHA256SUMS",
        "1.1.0/hellosvc_1.1.0_windows_amd64.exe",
        "index.json",
        "channels/stable.json",
    ] {
        assert!(product.join(file).is_file(), "{file}");
    }
    let mut top: Vec<String> = fs::read_dir(&product)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        ["1.0.0", "1.1.0", "channels", "index.json"],
        "no leftovers, no lock"
    );
    // Canonical JSON: sorted keys, trailing newline; the signature rides inside.
    let index = fs::read_to_string(product.join("index.json")).unwrap();
    assert!(
        index.starts_with("{\n  \"signature\": \"untrusted comment:"),
        "{index}"
    );
    assert!(index.ends_with("}\n"));
    assert!(index.contains(
        "trusted comment: winrelease product=Hello%20Service version=1.1.0 file=index.json sha256="
    ));
}

#[test]
fn gpo_paths_keep_a_unc_root() {
    let store = FolderStore::new(r"\\fileserver\deploy$\releases");
    assert_eq!(
        store.display_path(&[PRODUCT, "1.2.3", "hellosvc_1.2.3_x64.msi"]),
        r"\\fileserver\deploy$\releases\Hello Service\1.2.3\hellosvc_1.2.3_x64.msi"
    );
}

#[test]
fn republishing_is_a_no_op_or_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_immutable(&fx, &folder_spec(store_root.path()));
}

#[test]
fn channels_promote_and_roll_back() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_channels(&fx, &folder_spec(store_root.path()));
}

#[test]
fn tampering_in_the_store_is_detected() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_tamper(&fx, &folder_spec(store_root.path()));

    // Also through the file system directly, as an intruder on the share would.
    let store = FolderStore::new(store_root.path());
    let extra = store_root
        .path()
        .join(PRODUCT)
        .join("1.0.0")
        .join("evil.dll");
    fs::write(&extra, b"MZ").unwrap();
    let err = fx.publish(&store, "1.0.0", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("evil.dll is only in the stored version"),
        "{err}"
    );
    fs::remove_file(&extra).unwrap();
    let manifest = store_root
        .path()
        .join(PRODUCT)
        .join("1.0.0")
        .join("manifest.json");
    fs::remove_file(&manifest).unwrap();
    let report = fx.verify(&store);
    assert!(!report.is_valid());
    assert!(
        report.to_string().contains("FAIL Hello Service 1.0.0"),
        "{report}"
    );
}

#[test]
fn two_publishers_at_once() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_concurrent(&fx, &folder_spec(store_root.path()));
}

#[test]
fn locks_wait_time_out_and_break_when_stale() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_locks(&fx, &folder_spec(store_root.path()));
}

#[test]
fn bad_input_changes_nothing() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    scenario_bad_input(&fx, &folder_spec(store_root.path()));
}

#[test]
fn missing_or_unwritable_store_is_refused() {
    let fx = Fixture::new();
    let parent = tempfile::tempdir().unwrap();

    let missing = parent.path().join("no-such-share");
    let err = fx
        .publish(&FolderStore::new(&missing), "1.0.0", None)
        .unwrap_err();
    assert!(
        matches!(assert_store_error(&err), StoreError::Missing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!missing.exists(), "a missing store is not created");

    let file = parent.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let err = fx
        .publish(&FolderStore::new(&file), "1.0.0", None)
        .unwrap_err();
    assert!(
        matches!(assert_store_error(&err), StoreError::Missing { .. }),
        "{err}"
    );

    // Read-only: mode 0555 stops a normal user; root ignores modes, so then use /proc, a
    // folder nobody can create files in.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readonly = parent.path().join("readonly");
        fs::create_dir(&readonly).unwrap();
        fs::set_permissions(&readonly, fs::Permissions::from_mode(0o555)).unwrap();
        let probe = fs::write(readonly.join("probe"), b"x");
        let target = if probe.is_ok() {
            fs::remove_file(readonly.join("probe")).unwrap();
            Path::new("/proc").to_path_buf()
        } else {
            readonly.clone()
        };
        let err = fx
            .publish(&FolderStore::new(&target), "1.0.0", None)
            .unwrap_err();
        assert!(
            matches!(assert_store_error(&err), StoreError::NotWritable { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("not writable"), "{err}");
        fs::set_permissions(&readonly, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(fs::read_dir(&readonly).unwrap().count(), 0);
    }
}

#[test]
fn verify_reports_every_version_index_and_channel() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(store_root.path());
    fx.publish(&store, "1.0.0", Some("stable")).unwrap();
    fx.publish(&store, "1.1.0", Some("beta")).unwrap();
    let report = fx.assert_valid(&store);
    let text = report.to_string();
    for expected in [
        "ok   Hello Service 1.0.0:",
        "ok   Hello Service 1.1.0:",
        "ok   Hello Service index.json: signature valid, sequence 2, 2 versions",
        "ok   Hello Service channels/beta.json: signature valid, 1.1.0 (sequence 1)",
        "ok   Hello Service channels/stable.json: signature valid, 1.0.0 (sequence 1)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(text.ends_with("is valid (0 warnings)"), "{text}");

    // Old versions expire; the store stays valid, with a warning, until a channel points there.
    let later = NOW + 200 * 86_400;
    let report = publish::verify_store(
        &store,
        Some(PRODUCT),
        &fx.key.public_key(),
        later,
        &test_env(),
    )
    .unwrap();
    assert!(
        !report.is_valid(),
        "channels point to expired versions:\n{report}"
    );
    let expired: Vec<_> = report.warnings().map(|w| w.to_string()).collect();
    assert!(
        expired.iter().any(|w| w.contains("1.0.0: intact")),
        "{report}"
    );
    assert!(report.failures().any(|f| f
        .to_string()
        .contains("channels/stable.json: points to 1.0.0, whose manifest has expired")));

    // A version that is not in the index (an interrupted publish) is a warning, and the next
    // publish adds it after verifying it.
    let index = store_root.path().join(PRODUCT).join("index.json");
    let saved = fs::read(&index).unwrap();
    fs::remove_file(&index).unwrap();
    let report = fx.assert_valid(&store);
    assert!(
        report.to_string().contains("index.json: missing"),
        "{report}"
    );
    let published = fx.publish(&store, "1.2.0", None).unwrap();
    assert_eq!(published.adopted, ["1.0.0", "1.1.0"]);
    assert_eq!(read_index(&store).versions.len(), 3);
    let report = fx.assert_valid(&store);
    assert_eq!(report.warnings().count(), 0, "{report}");
    drop(saved);
}

#[test]
fn release_chained_to_another_build_is_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(store_root.path());
    // The store has a different build of 1.0.0 than the one 1.1.0 was chained to.
    let other_root = tempfile::tempdir().unwrap();
    make_release(other_root.path(), &fx.key, "1.0.0", None, 3);
    publish::publish(
        &other_root.path().join("1.0.0"),
        &store,
        PRODUCT,
        None,
        &fx.key,
        &options(),
    )
    .unwrap();
    let err = fx.publish(&store, "1.1.0", None).unwrap_err();
    assert!(matches!(err, PublishError::ChainMismatch { .. }), "{err}");
    assert_eq!(versions_in(&store), ["1.0.0"]);
}

#[test]
fn crash_at_every_step_leaves_a_valid_store() {
    let fx = Fixture::new();
    let stores = tempfile::tempdir().unwrap();
    scenario_crash_every_step(&fx, FOLDER_CRASH_POINTS, "version-renamed", &|step| {
        let root = stores.path().join(step);
        fs::create_dir(&root).unwrap();
        StoreSpec::Folder(root)
    });
}

#[test]
fn stale_staging_folders_are_invisible_and_removed() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(store_root.path());
    fx.publish(&store, "1.0.0", None).unwrap();
    // What a crashed publisher on another machine could leave behind.
    let product = store_root.path().join(PRODUCT);
    let staging = product.join(".staging-1.1.0-999-abc");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("hellosvc_1.1.0_x64.msi"), b"half").unwrap();
    fs::create_dir_all(product.join("channels")).unwrap();
    fs::write(product.join("channels/.stable.json.tmp-999-1"), b"{").unwrap();
    fs::write(product.join(".index.json.tmp-999-1"), b"{").unwrap();
    let listing = store.list_versions(PRODUCT).unwrap();
    assert_eq!(listing.complete, ["1.0.0"]);
    assert_eq!(listing.leftovers.len(), 3, "{listing:?}");
    let report = fx.assert_valid(&store);
    assert_eq!(report.warnings().count(), 3, "{report}");
    assert!(store.list_channels(PRODUCT).unwrap().is_empty());

    let published = fx.publish(&store, "1.1.0", Some("stable")).unwrap();
    assert_eq!(published.cleaned.len(), 3, "{published}");
    assert!(!staging.exists());
    let report = fx.assert_valid(&store);
    assert_eq!(report.warnings().count(), 0, "{report}");
}
