//! Reading a transform: its summary information (validation flags, suppressed errors, the
//! base and new product in Revision Number), its own string pool and its raw table streams.
//!
//! Invariant: a [`TransformFile`] is only ever built from a compound file of the transform class
//! with a decodable summary and string pool; the rows are decoded against a package by
//! [`super::apply`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::read_err;
use super::{validate, PackageFacts, TransformError, TRANSFORM_CLSID};
use crate::read::summary::pid;
use crate::read::{PackageKind, Storage, StringPool, SummaryInfo, SUMMARY_STREAM};

/// The transform-specific summary information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformSummary {
    /// Validation flags (upper word of Character Count; see [`validate`]).
    pub validation: u16,
    /// Error conditions to ignore (lower word of Character Count; see [`suppress`]).
    pub suppressed: u16,
    /// Revision Number as written.
    pub revision: String,
    /// Base ProductCode from the Revision Number.
    pub base_product_code: String,
    /// Base version from the Revision Number.
    pub base_version: String,
    /// New ProductCode from the Revision Number.
    pub new_product_code: String,
    /// New version from the Revision Number.
    pub new_version: String,
    /// UpgradeCode from the Revision Number.
    pub upgrade_code: String,
    /// Template: base platform;language.
    pub template: String,
    /// Page Count: the schema the transform needs.
    pub page_count: Option<i32>,
}

impl TransformSummary {
    /// The language of the Template (0 when none).
    pub fn language(&self) -> u16 {
        self.template
            .split(';')
            .nth(1)
            .and_then(|l| l.split(',').next())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Why Windows Installer would refuse to apply this transform to `package`, following the
    /// validation flags (empty when it applies).
    pub fn refusals(&self, package: &PackageFacts) -> Vec<String> {
        let mut out = Vec::new();
        let wants = |flag: u16| self.validation & flag != 0;
        if wants(validate::PRODUCT)
            && !self
                .base_product_code
                .eq_ignore_ascii_case(&package.product_code)
        {
            out.push(format!(
                "made for ProductCode {}, the package's is {} (a transform for another release; make one for this package)",
                self.base_product_code, package.product_code
            ));
        }
        if wants(validate::UPGRADE_CODE)
            && !self
                .upgrade_code
                .eq_ignore_ascii_case(&package.upgrade_code)
        {
            out.push(format!(
                "made for UpgradeCode {}, the package's is {} (another product)",
                self.upgrade_code, package.upgrade_code
            ));
        }
        if wants(validate::LANGUAGE) {
            let language = self.language();
            if language != 0 && package.language != 0 && language != package.language {
                out.push(format!(
                    "made for language {language}, the package's is {}",
                    package.language
                ));
            }
        }
        let fields = if wants(validate::UPDATE_VERSION) {
            3
        } else if wants(validate::MINOR_VERSION) {
            2
        } else if wants(validate::MAJOR_VERSION) {
            1
        } else {
            0
        };
        if fields > 0 {
            let parse = |v: &str| -> Vec<u32> {
                v.split('.')
                    .take(fields)
                    .map(|f| f.parse().unwrap_or(0))
                    .collect()
            };
            let (have, base) = (parse(&package.product_version), parse(&self.base_version));
            use std::cmp::Ordering::*;
            let order = have.cmp(&base);
            let (ok, relation) = if wants(validate::NEW_LESS_BASE_VERSION) {
                (order == Less, "lower than")
            } else if wants(validate::NEW_LESS_EQUAL_BASE_VERSION) {
                (order != Greater, "at most")
            } else if wants(validate::NEW_GREATER_EQUAL_BASE_VERSION) {
                (order != Less, "at least")
            } else if wants(validate::NEW_GREATER_BASE_VERSION) {
                (order == Greater, "higher than")
            } else {
                (order == Equal, "equal to")
            };
            if !ok {
                out.push(format!(
                    "the package's version {} must be {relation} {} (first {fields} fields)",
                    package.product_version, self.base_version
                ));
            }
        }
        out
    }
}

/// A decoded transform file: summary, string pool and raw table streams (decoded against a
/// package's schema by [`apply`]).
#[derive(Clone, Debug)]
pub struct TransformFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Summary information.
    pub summary: TransformSummary,
    /// The string pool's codepage.
    pub codepage: u32,
    /// Names of the table streams (decoded), `_StringPool`/`_StringData` excluded.
    pub tables: Vec<String>,
    pub(super) pool: StringPool,
    pub(super) streams: BTreeMap<String, Vec<u8>>,
}

