//! Running a plan's stages, in order, each reported to the [`Progress`]. Nothing here reads the
//! release store before the publish step: the plan carries what was read from it.

use std::path::Path;
use std::sync::Arc;

use super::plan::{default_store, key_settings};
use super::{Progress, ReleaseError, ReleasePlan, ReleaseSummary, Stage};
use crate::authenticode::{self, AuthenticodeConfig};
use crate::config::Project;
use crate::environment::Environment;
use crate::fsio::{set_mode, IoContext};
use crate::gobuild::{self, BuiltExes};
use crate::keys::{self, ReleaseKey};
use crate::manifest::MsiIdentity;
use crate::package_msi::{self, BuiltMsi};
use crate::payload::FileSet;
use crate::portable_zip;
use crate::site_transform::{self, SiteStage};
use crate::trust::{self, MsiArtifact, TrustRequest, TrustSummary};
use crate::verify;

/// Runs a plan's stages: build → Authenticode → MSI → Group Policy → zip → sign → verify →
/// publish.
pub fn execute(
    project: &Project,
    env: &Environment,
    plan: ReleasePlan,
    progress: &mut dyn Progress,
) -> Result<ReleaseSummary, ReleaseError> {
    let key = match &plan.signing_key {
        Some(key) => Arc::clone(key),
        // The development key is made on first use (planning writes nothing).
        None => Arc::new(keys::load_release_key(
            &key_settings(project, &plan.key),
            &env.keys,
        )?),
    };
    let authenticode =
        AuthenticodeConfig::from_project(project, env.authenticode_passphrase.clone());
    let exes = build(project, env, &plan, authenticode.as_ref(), progress)?;
    let set = plan.contents.with(&exes);
    let msi = package(project, &plan, set, authenticode.as_ref(), progress)?;
    let gpo = group_policy(project, &plan, &msi, progress)?;
    let zip = stage(
        progress,
        Stage::Zip,
        || portable_zip::portable_zip(project, &plan.versioned, set),
        |z| format!("{} ({} entries)", file_name(&z.path), z.entries.len()),
    )?;
    let trust = trust(project, &plan, &exes, &msi, &zip.path, &gpo, &key, progress)?;
    readable_by_everyone(&plan.version_dir)?;
    // Checked at the commit time: the clock the manifest's dates come from.
    let verification = stage(
        progress,
        Stage::Verify,
        || {
            verify::verify_release(
                &trust.manifest,
                &key.public_key(),
                plan.versioned.stamp.commit_time,
                None,
            )
            .map_err(ReleaseError::SelfCheck)
        },
        |v| format!("{} checks passed", v.lines.len()),
    )?;
    let publish = if plan.dirty {
        None
    } else {
        Some(publish(project, env, &plan, &key, progress)?)
    };
    Ok(ReleaseSummary {
        publish,
        key_source: key.source().to_string(),
        public_key: key.public_key(),
        plan,
        exes,
        msi,
        gpo,
        trust,
        verification: verification.lines,
    })
}

