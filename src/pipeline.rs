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
