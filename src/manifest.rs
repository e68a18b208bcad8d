//! The signed release manifest (`manifest.json`) and the trust stage that writes a release's
//! zip, `SHA256SUMS`, signatures and manifest in one all-or-nothing step ([`release_trust`]).
//!
//! The manifest is canonical JSON: keys sorted by byte order, two-space indentation, no floats
//! (only integers, strings, booleans, arrays, objects), UTF-8, one trailing newline, optional
//! fields omitted rather than `null`. The same release therefore always yields the same bytes,
//! and the manifest's SHA-256 (which the next release records in `previous`) is stable. The
//! JSON Schema is `schema/manifest.schema.json`.
//!
//! Times are RFC 3339 UTC with second precision (`2026-11-25T16:02:42Z`) and all derive from the
//! commit time: `created` is the commit time, `expires` is `created` plus a number of days.
//! No wall clock is read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{check_channel_name, parse_guid, Project};
use crate::gobuild::BuiltExe;
use crate::portable_zip::{self, ZipRequest};
use crate::sign::{
    self, check_file_name, hash_file, signature_file_name, Binding, FileDigest, HashingWriter,
    ReleaseKey, Sha256Digest, SignError, SHA256SUMS_FILE,
};
use crate::stamp::Versioned;
use crate::stamp::{rfc3339_utc, Stamp};
use crate::version::MsiVersion;

/// The manifest format this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// File name of the manifest in a release folder; its signature is `manifest.json.minisig`.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Days from the commit time until a manifest expires, unless configured otherwise.
pub const DEFAULT_EXPIRY_DAYS: u32 = 180;
/// Longest manifest accepted; real ones are a few KiB. Bounds memory on hostile input.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// A release manifest, schema version 1. Field order here is irrelevant: the canonical form
/// sorts keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Product name, as in the MSI.
    pub product: String,
    /// SemVer version of the release (with build metadata, e.g. `1.4.1-dev.7+g1a2b3c4`).
    pub version: String,
    /// Windows Installer ProductVersion (`major.minor.build`).
    pub msi_version: String,
    /// Release channel (`stable`, `beta`, …).
    pub channel: String,
    pub git: GitInfo,
    pub toolchain: Toolchain,
    /// The MSI's identity, when the release has an MSI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msi: Option<MsiIdentity>,
    /// Every artifact of the release except the manifest itself, sorted by name.
    pub artifacts: Vec<Artifact>,
    /// The release this one follows, forming a hash chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// The commit time, RFC 3339 UTC.
    pub created: String,
    /// After this instant (RFC 3339 UTC) verifiers refuse the manifest.
    pub expires: String,
}

/// Where the release was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitInfo {
    /// Full hex commit id.
    pub commit: String,
    /// The SemVer tag the version derives from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Committer time, RFC 3339 UTC.
    pub commit_time: String,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
}

/// What built the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// `go version` of the Go toolchain (`go1.26.8`).
    pub go: String,
    /// Version of winrelease.
    pub winrelease: String,
}

/// The MSI's Windows Installer identity, GUIDs in registry form (`{XXXXXXXX-…}`, uppercase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsiIdentity {
    pub product_code: String,
    pub upgrade_code: String,
    pub package_code: String,
}

impl MsiIdentity {
    /// Validates three GUIDs (with or without braces, any case) and stores them in registry
    /// form. `Err` names the field.
    pub fn new(
        product_code: &str,
        upgrade_code: &str,
        package_code: &str,
    ) -> Result<Self, ManifestError> {
        let norm = |field: &str, text: &str| {
            parse_guid(text)
                .map(|uuid| format!("{{{}}}", uuid.hyphenated().to_string().to_uppercase()))
                .map_err(|reason| ManifestError::Invalid {
                    field: format!("msi.{field}"),
                    reason,
                })
        };
        Ok(MsiIdentity {
            product_code: norm("product_code", product_code)?,
            upgrade_code: norm("upgrade_code", upgrade_code)?,
            package_code: norm("package_code", package_code)?,
        })
    }
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// The service executable.
    Exe,
    /// The Windows Installer package.
    Msi,
    /// The portable zip.
    Zip,
    /// `SHA256SUMS`.
    Checksums,
    /// An MSI transform (`.mst`).
    Transform,
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArtifactKind::Exe => "exe",
            ArtifactKind::Msi => "msi",
            ArtifactKind::Zip => "zip",
            ArtifactKind::Checksums => "checksums",
            ArtifactKind::Transform => "transform",
        })
    }
}

