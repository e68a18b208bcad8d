//! `release`: a plan first, then its execution (cargo-dist's shape).
//!
//! [`plan`] reads git and the configuration, applies every safety rule, and says what would be
//! built, signed and published, writing nothing (`--dry-run` / `cargo xtask plan` print it).
//! [`execute`] runs the stages for a plan: build → MSI → zip + sums + signatures + manifest →
//! verify, reporting each stage to a [`Progress`] so the CLI can draw it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{check_channel_name, Project};
use crate::gobuild::{self, BuiltExe};
use crate::manifest::{self, MsiArtifact, MsiIdentity, TrustRequest, TrustSummary};
use crate::package_msi::{self, BuiltMsi};
use crate::pipeline::{self, PipelineError, Versioned};
use crate::sign::{self, KeyEnvironment, KeySettings};
use crate::verify::{self, CheckLine};

/// Channel a `--snapshot` release goes to unless another (non-stable) one is named.
pub const SNAPSHOT_CHANNEL: &str = "snapshot";

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    /// Build an untagged or dirty commit, for testing; never published to `stable`.
    pub snapshot: bool,
    /// Overrides the configured channel.
    pub channel: Option<String>,
    /// Overrides the configured release store (a folder, a UNC path, or `s3://bucket/prefix`).
    pub store: Option<String>,
    /// A secret key file, when not given through the environment.
    pub key_file: Option<PathBuf>,
}

/// Where the signing key will come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum KeyPlan {
    /// `WINRELEASE_SECRET_KEY`.
    Environment,
    /// `--key FILE`.
    File(PathBuf),
    /// The development key under `target/winrelease/dev-key/` (made on first use).
    Development(PathBuf),
}

/// One artifact the release will contain.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedArtifact {
    pub name: String,
    pub kind: &'static str,
}

