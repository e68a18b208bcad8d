//! `.minisig` files and the `signature` of store documents: `Signature::parse`, then
//! verification against the seed key over fixed data (must fail unless the input is a real
//! signature of it, and must never panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use minisig::Signature;

/// The file the corpus signature signs.
const SIGNED_DATA: &[u8] = b"winrelease fuzz seed\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(signature) = Signature::parse(text) else {
        return;
    };
    let _ = (
        signature.key_id(),
        signature.algorithm(),
        signature.trusted_comment(),
    );
    let public = winrelease_fuzz::seed_key().public_key();
    let _ = minisig::verify(&public, &signature, SIGNED_DATA);
    let reparsed = Signature::parse(&signature.to_text()).expect("a printed signature parses");
    assert_eq!(reparsed.to_text(), signature.to_text());
});
