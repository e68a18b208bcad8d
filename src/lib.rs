//! winrelease: from a git tag to a signed, published Windows release of a Go service.
//!
//! One module per pipeline stage, each a function from typed inputs to typed outputs:
//! [`config`] → [`stamp`] → [`gobuild`] → (msi, zip) → (sign, manifest) → publish → verify.
//! The `xtask` binary is a thin command-line layer over this library; see ARCHITECTURE.md.

pub mod config;
pub mod environment;
pub mod fsio;
pub mod gobuild;
pub mod manifest;
pub mod package_msi;
pub mod portable_zip;
pub mod publish;
pub mod release;
pub mod service_config;
pub mod sign;
pub mod site_transform;
pub mod stamp;
pub mod verify;
pub mod version;
