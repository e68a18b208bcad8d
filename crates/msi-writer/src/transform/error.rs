//! [`TransformError`]: everything that can go wrong while making, reading or applying a
//! transform.
//!
//! Invariant: every error names the file concerned or the setting the user gave.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while making, reading or applying a transform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// A file cannot be read, or is not the kind of file expected.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The package has no `WinreleaseSettings` table.
    #[error("{} has no WinreleaseSettings table: it was not built by winrelease, or its project declares no \
             site_settings, so no property of it is site-settable (for other packages, make transforms with Orca \
             or msitran on Windows)", path.display())]
    NotOurs {
        /// The package.
        path: PathBuf,
    },

    /// The package contradicts itself (a declared setting without a Property row, ...).
    #[error("{}: {reason}", path.display())]
    BadPackage {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// No setting was given.
    #[error("no settings given: name at least one site setting as NAME=VALUE; this package declares {declared}")]
    NoSettings {
        /// The declared settings, for the message.
        declared: String,
    },

    /// A name the package does not declare as site-settable.
    #[error("{name:?} is not a site setting of this package{hint}; its site-settable properties are {declared}")]
    UnknownSetting {
        /// The name given.
        name: String,
        /// The declared settings, for the message.
        declared: String,
        /// A "did you mean" hint, or empty.
        hint: String,
    },

    /// The same setting given twice.
    #[error("{name} is given twice; give each setting once")]
    DuplicateSetting {
        /// The repeated name.
        name: String,
    },

    /// A value that fails its setting's kind.
    #[error("{name}={value:?}: {reason}")]
    InvalidValue {
        /// The setting.
        name: String,
        /// The value given.
        value: String,
        /// Why it is refused and what is expected.
        reason: String,
    },

    /// A transform file that cannot be decoded.
    #[error("{} is not a usable transform: {reason}", path.display())]
    BadTransform {
        /// The transform file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// Writing the transform failed; nothing is left at the output path.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Maps an I/O error on `path` to [`TransformError::Read`].
pub(super) fn read_err(path: &Path) -> impl Fn(io::Error) -> TransformError + '_ {
    move |source| TransformError::Read {
        path: path.to_path_buf(),
        source,
    }
}
