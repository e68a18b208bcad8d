//! Shared by `tests/publish.rs` (folder backend) and `tests/publish_s3.rs` (S3 backend): real
//! signed releases made by the trust stage, the scenarios every backend must pass, and the
//! child process the crash tests kill at every step.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use semver::Version;
use serde::{Deserialize, Serialize};
use winrelease::manifest::{release_trust, MsiArtifact, MsiIdentity, TrustRequest, TrustSummary};
use winrelease::publish::{
    self, promote, rollback, verify_store, ChannelPointer, Clock, CrashHook, FolderStore, Index,
    LockError, LockInfo, LockOptions, PublishEnvironment, PublishError, PublishOptions, S3Config,
    S3Credentials, S3Store, StoreCheckStatus, StoreReport, VersionOutcome, CRASH_ENV,
};
use winrelease::publish::{Store, StoreError};
use winrelease::sign::{KeySource, ReleaseKey};
use winrelease::stamp::Stamp;
use winrelease::version::msi_version;

pub const PRODUCT: &str = "Hello Service";
pub const EXE_NAME: &str = "hellosvc";
/// 2026-03-04T05:06:07Z.
pub const COMMIT_TIME: i64 = 1_772_600_767;
pub const DAY: i64 = 86_400;
/// "Now" in these tests: a day after the first release; releases expire after 180 days.
pub const NOW: i64 = COMMIT_TIME + 40 * DAY;

// ---------------------------------------------------------------------------------------------
// Releases
// ---------------------------------------------------------------------------------------------

pub fn new_key() -> (ReleaseKey, minisig::SecretKey) {
    let (_, secret) = minisig::generate(&mut minisig::OsRng);
    (
        ReleaseKey::new(secret.clone(), KeySource::File(PathBuf::from("test.key"))),
        secret,
    )
}

fn fake_exe(version: &str, flavour: u32) -> Vec<u8> {
    let mut bytes = format!("MZ fake exe {version:<24} build {flavour}").into_bytes();
    let mut x: u32 = 0x2545_f491 ^ flavour;
    while bytes.len() < 40 * 1024 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x % 251) as u8);
    }
    bytes
}

/// A signed release of `version` in `<root>/<version>/`, made by the real trust stage (exe,
/// MSI, zip, SHA256SUMS, manifest, signatures). `flavour` changes the exe's bytes (another
/// build of the same version).
pub fn make_release(
    root: &Path,
    key: &ReleaseKey,
    version: &str,
    previous: Option<&Path>,
    flavour: u32,
) -> TrustSummary {
    let dir = root.join(version);
    fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(format!("{EXE_NAME}_{version}_windows_amd64.exe"));
    fs::write(&exe, fake_exe(version, flavour)).unwrap();
    let msi_path = dir.join(format!("{EXE_NAME}_{version}_x64.msi"));
    fs::write(
        &msi_path,
        format!("fake MSI of {version} build {flavour}").repeat(400),
    )
    .unwrap();
    let parsed = Version::parse(version).unwrap();
    let minor = parsed.minor as i64;
    let stamp = Stamp {
        tag: Some(format!("v{version}")),
        version: parsed.clone(),
        distance: 0,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        commit_time: COMMIT_TIME + minor * DAY,
        dirty: false,
        warnings: vec![],
    };
    let request = TrustRequest {
        product: PRODUCT.into(),
        channel: "stable".into(),
        exe_name: EXE_NAME.into(),
        msi_version: msi_version(&parsed).unwrap(),
        stamp,
        go_version: "go1.26.8".into(),
        version_dir: dir,
        exe,
        msi: Some(MsiArtifact {
            path: msi_path,
            identity: MsiIdentity::new(
                "11111111-2222-3333-4444-555555555555",
                "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            )
            .unwrap(),
        }),
        transforms: Vec::new(),
        config_template: Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/config.json"),
        template_values: [("listen_port".to_string(), "8080".to_string())].into(),
        license: None,
        previous_manifest: previous.map(Path::to_path_buf),
        expiry_days: 180,
    };
    release_trust(&request, key).unwrap()
}

/// Releases 1.0.0, 1.1.0, 1.2.0 (chained), signed with one key.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub key: ReleaseKey,
    pub secret: minisig::SecretKey,
    pub releases: BTreeMap<String, TrustSummary>,
}

pub const VERSIONS: [&str; 3] = ["1.0.0", "1.1.0", "1.2.0"];

