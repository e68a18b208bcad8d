//! Property tests: parsing arbitrary text as a key or signature never panics, and no edit of a
//! valid file makes it verify as something else.

use std::sync::OnceLock;

use minisig::{generate, verify, KdfParams, OsRng, PublicKey, SecretKey, Signature};
use proptest::prelude::*;
use proptest::sample::Index;

const TRUSTED: &str = "file:hello.msi\tversion:1.2.3";
const DATA: &[u8] = b"the artifact";
const PASSPHRASE: &[u8] = b"proptest passphrase";

/// One signed fixture shared by all cases (generating keys per case would only cost time).
struct Fixture {
    public: PublicKey,
    public_file: String,
    signature_file: String,
    unencrypted_key_file: String,
    encrypted_key_file: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (public, secret) = generate(&mut OsRng);
        Fixture {
            public,
            public_file: public.to_file_text(),
            signature_file: secret.sign(DATA, TRUSTED, "u").unwrap().to_text(),
            unencrypted_key_file: secret.to_unencrypted_file().to_string(),
            encrypted_key_file: secret
                .to_encrypted_file(PASSPHRASE, KdfParams::fast_for_tests())
                .unwrap(),
        }
    })
}

/// Feeds `text` to every parser; only panics matter here, results are ignored.
fn parse_everything(text: &str) {
    let _ = PublicKey::parse(text);
    let _ = PublicKey::from_base64(text);
    let _ = Signature::parse(text);
    let _ = SecretKey::file_is_encrypted(text);
    let _ = SecretKey::file_kdf_params(text);
    let _ = SecretKey::from_unencrypted_file(text);
    // Only derive when the file's limits are cheap; a mutated file may ask for gigabytes, which
    // is allowed (up to the crate's cap) but would make this test slow.
    if let Ok(Some(params)) = SecretKey::file_kdf_params(text) {
        if params.scrypt_cost().memory_bytes() <= 64 << 20 {
            let _ = SecretKey::from_encrypted_file(text, PASSPHRASE);
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
}

/// Characters that matter to the formats, plus anything at all.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r \t:"
                .chars()
                .collect::<Vec<_>>()
        ),
        1 => any::<char>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), interesting_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => (any::<Index>(), interesting_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// Applies the edits character-wise (so the result stays a `String`).
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len().max(1);
        match edit {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i.index(len)] = *c,
            Edit::Insert(i, c) => chars.insert(i.index(len + 1).min(chars.len()), *c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i.index(len));
            }
            Edit::Truncate(i) => chars.truncate(i.index(len + 1)),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// The three lines of a signature file that carry signed content.
fn signed_lines(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .map(|line| line.trim_end_matches('\r').to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        parse_everything(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn minisign_shaped_text_never_panics(
        text in "(untrusted comment: [ -~]{0,20}\r?\n)?[A-Za-z0-9+/]{0,240}={0,2}\r?\n?(trusted comment: [ -~]{0,20}\n)?([A-Za-z0-9+/]{0,90}={0,2}\n?)?"
    ) {
        parse_everything(&text);
    }

    /// An edited signature file either fails, or verifies with exactly the signed content: no
    /// edit can change the trusted comment or the signatures and still verify.
    #[test]
    fn edited_signature_never_verifies_as_something_else(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        let fixture = fixture();
        let edited = apply(&fixture.signature_file, &edits);
        parse_everything(&edited);
        if let Ok(signature) = Signature::parse(&edited) {
            if let Ok(verified) = verify(&fixture.public, &signature, DATA) {
                prop_assert_eq!(verified.trusted_comment(), TRUSTED);
                prop_assert_eq!(
                    signed_lines(&signature.to_text()),
                    signed_lines(&fixture.signature_file)
                );
            }
        }
    }

    /// An edited public key either fails to parse, fails to verify the signature, or is the
    /// same key.
    #[test]
    fn edited_public_key_never_verifies_as_another_key(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        let fixture = fixture();
        let edited = apply(&fixture.public_file, &edits);
        parse_everything(&edited);
        if let Ok(key) = PublicKey::parse(&edited) {
            let signature = Signature::parse(&fixture.signature_file).unwrap();
            if verify(&key, &signature, DATA).is_ok() {
                prop_assert_eq!(key, fixture.public);
            }
        }
    }

    /// An edited secret key file either fails to load or loads the very same key.
    #[test]
    fn edited_secret_key_never_loads_another_key(
        edits in prop::collection::vec(edit(), 1..4),
        encrypted in any::<bool>(),
    ) {
        let fixture = fixture();
        let original = if encrypted {
            &fixture.encrypted_key_file
        } else {
            &fixture.unencrypted_key_file
        };
        let edited = apply(original, &edits);
        parse_everything(&edited);
        let loaded = if encrypted {
            match SecretKey::file_kdf_params(&edited) {
                Ok(Some(params)) if params.scrypt_cost().memory_bytes() <= 64 << 20 => {
                    SecretKey::from_encrypted_file(&edited, PASSPHRASE).ok()
                }
                _ => None,
            }
        } else {
            SecretKey::from_unencrypted_file(&edited).ok()
        };
        if let Some(key) = loaded {
            prop_assert_eq!(key.public_key(), fixture.public);
        }
    }
}