/// Runs one stage between `start` and `finish` events.
fn stage<T, E>(
    progress: &mut dyn Progress,
    stage: Stage,
    run: impl FnOnce() -> Result<T, E>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, E> {
    progress.start(stage);
    let value = run()?;
    progress.finish(stage, &detail(&value));
    Ok(value)
}

/// Build stage, then (when configured) Authenticode on every exe in place, before packaging,
/// so the MSI installs the signed exes. The signing time is the commit's: without a timestamp
/// server the signed exe is reproducible.
fn build(
    project: &Project,
    env: &Environment,
    plan: &ReleasePlan,
    authenticode: Option<&AuthenticodeConfig>,
    progress: &mut dyn Progress,
) -> Result<BuiltExes, ReleaseError> {
    let versioned = &plan.versioned;
    let exes = stage(
        progress,
        Stage::Build,
        || gobuild::build_project(project, versioned, &env.go_env),
        |e| {
            let built: Vec<String> = e
                .all()
                .map(|e| format!("{} ({} bytes)", file_name(&e.path), e.size))
                .collect();
            built.join(", ")
        },
    )?;
    for exe in exes.all() {
        progress.command(Stage::Build, &exe.command_line);
    }
    if let Some(config) = authenticode {
        stage(
            progress,
            Stage::Authenticode,
            || -> Result<(), ReleaseError> {
                for exe in exes.all() {
                    authenticode::sign(&exe.path, &exe.path, config, versioned.stamp.commit_time)?;
                }
                Ok(())
            },
            |()| format!("signed {}", file_name(&exes.service.path)),
        )?;
    }
    Ok(exes)
}

/// MSI stage, then (when configured) Authenticode on the MSI.
fn package(
    project: &Project,
    plan: &ReleasePlan,
    set: FileSet<'_>,
    authenticode: Option<&AuthenticodeConfig>,
    progress: &mut dyn Progress,
) -> Result<BuiltMsi, ReleaseError> {
    let msi = stage(
        progress,
        Stage::Msi,
        || package_msi::package_msi(project, &plan.versioned, set, &plan.version_dir),
        |m| {
            format!(
                "{} ({} bytes, ProductCode {})",
                file_name(&m.path),
                m.size,
                m.product_code
            )
        },
    )?;
    if let Some(config) = authenticode {
        let commit_time = plan.versioned.stamp.commit_time;
        authenticode::sign(&msi.path, &msi.path, config, commit_time)?;
    }
    Ok(msi)
}

/// Site transforms and the Group Policy check against the previous release's MSI.
fn group_policy(
    project: &Project,
    plan: &ReleasePlan,
    msi: &BuiltMsi,
    progress: &mut dyn Progress,
) -> Result<SiteStage, ReleaseError> {
    let previous_msi = plan.store_view.previous_msi.as_deref();
    stage(
        progress,
        Stage::Gpo,
        || {
            site_transform::release_stage(
                &msi.path,
                &project.config.sites,
                previous_msi,
                &plan.version_dir,
            )
        },
        |g| {
            let against = previous_msi.map_or(String::new(), |p| {
                format!(", checked against {}", file_name(p))
            });
            format!(
                "ready for Group Policy; {} site transform(s){against}",
                g.transforms.len()
            )
        },
    )
    .map_err(ReleaseError::from)
}

/// SHA256SUMS, signatures and the manifest, linked to the previous release.
#[allow(clippy::too_many_arguments)]
fn trust(
    project: &Project,
    plan: &ReleasePlan,
    exes: &BuiltExes,
    msi: &BuiltMsi,
    zip: &Path,
    gpo: &SiteStage,
    key: &ReleaseKey,
    progress: &mut dyn Progress,
) -> Result<TrustSummary, ReleaseError> {
    stage(
        progress,
        Stage::Sign,
        || -> Result<TrustSummary, ReleaseError> {
            let mut request = TrustRequest::new(project, &plan.versioned, &exes.service);
            request.other_exes = exes.others.iter().map(|e| e.path.clone()).collect();
            request.channel = plan.channel.clone();
            request.zip = Some(zip.to_path_buf());
            request.previous_manifest = plan.store_view.previous_manifest.clone();
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
            Ok(trust::release_trust(&request, key)?)
        },
        |t| format!("{} artifacts signed by key {}", t.artifacts.len(), t.key_id),
    )
}

/// Publish stage: the only step that touches the release store.
fn publish(
    project: &Project,
    env: &Environment,
    plan: &ReleasePlan,
    key: &ReleaseKey,
    progress: &mut dyn Progress,
) -> Result<crate::publish::PublishReport, ReleaseError> {
    stage(
        progress,
        Stage::Publish,
        || -> Result<_, ReleaseError> {
            if plan.store == default_store(project) {
                // The default store lives under target/ and is made on first use.
                let path = Path::new(&plan.store);
                std::fs::create_dir_all(path).at("creating the default release store", path)?;
            }
            let store = crate::publish::open_store(&plan.store, &env.publish)?;
            Ok(crate::publish::publish(
                &plan.version_dir,
                &*store,
                &plan.product,
                Some(&plan.channel),
                key,
                &crate::publish::PublishOptions::new(env.now, env.publish.clone()),
            )?)
        },
        |r| format!("{} in {}", r.version, r.version_path),
    )
}

/// Release files are meant to be copied to shares and read by machine accounts: make them
/// 0644 whatever the builder's umask (bytes are unaffected; the zip and MSI set their own).
fn readable_by_everyone(dir: &Path) -> Result<(), ReleaseError> {
    const CONTEXT: &str = "setting release file permissions on";
    set_mode(dir, 0o755).at(CONTEXT, dir)?;
    for entry in std::fs::read_dir(dir).at(CONTEXT, dir)? {
        let entry = entry.at(CONTEXT, dir)?;
        if entry.file_type().at(CONTEXT, &entry.path())?.is_file() {
            set_mode(&entry.path(), 0o644).at(CONTEXT, &entry.path())?;
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
