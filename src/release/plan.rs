//! The release plan: everything read from the world (git, configuration, signing key, release
//! store) and every safety rule applied, before anything is built or written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::previous;
use super::{
    KeyPlan, PlannedArtifact, ReleaseError, ReleaseOptions, ReleasePlan, SNAPSHOT_CHANNEL,
};
use crate::config::{check_channel_name, Config, Project};
use crate::environment::Environment;
use crate::gobuild;
use crate::keys::{self, KeySettings, ReleaseKey};
use crate::package_msi;
use crate::publish;
use crate::stamp::{self, Stamp};

/// What the release store held for this product when the plan was made.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreView {
    /// The version the release's channel points at (from its verified pointer).
    pub channel_version: Option<String>,
    /// The newest published version older than this release, which its manifest links to.
    pub previous_version: Option<String>,
    /// That release's manifest, copied out of the store.
    #[serde(skip)]
    pub previous_manifest: Option<PathBuf>,
    /// That release's MSI, copied out of the store (the Group Policy check compares with it).
    #[serde(skip)]
    pub previous_msi: Option<PathBuf>,
    /// Holds the copies above for as long as the plan lives.
    #[serde(skip)]
    _scratch: Option<Arc<tempfile::TempDir>>,
}

/// Decides what a release of HEAD would do, applying the safety rules; writes nothing.
pub fn plan(
    project: &Project,
    env: &Environment,
    options: &ReleaseOptions,
) -> Result<ReleasePlan, ReleaseError> {
    let config = &project.config;
    let versioned = stamp::versioned(&project.root)?;
    let stamp = &versioned.stamp;
    if !options.snapshot {
        refuse_unreleasable(stamp)?;
    }
    let channel = channel(config, options)?;
    refuse_born_expired(config, stamp, env.now)?;
    let key = key_plan(project, env, options)?;
    let signing_key = load_signing_key(project, env, &key)?;
    let store = store_location(project, options);
    let mut store_view = match &signing_key {
        Some(key) => read_store_view(project, env, &store, &channel, stamp, key)?,
        None => StoreView::default(),
    };
    if let Some(dir) = &options.previous {
        let public_key = signing_key.as_ref().map(|k| k.public_key());
        let (product, version) = (&config.product, &stamp.version);
        previous::apply_previous_folder(
            &mut store_view,
            dir,
            product,
            &channel,
            version,
            public_key.as_ref(),
        )?;
    }
    refuse_channel_backwards(&store_view, &channel, &stamp.version)?;
    // What ships besides the exes is read and checked now, so a broken config template or a
    // glob that matches nothing stops the release before anything is built.
    let contents = crate::payload::Contents::read(project)?;
    let mut warnings = stamp.warnings.clone();
    if stamp.dirty {
        warnings.push(
            "the work tree is dirty: the release is built, signed and verified but not published (commit to publish)".into(),
        );
    }
    if matches!(key, KeyPlan::Development(_)) {
        warnings.push(format!(
            "no signing key configured: signing with the development key (not for production); set {} for a real release",
            keys::ENV_SECRET_KEY
        ));
    }
    Ok(ReleasePlan {
        product: config.product.clone(),
        version: stamp.version.to_string(),
        msi_version: versioned.msi_version.to_string(),
        commit: stamp.commit.clone(),
        tag: stamp.tag.clone(),
        dirty: stamp.dirty,
        snapshot: options.snapshot,
        channel,
        version_dir: project.version_dir(&stamp.version),
        store,
        key,
        artifacts: planned_artifacts(config, stamp),
        warnings,
        store_view,
        contents,
        signing_key,
        versioned,
    })
}

/// A real (non-snapshot) release is built from a clean commit on a `vX.Y.Z` tag.
fn refuse_unreleasable(stamp: &Stamp) -> Result<(), ReleaseError> {
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
        let v = &stamp.version;
        return Err(ReleaseError::Refused(format!(
            "HEAD {} is not tagged{tag_hint}; a release is built from a vX.Y.Z tag\nfix: `git tag v{}.{}.{}` and run again, or pass --snapshot for a test build",
            stamp.short_commit(),
            v.major,
            v.minor,
            v.patch
        )));
    }
    Ok(())
}

/// `--channel`, else `snapshot` for a snapshot, else the configured channel; a snapshot never
/// goes to `stable`.
fn channel(config: &Config, options: &ReleaseOptions) -> Result<String, ReleaseError> {
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
    Ok(channel)
}

