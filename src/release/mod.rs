//! `release`: a plan first, then its execution (cargo-dist's shape).
//!
//! [`plan`] reads the world — git, the configuration, the signing key, the release store's
//! channel pointer and previous release — applies every safety rule, and says what would be
//! built, signed and published, writing nothing (`--dry-run` / `cargo xtask plan` print it).
//! [`execute`] runs the stages for a plan: build → Authenticode → MSI → Group Policy → zip →
//! trust (sums, signatures, manifest) → verify → publish, reporting each stage to a
//! [`Progress`] so the CLI can draw it.
//!
//! *Invariant:* `execute` reads nothing from the release store before its publish step: all it
//! knows of the store (the channel's version, the previous manifest and MSI) is in the plan.

mod execute;
mod plan;
mod previous;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::gobuild::BuiltExes;
use crate::keys::{self, ReleaseKey};
use crate::manifest;
use crate::package_msi::BuiltMsi;
use crate::stamp::Versioned;
use crate::trust::{self, TrustSummary};
use crate::verify::{self, CheckLine};

pub use execute::execute;
pub use plan::{plan, store_location, StoreView};
pub use previous::{read_previous_folder, PreviousFolder};

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
    /// A folder holding the previous release's manifest and MSI (e.g. from the previous
    /// GitHub Release), used when the store has none; an empty folder means there is none.
    pub previous: Option<PathBuf>,
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
    /// What the store held when the plan was made.
    pub store_view: StoreView,
    /// The default config and the extra files and folders, read and checked.
    #[serde(skip)]
    pub contents: crate::payload::Contents,
    #[serde(skip)]
    pub versioned: Versioned,
    /// The signing key, loaded while planning (`None` only for a development key that does not
    /// exist yet: `execute` makes it).
    #[serde(skip)]
    pub signing_key: Option<Arc<ReleaseKey>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Stamp(#[from] crate::stamp::StampError),
    #[error(transparent)]
    Build(#[from] crate::gobuild::BuildError),
    #[error("MSI stage: {0}")]
    Package(#[from] crate::package_msi::PackageError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("portable zip: {0}")]
    Zip(#[from] crate::portable_zip::ZipError),
    #[error(transparent)]
    Contents(#[from] crate::payload::ContentsError),
    #[error(transparent)]
    Trust(#[from] trust::TrustError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("the release just written does not verify: {0}")]
    SelfCheck(verify::VerifyFailure),
    #[error("Authenticode: {0}")]
    Authenticode(#[from] crate::authenticode::AuthenticodeError),
    #[error("Group Policy check: {0}")]
    Gpo(#[from] crate::site_transform::SiteTransformError),
    #[error("release store: {0}")]
    Store(#[from] crate::publish::StoreError),
    #[error("publish: {0}")]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
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
            _ => 1,
        }
    }
}

/// A pipeline stage, as reported to [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Build,
    Authenticode,
    Msi,
    Gpo,
    Zip,
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
            Stage::Zip => "zip",
            Stage::Sign => "sign",
            Stage::Verify => "verify",
            Stage::Publish => "publish",
        }
    }
}

/// Receives stage events; the CLI draws progress from them and times the stages (the library
/// reads no clock).
pub trait Progress {
    fn start(&mut self, stage: Stage);
    fn finish(&mut self, stage: Stage, detail: &str);
    /// An exact command the stage ran (for `-v`), secrets already redacted.
    fn command(&mut self, _stage: Stage, _line: &str) {}
}

/// A `Progress` that ignores everything.
pub struct Quiet;
impl Progress for Quiet {
    fn start(&mut self, _: Stage) {}
    fn finish(&mut self, _: Stage, _: &str) {}
}

/// What a release run produced.
#[derive(Debug)]
pub struct ReleaseSummary {
    pub plan: ReleasePlan,
    /// The service's exe and the other binaries.
    pub exes: BuiltExes,
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
}
