//! Windows Installer transforms (`.mst`) for per-site settings: a writer for the one kind of
//! transform a site needs (new values for the public properties a package declares as
//! site-settable) and a general reader that decodes any transform against its base package and
//! applies it, for checks and tests.
//!
//! # The format, as written here
//!
//! A transform is a compound file whose root storage has the class
//! {000C1082-0000-0000-C000-000000000046} (an installer package has {000C1084-…}). It holds:
//! - `\x05SummaryInformation`: Title `Transform`; Template (platform and language of the base
//!   package) and Last Saved By (the same, after the transform); Revision Number
//!   `{base ProductCode}base version;{new ProductCode}new version;{UpgradeCode}`; Page Count (the
//!   base package's schema); Character Count: validation flags in the upper 16 bits, suppressed
//!   error conditions in the lower 16 bits; Security 4; create and save times copied from the
//!   base package, so the bytes depend only on the base package and the settings.
//! - its own `_StringPool`/`_StringData` (same layout as a package's: codepage, then one
//!   `(length, reference count)` pair per string id), in the base package's codepage (1252);
//! - one stream per changed table, named like the table's stream in a package. Unlike a
//!   package's column-wise tables, it is row by row: each row is a 16-bit mask followed by cells
//!   in their stored widths (string ids into the transform's own pool, integers with the sign
//!   bit flipped, 0 = null). Mask 0 deletes the row whose key follows; a mask with the low bit
//!   set carries the first `mask >> 8` columns in full (insert); any other mask updates the
//!   columns whose bits are set (bit `i` = column `i`), the key columns always being present.
//!   A site transform is one such update per property: mask `0x0002`, the property name, the
//!   new value.
//!
//! # Validation flags
//!
//! [`TransformScope::ThisPackage`] (the default) asks Windows Installer to apply the transform
//! only to the package it was made from: same ProductCode, same UpgradeCode, same language, same
//! major.minor.build. winrelease derives a new ProductCode for every version, so Windows
//! Installer refuses a transform made for 1.2.0 when 1.3.0 is installed with it (the install
//! fails) instead of silently changing a package nobody checked it against: each release
//! publishes its own site transforms.
//! [`TransformScope::ThisAndLaterVersions`] drops the ProductCode and asks for the same
//! UpgradeCode and language and a version at least the base version, for admins who keep one
//! transform per site across upgrades; a later version that no longer declares a setting makes
//! the transform fail to apply (no error condition is suppressed), rather than pass unnoticed.
//!
//! # Code map
//!
//! `check` (site setting values), `facts` (what a transform needs to know about its base
//! package, read with [`crate::read`]), `write` (making a site transform), `file` (reading a
//! transform and its summary), `apply` (decoding its rows against a package and applying them).
//! *Invariant:* packages and transforms are read only through [`crate::read`].

mod apply;
mod check;
mod error;
mod facts;
mod file;
mod write;

pub use crate::read::{Column, ColumnKind, Table, Value};
pub use apply::{apply, property_changes, Applied, ApplyProblem, RowChange, RowOp};
pub use check::check_value;
pub use error::TransformError;
pub use facts::{read_package_facts, read_table, read_tables, site_settings, PackageFacts};
pub use file::{TransformFile, TransformSummary};
pub use write::{make_transform, write_transform};

use crate::model::PropertyKind;

/// Root storage class of a transform, {000C1082-0000-0000-C000-000000000046}.
pub const TRANSFORM_CLSID: &str = "000C1082-0000-0000-C000-000000000046";