/// One file of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// File name, in the manifest's folder.
    pub name: String,
    pub kind: ArtifactKind,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, 64 lowercase hex digits.
    pub sha256: String,
    /// The signature's file name: `<name>.minisig`.
    pub signature: String,
}

/// The release this one follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    /// Its SemVer version; strictly older than this release's.
    pub version: String,
    /// SHA-256 of its `manifest.json` bytes.
    pub manifest_sha256: String,
}

/// Problems with a manifest's bytes or content. Messages do not name the file; callers add it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("is not valid JSON ({0})")]
    Json(String),
    #[error("has schema_version {found}, but this winrelease reads schema_version {SCHEMA_VERSION}\nfix: verify it with the winrelease version that wrote it (toolchain.winrelease), or upgrade winrelease")]
    UnsupportedSchema { found: String },
    #[error("does not match the manifest schema at `{path}`: {reason}")]
    Schema { path: String, reason: String },
    #[error("field `{field}` is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

impl Manifest {
    /// Parses and validates manifest bytes. Never panics, whatever the input.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        match value.get("schema_version") {
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
            Some(other) => {
                return Err(ManifestError::UnsupportedSchema {
                    found: other.to_string(),
                })
            }
            None if value.is_object() => {
                return Err(ManifestError::Schema {
                    path: ".".into(),
                    reason: "missing field `schema_version`".into(),
                })
            }
            None => {
                return Err(ManifestError::Schema {
                    path: ".".into(),
                    reason: "is not a JSON object".into(),
                })
            }
        }
        let manifest: Manifest =
            serde_path_to_error::deserialize(value).map_err(|e| ManifestError::Schema {
                path: e.path().to_string(),
                reason: e.inner().to_string(),
            })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks every value beyond its JSON type: SemVer, MSI version, channel, commit id, times,
    /// artifact names (plain, unique file names), digests, GUIDs.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |field: &str, reason: String| ManifestError::Invalid {
            field: field.to_string(),
            reason,
        };
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::UnsupportedSchema {
                found: self.schema_version.to_string(),
            });
        }
        if self.product.trim().is_empty() || self.product.chars().any(char::is_control) {
            return Err(invalid(
                "product",
                "must be non-empty and free of control characters".into(),
            ));
        }
        semver::Version::parse(&self.version)
            .map_err(|e| invalid("version", format!("{:?} is not SemVer ({e})", self.version)))?;
        parse_msi_version(&self.msi_version).ok_or_else(|| {
            invalid(
                "msi_version",
                format!(
                    "{:?} is not MAJOR.MINOR.BUILD (<256, <256, <65536)",
                    self.msi_version
                ),
            )
        })?;
        check_channel_name(&self.channel).map_err(|m| invalid("channel", m))?;
        let commit = &self.git.commit;
        if !matches!(commit.len(), 40 | 64)
            || !commit
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(invalid(
                "git.commit",
                "must be a full lowercase hex commit id".into(),
            ));
        }
        if let Some(tag) = &self.git.tag {
            if tag.is_empty() || tag.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid("git.tag", "must be a git tag name".into()));
            }
        }
        let commit_time = parse_rfc3339_utc(&self.git.commit_time)
            .ok_or_else(|| invalid("git.commit_time", rfc3339_hint(&self.git.commit_time)))?;
        let created = parse_rfc3339_utc(&self.created)
            .ok_or_else(|| invalid("created", rfc3339_hint(&self.created)))?;
        let expires = parse_rfc3339_utc(&self.expires)
            .ok_or_else(|| invalid("expires", rfc3339_hint(&self.expires)))?;
        if created != commit_time {
            return Err(invalid(
                "created",
                "must equal git.commit_time (winrelease reads no wall clock)".into(),
            ));
        }
        if expires <= created {
            return Err(invalid("expires", "must be later than `created`".into()));
        }
        for (field, value) in [
            ("toolchain.go", &self.toolchain.go),
            ("toolchain.winrelease", &self.toolchain.winrelease),
        ] {
            if value.is_empty() || value.chars().any(char::is_control) {
                return Err(invalid(field, "must be a non-empty version string".into()));
            }
        }
        if let Some(msi) = &self.msi {
            for (field, guid) in [
                ("msi.product_code", &msi.product_code),
                ("msi.upgrade_code", &msi.upgrade_code),
                ("msi.package_code", &msi.package_code),
            ] {
                if !is_registry_guid(guid) {
                    return Err(invalid(
                        field,
                        format!(
                            "{guid:?} is not {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}} (uppercase)"
                        ),
                    ));
                }
            }
        }
        if self.artifacts.is_empty() {
            return Err(invalid("artifacts", "lists no artifact".into()));
        }
        let mut names = BTreeSet::new();
        let mut checksums = 0;
        for (i, artifact) in self.artifacts.iter().enumerate() {
            let field = |name: &str| format!("artifacts[{i}].{name}");
            check_file_name(&artifact.name).map_err(|reason| {
                invalid(&field("name"), format!("{:?} {reason}", artifact.name))
            })?;
            if artifact.name == MANIFEST_FILE || artifact.name.ends_with(sign::SIGNATURE_SUFFIX) {
                return Err(invalid(
                    &field("name"),
                    format!("{:?} is a manifest or signature name", artifact.name),
                ));
            }
            if !names.insert(artifact.name.as_str()) {
                return Err(invalid(
                    &field("name"),
                    format!("{:?} is listed twice", artifact.name),
                ));
            }
            if Sha256Digest::from_hex(&artifact.sha256).is_none() {
                return Err(invalid(
                    &field("sha256"),
                    "must be 64 lowercase hex digits".into(),
                ));
            }
            if artifact.signature != signature_file_name(&artifact.name) {
                return Err(invalid(
                    &field("signature"),
                    format!("must be {:?}", signature_file_name(&artifact.name)),
                ));
            }
            if artifact.kind == ArtifactKind::Checksums {
                checksums += 1;
                if artifact.name != SHA256SUMS_FILE {
                    return Err(invalid(
                        &field("name"),
                        format!("the checksums artifact must be named {SHA256SUMS_FILE}"),
                    ));
                }
            }
        }
        if checksums != 1 {
            return Err(invalid(
                "artifacts",
                format!("must list exactly one `checksums` artifact ({SHA256SUMS_FILE}), found {checksums}"),
            ));
        }
        if !self
            .artifacts
            .windows(2)
            .all(|w| w[0].name.as_bytes() < w[1].name.as_bytes())
        {
            return Err(invalid("artifacts", "must be sorted by name".into()));
        }
        if let Some(previous) = &self.previous {
            semver::Version::parse(&previous.version).map_err(|e| {
                invalid(
                    "previous.version",
                    format!("{:?} is not SemVer ({e})", previous.version),
                )
            })?;
            if Sha256Digest::from_hex(&previous.manifest_sha256).is_none() {
                return Err(invalid(
                    "previous.manifest_sha256",
                    "must be 64 lowercase hex digits".into(),
                ));
            }
        }
        Ok(())
    }

    /// The canonical bytes: sorted keys, two-space indent, trailing newline.
    pub fn to_canonical_json(&self) -> String {
        let value = serde_json::to_value(self).expect("a Manifest always serializes");
        canonical_json(&value).expect("a Manifest has no floating-point numbers")
    }

    /// The artifact called `name`.
    pub fn artifact(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    /// `expires` as Unix seconds (validated manifests always have one).
    pub fn expires_unix(&self) -> Option<i64> {
        parse_rfc3339_utc(&self.expires)
    }
}

