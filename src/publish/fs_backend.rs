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
//! crash are invisible to readers and removed by the next publish (under the lock).

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::crash::crash_point;
use super::lock::LOCK_FILE;
use super::names::display_join;
use super::store::{Revision, SourceFile, Store, StoreError, StoredObject, VersionListing};
use crate::digest::{HashingWriter, Sha256Digest};

/// A release store in a folder: `/srv/releases`, `\\server\share\releases`, a mounted share.
#[derive(Debug, Clone)]
pub struct FolderStore {
    root: PathBuf,
    display_root: String,
}

const STAGING_PREFIX: &str = ".staging-";
const TEMP_MARK: &str = ".tmp-";
const LOCK_NEW_PREFIX: &str = ".lock.new-";
const LOCK_BROKEN_PREFIX: &str = ".lock.broken-";
const CHANNELS_DIR: &str = "channels";

impl FolderStore {
    /// A store rooted at `root`, which must exist when publishing.
    pub fn new(root: impl Into<PathBuf>) -> FolderStore {
        let root = root.into();
        let display_root = root.to_string_lossy().into_owned();
        FolderStore { root, display_root }
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
            Err(source) => return Err(io_error("creating", dir, source)),
        }
        sync_dir(&parent).map_err(|e| io_error("syncing", &parent, e))
    }
}

fn io_error(context: &'static str, path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a folder's entries (new names, renames) durable. Windows has no directory fsync
/// (NTFS journals metadata), and some network file systems refuse it; neither is an error.
fn sync_dir(dir: &Path) -> io::Result<()> {
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
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

fn sha256_revision(bytes: &[u8]) -> Revision {
    Revision(Sha256Digest::of(bytes).to_hex())
}

/// Reads at most `max` bytes; `None` when the file does not exist.
fn read_object(path: &Path, max: u64) -> Result<Option<StoredObject>, StoreError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error("reading", path, source)),
    };
    let modified = file.metadata().and_then(|m| m.modified()).ok();
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("reading", path, e))?;
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

/// Writes a new file completely and durably: create-new, write, fsync.
fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Copies `source` to the new file `dest`, hashing what it reads; refuses bytes other than
/// the verified ones.
fn copy_verified(source: &SourceFile, dest: &Path) -> Result<(), StoreError> {
    let mut reader =
        fs::File::open(&source.path).map_err(|e| io_error("reading", &source.path, e))?;
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| io_error("creating", dest, e))?;
    // Readable by every account (Group Policy reads as the computer account), whatever the
    // publisher's umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| io_error("setting permissions of", dest, e))?;
    }
    let mut writer = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, file));
    io::copy(&mut reader, &mut writer).map_err(|e| io_error("copying to", dest, e))?;
    let (buffered, digest) = writer.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| io_error("writing", dest, e.into_error()))?;
    file.sync_all().map_err(|e| io_error("syncing", dest, e))?;
    if digest.sha256 != source.sha256 {
        return Err(StoreError::SourceChanged {
            path: source.path.clone(),
            expected: source.sha256,
            found: digest.sha256,
        });
    }
    Ok(())
}

fn is_leftover(name: &str) -> bool {
    name.starts_with(STAGING_PREFIX)
        || (name.starts_with('.') && name.contains(TEMP_MARK))
        || name.starts_with(LOCK_NEW_PREFIX)
        || name.starts_with(LOCK_BROKEN_PREFIX)
}

/// Entries of `dir` as (name, is_dir); empty when `dir` does not exist.
fn entries(dir: &Path) -> Result<Vec<(String, bool)>, StoreError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io_error("listing", dir, source)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| io_error("listing", dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue; // not a name winrelease writes
        };
        let is_dir = entry
            .file_type()
            .map(|t| t.is_dir())
            .map_err(|e| io_error("listing", dir, e))?;
        out.push((name, is_dir));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn sort_versions(versions: &mut [String]) {
    versions.sort_by(
        |a, b| match (semver::Version::parse(a), semver::Version::parse(b)) {
            (Ok(x), Ok(y)) => x.cmp_precedence(&y).then_with(|| a.cmp(b)),
            _ => a.cmp(b),
        },
    );
}

impl Store for FolderStore {
    fn location(&self) -> String {
        self.display_root.clone()
    }