/// Transform validation flags (`MSITRANSFORM_VALIDATE_*`), the upper word of Character Count.
pub mod validate {
    /// The package's language must match the transform's Template language.
    pub const LANGUAGE: u16 = 0x0001;
    /// The package's ProductCode must be the transform's base ProductCode.
    pub const PRODUCT: u16 = 0x0002;
    /// The platform must match (Windows Installer does not check it).
    pub const PLATFORM: u16 = 0x0004;
    /// Compare the major version only.
    pub const MAJOR_VERSION: u16 = 0x0008;
    /// Compare major.minor.
    pub const MINOR_VERSION: u16 = 0x0010;
    /// Compare major.minor.build.
    pub const UPDATE_VERSION: u16 = 0x0020;
    /// Package version < base version.
    pub const NEW_LESS_BASE_VERSION: u16 = 0x0040;
    /// Package version <= base version.
    pub const NEW_LESS_EQUAL_BASE_VERSION: u16 = 0x0080;
    /// Package version = base version.
    pub const NEW_EQUAL_BASE_VERSION: u16 = 0x0100;
    /// Package version >= base version.
    pub const NEW_GREATER_EQUAL_BASE_VERSION: u16 = 0x0200;
    /// Package version > base version.
    pub const NEW_GREATER_BASE_VERSION: u16 = 0x0400;
    /// The package's UpgradeCode must be the transform's UpgradeCode.
    pub const UPGRADE_CODE: u16 = 0x0800;
}

/// Error conditions a transform may ask to be ignored (`MSITRANSFORM_ERROR_*`), the lower word
/// of Character Count.
pub mod suppress {
    /// Adding a row that exists.
    pub const ADD_EXISTING_ROW: u16 = 0x0001;
    /// Deleting a row that does not exist.
    pub const DELETE_MISSING_ROW: u16 = 0x0002;
    /// Adding a table that exists.
    pub const ADD_EXISTING_TABLE: u16 = 0x0004;
    /// Deleting a table that does not exist.
    pub const DELETE_MISSING_TABLE: u16 = 0x0008;
    /// Updating a row that does not exist.
    pub const UPDATE_MISSING_ROW: u16 = 0x0010;
    /// The transform and the package have different codepages.
    pub const CHANGE_CODEPAGE: u16 = 0x0020;
}

/// Which packages a site transform may be applied to (its validation flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransformScope {
    /// Only the package it was made from: ProductCode, UpgradeCode, language and
    /// major.minor.build must match.
    #[default]
    ThisPackage,
    /// The package it was made from and later versions of the same product line: UpgradeCode
    /// and language must match, the version must be at least the base version.
    ThisAndLaterVersions,
}

impl TransformScope {
    /// The validation flags written for this scope.
    pub fn validation_flags(self) -> u16 {
        use validate::*;
        match self {
            TransformScope::ThisPackage => {
                LANGUAGE | PRODUCT | UPGRADE_CODE | UPDATE_VERSION | NEW_EQUAL_BASE_VERSION
            }
            TransformScope::ThisAndLaterVersions => {
                LANGUAGE | UPGRADE_CODE | UPDATE_VERSION | NEW_GREATER_EQUAL_BASE_VERSION
            }
        }
    }
}

/// Options of [`make_transform`].
#[derive(Clone, Debug, Default)]
pub struct TransformOptions {
    /// Which packages the transform applies to.
    pub scope: TransformScope,
}

/// A site-settable public property, as the package's `WinreleaseSettings` table declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteSetting {
    /// Property name (upper case).
    pub property: String,
    /// Value kind.
    pub kind: PropertyKind,
    /// The package's default value (its Property table row).
    pub default: String,
}

/// One property a site transform changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyChange {
    /// Property name.
    pub property: String,
    /// Its value kind.
    pub kind: PropertyKind,
    /// The base package's value.
    pub default: String,
    /// The value the transform sets.
    pub value: String,
}

/// A site transform, ready to be written.
#[derive(Clone, Debug)]
pub struct SiteTransform {
    /// The `.mst` file's bytes.
    pub bytes: Vec<u8>,
    /// The base package's ProductCode.
    pub product_code: String,
    /// The base package's ProductVersion.
    pub product_version: String,
    /// The base package's UpgradeCode.
    pub upgrade_code: String,
    /// Validation flags written (see [`validate`]).
    pub validation: u16,
    /// The changes, sorted by property name.
    pub changes: Vec<PropertyChange>,
}