fn rfc3339_hint(text: &str) -> String {
    format!("{text:?} is not an RFC 3339 UTC time like 2026-11-25T16:02:42Z")
}

fn is_registry_guid(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        return false;
    };
    inner.len() == 36
        && inner.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => matches!(b, b'0'..=b'9' | b'A'..=b'F'),
        })
}

fn parse_msi_version(text: &str) -> Option<(u8, u8, u16)> {
    let mut parts = text.split('.');
    let number = |part: Option<&str>| -> Option<u32> {
        let part = part?;
        // No signs, no leading zeros: one spelling per version.
        if part.is_empty() || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 5 {
            return None;
        }
        part.parse().ok()
    };
    let major = u8::try_from(number(parts.next())?).ok()?;
    let minor = u8::try_from(number(parts.next())?).ok()?;
    let build = u16::try_from(number(parts.next())?).ok()?;
    parts.next().is_none().then_some((major, minor, build))
}

/// Formats `value` canonically: object keys sorted by byte order, two-space indentation, one
/// trailing newline. Floating-point numbers are refused (`Err` names the path), because their
/// text form is not unique.
pub fn canonical_json(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_canonical(value, 0, "$", &mut out)?;
    out.push('\n');
    Ok(out)
}

fn write_canonical(
    value: &Value,
    depth: usize,
    path: &str,
    out: &mut String,
) -> Result<(), String> {
    let indent = |out: &mut String, depth: usize| {
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(format!("{path} is a floating-point number"));
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1);
                write_canonical(item, depth + 1, &format!("{path}[{i}]"), out)?;
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            // Sorted here, not by the map: serde_json's map keeps insertion order when any crate
            // in the build enables its `preserve_order` feature.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                indent(out, depth + 1);
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push_str(": ");
                write_canonical(&map[*key], depth + 1, &format!("{path}.{key}"), out)?;
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push('}');
        }
    }
    Ok(())
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (the form [`rfc3339_utc`] writes) into Unix seconds.
/// Anything else, including valid RFC 3339 with offsets or fractions, is `None`, so each
/// instant has one spelling.
pub fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days_in_month {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a Gregorian date (inverse of `stamp::civil_from_days`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads at most `max` bytes of `path`; a longer file is an error rather than an allocation.
pub(crate) fn read_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// The trust stage
// ---------------------------------------------------------------------------------------------

/// The MSI of a release and its identity (from the MSI writer).
#[derive(Debug, Clone)]
pub struct MsiArtifact {
    /// The `.msi`, inside the version folder.
    pub path: PathBuf,
    pub identity: MsiIdentity,
}

/// Everything the trust stage needs; all of it is known after the build and MSI stages.
#[derive(Debug, Clone)]
pub struct TrustRequest {
    pub product: String,
    pub channel: String,
    /// The exe's base name (`hellosvc`), for the zip's name and its exe entry.
    pub exe_name: String,
    pub stamp: Stamp,
    pub msi_version: MsiVersion,
    /// `go version` output of the toolchain that built the exe.
    pub go_version: String,
    /// `target/winrelease/<version>/`: holds the exe (and MSI); receives everything written.
    pub version_dir: PathBuf,
    /// The built exe, inside `version_dir`.
    pub exe: PathBuf,
    /// The MSI, when the MSI stage ran.
    pub msi: Option<MsiArtifact>,
    /// Per-site transforms (`.mst`) made for the MSI, inside `version_dir`.
    pub transforms: Vec<PathBuf>,
    /// Template of the default config put into the zip.
    pub config_template: PathBuf,
    /// Values for the template's placeholders.
    pub template_values: BTreeMap<String, String>,
    /// License file to put into the zip.
    pub license: Option<PathBuf>,
    /// The manifest of the release this one follows (from the release store), if any.
    pub previous_manifest: Option<PathBuf>,
    /// Days from the commit time until the manifest expires.
    pub expiry_days: u32,
}

impl TrustRequest {
    /// The request for a project's release after the build stage: no MSI, no previous
    /// manifest, [`DEFAULT_EXPIRY_DAYS`]; set `msi` and `previous_manifest` when there are ones.
    pub fn new(project: &Project, versioned: &Versioned, exe: &BuiltExe) -> TrustRequest {
        let config = &project.config;
        TrustRequest {
            product: config.product.clone(),
            channel: config.channel.clone(),
            exe_name: config.exe_name.clone(),
            stamp: versioned.stamp.clone(),
            msi_version: versioned.msi_version,
            go_version: exe.go_version.clone(),
            version_dir: project.version_dir(&versioned.stamp.version),
            exe: exe.path.clone(),
            msi: None,
            transforms: Vec::new(),
            config_template: project.root.join(&config.config_template),
            template_values: portable_zip::template_values(config),
            license: portable_zip::find_license(&project.root, &project.service_dir()),
            previous_manifest: None,
            expiry_days: DEFAULT_EXPIRY_DAYS,
        }
    }
}

/// One artifact the trust stage covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSummary {
    pub name: String,
    pub kind: ArtifactKind,
    pub size: u64,
    pub sha256: Sha256Digest,
    /// The artifact's path.
    pub path: PathBuf,
    /// Its `.minisig`.
    pub signature: PathBuf,
}

/// What [`release_trust`] wrote.
#[derive(Debug, Clone)]
pub struct TrustSummary {
    /// Every artifact (exe, MSI, zip, SHA256SUMS), sorted by name.
    pub artifacts: Vec<ArtifactSummary>,
    /// `manifest.json`.
    pub manifest: PathBuf,
    /// SHA-256 of the manifest (what the next release's `previous.manifest_sha256` will be).
    pub manifest_sha256: Sha256Digest,
    /// `manifest.json.minisig`.
    pub manifest_signature: PathBuf,
    /// Key id of the signing key.
    pub key_id: minisig::KeyId,
    /// The release was signed with the development key: not for production.
    pub development_key: bool,
    /// When the manifest expires (RFC 3339).
    pub expires: String,
    /// The previous release linked in the manifest, if any.
    pub previous: Option<Previous>,
}

/// Errors of the trust stage. Nothing is left behind when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("portable zip: {0}")]
    Zip(#[from] portable_zip::ZipError),
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not directly inside the version folder {dir}\nfix: the exe and the MSI must be in target/winrelease/<version>/, where their signatures are written")]
    OutsideVersionDir { path: PathBuf, dir: PathBuf },
    #[error("previous manifest {path}: {reason}\nfix: {fix}")]
    Previous {
        path: PathBuf,
        reason: String,
        fix: &'static str,
    },
    #[error(
        "the manifest this release would write {0}\nfix: correct the configuration value it names"
    )]
    Manifest(#[from] ManifestError),
    #[error("expiry: {0}")]
    Expiry(String),
}