impl Fixture {
    pub fn new() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let (key, secret) = new_key();
        let mut releases = BTreeMap::new();
        let mut previous: Option<PathBuf> = None;
        for version in VERSIONS {
            let summary = make_release(root.path(), &key, version, previous.as_deref(), 0);
            previous = Some(summary.manifest.clone());
            releases.insert(version.to_string(), summary);
        }
        Fixture {
            root,
            key,
            secret,
            releases,
        }
    }

    pub fn dir(&self, version: &str) -> PathBuf {
        self.root.path().join(version)
    }

    pub fn msi_name(version: &str) -> String {
        format!("{EXE_NAME}_{version}_x64.msi")
    }

    pub fn publish(
        &self,
        store: &dyn Store,
        version: &str,
        channel: Option<&str>,
    ) -> Result<publish::PublishReport, PublishError> {
        publish::publish(
            &self.dir(version),
            store,
            PRODUCT,
            channel,
            &self.key,
            &options(),
        )
    }

    pub fn verify(&self, store: &dyn Store) -> StoreReport {
        verify_store(store, None, &self.key.public_key(), NOW, &test_env()).unwrap()
    }

    pub fn assert_valid(&self, store: &dyn Store) -> StoreReport {
        let report = self.verify(store);
        assert!(report.is_valid(), "store should be valid:\n{report}");
        report
    }
}

/// The operating system's clocks (the library reads none itself).
#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        thread::sleep(duration);
    }
}

/// The host name every publisher of these tests (and their crash children) records in locks.
pub const TEST_HOST: &str = "winrelease-test-host";

/// What the tests' publishers take from the machine: no AWS variables, no crash hook.
pub fn test_env() -> PublishEnvironment {
    PublishEnvironment {
        s3: Default::default(),
        crash_at: None,
        host: TEST_HOST.into(),
        temp_dir: std::env::temp_dir(),
        clock: Arc::new(SystemClock),
    }
}

pub fn options() -> PublishOptions {
    PublishOptions {
        now: NOW,
        lock: LockOptions {
            timeout: Duration::from_secs(30),
            stale_after: Duration::from_secs(2 * 3600),
        },
        pointer_validity_days: None,
        env: test_env(),
    }
}

pub fn read_index(store: &dyn Store) -> Index {
    let object = store
        .read(&format!("{PRODUCT}/index.json"), 1 << 20)
        .unwrap()
        .expect("index.json exists");
    let value: serde_json::Value = serde_json::from_slice(&object.bytes).unwrap();
    serde_json::from_value(value["signed"].clone()).unwrap()
}

pub fn read_pointer(store: &dyn Store, channel: &str) -> Option<ChannelPointer> {
    let object = store
        .read(&format!("{PRODUCT}/channels/{channel}.json"), 1 << 20)
        .unwrap()?;
    let value: serde_json::Value = serde_json::from_slice(&object.bytes).unwrap();
    Some(serde_json::from_value(value["signed"].clone()).unwrap())
}

pub fn versions_in(store: &dyn Store) -> Vec<String> {
    store.list_versions(PRODUCT).unwrap().complete
}

/// Everything a reader could see: every version's files and every document, by key.
pub fn visible_state(store: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    let mut state = BTreeMap::new();
    let scratch = tempfile::tempdir().unwrap();
    for product in store.list_products().unwrap() {
        for version in store.list_versions(&product).unwrap().complete {
            let dir = store
                .fetch_version(&product, &version, scratch.path())
                .unwrap();
            for entry in fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                state.insert(
                    format!(
                        "{product}/{version}/{}",
                        entry.file_name().to_string_lossy()
                    ),
                    fs::read(entry.path()).unwrap(),
                );
            }
        }
        let mut keys = vec![format!("{product}/index.json")];
        for channel in store.list_channels(&product).unwrap() {
            keys.push(format!("{product}/channels/{channel}.json"));
        }
        for key in keys {
            if let Some(object) = store.read(&key, 1 << 20).unwrap() {
                state.insert(key, object.bytes);
            }
        }
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------

/// How a child process (or a second publisher) opens the same store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StoreSpec {
    Folder(PathBuf),
    S3 {
        endpoint: String,
        bucket: String,
        prefix: String,
    },
}

impl StoreSpec {
    pub fn open(&self) -> Box<dyn Store> {
        self.open_with(CrashHook::default())
    }

    /// The store, aborting the process at the step `crash` names.
    pub fn open_with(&self, crash: CrashHook) -> Box<dyn Store> {
        match self {
            StoreSpec::Folder(path) => Box::new(FolderStore::new(path).with_crash_hook(crash)),
            StoreSpec::S3 {
                endpoint,
                bucket,
                prefix,
            } => Box::new(
                S3Store::new(&s3_config(endpoint, bucket, prefix))
                    .unwrap()
                    .with_crash_hook(crash),
            ),
        }
    }
}

