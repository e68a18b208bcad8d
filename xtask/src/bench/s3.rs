//! The S3 rows: publishing one large version to the local S3 server (`.ci/s3-server`, moto)
//! and verifying the store, each in its own measured process (wall time and peak RSS from
//! `wait4`, see [`super::measure::run_measured`]). The version is a signed release whose MSI
//! is `bytes` of incompressible data; the target is a peak RSS that does not grow with it.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use winrelease::keys::{KeySource, ReleaseKey};
use winrelease::manifest::MsiIdentity;
use winrelease::publish::{
    self, verify_store, PublishOptions, S3Config, S3Credentials, S3Environment, S3Store,
};
use winrelease::stamp::Stamp;
use winrelease::trust::{release_trust, MsiArtifact, TrustRequest};

use super::measure::{run_measured, Samples};
use super::report::{mb, Target};

/// The large version of the full bench: 2 GiB.
pub const FULL_BYTES: u64 = 2 << 30;
/// The large version under `--quick`: 256 MiB.
pub const QUICK_BYTES: u64 = 256 << 20;
/// Peak RSS allowed for publishing or verifying it, whatever its size.
pub const RSS_TARGET: u64 = 128 << 20;

const PRODUCT: &str = "Bench Service";
const VERSION: &str = "1.0.0";
/// The credentials the local server is started with (it accepts any; requests are signed).
const ACCESS_KEY: &str = "winrelease-test";
const SECRET_KEY: &str = "winrelease-test-secret";

/// What the S3 rows measured.
#[derive(Debug, Serialize)]
pub struct S3Result {
    /// Size of the version's MSI.
    pub msi_bytes: u64,
    /// Every file of the version.
    pub version_bytes: u64,
    pub publish: Samples,
    pub verify: Samples,
    /// Largest peak RSS over the repetitions, bytes.
    pub publish_peak_rss: u64,
    pub verify_peak_rss: u64,
    pub endpoint: String,
}

/// The local S3 server: the one named by `WINRELEASE_TEST_S3_ENDPOINT`, else one started with
/// `.ci/s3-server start` (and stopped when dropped).
struct Server {
    endpoint: String,
    bucket: String,
    started_in: Option<PathBuf>,
}

impl Server {
    fn find_or_start(root: &Path) -> Result<Server> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let bucket = var("WINRELEASE_TEST_S3_BUCKET").unwrap_or_else(|| "winrelease-test".into());
        if let Some(endpoint) = var("WINRELEASE_TEST_S3_ENDPOINT") {
            return Ok(Server {
                endpoint,
                bucket,
                started_in: None,
            });
        }
        let out = Command::new(root.join(".ci/s3-server"))
            .arg("start")
            .current_dir(root)
            .output()
            .context("running .ci/s3-server start")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!(".ci/s3-server start failed:\n{stderr}");
        }
        let value = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .map(str::to_string)
        };
        let endpoint = value("WINRELEASE_TEST_S3_ENDPOINT")
            .with_context(|| format!(".ci/s3-server printed no endpoint:\n{stdout}{stderr}"))?;
        Ok(Server {
            endpoint,
            bucket: value("WINRELEASE_TEST_S3_BUCKET").unwrap_or(bucket),
            // A server that was already running is left running.
            started_in: stderr
                .contains("moto listening")
                .then(|| root.to_path_buf()),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(root) = &self.started_in {
            let _ = Command::new(root.join(".ci/s3-server"))
                .arg("stop")
                .current_dir(root)
                .status();
        }
    }
}