/// The trust stage: given the version folder with the exe (and the MSI when present), writes
/// the portable zip, `SHA256SUMS`, a `.minisig` for every artifact and for `SHA256SUMS`,
/// `manifest.json` and `manifest.json.minisig`, and returns what it wrote.
///
/// Everything is first written into a staging folder inside the version folder, then renamed
/// into place; files an earlier run left are moved aside and restored if a rename fails. On any
/// error nothing new remains. The exe and MSI are read once each (for SHA-256 and minisign's
/// BLAKE2b prehash together); the zip, `SHA256SUMS` and the manifest are hashed while written.
pub fn release_trust(request: &TrustRequest, key: &ReleaseKey) -> Result<TrustSummary, TrustError> {
    let version = request.stamp.version.to_string();
    let dir = &request.version_dir;
    let io_err = |context: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| TrustError::Io {
            context,
            path,
            source,
        }
    };
    let expires_unix = i64::from(request.expiry_days)
        .checked_mul(86_400)
        .and_then(|s| request.stamp.commit_time.checked_add(s))
        .filter(|_| request.expiry_days > 0)
        .ok_or_else(|| {
            TrustError::Expiry(format!(
                "{} days after the commit time is not a usable expiry; choose 1 day or more",
                request.expiry_days
            ))
        })?;

    // Inputs: exe and MSI, which other stages wrote.
    let mut inputs: Vec<(ArtifactKind, &Path)> = vec![(ArtifactKind::Exe, &request.exe)];
    if let Some(msi) = &request.msi {
        inputs.push((ArtifactKind::Msi, &msi.path));
    }
    for transform in &request.transforms {
        inputs.push((ArtifactKind::Transform, transform));
    }
    let mut digests: Vec<(String, ArtifactKind, FileDigest)> = Vec::new();
    for (kind, path) in inputs {
        let name = name_in_dir(path, dir)?;
        digests.push((name, kind, hash_file(path)?));
    }

    let previous = match &request.previous_manifest {
        Some(path) => Some(previous_link(path, request)?),
        None => None,
    };

    let staging = tempfile::Builder::new()
        .prefix(".winrelease-trust-")
        .tempdir_in(dir)
        .map_err(io_err("creating a staging folder in", dir))?;
    let stage = staging.path();

    // Zip, hashed while written.
    let zip_name = portable_zip::zip_file_name(&request.exe_name, &request.stamp.version);
    let zip = portable_zip::write_zip(
        &ZipRequest {
            exe_name: &request.exe_name,
            exe_path: &request.exe,
            product: &request.product,
            stamp: &request.stamp,
            config_template: &request.config_template,
            template_values: &request.template_values,
            license: request.license.as_deref(),
        },
        &stage.join(&zip_name),
    )?;
    digests.push((zip_name, ArtifactKind::Zip, zip.digest));

    // SHA256SUMS over everything but itself.
    let sums_text = sign::sha256sums_text(
        &digests
            .iter()
            .map(|(name, _, d)| (name.clone(), d.sha256))
            .collect::<Vec<_>>(),
    )?;
    let sums_digest = write_hashed(&stage.join(SHA256SUMS_FILE), sums_text.as_bytes())?;
    digests.push((
        SHA256SUMS_FILE.to_string(),
        ArtifactKind::Checksums,
        sums_digest,
    ));
    digests.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    // A signature per artifact, binding product, version, file name and SHA-256.
    let mut staged_names: Vec<String> = Vec::new();
    let mut artifacts = Vec::new();
    for (name, kind, digest) in &digests {
        let signed = key.sign(
            digest,
            &Binding {
                product: request.product.clone(),
                version: version.clone(),
                file: name.clone(),
                sha256: digest.sha256,
            },
        )?;
        let sig_name = signature_file_name(name);
        write_hashed(&stage.join(&sig_name), signed.text.as_bytes())?;
        staged_names.push(sig_name.clone());
        if matches!(kind, ArtifactKind::Zip | ArtifactKind::Checksums) {
            staged_names.push(name.clone());
        }
        artifacts.push(Artifact {
            name: name.clone(),
            kind: *kind,
            size: digest.size,
            sha256: digest.sha256.to_hex(),
            signature: sig_name,
        });
    }

    let commit_time = rfc3339_utc(request.stamp.commit_time);
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        product: request.product.clone(),
        version: version.clone(),
        msi_version: request.msi_version.to_string(),
        channel: request.channel.clone(),
        git: GitInfo {
            commit: request.stamp.commit.clone(),
            tag: request.stamp.tag.clone(),
            commit_time: commit_time.clone(),
            dirty: request.stamp.dirty,
        },
        toolchain: Toolchain {
            go: request.go_version.clone(),
            winrelease: env!("CARGO_PKG_VERSION").to_string(),
        },
        msi: request.msi.as_ref().map(|m| m.identity.clone()),
        artifacts,
        previous: previous.clone(),
        created: commit_time,
        expires: rfc3339_utc(expires_unix),
    };
    manifest.validate()?;
    let manifest_text = manifest.to_canonical_json();
    let manifest_digest = write_hashed(&stage.join(MANIFEST_FILE), manifest_text.as_bytes())?;
    let manifest_signed = key.sign(
        &manifest_digest,
        &Binding {
            product: request.product.clone(),
            version: version.clone(),
            file: MANIFEST_FILE.to_string(),
            sha256: manifest_digest.sha256,
        },
    )?;
    let manifest_sig_name = signature_file_name(MANIFEST_FILE);
    write_hashed(
        &stage.join(&manifest_sig_name),
        manifest_signed.text.as_bytes(),
    )?;
    // The manifest and its signature go in last, so a reader never sees a manifest whose
    // artifacts are not yet in place.
    staged_names.push(MANIFEST_FILE.to_string());
    staged_names.push(manifest_sig_name.clone());

    commit_staged(stage, dir, &staged_names)?;
    drop(staging);

    Ok(TrustSummary {
        artifacts: digests
            .iter()
            .map(|(name, kind, digest)| ArtifactSummary {
                name: name.clone(),
                kind: *kind,
                size: digest.size,
                sha256: digest.sha256,
                path: dir.join(name),
                signature: dir.join(signature_file_name(name)),
            })
            .collect(),
        manifest: dir.join(MANIFEST_FILE),
        manifest_sha256: manifest_digest.sha256,
        manifest_signature: dir.join(manifest_sig_name),
        key_id: key.key_id(),
        development_key: key.is_development(),
        expires: manifest.expires,
        previous,
    })
}

