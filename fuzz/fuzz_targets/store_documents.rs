//! The store's signed documents, `index.json` and `channels/<c>.json`, as publish, promote,
//! verify-store and the release plan read them (`publish::open_index`, `open_pointer`).
//!
//! The first byte chooses what the rest is:
//! * 0, 1: a whole document file (envelope, canonical JSON, signature, binding, content), read
//!   as the index (0) or as the `stable` pointer (1);
//! * 2, 3: only the `signed` content, which this target signs with the seed key (binding the
//!   product and version it names, as a publisher would) before reading it, so the content
//!   checks behind the signature are explored too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use winrelease::binding::Binding;
use winrelease::digest::hash_reader;
use winrelease::keys::{KeySource, ReleaseKey};
use winrelease::manifest::canonical_json;
use winrelease::publish::{open_index, open_pointer, INDEX_FILE};

const PRODUCT: &str = "Hello Service";
const CHANNEL: &str = "stable";

/// `signed` sealed as `file`, binding what the content names (as `publish` does).
fn seal(signed: &Value, file: &str) -> Option<Vec<u8>> {
    let payload = canonical_json(signed).ok()?;
    let digest = hash_reader(payload.as_bytes()).ok()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let version = match file {
        INDEX_FILE => signed
            .get("versions")
            .and_then(Value::as_array)
            .and_then(|v| v.last())
            .map(|e| text(e.get("version")))
            .unwrap_or_else(|| "none".into()),
        _ => text(signed.get("version")),
    };
    let key = ReleaseKey::new(
        winrelease_fuzz::seed_key().clone(),
        KeySource::File("fuzz.key".into()),
    );
    let binding = Binding {
        product: text(signed.get("product")),
        version,
        file: file.to_string(),
        sha256: digest.sha256,
    };
    let signed_text = key.sign(&digest, &binding).ok()?.text;
    let envelope = serde_json::json!({ "signed": signed, "signature": signed_text });
    canonical_json(&envelope).ok().map(String::into_bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let public = winrelease_fuzz::seed_key().public_key();
    let pointer_file = format!("channels/{CHANNEL}.json");
    let bytes = match mode % 4 {
        0 | 1 => rest.to_vec(),
        m => {
            let Ok(signed) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            let file = if m == 2 {
                INDEX_FILE
            } else {
                pointer_file.as_str()
            };
            match seal(&signed, file) {
                Some(bytes) => bytes,
                None => return,
            }
        }
    };
    if mode % 2 == 0 {
        if let Ok(index) = open_index(&bytes, PRODUCT, &public) {
            assert!(index.sequence >= index.versions.len() as u64);
        }
    } else if let Ok(pointer) = open_pointer(&bytes, PRODUCT, CHANNEL, &public) {
        assert_eq!(pointer.channel, CHANNEL);
    }
});