/// Publishes and verifies a version whose MSI is `bytes` long, `reps` times (each to a new
/// prefix), against the local S3 server.
pub fn run(xtask: &Path, root: &Path, work: &Path, bytes: u64, reps: usize) -> Result<S3Result> {
    let server = Server::find_or_start(root)?;
    let (release, key_file) = make_release(&work.join("release"), bytes)?;
    let version_bytes = folder_bytes(&release)?;
    let mut result = S3Result {
        msi_bytes: bytes,
        version_bytes,
        publish: Samples::new("s"),
        verify: Samples::new("s"),
        publish_peak_rss: 0,
        verify_peak_rss: 0,
        endpoint: server.endpoint.clone(),
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    for rep in 0..reps {
        let store = format!("bench/{nanos}-{rep}");
        let child = |what: &str| {
            let mut cmd = Command::new(xtask);
            cmd.args(["bench-child", what, "--endpoint", &server.endpoint])
                .args(["--bucket", &server.bucket, "--prefix", &store])
                .arg("--key")
                .arg(&key_file)
                .arg("--release")
                .arg(&release)
                .env("TMPDIR", work);
            cmd
        };
        eprintln!(
            "bench: S3 publish of {} ({}/{reps})…",
            mb(version_bytes),
            rep + 1
        );
        let published = run_measured(xtask, &child("s3-publish"))?;
        result.publish.push(published.wall.as_secs_f64());
        result.publish_peak_rss = result.publish_peak_rss.max(published.max_rss);
        eprintln!("bench: S3 verify-store ({}/{reps})…", rep + 1);
        let verified = run_measured(xtask, &child("s3-verify"))?;
        result.verify.push(verified.wall.as_secs_f64());
        result.verify_peak_rss = result.verify_peak_rss.max(verified.max_rss);
    }
    Ok(result)
}

fn folder_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

/// Writes `bytes` of xorshift output (incompressible) to `path`, 8 MiB at a time.
fn write_random(path: &Path, bytes: u64) -> Result<()> {
    let mut out = BufWriter::with_capacity(8 << 20, fs::File::create(path)?);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 8 << 20];
    let mut left = bytes;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// A signed release of [`VERSION`] in `dir/<version>/` (a small exe, an MSI of `bytes`, no
/// zip), made by the trust stage with a new key written unencrypted to `dir/release.key` (the
/// measured processes must not spend a gigabyte on scrypt). Returns the folder and key file.
fn make_release(dir: &Path, bytes: u64) -> Result<(PathBuf, PathBuf)> {
    let version_dir = dir.join(VERSION);
    fs::create_dir_all(&version_dir)?;
    let (_, secret) = minisig::generate(&mut minisig::OsRng);
    let key_file = dir.join("release.key");
    fs::write(&key_file, secret.to_unencrypted_file().as_bytes())?;
    let key = ReleaseKey::new(secret, KeySource::File(key_file.clone()));
    let exe = version_dir.join(format!("benchsvc_{VERSION}_windows_amd64.exe"));
    fs::write(&exe, b"MZ bench exe".repeat(4096))?;
    let msi = version_dir.join(format!("benchsvc_{VERSION}_x64.msi"));
    eprintln!("bench: writing a {} MSI for the S3 rows…", mb(bytes));
    write_random(&msi, bytes)?;
    let version = semver::Version::parse(VERSION)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let request = TrustRequest {
        product: PRODUCT.into(),
        channel: "stable".into(),
        msi_version: winrelease::version::msi_version(&version)?,
        stamp: Stamp {
            tag: Some(format!("v{VERSION}")),
            version,
            distance: 0,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            commit_time: now - 3600,
            dirty: false,
            warnings: vec![],
        },
        go_version: "go1.26.8".into(),
        version_dir: version_dir.clone(),
        exe,
        other_exes: Vec::new(),
        msi: Some(MsiArtifact {
            path: msi,
            identity: MsiIdentity::new(
                "11111111-2222-3333-4444-555555555555",
                "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            )?,
        }),
        zip: None,
        transforms: Vec::new(),
        previous_manifest: None,
        expiry_days: 180,
    };
    release_trust(&request, &key)?;
    Ok((version_dir, key_file))
}

/// Where the measured processes publish to and what they publish.
#[derive(Debug, clap::Args)]
pub struct S3ChildArgs {
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    bucket: String,
    #[arg(long)]
    prefix: String,
    /// The release key, unencrypted (its public half verifies).
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    release: PathBuf,
}

impl S3ChildArgs {
    fn store(&self) -> Result<S3Store> {
        let environment = S3Environment {
            endpoint: Some(self.endpoint.clone()),
            variables: Vec::new(),
        };
        let mut config = S3Config::new(&self.bucket, &self.prefix, &environment);
        config.region = Some("us-east-1".into());
        // moto assembles a multipart object in Python: completing a 2 GiB one takes longer
        // than the default 120 s per request here.
        config.request_timeout = Duration::from_secs(600);
        config.credentials = Some(S3Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.to_string().into(),
            session_token: None,
        });
        Ok(S3Store::new(&config)?)
    }

    fn key(&self) -> Result<ReleaseKey> {
        let text = fs::read_to_string(&self.key)?;
        let secret = minisig::SecretKey::from_unencrypted_file(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.key.display()))?;
        Ok(ReleaseKey::new(secret, KeySource::File(self.key.clone())))
    }
}

