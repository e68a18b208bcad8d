//! Hard faults and hostile layouts on the folder backend: a store whose file system fills up
//! while a version is copied (a small tmpfs the test mounts), symbolic links and unsigned
//! files in a release folder, a store whose `index.json` is a link to a file elsewhere, and
//! names that are not store paths. Each is refused with a message naming the path and the
//! cause; the store is unchanged and verifies; nothing outside store and release folder is
//! read or written.

#[allow(unused_imports)]
mod publish_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use publish_support::*;
use winrelease::publish::{PublishError, StoreError};

fn folder(root: &Path) -> StoreSpec {
    StoreSpec::Folder(root.to_path_buf())
}

/// A copy of the fixture's release `version` (plain files) in a new folder.
fn copy_release(fx: &Fixture, version: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let copy = root.path().join(version);
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(fx.dir(version)).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    (root, copy)
}

/// A tmpfs of `bytes` mounted at a new folder, unmounted on drop; `None` (skip) where this
/// process may not mount, except under `CI=true`.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes}"),
                "winrelease-test",
            ])
            .arg(dir.path())
            .output();
        match output {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !testkit::ci(),
                    "mounting a tmpfs is required under CI=true (run as root): {why}"
                );
                eprintln!("skipping: cannot mount a tmpfs ({why})");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn folder_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// The store's disk fills up while 1.1.0 is copied: the publish fails naming the file and
/// "No space left on device"; what readers see is exactly as before and verifies, and the
/// staging folder is gone. After space is freed the same publish succeeds.
#[test]
fn publishing_onto_a_full_disk_changes_nothing() {
    let fx = Fixture::new();
    let release = folder_size(&fx.dir("1.1.0"));
    // Room for 1.0.0 and the documents, and for only part of 1.1.0.
    let Some(disk) = SmallDisk::mount(folder_size(&fx.dir("1.0.0")) + release / 2 + 64 * 1024)
    else {
        return;
    };
    let spec = folder(disk.dir.path());
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    let err = fx.publish(&*store, "1.1.0", Some("stable")).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, PublishError::Store(StoreError::Io(_))),
        "{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert!(
        text.contains(&disk.dir.path().display().to_string()),
        "{text}"
    );
    assert_eq!(visible_state(&*store), before, "a reader sees a change");
    let report = fx.assert_valid(&*store);
    assert_eq!(report.warnings().count(), 0, "left behind:\n{report}");
    eprintln!("full disk while copying 1.1.0 ({release} bytes): refused, store unchanged: {text}");
}

/// A symbolic link in a release folder is refused before anything is read through it, even
/// when it points to a copy of the very file the manifest signs.
#[test]
fn a_link_in_the_release_folder_is_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = folder(store_root.path()).open();
    let (_copy_root, copy) = copy_release(&fx, "1.0.0");
    let exe = format!("{EXE_NAME}_1.0.0_windows_amd64.exe");
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join(&exe);
    fs::rename(copy.join(&exe), &target).unwrap();
    std::os::unix::fs::symlink(&target, copy.join(&exe)).unwrap();
    let err = publish_dir(&fx, &*store, &copy).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PublishError::StrayEntry { .. }), "{text}");
    assert!(
        text.contains(&exe) && text.contains("symbolic link"),
        "{text}"
    );
    assert!(
        store.list_products().unwrap().is_empty(),
        "the store was written"
    );
}

/// A file the manifest does not sign (and a folder) in a release folder are refused: only
/// signed bytes reach the store.
#[test]
fn unsigned_files_in_the_release_folder_are_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = folder(store_root.path()).open();
    let (_copy_root, copy) = copy_release(&fx, "1.0.0");
    fs::write(copy.join("readme-unsigned.txt"), "not in the manifest").unwrap();
    let err = publish_dir(&fx, &*store, &copy).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("readme-unsigned.txt") && text.contains("not signed"),
        "{text}"
    );
    fs::remove_file(copy.join("readme-unsigned.txt")).unwrap();
    fs::create_dir(copy.join("extra")).unwrap();
    let err = publish_dir(&fx, &*store, &copy).unwrap_err();
    assert!(
        err.to_string().contains("extra` is not a plain file")
            || err.to_string().contains("extra is not a plain file"),
        "{err}"
    );
    assert!(
        store.list_products().unwrap().is_empty(),
        "the store was written"
    );
}

fn publish_dir(
    fx: &Fixture,
    store: &dyn winrelease::publish::Store,
    dir: &Path,
) -> Result<winrelease::publish::PublishReport, PublishError> {
    winrelease::publish::publish(dir, store, PRODUCT, Some("stable"), &fx.key, &options())
}

/// `index.json` replaced by a link to a file outside the store (here a valid copy of the
/// index): publish and verify refuse it naming the link; the file outside is neither read
/// into a decision nor written.
#[test]
fn a_store_index_that_is_a_link_is_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = folder(store_root.path()).open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let index = store_root.path().join(PRODUCT).join("index.json");
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("index.json");
    fs::rename(&index, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &index).unwrap();
    let outside_before = fs::read(&outside).unwrap();

    let err = fx.publish(&*store, "1.1.0", Some("stable")).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, PublishError::Store(StoreError::Link { .. })),
        "{text}"
    );
    assert!(
        text.contains(&index.display().to_string()) && text.contains("symbolic link"),
        "{text}"
    );
    assert_eq!(
        fs::read(&outside).unwrap(),
        outside_before,
        "the file outside was written"
    );
    assert!(fs::symlink_metadata(&index)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(versions_in(&*store), ["1.0.0"], "1.1.0 was placed");

    let err =
        winrelease::publish::verify_store(&*store, None, &fx.key.public_key(), NOW, &test_env())
            .unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

/// Names that cannot be store paths are refused before the store is touched.
#[test]
fn names_that_are_not_store_paths_are_refused() {
    let fx = Fixture::new();
    let store_root = tempfile::tempdir().unwrap();
    let store = folder(store_root.path()).open();
    let long = "x".repeat(300);
    for product in [
        "../x",
        "/etc",
        "C:\\x",
        "CON",
        "nul",
        "Aux.txt",
        "trail.",
        "trail ",
        "nul\0byte",
        long.as_str(),
    ] {
        let options = options();
        let release = fx.dir("1.0.0");
        let err = winrelease::publish::publish(&release, &*store, product, None, &fx.key, &options);
        let err = err.unwrap_err();
        assert!(
            matches!(err, PublishError::BadName { .. }),
            "{product:?}: {err}"
        );
        assert!(err.to_string().contains("fix:"), "{err}");
    }
    for channel in ["../x", "/abs", "CON", "stable.", "st\0able", long.as_str()] {
        let err = fx.publish(&*store, "1.0.0", Some(channel)).unwrap_err();
        assert!(
            matches!(err, PublishError::BadChannel(_)),
            "{channel:?}: {err}"
        );
    }
    assert!(
        fs::read_dir(store_root.path()).unwrap().next().is_none(),
        "the store was written"
    );
}
