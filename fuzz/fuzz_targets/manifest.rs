//! `manifest.json` from a store or a release folder: `Manifest::parse` (JSON, schema,
//! `validate`). What it accepts must survive its own canonical form unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use winrelease::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = Manifest::parse(data) else {
        return;
    };
    let canonical = manifest.to_canonical_json();
    let again = Manifest::parse(canonical.as_bytes())
        .unwrap_or_else(|e| panic!("the canonical form of an accepted manifest is refused: {e}"));
    assert_eq!(again, manifest, "canonical form changed the manifest");
    assert_eq!(
        again.to_canonical_json(),
        canonical,
        "canonical form is not stable"
    );
});
