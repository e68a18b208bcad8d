//! The zip stage: `<exe>_<version>_windows_amd64.zip` with the release's file set (every exe,
//! the default config, the extra files and empty folders of [`crate::payload`], all in one
//! folder: the install and data locations are the same place in a portable copy), a short
//! README and the project's license, for admins who run the service without installing it.
//! [`portable_zip`] writes it into the version folder, where the trust stage covers it like the
//! exe and the MSI.
//!
//! Same inputs → same bytes: entries are sorted by name, every entry carries the commit time
//! (as a DOS time, clamped to the 1980–2107 range DOS times can hold), Unix permissions 0644
//! (0755 for the exe) with "made by Unix" so the building OS does not leak in, and deflate is
//! the only method. The archive is built in memory, then written through
//! [`HashingWriter`] to a temporary file that is renamed into place.
//!
//! *Invariant:* same inputs, same bytes (no building machine's clock, OS or umask leaks in), and
//! the zip appears at its path complete or not at all.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::config::Project;
use crate::digest::{FileDigest, HashingWriter};
use crate::fsio::{set_mode, IoContext, IoError};
use crate::payload::{FileSet, Payload};
use crate::service_config::DefaultConfig;
use crate::stamp::Versioned;
use crate::stamp::{civil_from_days, rfc3339_utc, Stamp};
/// Name of the generated README inside the zip.
pub const README_ENTRY: &str = "README.txt";
/// Name of the license inside the zip (whatever the project calls its license file).
pub const LICENSE_ENTRY: &str = "LICENSE.txt";
/// License file names looked for, in order, by [`find_license`].
pub const LICENSE_CANDIDATES: [&str; 6] = [
    "LICENSE",
    "LICENSE.txt",
    "LICENSE.md",
    "LICENCE",
    "COPYING",
    "COPYING.txt",
];

/// Deflate level: the zip is written once per release, so size wins over speed.
const DEFLATE_LEVEL: i64 = 9;

/// The portable zip's file name: `<exe>_<version>_windows_amd64.zip`.
pub fn zip_file_name(exe_name: &str, version: &semver::Version) -> String {
    format!("{exe_name}_{version}_windows_amd64.zip")
}

/// Errors of rendering the config template and writing the zip.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{first} and {second} would both be {entry} in the portable zip, which keeps the install and data folders in one\nfix: give one of them another name or `dst`")]
    Clash {
        first: String,
        second: String,
        entry: String,
    },
    #[error("writing the zip {path}: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
}

/// The project's license file, if it has one: the first of [`LICENSE_CANDIDATES`] found in
/// `service_dir`, then in `root`.
pub fn find_license(root: &Path, service_dir: &Path) -> Option<PathBuf> {
    [service_dir, root]
        .iter()
        .flat_map(|dir| LICENSE_CANDIDATES.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}

/// Everything that goes into the portable zip.
#[derive(Debug, Clone)]
pub struct ZipRequest<'a> {
    /// Every exe as (base name, built file); the first is the service. Entries: `<name>.exe`.
    pub exes: Vec<(&'a str, &'a Path)>,
    pub product: &'a str,
    /// Version, commit and the commit time every entry is dated with.
    pub stamp: &'a Stamp,
    /// The rendered default config, if the service has one.
    pub config: Option<&'a DefaultConfig>,
    /// Extra files and empty folders.
    pub payload: &'a Payload,
    /// The license file to include as `LICENSE.txt`, if any ([`find_license`]).
    pub license: Option<&'a Path>,
}

/// What [`write_zip`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenZip {
    pub path: PathBuf,
    pub digest: FileDigest,
    /// Entry names, in archive order.
    pub entries: Vec<String>,
}

/// The zip stage of a release: the portable zip of the file set, with the project's license,
/// written into the version folder next to the exe.
pub fn portable_zip(
    project: &Project,
    versioned: &Versioned,
    set: FileSet<'_>,
) -> Result<WrittenZip, ZipError> {
    let config = &project.config;
    let license = find_license(&project.root, &project.service_dir());
    let request = ZipRequest {
        exes: set
            .exes
            .all()
            .map(|e| (e.exe_name.as_str(), e.path.as_path()))
            .collect(),
        product: &config.product,
        stamp: &versioned.stamp,
        config: set.config,
        payload: set.payload,
        license: license.as_deref(),
    };
    let path = project
        .version_dir(&versioned.stamp.version)
        .join(zip_file_name(&config.exe_name, &versioned.stamp.version));
    write_zip(&request, &path)
}

