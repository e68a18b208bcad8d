//! Shared by `tests/publish.rs` (folder backend) and `tests/publish_s3.rs` (S3 backend): real
//! signed releases made by the trust stage, the environment the tests publish with, and how
//! a store is opened; the scenarios every backend must pass are in `scenarios.rs`, the child
//! process the crash tests kill at every step in `crash.rs`.

#![allow(dead_code)]

mod crash;
pub mod s3;
mod scenarios;

pub use crash::*;
pub use scenarios::*;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use semver::Version;
use serde::{Deserialize, Serialize};
use winrelease::keys::{KeySource, ReleaseKey};
use winrelease::manifest::MsiIdentity;
use winrelease::portable_zip::{self, ZipRequest};
use winrelease::publish::{
    self, verify_store, ChannelPointer, Clock, CrashHook, FolderStore, Index, LockOptions,
    PublishEnvironment, PublishError, PublishOptions, S3Config, S3Credentials, S3Store, Store,
    StoreReport,
};
use winrelease::service_config;
use winrelease::stamp::Stamp;
use winrelease::trust::{release_trust, MsiArtifact, TrustRequest, TrustSummary};
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
    let msi = format!("fake MSI of {version} build {flavour}").repeat(400);
    make_release_with_msi(root, key, version, previous, flavour, msi.as_bytes())
}

/// [`make_release`] with these bytes as its MSI (a large one, for the streaming transfers).
pub fn make_release_with_msi(
    root: &Path,
    key: &ReleaseKey,
    version: &str,
    previous: Option<&Path>,
    flavour: u32,
    msi: &[u8],
) -> TrustSummary {
    let dir = root.join(version);
    fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(format!("{EXE_NAME}_{version}_windows_amd64.exe"));
    fs::write(&exe, fake_exe(version, flavour)).unwrap();
    let msi_path = dir.join(format!("{EXE_NAME}_{version}_x64.msi"));
    fs::write(&msi_path, msi).unwrap();
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
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/config.json");
    let values = [("listen_port".to_string(), "8080".to_string())].into();
    let config = service_config::render_default_config(&template, &values).unwrap();
    let zip = portable_zip::write_zip(
        &ZipRequest {
            exes: vec![(EXE_NAME, &exe)],
            product: PRODUCT,
            stamp: &stamp,
            config: Some(&config),
            payload: &Default::default(),
            license: None,
        },
        &dir.join(portable_zip::zip_file_name(EXE_NAME, &parsed)),
    )
    .unwrap();
    let request = TrustRequest {
        product: PRODUCT.into(),
        channel: "stable".into(),
        msi_version: msi_version(&parsed).unwrap(),
        stamp,
        go_version: "go1.26.8".into(),
        version_dir: dir,
        exe,
        other_exes: Vec::new(),
        msi: Some(MsiArtifact {
            path: msi_path,
            identity: MsiIdentity::new(
                "11111111-2222-3333-4444-555555555555",
                "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            )
            .unwrap(),
        }),
        zip: Some(zip.path),
        transforms: Vec::new(),
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