/// Everything a release run will do, decided before anything is written.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasePlan {
    pub product: String,
    pub version: String,
    pub msi_version: String,
    pub commit: String,
    pub tag: Option<String>,
    pub dirty: bool,
    pub snapshot: bool,
    pub channel: String,
    /// `target/winrelease/<version>/`.
    pub version_dir: PathBuf,
    /// The release store the version is published to (a folder or `s3://bucket/prefix`).
    pub store: String,
    pub key: KeyPlan,
    pub artifacts: Vec<PlannedArtifact>,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub versioned: Versioned,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Key(#[from] sign::KeyError),
    #[error(transparent)]
    Trust(#[from] manifest::TrustError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("the release just written does not verify: {0}")]
    SelfCheck(verify::VerifyFailure),
    #[error("Authenticode: {0}")]
    Authenticode(#[from] sign::AuthenticodeError),
    #[error("Group Policy check: {0}")]
    Gpo(#[from] crate::site_transform::SiteTransformError),
    #[error("release store: {0}")]
    Store(#[from] crate::publish::StoreError),
    #[error("publish: {0}")]
    Publish(#[from] crate::publish::PublishError),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl ReleaseError {
    /// Process exit code for the CLI (documented in the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            ReleaseError::Refused(_) => 2,
            ReleaseError::Key(_) => 3,
            ReleaseError::SelfCheck(_) => 4,
            ReleaseError::Store(_) | ReleaseError::Publish(_) => 5,
            ReleaseError::Gpo(_) => 6,
            ReleaseError::Authenticode(_) => 1,
            _ => 1,
        }
    }
}

/// Decides what a release of HEAD would do, applying the safety rules; writes nothing.
pub fn plan(project: &Project, options: &ReleaseOptions) -> Result<ReleasePlan, ReleaseError> {
    let config = &project.config;
    let versioned = pipeline::versioned(project)?;
    let stamp = &versioned.stamp;
    if !options.snapshot {
        if stamp.dirty {
            return Err(ReleaseError::Refused(
                "the work tree has uncommitted changes; a release must be built from a clean commit\nfix: commit or stash them, or pass --snapshot for a test build".into(),
            ));
        }
        if !stamp.is_exact_tag() {
            let tag_hint = match &stamp.tag {
                Some(tag) => format!(" (nearest tag: {tag}, {} commits back)", stamp.distance),
                None => " (no vX.Y.Z tag is reachable)".into(),
            };
            return Err(ReleaseError::Refused(format!(
                "HEAD {} is not tagged{tag_hint}; a release is built from a vX.Y.Z tag\nfix: `git tag v{}` and run again, or pass --snapshot for a test build",
                stamp.short_commit(),
                next_release_hint(&stamp.version)
            )));
        }
    }
    let channel = match (&options.channel, options.snapshot) {
        (Some(c), _) => c.clone(),
        (None, true) => SNAPSHOT_CHANNEL.to_string(),
        (None, false) => config.channel.clone(),
    };
    check_channel_name(&channel).map_err(|m| ReleaseError::Refused(format!("--channel: {m}")))?;
    if options.snapshot && channel == "stable" {
        return Err(ReleaseError::Refused(
            "a --snapshot release never goes to the stable channel\nfix: drop --channel stable (snapshots go to \"snapshot\"), or tag the commit and release without --snapshot".into(),
        ));
    }
    // Manifest dates come from the commit, so an old commit's manifest could be born expired.
    let expires = stamp.commit_time + i64::from(config.manifest_expiry_days) * 86_400;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if expires <= now {
        return Err(ReleaseError::Refused(format!(
            "the manifest would expire at {} ({} days after the commit time {}), which has already passed\nfix: release a newer commit, or raise `manifest_expiry_days` in {}",
            crate::stamp::rfc3339_utc(expires),
            config.manifest_expiry_days,
            stamp.commit_time_rfc3339(),
            crate::config::METADATA_TABLE
        )));
    }
    let key = key_plan(project, options)?;
    let version = stamp.version.to_string();
    let exe = gobuild::exe_file_name(&config.exe_name, &stamp.version);
    let artifacts = vec![
        PlannedArtifact {
            name: exe,
            kind: "exe",
        },
        PlannedArtifact {
            name: package_msi::msi_file_name(&config.exe_name, &stamp.version),
            kind: "msi",
        },
        PlannedArtifact {
            name: crate::portable_zip::zip_file_name(&config.exe_name, &stamp.version),
            kind: "zip",
        },
        PlannedArtifact {
            name: "SHA256SUMS".into(),
            kind: "checksums",
        },
        PlannedArtifact {
            name: "manifest.json".into(),
            kind: "manifest",
        },
    ];
    let mut warnings = stamp.warnings.clone();
    if stamp.dirty {
        warnings.push(
            "the work tree is dirty: the release is built, signed and verified but not published (commit to publish)".into(),
        );
    }
    if matches!(key, KeyPlan::Development(_)) {
        warnings.push(format!(
            "no signing key configured: signing with the development key (not for production); set {} for a real release",
            sign::ENV_SECRET_KEY
        ));
    }
    Ok(ReleasePlan {
        product: config.product.clone(),
        msi_version: versioned.msi_version.to_string(),
        commit: stamp.commit.clone(),
        tag: stamp.tag.clone(),
        dirty: stamp.dirty,
        snapshot: options.snapshot,
        channel,
        version_dir: pipeline::version_dir(project, stamp),
        store: store_location(project, options),
        key,
        artifacts,
        warnings,
        version,
        versioned,
    })
}

/// The store to publish to: `--store`, else the config's (relative folders are relative to the
/// workspace root), else `target/winrelease/store`.
pub fn store_location(project: &Project, options: &ReleaseOptions) -> String {
    let configured = options.store.clone().or_else(|| {
        project.config.store.as_ref().map(|s| {
            let text = s.to_string_lossy();
            if text.starts_with("s3://") || s.is_absolute() {
                text.into_owned()
            } else {
                project.root.join(s).to_string_lossy().into_owned()
            }
        })
    });
    configured.unwrap_or_else(|| default_store(project))
}

/// `target/winrelease/store`.
fn default_store(project: &Project) -> String {
    project
        .out_dir()
        .join("store")
        .to_string_lossy()
        .into_owned()
}

/// `1.4.1-dev.7` → `1.4.1`: the tag a user most likely means to create.
fn next_release_hint(version: &semver::Version) -> String {
    format!("{}.{}.{}", version.major, version.minor, version.patch)
}

fn key_plan(project: &Project, options: &ReleaseOptions) -> Result<KeyPlan, ReleaseError> {
    let env = KeyEnvironment::from_process();
    if std::env::var_os(sign::ENV_SECRET_KEY).is_some_and(|v| !v.is_empty()) {
        return Ok(KeyPlan::Environment);
    }
    if let Some(file) = &options.key_file {
        return Ok(KeyPlan::File(file.clone()));
    }
    if env.is_ci() {
        return Err(sign::KeyError::MissingInCi.into());
    }
    Ok(KeyPlan::Development(
        project.out_dir().join(sign::DEV_KEY_DIR),
    ))
}

/// A pipeline stage, as reported to [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Build,
    Authenticode,
    Msi,
    Gpo,
    Sign,
    Verify,
    Publish,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Authenticode => "codesign",
            Stage::Msi => "msi",
            Stage::Gpo => "gpo",
            Stage::Sign => "sign",
            Stage::Verify => "verify",
            Stage::Publish => "publish",
        }
    }
}

