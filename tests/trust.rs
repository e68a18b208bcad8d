//! The trust stage end to end: a release folder made from a small fake exe (and a fake MSI)
//! verifies with our verifier and with stock tools (`minisign -Vm`, `sha256sum -c`), and every
//! tamper case fails with its own message. Plus keys, secrets, the zip, the schema, and a
//! proptest harness that mutates manifest and signature bytes.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use semver::Version;
use winrelease::binding::Binding;
use winrelease::digest::{hash_file, Sha256Digest, SHA256SUMS_FILE};
use winrelease::keys::{
    self, keygen, keygen_with_kdf, load_release_key, KeyEnvironment, KeyError, KeySettings,
    KeySource, Passphrase, ReleaseKey,
};
use winrelease::manifest::{
    ArtifactKind, Manifest, MsiIdentity, DEFAULT_EXPIRY_DAYS, MANIFEST_FILE,
};
use winrelease::portable_zip::{self, WrittenZip, ZipError, ZipRequest};
use winrelease::stamp::Stamp;
use winrelease::trust::{release_trust, MsiArtifact, TrustRequest, TrustSummary};
use winrelease::verify::{verify_release, CheckStatus, VerifyError, VerifyFailure};
use winrelease::version::msi_version;

const PRODUCT: &str = "Hello Service";
const EXE_NAME: &str = "hellosvc";
/// 2026-03-04T05:06:07Z.
const COMMIT_TIME: i64 = 1_772_600_767;
const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The path of `tool`, or `None` (test skipped with a message) when missing; under `CI=true`
/// a missing tool fails the test.
fn require_tool(tool: &str) -> Option<PathBuf> {
    testkit::require_tool(tool)
}

fn test_key() -> ReleaseKey {
    let (_, secret) = minisig::generate(&mut minisig::OsRng);
    ReleaseKey::new(secret, KeySource::File(PathBuf::from("test.key")))
}

fn stamp(version: &str, commit_time: i64) -> Stamp {
    let version = Version::parse(version).unwrap();
    Stamp {
        tag: Some(format!("v{version}")),
        version,
        distance: 0,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        commit_time,
        dirty: false,
        warnings: vec![],
    }
}

/// A fake exe: `MZ`, the version, and deterministic filler; the same size for every version.
fn fake_exe(version: &str) -> Vec<u8> {
    let mut bytes = b"MZ fake exe ".to_vec();
    bytes.extend_from_slice(format!("{version:<24}").as_bytes());
    let mut x: u32 = 0x2545_f491;
    while bytes.len() < 48 * 1024 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(
            (x % 7) as u8
                + if bytes.len().is_multiple_of(3) {
                    b'a'
                } else {
                    0
                },
        );
    }
    bytes
}

fn config_template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/config.json")
}

/// Where releases live in the tests: `<root>/<version>/`, so a release's previous one is a
/// sibling folder, as in the release store.
fn release_dir(root: &Path, version: &str) -> PathBuf {
    root.join(version)
}

struct ReleaseOptions<'a> {
    msi: bool,
    /// Make the portable zip (with [`config_template`]) before the trust stage.
    zip: bool,
    previous: Option<&'a Path>,
    expiry_days: u32,
    commit_time: i64,
    license: Option<&'a Path>,
}

impl Default for ReleaseOptions<'_> {
    fn default() -> Self {
        ReleaseOptions {
            msi: true,
            zip: true,
            previous: None,
            expiry_days: DEFAULT_EXPIRY_DAYS,
            commit_time: COMMIT_TIME,
            license: None,
        }
    }
}

