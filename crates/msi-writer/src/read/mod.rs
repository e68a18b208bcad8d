//! The one MSI reader: installer packages (.msi) and transforms (.mst), as the lint, the Group
//! Policy check, the transform reader and `cargo xtask repro` see them.
//!
//! One file per format concept, like the `msi` crate's `src/internal/`:
//! - [`storage`]: the compound file, its root class ([`PackageKind`]) and its streams; stream
//!   names are decoded by `crate::stream_name`, next to the encoder the writer uses;
//! - [`string_pool`]: `_StringPool` + `_StringData`;
//! - [`table`]: [`Column`]s (from `_Columns` type bits and `_Validation`), [`Value`]s, the
//!   column-wise table streams of a package;
//! - [`category`]: `_Validation` categories and their value checks;
//! - [`summary`]: typed access to the summary information, decoded by `crate::summary` next to
//!   its encoder;
//! - [`package`]: a package's database (summary, pool, schema, tables on demand);
//! - [`standard`]: views of standard tables (sequences, custom action types).
//!
//! Invariant: the reader never writes, and never panics on malformed input: everything it
//! cannot decode is an `io::Error` of kind `InvalidData` (or a reason string) naming what.

pub mod category;
pub mod package;
pub mod standard;
pub mod storage;
pub mod string_pool;
pub mod summary;
pub mod table;

pub use category::Category;
pub use package::Package;
pub use standard::Sequence;
pub use storage::{PackageKind, Storage, StreamName, SUMMARY_STREAM};
pub use string_pool::StringPool;
pub use summary::{property_name, PropertyValue, SummaryInfo};
pub use table::{Column, ColumnKind, Table, Validation, Value};

pub use crate::stream_name::decode as decode_stream_name;