fn now() -> Result<i64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64)
}

/// `bench-child s3-publish`: publishes the release to the store's `stable` channel.
pub fn child_publish(args: &S3ChildArgs) -> Result<i32> {
    let options = PublishOptions::new(now()?, winrelease_cli::edge::publish_environment());
    let report = publish::publish(
        &args.release,
        &args.store()?,
        PRODUCT,
        Some("stable"),
        &args.key()?,
        &options,
    )?;
    println!("{report}");
    Ok(0)
}

/// `bench-child s3-verify`: verifies the whole store; fails unless it is valid.
pub fn child_verify(args: &S3ChildArgs) -> Result<i32> {
    let public_key = args.key()?.public_key();
    let env = winrelease_cli::edge::publish_environment();
    let report = verify_store(&args.store()?, Some(PRODUCT), &public_key, now()?, &env)?;
    if !report.is_valid() {
        bail!("the store does not verify:\n{report}");
    }
    Ok(0)
}

impl S3Result {
    /// The peak-RSS targets of publishing and verifying.
    pub fn targets(&self) -> Vec<Target> {
        [
            ("publish", self.publish_peak_rss),
            ("verify-store", self.verify_peak_rss),
        ]
        .into_iter()
        .map(|(what, rss)| Target {
            name: format!(
                "peak RSS of S3 {what}, a {} version",
                mb(self.version_bytes)
            ),
            goal: format!(
                "≤ {} MiB (independent of the version's size)",
                RSS_TARGET >> 20
            ),
            measured: mb(rss),
            pass: Some(rss <= RSS_TARGET),
        })
        .collect()
    }

    /// The section of the Markdown report.
    pub fn markdown(&self, w: &mut String) {
        let _ = writeln!(
            w,
            "## S3 store ({} version: an MSI of {} incompressible bytes; local server {})\n",
            mb(self.version_bytes),
            mb(self.msi_bytes),
            self.endpoint
        );
        let _ = writeln!(w, "| Command | Time | Peak RSS |");
        let _ = writeln!(w, "|---|---|---|");
        let rows = [
            (
                "publish (upload, then download and verify what the store holds)",
                &self.publish,
                self.publish_peak_rss,
            ),
            (
                "verify-store (download and verify every version)",
                &self.verify,
                self.verify_peak_rss,
            ),
        ];
        for (what, time, rss) in rows {
            let _ = writeln!(w, "| {what} | {} | {} |", time.describe(), mb(rss));
        }
        let _ = writeln!(
            w,
            "\nEach command is its own process (peak RSS from wait4(2)); files larger than a part \
             (8 MiB) go up in a multipart upload with 4 parts in flight (staged, then copied \
             create-only on the server), downloads stream to disk in ranged GETs of \
             256 MiB. The server is moto (Python) on this machine: the times are mostly \
             its own (requests may take up to 10 min here).\n"
        );
    }
}
