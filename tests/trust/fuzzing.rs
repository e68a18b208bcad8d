//! A proptest harness that mutates manifest and signature bytes: the parser and the verifier
//! never panic and accept only what was signed.

use super::*;

/// The release folder, its key, and the original manifest, manifest signature and SHA256SUMS.
type FuzzFixture = (tempfile::TempDir, ReleaseKey, Vec<u8>, Vec<u8>, Vec<u8>);

/// One good release, shared by every proptest case (each case rewrites one file and restores
/// it afterwards).
fn fuzz_fixture() -> &'static FuzzFixture {
    static FIXTURE: std::sync::OnceLock<FuzzFixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        let key = test_key();
        let summary = release(root.path(), &key, "1.0.0", &ReleaseOptions::default());
        let manifest = fs::read(&summary.manifest).unwrap();
        let signature = fs::read(&summary.manifest_signature).unwrap();
        let sums = fs::read(release_dir(root.path(), "1.0.0").join(SHA256SUMS_FILE)).unwrap();
        (root, key, manifest, signature, sums)
    })
}

/// Serializes the cases of the tests that share [`fuzz_fixture`]'s folder.
static FUZZ_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (
            any::<usize>(),
            prop_oneof![
                Just(b'"'),
                Just(b'{'),
                Just(b'}'),
                Just(b','),
                Just(b'0'),
                Just(b'9'),
                Just(b'\\'),
                Just(b'\n'),
                Just(0xff),
                any::<u8>()
            ]
        )
            .prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::Flip { at, bit } if len > 0 => bytes[at % len] ^= 1 << bit,
            Mutation::Set { at, byte } if len > 0 => bytes[at % len] = *byte,
            Mutation::Insert { at, bytes: new } => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Remove { at, len: n } if len > 0 => {
                let at = at % len;
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
            _ => {}
        }
    }
    bytes
}

/// Verifies the fixture release with `file` replaced by `bytes`; restores the file after.
fn verify_with(file: &str, bytes: &[u8], original: &[u8]) -> Result<(), String> {
    let (root, key, ..) = fuzz_fixture();
    let dir = release_dir(root.path(), "1.0.0");
    let path = dir.join(file);
    fs::write(&path, bytes).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verify_release(&dir, &key.public_key(), COMMIT_TIME + DAY, None)
    }));
    fs::write(&path, original).unwrap();
    match result {
        Err(_) => Err("the verifier panicked".into()),
        Ok(Ok(verified)) if bytes != original => Err(format!(
            "a modified {file} was accepted:\n{}",
            lines(&verified.lines)
        )),
        Ok(_) => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn verifier_never_accepts_a_modified_manifest(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let _lock = FUZZ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let (_, _, manifest, ..) = fuzz_fixture();
        let mutated = apply(manifest, &mutations);
        prop_assert!(std::panic::catch_unwind(|| Manifest::parse(&mutated)).is_ok(), "parser panicked");
        verify_with(MANIFEST_FILE, &mutated, manifest).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn verifier_never_accepts_a_modified_signature_or_sums_file(
        mutations in proptest::collection::vec(mutation(), 1..4),
        which in 0..2usize,
    ) {
        let _lock = FUZZ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let (_, _, _, signature, sums) = fuzz_fixture();
        let (file, original) = if which == 0 {
            ("manifest.json.minisig", signature)
        } else {
            (SHA256SUMS_FILE, sums)
        };
        let mutated = apply(original, &mutations);
        // A signature file may change where minisign ignores it (the untrusted comment, blank
        // lines); what must never pass is a change to what it signs, and nothing may panic.
        let result = verify_with(file, &mutated, original);
        if file == SHA256SUMS_FILE || !same_signature(original, &mutated) {
            result.map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn manifest_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(std::panic::catch_unwind(|| Manifest::parse(&bytes)).is_ok());
    }

    #[test]
    fn manifest_parser_never_panics_on_json_shaped_input(text in r#"\{("[a-z_]{1,14}": ("[ -~]{0,20}"|-?[0-9]{1,20}(\.[0-9])?|true|null|\[\]|\{\}), ){0,12}"schema_version": 1\}"#) {
        prop_assert!(std::panic::catch_unwind(|| Manifest::parse(text.as_bytes())).is_ok());
    }
}

/// True when `mutated` parses as the same signature as `original` apart from the untrusted
/// comment, which the signature does not cover.
fn same_signature(original: &[u8], mutated: &[u8]) -> bool {
    let signed_part = |bytes: &[u8]| -> Option<String> {
        let signature = minisig::Signature::parse(std::str::from_utf8(bytes).ok()?).ok()?;
        let text = signature.to_text();
        Some(text[text.find('\n')?..].to_string())
    };
    matches!((signed_part(original), signed_part(mutated)), (Some(a), Some(b)) if a == b)
}

#[test]
fn signature_files_tolerate_only_untrusted_comment_changes() {
    // minisign itself ignores the untrusted comment; so does the verifier, and nothing else.
    let _lock = FUZZ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (_, _, _, signature, _) = fuzz_fixture();
    let text = String::from_utf8(signature.clone()).unwrap();
    let edited = text.replacen(
        "untrusted comment: signed by",
        "untrusted comment: relabelled",
        1,
    );
    assert_ne!(text, edited);
    let (root, key, ..) = fuzz_fixture();
    let dir = release_dir(root.path(), "1.0.0");
    let path = dir.join("manifest.json.minisig");
    fs::write(&path, &edited).unwrap();
    let result = verify_release(&dir, &key.public_key(), COMMIT_TIME + DAY, None);
    fs::write(&path, signature).unwrap();
    result.unwrap();
}

#[test]
fn manifest_round_trips_and_rejects_unsorted_artifacts() {
    let _lock = FUZZ_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (_, _, manifest, ..) = fuzz_fixture();
    let mut parsed = Manifest::parse(manifest).unwrap();
    assert_eq!(parsed.to_canonical_json().as_bytes(), &manifest[..]);
    parsed.artifacts.swap(0, 1);
    let err = parsed.validate().unwrap_err().to_string();
    assert!(err.contains("sorted by name"), "{err}");
}
