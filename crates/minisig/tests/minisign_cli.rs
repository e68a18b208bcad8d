//! Interoperability with the stock `minisign` CLI, in both directions.

mod common;

use std::time::Instant;

use common::{minisign, read, require_tool, sample_data, write};
use minisig::{
    generate, verify, Error, KdfParams, OsRng, PublicKey, SecretKey, Signature, SignatureAlgorithm,
};

const TRUSTED: &str = "file:hello.msi\tproduct:Hello Service\tversion:1.2.3";
const PASSPHRASE: &str = "pass phrase with spaces & symbols: ünï";

/// Our key signs; `minisign -V` accepts the signature, with the key given as a file, as a bare
/// `-P` string and with `-H` (prehashed signatures only), and prints our trusted comment.
#[test]
fn minisign_verifies_our_signatures() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = generate(&mut OsRng);
    write(dir.path(), "key.pub", public.to_file_text());
    write(dir.path(), "hello.msi", sample_data());
    let signature = secret
        .sign(&sample_data()[..], TRUSTED, "signature from winrelease")
        .unwrap();
    write(dir.path(), "hello.msi.minisig", signature.to_text());

    let run = minisign(
        &tool,
        dir.path(),
        &["-Vm", "hello.msi", "-p", "key.pub"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    assert!(
        run.stdout
            .contains(&format!("Trusted comment: {TRUSTED}\n")),
        "{}",
        run.describe()
    );

    let run = minisign(
        &tool,
        dir.path(),
        &[
            "-V",
            "-H",
            "-m",
            "hello.msi",
            "-P",
            &public.to_base64(),
            "-Q",
        ],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    assert_eq!(run.stdout, format!("{TRUSTED}\n"));

    // The longest comments we accept are the longest minisign reads back.
    let long_trusted = "t".repeat(minisig::MAX_TRUSTED_COMMENT_LEN);
    let long_untrusted = "u".repeat(minisig::MAX_UNTRUSTED_COMMENT_LEN);
    let sig = secret
        .sign(&sample_data()[..], &long_trusted, &long_untrusted)
        .unwrap();
    write(dir.path(), "hello.msi.minisig", sig.to_text());
    let run = minisign(
        &tool,
        dir.path(),
        &["-Vm", "hello.msi", "-p", "key.pub", "-Q"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    assert_eq!(run.stdout, format!("{long_trusted}\n"));

    // Empty data is data too.
    write(dir.path(), "empty", b"");
    let sig = secret.sign(&b""[..], "empty file", "u").unwrap();
    write(dir.path(), "empty.minisig", sig.to_text());
    let run = minisign(&tool, dir.path(), &["-Vm", "empty", "-p", "key.pub"], b"");
    assert!(run.success, "{}", run.describe());
}

/// What minisign says about each kind of tampering with a signature we made.
#[test]
fn minisign_rejects_tampering_with_our_signatures() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = generate(&mut OsRng);
    let (other_public, _) = generate(&mut OsRng);
    write(dir.path(), "key.pub", public.to_file_text());
    write(dir.path(), "other.pub", other_public.to_file_text());
    let data = sample_data();
    let signature = secret.sign(&data[..], TRUSTED, "u").unwrap().to_text();

    // A flipped byte in the data.
    let mut flipped = data.clone();
    flipped[40_000] ^= 0x01;
    write(dir.path(), "flipped", &flipped);
    write(dir.path(), "flipped.minisig", &signature);
    let run = minisign(&tool, dir.path(), &["-Vm", "flipped", "-p", "key.pub"], b"");
    assert!(!run.success, "{}", run.describe());
    assert!(
        run.stderr.contains("Signature verification failed"),
        "{}",
        run.describe()
    );

    // An edited trusted comment (version bumped to replay the signature for another release).
    write(dir.path(), "edited", &data);
    write(
        dir.path(),
        "edited.minisig",
        signature.replace("version:1.2.3", "version:1.2.4"),
    );
    let run = minisign(&tool, dir.path(), &["-Vm", "edited", "-p", "key.pub"], b"");
    assert!(!run.success, "{}", run.describe());
    assert!(
        run.stderr.contains("Comment signature verification failed"),
        "{}",
        run.describe()
    );

    // The right signature checked against another key.
    write(dir.path(), "good", &data);
    write(dir.path(), "good.minisig", &signature);
    let run = minisign(&tool, dir.path(), &["-Vm", "good", "-p", "other.pub"], b"");
    assert!(!run.success, "{}", run.describe());
    assert!(run.stderr.contains("key id"), "{}", run.describe());
    // ... and the untampered case still passes, so the failures above are about the tampering.
    let run = minisign(&tool, dir.path(), &["-Vm", "good", "-p", "key.pub"], b"");
    assert!(run.success, "{}", run.describe());
}

/// `minisign -G -W` makes an unencrypted key pair; we load it, sign, and minisign verifies.
/// minisign signs (prehashed and legacy); we verify and read its trusted comment.
#[test]
fn unencrypted_minisign_keys_work_both_ways() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = minisign(
        &tool,
        dir.path(),
        &["-G", "-W", "-p", "pub", "-s", "sec"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    let their_public = PublicKey::parse(&read(dir.path(), "pub")).unwrap();
    let sec_text = read(dir.path(), "sec");
    assert!(!SecretKey::file_is_encrypted(&sec_text).unwrap());
    let secret = SecretKey::from_unencrypted_file(&sec_text).unwrap();
    assert_eq!(secret.public_key(), their_public);

    // We sign with their key; they verify.
    let data = sample_data();
    write(dir.path(), "ours.bin", &data);
    let sig = secret.sign(&data[..], TRUSTED, "u").unwrap();
    write(dir.path(), "ours.bin.minisig", sig.to_text());
    let run = minisign(&tool, dir.path(), &["-Vm", "ours.bin", "-p", "pub"], b"");
    assert!(run.success, "{}", run.describe());
    assert!(run.stdout.contains(TRUSTED), "{}", run.describe());

    // They sign; we verify.
    write(dir.path(), "theirs.bin", &data);
    let run = minisign(
        &tool,
        dir.path(),
        &[
            "-S",
            "-s",
            "sec",
            "-m",
            "theirs.bin",
            "-t",
            TRUSTED,
            "-c",
            "their comment",
        ],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    let theirs = Signature::parse(&read(dir.path(), "theirs.bin.minisig")).unwrap();
    assert_eq!(theirs.untrusted_comment(), "their comment");
    assert_eq!(theirs.algorithm(), SignatureAlgorithm::Prehashed);
    let verified = verify(&their_public, &theirs, &data[..]).unwrap();
    assert_eq!(verified.trusted_comment(), TRUSTED);
    // Our signature over the same data and comment is byte-identical to theirs (Ed25519 is
    // deterministic), apart from the untrusted comment.
    assert_eq!(
        theirs.to_text().lines().skip(1).collect::<Vec<_>>(),
        sig.to_text().lines().skip(1).collect::<Vec<_>>()
    );
    let mut changed = data.clone();
    changed[0] ^= 0x80;
    assert!(matches!(
        verify(&their_public, &theirs, &changed[..]),
        Err(Error::BadSignature)
    ));

    // minisign's default trusted comment (no -t) verifies too.
    let run = minisign(
        &tool,
        dir.path(),
        &["-S", "-s", "sec", "-m", "theirs.bin"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    let theirs = Signature::parse(&read(dir.path(), "theirs.bin.minisig")).unwrap();
    let verified = verify(&their_public, &theirs, &data[..]).unwrap();
    assert!(
        verified.trusted_comment().starts_with("timestamp:")
            && verified
                .trusted_comment()
                .contains("\tfile:theirs.bin\thashed"),
        "{}",
        verified.trusted_comment()
    );

    // Legacy (`-l`) signatures verify as well.
    let run = minisign(
        &tool,
        dir.path(),
        &["-S", "-l", "-s", "sec", "-m", "theirs.bin", "-t", "legacy"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    let legacy = Signature::parse(&read(dir.path(), "theirs.bin.minisig")).unwrap();
    assert_eq!(legacy.algorithm(), SignatureAlgorithm::Legacy);
    let verified = verify(&their_public, &legacy, &data[..]).unwrap();
    assert_eq!(verified.trusted_comment(), "legacy");
    assert!(matches!(
        verify(&their_public, &legacy, &changed[..]),
        Err(Error::BadSignature)
    ));
}

/// Our unencrypted key file (`-W` format) works in minisign: it signs with it, and `-R`
/// recreates exactly our public key file.
#[test]
fn minisign_uses_our_unencrypted_key_file() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = generate(&mut OsRng);
    write(dir.path(), "sec", secret.to_unencrypted_file().as_bytes());
    write(dir.path(), "key.pub", public.to_file_text());
    write(dir.path(), "data", sample_data());
    let run = minisign(
        &tool,
        dir.path(),
        &["-S", "-W", "-s", "sec", "-m", "data", "-t", TRUSTED],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    let sig = Signature::parse(&read(dir.path(), "data.minisig")).unwrap();
    assert_eq!(
        verify(&public, &sig, &sample_data()[..])
            .unwrap()
            .trusted_comment(),
        TRUSTED
    );
    let run = minisign(
        &tool,
        dir.path(),
        &["-R", "-s", "sec", "-p", "recreated.pub"],
        b"",
    );
    assert!(run.success, "{}", run.describe());
    assert_eq!(
        PublicKey::parse(&read(dir.path(), "recreated.pub")).unwrap(),
        public
    );
}

/// Signs `data` with the encrypted key file `sec` through minisign, feeding `password` on stdin.
fn minisign_sign_with_password(
    tool: &std::path::Path,
    dir: &std::path::Path,
    password: &str,
) -> common::Run {
    minisign(
        tool,
        dir,
        &["-S", "-s", "sec", "-m", "data", "-t", TRUSTED],
        format!("{password}\n").as_bytes(),
    )
}

/// Our passphrase-encrypted key file opens in minisign with the passphrase on stdin, for
/// scrypt limits in both of libsodium's regimes (operation-bound with the opslimit floor, and
/// memory-bound with p > 1). A wrong passphrase is refused by minisign too.
#[test]
fn minisign_opens_our_encrypted_key_files() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let (public, secret) = generate(&mut OsRng);
    let cases = [
        ("fast_for_tests", KdfParams::fast_for_tests()),
        // opslimit below libsodium's floor: it must be raised to 32768 on both sides.
        ("opslimit floor", KdfParams::new(1_000, 16 << 20).unwrap()),
        // memory-bound: N = 2^10, p = 2.
        ("p = 2", KdfParams::new(65_536, 1 << 20).unwrap()),
        // memory-bound with a larger N and p = 4.
        ("N = 2^12, p = 4", KdfParams::new(524_288, 4 << 20).unwrap()),
    ];
    for (name, kdf) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = secret
            .to_encrypted_file(PASSPHRASE.as_bytes(), kdf)
            .unwrap();
        write(dir.path(), "sec", &file);
        write(dir.path(), "data", sample_data());
        let run = minisign_sign_with_password(&tool, dir.path(), PASSPHRASE);
        assert!(
            run.success,
            "{name} {:?}: {}",
            kdf.scrypt_cost(),
            run.describe()
        );
        let sig = Signature::parse(&read(dir.path(), "data.minisig")).unwrap();
        assert_eq!(
            verify(&public, &sig, &sample_data()[..])
                .unwrap()
                .trusted_comment(),
            TRUSTED,
            "{name}"
        );
        let run = minisign_sign_with_password(&tool, dir.path(), "not the passphrase");
        assert!(!run.success, "{name}: {}", run.describe());
        assert!(
            run.stderr.contains("Wrong password"),
            "{name}: {}",
            run.describe()
        );
    }
}

/// With minisign's default limits (scrypt N = 2^20, 1 GiB) in both directions: `minisign -G`
/// with a password on stdin makes a key we open, and minisign opens a key we encrypt.
#[test]
fn default_kdf_keys_work_both_ways() {
    let Some(tool) = require_tool("minisign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let password_twice = format!("{PASSPHRASE}\n{PASSPHRASE}\n");
    let run = minisign(
        &tool,
        dir.path(),
        &["-G", "-p", "pub", "-s", "sec"],
        password_twice.as_bytes(),
    );
    assert!(run.success, "{}", run.describe());
    let sec_text = read(dir.path(), "sec");
    assert!(SecretKey::file_is_encrypted(&sec_text).unwrap());

    let started = Instant::now();
    let secret = SecretKey::from_encrypted_file(&sec_text, PASSPHRASE.as_bytes()).unwrap();
    eprintln!(
        "scrypt with minisign's default limits (N=2^20, r=8, p=1): decrypting took {:?}",
        started.elapsed()
    );
    assert_eq!(
        secret.public_key(),
        PublicKey::parse(&read(dir.path(), "pub")).unwrap()
    );
    assert!(matches!(
        SecretKey::from_encrypted_file(&sec_text, b"wrong"),
        Err(Error::WrongPassphrase)
    ));

    // And the other way: we encrypt with the default limits, minisign decrypts and signs.
    let started = Instant::now();
    let file = secret
        .to_encrypted_file(PASSPHRASE.as_bytes(), KdfParams::minisign_default())
        .unwrap();
    eprintln!(
        "encrypting with the default limits took {:?}",
        started.elapsed()
    );
    write(dir.path(), "sec", &file);
    write(dir.path(), "data", sample_data());
    let run = minisign_sign_with_password(&tool, dir.path(), PASSPHRASE);
    assert!(run.success, "{}", run.describe());
    let run = minisign(&tool, dir.path(), &["-Vm", "data", "-p", "pub"], b"");
    assert!(run.success, "{}", run.describe());
    assert!(run.stdout.contains(TRUSTED), "{}", run.describe());
}