pub fn s3_config(endpoint: &str, bucket: &str, prefix: &str) -> S3Config {
    S3Config {
        bucket: bucket.into(),
        prefix: prefix.into(),
        endpoint: Some(endpoint.into()),
        region: Some("us-east-1".into()),
        credentials: Some(S3Credentials {
            access_key_id: "winrelease-test".into(),
            secret_access_key: "winrelease-test-secret".to_string().into(),
            session_token: None,
        }),
        environment: Vec::new(),
        max_retries: 2,
        retry_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios every backend passes
// ---------------------------------------------------------------------------------------------

pub fn scenario_publish_and_gpo(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    let first = fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    assert_eq!(first.outcome, VersionOutcome::Published { files: 10 });
    assert_eq!(first.index_sequence, 1);
    let channel = first.channel.as_ref().unwrap();
    assert!(channel.changed && channel.from.is_none() && channel.sequence == 1);
    let msi = first.msi.as_ref().unwrap();
    assert_eq!(
        msi.msi_path,
        store.display_path(&[PRODUCT, "1.0.0", &Fixture::msi_name("1.0.0")])
    );
    assert!(first.upgrades.is_none(), "first release upgrades nothing");

    let second = fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
    assert_eq!(second.index_sequence, 2);
    let upgrades = second.upgrades.as_ref().expect("1.1.0 upgrades 1.0.0");
    assert_eq!(upgrades.version, "1.0.0");
    assert_eq!(upgrades.msi_path, msi.msi_path);
    let text = second.to_string();
    assert!(
        text.contains(&second.msi.as_ref().unwrap().msi_path),
        "{text}"
    );
    assert!(text.contains("upgrades the package of 1.0.0"), "{text}");

    assert_eq!(versions_in(&*store), ["1.0.0", "1.1.0"]);
    let index = read_index(&*store);
    assert_eq!(index.sequence, 2);
    assert_eq!(
        index
            .versions
            .iter()
            .map(|e| e.version.as_str())
            .collect::<Vec<_>>(),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(
        index.versions[1].manifest_sha256,
        fx.releases["1.1.0"].manifest_sha256.to_hex()
    );
    let pointer = read_pointer(&*store, "stable").unwrap();
    assert_eq!((pointer.version.as_str(), pointer.sequence), ("1.1.0", 2));
    assert_eq!(pointer.expires, fx.releases["1.1.0"].expires);
    // Every file of the release is in the store, byte for byte.
    let scratch = tempfile::tempdir().unwrap();
    let stored = store
        .fetch_version(PRODUCT, "1.1.0", scratch.path())
        .unwrap();
    for entry in fs::read_dir(fx.dir("1.1.0")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        assert_eq!(
            fs::read(stored.join(&name)).unwrap(),
            fs::read(entry.path()).unwrap(),
            "{name:?}"
        );
    }
    let report = fx.assert_valid(&*store);
    assert_eq!(report.warnings().count(), 0, "{report}");

    // What the next release is chained to: the newest older version's manifest.
    let pk = fx.key.public_key();
    let scratch = tempfile::tempdir().unwrap();
    let previous = |v: &str| {
        publish::previous_manifest(
            &*store,
            PRODUCT,
            &Version::parse(v).unwrap(),
            &pk,
            scratch.path(),
        )
        .unwrap()
        .map(|path| winrelease::sign::Sha256Digest::of(&fs::read(path).unwrap()))
    };
    assert_eq!(
        previous("1.2.0"),
        Some(fx.releases["1.1.0"].manifest_sha256)
    );
    assert_eq!(
        previous("1.1.0"),
        Some(fx.releases["1.0.0"].manifest_sha256)
    );
    assert_eq!(
        previous("1.1.0-rc.1"),
        Some(fx.releases["1.0.0"].manifest_sha256)
    );
    assert_eq!(previous("1.0.0"), None);

    // What a release plan reads: the channel, and the previous release's manifest and MSI,
    // copied (folder) or downloaded (S3) into the scratch folder, on every backend.
    let scratch = tempfile::tempdir().unwrap();
    let view = publish::read_release_context(
        &*store,
        PRODUCT,
        "stable",
        &Version::parse("1.2.0").unwrap(),
        &pk,
        scratch.path(),
    )
    .unwrap();
    assert_eq!(view.channel_version.as_deref(), Some("1.1.0"));
    let manifest = view.previous_manifest.expect("1.1.0 is older than 1.2.0");
    assert_eq!(
        winrelease::sign::Sha256Digest::of(&fs::read(manifest).unwrap()),
        fx.releases["1.1.0"].manifest_sha256
    );
    let msi = view.previous_msi.expect("1.1.0 has an MSI");
    assert!(msi.starts_with(scratch.path()), "{}", msi.display());
    assert_eq!(
        fs::read(&msi).unwrap(),
        fs::read(fx.dir("1.1.0").join(Fixture::msi_name("1.1.0"))).unwrap()
    );
    let first = publish::read_release_context(
        &*store,
        PRODUCT,
        "beta",
        &Version::parse("1.0.0").unwrap(),
        &pk,
        scratch.path(),
    )
    .unwrap();
    assert_eq!(first, publish::StoreView::default());
}

pub fn scenario_immutable(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    let again = fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    assert_eq!(again.outcome, VersionOutcome::AlreadyPresent);
    assert!(!again.index_changed);
    assert!(!again.channel.as_ref().unwrap().changed);
    assert!(
        again
            .to_string()
            .contains("already in the store with identical bytes"),
        "{again}"
    );
    assert_eq!(
        visible_state(&*store),
        before,
        "an identical republish changes nothing"
    );

    // Another build of 1.0.0 (different exe), properly signed with the same key.
    let other_root = tempfile::tempdir().unwrap();
    make_release(other_root.path(), &fx.key, "1.0.0", None, 7);
    let err = publish::publish(
        &other_root.path().join("1.0.0"),
        &*store,
        PRODUCT,
        Some("stable"),
        &fx.key,
        &options(),
    )
    .unwrap_err();
    let exe = format!("{EXE_NAME}_1.0.0_windows_amd64.exe");
    match &err {
        PublishError::VersionDiffers { files, .. } => {
            assert_eq!(files[0], exe, "the artifact is named first: {files:?}");
            assert!(files.contains(&"manifest.json".to_string()), "{files:?}");
        }
        other => panic!("expected VersionDiffers, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("{exe} differs")), "{message}");
    assert!(message.contains("immutable"), "{message}");
    assert_eq!(
        visible_state(&*store),
        before,
        "a refused republish changes nothing"
    );
    assert!(
        store.lock_read(PRODUCT).unwrap().is_none(),
        "lock released on error"
    );
}

pub fn scenario_channels(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    for version in VERSIONS {
        let report = fx.publish(&*store, version, None).unwrap();
        assert!(report.channel.is_none());
    }
    assert!(read_pointer(&*store, "stable").is_none());
    let opts = options();
    let key = &fx.key;

    let c = promote(&*store, PRODUCT, "1.0.0", "stable", key, &opts).unwrap();
    assert_eq!((c.from, c.to.as_str(), c.sequence), (None, "1.0.0", 1));
    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert_eq!((c.from.as_deref(), c.sequence), (Some("1.0.0"), 2));
    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert!(
        !c.changed,
        "promoting the current version again writes nothing"
    );

    let err = promote(&*store, PRODUCT, "1.1.0", "stable", key, &opts).unwrap_err();
    assert!(
        matches!(err, PublishError::ChannelBackwards { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("rollback --channel stable --to 1.1.0"),
        "{err}"
    );
    // Publishing an older version with the channel is refused before anything is written.
    let err = fx.publish(&*store, "1.1.0", Some("stable")).unwrap_err();
    assert!(
        matches!(err, PublishError::ChannelBackwards { .. }),
        "{err}"
    );

    let c = rollback(&*store, PRODUCT, "stable", "1.1.0", key, &opts).unwrap();
    assert!(c.rollback && c.changed);
    assert_eq!(
        (c.from.as_deref(), c.to.as_str(), c.sequence),
        (Some("1.2.0"), "1.1.0", 3)
    );
    let pointer = read_pointer(&*store, "stable").unwrap();
    assert_eq!(pointer.rollback_from.as_deref(), Some("1.2.0"));
    assert_eq!(pointer.sequence, 3);

    let err = rollback(&*store, PRODUCT, "stable", "1.2.0", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NotARollback { .. }), "{err}");
    let err = rollback(&*store, PRODUCT, "beta", "1.0.0", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NoChannel { .. }), "{err}");
    let err = promote(&*store, PRODUCT, "9.9.9", "stable", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::NotInStore { .. }), "{err}");
    let err = promote(&*store, PRODUCT, "1.2.0", "Stable!", key, &opts).unwrap_err();
    assert!(matches!(err, PublishError::BadChannel(_)), "{err}");

    let c = promote(&*store, PRODUCT, "1.2.0", "stable", key, &opts).unwrap();
    assert_eq!((c.sequence, c.rollback), (4, false));
    assert_eq!(read_pointer(&*store, "stable").unwrap().rollback_from, None);
    promote(&*store, PRODUCT, "1.0.0", "beta", key, &opts).unwrap();

    // A shorter pointer validity caps the expiry below the manifest's.
    let short = PublishOptions {
        pointer_validity_days: Some(7),
        ..options()
    };
    let c = promote(&*store, PRODUCT, "1.2.0", "canary", key, &short).unwrap();
    assert_eq!(c.expires, winrelease::stamp::rfc3339_utc(NOW + 7 * DAY));

    let report = fx.assert_valid(&*store);
    let text = report.to_string();
    assert!(
        text.contains("channels/stable.json: signature valid, 1.2.0 (sequence 4)"),
        "{text}"
    );
    assert!(
        text.contains("channels/beta.json: signature valid, 1.0.0 (sequence 1)"),
        "{text}"
    );
    // Past the canary pointer's expiry the store no longer verifies.
    let later = verify_store(
        &*store,
        None,
        &fx.key.public_key(),
        NOW + 8 * DAY,
        &test_env(),
    )
    .unwrap();
    assert!(!later.is_valid());
    assert!(
        later.to_string().contains("channels/canary.json: expired"),
        "{later}"
    );
}

/// Tampering with objects in the store (through the backend's own replace) is detected.
pub fn scenario_tamper(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("beta")).unwrap();
    fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
    fx.assert_valid(&*store);
    let overwrite = |key: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let object = store.read(key, 1 << 30).unwrap().unwrap();
        let mut bytes = object.bytes.clone();
        edit(&mut bytes);
        store
            .replace(key, &bytes, Some(&object.revision), "tamper")
            .unwrap();
        object.bytes
    };
    let failures = |report: &StoreReport| -> String {
        report
            .failures()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // 1. A byte of the stored MSI.
    let msi_key = format!("{PRODUCT}/1.1.0/{}", Fixture::msi_name("1.1.0"));
    let original = overwrite(&msi_key, &|b| b[100] ^= 0x20);
    let report = fx.verify(&*store);
    let text = failures(&report);
    assert!(text.contains(&format!("FAIL {PRODUCT} 1.1.0:")), "{report}");
    assert!(text.contains(&Fixture::msi_name("1.1.0")), "{report}");
    assert!(
        text.contains("channels/stable.json: points to 1.1.0, which does not verify"),
        "{report}"
    );
    // Publishing the genuine 1.1.0 again names the tampered file.
    let err = fx.publish(&*store, "1.1.0", None).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} differs", Fixture::msi_name("1.1.0"))),
        "{err}"
    );
    overwrite(&msi_key, &|b| *b = original.clone());
    fx.assert_valid(&*store);

    // 2. The index edited without re-signing (a version hidden).
    let index_key = format!("{PRODUCT}/index.json");
    let original = overwrite(&index_key, &|b| {
        let text = String::from_utf8(b.clone()).unwrap();
        *b = text
            .replacen("\"sequence\": 2", "\"sequence\": 9", 1)
            .into_bytes();
    });
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains("index.json: does not match its signature"),
        "{report}"
    );
    let err = fx.publish(&*store, "1.2.0", None).unwrap_err();
    assert!(matches!(err, PublishError::DocumentInvalid { .. }), "{err}");
    overwrite(&index_key, &|b| *b = original.clone());

    // 3. The beta pointer (validly signed) copied over the stable one: a replay across channels.
    let stable_key = format!("{PRODUCT}/channels/stable.json");
    let beta = store
        .read(&format!("{PRODUCT}/channels/beta.json"), 1 << 20)
        .unwrap()
        .unwrap();
    let original = overwrite(&stable_key, &|b| *b = beta.bytes.clone());
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains("carries the signature of \"channels/beta.json\""),
        "{report}"
    );
    overwrite(&stable_key, &|b| *b = original.clone());

    // 4. A pointer signed by another key.
    let (other_key, _) = new_key();
    let other_store_root = tempfile::tempdir().unwrap();
    let other_store = FolderStore::new(other_store_root.path());
    let other_fx_root = tempfile::tempdir().unwrap();
    make_release(other_fx_root.path(), &other_key, "1.0.0", None, 0);
    publish::publish(
        &other_fx_root.path().join("1.0.0"),
        &other_store,
        PRODUCT,
        Some("stable"),
        &other_key,
        &options(),
    )
    .unwrap();
    let foreign = other_store.read(&stable_key, 1 << 20).unwrap().unwrap();
    overwrite(&stable_key, &|b| *b = foreign.bytes.clone());
    let report = fx.verify(&*store);
    assert!(
        failures(&report).contains(&format!("is signed by key {}", other_key.key_id())),
        "{report}"
    );
    overwrite(&stable_key, &|b| *b = original.clone());
    fx.assert_valid(&*store);
}