/// Writes the portable zip to `path` (complete or not at all) and returns its digest.
pub fn write_zip(request: &ZipRequest, path: &Path) -> Result<WrittenZip, ZipError> {
    let entries = entries(request)?;
    let archive = archive(&entries, request.stamp.commit_time, path)?;
    let digest = write_readable(&archive, path)?;
    Ok(WrittenZip {
        path: path.to_path_buf(),
        digest,
        entries: entries.into_iter().map(|e| e.name).collect(),
    })
}

/// One zip entry: name (a folder's ends in `/`), bytes, Unix mode, and what it came from.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    mode: u32,
    from: String,
}

impl Entry {
    fn new(name: String, bytes: Vec<u8>, mode: u32, from: impl Into<String>) -> Entry {
        Entry {
            name,
            bytes,
            mode,
            from: from.into(),
        }
    }
}

/// The entries, sorted by name: the exes, the config, the extra files and folders, the README
/// and the license. Two sources for one entry name (compared as Windows does) are refused.
fn entries(request: &ZipRequest) -> Result<Vec<Entry>, ZipError> {
    let mut entries = Vec::new();
    for (name, path) in &request.exes {
        let bytes = fs::read(path).at("reading", path)?;
        let from = path.display().to_string();
        entries.push(Entry::new(format!("{name}.exe"), bytes, 0o755, from));
    }
    if let Some(config) = request.config {
        let bytes = config.text.clone().into_bytes();
        let from = config.template.display().to_string();
        entries.push(Entry::new(config.file_name.clone(), bytes, 0o644, from));
    }
    for file in &request.payload.files {
        let bytes = fs::read(&file.source).at("reading", &file.source)?;
        let from = file.source.display().to_string();
        entries.push(Entry::new(file.relative_path(), bytes, 0o644, from));
    }
    for folder in &request.payload.folders {
        let name = format!("{}/", folder.path.join("/"));
        entries.push(Entry::new(name, Vec::new(), 0o755, "`folders`"));
    }
    let readme = readme(request).into_bytes();
    entries.push(Entry::new(README_ENTRY.into(), readme, 0o644, "the README"));
    if let Some(license) = request.license {
        let bytes = fs::read(license).at("reading the license", license)?;
        let from = license.display().to_string();
        entries.push(Entry::new(LICENSE_ENTRY.into(), bytes, 0o644, from));
    }
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    refuse_clashes(&entries)?;
    Ok(entries)
}

/// Windows compares names without case: two entries that differ only in case are one file.
fn refuse_clashes(entries: &[Entry]) -> Result<(), ZipError> {
    let mut seen: BTreeMap<String, &Entry> = BTreeMap::new();
    for entry in entries {
        if let Some(first) = seen.insert(entry.name.to_uppercase(), entry) {
            return Err(ZipError::Clash {
                first: first.from.clone(),
                second: entry.from.clone(),
                entry: entry.name.clone(),
            });
        }
    }
    Ok(())
}

/// The archive's bytes, every entry deflated and dated `commit_time`; `path` names the zip in
/// errors.
fn archive(entries: &[Entry], commit_time: i64, path: &Path) -> Result<Vec<u8>, ZipError> {
    let zip_err = |source| ZipError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let time = dos_time(commit_time);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(time)
            .system(System::Unix)
            .unix_permissions(entry.mode)
            .large_file(entry.bytes.len() as u64 >= u32::MAX as u64);
        if let Some(folder) = entry.name.strip_suffix('/') {
            zip.add_directory(folder, options).map_err(zip_err)?;
            continue;
        }
        zip.start_file(entry.name.as_str(), options)
            .map_err(zip_err)?;
        zip.write_all(&entry.bytes).map_err(|e| zip_err(e.into()))?;
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

/// Writes `archive` to a temporary file next to `path`, hashing it on the way, makes it
/// world-readable (temporary files are created 0600; a published zip is read like the exe)
/// and renames it to `path`.
fn write_readable(archive: &[u8], path: &Path) -> Result<FileDigest, IoError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at("creating", dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(".winrelease-zip-")
        .tempfile_in(dir)
        .at("creating a temporary file next to", path)?;
    let (tmp_file, tmp_path) = tmp.into_parts();
    let mut writer = HashingWriter::new(io::BufWriter::new(tmp_file));
    writer.write_all(archive).at("writing", &tmp_path)?;
    let (buffered, digest) = writer.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| IoError::new("writing", &*tmp_path, e.into_error()))?;
    file.sync_all().at("writing", &tmp_path)?;
    drop(file);
    set_mode(&tmp_path, 0o644).at("setting permissions of", &tmp_path)?;
    tmp_path
        .persist(path)
        .map_err(|e| IoError::new("moving the zip to", path, e.error))?;
    Ok(digest)
}

