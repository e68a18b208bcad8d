//! The store's signed documents: `<product>/index.json` and `<product>/channels/<name>.json`.
//!
//! Each is one JSON file holding the signed content and its minisign signature:
//!
//! ```json
//! {
//!   "signature": "untrusted comment: …\nRW…\ntrusted comment: winrelease product=… version=… file=index.json sha256=…\n…\n",
//!   "signed": { … }
//! }
//! ```
//!
//! The signature is over the canonical JSON of `signed` (sorted keys, two-space indent,
//! trailing newline, as for `manifest.json`), made with the release key through the same
//! [`Binding`] trusted comment as every release file, so it names product, version, file and
//! SHA-256. Keeping content and signature in one file is what lets a pointer be replaced
//! atomically by one rename (or one conditional PUT): a separate `.minisig` would be a second
//! file, and a crash between the two replacements would leave a pointer that verifies against
//! nothing.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use minisig::{PublicKey, Signature};

use super::names::check_windows_name;
use crate::binding::Binding;
use crate::config::check_channel_name;
use crate::digest::{hash_reader, Sha256Digest};
use crate::keys::{ReleaseKey, SignError};
use crate::manifest::{canonical_json, parse_rfc3339_utc};

/// File name of the index in a product's folder.
pub const INDEX_FILE: &str = "index.json";
/// Folder of the channel pointers in a product's folder.
pub const CHANNELS_DIR: &str = "channels";
/// Schema version of index and channel pointer.
pub const DOC_SCHEMA_VERSION: u32 = 1;
/// Largest index or pointer accepted.
pub const MAX_DOC_BYTES: u64 = 16 << 20;

/// `<product>/index.json`: every published version, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub schema_version: u32,
    pub product: String,
    /// Grows by one with every change of the index.
    pub sequence: u64,
    /// Sorted by SemVer precedence, oldest first.
    pub versions: Vec<IndexEntry>,
}

/// One published version in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    pub version: String,
    /// SHA-256 of the version's `manifest.json`.
    pub manifest_sha256: String,
    /// The MSI's file name, when the release has one (for Group Policy upgrades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msi: Option<String>,
    /// When the version's manifest expires (RFC 3339 UTC).
    pub expires: String,
}

/// `<product>/channels/<channel>.json`: which version a channel gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPointer {
    pub schema_version: u32,
    pub product: String,
    pub channel: String,
    pub version: String,
    /// SHA-256 of the version's `manifest.json`.
    pub manifest_sha256: String,
    /// Grows by one with every change of the channel, rollbacks included, so a client that
    /// saw sequence N refuses a replayed pointer with a lower one.
    pub sequence: u64,
    /// After this instant (RFC 3339 UTC) clients refuse the pointer.
    pub expires: String,
    /// Set by a rollback: the version the channel was on before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_from: Option<String>,
    /// Set while `version` is being rolled out in steps (see [`crate::rollout`]); pointers
    /// without it (every pointer written before rollouts existed) keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<PointerRollout>,
}

/// A staged rollout of a pointer's `version`: hosts whose place in line is below `percent`
/// take it, the others stay on `previous`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointerRollout {
    /// The version hosts outside the step keep (and roll back to).
    pub previous: String,
    /// SHA-256 of `previous`'s `manifest.json`.
    pub previous_manifest_sha256: String,
    /// Share of hosts (by place in line) allowed to take `version`, 1–100.
    pub percent: u8,
    /// The planned steps, ascending, ending at 100; `percent` is one of them.
    pub steps: Vec<u8>,
    /// Hosts of the current step that may fail their health gate before `advance` halts.
    pub max_failures: u32,
    /// Active, or halted (no host moves forward).
    pub state: RolloutState,
}

/// Whether a rollout moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloutState {
    Active,
    Halted,
}

