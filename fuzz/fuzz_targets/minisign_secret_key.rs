//! minisign secret key files (`WINRELEASE_SECRET_KEY`, `--key`): parsing, the KDF limits read
//! before any derivation, unencrypted loading, and encrypted loading with a wrong passphrase and
//! with the seed's own. The derivation is scrypt with the limits the file states; the crate
//! refuses limits beyond 2 GiB, and this target derives only for files whose stated cost is at
//! most libsodium's minimum (N·p ≤ 2^11, ≤ 2 MiB) so that it stays fast: the parsing before
//! and the checks after the KDF are what it explores.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minisig::{Error, SecretKey};

/// The passphrase the corpus's encrypted seed key was written with.
const SEED_PASSPHRASE: &[u8] = b"fuzz seed passphrase";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = SecretKey::from_unencrypted_file(text) {
        let again = SecretKey::from_unencrypted_file(&key.to_unencrypted_file())
            .expect("a printed unencrypted key parses");
        assert_eq!(again.key_id(), key.key_id());
    }
    let Ok(Some(params)) = SecretKey::file_kdf_params(text) else {
        return;
    };
    assert_eq!(SecretKey::file_is_encrypted(text).ok(), Some(true));
    let cost = params.scrypt_cost();
    if cost.log_n > 10 || u64::from(cost.p) << cost.log_n > 1 << 11 {
        return;
    }
    match SecretKey::from_encrypted_file(text, b"not the passphrase") {
        Ok(_) => panic!("a wrong passphrase opened the key"),
        Err(Error::WrongPassphrase) | Err(_) => {}
    }
    let _ = SecretKey::from_encrypted_file(text, SEED_PASSPHRASE);
});