/// Receives stage events; the CLI draws progress bars or plain lines from them.
pub trait Progress {
    fn start(&mut self, stage: Stage);
    fn finish(&mut self, stage: Stage, elapsed: Duration, detail: &str);
    /// An exact command the stage ran (for `-v`), secrets already redacted.
    fn command(&mut self, _stage: Stage, _line: &str) {}
}

/// A `Progress` that ignores everything.
pub struct Quiet;
impl Progress for Quiet {
    fn start(&mut self, _: Stage) {}
    fn finish(&mut self, _: Stage, _: Duration, _: &str) {}
}

/// What a release run produced.
#[derive(Debug)]
pub struct ReleaseSummary {
    pub plan: ReleasePlan,
    pub exe: BuiltExe,
    pub msi: BuiltMsi,
    /// Group Policy readiness of the MSI (with the site transforms and the previous MSI).
    pub gpo: crate::site_transform::SiteStage,
    pub trust: TrustSummary,
    /// The key the release was signed with.
    pub key_source: String,
    pub public_key: minisig::PublicKey,
    /// The checks `verify` ran on the finished release.
    pub verification: Vec<CheckLine>,
    /// What publishing into the store did; `None` for a dirty snapshot, which is never
    /// published (its version does not name the uncommitted changes, and the store is immutable).
    pub publish: Option<crate::publish::PublishReport>,
    /// Wall time of each stage.
    pub timings: Vec<(Stage, Duration)>,
}

