//! Why a cabinet could not be written.
//!
//! Invariant: every message says what was wrong with which entry or setting and what to do.

use std::io;
use std::path::PathBuf;

use crate::{MAX_FILES, MAX_FOLDER_UNCOMPRESSED};

/// Why a cabinet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CabError {
    /// No entries were given.
    #[error("no files to store: a cabinet needs at least one entry")]
    NoEntries,
    /// More entries than a cabinet can list.
    #[error("{count} files given, but one cabinet holds at most {MAX_FILES}; split the payload over several cabinets")]
    TooManyFiles {
        /// Number of entries given.
        count: usize,
    },
    /// An entry name breaks the cabinet's rules.
    #[error("entry {index} has an invalid name {name:?}: {reason}")]
    InvalidName {
        /// Position of the entry.
        index: usize,
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two entries share a name, so readers could only extract one of them.
    #[error("entries {first} and {second} are both named {name:?}; names inside a cabinet must be unique")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Position of its first use.
        first: usize,
        /// Position of its second use.
        second: usize,
    },
    /// A file is larger than one folder can hold.
    #[error("{name:?} is {size} bytes, over the {limit}-byte limit of a cabinet folder (a file cannot span folders); ship it outside the cabinet or split it")]
    FileTooLarge {
        /// Entry name.
        name: String,
        /// Its size.
        size: u64,
        /// The largest allowed size.
        limit: u64,
    },
    /// The MSZIP level is not a deflate level.
    #[error("MSZIP compression level {level} is out of range: use 0 (store) to 9 (smallest)")]
    InvalidLevel {
        /// The rejected level.
        level: u32,
    },
    /// `max_folder_uncompressed` is outside what the format allows.
    #[error("max_folder_uncompressed = {value} is out of range: use 1..={MAX_FOLDER_UNCOMPRESSED}, or None for the largest")]
    InvalidFolderLimit {
        /// The rejected value.
        value: u64,
    },
    /// The cabinet would pass the format's 32-bit offsets.
    #[error("the cabinet would be larger than 4 GiB (its offsets are 32-bit); split the payload over several cabinets")]
    CabinetTooLarge,
    /// A source path is not a regular file.
    #[error("{} is not a regular file; cabinet entries must be files", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A source file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    ReadSource {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A source file changed size while the cabinet was being written.
    #[error("{} changed while the cabinet was written (expected {expected} bytes, {found}); build from a payload that nothing modifies", path.display())]
    SourceChanged {
        /// The path.
        path: PathBuf,
        /// Size seen when the cabinet was planned.
        expected: u64,
        /// What was found instead.
        found: String,
    },
    /// Writing the cabinet failed.
    #[error("cannot write the cabinet: {0}")]
    Write(#[source] io::Error),
    /// The deflate encoder reported an error (not expected with valid settings).
    #[error("MSZIP compression failed: {0}")]
    Compress(String),
}
