//! The release manifest's schema (`manifest.json`, schema version 1): its types, its canonical
//! JSON form, and parsing with validation. The JSON Schema is `schema/manifest.schema.json`;
//! [`crate::trust`] writes manifests, [`crate::verify`] and [`crate::publish`] read them.
//!
//! The manifest is canonical JSON: keys sorted by byte order, two-space indentation, no floats
//! (only integers, strings, booleans, arrays, objects), UTF-8, one trailing newline, optional
//! fields omitted rather than `null`. The same release therefore always yields the same bytes,
//! and the manifest's SHA-256 (which the next release records in `previous`) is stable.
//!
//! Times are RFC 3339 UTC with second precision (`2026-11-25T16:02:42Z`) and all derive from the
//! commit time: `created` is the commit time, `expires` is `created` plus a number of days.
//!
//! *Invariant:* [`Manifest::parse`] never panics and accepts only manifests that pass
//! [`Manifest::validate`]; every value has one spelling, so parse → [`Manifest::to_canonical_json`]
//! gives back the bytes winrelease wrote. No wall clock is read.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{check_channel_name, parse_guid};
use crate::digest::{check_file_name, Sha256Digest, SHA256SUMS_FILE};
use crate::keys::{signature_file_name, SIGNATURE_SUFFIX};

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
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::UnsupportedSchema {
                found: self.schema_version.to_string(),
            });
        }
        self.validate_release()?;
        self.git.validate()?;
        self.validate_times()?;
        self.toolchain.validate()?;
        if let Some(msi) = &self.msi {
            msi.validate()?;
        }
        validate_artifacts(&self.artifacts)?;
        if let Some(previous) = &self.previous {
            previous.validate()?;
        }
        Ok(())
    }

    /// Product, version, MSI version and channel.
    fn validate_release(&self) -> Result<(), ManifestError> {
        if self.product.trim().is_empty() || self.product.chars().any(char::is_control) {
            return Err(invalid(
                "product",
                "must be non-empty and free of control characters",
            ));
        }
        check_semver("version", &self.version)?;
        parse_msi_version(&self.msi_version).ok_or_else(|| {
            invalid(
                "msi_version",
                format!(
                    "{:?} is not MAJOR.MINOR.BUILD (<256, <256, <65536)",
                    self.msi_version
                ),
            )
        })?;
        check_channel_name(&self.channel).map_err(|m| invalid("channel", m))
    }

    /// All three times are RFC 3339 UTC; `created` is the commit time and `expires` later.
    fn validate_times(&self) -> Result<(), ManifestError> {
        let commit_time = parse_time("git.commit_time", &self.git.commit_time)?;
        let created = parse_time("created", &self.created)?;
        let expires = parse_time("expires", &self.expires)?;
        if created != commit_time {
            return Err(invalid(
                "created",
                "must equal git.commit_time (winrelease reads no wall clock)",
            ));
        }
        if expires <= created {
            return Err(invalid("expires", "must be later than `created`"));
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

impl GitInfo {
    /// A full lowercase hex commit id and, when present, a plausible tag name.
    fn validate(&self) -> Result<(), ManifestError> {
        let commit = &self.commit;
        if !matches!(commit.len(), 40 | 64)
            || !commit
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(invalid(
                "git.commit",
                "must be a full lowercase hex commit id",
            ));
        }
        if let Some(tag) = &self.tag {
            if tag.is_empty() || tag.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid("git.tag", "must be a git tag name"));
            }
        }
        Ok(())
    }
}

impl Toolchain {
    /// Both versions are non-empty single-line strings.
    fn validate(&self) -> Result<(), ManifestError> {
        for (field, value) in [
            ("toolchain.go", &self.go),
            ("toolchain.winrelease", &self.winrelease),
        ] {
            if value.is_empty() || value.chars().any(char::is_control) {
                return Err(invalid(field, "must be a non-empty version string"));
            }
        }
        Ok(())
    }
}

impl MsiIdentity {
    /// Every GUID is in registry form.
    fn validate(&self) -> Result<(), ManifestError> {
        for (field, guid) in [
            ("msi.product_code", &self.product_code),
            ("msi.upgrade_code", &self.upgrade_code),
            ("msi.package_code", &self.package_code),
        ] {
            if !is_registry_guid(guid) {
                return Err(invalid(
                    field,
                    format!("{guid:?} is not {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}} (uppercase)"),
                ));
            }
        }
        Ok(())
    }
}

impl Artifact {
    /// A plain, new file name that is neither the manifest's nor a signature's, a SHA-256, and
    /// the signature file name that goes with the name. `i` is its index, for the field path;
    /// `seen` holds the names of the artifacts before it, which this one must not repeat.
    fn validate<'a>(&'a self, i: usize, seen: &mut BTreeSet<&'a str>) -> Result<(), ManifestError> {
        let field = |name: &str| format!("artifacts[{i}].{name}");
        check_file_name(&self.name)
            .map_err(|reason| invalid(&field("name"), format!("{:?} {reason}", self.name)))?;
        if self.name == MANIFEST_FILE || self.name.ends_with(SIGNATURE_SUFFIX) {
            return Err(invalid(
                &field("name"),
                format!("{:?} is a manifest or signature name", self.name),
            ));
        }
        if !seen.insert(self.name.as_str()) {
            return Err(invalid(
                &field("name"),
                format!("{:?} is listed twice", self.name),
            ));
        }
        check_sha256(&field("sha256"), &self.sha256)?;
        if self.signature != signature_file_name(&self.name) {
            return Err(invalid(
                &field("signature"),
                format!("must be {:?}", signature_file_name(&self.name)),
            ));
        }
        if self.kind == ArtifactKind::Checksums && self.name != SHA256SUMS_FILE {
            return Err(invalid(
                &field("name"),
                format!("the checksums artifact must be named {SHA256SUMS_FILE}"),
            ));
        }
        Ok(())
    }
}