/// Two publishers at once, each with its own store handle (as two CI jobs would be).
pub fn scenario_concurrent(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();

    // Different versions: both succeed, one after the other.
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = ["1.1.0", "1.2.0"]
            .into_iter()
            .map(|version| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    let own = spec.open();
                    barrier.wait();
                    fx.publish(&*own, version, None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in &results {
        let report = result.as_ref().unwrap();
        assert!(matches!(report.outcome, VersionOutcome::Published { .. }));
    }
    let mut sequences: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().unwrap().index_sequence)
        .collect();
    sequences.sort();
    assert_eq!(sequences, [2, 3], "each publisher saw the other's index");
    assert_eq!(read_index(&*store).versions.len(), 3);
    fx.assert_valid(&*store);

    // The same version twice at once: exactly one copies, the other finds identical bytes.
    let fresh_root = tempfile::tempdir().unwrap();
    let spec2 = match spec {
        StoreSpec::Folder(_) => StoreSpec::Folder(fresh_root.path().to_path_buf()),
        StoreSpec::S3 {
            endpoint,
            bucket,
            prefix,
        } => StoreSpec::S3 {
            endpoint: endpoint.clone(),
            bucket: bucket.clone(),
            prefix: format!("{prefix}-same"),
        },
    };
    let barrier = Arc::new(Barrier::new(2));
    let outcomes: Vec<VersionOutcome> = thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                let spec2 = &spec2;
                scope.spawn(move || {
                    let own = spec2.open();
                    barrier.wait();
                    fx.publish(&*own, "1.0.0", Some("stable")).unwrap().outcome
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        outcomes.contains(&VersionOutcome::AlreadyPresent),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, VersionOutcome::Published { .. })),
        "{outcomes:?}"
    );
    let store2 = spec2.open();
    assert_eq!(read_index(&*store2).sequence, 1);
    assert_eq!(read_pointer(&*store2, "stable").unwrap().sequence, 1);
    fx.assert_valid(&*store2);
}