fn request(root: &Path, version: &str, options: &ReleaseOptions) -> TrustRequest {
    let dir = release_dir(root, version);
    fs::create_dir_all(&dir).unwrap();
    let stamp = stamp(version, options.commit_time);
    let exe = dir.join(format!("{EXE_NAME}_{version}_windows_amd64.exe"));
    fs::write(&exe, fake_exe(version)).unwrap();
    let msi = options.msi.then(|| {
        let path = dir.join(format!("{EXE_NAME}_{version}_x64.msi"));
        fs::write(&path, format!("fake MSI of {version}").repeat(500)).unwrap();
        MsiArtifact {
            path,
            identity: MsiIdentity::new(
                "11111111-2222-3333-4444-555555555555",
                "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            )
            .unwrap(),
        }
    });
    let mut request = TrustRequest {
        product: PRODUCT.into(),
        channel: "stable".into(),
        msi_version: msi_version(&stamp.version).unwrap(),
        stamp,
        go_version: "go1.26.8".into(),
        version_dir: dir,
        exe,
        msi,
        zip: None,
        transforms: Vec::new(),
        previous_manifest: options.previous.map(Path::to_path_buf),
        expiry_days: options.expiry_days,
    };
    if options.zip {
        let zip = make_zip(&request, &config_template(), options.license).unwrap();
        request.zip = Some(zip.path);
    }
    request
}

/// The zip stage for `request`'s exe, into its version folder.
fn make_zip(
    request: &TrustRequest,
    template: &Path,
    license: Option<&Path>,
) -> Result<WrittenZip, ZipError> {
    let values = [("listen_port".to_string(), "8080".to_string())].into();
    let zip_request = ZipRequest {
        exe_name: EXE_NAME,
        exe_path: &request.exe,
        product: PRODUCT,
        stamp: &request.stamp,
        config_template: template,
        template_values: &values,
        license,
    };
    let name = portable_zip::zip_file_name(EXE_NAME, &request.stamp.version);
    portable_zip::write_zip(&zip_request, &request.version_dir.join(name))
}

fn release(root: &Path, key: &ReleaseKey, version: &str, options: &ReleaseOptions) -> TrustSummary {
    release_trust(&request(root, version, options), key).unwrap()
}

/// Two chained releases, 1.0.0 and 1.1.0, under a fresh temporary root.
struct Chain {
    root: tempfile::TempDir,
    key: ReleaseKey,
    old: TrustSummary,
    new: TrustSummary,
}

impl Chain {
    fn new() -> Chain {
        let root = tempfile::tempdir().unwrap();
        let key = test_key();
        let old = release(root.path(), &key, "1.0.0", &ReleaseOptions::default());
        let new = release(
            root.path(),
            &key,
            "1.1.0",
            &ReleaseOptions {
                previous: Some(&old.manifest),
                commit_time: COMMIT_TIME + 10 * DAY,
                ..Default::default()
            },
        );
        Chain {
            root,
            key,
            old,
            new,
        }
    }

    fn new_dir(&self) -> PathBuf {
        release_dir(self.root.path(), "1.1.0")
    }

    fn old_dir(&self) -> PathBuf {
        release_dir(self.root.path(), "1.0.0")
    }

    fn now(&self) -> i64 {
        COMMIT_TIME + 11 * DAY
    }

    fn verify(&self) -> Result<winrelease::verify::Verified, VerifyFailure> {
        verify_release(&self.new_dir(), &self.key.public_key(), self.now(), None)
    }

    fn verify_fails(&self) -> VerifyFailure {
        match self.verify() {
            Ok(verified) => panic!(
                "verification passed but should fail:\n{}",
                lines(&verified.lines)
            ),
            Err(failure) => failure,
        }
    }

    fn artifact_path(&self, kind: ArtifactKind) -> PathBuf {
        self.new
            .artifacts
            .iter()
            .find(|a| a.kind == kind)
            .unwrap()
            .path
            .clone()
    }
}

fn lines(lines: &[winrelease::verify::CheckLine]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

/// Rewrites the manifest of `dir` through `edit` and signs it again with `key`, binding the
/// (possibly edited) product and version: a manifest only the key holder could have made.
fn resign_manifest(dir: &Path, key: &ReleaseKey, edit: impl FnOnce(&mut Manifest)) {
    let path = dir.join(MANIFEST_FILE);
    let mut manifest = Manifest::parse(&fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    write_signed(
        key,
        &path,
        manifest.to_canonical_json().as_bytes(),
        &manifest.product,
        &manifest.version,
        MANIFEST_FILE,
    );
}

fn write_signed(
    key: &ReleaseKey,
    path: &Path,
    bytes: &[u8],
    product: &str,
    version: &str,
    file: &str,
) {
    fs::write(path, bytes).unwrap();
    let digest = hash_file(path).unwrap();
    let signed = key
        .sign(
            &digest,
            &Binding {
                product: product.into(),
                version: version.into(),
                file: file.into(),
                sha256: digest.sha256,
            },
        )
        .unwrap();
    fs::write(sig_path(path), signed.text).unwrap();
}

fn sig_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", path.display()))
}

fn assert_failure(failure: &VerifyFailure, check: &str, message: &str) {
    let text = failure.to_string();
    // The transcript the CLI would print (shown with --nocapture).
    println!("{}{text}\n", lines(&failure.passed));
    assert!(
        failure.check == check && text.contains(message),
        "expected check {check:?} failing with {message:?}, got:\n{}{text}",
        lines(&failure.passed)
    );
}

// ---------------------------------------------------------------------------------------------
// A good release
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

#[test]
fn real_manifests_match_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let chain = Chain::new();
    let first = {
        let root = tempfile::tempdir().unwrap();
        let s = release(
            root.path(),
            &chain.key,
            "0.1.0-dev.3+gabc1234.dirty",
            &ReleaseOptions {
                msi: false,
                ..Default::default()
            },
        );
        fs::read(s.manifest).unwrap()
    };
    for bytes in [
        fs::read(&chain.old.manifest).unwrap(),
        fs::read(&chain.new.manifest).unwrap(),
        first,
    ] {
        let instance: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{errors:?}\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // The schema is not vacuous: each of these edits makes a manifest invalid.
    let good: serde_json::Value =
        serde_json::from_slice(&fs::read(&chain.new.manifest).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 7] = [
        ("extra field", |v| v["extra"] = 1.into()),
        ("float size", |v| v["artifacts"][0]["size"] = 1.5.into()),
        ("bad kind", |v| v["artifacts"][0]["kind"] = "pdf".into()),
        ("lowercase guid", |v| {
            v["msi"]["product_code"] = "{11111111-2222-3333-4444-55555555555a}".into()
        }),
        ("time with offset", |v| {
            v["expires"] = "2026-09-10T05:06:07+00:00".into()
        }),
        ("no checksums", |v| {
            v["artifacts"].as_array_mut().unwrap().remove(0);
        }),
        ("schema 2", |v| v["schema_version"] = 2.into()),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "schema accepts a manifest with {what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and secrets
// ---------------------------------------------------------------------------------------------

#[test]
fn keygen_writes_minisign_files_with_owner_only_secret_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = Passphrase::new("correct horse battery staple".into());
    let paths = keygen_with_kdf(
        dir.path(),
        &passphrase,
        minisig::KdfParams::fast_for_tests(),
    )
    .unwrap();
    assert_eq!(paths.public, dir.path().join("winrelease.pub"));
    assert_eq!(paths.secret, dir.path().join("winrelease.key"));
    let public =
        minisig::PublicKey::from_file_text(&fs::read_to_string(&paths.public).unwrap()).unwrap();
    assert_eq!(public.key_id(), paths.key_id);
    let secret_text = fs::read_to_string(&paths.secret).unwrap();
    assert!(minisig::SecretKey::file_is_encrypted(&secret_text).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&paths.secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = fs::read(&paths.secret).unwrap();
    let err = keygen_with_kdf(
        dir.path(),
        &passphrase,
        minisig::KdfParams::fast_for_tests(),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::KeyExists { .. }), "{err}");
    assert!(err.to_string().contains("never overwrites"));
    assert_eq!(fs::read(&paths.secret).unwrap(), before);

    // The key loads from the file with the passphrase, and not without or with another.
    let mut settings = KeySettings::new(dir.path());
    settings.key_file = Some(paths.secret.clone());
    let env = KeyEnvironment::new(None, Some(passphrase.clone()), true);
    let key = load_release_key(&settings, &env).unwrap();
    assert_eq!(key.key_id(), paths.key_id);
    assert!(!key.is_development());
    let err = load_release_key(&settings, &KeyEnvironment::new(None, None, true)).unwrap_err();
    assert!(matches!(err, KeyError::PassphraseRequired { .. }), "{err}");
    assert!(err.to_string().contains("WINRELEASE_PASSPHRASE"), "{err}");
    let wrong = KeyEnvironment::new(None, Some(Passphrase::new("wrong".into())), true);
    let err = load_release_key(&settings, &wrong).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err}");

    // The public key loads for `verify --pubkey`.
    let loaded = keys::load_public_key(&paths.public).unwrap();
    assert_eq!(loaded.key_id(), paths.key_id);
    let err = keys::load_public_key(&paths.secret)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("winrelease.key") && err.contains("winrelease.pub"),
        "{err}"
    );

    // Empty passphrases are refused (minisign could not read the key back).
    let empty_dir = tempfile::tempdir().unwrap();
    let err = keygen(empty_dir.path(), &Passphrase::new(String::new())).unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
    assert!(!empty_dir.path().join("winrelease.key").exists());
}

#[test]
fn keygen_refuses_to_put_the_secret_key_where_git_would_commit_it() {
    let repo_dir = tempfile::tempdir().unwrap();
    git2::Repository::init(repo_dir.path()).unwrap();
    let keys = repo_dir.path().join("keys");
    let fast = minisig::KdfParams::fast_for_tests();
    let passphrase = Passphrase::new("pw".into());
    let err = keygen_with_kdf(&keys, &passphrase, fast).unwrap_err();
    assert!(matches!(err, KeyError::InGitWorkTree { .. }), "{err}");
    assert!(err.to_string().contains(".gitignore"), "{err}");
    assert!(!keys.exists(), "the refused key directory was left behind");
    // Once git ignores it, the key may live there.
    fs::write(repo_dir.path().join(".gitignore"), "/keys/\n").unwrap();
    keygen_with_kdf(&keys, &passphrase, fast).unwrap();
    assert!(keys.join("winrelease.key").is_file());
}

#[test]
fn development_key_is_labelled_made_once_and_refused_in_ci() {
    let out = tempfile::tempdir().unwrap();
    let settings = KeySettings::new(out.path());
    let local = KeyEnvironment::new(None, None, false);
    let key = load_release_key(&settings, &local).unwrap();
    assert!(key.is_development());
    assert!(key
        .source()
        .to_string()
        .contains("DEVELOPMENT KEY - not for production"));
    let dev_dir = out.path().join("dev-key");
    let public = fs::read_to_string(dev_dir.join("winrelease-dev.pub")).unwrap();
    assert!(
        public.starts_with("untrusted comment: DEVELOPMENT KEY - not for production"),
        "{public}"
    );
    assert_eq!(
        minisig::PublicKey::from_file_text(&public)
            .unwrap()
            .key_id(),
        key.key_id()
    );
    let secret = fs::read_to_string(dev_dir.join("winrelease-dev.key")).unwrap();
    assert!(secret.starts_with("untrusted comment: DEVELOPMENT KEY - not for production"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dev_dir.join("winrelease-dev.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same key on the next run.
    assert_eq!(
        load_release_key(&settings, &local).unwrap().key_id(),
        key.key_id()
    );

    // Its signatures say what they are, also to stock minisign users.
    let root = tempfile::tempdir().unwrap();
    let summary = release(root.path(), &key, "1.0.0", &ReleaseOptions::default());
    assert!(summary.development_key);
    let sig = fs::read_to_string(&summary.manifest_signature).unwrap();
    assert!(
        sig.starts_with("untrusted comment: signed by winrelease with the DEVELOPMENT KEY"),
        "{sig}"
    );

    // Under CI=true the development key is never used.
    let ci = KeyEnvironment::new(None, None, true);
    let err = load_release_key(&settings, &ci).unwrap_err();
    assert!(matches!(err, KeyError::MissingInCi), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("WINRELEASE_SECRET_KEY") && text.contains("secrets."),
        "{text}"
    );
}

/// Runs keygen (minisign's default KDF) and the trust stage with a known passphrase, loading
/// the key as CI would (base64 in the environment), and looks for the passphrase and the
/// secret key text in every file written and every message and Debug string produced.
#[test]
fn no_secret_reaches_any_output() {
    const PASSPHRASE: &str = "Pa55-phrase-that-must-never-leak-7f3a";
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let paths = keygen(&keys, &Passphrase::new(PASSPHRASE.into())).unwrap();
    let secret_text = fs::read_to_string(&paths.secret).unwrap();
    let secret_line = secret_text.lines().nth(1).unwrap().to_string();
    let secret_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(secret_text.as_bytes())
    };

    let mut messages: Vec<String> = Vec::new();
    let passphrase = Passphrase::new(PASSPHRASE.into());
    messages.push(format!("{passphrase:?}"));
    let env = KeyEnvironment::new(Some(secret_b64.clone()), Some(passphrase.clone()), true);
    messages.push(format!("{env:?}"));
    let settings = KeySettings {
        key_file: Some(paths.secret.clone()),
        passphrase: Some(passphrase.clone()),
        dev_key_dir: work.path().join("dev"),
    };
    messages.push(format!("{settings:?}"));
    let key = load_release_key(&settings, &env).unwrap();
    assert_eq!(key.key_id(), paths.key_id);
    assert_eq!(key.source(), &KeySource::Environment);
    messages.push(format!("{key:?}"));
    messages.push(format!("{paths:?}"));

    // Failures that involve the secret: wrong passphrase, missing passphrase, corrupt key.
    let wrong = KeyEnvironment::new(
        Some(secret_b64.clone()),
        Some(Passphrase::new(format!("{PASSPHRASE}x"))),
        true,
    );
    let fake_key = KeySettings {
        key_file: None,
        passphrase: None,
        dev_key_dir: work.path().join("dev"),
    };
    for env in [
        wrong,
        KeyEnvironment::new(Some(secret_text.clone()), None, true),
        KeyEnvironment::new(
            Some(secret_text.replace('A', "!")),
            Some(passphrase.clone()),
            true,
        ),
        KeyEnvironment::new(
            Some(secret_b64[..40].to_string()),
            Some(passphrase.clone()),
            true,
        ),
    ] {
        let err = load_release_key(&fake_key, &env).unwrap_err();
        messages.push(err.to_string());
        messages.push(format!("{err:?}"));
    }

    let root = work.path().join("releases");
    let summary = release(&root, &key, "1.2.3", &ReleaseOptions::default());
    messages.push(format!("{summary:?}"));
    let verified = verify_release(&summary.manifest, &key.public_key(), COMMIT_TIME, None).unwrap();
    messages.extend(verified.lines.iter().map(|l| l.to_string()));
    // A failed zip stage's and a failed trust stage's error, too.
    let mut bad = request(&root, "1.2.4", &ReleaseOptions::default());
    let err = make_zip(&bad, &work.path().join("missing.json"), None).unwrap_err();
    messages.push(err.to_string());
    messages.push(format!("{err:?}"));
    bad.expiry_days = 0;
    let err = release_trust(&bad, &key).unwrap_err();
    messages.push(err.to_string());
    messages.push(format!("{err:?}"));

    let needles: [(&str, &[u8]); 3] = [
        ("passphrase", PASSPHRASE.as_bytes()),
        ("secret key line", secret_line.as_bytes()),
        ("secret key base64", &secret_b64.as_bytes()[100..160]),
    ];
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    collect_files(&keys, &mut files);
    assert!(files.len() >= 12, "{files:?}");
    for file in &files {
        let bytes = fs::read(file).unwrap();
        for (what, needle) in needles {
            let allowed = what != "passphrase" && file == &paths.secret;
            assert!(
                allowed || !contains(&bytes, needle),
                "the {what} appears in {}",
                file.display()
            );
        }
        // The zip's entries are compressed: look inside them too.
        if file.extension().is_some_and(|e| e == "zip") {
            let mut archive = zip::ZipArchive::new(fs::File::open(file).unwrap()).unwrap();
            for i in 0..archive.len() {
                let mut entry = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                for (what, needle) in needles {
                    assert!(!contains(&content, needle), "the {what} appears in the zip");
                }
            }
        }
    }
    for message in &messages {
        for (what, needle) in needles {
            assert!(
                !contains(message.as_bytes(), needle),
                "the {what} appears in: {message}"
            );
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// The portable zip
// ---------------------------------------------------------------------------------------------

#[test]
fn zip_is_sorted_dated_by_the_commit_and_reproducible() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("hellosvc_1.0.0_windows_amd64.exe");
    fs::write(&exe, fake_exe("1.0.0")).unwrap();
    let license = work.path().join("LICENSE");
    fs::write(&license, "MIT License\n").unwrap();
    let stamp = stamp("1.0.0", COMMIT_TIME);
    let values = [("listen_port".to_string(), "9123".to_string())].into();
    let template = config_template();
    let zip_request = ZipRequest {
        exe_name: EXE_NAME,
        exe_path: &exe,
        product: PRODUCT,
        stamp: &stamp,
        config_template: &template,
        template_values: &values,
        license: Some(&license),
    };
    let first = work.path().join("a").join("out.zip");
    let second = work.path().join("b").join("out.zip");
    let written = portable_zip::write_zip(&zip_request, &first).unwrap();
    portable_zip::write_zip(&zip_request, &second).unwrap();
    let bytes = fs::read(&first).unwrap();
    assert_eq!(bytes, fs::read(&second).unwrap(), "two runs differ");
    assert_eq!(written.digest.sha256, Sha256Digest::of(&bytes));
    assert_eq!(written.digest.size, bytes.len() as u64);
    let names = ["LICENSE.txt", "README.txt", "config.json", "hellosvc.exe"];
    assert_eq!(written.entries, names);
    assert_eq!(
        fs::read_dir(work.path().join("a")).unwrap().count(),
        1,
        "no temporary file left"
    );

    let mut archive = zip::ZipArchive::new(fs::File::open(&first).unwrap()).unwrap();
    assert_eq!(archive.len(), 4);
    for (i, name) in names.iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.name().unwrap(), *name);
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let t = entry.last_modified().unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 3, 4, 5, 6, 6), // DOS times have two-second resolution
            "{name}"
        );
        let mode = entry.unix_mode().unwrap() & 0o777;
        assert_eq!(
            mode,
            if *name == "hellosvc.exe" {
                0o755
            } else {
                0o644
            },
            "{name}"
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        match *name {
            "hellosvc.exe" => assert_eq!(content, fake_exe("1.0.0")),
            "LICENSE.txt" => assert_eq!(content, b"MIT License\n"),
            "config.json" => {
                let config: serde_json::Value = serde_json::from_slice(&content).unwrap();
                assert_eq!(config["listen_port"], 9123);
            }
            _ => {
                let readme = String::from_utf8(content).unwrap();
                assert!(
                    readme.starts_with("Hello Service 1.0.0 (portable)\r\n"),
                    "{readme}"
                );
                assert!(
                    readme.contains("hellosvc.exe --config \"%CD%\\config.json\""),
                    "{readme}"
                );
                assert!(readme.contains(&stamp.commit));
            }
        }
    }

    // Stock listers see the same entries.
    if let Some(unzip) = require_tool("unzip") {
        let out = Command::new(unzip).arg("-l").arg(&first).output().unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{listing}");
        for name in names {
            assert!(listing.contains(name), "{listing}");
        }
        assert!(
            listing.contains("2026-03-04 05:06") || listing.contains("03-04-2026 05:06"),
            "{listing}"
        );
        let test = Command::new("unzip")
            .arg("-t")
            .arg(&first)
            .output()
            .unwrap();
        assert!(
            test.status.success(),
            "{}",
            String::from_utf8_lossy(&test.stdout)
        );
    }
    if let Some(python) = require_tool("python3") {
        let out = Command::new(python)
            .args(["-m", "zipfile", "-l"])
            .arg(&first)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{listing} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<&str> = listing
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(listed, names, "{listing}");
    }
}

#[test]
fn bad_config_template_fails_the_stage_and_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("config.json");
    fs::write(&template, "{\n  \"port\": {{listen_prot}}\n}\n").unwrap();
    let req = request(
        root.path(),
        "1.0.0",
        &ReleaseOptions {
            zip: false,
            ..Default::default()
        },
    );
    let err = make_zip(&req, &template, None).unwrap_err().to_string();
    assert!(err.contains(&template.display().to_string()), "{err}");
    assert!(err.contains("unknown placeholder {{listen_prot}}"), "{err}");
    assert!(err.contains("{{listen_port}}"), "{err}");
    let left: Vec<_> = fs::read_dir(release_dir(root.path(), "1.0.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "only the exe and the MSI remain: {left:?}");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing the parser and the verifier
// ---------------------------------------------------------------------------------------------

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