impl PointerRollout {
    /// Checks the rollout of a pointer at `version`.
    fn validate(&self, version: &semver::Version) -> Result<(), String> {
        let previous = check_version("rollout.previous", &self.previous)?;
        if previous.cmp_precedence(version) != std::cmp::Ordering::Less {
            return Err(format!(
                "rolls out {version} over {}, which is not older",
                self.previous
            ));
        }
        check_sha(
            "rollout.previous_manifest_sha256",
            &self.previous_manifest_sha256,
        )?;
        let ascending = self.steps.windows(2).all(|w| w[0] < w[1]);
        if !ascending || self.steps.first() == Some(&0) || self.steps.last() != Some(&100) {
            return Err(format!(
                "has rollout steps {:?}; steps must ascend from above 0 to 100",
                self.steps
            ));
        }
        if !self.steps.contains(&self.percent) {
            return Err(format!(
                "has rollout percent {}, which is not one of its steps {:?}",
                self.percent, self.steps
            ));
        }
        Ok(())
    }
}

/// The key of the index of `product`.
pub(crate) fn index_key(product: &str) -> String {
    format!("{product}/{INDEX_FILE}")
}

/// The file name a channel pointer's signature binds (relative to the product folder).
pub(crate) fn channel_file(channel: &str) -> String {
    format!("{CHANNELS_DIR}/{channel}.json")
}

/// The key of a channel pointer of `product`.
pub(crate) fn channel_key(product: &str, channel: &str) -> String {
    format!("{product}/{}", channel_file(channel))
}

fn check_sha(field: &str, text: &str) -> Result<(), String> {
    Sha256Digest::from_hex(text)
        .map(|_| ())
        .ok_or_else(|| format!("{field} is not 64 lowercase hex digits"))
}

fn check_version(field: &str, text: &str) -> Result<semver::Version, String> {
    check_windows_name(text).map_err(|e| format!("{field} {text:?} {e}"))?;
    semver::Version::parse(text).map_err(|e| format!("{field} {text:?} is not SemVer ({e})"))
}

/// A document's schema version must be this winrelease's, and the product it names the one
/// whose folder it lies in; `what` names the document ("the index").
fn check_header(
    schema_version: u32,
    found_product: &str,
    product: &str,
    what: &str,
) -> Result<(), String> {
    if schema_version != DOC_SCHEMA_VERSION {
        return Err(format!(
            "has schema_version {schema_version}, this winrelease reads {DOC_SCHEMA_VERSION}"
        ));
    }
    if found_product != product {
        return Err(format!(
            "is {what} of product {found_product:?}, but lies in the folder of {product:?}"
        ));
    }
    Ok(())
}

impl Index {
    /// Checks the content beyond its JSON types, for the index of `product`.
    pub fn validate(&self, product: &str) -> Result<(), String> {
        check_header(self.schema_version, &self.product, product, "the index")?;
        if self.sequence < self.versions.len() as u64 || self.sequence == 0 {
            return Err(format!(
                "has sequence {} but lists {} versions; every version added raises the sequence",
                self.sequence,
                self.versions.len()
            ));
        }
        let mut last: Option<semver::Version> = None;
        for entry in &self.versions {
            let version = check_version("version", &entry.version)?;
            check_sha("manifest_sha256", &entry.manifest_sha256)?;
            if let Some(msi) = &entry.msi {
                check_windows_name(msi).map_err(|e| format!("msi {msi:?} {e}"))?;
            }
            parse_rfc3339_utc(&entry.expires)
                .ok_or_else(|| format!("expires {:?} is not RFC 3339 UTC", entry.expires))?;
            if let Some(last) = &last {
                if last.cmp_precedence(&version) != std::cmp::Ordering::Less {
                    return Err(format!(
                        "lists {} after {last}: versions must be unique and in ascending order",
                        entry.version
                    ));
                }
            }
            last = Some(version);
        }
        Ok(())
    }

    /// The entry of `version`.
    pub fn entry(&self, version: &str) -> Option<&IndexEntry> {
        self.versions.iter().find(|e| e.version == version)
    }

    /// The version the signature's binding names: the newest listed.
    pub(crate) fn binding_version(&self) -> &str {
        self.versions
            .last()
            .map(|e| e.version.as_str())
            .unwrap_or("none")
    }
}

