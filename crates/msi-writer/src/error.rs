//! The one error type of this crate.
//!
//! Every variant names the offending input and, where there is one, the fix. Model errors are found
//! by validation before a single byte is written, so an `Err` from
//! [`write_package`](crate::write_package) never leaves a partial MSI behind.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while validating a [`Package`](crate::Package), writing it, or
/// linting an MSI file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MsiError {
    /// A GUID string could not be parsed.
    #[error("{field}: {value:?} is not a GUID; write it as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX (braces optional)")]
    InvalidGuid {
        /// Which model field held the value.
        field: String,
        /// The rejected text.
        value: String,
    },

    /// A GUID that must identify something is the all-zero GUID.
    #[error("{field} is the nil GUID {{00000000-0000-0000-0000-000000000000}}; generate a real one (e.g. `uuidgen`)")]
    NilGuid {
        /// Which model field held the value.
        field: String,
    },

    /// Two GUIDs that must differ are equal.
    #[error("{first} and {second} are the same GUID ({guid}); they must differ")]
    SameGuid {
        /// First field.
        first: String,
        /// Second field.
        second: String,
        /// The shared value.
        guid: String,
    },

    /// A version string that Windows Installer cannot represent.
    #[error("version {value:?} does not map to a Windows Installer version: {reason}")]
    InvalidVersion {
        /// The rejected text.
        value: String,
        /// Why.
        reason: String,
    },

    /// Text that cannot be stored in a Windows-1252 database.
    #[error("{field}: {value:?} contains {ch:?}, which Windows-1252 cannot encode; the package uses codepage 1252 \
             (Windows Installer rejects UTF-8 packages), so use only Western European characters here")]
    NotWindows1252 {
        /// Which model field held the value.
        field: String,
        /// The rejected text.
        value: String,
        /// The first character that cannot be encoded.
        ch: char,
    },

    /// A required text field is empty or otherwise unusable.
    #[error("{field}: {reason}")]
    InvalidText {
        /// Which model field held the value.
        field: String,
        /// Why.
        reason: String,
    },

    /// A value must be a Windows Installer identifier (letters, digits, `_`, `.`; not starting with a digit or `.`).
    #[error("{field}: {value:?} is not a valid identifier: use 1 to {max} letters, digits, '_' or '.', starting with a letter or '_'")]
    InvalidIdentifier {
        /// Which model field held the value.
        field: String,
        /// The rejected text.
        value: String,
        /// Maximum length for this identifier.
        max: usize,
    },

    /// A key appears twice where keys must be unique.
    #[error("duplicate {kind} {key:?}: each {kind} must be unique")]
    DuplicateKey {
        /// What kind of key (file key, data directory, property, ...).
        kind: &'static str,
        /// The duplicated key.
        key: String,
    },

    /// A name is reserved by the writer itself.
    #[error("{kind} {key:?} is reserved by msi-writer; choose another name")]
    ReservedName {
        /// What kind of name.
        kind: &'static str,
        /// The reserved name.
        key: String,
    },

    /// A file or folder name that Windows cannot use.
    #[error("{field}: {name:?} is not a valid Windows file name: {reason}")]
    InvalidFileName {
        /// Which model field held the value.
        field: String,
        /// The rejected name.
        name: String,
        /// Why.
        reason: String,
    },

    /// Two entries would land on the same path, since Windows file names are case-insensitive.
    #[error("{first} and {second} would both be installed as {dir}\\{name} (Windows file names are case-insensitive); rename one")]
    NameClash {
        /// The target directory (as a readable path).
        dir: String,
        /// The clashing name.
        name: String,
        /// Key or description of the first entry.
        first: String,
        /// Key or description of the second entry.
        second: String,
    },

    /// A reference to a file key, data directory or similar that does not exist.
    #[error("{field} refers to {kind} {key:?}, which the package does not define")]
    UnknownReference {
        /// Which model field held the reference.
        field: String,
        /// What kind of thing was referenced.
        kind: &'static str,
        /// The dangling key.
        key: String,
    },

    /// A firewall rule or property with port 0.
    #[error("{field}: port 0 is not a usable port; give a port from 1 to 65535")]
    PortZero {
        /// Which model field held the value.
        field: String,
    },

    /// A Windows service name that the service control manager would refuse or that would break
    /// the generated command lines.
    #[error("service name {name:?} is invalid: {reason}")]
    InvalidServiceName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: String,
    },

    /// A public property that cannot be declared.
    #[error("property {name:?}: {reason}")]
    InvalidProperty {
        /// Property name.
        name: String,
        /// Why.
        reason: String,
    },

    /// A payload file named by path cannot be read.
    #[error("payload file {key:?}: cannot read {}: {source}", path.display())]
    SourceMissing {
        /// File key in the model.
        key: String,
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A limit of the MSI or CAB format is exceeded.
    #[error("{what}: {count} exceeds the limit of {max} ({why})")]
    LimitExceeded {
        /// What was counted.
        what: String,
        /// The count found.
        count: u64,
        /// The maximum allowed.
        max: u64,
        /// The format rule behind the limit.
        why: &'static str,
    },

    /// A generated string (command line, message) would exceed its column's length.
    #[error(
        "{what} is {len} characters long, more than the {max} that its MSI column holds: {hint}"
    )]
    TooLong {
        /// What string.
        what: String,
        /// Its length.
        len: usize,
        /// The column's limit.
        max: usize,
        /// How to shorten it.
        hint: &'static str,
    },

    /// A model feature that needs another one that is absent.
    #[error("{what} needs {needs}")]
    Missing {
        /// What was configured.
        what: String,
        /// What it depends on.
        needs: String,
    },

    /// The output path is unusable.
    #[error("output path {}: {reason}", path.display())]
    BadOutputPath {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },

    /// Writing the package failed (disk full, permissions, ...). No partial file is left at the
    /// output path.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Building the cabinet failed (a payload file could not be read or changed while being
    /// read, or the cabinet could not be written).
    #[error("cannot build the cabinet: {source}")]
    Cabinet {
        /// The cabinet writer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The lint could not read an MSI file.
    #[error("cannot read MSI {}: {source}", path.display())]
    Read {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An internal consistency check failed: a bug in msi-writer, not in the input.
    #[error("internal error in msi-writer (please report): {0}")]
    Internal(String),
}

impl MsiError {
    pub(crate) fn text(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MsiError::InvalidText {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