    fn display_path(&self, parts: &[&str]) -> String {
        display_join(&self.display_root, parts)
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
        let temp = parent.join(format!(".{name}{TEMP_MARK}{}", unique_suffix()));
        write_new_synced(&temp, bytes).map_err(|e| io_error("writing", &temp, e))?;
        crash_point(&format!("{step}-temp-written"));
        if let Err(source) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(io_error("replacing", &path, source));
        }
        sync_dir(&parent).map_err(|e| io_error("syncing", &parent, e))
    }

    fn create_version(
        &self,
        product: &str,
        version: &str,
        files: &[SourceFile],
    ) -> Result<(), StoreError> {
        let product_dir = self.product_dir(product);
        let target = product_dir.join(version);
        if target.exists() {
            return Err(StoreError::AlreadyExists {
                location: target.display().to_string(),
            });
        }
        self.ensure_dir(&product_dir)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(
                "{STAGING_PREFIX}{version}-{}-",
                std::process::id()
            ))
            .tempdir_in(&product_dir)
            .map_err(|e| io_error("creating a staging folder in", &product_dir, e))?;
        // tempfile makes it 0700; the published version must be listable by every account.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
                .map_err(|e| io_error("setting permissions of", staging.path(), e))?;
        }
        crash_point("staging-created");
        for file in files {
            copy_verified(file, &staging.path().join(&file.name))?;
            crash_point("file-copied");
        }
        sync_dir(staging.path()).map_err(|e| io_error("syncing", staging.path(), e))?;
        crash_point("staged");
        // From here on the staging folder is renamed, not deleted, on success.
        let staging = staging.keep();
        if let Err(source) = fs::rename(&staging, &target) {
            let _ = fs::remove_dir_all(&staging);
            return Err(if target.exists() {
                StoreError::AlreadyExists {
                    location: target.display().to_string(),
                }
            } else {
                io_error("renaming the staged version to", &target, source)
            });
        }
        crash_point("version-renamed");
        sync_dir(&product_dir).map_err(|e| io_error("syncing", &product_dir, e))
    }

    fn fetch_version(
        &self,
        product: &str,
        version: &str,
        _scratch: &Path,
    ) -> Result<PathBuf, StoreError> {
        Ok(self.product_dir(product).join(version))
    }

    fn clean_leftovers(&self, product: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.product_dir(product);
        let listing = self.list_versions(product)?;
        for name in &listing.leftovers {
            let path = self.path(&format!("{product}/{name}"));
            let result = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(io_error("removing the leftover", &path, source)),
            }
        }
        if !listing.leftovers.is_empty() {
            sync_dir(&dir).map_err(|e| io_error("syncing", &dir, e))?;
        }
        Ok(listing.leftovers)
    }

    fn lock_create(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let dir = self.product_dir(product);
        self.ensure_dir(&dir)?;
        // Written completely under a temporary name, then hard-linked to `.lock`: linking
        // never replaces an existing file, and the lock never exists half-written.
        let temp = dir.join(format!("{LOCK_NEW_PREFIX}{}", unique_suffix()));
        write_new_synced(&temp, bytes).map_err(|e| io_error("writing", &temp, e))?;
        crash_point("lock-temp-written");
        let lock = dir.join(LOCK_FILE);
        let linked = fs::hard_link(&temp, &lock);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                sync_dir(&dir).map_err(|e| io_error("syncing", &dir, e))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            // The lock holder removed our temporary file as a leftover: not ours yet, retry.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            // A file system without hard links: create-new is as exclusive, only the content
            // may be seen empty for a moment (an unreadable lock is judged by its age).
            Err(_) => match write_new_synced(&lock, bytes) {
                Ok(()) => {
                    sync_dir(&dir).map_err(|e| io_error("syncing", &dir, e))?;
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                // Seen under load with two publishers in one process: treat a vanished path
                // like a held lock and let the caller's bounded wait retry.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(source) => Err(io_error("creating the lock", &lock, source)),
            },
        }
    }

    fn lock_read(&self, product: &str) -> Result<Option<StoredObject>, StoreError> {
        read_object(&self.product_dir(product).join(LOCK_FILE), 64 * 1024)
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
        // stale: another waiter may have broken it and taken a fresh one in between.
        let aside = dir.join(format!("{LOCK_BROKEN_PREFIX}{}", unique_suffix()));
        match fs::rename(&lock, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return self.lock_create(product, bytes)
            }
            Err(source) => return Err(io_error("breaking the stale lock", &lock, source)),
        }
        let moved = read_object(&aside, 64 * 1024)?;
        if moved.as_ref().map(|m| &m.revision) == Some(&stale.revision) {
            let _ = fs::remove_file(&aside);
            return self.lock_create(product, bytes);
        }
        // Not the stale lock: put it back unless yet another lock appeared meanwhile.
        let _ = fs::hard_link(&aside, &lock);
        let _ = fs::remove_file(&aside);
        Ok(false)
    }

    fn lock_release(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let dir = self.product_dir(product);
        let lock = dir.join(LOCK_FILE);
        match read_object(&lock, 64 * 1024)? {
            Some(current) if current.bytes == bytes => {
                fs::remove_file(&lock).map_err(|e| io_error("removing the lock", &lock, e))?;
                sync_dir(&dir).map_err(|e| io_error("syncing", &dir, e))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
