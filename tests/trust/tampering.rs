//! Every tamper case fails with its own message.

use super::*;

#[test]
fn flipped_byte_in_each_artifact_is_a_content_change() {
    for kind in [
        ArtifactKind::Exe,
        ArtifactKind::Msi,
        ArtifactKind::Zip,
        ArtifactKind::Checksums,
    ] {
        let chain = Chain::new();
        let path = chain.artifact_path(kind);
        flip_byte(&path, 40);
        let failure = chain.verify_fails();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_failure(&failure, &format!("{name} sha256"), "content was changed");
        assert!(
            matches!(*failure.error, VerifyError::HashMismatch { .. }),
            "{kind}: {failure}"
        );
    }
}

#[test]
fn flipped_byte_in_the_manifest_breaks_its_signature() {
    let chain = Chain::new();
    // Change one digit of a size: still valid JSON and a valid schema, but not what was signed.
    let text = fs::read_to_string(&chain.new.manifest).unwrap();
    let at = text.find("\"size\": ").unwrap() + "\"size\": ".len();
    flip_byte(&chain.new.manifest, at);
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        "manifest signature",
        "does not match its signature",
    );
}

#[test]
fn truncated_artifact_reports_its_size() {
    for kind in [ArtifactKind::Exe, ArtifactKind::Zip] {
        let chain = Chain::new();
        let path = chain.artifact_path(kind);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let failure = chain.verify_fails();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_failure(&failure, &format!("{name} size"), "truncated");
        assert!(
            matches!(*failure.error, VerifyError::SizeMismatch { found, expected, .. }
                if found * 2 <= expected),
            "{failure}"
        );
    }
}

#[test]
fn artifact_swapped_in_from_another_version_is_caught_by_the_binding() {
    // The exe and its valid signature from 1.0.0, renamed to 1.1.0's names.
    let chain = Chain::new();
    let old_exe = chain
        .old
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Exe)
        .unwrap();
    let new_exe = chain.artifact_path(ArtifactKind::Exe);
    fs::copy(&old_exe.path, &new_exe).unwrap();
    fs::copy(&old_exe.signature, sig_path(&new_exe)).unwrap();
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        "hellosvc_1.1.0_windows_amd64.exe signature",
        "swapped in from another release",
    );
    assert!(
        matches!(&*failure.error, VerifyError::BindingMismatch { field: "file", found, .. }
            if found == "hellosvc_1.0.0_windows_amd64.exe"),
        "{failure}"
    );

    // SHA256SUMS has the same name in every release: only the version tells them apart.
    let chain = Chain::new();
    let old_dir = chain.old_dir();
    let new_dir = chain.new_dir();
    for name in [SHA256SUMS_FILE, "SHA256SUMS.minisig"] {
        fs::copy(old_dir.join(name), new_dir.join(name)).unwrap();
    }
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        "SHA256SUMS signature",
        "swapped in from another release",
    );
    assert!(
        matches!(&*failure.error, VerifyError::BindingMismatch { field: "version", found, .. }
            if found == "1.0.0"),
        "{failure}"
    );

    // The old release's manifest with its signature, replayed into the new folder, fails on
    // the first artifact: the files there are bound to 1.1.0.
    let chain = Chain::new();
    for name in [MANIFEST_FILE, "manifest.json.minisig"] {
        fs::copy(chain.old_dir().join(name), chain.new_dir().join(name)).unwrap();
    }
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        "SHA256SUMS signature",
        "binds version \"1.1.0\" where this release has \"1.0.0\"",
    );
}

#[test]
fn manifest_signed_by_another_key_is_refused() {
    let chain = Chain::new();
    let intruder = test_key();
    resign_manifest(&chain.new_dir(), &intruder, |_| {});
    let failure = chain.verify_fails();
    assert_failure(&failure, "manifest signature", "signed by another key");
    assert!(failure.to_string().contains(&intruder.key_id().to_string()));

    // An artifact re-signed by another key is refused the same way.
    let chain = Chain::new();
    let exe = chain.artifact_path(ArtifactKind::Exe);
    let bytes = fs::read(&exe).unwrap();
    let name = exe.file_name().unwrap().to_str().unwrap().to_string();
    write_signed(&intruder, &exe, &bytes, PRODUCT, "1.1.0", &name);
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        &format!("{name} signature"),
        "signed by another key",
    );
}

