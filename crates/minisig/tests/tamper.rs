//! Each way a release could be tampered with fails verification with its own error.

mod common;

use common::sample_data;
use minisig::{
    generate, verify, Error, FileKind, FormatProblem, OsRng, PublicKey, SecretKey, Signature,
};

const TRUSTED: &str = "file:hello.msi\tversion:1.2.3";

fn signed() -> (PublicKey, SecretKey, Vec<u8>, String) {
    let (public, secret) = generate(&mut OsRng);
    let data = sample_data();
    let text = secret.sign(&data[..], TRUSTED, "u").unwrap().to_text();
    (public, secret, data, text)
}

#[test]
fn untampered_release_verifies() {
    let (public, _, data, text) = signed();
    let verified = verify(&public, &Signature::parse(&text).unwrap(), &data[..]).unwrap();
    assert_eq!(verified.trusted_comment(), TRUSTED);
}

#[test]
fn flipped_data_byte_is_a_bad_signature() {
    let (public, _, data, text) = signed();
    let sig = Signature::parse(&text).unwrap();
    for index in [0, 1, 65_535, 65_536, data.len() - 1] {
        let mut flipped = data.clone();
        flipped[index] ^= 0x10;
        let err = verify(&public, &sig, &flipped[..]).unwrap_err();
        assert!(matches!(err, Error::BadSignature), "byte {index}: {err}");
        assert!(err.to_string().contains("data does not match"), "{err}");
    }
}

#[test]
fn truncated_or_extended_data_is_a_bad_signature() {
    let (public, _, data, text) = signed();
    let sig = Signature::parse(&text).unwrap();
    assert!(matches!(
        verify(&public, &sig, &data[..data.len() - 1]),
        Err(Error::BadSignature)
    ));
    let mut longer = data.clone();
    longer.push(0);
    assert!(matches!(
        verify(&public, &sig, &longer[..]),
        Err(Error::BadSignature)
    ));
}

#[test]
fn edited_trusted_comment_is_a_bad_global_signature() {
    let (public, _, data, text) = signed();
    for edited in [
        text.replace("version:1.2.3", "version:1.2.4"),
        text.replace("file:hello.msi", "file:other.msi"),
        text.replace(TRUSTED, &format!("{TRUSTED} ")),
        text.replace(TRUSTED, ""),
    ] {
        let sig = Signature::parse(&edited).unwrap();
        let err = verify(&public, &sig, &data[..]).unwrap_err();
        assert!(matches!(err, Error::BadGlobalSignature), "{err}");
        assert!(
            err.to_string().contains("trusted comment was edited"),
            "{err}"
        );
    }
}

#[test]
fn edited_untrusted_comment_still_verifies() {
    // The untrusted comment is not signed, by design of the format; nothing may rely on it.
    let (public, _, data, text) = signed();
    let edited = text.replacen("untrusted comment: u", "untrusted comment: anything", 1);
    let sig = Signature::parse(&edited).unwrap();
    assert_eq!(sig.untrusted_comment(), "anything");
    verify(&public, &sig, &data[..]).unwrap();
}

#[test]
fn another_key_is_a_key_id_mismatch() {
    let (_, _, data, text) = signed();
    let (other_public, _) = generate(&mut OsRng);
    let sig = Signature::parse(&text).unwrap();
    let err = verify(&other_public, &sig, &data[..]).unwrap_err();
    match &err {
        Error::KeyIdMismatch {
            signature_key_id,
            public_key_id,
        } => {
            assert_eq!(*signature_key_id, sig.key_id());
            assert_eq!(*public_key_id, other_public.key_id());
        }
        other => panic!("expected a key id mismatch, got {other}"),
    }
    assert!(err.to_string().contains("signed by another key"), "{err}");
}

/// Rewrites the decoded `ED ‖ key id ‖ signature` line of a signature file.
fn rewrite_signature_line(text: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut bytes = engine.decode(&lines[1]).unwrap();
    edit(&mut bytes);
    lines[1] = engine.encode(&bytes);
    lines.join("\n") + "\n"
}

#[test]
fn another_key_claiming_our_key_id_is_a_bad_signature() {
    // An attacker can write our key id into their signature; the signature itself still fails.
    let (public, _, data, _) = signed();
    let (_, attacker) = generate(&mut OsRng);
    let forged = attacker.sign(&data[..], TRUSTED, "u").unwrap().to_text();
    let forged = rewrite_signature_line(&forged, |bytes| {
        bytes[2..10].copy_from_slice(public.key_id().as_bytes())
    });
    let forged_sig = Signature::parse(&forged).unwrap();
    assert_eq!(forged_sig.key_id(), public.key_id());
    let err = verify(&public, &forged_sig, &data[..]).unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");
}