/// The commit time as a DOS date-time (UTC; DOS times have no zone), clamped to what the
/// format can hold.
pub fn dos_time(unix_seconds: i64) -> DateTime {
    let days = unix_seconds.div_euclid(86_400);
    let rem = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let built = if year < 1980 {
        None
    } else if year > 2107 {
        DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).ok()
    } else {
        DateTime::from_date_and_time(
            year as u16,
            month as u8,
            day as u8,
            (rem / 3600) as u8,
            (rem % 3600 / 60) as u8,
            (rem % 60) as u8,
        )
        .ok()
    };
    built.unwrap_or_else(DateTime::default)
}

/// README.txt: what is in the zip and how to run it (CRLF, for Notepad on older Windows).
fn readme(request: &ZipRequest) -> String {
    let stamp = request.stamp;
    let title = format!("{} {} (portable)", request.product, stamp.version);
    let service_exe = request
        .exes
        .first()
        .map_or_else(String::new, |(name, _)| format!("{name}.exe"));
    let mut files = vec![format!("  {service_exe:<14} the program")];
    for (name, _) in request.exes.iter().skip(1) {
        files.push(format!(
            "  {:<14} a tool shipped with it",
            format!("{name}.exe")
        ));
    }
    if let Some(config) = request.config {
        files.push(format!(
            "  {:<14} default configuration; edit it before the first start",
            config.file_name
        ));
    }
    if !request.payload.files.is_empty() || !request.payload.folders.is_empty() {
        files.push("  (other files and folders the program uses)".into());
    }
    files.push(format!("  {README_ENTRY:<14} this file"));
    if request.license.is_some() {
        files.push(format!("  {LICENSE_ENTRY:<14} license"));
    }
    let run = match request.config {
        Some(config) => format!(
            "Run it in the foreground from this folder (the --config path must be absolute):\n\n\
             \x20 PowerShell:  .\\{service_exe} --config \"$PWD\\{name}\"\n\
             \x20 cmd.exe:     {service_exe} --config \"%CD%\\{name}\"\n\n\
             (if the program takes its config file another way, give it {name} that way).\n",
            name = config.file_name
        ),
        None => format!("Run it in the foreground from this folder:  .\\{service_exe}\n"),
    };
    let text = format!(
        "{title}\n{underline}\n\n\
         Built from commit {commit} ({time}){dirty}.\n\n\
         Files:\n{files}\n\n\
         {run}\n\
         Stop it with Ctrl+C.\n\
         To install it as a Windows service, use the MSI package of the same release.\n\n\
         Check this download: SHA256SUMS lists the SHA-256 of every file of the release, and\n\
         each file has a minisign signature next to it (`minisign -Vm FILE -p winrelease.pub`).\n",
        underline = "=".repeat(title.chars().count()),
        files = files.join("\n"),
        commit = stamp.commit,
        time = rfc3339_utc(stamp.commit_time),
        dirty = if stamp.dirty {
            ", with uncommitted changes"
        } else {
            ""
        },
    );
    text.replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_time_is_clamped_to_the_format() {
        let t = dos_time(1_795_622_562); // 2026-11-25T16:02:42Z
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 11, 25, 16, 2, 42)
        );
        assert_eq!(dos_time(0).year(), 1980);
        assert_eq!(dos_time(i64::MAX / 2).year(), 2107);
    }
}