#[test]
fn edited_trusted_comment_is_refused() {
    // In the manifest's signature…
    let chain = Chain::new();
    let sig = sig_path(&chain.new.manifest);
    let text = fs::read_to_string(&sig).unwrap();
    fs::write(&sig, text.replace("version=1.1.0", "version=9.9.9")).unwrap();
    let failure = chain.verify_fails();
    assert_failure(&failure, "manifest signature", "trusted comment was edited");

    // …and in an artifact's.
    let chain = Chain::new();
    let zip = chain.artifact_path(ArtifactKind::Zip);
    let sig = sig_path(&zip);
    let text = fs::read_to_string(&sig).unwrap();
    let edited = text.replace("product=Hello%20Service", "product=Other");
    assert_ne!(text, edited);
    fs::write(&sig, edited).unwrap();
    let failure = chain.verify_fails();
    assert_failure(
        &failure,
        "hellosvc_1.1.0_windows_amd64.zip signature",
        "trusted comment was edited",
    );
}

#[test]
fn expired_manifest_is_refused_and_fresh_one_accepted() {
    let chain = Chain::new();
    let expires = Manifest::parse(&fs::read(&chain.new.manifest).unwrap())
        .unwrap()
        .expires_unix()
        .unwrap();
    let key = chain.key.public_key();
    verify_release(&chain.new_dir(), &key, expires - 1, None).unwrap();
    let failure = verify_release(&chain.new_dir(), &key, expires, None).unwrap_err();
    assert_failure(&failure, "expiry", "expired at 2026-09-10T05:06:07Z");
    assert!(failure.to_string().contains("frozen or replayed"));
    // Nothing after the expiry check ran.
    assert_eq!(failure.passed.len(), 2, "{}", lines(&failure.passed));
}