#[test]
fn signature_for_another_file_does_not_verify() {
    // A valid signature swapped in from another artifact or version.
    let (public, secret, data, _) = signed();
    let other_text = secret
        .sign(
            &b"another artifact"[..],
            "file:other.zip\tversion:1.2.2",
            "u",
        )
        .unwrap()
        .to_text();
    let err = verify(&public, &Signature::parse(&other_text).unwrap(), &data[..]).unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");
}

#[test]
fn truncated_signature_file_names_the_missing_line() {
    let (_, _, _, text) = signed();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // Cut right after each complete line: the next line is reported missing.
    for (complete_lines, &cut) in line_starts.iter().enumerate().take(4) {
        let err = Signature::parse(&text[..cut]).unwrap_err();
        match err {
            Error::Format {
                file: FileKind::Signature,
                line,
                problem: FormatProblem::MissingLine { .. },
            } => assert_eq!(line, complete_lines + 1),
            other => panic!("cut at {cut}: expected a missing line, got {other}"),
        }
    }
    // Cut inside a base64 line: that line is reported as bad base64 or short.
    let inside_signature_line = line_starts[1] + 20;
    let err = Signature::parse(&text[..inside_signature_line]).unwrap_err();
    assert!(
        err.to_string().starts_with("signature file, line 2: "),
        "{err}"
    );
    let inside_global_line = line_starts[3] + 40;
    let err = Signature::parse(&text[..inside_global_line]).unwrap_err();
    assert!(matches!(err, Error::Format { line: 4, .. }), "{err}");
    // Missing only the final newline is fine, as in minisign.
    Signature::parse(text.trim_end()).unwrap();
}

#[test]
fn malformed_signature_files_name_line_and_problem() {
    let (_, _, _, text) = signed();
    let lines: Vec<&str> = text.lines().collect();
    let rebuild = |index: usize, replacement: &str| {
        let mut copy = lines.clone();
        copy[index] = replacement;
        copy.join("\n") + "\n"
    };
    let cases = [
        (
            rebuild(0, "comment: u"),
            "signature file, line 1: must start with \"untrusted comment: \"",
        ),
        (
            rebuild(1, "RUQ!"),
            "signature file, line 2: is not valid base64",
        ),
        (
            rebuild(1, &lines[1][4..]),
            "signature file, line 2: decodes to 71 bytes, but 74 are expected",
        ),
        (
            rebuild(2, "comment: x"),
            "signature file, line 3: must start with \"trusted comment: \"",
        ),
        (
            rebuild(2, "trusted comment: a\u{1b}[31m"),
            "signature file, line 3: comment contains a line break or control character at byte 1",
        ),
        (rebuild(3, &lines[3][..84]), "signature file, line 4: "),
        (
            text.clone() + "extra\n",
            "signature file, line 5: is unexpected",
        ),
    ];
    for (bad, expected) in cases {
        let err = Signature::parse(&bad).unwrap_err();
        assert!(
            err.to_string().starts_with(expected),
            "{err} (expected {expected})"
        );
    }
    // A public key file is not a signature.
    let (public, _) = generate(&mut OsRng);
    let err = Signature::parse(&public.to_file_text()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("signature file, line 2: decodes to 42 bytes"),
        "{err}"
    );
}

#[test]
fn unknown_signature_algorithm_is_named() {
    let (_, _, _, text) = signed();
    let bad = rewrite_signature_line(&text, |bytes| bytes[..2].copy_from_slice(b"XX"));
    let err = Signature::parse(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signature file, line 2: uses unsupported signature algorithm \"XX\" \
         (supported: \"ED\" (prehashed) or \"Ed\" (legacy))"
    );
}

#[test]
fn prehashed_signature_relabelled_legacy_fails() {
    // Switching the algorithm id changes what the signature is checked against.
    let (public, _, data, text) = signed();
    let relabelled = rewrite_signature_line(&text, |bytes| bytes[..2].copy_from_slice(b"Ed"));
    let err = verify(&public, &Signature::parse(&relabelled).unwrap(), &data[..]).unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");
}
