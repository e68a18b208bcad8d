//! Windows VERSIONINFO resources for Go executables.
//!
//! Two halves:
//!
//! * [`coff_object`] turns a [`VersionInfo`] into an AMD64 COFF object file with a single
//!   `.rsrc` section. Dropped into a Go main package as `zz_version_windows_amd64.syso`, the Go
//!   linker (internal linking, `cmd/link/internal/loadpe`) copies that section into the
//!   executable's resource directory, so Explorer's "Details" tab, `GetFileVersionInfo` and the
//!   MSI `File.Version` column all see the version.
//! * [`read_from_pe`] reads the version resource back out of a PE executable (PE32+ or PE32).
//!
//! [`write_go_overlay`] links the object through `go build -overlay` instead, leaving the source
//! tree untouched (a plain overlay entry for the `.syso` itself does not work; see its docs).
//!
//! The resource layout follows Microsoft's documentation of `VS_VERSIONINFO`,
//! `VS_FIXEDFILEINFO`, `StringFileInfo`, `StringTable`, `String`, `VarFileInfo` and `Var`:
//! one resource `RT_VERSION` (16) / ID 1 / language 0x0409 (en-US), one string table
//! `040904B0` (en-US, UTF-16) and a `Translation` var `0x0409, 1200`.
//!
//! Output is deterministic: identical input gives byte-identical objects (no time stamps).
//!
//! ```
//! let info = winversion::VersionInfo {
//!     file_version: [1, 4, 1, 7],
//!     product_version: [1, 4, 1, 0],
//!     product_version_string: "1.4.1-dev.7+g1a2b3c4".into(),
//!     company_name: "Example Corp".into(),
//!     product_name: "Hello Service".into(),
//!     file_description: "Hello Service".into(),
//!     original_filename: "hellosvc.exe".into(),
//!     internal_name: "hellosvc".into(),
//!     legal_copyright: String::new(),
//! };
//! let syso = winversion::coff_object(&info)?;
//! // std::fs::write(main_package_dir.join(winversion::SYSO_FILE_NAME), &syso)?; then go build.
//! assert_eq!(&syso[..2], &[0x64, 0x86]); // IMAGE_FILE_MACHINE_AMD64
//!
//! let resource = winversion::version_resource(&info)?;
//! let parsed = winversion::parse_version_resource(&resource, winversion::LANG_EN_US)?;
//! assert_eq!(parsed.file_version_string(), "1.4.1.7"); // what MSI File.Version wants
//! assert_eq!(parsed.string("ProductVersion"), Some("1.4.1-dev.7+g1a2b3c4"));
//! # Ok::<(), winversion::Error>(())
//! ```

mod coff;
mod decode;
mod encode;
mod overlay;
mod pe;

pub use decode::{ParsedVersionInfo, StringTable};
pub use overlay::{
    write_go_overlay, GoOverlay, IMPORT_FILE_NAME, RESOURCE_IMPORT_PATH, SYSO_FILE_NAME,
};

/// Resource type ID of a version resource (`RT_VERSION`).
pub const RT_VERSION: u16 = 16;
/// Language of the resource and of its string table: en-US.
pub const LANG_EN_US: u16 = 0x0409;
/// Code page of the string table: 1200, UTF-16LE ("Unicode" in resource terms).
pub const CODEPAGE_UTF16: u16 = 1200;
/// Key of the single string table we write: language 0409, code page 04B0 (1200).
pub const STRING_TABLE_KEY: &str = "040904B0";

/// `VS_FIXEDFILEINFO.dwSignature`.
pub const VS_FFI_SIGNATURE: u32 = 0xFEEF_04BD;
/// `VS_FIXEDFILEINFO.dwStrucVersion` (version 1.0 of the structure).
pub const VS_FFI_STRUCVERSION: u32 = 0x0001_0000;
/// `VS_FIXEDFILEINFO.dwFileFlagsMask`: all the flags defined by `VS_FF_*`.
pub const VS_FFI_FILEFLAGSMASK: u32 = 0x3F;
/// `VS_FF_PRERELEASE`: set when the SemVer product version has a pre-release part.
pub const VS_FF_PRERELEASE: u32 = 0x02;
/// `VOS_NT_WINDOWS32`: the file is designed for 32/64-bit Windows NT.
pub const VOS_NT_WINDOWS32: u32 = 0x0004_0004;
/// `VFT_APP`: the file is an application.
pub const VFT_APP: u32 = 0x01;

/// What to embed in the version resource of an executable.
///
/// All strings except [`legal_copyright`](Self::legal_copyright) must be non-empty, and no string
/// may contain a NUL character; [`coff_object`] reports a [`Error::InvalidString`] otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Binary file version: `FILEVERSION` in `VS_FIXEDFILEINFO`, and (as `"1.2.3.0"`) the
    /// `FileVersion` string. This is the version Windows Installer compares.
    pub file_version: [u16; 4],
    /// Binary product version: `PRODUCTVERSION` in `VS_FIXEDFILEINFO`.
    pub product_version: [u16; 4],
    /// Human-readable product version, typically SemVer such as `1.4.1-dev.7+g1a2b3c4`; stored as
    /// the `ProductVersion` string. A SemVer pre-release part (a `-` before any `+`) also sets
    /// `VS_FF_PRERELEASE` in the fixed file flags.
    pub product_version_string: String,
    /// `CompanyName` string.
    pub company_name: String,
    /// `ProductName` string.
    pub product_name: String,
    /// `FileDescription` string (Explorer shows it as the file's description).
    pub file_description: String,
    /// `OriginalFilename` string, e.g. `hellosvc.exe`.
    pub original_filename: String,
    /// `InternalName` string, e.g. `hellosvc`.
    pub internal_name: String,
    /// `LegalCopyright` string; omitted from the resource when empty.
    pub legal_copyright: String,
}