impl ChannelPointer {
    /// Checks the content beyond its JSON types, for `channel` of `product`.
    pub fn validate(&self, product: &str, channel: &str) -> Result<(), String> {
        check_header(self.schema_version, &self.product, product, "a pointer")?;
        check_channel_name(&self.channel)?;
        if self.channel != channel {
            return Err(format!(
                "is the pointer of channel {:?}, but is stored as channel {channel:?}",
                self.channel
            ));
        }
        let version = check_version("version", &self.version)?;
        check_sha("manifest_sha256", &self.manifest_sha256)?;
        if self.sequence == 0 {
            return Err("has sequence 0; sequences start at 1".into());
        }
        parse_rfc3339_utc(&self.expires)
            .ok_or_else(|| format!("expires {:?} is not RFC 3339 UTC", self.expires))?;
        if let Some(rollout) = &self.rollout {
            rollout.validate(&version)?;
        }
        if let Some(from) = &self.rollback_from {
            let from_version = check_version("rollback_from", from)?;
            if from_version.cmp_precedence(&version) != std::cmp::Ordering::Greater {
                return Err(format!(
                    "says it rolled back from {from} to {}, which is not older",
                    self.version
                ));
            }
        }
        Ok(())
    }

    /// `expires` as Unix seconds.
    pub fn expires_unix(&self) -> Option<i64> {
        parse_rfc3339_utc(&self.expires)
    }
}

/// The bytes of a signed document: `signed` is `doc`, `signature` its minisign signature by
/// `key`, binding `product`, `version` and `file`.
pub(crate) fn seal<T: Serialize>(
    doc: &T,
    key: &ReleaseKey,
    product: &str,
    version: &str,
    file: &str,
) -> Result<Vec<u8>, SignError> {
    let value = serde_json::to_value(doc).expect("store documents serialize");
    let payload = canonical_json(&value).expect("store documents have no floats");
    let digest = hash_reader(payload.as_bytes()).expect("hashing memory does not fail");
    let signed = key.sign(
        &digest,
        &Binding {
            product: product.to_string(),
            version: version.to_string(),
            file: file.to_string(),
            sha256: digest.sha256,
        },
    )?;
    let envelope = serde_json::json!({ "signed": value, "signature": signed.text });
    Ok(canonical_json(&envelope)
        .expect("store documents have no floats")
        .into_bytes())
}

/// A verified document and what its signature binds.
#[derive(Debug, Clone)]
pub(crate) struct Opened<T> {
    pub doc: T,
    pub binding: Binding,
}