#[test]
fn manifest_older_than_the_release_it_follows_is_a_rollback() {
    // Validly signed by the release key, but claims to follow 2.0.0 while being 1.1.0.
    let chain = Chain::new();
    resign_manifest(&chain.new_dir(), &chain.key, |m| {
        m.previous.as_mut().unwrap().version = "2.0.0".into();
    });
    let failure = chain.verify_fails();
    assert_failure(&failure, "version order", "is not newer than version 2.0.0");

    // Equal versions are not "newer" either (build metadata does not count).
    let chain = Chain::new();
    resign_manifest(&chain.new_dir(), &chain.key, |m| {
        m.previous.as_mut().unwrap().version = "1.1.0+other".into();
    });
    let failure = chain.verify_fails();
    assert_failure(&failure, "version order", "this is a rollback");

    // And the trust stage refuses to write such a chain in the first place.
    let root = tempfile::tempdir().unwrap();
    let key = test_key();
    let newer = release(root.path(), &key, "3.0.0", &ReleaseOptions::default());
    let err = release_trust(
        &request(
            root.path(),
            "2.0.0",
            &ReleaseOptions {
                previous: Some(&newer.manifest),
                ..Default::default()
            },
        ),
        &key,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not older than this release's 2.0.0"), "{err}");
    let written: Vec<_> = fs::read_dir(release_dir(root.path(), "2.0.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        written.len(),
        3,
        "only what the earlier stages wrote (exe, MSI, zip): {written:?}"
    );
}

#[test]
fn malformed_json_is_reported_as_such() {
    let chain = Chain::new();
    fs::write(
        &chain.new.manifest,
        b"{\"schema_version\": 1, \"product\": ",
    )
    .unwrap();
    let failure = chain.verify_fails();
    assert_failure(&failure, "manifest", "is not valid JSON");
    assert!(failure.passed.is_empty());

    for (bytes, message) in [
        (&b"[1, 2]"[..], "is not a JSON object"),
        (b"{\"schema_version\": 2}", "schema_version 2"),
        (b"{\"schema_version\": 1.0}", "schema_version 1.0"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"", "is not valid JSON"),
    ] {
        fs::write(&chain.new.manifest, bytes).unwrap();
        assert_failure(&chain.verify_fails(), "manifest", message);
    }
    // Valid JSON with a field the schema does not have.
    let chain = Chain::new();
    let text = fs::read_to_string(&chain.new.manifest).unwrap();
    fs::write(
        &chain.new.manifest,
        text.replacen("{\n", "{\n  \"extra\": 1,\n", 1),
    )
    .unwrap();
    assert_failure(&chain.verify_fails(), "manifest", "unknown field `extra`");
}

#[test]
fn previous_manifest_that_is_not_the_linked_one_breaks_the_chain() {
    let chain = Chain::new();
    // Re-release 1.0.0 with another expiry: a valid, signed 1.0.0 manifest, but not the one
    // 1.1.0 was chained to.
    release(
        chain.root.path(),
        &chain.key,
        "1.0.0",
        &ReleaseOptions {
            expiry_days: 30,
            ..Default::default()
        },
    );
    let failure = chain.verify_fails();
    assert_failure(&failure, "chain", "not the release this one was chained to");

    // A previous manifest passed explicitly is checked the same way.
    let chain = Chain::new();
    let other = tempfile::tempdir().unwrap();
    let stray = release(
        other.path(),
        &chain.key,
        "1.0.0",
        &ReleaseOptions {
            msi: false,
            ..Default::default()
        },
    );
    let failure = verify_release(
        &chain.new_dir(),
        &chain.key.public_key(),
        chain.now(),
        Some(&stray.manifest),
    )
    .unwrap_err();
    assert_failure(&failure, "chain", "not the release this one was chained to");
}

#[test]
fn sums_file_must_agree_with_the_manifest() {
    // SHA256SUMS re-signed by the release key but missing the MSI: every signature is valid,
    // the lists disagree.
    let chain = Chain::new();
    let dir = chain.new_dir();
    let sums_path = dir.join(SHA256SUMS_FILE);
    let text = fs::read_to_string(&sums_path).unwrap();
    let without_msi: String = text
        .lines()
        .filter(|l| !l.ends_with(".msi"))
        .map(|l| format!("{l}\n"))
        .collect();
    write_signed(
        &chain.key,
        &sums_path,
        without_msi.as_bytes(),
        PRODUCT,
        "1.1.0",
        SHA256SUMS_FILE,
    );
    let digest = hash_file(&sums_path).unwrap();
    resign_manifest(&dir, &chain.key, |m| {
        let entry = m
            .artifacts
            .iter_mut()
            .find(|a| a.name == SHA256SUMS_FILE)
            .unwrap();
        entry.size = digest.size;
        entry.sha256 = digest.sha256.to_hex();
    });
    let failure = chain.verify_fails();
    assert_failure(&failure, SHA256SUMS_FILE, "but the manifest has");
}

#[test]
fn missing_files_are_named() {
    let chain = Chain::new();
    fs::remove_file(chain.artifact_path(ArtifactKind::Msi)).unwrap();
    assert_failure(
        &chain.verify_fails(),
        "hellosvc_1.1.0_x64.msi",
        "is missing",
    );
    let chain = Chain::new();
    fs::remove_file(sig_path(&chain.artifact_path(ArtifactKind::Zip))).unwrap();
    assert_failure(
        &chain.verify_fails(),
        "hellosvc_1.1.0_windows_amd64.zip signature",
        "minisig is missing",
    );
    let chain = Chain::new();
    fs::remove_file(sig_path(&chain.new.manifest)).unwrap();
    assert_failure(
        &chain.verify_fails(),
        "manifest signature",
        "manifest.json.minisig is missing",
    );
    let empty = tempfile::tempdir().unwrap();
    let failure = verify_release(empty.path(), &chain.key.public_key(), 0, None).unwrap_err();
    assert_failure(&failure, "manifest", "manifest.json is missing");
}

#[test]
fn path_traversal_in_artifact_names_is_refused() {
    let chain = Chain::new();
    resign_manifest(&chain.new_dir(), &chain.key, |m| {
        m.artifacts[1].name = "../1.0.0/hellosvc_1.0.0_windows_amd64.exe".into();
    });
    // Not even parsed as valid: the name is not a plain file name.
    assert_failure(&chain.verify_fails(), "manifest", "path separator");
}