/// A live lock makes the second publisher wait, then fail naming the holder; stale locks
/// (dead process on this host, or too old) are broken.
pub fn scenario_locks(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    // Held by this (running) process.
    let live = LockInfo::for_this_process(&test_env());
    assert!(store.lock_create(PRODUCT, &live.to_bytes()).unwrap());
    let short = PublishOptions {
        lock: LockOptions {
            timeout: Duration::from_millis(1500),
            stale_after: Duration::from_secs(3600),
        },
        ..options()
    };
    let started = std::time::Instant::now();
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &fx.key, &short).unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    match &err {
        PublishError::Lock(LockError::Timeout { holder, .. }) => {
            assert!(
                holder.contains(&format!("process {}", std::process::id())),
                "{holder}"
            );
        }
        other => panic!("expected a lock timeout, got {other}"),
    }
    assert!(err.to_string().contains(".lock"), "{err}");
    assert_eq!(
        visible_state(&*store),
        before,
        "nothing published while locked"
    );
    let promote_err = promote(&*store, PRODUCT, "1.0.0", "beta", &fx.key, &short).unwrap_err();
    assert!(
        matches!(promote_err, PublishError::Lock(_)),
        "{promote_err}"
    );
    // The live lock is still the one we created.
    assert_eq!(
        store.lock_read(PRODUCT).unwrap().unwrap().bytes,
        live.to_bytes()
    );
    assert!(store.lock_release(PRODUCT, &live.to_bytes()).unwrap());

    // Held by a process of this host that has exited.
    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let dead = LockInfo {
        pid: dead_pid,
        ..LockInfo::for_this_process(&test_env())
    };
    assert!(store.lock_create(PRODUCT, &dead.to_bytes()).unwrap());
    let report = fx.publish(&*store, "1.1.0", None).unwrap();
    let reason = report
        .broke_stale_lock
        .expect("the dead holder's lock was broken");
    assert!(reason.contains("no longer runs"), "{reason}");
    assert!(store.lock_read(PRODUCT).unwrap().is_none());

    // Held by another host, three hours ago (older than stale_after = 2 h).
    let old = LockInfo {
        host: "build-agent-7".into(),
        pid: 4242,
        acquired: LockInfo::for_this_process(&test_env()).acquired - 3 * 3600,
        token: "old".into(),
    };
    assert!(store.lock_create(PRODUCT, &old.to_bytes()).unwrap());
    let report = fx.publish(&*store, "1.2.0", None).unwrap();
    let reason = report.broke_stale_lock.expect("the old lock was broken");
    assert!(
        reason.contains("build-agent-7") && reason.contains("older than"),
        "{reason}"
    );
    // …but a recent lock of another host is respected.
    let recent = LockInfo {
        acquired: LockInfo::for_this_process(&test_env()).acquired,
        ..old
    };
    assert!(store.lock_create(PRODUCT, &recent.to_bytes()).unwrap());
    let err = promote(&*store, PRODUCT, "1.2.0", "stable", &fx.key, &short).unwrap_err();
    assert!(err.to_string().contains("build-agent-7"), "{err}");
    assert!(store.lock_release(PRODUCT, &recent.to_bytes()).unwrap());
    fx.assert_valid(&*store);
}