fn timed<T, E>(
    progress: &mut dyn Progress,
    timings: &mut Vec<(Stage, Duration)>,
    stage: Stage,
    run: impl FnOnce() -> Result<T, E>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, E> {
    progress.start(stage);
    let started = Instant::now();
    let value = run()?;
    let elapsed = started.elapsed();
    progress.finish(stage, elapsed, &detail(&value));
    timings.push((stage, elapsed));
    Ok(value)
}

/// Runs a plan's stages; `publish_env` is what publishing takes from the machine (see
/// [`crate::publish::PublishEnvironment`]).
pub fn execute(
    project: &Project,
    plan: ReleasePlan,
    progress: &mut dyn Progress,
    publish_env: &crate::publish::PublishEnvironment,
) -> Result<ReleaseSummary, ReleaseError> {
    // Load the key before the slow stages, so a missing or wrong secret fails fast.
    let mut settings = KeySettings::new(&project.out_dir());
    if let KeyPlan::File(path) = &plan.key {
        settings.key_file = Some(path.clone());
    }
    let key = sign::load_release_key(&settings, &KeyEnvironment::from_process())?;
    let versioned = &plan.versioned;
    if plan.store == default_store(project) {
        // The default store lives under target/ and is made on first use.
        std::fs::create_dir_all(&plan.store).map_err(|source| ReleaseError::Io {
            context: "creating the default release store under target/winrelease",
            source,
        })?;
    }
    let store = crate::publish::open_store(&plan.store, publish_env)?;
    // The store's newest older release, so the manifest links to it (the chain `verify` walks).
    let scratch = tempfile::tempdir().map_err(|source| ReleaseError::Io {
        context: "creating a scratch directory",
        source,
    })?;
    let view = crate::publish::read_release_context(
        &*store,
        &plan.product,
        &plan.channel,
        &versioned.stamp.version,
        &key.public_key(),
        scratch.path(),
    )?;
    // A channel only moves forward: refuse before building rather than after.
    if let Some(current) = &view.channel_version {
        let newer = semver::Version::parse(current).is_ok_and(|c| {
            c.cmp_precedence(&versioned.stamp.version) == std::cmp::Ordering::Greater
        });
        if newer {
            return Err(ReleaseError::Refused(format!(
                "channel {} is at {current}, which is newer than {}; a release never moves a channel backwards\nfix: release a version newer than {current}, or point the channel at an already published older version on purpose with `cargo xtask rollback --channel {} --to VERSION`",
                plan.channel, plan.version, plan.channel
            )));
        }
    }
    let previous = view.previous_manifest.clone();
    let mut timings = Vec::new();

    let exe = timed(
        progress,
        &mut timings,
        Stage::Build,
        || pipeline::build(project, versioned),
        |e| format!("{} ({} bytes)", file_name(&e.path), e.size),
    )?;
    progress.command(Stage::Build, &exe.command_line);
    let authenticode = authenticode_config(project);
    if let Some(config) = &authenticode {
        // Signed in place before packaging, so the MSI installs the signed exe. The signing
        // time is the commit's: without a timestamp server the signed exe is reproducible.
        timed(
            progress,
            &mut timings,
            Stage::Authenticode,
            || sign::authenticode_sign(&exe.path, &exe.path, config, versioned.stamp.commit_time),
            |()| format!("signed {}", file_name(&exe.path)),
        )?;
    }
    let msi = timed(
        progress,
        &mut timings,
        Stage::Msi,
        || pipeline::package_msi(project, versioned, &exe),
        |m| {
            format!(
                "{} ({} bytes, ProductCode {})",
                file_name(&m.path),
                m.size,
                m.product_code
            )
        },
    )?;
    if let Some(config) = &authenticode {
        sign::authenticode_sign(&msi.path, &msi.path, config, versioned.stamp.commit_time)?;
    }
    let previous_msi = view.previous_msi.clone();
    let gpo = timed(
        progress,
        &mut timings,
        Stage::Gpo,
        || {
            crate::site_transform::release_stage(
                &msi.path,
                &project.config.sites,
                previous_msi.as_deref(),
                &plan.version_dir,
            )
        },
        |g| {
            let against = previous_msi.as_ref().map_or(String::new(), |p| {
                format!(", checked against {}", file_name(p))
            });
            format!(
                "ready for Group Policy; {} site transform(s){against}",
                g.transforms.len()
            )
        },
    )?;
    let trust = timed(
        progress,
        &mut timings,
        Stage::Sign,
        || -> Result<TrustSummary, ReleaseError> {
            let mut request = TrustRequest::new(project, versioned, &exe);
            request.channel = plan.channel.clone();
            request.previous_manifest = previous.clone();
            request.transforms = gpo.transforms.iter().map(|t| t.path.clone()).collect();
            request.expiry_days = project.config.manifest_expiry_days;
            request.msi = Some(MsiArtifact {
                path: msi.path.clone(),
                identity: MsiIdentity::new(
                    &msi.product_code,
                    &msi.upgrade_code,
                    &msi.package_code,
                )?,
            });
            Ok(manifest::release_trust(&request, &key)?)
        },
        |t| format!("{} artifacts signed by key {}", t.artifacts.len(), t.key_id),
    )?;
    readable_by_everyone(&plan.version_dir)?;
    // Checked at the commit time: the clock the manifest's dates come from.
    let verified = timed(
        progress,
        &mut timings,
        Stage::Verify,
        || {
            verify::verify_release(
                &trust.manifest,
                &key.public_key(),
                versioned.stamp.commit_time,
                None,
            )
            .map_err(ReleaseError::SelfCheck)
        },
        |v| format!("{} checks passed", v.lines.len()),
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let publish = if plan.dirty {
        None
    } else {
        Some(timed(
            progress,
            &mut timings,
            Stage::Publish,
            || {
                crate::publish::publish(
                    &plan.version_dir,
                    &*store,
                    &plan.product,
                    Some(&plan.channel),
                    &key,
                    &crate::publish::PublishOptions::new(now, publish_env.clone()),
                )
            },
            |r| format!("{} in {}", r.version, r.version_path),
        )?)
    };
    Ok(ReleaseSummary {
        publish,
        key_source: key.source().to_string(),
        public_key: key.public_key(),
        plan,
        exe,
        msi,
        gpo,
        trust,
        verification: verified.lines,
        timings,
    })
}

/// Environment variable holding the Authenticode key's passphrase.
pub const ENV_AUTHENTICODE_PASSPHRASE: &str = "WINRELEASE_AUTHENTICODE_PASSPHRASE";

/// The Authenticode settings, when `[authenticode]` is configured.
fn authenticode_config(project: &Project) -> Option<sign::AuthenticodeConfig> {
    let settings = project.config.authenticode.as_ref()?;
    let passphrase = std::env::var(ENV_AUTHENTICODE_PASSPHRASE)
        .ok()
        .filter(|p| !p.is_empty())
        .map(sign::Passphrase::new);
    let path = |p: &PathBuf| project.root.join(p);
    let identity = match (&settings.pkcs12, &settings.certificate, &settings.key) {
        (Some(file), _, _) => sign::AuthenticodeIdentity::Pkcs12 {
            file: path(file),
            passphrase,
        },
        (None, Some(certs), Some(key)) => sign::AuthenticodeIdentity::CertAndKey {
            certs: path(certs),
            key: path(key),
            passphrase,
        },
        _ => return None, // refused by config validation
    };
    Some(sign::AuthenticodeConfig {
        identity,
        description: project.config.product.clone(),
        url: project.config.help_url.clone(),
        timestamp_url: settings.timestamp_url.clone(),
    })
}

/// Release files are meant to be copied to shares and read by machine accounts: make them
/// 0644 whatever the builder's umask (bytes are unaffected; the zip and MSI set their own).
fn readable_by_everyone(dir: &std::path::Path) -> Result<(), ReleaseError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let io = |source| ReleaseError::Io {
            context: "setting release file permissions",
            source,
        };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.file_type().map_err(io)?.is_file() {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644))
                    .map_err(io)?;
            }
        }
    }
    let _ = dir;
    Ok(())
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
