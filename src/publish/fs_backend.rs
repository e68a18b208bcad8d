//! The folder backend: a local folder or a mounted share (what Group Policy reads).
//!
//! Atomicity comes from `rename` within one volume: a version is copied into
//! `<product>/.staging-<version>-<pid>-<random>/`, every file and the folder are fsynced, and
//! the folder is renamed to `<product>/<version>/` (a directory rename never replaces a
//! non-empty directory, so an existing version is never overwritten). Pointer and index files
//! are written to a temporary file next to them, fsynced and renamed over the old one. The
//! parent folder is fsynced after each rename so the new name survives a power cut.
//!
//! Names starting with `.` are never versions: staging folders and temporary files left by a
//! crash are invisible to readers and removed by the next publish (under the lock). The lock
//! files publishers write while they wait (`.lock.new-*`, outside the lock) are removed only
//! when the process they name is gone, by the rule that breaks a stale `.lock`: removing a
//! live waiter's file was the cause of the "creating the lock: NotFound" flake.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::crash::CrashHook;
use super::lock::LOCK_FILE;
use super::names::{display_join, sort_versions};
use super::store::{
    check_copied, Revision, SourceFile, Store, StoreError, StoredObject, VersionListing,
};
use crate::digest::{HashingWriter, Sha256Digest};
use crate::fsio::{set_file_mode, set_mode, IoContext, IoError};

/// A release store in a folder: `/srv/releases`, `\\server\share\releases`, a mounted share.
#[derive(Debug, Clone)]
pub struct FolderStore {
    root: PathBuf,
    display_root: String,
    crash: CrashHook,
}

const STAGING_PREFIX: &str = ".staging-";
const TEMP_MARK: &str = ".tmp-";
const LOCK_NEW_PREFIX: &str = ".lock.new-";
const LOCK_BROKEN_PREFIX: &str = ".lock.broken-";
const CHANNELS_DIR: &str = "channels";
/// Largest lock file read.
const MAX_LOCK_BYTES: u64 = 64 * 1024;

impl FolderStore {
    /// A store rooted at `root`, which must exist when publishing.
    pub fn new(root: impl Into<PathBuf>) -> FolderStore {
        let root = root.into();
        let display_root = root.to_string_lossy().into_owned();
        FolderStore {
            root,
            display_root,
            crash: CrashHook::default(),
        }
    }

    /// The same store, aborting the process at the step `crash` names (tests).
    pub fn with_crash_hook(mut self, crash: CrashHook) -> FolderStore {
        self.crash = crash;
        self
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        let mut path = self.root.clone();
        for part in key.split('/') {
            path.push(part);
        }
        path
    }

    fn product_dir(&self, product: &str) -> PathBuf {
        self.root.join(product)
    }

