//! Wires the stages together for the commands the CLI offers. Each function here only passes
//! one stage's typed output to the next; the work happens in the stage modules.

use std::path::PathBuf;

use crate::config::Project;
use crate::gobuild::{self, BuildRequest, BuiltExe};
use crate::stamp::{self, Stamp};
use crate::version::{self, MsiVersion};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Stamp(#[from] stamp::StampError),
    #[error(transparent)]
    Version(#[from] version::UnmappableVersion),
    #[error(transparent)]
    Build(#[from] gobuild::BuildError),
    #[error("MSI stage: {0}")]
    Package(#[from] crate::package_msi::PackageError),
}

/// The stamp plus the MSI version it maps to.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub stamp: Stamp,
    pub msi_version: MsiVersion,
}

/// Reads the stamp of the project's repository and maps it to an MSI version.
pub fn versioned(project: &Project) -> Result<Versioned, PipelineError> {
    let stamp = stamp::stamp(&project.root)?;
    let msi_version = version::msi_version(&stamp.version)?;
    Ok(Versioned { stamp, msi_version })
}

/// `target/winrelease/<version>/`: every artifact of one version.
pub fn version_dir(project: &Project, stamp: &Stamp) -> PathBuf {
    project.out_dir().join(stamp.version.to_string())
}

/// Build stage: the windows/amd64 exe of the stamped commit.
pub fn build(project: &Project, versioned: &Versioned) -> Result<BuiltExe, PipelineError> {
    let config = &project.config;
    let out_dir = version_dir(project, &versioned.stamp);
    let service_dir = project.service_dir();
    let request = BuildRequest {
        module_dir: &service_dir,
        package: &config.go_package,
        version_package: &config.version_package,
        exe_name: &config.exe_name,
        stamp: &versioned.stamp,
        msi_version: versioned.msi_version,
        product: &config.product,
        manufacturer: &config.manufacturer,
        description: &config.description,
        out_dir: &out_dir,
    };
    Ok(gobuild::build(&request)?)
}

/// Package stage: the MSI for a built exe, next to it in the version folder.
pub fn package_msi(
    project: &Project,
    versioned: &Versioned,
    exe: &BuiltExe,
) -> Result<crate::package_msi::BuiltMsi, PipelineError> {
    let out_dir = version_dir(project, &versioned.stamp);
    Ok(crate::package_msi::package_msi(
        project, versioned, exe, &out_dir,
    )?)
}

/// Options of a whole release run.
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    /// A secret key file, when not given through the environment.
    pub key_file: Option<PathBuf>,
}

/// What a release run produced, for the CLI's summary.
#[derive(Debug)]
pub struct ReleaseSummary {
    pub versioned: Versioned,
    pub exe: BuiltExe,
    pub msi: crate::package_msi::BuiltMsi,
    pub trust: crate::manifest::TrustSummary,
    /// The key the release was signed with.
    pub key_source: String,
    /// The public key that verifies the release.
    pub public_key: minisig::PublicKey,
    /// The checks `verify` ran on the finished release.
    pub verification: Vec<crate::verify::CheckLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Key(#[from] crate::sign::KeyError),
    #[error(transparent)]
    Trust(#[from] crate::manifest::TrustError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error("the release just written does not verify: {0}")]
    SelfCheck(crate::verify::VerifyFailure),
}

/// Runs every stage: stamp → build → package (MSI, zip) → sign + manifest → verify.
pub fn release(
    project: &Project,
    options: &ReleaseOptions,
) -> Result<ReleaseSummary, ReleaseError> {
    use crate::sign::{self, KeyEnvironment, KeySettings};
    let versioned = versioned(project)?;
    // Load the key before the slow stages, so a missing secret fails fast.
    let mut settings = KeySettings::new(&project.out_dir());
    settings.key_file = options.key_file.clone();
    let key = sign::load_release_key(&settings, &KeyEnvironment::from_process())?;
    let exe = build(project, &versioned)?;
    let msi = package_msi(project, &versioned, &exe)?;
    let mut request = crate::manifest::TrustRequest::new(project, &versioned, &exe);
    request.expiry_days = project.config.manifest_expiry_days;
    request.msi = Some(crate::manifest::MsiArtifact {
        path: msi.path.clone(),
        identity: crate::manifest::MsiIdentity::new(
            &msi.product_code,
            &msi.upgrade_code,
            &msi.package_code,
        )?,
    });
    let trust = crate::manifest::release_trust(&request, &key)?;
    // Checked against the commit time: the same clock the manifest's dates come from.
    let verified = crate::verify::verify_release(
        &trust.manifest,
        &key.public_key(),
        versioned.stamp.commit_time,
        None,
    )
    .map_err(ReleaseError::SelfCheck)?;
    Ok(ReleaseSummary {
        key_source: key.source().to_string(),
        public_key: key.public_key(),
        versioned,
        exe,
        msi,
        trust,
        verification: verified.lines,
    })
}