/// The artifact list: not empty, each artifact valid, names unique and sorted, exactly one
/// `checksums` artifact.
fn validate_artifacts(artifacts: &[Artifact]) -> Result<(), ManifestError> {
    if artifacts.is_empty() {
        return Err(invalid("artifacts", "lists no artifact"));
    }
    let mut seen = BTreeSet::new();
    for (i, artifact) in artifacts.iter().enumerate() {
        artifact.validate(i, &mut seen)?;
    }
    let checksums = artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Checksums)
        .count();
    if checksums != 1 {
        return Err(invalid(
            "artifacts",
            format!(
                "must list exactly one `checksums` artifact ({SHA256SUMS_FILE}), found {checksums}"
            ),
        ));
    }
    if !artifacts
        .windows(2)
        .all(|w| w[0].name.as_bytes() < w[1].name.as_bytes())
    {
        return Err(invalid("artifacts", "must be sorted by name"));
    }
    Ok(())
}

impl Previous {
    /// A SemVer version and a SHA-256.
    fn validate(&self) -> Result<(), ManifestError> {
        check_semver("previous.version", &self.version)?;
        check_sha256("previous.manifest_sha256", &self.manifest_sha256)
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn check_semver(field: &str, text: &str) -> Result<(), ManifestError> {
    semver::Version::parse(text)
        .map(drop)
        .map_err(|e| invalid(field, format!("{text:?} is not SemVer ({e})")))
}

fn check_sha256(field: &str, text: &str) -> Result<(), ManifestError> {
    match Sha256Digest::from_hex(text) {
        Some(_) => Ok(()),
        None => Err(invalid(field, "must be 64 lowercase hex digits")),
    }
}

fn parse_time(field: &str, text: &str) -> Result<i64, ManifestError> {
    parse_rfc3339_utc(text).ok_or_else(|| invalid(field, rfc3339_hint(text)))
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

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (the form [`rfc3339_utc`](crate::stamp::rfc3339_utc) writes) into Unix seconds.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::rfc3339_utc;

    /// A manifest as the trust stage writes one: every optional field present.
    fn sample() -> Manifest {
        let artifact = |name: &str, kind| Artifact {
            name: name.into(),
            kind,
            size: 7,
            sha256: "ab".repeat(32),
            signature: signature_file_name(name),
        };
        Manifest {
            schema_version: SCHEMA_VERSION,
            product: "Hello Service".into(),
            version: "1.2.3".into(),
            msi_version: "1.2.3".into(),
            channel: "stable".into(),
            git: GitInfo {
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                tag: Some("v1.2.3".into()),
                commit_time: "2026-03-04T05:06:07Z".into(),
                dirty: false,
            },
            toolchain: Toolchain {
                go: "go1.26.8".into(),
                winrelease: "0.1.0".into(),
            },
            msi: Some(
                MsiIdentity::new(
                    "11111111-2222-3333-4444-555555555555",
                    "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
                    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                )
                .unwrap(),
            ),
            artifacts: vec![
                artifact(SHA256SUMS_FILE, ArtifactKind::Checksums),
                artifact("hellosvc_1.2.3_windows_amd64.exe", ArtifactKind::Exe),
                artifact("hellosvc_1.2.3_x64.msi", ArtifactKind::Msi),
            ],
            previous: Some(Previous {
                version: "1.2.2".into(),
                manifest_sha256: "cd".repeat(32),
            }),
            created: "2026-03-04T05:06:07Z".into(),
            expires: "2026-08-31T05:06:07Z".into(),
        }
    }

    #[test]
    fn the_schema_file_accepts_what_this_module_writes_and_parse_reads_it_back() {
        let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json");
        let schema: Value =
            serde_json::from_str(&fs::read_to_string(schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let manifest = sample();
        let text = manifest.to_canonical_json();
        let instance: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn validate_names_the_first_bad_field() {
        type Edit = fn(&mut Manifest);
        let cases: [(&str, Edit); 8] = [
            ("product", |m| m.product = " ".into()),
            ("git.commit", |m| m.git.commit = "ABC".into()),
            ("created", |m| m.created = "2026-03-04T05:06:08Z".into()),
            ("expires", |m| m.expires = m.created.clone()),
            ("msi.upgrade_code", |m| {
                m.msi.as_mut().unwrap().upgrade_code = "{x}".into()
            }),
            ("artifacts[2].name", |m| {
                m.artifacts[2].name = m.artifacts[1].name.clone()
            }),
            ("artifacts[1].signature", |m| {
                m.artifacts[1].signature = "x.minisig".into()
            }),
            ("previous.manifest_sha256", |m| {
                m.previous.as_mut().unwrap().manifest_sha256 = "AB".repeat(32)
            }),
        ];
        for (field, edit) in cases {
            let mut manifest = sample();
            edit(&mut manifest);
            match manifest.validate() {
                Err(ManifestError::Invalid { field: found, .. }) => assert_eq!(found, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

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