    /// Creates the product folder (and its `channels/` when asked), syncing the parents so the
    /// new folder names are durable.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(&self.root).to_path_buf();
        if parent != self.root {
            self.ensure_dir(&parent)?;
        }
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(source) => return Err(IoError::new("creating", dir, source).into()),
        }
        Ok(sync_dir(&parent)?)
    }

    /// Copies `files` into a new staging folder of `product_dir`, synced; kept on success (the
    /// caller renames it).
    fn stage(
        &self,
        product_dir: &Path,
        version: &str,
        files: &[SourceFile],
    ) -> Result<PathBuf, StoreError> {
        let staging = tempfile::Builder::new()
            .prefix(&format!(
                "{STAGING_PREFIX}{version}-{}-",
                std::process::id()
            ))
            .tempdir_in(product_dir)
            .at("creating a staging folder in", product_dir)?;
        // tempfile makes it 0700; the published version must be listable by every account.
        set_mode(staging.path(), 0o755).at("setting permissions of", staging.path())?;
        self.crash.reach("staging-created");
        for file in files {
            copy_verified(file, &staging.path().join(&file.name))?;
            self.crash.reach("file-copied");
        }
        sync_dir(staging.path())?;
        self.crash.reach("staged");
        // From here on the staging folder is renamed, not deleted, on success.
        Ok(staging.keep())
    }

    /// Links the complete lock file `temp` to `.lock`; `false` if a lock exists.
    ///
    /// `temp` is ours until we remove it: leftover cleanup removes only lock files whose
    /// holder is gone ([`FolderStore::lock_file_abandoned`]), so a publisher cleaning up while
    /// we wait never deletes it. A vanished `temp` or product folder (removed by hand) is
    /// therefore an error, not a reason to try again.
    fn link_lock(&self, dir: &Path, temp: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
        let lock = dir.join(LOCK_FILE);
        let created = match fs::hard_link(temp, &lock) {
            Err(e)
                if !matches!(
                    e.kind(),
                    io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
                ) =>
            {
                // A file system without hard links: create-new is as exclusive, only the
                // content may be seen empty for a moment (an unreadable lock is judged by its
                // age).
                write_new_synced(&lock, bytes)
            }
            other => other,
        };
        match created {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(source) => return Err(IoError::new("creating the lock", &lock, source).into()),
        }
        sync_dir(dir)?;
        Ok(true)
    }

    /// Whether the lock file at `path` (a waiter's `.lock.new-*` or a breaker's
    /// `.lock.broken-*`) belongs to no running publisher, by the rule that judges `.lock`
    /// itself: `abandoned` is [`super::lock::stale_reason`] with the publisher's settings.
    fn lock_file_abandoned(
        path: &Path,
        abandoned: &dyn Fn(&StoredObject) -> bool,
    ) -> Result<bool, StoreError> {
        match read_object(path, MAX_LOCK_BYTES) {
            Ok(Some(object)) => Ok(abandoned(&object)),
            Ok(None) => Ok(false), // its owner removed it meanwhile
            Err(StoreError::TooLarge { .. }) => Ok(true), // not a lock winrelease wrote
            Err(e) => Err(e),
        }
    }
}

/// Makes a folder's entries (new names, renames) durable. Windows has no directory fsync
/// (NTFS journals metadata), and some network file systems refuse it; neither is an error.
fn sync_dir(dir: &Path) -> Result<(), IoError> {
    #[cfg(unix)]
    {
        match fs::File::open(dir).and_then(|d| d.sync_all()) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(22 /* EINVAL */) | Some(95 /* EOPNOTSUPP */)
                ) =>
            {
                Ok(())
            }
            other => other.at("syncing", dir),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn sha256_revision(bytes: &[u8]) -> Revision {
    Revision(Sha256Digest::of(bytes).to_hex())
}

/// Reads at most `max` bytes; `None` when the file does not exist. A symbolic link is refused,
/// not followed: nothing outside the store is ever read (or, by a later replace, trusted).
fn read_object(path: &Path, max: u64) -> Result<Option<StoredObject>, StoreError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(StoreError::Link {
            location: path.display().to_string(),
        });
    }
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(IoError::new("reading", path, source).into()),
    };
    let modified = file.metadata().and_then(|m| m.modified()).ok();
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .at("reading", path)?;
    if bytes.len() as u64 > max {
        return Err(StoreError::TooLarge {
            location: path.display().to_string(),
            max,
        });
    }
    Ok(Some(StoredObject {
        revision: sha256_revision(&bytes),
        bytes,
        modified,
    }))
}

/// Writes `bytes` to `file` completely and durably, readable by every account (Group Policy
/// reads as the computer account), whatever the publisher's umask.
fn write_synced(mut file: &fs::File, bytes: &[u8]) -> io::Result<()> {
    set_file_mode(file, 0o644)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes a new file completely and durably: create-new, write, fsync.
fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    write_synced(&file, bytes)
}

/// A new, complete and synced file with a unique name starting with `prefix` in `dir`
/// (removed when dropped, unless renamed away).
fn write_temp(dir: &Path, prefix: &str, bytes: &[u8]) -> Result<tempfile::NamedTempFile, IoError> {
    let temp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(dir)
        .at("writing a temporary file in", dir)?;
    write_synced(temp.as_file(), bytes).at("writing", temp.path())?;
    Ok(temp)
}

