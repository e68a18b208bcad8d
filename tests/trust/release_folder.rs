//! A good release folder verifies with our verifier and with stock tools (`minisign -Vm`,
//! `sha256sum -c`), is reproducible, and a rerun replaces it.

use super::*;

#[test]
fn good_release_verifies_with_one_line_per_check() {
    let chain = Chain::new();
    let verified = chain.verify().unwrap_or_else(|f| {
        panic!("good release fails:\n{}{f}", lines(&f.passed));
    });
    println!(
        "$ cargo xtask verify {}\n{}",
        chain.new_dir().display(),
        lines(&verified.lines)
    );

    let checks: Vec<&str> = verified.lines.iter().map(|l| l.check.as_str()).collect();
    let exe = "hellosvc_1.1.0_windows_amd64.exe";
    for expected in [
        "manifest",
        "manifest signature",
        "expiry",
        "version order",
        &format!("{exe} size"),
        &format!("{exe} sha256"),
        &format!("{exe} signature"),
        "hellosvc_1.1.0_x64.msi signature",
        "hellosvc_1.1.0_windows_amd64.zip signature",
        "SHA256SUMS signature",
        SHA256SUMS_FILE,
        "chain",
    ] {
        assert!(
            checks.contains(&expected),
            "no {expected:?} line in {checks:?}"
        );
    }
    // The previous release sits next to this one, so the link was really checked.
    let chain_line = verified.lines.iter().find(|l| l.check == "chain").unwrap();
    assert_eq!(chain_line.status, CheckStatus::Ok, "{chain_line}");
    assert!(verified.lines.iter().all(|l| l.status == CheckStatus::Ok));

    // The folder holds exactly the artifacts, their signatures and the signed manifest.
    let names: BTreeSet<String> = fs::read_dir(chain.new_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut expected = BTreeSet::new();
    for name in [
        exe,
        "hellosvc_1.1.0_x64.msi",
        "hellosvc_1.1.0_windows_amd64.zip",
        SHA256SUMS_FILE,
        MANIFEST_FILE,
    ] {
        expected.insert(name.to_string());
        expected.insert(format!("{name}.minisig"));
    }
    assert_eq!(names, expected);

    // The manifest says what it should.
    let bytes = fs::read(&chain.new.manifest).unwrap();
    let manifest = Manifest::parse(&bytes).unwrap();
    assert_eq!(
        manifest.to_canonical_json().as_bytes(),
        &bytes[..],
        "canonical"
    );
    assert!(bytes.ends_with(b"}\n"));
    assert_eq!(manifest.version, "1.1.0");
    assert_eq!(manifest.msi_version, "1.1.255");
    assert_eq!(manifest.created, "2026-03-14T05:06:07Z");
    assert_eq!(manifest.expires, "2026-09-10T05:06:07Z"); // + 180 days
    let previous = manifest.previous.as_ref().unwrap();
    assert_eq!(previous.version, "1.0.0");
    assert_eq!(
        previous.manifest_sha256,
        Sha256Digest::of(&fs::read(&chain.old.manifest).unwrap()).to_hex()
    );
    assert_eq!(
        manifest.msi.as_ref().unwrap().product_code,
        "{11111111-2222-3333-4444-555555555555}"
    );
    let kinds: Vec<ArtifactKind> = manifest.artifacts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            ArtifactKind::Checksums,
            ArtifactKind::Exe,
            ArtifactKind::Zip,
            ArtifactKind::Msi
        ]
    );
    for summary in &chain.new.artifacts {
        let listed = manifest.artifact(&summary.name).unwrap();
        assert_eq!(listed.sha256, summary.sha256.to_hex());
        assert_eq!(listed.size, fs::metadata(&summary.path).unwrap().len());
        assert_eq!(hash_file(&summary.path).unwrap().sha256, summary.sha256);
    }
    assert_eq!(chain.new.manifest_sha256, Sha256Digest::of(&bytes));
    assert!(!chain.new.development_key);

    // Passing the previous manifest explicitly, or the manifest file instead of the folder,
    // gives the same result.
    let again = verify_release(
        &chain.new.manifest,
        &chain.key.public_key(),
        chain.now(),
        Some(&chain.old.manifest),
    )
    .unwrap();
    assert_eq!(again.lines, verified.lines);
}