/// The file name of `path`, which must sit directly in `dir`.
fn name_in_dir(path: &Path, dir: &Path) -> Result<String, TrustError> {
    let outside = || TrustError::OutsideVersionDir {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
    };
    let parent = path.parent().ok_or_else(outside)?;
    let same = match (parent.canonicalize(), dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(outside());
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(outside)?
        .to_string();
    check_file_name(&name).map_err(|reason| {
        TrustError::Sign(SignError::BadFileName {
            name: name.clone(),
            reason,
        })
    })?;
    Ok(name)
}

/// The `previous` link to the manifest at `path`: it must be a valid manifest of the same
/// product with a strictly older version.
fn previous_link(path: &Path, request: &TrustRequest) -> Result<Previous, TrustError> {
    let fail = |reason: String, fix: &'static str| TrustError::Previous {
        path: path.to_path_buf(),
        reason,
        fix,
    };
    let bytes = read_limited(path, MAX_MANIFEST_BYTES).map_err(|e| {
        fail(
            format!("cannot be read ({e})"),
            "pass the manifest.json of the last published release, or none for the first release",
        )
    })?;
    let previous = Manifest::parse(&bytes).map_err(|e| {
        fail(
            e.to_string(),
            "pass the manifest.json of the last published release",
        )
    })?;
    if previous.product != request.product {
        return Err(fail(
            format!(
                "is for product {:?}, this release is {:?}",
                previous.product, request.product
            ),
            "pass the previous manifest of this product",
        ));
    }
    let older = semver::Version::parse(&previous.version)
        .map(|v| v.cmp_precedence(&request.stamp.version) == std::cmp::Ordering::Less)
        .unwrap_or(false);
    if !older {
        return Err(fail(
            format!(
                "is version {}, which is not older than this release's {}",
                previous.version, request.stamp.version
            ),
            "release a version newer than the last published one (tag a higher version)",
        ));
    }
    Ok(Previous {
        version: previous.version,
        manifest_sha256: Sha256Digest::of(&bytes).to_hex(),
    })
}

