//! `cargo xtask fuzz --make-corpus`: the seed corpora of `fuzz/corpus/<target>/`, made by the
//! pipeline's own stages for this workspace's project (version 1.2.3): the VERSIONINFO object
//! linked into a small PE by the MinGW linker, the MSI and the site transform, the signed
//! manifest, a store's index and channel pointer after a real publish, keys and signatures.
//! The signing key is kept once made (`minisign_secret_key/seed-unencrypted.key`, a key that
//! signs nothing but seeds), so remaking the corpus changes only what the pipeline changed.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use semver::Version;
use winrelease::binding::Binding;
use winrelease::config::Project;
use winrelease::digest::hash_reader;
use winrelease::gobuild::{self, BuildRequest, BuiltExe, GoEnvironment};
use winrelease::keys::{KeySource, ReleaseKey};
use winrelease::manifest::{canonical_json, MsiIdentity};
use winrelease::publish::{self, Clock, FolderStore, PublishEnvironment, PublishOptions};
use winrelease::stamp::{Stamp, Versioned};
use winrelease::trust::{self, MsiArtifact, TrustRequest};
use winrelease::{package_msi, site_transform};

/// Commit time of the seed release: 2026-03-04T05:06:07Z.
const COMMIT_TIME: i64 = 1_772_600_767;
/// What `minisign_signature`'s seed signs (the fuzz target verifies against it).
const SIGNED_DATA: &[u8] = b"winrelease fuzz seed\n";
/// The passphrase of the encrypted seed key (`minisign_secret_key` tries it).
const SEED_PASSPHRASE: &[u8] = b"fuzz seed passphrase";

/// A clock standing still a day after the seed's commit (the publish lock reads it).
#[derive(Debug)]
struct SeedClock;

impl Clock for SeedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs((COMMIT_TIME + 86_400) as u64)
    }
    fn instant(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Writes every seed corpus under `<root>/fuzz/corpus/`.
pub fn make_corpus(root: &Path) -> Result<()> {
    let corpus = root.join("fuzz/corpus");
    let project = Project::load(Some(&root.join("Cargo.toml")))?;
    let work = tempfile::tempdir()?;
    let secret = seed_key(&corpus)?;
    let key = ReleaseKey::new(
        secret.clone(),
        KeySource::File("seed-unencrypted.key".into()),
    );
    let versioned = seed_version()?;
    let dir = work.path().join("release");
    let exe = linked_exe(&project, &versioned, &dir, work.path())?;
    seed(
        &corpus,
        "pe_versioninfo",
        "hellosvc.exe",
        &fs::read(&exe.path)?,
    )?;
    let exes = gobuild::BuiltExes {
        service: exe,
        others: Vec::new(),
    };
    let contents = winrelease::payload::Contents::read(&project)?;
    let msi = package_msi::package_msi(&project, &versioned, contents.with(&exes), &dir)?;
    let exe = &exes.service;
    seed(
        &corpus,
        "msi_package",
        &file_name(&msi.path),
        &fs::read(&msi.path)?,
    )?;
    let sites = site_transform::release_stage(&msi.path, &project.config.sites, None, &dir)?;
    for transform in &sites.transforms {
        let bytes = fs::read(&transform.path)?;
        seed(
            &corpus,
            "msi_transform",
            &file_name(&transform.path),
            &bytes,
        )?;
    }
    let mut request = TrustRequest::new(&project, &versioned, exe);
    request.version_dir = dir.clone();
    request.transforms = sites.transforms.iter().map(|t| t.path.clone()).collect();
    request.msi = Some(MsiArtifact {
        path: msi.path.clone(),
        identity: MsiIdentity::new(&msi.product_code, &msi.upgrade_code, &msi.package_code)?,
    });
    let summary = trust::release_trust(&request, &key)?;
    seed(
        &corpus,
        "manifest",
        "manifest.json",
        &fs::read(&summary.manifest)?,
    )?;
    let signature = fs::read(&summary.manifest_signature)?;
    seed(
        &corpus,
        "minisign_signature",
        "manifest.json.minisig",
        &signature,
    )?;
    store_documents(&corpus, &project, &dir, &key, work.path())?;
    key_seeds(&corpus, &key, &secret)?;
    println!("seed corpora written to {}", corpus.display());
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned()
}

/// Writes `<corpus>/<target>/seed-<name>`.
fn seed(corpus: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = corpus.join(target);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("seed-{name}"));
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The committed seed key, or a new one when there is none yet.
fn seed_key(corpus: &Path) -> Result<minisig::SecretKey> {
    let path = corpus.join("minisign_secret_key/seed-unencrypted.key");
    if let Ok(text) = fs::read_to_string(&path) {
        return Ok(minisig::SecretKey::from_unencrypted_file(&text)?);
    }
    let (_, secret) = minisig::generate(&mut minisig::OsRng);
    seed(
        corpus,
        "minisign_secret_key",
        "unencrypted.key",
        secret.to_unencrypted_file().as_bytes(),
    )?;
    Ok(secret)
}

fn seed_version() -> Result<Versioned> {
    let version = Version::parse("1.2.3")?;
    Ok(Versioned {
        msi_version: winrelease::version::msi_version(&version)?,
        stamp: Stamp {
            tag: Some("v1.2.3".into()),
            version,
            distance: 0,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            commit_time: COMMIT_TIME,
            dirty: false,
            warnings: Vec::new(),
        },
    })
}

/// The project's VERSIONINFO object (what `go build` links) linked by the MinGW linker around
/// a one-instruction entry point: a small PE with the resource a real build has.
fn linked_exe(
    project: &Project,
    versioned: &Versioned,
    dir: &Path,
    work: &Path,
) -> Result<BuiltExe> {
    fs::create_dir_all(dir)?;
    let go_env = GoEnvironment::default();
    let binary = gobuild::Binary::all(project)[0];
    let request =
        BuildRequest::for_project(project, versioned, binary, &project.root, dir, &go_env);
    let syso = work.join(winversion::SYSO_FILE_NAME);
    let object_file = winversion::coff_object(&gobuild::version_info(&request))
        .context("making the VERSIONINFO object")?;
    fs::write(&syso, object_file)?;
    let entry = work.join("entry.s");
    fs::write(&entry, ".text\n.globl _start\n_start: ret\n")?;
    let object = work.join("entry.o");
    run(
        "x86_64-w64-mingw32-as",
        &[entry.as_os_str(), "-o".as_ref(), object.as_os_str()],
    )?;
    let exe = dir.join(format!(
        "{}_{}_windows_amd64.exe",
        project.config.exe_name, versioned.stamp.version
    ));
    // No time stamp in the PE header: the same seeds every time.
    let args = [
        "-s",
        "--no-insert-timestamp",
        "--entry=_start",
        "--subsystem=console",
        "-o",
    ];
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    all.extend([exe.as_os_str(), object.as_os_str(), syso.as_os_str()]);
    run("x86_64-w64-mingw32-ld", &all)?;
    Ok(BuiltExe {
        exe_name: project.config.exe_name.clone(),
        size: fs::metadata(&exe)?.len(),
        path: exe,
        go_version: "go1.26.8".into(),
        command_line: "x86_64-w64-mingw32-ld (fuzz seed)".into(),
    })
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("starting {program} (install binutils-mingw-w64-x86-64)"))?;
    if !status.success() {
        bail!("{program} failed ({status})");
    }
    Ok(())
}