impl VersionInfo {
    /// The `FileVersion` string written for [`file_version`](Self::file_version), e.g. `"1.2.3.0"`.
    pub fn file_version_string(&self) -> String {
        dotted(self.file_version)
    }

    /// Whether [`product_version_string`](Self::product_version_string) has a SemVer
    /// pre-release part, which sets `VS_FF_PRERELEASE`.
    pub fn is_prerelease(&self) -> bool {
        let without_build = self
            .product_version_string
            .split('+')
            .next()
            .unwrap_or_default();
        without_build.contains('-')
    }
}

/// Formats a four-part version the way Windows and Windows Installer print it: `"1.2.3.0"`.
pub fn dotted(v: [u16; 4]) -> String {
    format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3])
}

/// Everything that can go wrong writing or reading a version resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A string field cannot be stored.
    #[error("version info field `{field}` {problem}")]
    InvalidString {
        /// Name of the [`VersionInfo`] field.
        field: &'static str,
        /// What is wrong with it and how to fix it.
        problem: &'static str,
    },
    /// The encoded `VS_VERSIONINFO` does not fit its 16-bit length field.
    #[error(
        "version resource would be at least {size} bytes, over the 65535-byte limit of VS_VERSIONINFO's \
         16-bit length field; shorten the version strings"
    )]
    TooLarge {
        /// Bytes encoded when the limit was hit (the full resource is at least this big).
        size: usize,
    },
    /// The input is not a PE executable at all.
    #[error("not a PE executable: {reason}")]
    NotPe {
        /// Which check failed.
        reason: &'static str,
    },
    /// The executable has an empty resource data directory.
    #[error(
        "the executable has no resources (its resource data directory is empty); embed a version \
         resource, e.g. a .syso from winversion::coff_object, in the Go main package before `go build`"
    )]
    NoResources,
    /// The executable has resources, but no `RT_VERSION` one.
    #[error(
        "the executable has resources but no version resource (RT_VERSION); embed one, e.g. a .syso \
         from winversion::coff_object, in the Go main package before `go build`"
    )]
    NoVersionResource,
    /// A structure inside the executable or the version resource is inconsistent.
    #[error("malformed {context}: {detail}")]
    Malformed {
        /// Which structure is broken.
        context: &'static str,
        /// How it is broken.
        detail: String,
    },
    /// Reading or writing a file for [`write_go_overlay`] failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done: "read", "write", ...
        action: &'static str,
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// [`write_go_overlay`] cannot set up the overlay.
    #[error("cannot build the go overlay: {} {problem}", path.display())]
    Overlay {
        /// The offending path.
        path: std::path::PathBuf,
        /// What is wrong and how to fix it.
        problem: &'static str,
    },
}

/// Encodes `info` as a complete `VS_VERSIONINFO` block, the payload of an `RT_VERSION` resource.
///
/// [`coff_object`] wraps this in a resource directory; it is public for callers that need the
/// raw resource (e.g. to compare with what an executable contains).
pub fn version_resource(info: &VersionInfo) -> Result<Vec<u8>, Error> {
    encode::vs_versioninfo(info)
}

/// Writes an AMD64 COFF object whose `.rsrc` section holds the version resource for `info`.
///
/// Save it as `zz_version_windows_amd64.syso` in the Go main package directory; `go build` for
/// `GOOS=windows GOARCH=amd64` links it into the executable's resources. The bytes depend only on
/// `info`.
pub fn coff_object(info: &VersionInfo) -> Result<Vec<u8>, Error> {
    let resource = encode::vs_versioninfo(info)?;
    Ok(coff::object_with_version_resource(&resource))
}

/// Reads the version resource of a PE executable (PE32+ or PE32).
///
/// Takes the `RT_VERSION` resource with ID 1 (or the first one if there is no ID 1), in its
/// first language, and decodes its fixed file info, string tables and translations.
pub fn read_from_pe(exe: &[u8]) -> Result<ParsedVersionInfo, Error> {
    let (language, resource) = pe::find_version_resource(exe)?;
    decode::vs_versioninfo(resource, language)
}

/// Decodes a raw `VS_VERSIONINFO` block (as returned by [`version_resource`]).
///
/// `language` is recorded as [`ParsedVersionInfo::language`]; the block itself does not know its
/// resource language.
pub fn parse_version_resource(resource: &[u8], language: u16) -> Result<ParsedVersionInfo, Error> {
    decode::vs_versioninfo(resource, language)
}

pub(crate) fn malformed(context: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed {
        context,
        detail: detail.into(),
    }
}