/// Manifest dates come from the commit, so an old commit's manifest could be born expired.
fn refuse_born_expired(config: &Config, stamp: &Stamp, now: i64) -> Result<(), ReleaseError> {
    let expires = stamp.commit_time + i64::from(config.manifest_expiry_days) * 86_400;
    if expires <= now {
        return Err(ReleaseError::Refused(format!(
            "the manifest would expire at {} ({} days after the commit time {}), which has already passed\nfix: release a newer commit, or raise `manifest_expiry_days` in {}",
            stamp::rfc3339_utc(expires),
            config.manifest_expiry_days,
            stamp.commit_time_rfc3339(),
            crate::config::METADATA_TABLE
        )));
    }
    Ok(())
}

/// A channel only moves forward: refused here, before anything is built.
fn refuse_channel_backwards(
    view: &StoreView,
    channel: &str,
    version: &semver::Version,
) -> Result<(), ReleaseError> {
    let Some(current) = &view.channel_version else {
        return Ok(());
    };
    let newer = semver::Version::parse(current)
        .is_ok_and(|c| c.cmp_precedence(version) == std::cmp::Ordering::Greater);
    if newer {
        return Err(ReleaseError::Refused(format!(
            "channel {channel} is at {current}, which is newer than {version}; a release never moves a channel backwards\nfix: release a version newer than {current}, or point the channel at an already published older version on purpose with `cargo xtask rollback --channel {channel} --to VERSION`"
        )));
    }
    Ok(())
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

/// `target/winrelease/store`, made on first publish.
pub(super) fn default_store(project: &Project) -> String {
    project
        .out_dir()
        .join("store")
        .to_string_lossy()
        .into_owned()
}

fn key_plan(
    project: &Project,
    env: &Environment,
    options: &ReleaseOptions,
) -> Result<KeyPlan, ReleaseError> {
    if env.keys.has_secret_key() {
        return Ok(KeyPlan::Environment);
    }
    if let Some(file) = &options.key_file {
        return Ok(KeyPlan::File(file.clone()));
    }
    if env.keys.is_ci() {
        return Err(keys::KeyError::MissingInCi.into());
    }
    Ok(KeyPlan::Development(
        project.out_dir().join(keys::DEV_KEY_DIR),
    ))
}

/// Where `execute` loads the key from.
pub(super) fn key_settings(project: &Project, key: &KeyPlan) -> KeySettings {
    let mut settings = KeySettings::new(&project.out_dir());
    if let KeyPlan::File(path) = key {
        settings.key_file = Some(path.clone());
    }
    settings
}

/// Loads the key now, so a missing or wrong secret fails before anything is built and the
/// store can be read with its public key. A development key that does not exist yet is left
/// for `execute` to make (planning writes nothing).
fn load_signing_key(
    project: &Project,
    env: &Environment,
    key: &KeyPlan,
) -> Result<Option<Arc<ReleaseKey>>, ReleaseError> {
    if let KeyPlan::Development(dir) = key {
        if !dir.join(keys::DEV_SECRET_KEY_FILE).is_file() {
            return Ok(None);
        }
    }
    let settings = key_settings(project, key);
    Ok(Some(Arc::new(keys::load_release_key(
        &settings, &env.keys,
    )?)))
}

/// Reads the channel pointer and the previous release (manifest and MSI, copied out of the
/// store into a scratch folder the plan keeps). A default store that does not exist yet is empty.
fn read_store_view(
    project: &Project,
    env: &Environment,
    location: &str,
    channel: &str,
    stamp: &Stamp,
    key: &ReleaseKey,
) -> Result<StoreView, ReleaseError> {
    if location == default_store(project) && !Path::new(location).exists() {
        return Ok(StoreView::default());
    }
    let store = publish::open_store(location, &env.publish)?;
    let scratch = env.publish.scratch_dir()?;
    let read = publish::read_release_context(
        &*store,
        &project.config.product,
        channel,
        &stamp.version,
        &key.public_key(),
        scratch.path(),
    )?;
    Ok(StoreView {
        channel_version: read.channel_version,
        previous_version: read.previous_version,
        previous_manifest: read.previous_manifest,
        previous_msi: read.previous_msi,
        _scratch: Some(Arc::new(scratch)),
    })
}

fn planned_artifacts(config: &Config, stamp: &Stamp) -> Vec<PlannedArtifact> {
    let artifact = |name: String, kind| PlannedArtifact { name, kind };
    let exes = std::iter::once(&config.exe_name)
        .chain(config.binaries.iter().map(|b| &b.exe_name))
        .map(|name| artifact(gobuild::exe_file_name(name, &stamp.version), "exe"));
    exes.chain([
        artifact(
            package_msi::msi_file_name(&config.exe_name, &stamp.version),
            "msi",
        ),
        artifact(
            crate::portable_zip::zip_file_name(&config.exe_name, &stamp.version),
            "zip",
        ),
        artifact("SHA256SUMS".into(), "checksums"),
        artifact("manifest.json".into(), "manifest"),
    ])
    .collect()
}