/// Copies `source` to the new file `dest`, hashing what it reads; refuses bytes other than
/// the verified ones.
fn copy_verified(source: &SourceFile, dest: &Path) -> Result<(), StoreError> {
    let mut reader = fs::File::open(&source.path).at("reading", &source.path)?;
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .at("creating", dest)?;
    // Readable by every account (Group Policy reads as the computer account), whatever the
    // publisher's umask.
    set_file_mode(&file, 0o644).at("setting permissions of", dest)?;
    let mut writer = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, file));
    io::copy(&mut reader, &mut writer).at("copying to", dest)?;
    let (buffered, digest) = writer.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| IoError::new("writing", dest, e.into_error()))?;
    file.sync_all().at("syncing", dest)?;
    check_copied(source, digest.sha256)
}

fn is_leftover(name: &str) -> bool {
    name.starts_with(STAGING_PREFIX)
        || (name.starts_with('.') && name.contains(TEMP_MARK))
        || is_lock_file(name)
}

/// A waiter's lock file about to be linked to `.lock`, or a broken lock moved aside.
fn is_lock_file(name: &str) -> bool {
    name.starts_with(LOCK_NEW_PREFIX) || name.starts_with(LOCK_BROKEN_PREFIX)
}

/// Entries of `dir` as (name, is_dir); empty when `dir` does not exist.
fn entries(dir: &Path) -> Result<Vec<(String, bool)>, StoreError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(IoError::new("listing", dir, source).into()),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.at("listing", dir)?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue; // not a name winrelease writes
        };
        let is_dir = entry.file_type().map(|t| t.is_dir()).at("listing", dir)?;
        out.push((name, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Removes a leftover file or folder; one already gone is fine.
fn remove_leftover(path: &Path) -> Result<(), IoError> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other.at("removing the leftover", path),
    }
}

impl Store for FolderStore {
    fn location(&self) -> String {
        self.display_root.clone()
    }

    fn display_path(&self, parts: &[&str]) -> String {
        display_join(&self.display_root, parts)
    }

    fn crash_hook(&self) -> &CrashHook {
        &self.crash
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        if !self.root.is_dir() {
            return Err(StoreError::Missing {
                path: self.root.clone(),
            });
        }
        // Only an actual write tells (permissions, ACLs, read-only mounts).
        let probe = tempfile::Builder::new()
            .prefix(".winrelease-probe.tmp-")
            .tempfile_in(&self.root)
            .map_err(|source| StoreError::NotWritable {
                path: self.root.clone(),
                source,
            })?;
        drop(probe);
        Ok(())
    }

    fn list_products(&self) -> Result<Vec<String>, StoreError> {
        if !self.root.is_dir() {
            return Err(StoreError::Missing {
                path: self.root.clone(),
            });
        }
        Ok(entries(&self.root)?
            .into_iter()
            .filter(|(name, is_dir)| *is_dir && !name.starts_with('.'))
            .map(|(name, _)| name)
            .collect())
    }

    fn list_versions(&self, product: &str) -> Result<VersionListing, StoreError> {
        let dir = self.product_dir(product);
        let mut listing = VersionListing::default();
        for (name, is_dir) in entries(&dir)? {
            if is_leftover(&name) {
                listing.leftovers.push(name);
            } else if is_dir && semver::Version::parse(&name).is_ok() {
                listing.complete.push(name);
            }
        }
        for (name, _) in entries(&dir.join(CHANNELS_DIR))? {
            if is_leftover(&name) {
                listing.leftovers.push(format!("{CHANNELS_DIR}/{name}"));
            }
        }
        sort_versions(&mut listing.complete);
        Ok(listing)
    }

    fn list_channels(&self, product: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.product_dir(product).join(CHANNELS_DIR);
        Ok(entries(&dir)?
            .into_iter()
            .filter(|(name, is_dir)| !is_dir && !name.starts_with('.'))
            .filter_map(|(name, _)| name.strip_suffix(".json").map(str::to_string))
            .collect())
    }

    fn read(&self, key: &str, max: u64) -> Result<Option<StoredObject>, StoreError> {
        read_object(&self.path(key), max)
    }

