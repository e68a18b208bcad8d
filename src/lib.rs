//! winrelease: from a git tag to a signed, published Windows release of a Go service.
//!
//! One module per pipeline stage, each a function from typed inputs to typed outputs:
//! [`config`] → [`stamp`] → [`gobuild`] → ([`package_msi`], [`portable_zip`]) → [`trust`]
//! (SHA256SUMS, signatures, [`manifest`]) → [`verify`] → [`publish`]. The trust stage's
//! building blocks are [`keys`], [`digest`] and [`binding`]; [`authenticode`] is optional.
//! The `xtask` binary is a thin command-line layer over this library; see ARCHITECTURE.md.

pub mod authenticode;
pub mod binding;
pub mod config;
pub mod digest;
pub mod environment;
pub mod fsio;
pub mod gobuild;
pub mod gotemplate;
pub mod keys;
pub mod manifest;
pub mod package_msi;
pub mod payload;
pub mod portable_zip;
pub mod publish;
pub mod release;
pub mod rollout;
pub mod service_config;
pub mod site_transform;
pub mod stamp;
pub mod trust;
pub mod verify;
pub mod version;
