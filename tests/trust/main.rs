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
use winrelease::portable_zip::{self, WrittenZip, ZipRequest};
use winrelease::service_config;
use winrelease::stamp::Stamp;
use winrelease::trust::{release_trust, MsiArtifact, TrustRequest, TrustSummary};
use winrelease::verify::{verify_release, CheckStatus, VerifyError, VerifyFailure};
use winrelease::version::msi_version;

const PRODUCT: &str = "Hello Service";
const EXE_NAME: &str = "hellosvc";
/// 2026-03-04T05:06:07Z.
const COMMIT_TIME: i64 = 1_772_600_767;
const DAY: i64 = 86_400;

mod fuzzing;
mod keys_and_secrets;
mod release_folder;
mod schema;
mod tampering;
mod zip_stage;

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
        other_exes: Vec::new(),
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

/// The default config rendered from `template` (as the release plan renders it), then the zip
/// stage for `request`'s exe, into its version folder.
fn make_zip(
    request: &TrustRequest,
    template: &Path,
    license: Option<&Path>,
) -> Result<WrittenZip, Box<dyn std::error::Error>> {
    let values = [("listen_port".to_string(), "8080".to_string())].into();
    let config = service_config::render_default_config(template, &values)?;
    let zip_request = ZipRequest {
        exes: vec![(EXE_NAME, &request.exe)],
        product: PRODUCT,
        stamp: &request.stamp,
        config: Some(&config),
        payload: &Default::default(),
        license,
    };
    let name = portable_zip::zip_file_name(EXE_NAME, &request.stamp.version);
    Ok(portable_zip::write_zip(
        &zip_request,
        &request.version_dir.join(name),
    )?)
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