/// A release folder that fails verification, an illegal channel or product: refused, and the
/// store is left exactly as it was.
pub fn scenario_bad_input(fx: &Fixture, spec: &StoreSpec) {
    let store = spec.open();
    fx.publish(&*store, "1.0.0", Some("stable")).unwrap();
    let before = visible_state(&*store);

    // A tampered release folder (a copy, so the fixture stays intact).
    let copy_root = tempfile::tempdir().unwrap();
    let copy = copy_root.path().join("1.1.0");
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(fx.dir("1.1.0")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let exe = copy.join(format!("{EXE_NAME}_1.1.0_windows_amd64.exe"));
    let mut bytes = fs::read(&exe).unwrap();
    bytes[64] ^= 1;
    fs::write(&exe, bytes).unwrap();
    let err =
        publish::publish(&copy, &*store, PRODUCT, Some("stable"), &fx.key, &options()).unwrap_err();
    assert!(matches!(err, PublishError::Unverified { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("refusing to publish"), "{message}");
    assert!(message.contains("windows_amd64.exe"), "{message}");

    // Signed by another key than the one publishing.
    let (other, _) = new_key();
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &other, &options()).unwrap_err();
    assert!(matches!(err, PublishError::Unverified { .. }), "{err}");

    // Expired at publish time.
    let late = PublishOptions {
        now: NOW + 400 * DAY,
        ..options()
    };
    let err =
        publish::publish(&fx.dir("1.1.0"), &*store, PRODUCT, None, &fx.key, &late).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");

    for channel in ["Stable", "stable/../x", "", "a b", &"x".repeat(65)] {
        let err = fx.publish(&*store, "1.1.0", Some(channel)).unwrap_err();
        assert!(
            matches!(err, PublishError::BadChannel(_)),
            "{channel:?}: {err}"
        );
    }
    for product in ["Hello:Service", "Hello Service.", "CON", ".hidden", "a/b"] {
        let err = publish::publish(
            &fx.dir("1.1.0"),
            &*store,
            product,
            None,
            &fx.key,
            &options(),
        )
        .unwrap_err();
        assert!(
            matches!(err, PublishError::BadName { .. }),
            "{product:?}: {err}"
        );
    }
    // The right product name, but not the release's.
    let err = publish::publish(
        &fx.dir("1.1.0"),
        &*store,
        "Other Product",
        None,
        &fx.key,
        &options(),
    )
    .unwrap_err();
    assert!(matches!(err, PublishError::WrongProduct { .. }), "{err}");

    assert_eq!(visible_state(&*store), before);
    assert!(store.list_versions(PRODUCT).unwrap().leftovers.is_empty());
    assert!(store.lock_read(PRODUCT).unwrap().is_none());
}

// ---------------------------------------------------------------------------------------------
// Crash at every step
// ---------------------------------------------------------------------------------------------

/// Environment variable through which the parent tells the child what to publish.
pub const CHILD_ENV: &str = "WINRELEASE_TEST_PUBLISH_CHILD";

#[derive(Debug, Serialize, Deserialize)]
pub struct ChildJob {
    pub store: StoreSpec,
    pub release: PathBuf,
    pub key_file: PathBuf,
    pub channel: String,
}

/// Body of the `crash_child` test: publishes as the parent says (and is expected to abort at
/// the step named by `WINRELEASE_PUBLISH_CRASH_AT`, which this test binary reads, as xtask
/// would, and passes to the store). Does nothing when not started as a child.
pub fn child_main() {
    let Ok(job) = std::env::var(CHILD_ENV) else {
        return;
    };
    let job: ChildJob = serde_json::from_str(&job).unwrap();
    let text = fs::read_to_string(&job.key_file).unwrap();
    let secret = minisig::SecretKey::from_unencrypted_file(&text).unwrap();
    let key = ReleaseKey::new(secret, KeySource::File(job.key_file.clone()));
    let store = job
        .store
        .open_with(CrashHook::new(std::env::var(CRASH_ENV).ok()));
    let report = publish::publish(
        &job.release,
        &*store,
        PRODUCT,
        Some(&job.channel),
        &key,
        &options(),
    )
    .unwrap();
    println!("child finished without crashing:\n{report}");
}

/// Runs this test binary's `crash_child` test as a child process publishing `version`, with a
/// crash injected at `step`; returns (exit status, stderr).
fn run_child(
    fx: &Fixture,
    spec: &StoreSpec,
    version: &str,
    step: &str,
    key_file: &Path,
) -> (std::process::ExitStatus, String) {
    let job = ChildJob {
        store: spec.clone(),
        release: fx.dir(version),
        key_file: key_file.to_path_buf(),
        channel: "stable".into(),
    };
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, serde_json::to_string(&job).unwrap())
        .env(CRASH_ENV, step)
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// For every step in `points`: a store with 1.0.0 on `stable`; a child publishing 1.1.0 to
/// `stable` is killed (abort, like kill -9) at that step. Then: the store verifies, what is
/// visible is either the old or the new state (never a partial version, never a document
/// naming a missing version), and the next publish succeeds and leaves a clean store.
pub fn scenario_crash_every_step(
    fx: &Fixture,
    points: &[&str],
    visible_from: &str,
    fresh_store: &dyn Fn(&str) -> StoreSpec,
) {
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("test.key");
    fs::write(&key_file, fx.secret.to_unencrypted_file().as_bytes()).unwrap();
    let position = |name: &str| {
        points
            .iter()
            .position(|p| *p == name)
            .unwrap_or_else(|| panic!("{name} is not a crash point"))
    };
    let new_sha = fx.releases["1.1.0"].manifest_sha256.to_hex();
    for (i, step) in points.iter().enumerate() {
        let spec = fresh_store(step);
        let store = spec.open();
        fx.publish(&*store, "1.0.0", Some("stable")).unwrap();

        let (status, stderr) = run_child(fx, &spec, "1.1.0", step, &key_file);
        assert!(
            stderr.contains(&format!("{CRASH_ENV}={step}: aborting here")),
            "step {step}: the child did not reach the step (status {status:?}):\n{stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(6),
                "step {step}: child must die by SIGABRT"
            );
        }

        // The store is valid right after the crash.
        let report = fx.verify(&*store);
        assert!(
            report.is_valid(),
            "step {step}: store invalid after the crash:\n{report}"
        );
        let versions = versions_in(&*store);
        let new_visible = i >= position(visible_from);
        let expected: &[&str] = if new_visible {
            &["1.0.0", "1.1.0"]
        } else {
            &["1.0.0"]
        };
        assert_eq!(versions, expected, "step {step}");
        let index = read_index(&*store);
        let indexed = index.versions.iter().any(|e| e.version == "1.1.0");
        assert_eq!(
            indexed,
            i >= position("index-replaced"),
            "step {step}: index"
        );
        let pointer = read_pointer(&*store, "stable").unwrap();
        let moved = i >= position("channel-replaced");
        assert_eq!(
            pointer.version,
            if moved { "1.1.0" } else { "1.0.0" },
            "step {step}: channel"
        );
        if moved {
            assert_eq!(pointer.manifest_sha256, new_sha);
        }

        // The next publish succeeds (breaking the dead child's lock) and cleans up.
        let report = fx.publish(&*store, "1.1.0", Some("stable")).unwrap();
        let expect_lock = i >= position("locked") && i <= position("unlocking");
        assert_eq!(
            report.broke_stale_lock.is_some(),
            expect_lock,
            "step {step}: {report}"
        );
        assert_eq!(
            matches!(report.outcome, VersionOutcome::AlreadyPresent),
            new_visible,
            "step {step}: {report}"
        );
        let after = fx.assert_valid(&*store);
        assert_eq!(
            after.warnings().count(),
            0,
            "step {step}: leftovers or lock remain:\n{after}"
        );
        assert_eq!(versions_in(&*store), ["1.0.0", "1.1.0"]);
        assert_eq!(read_pointer(&*store, "stable").unwrap().version, "1.1.0");
        let index = read_index(&*store);
        assert_eq!(index.versions.len(), 2, "step {step}");
        eprintln!(
            "crash at {step}: store valid, recovered ({} checks)",
            after.checks.len()
        );
    }
}

/// Asserts the error is a store-level error about reachability or permissions.
pub fn assert_store_error(err: &PublishError) -> &StoreError {
    match err {
        PublishError::Store(e) => e,
        other => panic!("expected a store error, got {other}"),
    }
}

pub fn ok_status(report: &StoreReport) -> usize {
    report
        .checks
        .iter()
        .filter(|c| c.status == StoreCheckStatus::Ok)
        .count()
}
