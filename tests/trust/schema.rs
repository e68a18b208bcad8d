//! Real manifests match `schema/manifest.schema.json`, and the schema is not vacuous.

use super::*;

#[test]
fn real_manifests_match_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let chain = Chain::new();
    let first = {
        let root = tempfile::tempdir().unwrap();
        let s = release(
            root.path(),
            &chain.key,
            "0.1.0-dev.3+gabc1234.dirty",
            &ReleaseOptions {
                msi: false,
                ..Default::default()
            },
        );
        fs::read(s.manifest).unwrap()
    };
    for bytes in [
        fs::read(&chain.old.manifest).unwrap(),
        fs::read(&chain.new.manifest).unwrap(),
        first,
    ] {
        let instance: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{errors:?}\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // The schema is not vacuous: each of these edits makes a manifest invalid.
    let good: serde_json::Value =
        serde_json::from_slice(&fs::read(&chain.new.manifest).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 7] = [
        ("extra field", |v| v["extra"] = 1.into()),
        ("float size", |v| v["artifacts"][0]["size"] = 1.5.into()),
        ("bad kind", |v| v["artifacts"][0]["kind"] = "pdf".into()),
        ("lowercase guid", |v| {
            v["msi"]["product_code"] = "{11111111-2222-3333-4444-55555555555a}".into()
        }),
        ("time with offset", |v| {
            v["expires"] = "2026-09-10T05:06:07+00:00".into()
        }),
        ("no checksums", |v| {
            v["artifacts"].as_array_mut().unwrap().remove(0);
        }),
        ("schema 2", |v| v["schema_version"] = 2.into()),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "schema accepts a manifest with {what}"
        );
    }
}