fn bad(path: &Path, reason: impl Into<String>) -> TransformError {
    TransformError::BadTransform {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl TransformFile {
    /// Reads the transform at `path`.
    pub fn read(path: &Path) -> Result<TransformFile, TransformError> {
        let bytes = std::fs::read(path).map_err(read_err(path))?;
        TransformFile::parse(path, &bytes)
    }

    /// Decodes transform bytes; `path` only names the source in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<TransformFile, TransformError> {
        let mut storage = Storage::from_bytes(bytes.to_vec())
            .map_err(|e| bad(path, format!("not a compound file ({e})")))?;
        check_class(path, &storage)?;
        let mut streams = BTreeMap::new();
        let mut summary_bytes = None;
        for name in storage.streams().to_vec() {
            let data = storage
                .read(&name.raw)
                .map_err(|e| bad(path, format!("stream {:?}: {e}", name.raw)))?;
            if name.raw == SUMMARY_STREAM {
                summary_bytes = Some(data);
            } else if name.is_table {
                streams.insert(name.name, data);
            }
        }
        let summary_bytes =
            summary_bytes.ok_or_else(|| bad(path, "no summary information stream"))?;
        let info = SummaryInfo::decode(&summary_bytes)
            .map_err(|reason| bad(path, format!("summary information: {reason}")))?;
        let summary = TransformSummary::from_info(path, &info)?;
        let pool = streams
            .remove("_StringPool")
            .ok_or_else(|| bad(path, "no _StringPool stream"))?;
        let data = streams
            .remove("_StringData")
            .ok_or_else(|| bad(path, "no _StringData stream"))?;
        let pool = StringPool::parse(&pool, &data).map_err(|reason| bad(path, reason))?;
        Ok(TransformFile {
            path: path.to_path_buf(),
            summary,
            codepage: pool.codepage(),
            tables: streams.keys().cloned().collect(),
            pool,
            streams,
        })
    }
}

/// Refuses a compound file whose root class is not the transform class, saying what it is.
fn check_class(path: &Path, storage: &Storage) -> Result<(), TransformError> {
    let what = match storage.kind() {
        Some(PackageKind::Transform) => return Ok(()),
        Some(PackageKind::Installer) => "an installer package (.msi), not a transform".to_string(),
        Some(PackageKind::Patch) => "a patch (.msp), not a transform".to_string(),
        None => format!(
            "its root storage class is {{{}}}, not the transform class {{{TRANSFORM_CLSID}}}",
            storage.clsid().hyphenated().to_string().to_uppercase()
        ),
    };
    Err(bad(path, what))
}

impl TransformSummary {
    /// The transform-specific fields of a transform's summary information.
    fn from_info(path: &Path, info: &SummaryInfo) -> Result<TransformSummary, TransformError> {
        let char_count = info.int(pid::CHARACTER_COUNT).unwrap_or(0) as u32;
        let revision = info.text(pid::REVISION_NUMBER);
        let lineage = parse_lineage(&revision).ok_or_else(|| {
            bad(
                path,
                format!("Revision Number {revision:?} is not {{ProductCode}}version;{{ProductCode}}version;{{UpgradeCode}}"),
            )
        })?;
        Ok(TransformSummary {
            validation: (char_count >> 16) as u16,
            suppressed: (char_count & 0xFFFF) as u16,
            revision: revision.clone(),
            base_product_code: lineage.0,
            base_version: lineage.1,
            new_product_code: lineage.2,
            new_version: lineage.3,
            upgrade_code: lineage.4,
            template: info.text(pid::TEMPLATE),
            page_count: info.int(pid::PAGE_COUNT),
        })
    }
}

/// `{PC}ver;{PC}ver;{UC}` → its five parts.
fn parse_lineage(text: &str) -> Option<(String, String, String, String, String)> {
    let mut parts = text.split(';');
    let split = |part: &str| -> Option<(String, String)> {
        let end = part.find('}')?;
        part.starts_with('{')
            .then(|| (part[..=end].to_string(), part[end + 1..].to_string()))
    };
    let (base_code, base_version) = split(parts.next()?)?;
    let (new_code, new_version) = split(parts.next()?)?;
    let upgrade = parts.next().unwrap_or_default().to_string();
    if !(upgrade.is_empty() || (upgrade.starts_with('{') && upgrade.ends_with('}'))) {
        return None;
    }
    Some((base_code, base_version, new_code, new_version, upgrade))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_parses_into_codes_and_versions() {
        let parsed = parse_lineage("{A}1.2.3;{B}1.2.4;{C}").unwrap();
        assert_eq!(
            parsed,
            (
                "{A}".into(),
                "1.2.3".into(),
                "{B}".into(),
                "1.2.4".into(),
                "{C}".into()
            )
        );
        assert!(parse_lineage("{A}1.2.3").is_none());
        assert!(parse_lineage("A1;{B}2;{C}").is_none());
    }
}
