//! The zip stage: `<exe>_<version>_windows_amd64.zip` with the exe, its default config, a short
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
use crate::gobuild::BuiltExe;
use crate::service_config::{render_template, template_values, TemplateError};
use crate::stamp::Versioned;
use crate::stamp::{civil_from_days, rfc3339_utc, Stamp};

/// Name of the rendered default config inside the zip.
pub const CONFIG_ENTRY: &str = "config.json";
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
    #[error("{path}: {problem}")]
    Template {
        path: PathBuf,
        problem: TemplateError,
    },
    #[error("{path}: after rendering, the default config is not valid JSON ({reason})\nfix: correct the template; placeholders are replaced verbatim (e.g. {{{{listen_port}}}} by 8080)")]
    ConfigNotJson { path: PathBuf, reason: String },
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
    /// The exe's base name (`hellosvc`); the entry is `<exe_name>.exe`.
    pub exe_name: &'a str,
    /// The built exe.
    pub exe_path: &'a Path,
    pub product: &'a str,
    /// Version, commit and the commit time every entry is dated with.
    pub stamp: &'a Stamp,
    /// The default config template (`templates/config.json`).
    pub config_template: &'a Path,
    /// Values for the template's placeholders ([`template_values`]).
    pub template_values: &'a BTreeMap<String, String>,
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

/// The zip stage of a release: the portable zip of `exe` with the project's config template,
/// placeholder values and license, written into the version folder next to the exe.
pub fn portable_zip(
    project: &Project,
    versioned: &Versioned,
    exe: &BuiltExe,
) -> Result<WrittenZip, ZipError> {
    let config = &project.config;
    let config_template = project.root.join(&config.config_template);
    let template_values = template_values(config);
    let license = find_license(&project.root, &project.service_dir());
    let request = ZipRequest {
        exe_name: &config.exe_name,
        exe_path: &exe.path,
        product: &config.product,
        stamp: &versioned.stamp,
        config_template: &config_template,
        template_values: &template_values,
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
        entries: entries.into_iter().map(|(name, _, _)| name).collect(),
    })
}

/// One zip entry: name, bytes, Unix mode.
type Entry = (String, Vec<u8>, u32);

/// The entries, sorted by name: the exe, the rendered config, the README and the license.
fn entries(request: &ZipRequest) -> Result<Vec<Entry>, ZipError> {
    let config = render_config(request)?;
    let exe_entry = format!("{}.exe", request.exe_name);
    let exe_bytes = fs::read(request.exe_path).at("reading", request.exe_path)?;
    let mut entries: Vec<Entry> = vec![
        (exe_entry.clone(), exe_bytes, 0o755),
        (CONFIG_ENTRY.to_string(), config.into_bytes(), 0o644),
        (
            README_ENTRY.to_string(),
            readme(request, &exe_entry).into_bytes(),
            0o644,
        ),
    ];
    if let Some(license) = request.license {
        let bytes = fs::read(license).at("reading the license", license)?;
        entries.push((LICENSE_ENTRY.to_string(), bytes, 0o644));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(entries)
}

/// The default config: the template rendered, and checked to be JSON.
fn render_config(request: &ZipRequest) -> Result<String, ZipError> {
    let template = fs::read_to_string(request.config_template)
        .at("reading the config template", request.config_template)?;
    let config = render_template(&template, request.template_values).map_err(|problem| {
        ZipError::Template {
            path: request.config_template.to_path_buf(),
            problem,
        }
    })?;
    serde_json::from_str::<serde_json::Value>(&config).map_err(|err| ZipError::ConfigNotJson {
        path: request.config_template.to_path_buf(),
        reason: err.to_string(),
    })?;
    Ok(config)
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
    for (name, bytes, mode) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(time)
            .system(System::Unix)
            .unix_permissions(*mode)
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        zip.start_file(name.as_str(), options).map_err(zip_err)?;
        zip.write_all(bytes).map_err(|e| zip_err(e.into()))?;
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
fn readme(request: &ZipRequest, exe_entry: &str) -> String {
    let stamp = request.stamp;
    let title = format!("{} {} (portable)", request.product, stamp.version);
    let license_line = if request.license.is_some() {
        format!("  {LICENSE_ENTRY:<14} license\n")
    } else {
        String::new()
    };
    let text = format!(
        "{title}\n{underline}\n\n\
         Built from commit {commit} ({time}){dirty}.\n\n\
         Files:\n\
         \x20 {exe_entry:<14} the program\n\
         \x20 {CONFIG_ENTRY:<14} default configuration; edit it before the first start\n\
         \x20 {README_ENTRY:<14} this file\n\
         {license_line}\n\
         Run it in the foreground from this folder (the --config path must be absolute):\n\n\
         \x20 PowerShell:  .\\{exe_entry} --config \"$PWD\\{CONFIG_ENTRY}\"\n\
         \x20 cmd.exe:     {exe_entry} --config \"%CD%\\{CONFIG_ENTRY}\"\n\n\
         Stop it with Ctrl+C. `{exe_entry} --version` prints the version and commit.\n\
         To install it as a Windows service, use the MSI package of the same release.\n\n\
         Check this download: SHA256SUMS lists the SHA-256 of every file of the release, and\n\
         each file has a minisign signature next to it (`minisign -Vm FILE -p winrelease.pub`).\n",
        underline = "=".repeat(title.chars().count()),
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