/// Writes `bytes` to a new file at `path`, hashing them on the way.
fn write_hashed(path: &Path, bytes: &[u8]) -> Result<FileDigest, TrustError> {
    let io_err = |source| TrustError::Io {
        context: "writing",
        path: path.to_path_buf(),
        source,
    };
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err)?;
    let mut writer = HashingWriter::new(file);
    writer.write_all(bytes).map_err(io_err)?;
    let (file, digest) = writer.finish();
    file.sync_all().map_err(io_err)?;
    Ok(digest)
}

/// Moves `names` from `stage` into `dest`. Existing files of the same names are moved aside
/// first and put back if any rename fails, so `dest` ends up either fully updated or unchanged.
fn commit_staged(stage: &Path, dest: &Path, names: &[String]) -> Result<(), TrustError> {
    let aside = stage.join(".replaced");
    fs::create_dir(&aside).map_err(|source| TrustError::Io {
        context: "creating",
        path: aside.clone(),
        source,
    })?;
    let mut moved_aside: Vec<&String> = Vec::new();
    let mut placed: Vec<&String> = Vec::new();
    let mut failure: Option<TrustError> = None;
    for name in names {
        let target = dest.join(name);
        if fs::symlink_metadata(&target).is_ok() {
            if let Err(source) = fs::rename(&target, aside.join(name)) {
                failure = Some(TrustError::Io {
                    context: "moving aside the earlier",
                    path: target,
                    source,
                });
                break;
            }
            moved_aside.push(name);
        }
    }
    if failure.is_none() {
        for name in names {
            let target = dest.join(name);
            if let Err(source) = fs::rename(stage.join(name), &target) {
                failure = Some(TrustError::Io {
                    context: "moving into place",
                    path: target,
                    source,
                });
                break;
            }
            placed.push(name);
        }
    }
    match failure {
        None => Ok(()),
        Some(err) => {
            for name in placed {
                let _ = fs::remove_file(dest.join(name));
            }
            for name in moved_aside {
                let _ = fs::rename(aside.join(name), dest.join(name));
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_is_strict() {
        for t in [0i64, 951_782_400, 1_795_622_562, 4_102_444_799, -86_400] {
            assert_eq!(parse_rfc3339_utc(&rfc3339_utc(t)), Some(t), "{t}");
        }
        for bad in [
            "2026-11-25T16:02:42+00:00",
            "2026-11-25T16:02:42.5Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-25t16:02:42Z",
            "2026-11-25T24:00:00Z",
            "+026-11-25T16:02:42Z",
            "",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_refuses_floats() {
        let value: Value =
            serde_json::from_str(r#"{"b": [1, {"z": "é\"", "a": true}], "a": {}, "c": []}"#)
                .unwrap();
        assert_eq!(
            canonical_json(&value).unwrap(),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": true,\n      \"z\": \"é\\\"\"\n    }\n  ],\n  \"c\": []\n}\n"
        );
        let float: Value = serde_json::from_str(r#"{"x": [1.5]}"#).unwrap();
        assert_eq!(
            canonical_json(&float).unwrap_err(),
            "$.x[0] is a floating-point number"
        );
    }

    #[test]
    fn msi_versions_have_one_spelling() {
        assert_eq!(parse_msi_version("1.2.1023"), Some((1, 2, 1023)));
        for bad in [
            "1.2",
            "1.2.3.4",
            "256.0.0",
            "1.02.3",
            "1.2.65536",
            "+1.2.3",
            "1..3",
        ] {
            assert_eq!(parse_msi_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn msi_identity_is_normalized() {
        let id = MsiIdentity::new(
            "6b0e1f4c-3c2d-4e7a-9b1f-2a5c8d9e0f11",
            "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F12}",
            "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F13",
        )
        .unwrap();
        assert_eq!(id.product_code, "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}");
        assert!(is_registry_guid(&id.upgrade_code));
        let err = MsiIdentity::new("nope", "x", "y").unwrap_err();
        assert!(err.to_string().contains("msi.product_code"), "{err}");
    }
}