/// Publishes the seed release into a new folder store; its index and pointer whole (modes 0
/// and 1 of `store_documents`) and their signed content alone (modes 2 and 3).
fn store_documents(
    corpus: &Path,
    project: &Project,
    release: &Path,
    key: &ReleaseKey,
    work: &Path,
) -> Result<()> {
    let store_dir = work.join("store");
    fs::create_dir_all(&store_dir)?;
    let store = FolderStore::new(&store_dir);
    let env = PublishEnvironment {
        s3: Default::default(),
        crash_at: None,
        host: "fuzz-seed-host".into(),
        temp_dir: work.to_path_buf(),
        clock: Arc::new(SeedClock),
    };
    let product = &project.config.product;
    let options = PublishOptions::new(COMMIT_TIME + 86_400, env);
    publish::publish(release, &store, product, Some("stable"), key, &options)?;
    let product_dir = store_dir.join(product);
    for (mode, name, path) in [
        (0u8, "index.json", product_dir.join("index.json")),
        (1, "stable.json", product_dir.join("channels/stable.json")),
    ] {
        let bytes = fs::read(&path)?;
        seed(
            corpus,
            "store_documents",
            &format!("{mode}-{name}"),
            &[&[mode][..], &bytes].concat(),
        )?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)?;
        let signed = canonical_json(&value["signed"]).map_err(anyhow::Error::msg)?;
        let signed_mode = mode + 2;
        seed(
            corpus,
            "store_documents",
            &format!("{signed_mode}-{name}"),
            &[&[signed_mode][..], signed.as_bytes()].concat(),
        )?;
    }
    Ok(())
}

/// Public key (file and bare line), the encrypted key (libsodium's minimum KDF limits, kept
/// once made: its salt is random) and a signature of [`SIGNED_DATA`].
fn key_seeds(corpus: &Path, key: &ReleaseKey, secret: &minisig::SecretKey) -> Result<()> {
    let public = key.public_key();
    seed(
        corpus,
        "minisign_public_key",
        "winrelease.pub",
        public.to_file_text().as_bytes(),
    )?;
    seed(
        corpus,
        "minisign_public_key",
        "base64-line",
        public.to_base64().as_bytes(),
    )?;
    let encrypted = corpus.join("minisign_secret_key/seed-encrypted.key");
    let current = fs::read_to_string(&encrypted).unwrap_or_default();
    if minisig::SecretKey::from_encrypted_file(&current, SEED_PASSPHRASE).is_err() {
        let text =
            secret.to_encrypted_file(SEED_PASSPHRASE, minisig::KdfParams::fast_for_tests())?;
        seed(
            corpus,
            "minisign_secret_key",
            "encrypted.key",
            text.as_bytes(),
        )?;
    }
    let digest = hash_reader(SIGNED_DATA)?;
    let binding = Binding {
        product: "Hello Service".into(),
        version: "1.2.3".into(),
        file: "seed.txt".into(),
        sha256: digest.sha256,
    };
    let signed = key.sign(&digest, &binding)?;
    seed(
        corpus,
        "minisign_signature",
        "seed.txt.minisig",
        signed.text.as_bytes(),
    )
}