    fn replace(
        &self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Revision>,
        step: &str,
    ) -> Result<(), StoreError> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        // The lock makes this compare-and-swap safe; the comparison catches a publisher that
        // went on after its lock was broken.
        let current = read_object(&path, u64::MAX - 1)?.map(|o| o.revision);
        if current.as_ref() != expected {
            return Err(StoreError::Conflict {
                location: path.display().to_string(),
            });
        }
        self.ensure_dir(&parent)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = write_temp(&parent, &format!(".{name}{TEMP_MARK}"), bytes)?;
        self.crash.reach(&format!("{step}-temp-written"));
        // A failed rename drops (removes) the temporary file.
        temp.persist(&path)
            .map_err(|e| IoError::new("replacing", &path, e.error))?;
        Ok(sync_dir(&parent)?)
    }

    fn create_version(
        &self,
        product: &str,
        version: &str,
        files: &[SourceFile],
    ) -> Result<(), StoreError> {
        let product_dir = self.product_dir(product);
        let target = product_dir.join(version);
        let exists = || StoreError::AlreadyExists {
            location: target.display().to_string(),
        };
        if target.exists() {
            return Err(exists());
        }
        self.ensure_dir(&product_dir)?;
        let staging = self.stage(&product_dir, version, files)?;
        if let Err(source) = fs::rename(&staging, &target) {
            let _ = fs::remove_dir_all(&staging);
            return Err(if target.exists() {
                exists()
            } else {
                IoError::new("renaming the staged version to", &target, source).into()
            });
        }
        self.crash.reach("version-renamed");
        Ok(sync_dir(&product_dir)?)
    }

    fn fetch_version(
        &self,
        product: &str,
        version: &str,
        _scratch: &Path,
    ) -> Result<PathBuf, StoreError> {
        Ok(self.product_dir(product).join(version))
    }

    fn clean_leftovers(
        &self,
        product: &str,
        abandoned: &dyn Fn(&StoredObject) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let listing = self.list_versions(product)?;
        let mut removed = Vec::new();
        for name in listing.leftovers {
            let path = self.path(&format!("{product}/{name}"));
            // Staging folders and temporary documents are made only under the lock, so every
            // one found is a crash's; lock files are made by waiters, outside the lock.
            if is_lock_file(&name) && !Self::lock_file_abandoned(&path, abandoned)? {
                continue;
            }
            remove_leftover(&path)?;
            removed.push(name);
        }
        if !removed.is_empty() {
            sync_dir(&self.product_dir(product))?;
        }
        Ok(removed)
    }

    fn lock_create(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let dir = self.product_dir(product);
        self.ensure_dir(&dir)?;
        // Written completely under a temporary name, then hard-linked to `.lock`: linking
        // never replaces an existing file, and the lock never exists half-written. The
        // temporary file is removed when `temp` drops.
        let temp = write_temp(&dir, LOCK_NEW_PREFIX, bytes)?;
        self.crash.reach("lock-temp-written");
        self.link_lock(&dir, temp.path(), bytes)
    }

    fn lock_read(&self, product: &str) -> Result<Option<StoredObject>, StoreError> {
        read_object(&self.product_dir(product).join(LOCK_FILE), MAX_LOCK_BYTES)
    }

    fn lock_break(
        &self,
        product: &str,
        stale: &StoredObject,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        let dir = self.product_dir(product);
        let lock = dir.join(LOCK_FILE);
        // Move it aside first (atomic), then check that what was moved is the lock judged
        // stale: another waiter may have broken it and taken a fresh one in between. The
        // moved-aside file is removed when `aside` drops.
        let aside = match tempfile::Builder::new()
            .prefix(LOCK_BROKEN_PREFIX)
            .make_in(&dir, |aside| fs::rename(&lock, aside))
        {
            Ok(moved) => moved.into_temp_path(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return self.lock_create(product, bytes)
            }
            Err(source) => {
                return Err(IoError::new("breaking the stale lock", &lock, source).into())
            }
        };
        let moved = read_object(&aside, MAX_LOCK_BYTES)?;
        if moved.as_ref().map(|m| &m.revision) == Some(&stale.revision) {
            drop(aside);
            return self.lock_create(product, bytes);
        }
        // Not the stale lock: put it back unless yet another lock appeared meanwhile.
        let _ = fs::hard_link(&aside, &lock);
        Ok(false)
    }

    fn lock_release(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let dir = self.product_dir(product);
        let lock = dir.join(LOCK_FILE);
        match read_object(&lock, MAX_LOCK_BYTES)? {
            Some(current) if current.bytes == bytes => {
                fs::remove_file(&lock).at("removing the lock", &lock)?;
                sync_dir(&dir)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::publish::environment::{Clock, PublishEnvironment};
    use crate::publish::lock::{stale_reason, LockInfo, LockOptions};

    /// 2027-01-15T08:00:00Z, standing still.
    const NOW: u64 = 1_800_000_000;

    #[derive(Debug)]
    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(NOW)
        }
        fn instant(&self) -> Instant {
            unreachable!("judging lock files reads no monotonic clock")
        }
        fn sleep(&self, _: Duration) {}
    }

    fn lock_file(host: &str, pid: u32, acquired: u64) -> Vec<u8> {
        LockInfo {
            host: host.into(),
            pid,
            acquired: acquired as i64,
            token: format!("{pid}-{acquired}"),
        }
        .to_bytes()
    }

    /// The flake "creating the lock: NotFound": a publisher's cleanup (under the lock) removed
    /// the `.lock.new-*` file a waiter had just written, before the waiter linked it to
    /// `.lock`. Cleanup now removes only lock files whose holder is gone.
    #[test]
    fn cleanup_spares_the_lock_files_of_waiters_that_still_run() {
        let root = tempfile::tempdir().unwrap();
        let store = FolderStore::new(root.path());
        let dir = root.path().join("Hello Service");
        fs::create_dir(&dir).unwrap();
        let mut finished = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = finished.id();
        finished.wait().unwrap();
        let three_hours_ago = NOW - 3 * 3600;
        let files: [(&str, Vec<u8>, bool); 6] = [
            (
                ".lock.new-live",
                lock_file("this-host", std::process::id(), NOW),
                true,
            ),
            (".lock.new-writing", Vec::new(), true),
            (
                ".lock.new-dead",
                lock_file("this-host", dead_pid, NOW),
                false,
            ),
            (
                ".lock.new-other-host-old",
                lock_file("other-host", 1, three_hours_ago),
                false,
            ),
            (".lock.broken-live", lock_file("other-host", 1, NOW), true),
            (".lock.new-unreadable-old", b"{".to_vec(), false),
        ];
        for (name, bytes, _) in &files {
            let path = dir.join(name);
            fs::write(&path, bytes).unwrap();
            // Written just now by the fixed clock, but for the old unreadable one.
            let written = if name.ends_with("-old") {
                three_hours_ago
            } else {
                NOW
            };
            let file = fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(UNIX_EPOCH + Duration::from_secs(written))
                .unwrap();
        }
        fs::create_dir(dir.join(".staging-1.0.0-1-abc")).unwrap();

        let owner = PublishEnvironment {
            s3: Default::default(),
            crash_at: None,
            host: "this-host".into(),
            temp_dir: root.path().to_path_buf(),
            clock: Arc::new(FixedClock),
        };
        let options = LockOptions::default();
        let abandoned = |lock: &StoredObject| stale_reason(lock, &options, &owner).is_some();
        let mut removed = store.clean_leftovers("Hello Service", &abandoned).unwrap();
        removed.sort();
        let mut expected: Vec<&str> = files
            .iter()
            .filter(|(_, _, kept)| !kept)
            .map(|(name, _, _)| *name)
            .chain([".staging-1.0.0-1-abc"])
            .collect();
        expected.sort();
        assert_eq!(removed, expected);
        for (name, _, kept) in &files {
            assert_eq!(dir.join(name).exists(), *kept, "{name}");
        }
    }

    /// Without the retry that hid the flake, a lock file pulled away is an error naming it.
    #[test]
    fn a_vanished_lock_file_is_an_error_naming_the_lock() {
        let root = tempfile::tempdir().unwrap();
        let store = FolderStore::new(root.path());
        let err = store
            .link_lock(root.path(), &root.path().join(".lock.new-gone"), b"{}")
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("creating the lock") && text.contains(".lock"),
            "{text}"
        );
        assert!(!root.path().join(LOCK_FILE).exists());
    }
}