/// Verifies a document written by [`seal`] with `key`; the signature must bind `file`.
/// `Err` says what is wrong, for the caller to prefix with the document's location.
pub(crate) fn open<T: DeserializeOwned>(
    bytes: &[u8],
    key: &PublicKey,
    file: &str,
) -> Result<Opened<T>, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON ({e})"))?;
    let Value::Object(map) = &value else {
        return Err("is not a JSON object".into());
    };
    if map.len() != 2 || !map.contains_key("signed") || !map.contains_key("signature") {
        return Err("must have exactly the fields `signed` and `signature`".into());
    }
    let Some(signature_text) = map["signature"].as_str() else {
        return Err("`signature` is not a string".into());
    };
    let payload = canonical_json(&map["signed"])
        .map_err(|e| format!("`signed` is not canonical JSON ({e})"))?;
    let digest = hash_reader(payload.as_bytes()).map_err(|e| e.to_string())?;
    let signature = Signature::parse(signature_text)
        .map_err(|e| format!("`signature` is not a minisign signature ({e})"))?;
    match minisig::verify_prehash(key, &signature, &digest.prehash) {
        Ok(_) => {}
        Err(minisig::Error::KeyIdMismatch {
            signature_key_id,
            public_key_id,
        }) => {
            return Err(format!(
                "is signed by key {signature_key_id}, not by the expected key {public_key_id}"
            ))
        }
        Err(minisig::Error::BadSignature) => {
            return Err(
                "does not match its signature: the content was changed after signing".into(),
            )
        }
        Err(minisig::Error::BadGlobalSignature) => {
            return Err("has a trusted comment that was edited after signing".into())
        }
        Err(other) => return Err(format!("has an unusable signature ({other})")),
    }
    let binding = Binding::parse(signature.trusted_comment())
        .map_err(|e| format!("has a signature whose trusted comment {e}"))?;
    if binding.file != file {
        return Err(format!(
            "carries the signature of {:?}, not of {file:?}: it was copied from elsewhere",
            binding.file
        ));
    }
    if binding.sha256 != digest.sha256 {
        return Err("has a signature that binds other content".into());
    }
    let doc = serde_path_to_error::deserialize(map["signed"].clone())
        .map_err(|e| format!("`signed` at `{}`: {}", e.path(), e.inner()))?;
    Ok(Opened { doc, binding })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySource;

    fn pointer() -> ChannelPointer {
        ChannelPointer {
            schema_version: DOC_SCHEMA_VERSION,
            product: "Hello Service".into(),
            channel: "stable".into(),
            version: "1.2.3".into(),
            manifest_sha256: "ab".repeat(32),
            sequence: 7,
            expires: "2026-09-01T00:00:00Z".into(),
            rollback_from: None,
            rollout: None,
        }
    }

    #[test]
    fn sealed_documents_open_and_refuse_changes() {
        let (_, secret) = minisig::generate(&mut minisig::OsRng);
        let key = ReleaseKey::new(secret, KeySource::File("k".into()));
        let file = channel_file("stable");
        let bytes = seal(&pointer(), &key, "Hello Service", "1.2.3", &file).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\n  \"signature\": "), "{text}");
        assert!(text.ends_with("}\n"));

        let opened = open::<ChannelPointer>(&bytes, &key.public_key(), &file).unwrap();
        assert_eq!(opened.doc, pointer());
        assert_eq!(opened.binding.file, "channels/stable.json");
        opened.doc.validate("Hello Service", "stable").unwrap();

        // Re-indented but equal content still verifies: the signature covers the canonical form.
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        assert!(open::<ChannelPointer>(&compact, &key.public_key(), &file).is_ok());

        let edited = text.replace("\"sequence\": 7", "\"sequence\": 8");
        let err = open::<ChannelPointer>(edited.as_bytes(), &key.public_key(), &file).unwrap_err();
        assert!(err.contains("does not match its signature"), "{err}");
        let err =
            open::<ChannelPointer>(&bytes, &key.public_key(), "channels/beta.json").unwrap_err();
        assert!(
            err.contains("carries the signature of \"channels/stable.json\""),
            "{err}"
        );
        let (other, _) = minisig::generate(&mut minisig::OsRng);
        let err = open::<ChannelPointer>(&bytes, &other, &file).unwrap_err();
        assert!(err.contains("is signed by key"), "{err}");
        let err = open::<ChannelPointer>(b"[]", &key.public_key(), &file).unwrap_err();
        assert!(err.contains("not a JSON object"), "{err}");
    }

    #[test]
    fn pointers_and_indexes_are_validated() {
        let mut p = pointer();
        assert!(p.validate("Other", "stable").is_err());
        assert!(p.validate("Hello Service", "beta").is_err());
        p.rollback_from = Some("1.2.0".into());
        assert!(p
            .validate("Hello Service", "stable")
            .unwrap_err()
            .contains("not older"));
        p.rollback_from = Some("1.3.0".into());
        p.validate("Hello Service", "stable").unwrap();
        p.sequence = 0;
        assert!(p.validate("Hello Service", "stable").is_err());

        let entry = |v: &str| IndexEntry {
            version: v.into(),
            manifest_sha256: "cd".repeat(32),
            msi: Some(format!("x_{v}.msi")),
            expires: "2026-09-01T00:00:00Z".into(),
        };
        let mut index = Index {
            schema_version: DOC_SCHEMA_VERSION,
            product: "P".into(),
            sequence: 2,
            versions: vec![entry("1.0.0"), entry("1.10.0")],
        };
        index.validate("P").unwrap();
        assert_eq!(index.binding_version(), "1.10.0");
        index.versions.swap(0, 1);
        assert!(index.validate("P").unwrap_err().contains("ascending"));
        index.versions = vec![entry("1.0.0"), entry("1.0.0")];
        assert!(index.validate("P").is_err());
        index.versions = vec![entry("1.0.0"), entry("2.0.0"), entry("3.0.0")];
        assert!(index.validate("P").unwrap_err().contains("sequence"));
    }
}
