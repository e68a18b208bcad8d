//! minisign public keys (`winrelease.pub`, `--pubkey`): the file form and the bare base64 line.
//! Whatever parses must print back to something that parses to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minisig::PublicKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        PublicKey::parse(text),
        PublicKey::from_file_text(text),
        PublicKey::from_base64(text),
    ] {
        if let Ok(key) = parsed {
            let again = PublicKey::from_file_text(&key.to_file_text()).expect("printed key parses");
            assert_eq!(again.key_id(), key.key_id());
            assert_eq!(again.verifying_key(), key.verifying_key());
        }
    }
});