#[test]
fn release_without_previous_reports_the_chain_as_not_applicable() {
    let root = tempfile::tempdir().unwrap();
    let key = test_key();
    let summary = release(
        root.path(),
        &key,
        "0.3.0-rc.1",
        &ReleaseOptions {
            msi: false,
            ..Default::default()
        },
    );
    let verified = verify_release(
        &summary.manifest,
        &key.public_key(),
        COMMIT_TIME + DAY,
        None,
    )
    .unwrap();
    let chain = verified.lines.iter().find(|l| l.check == "chain").unwrap();
    assert_eq!(chain.status, CheckStatus::Skipped);
    let manifest = Manifest::parse(&fs::read(&summary.manifest).unwrap()).unwrap();
    assert!(manifest.msi.is_none() && manifest.previous.is_none());
    assert_eq!(manifest.artifacts.len(), 3);
}

#[test]
fn chain_link_is_skipped_when_the_previous_release_is_not_at_hand() {
    let chain = Chain::new();
    fs::remove_dir_all(chain.old_dir()).unwrap();
    let verified = chain.verify().unwrap();
    let line = verified.lines.iter().find(|l| l.check == "chain").unwrap();
    assert_eq!(line.status, CheckStatus::Skipped);
    assert!(line.detail.contains("1.0.0 not found"), "{line}");
}

#[test]
fn same_inputs_give_identical_release_folders() {
    let key = test_key();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    release(a.path(), &key, "2.0.0", &ReleaseOptions::default());
    release(b.path(), &key, "2.0.0", &ReleaseOptions::default());
    let read_all = |root: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(release_dir(root, "2.0.0"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let (fa, fb) = (read_all(a.path()), read_all(b.path()));
    assert_eq!(fa.len(), 10);
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two runs");
    }
}

#[test]
fn rerunning_the_trust_stage_replaces_the_earlier_output() {
    let root = tempfile::tempdir().unwrap();
    let key = test_key();
    release(root.path(), &key, "1.0.0", &ReleaseOptions::default());
    let other_key = test_key();
    let summary = release(root.path(), &other_key, "1.0.0", &ReleaseOptions::default());
    verify_release(
        &summary.manifest,
        &other_key.public_key(),
        COMMIT_TIME,
        None,
    )
    .unwrap();
    let leftovers: Vec<_> = fs::read_dir(release_dir(root.path(), "1.0.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------------------------
// Stock tools
// ---------------------------------------------------------------------------------------------

#[test]
fn stock_minisign_verifies_every_file() {
    let Some(minisign) = require_tool("minisign") else {
        return;
    };
    let chain = Chain::new();
    let dir = chain.new_dir();
    let pubkey = chain.root.path().join("winrelease.pub");
    fs::write(&pubkey, chain.key.public_key().to_file_text()).unwrap();
    let mut files: Vec<String> = chain.new.artifacts.iter().map(|a| a.name.clone()).collect();
    files.push(MANIFEST_FILE.into());
    assert_eq!(files.len(), 5);
    for file in &files {
        let out = Command::new(&minisign)
            .args(["-Vm", file, "-p"])
            .arg(&pubkey)
            .current_dir(&dir)
            .env("MINISIGN_CONFIG_DIR", chain.root.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "minisign -Vm {file}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let comment = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Trusted comment: "))
            .unwrap_or_else(|| panic!("no trusted comment in {stdout}"));
        let binding = Binding::parse(comment).unwrap();
        assert_eq!(
            (
                binding.product.as_str(),
                binding.version.as_str(),
                binding.file.as_str()
            ),
            (PRODUCT, "1.1.0", file.as_str())
        );
        assert!(comment.starts_with("winrelease product=Hello%20Service version=1.1.0 file="));
    }
    // And stock minisign notices a flipped byte.
    flip_byte(&chain.artifact_path(ArtifactKind::Exe), 100);
    let exe = chain.artifact_path(ArtifactKind::Exe);
    let out = Command::new(&minisign)
        .arg("-Vm")
        .arg(&exe)
        .arg("-p")
        .arg(&pubkey)
        .output()
        .unwrap();
    assert!(!out.status.success(), "minisign accepted a modified exe");
}

#[test]
fn stock_sha256sum_checks_the_sums_file() {
    let Some(sha256sum) = require_tool("sha256sum") else {
        return;
    };
    let chain = Chain::new();
    let run = || {
        Command::new(&sha256sum)
            .args(["-c", "--strict", SHA256SUMS_FILE])
            .current_dir(chain.new_dir())
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": OK").count(), 3, "{stdout}");
    flip_byte(&chain.artifact_path(ArtifactKind::Zip), 500);
    assert!(!run().status.success(), "sha256sum accepted a modified zip");
}
