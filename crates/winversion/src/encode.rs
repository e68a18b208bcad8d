//! Encoding of the `VS_VERSIONINFO` block.
//!
//! Every block (`VS_VERSIONINFO`, `StringFileInfo`, `StringTable`, `String`, `VarFileInfo`,
//! `Var`) has the same shape: `wLength`, `wValueLength`, `wType`, a NUL-terminated UTF-16 key,
//! padding to a 32-bit boundary, the value, then children, each starting on a 32-bit boundary.
//! A block's `wLength` covers its own header, key, value and children (including the padding in
//! front of each child) but not padding after its last byte, matching what rc.exe writes.

use crate::{
    Error, VersionInfo, CODEPAGE_UTF16, LANG_EN_US, STRING_TABLE_KEY, VFT_APP, VOS_NT_WINDOWS32,
    VS_FFI_FILEFLAGSMASK, VS_FFI_SIGNATURE, VS_FFI_STRUCVERSION, VS_FF_PRERELEASE,
};

/// `wType` of a block whose value is binary data.
const TYPE_BINARY: u16 = 0;
/// `wType` of a block whose value is text.
const TYPE_TEXT: u16 = 1;

/// Size of `VS_FIXEDFILEINFO`: thirteen DWORDs.
pub(crate) const FIXED_FILE_INFO_LEN: usize = 52;

/// The strings of the string table, in the order they are written.
pub(crate) fn string_entries(info: &VersionInfo) -> Result<Vec<(&'static str, String)>, Error> {
    let required: [(&'static str, &'static str, &str); 6] = [
        ("company_name", "CompanyName", &info.company_name),
        (
            "file_description",
            "FileDescription",
            &info.file_description,
        ),
        ("internal_name", "InternalName", &info.internal_name),
        (
            "original_filename",
            "OriginalFilename",
            &info.original_filename,
        ),
        ("product_name", "ProductName", &info.product_name),
        (
            "product_version_string",
            "ProductVersion",
            &info.product_version_string,
        ),
    ];
    for (field, _, value) in required {
        check_string(field, value)?;
        if value.is_empty() {
            return Err(Error::InvalidString {
                field,
                problem: "is empty; every version string except legal_copyright must be set",
            });
        }
    }
    check_string("legal_copyright", &info.legal_copyright)?;

    let mut entries = vec![
        ("CompanyName", info.company_name.clone()),
        ("FileDescription", info.file_description.clone()),
        ("FileVersion", info.file_version_string()),
        ("InternalName", info.internal_name.clone()),
    ];
    if !info.legal_copyright.is_empty() {
        entries.push(("LegalCopyright", info.legal_copyright.clone()));
    }
    entries.extend([
        ("OriginalFilename", info.original_filename.clone()),
        ("ProductName", info.product_name.clone()),
        ("ProductVersion", info.product_version_string.clone()),
    ]);
    Ok(entries)
}

fn check_string(field: &'static str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(Error::InvalidString {
            field,
            problem: "contains a NUL character; remove it (Windows would cut the string there)",
        });
    }
    Ok(())
}

/// Encodes the complete `VS_VERSIONINFO` block for `info`.
pub(crate) fn vs_versioninfo(info: &VersionInfo) -> Result<Vec<u8>, Error> {
    let strings = string_entries(info)?;
    let mut out = Vec::with_capacity(1024);
    let fixed = fixed_file_info(info);
    block(
        &mut out,
        "VS_VERSION_INFO",
        TYPE_BINARY,
        FIXED_FILE_INFO_LEN as u16,
        &fixed,
        |out| {
            block(out, "StringFileInfo", TYPE_TEXT, 0, &[], |out| {
                block(out, STRING_TABLE_KEY, TYPE_TEXT, 0, &[], |out| {
                    for (key, value) in &strings {
                        let mut text: Vec<u8> = Vec::with_capacity(value.len() * 2 + 2);
                        let mut units = 0usize;
                        for unit in value.encode_utf16().chain([0]) {
                            text.extend_from_slice(&unit.to_le_bytes());
                            units += 1;
                        }
                        // wValueLength of a String counts UTF-16 units, terminating NUL included.
                        let units = u16::try_from(units)
                            .map_err(|_| Error::TooLarge { size: text.len() })?;
                        block(out, key, TYPE_TEXT, units, &text, |_| Ok(()))?;
                    }
                    Ok(())
                })
            })?;
            block(out, "VarFileInfo", TYPE_TEXT, 0, &[], |out| {
                let mut translation = Vec::with_capacity(4);
                translation.extend_from_slice(&LANG_EN_US.to_le_bytes());
                translation.extend_from_slice(&CODEPAGE_UTF16.to_le_bytes());
                block(out, "Translation", TYPE_BINARY, 4, &translation, |_| Ok(()))
            })
        },
    )?;
    Ok(out)
}

fn fixed_file_info(info: &VersionInfo) -> [u8; FIXED_FILE_INFO_LEN] {
    let ms = |v: [u16; 4]| (u32::from(v[0]) << 16) | u32::from(v[1]);
    let ls = |v: [u16; 4]| (u32::from(v[2]) << 16) | u32::from(v[3]);
    let flags = if info.is_prerelease() {
        VS_FF_PRERELEASE
    } else {
        0
    };
    let dwords: [u32; 13] = [
        VS_FFI_SIGNATURE,
        VS_FFI_STRUCVERSION,
        ms(info.file_version),
        ls(info.file_version),
        ms(info.product_version),
        ls(info.product_version),
        VS_FFI_FILEFLAGSMASK,
        flags,
        VOS_NT_WINDOWS32,
        VFT_APP,
        0, // dwFileSubtype: unused for applications.
        0, // dwFileDateMS: left zero for reproducible output (rc.exe does the same).
        0, // dwFileDateLS
    ];
    let mut bytes = [0u8; FIXED_FILE_INFO_LEN];
    for (chunk, dword) in bytes.chunks_exact_mut(4).zip(dwords) {
        chunk.copy_from_slice(&dword.to_le_bytes());
    }
    bytes
}

fn pad_to_dword(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Appends one block: header, key, value, then whatever `children` appends; patches `wLength`.
///
/// Offsets are relative to the start of the `VS_VERSIONINFO`, which the resource data entry
/// places on an 8-byte boundary, so aligning within `out` aligns in memory too.
fn block(
    out: &mut Vec<u8>,
    key: &str,
    value_type: u16,
    value_length: u16,
    value: &[u8],
    children: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<(), Error> {
    pad_to_dword(out);
    let start = out.len();
    out.extend_from_slice(&[0, 0]); // wLength, patched below
    out.extend_from_slice(&value_length.to_le_bytes());
    out.extend_from_slice(&value_type.to_le_bytes());
    for unit in key.encode_utf16().chain([0]) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    pad_to_dword(out);
    out.extend_from_slice(value);
    children(out)?;
    let length = out.len() - start;
    let length16 = u16::try_from(length).map_err(|_| Error::TooLarge { size: out.len() })?;
    out[start..start + 2].copy_from_slice(&length16.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> VersionInfo {
        VersionInfo {
            file_version: [1, 4, 1, 7],
            product_version: [1, 4, 1, 0],
            product_version_string: "1.4.1-dev.7+g1a2b3c4".into(),
            company_name: "Example Corp".into(),
            product_name: "Hello Service".into(),
            file_description: "An example Go service".into(),
            original_filename: "hellosvc.exe".into(),
            internal_name: "hellosvc".into(),
            legal_copyright: "Copyright (c) 2024 Example Corp".into(),
        }
    }

    fn u16_at(b: &[u8], off: usize) -> u16 {
        u16::from_le_bytes([b[off], b[off + 1]])
    }
    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
    }
    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect()
    }

    #[test]
    fn root_header_and_fixed_file_info_follow_documented_layout() {
        let b = vs_versioninfo(&sample()).unwrap();
        assert_eq!(
            usize::from(u16_at(&b, 0)),
            b.len(),
            "wLength covers the block"
        );
        assert_eq!(u16_at(&b, 2), 52, "wValueLength = sizeof(VS_FIXEDFILEINFO)");
        assert_eq!(u16_at(&b, 4), 0, "binary value");
        assert_eq!(&b[6..38], &utf16z("VS_VERSION_INFO")[..]);
        assert_eq!(&b[38..40], &[0, 0], "Padding1 to a 32-bit boundary");
        assert_eq!(u32_at(&b, 40), 0xFEEF04BD);
        assert_eq!(u32_at(&b, 44), 0x00010000);
        assert_eq!(u32_at(&b, 48), 0x0001_0004, "FileVersionMS 1.4");
        assert_eq!(u32_at(&b, 52), 0x0001_0007, "FileVersionLS 1.7");
        assert_eq!(u32_at(&b, 56), 0x0001_0004, "ProductVersionMS");
        assert_eq!(u32_at(&b, 60), 0x0001_0000, "ProductVersionLS");
        assert_eq!(u32_at(&b, 64), 0x3F);
        assert_eq!(u32_at(&b, 68), VS_FF_PRERELEASE, "SemVer pre-release");
        assert_eq!(u32_at(&b, 72), 0x0004_0004);
        assert_eq!(u32_at(&b, 76), 1);
        assert_eq!(&b[80..92], &[0; 12], "subtype and file date are zero");
        // First child: StringFileInfo at 92 (already aligned).
        assert_eq!(u16_at(&b, 94), 0);
        assert_eq!(u16_at(&b, 96), 1);
        assert_eq!(&b[98..128], &utf16z("StringFileInfo")[..]);
        // StringTable header at 128, key "040904B0".
        assert_eq!(u16_at(&b, 130), 0);
        assert_eq!(u16_at(&b, 132), 1);
        assert_eq!(&b[134..152], &utf16z("040904B0")[..]);
        // First String at 152: CompanyName.
        let company = utf16z("CompanyName");
        assert_eq!(
            u16_at(&b, 154),
            13,
            "\"Example Corp\" + NUL in UTF-16 units"
        );
        assert_eq!(u16_at(&b, 156), 1);
        assert_eq!(&b[158..158 + company.len()], &company[..]);
        let value_at = (158 + company.len()).next_multiple_of(4);
        assert_eq!(&b[value_at..value_at + 26], &utf16z("Example Corp")[..]);
        assert_eq!(usize::from(u16_at(&b, 152)), value_at + 26 - 152);
    }

    #[test]
    fn string_file_info_and_var_file_info_lengths_add_up() {
        let b = vs_versioninfo(&sample()).unwrap();
        let sfi_len = usize::from(u16_at(&b, 92));
        let table_len = usize::from(u16_at(&b, 128));
        assert_eq!(
            128 + table_len,
            92 + sfi_len,
            "table is the last child of StringFileInfo"
        );
        // Walk the Strings: each is aligned and lengths chain exactly to the table's end.
        let mut off = 152;
        let mut keys = Vec::new();
        while off < 128 + table_len {
            assert_eq!(off % 4, 0, "String at {off} is 32-bit aligned");
            let len = usize::from(u16_at(&b, off));
            let key: Vec<u16> = (0..)
                .map(|i| u16_at(&b, off + 6 + 2 * i))
                .take_while(|&u| u != 0)
                .collect();
            keys.push(String::from_utf16(&key).unwrap());
            off = (off + len).next_multiple_of(4);
        }
        assert_eq!(
            off.next_multiple_of(4),
            (128 + table_len).next_multiple_of(4)
        );
        assert_eq!(
            keys,
            [
                "CompanyName",
                "FileDescription",
                "FileVersion",
                "InternalName",
                "LegalCopyright",
                "OriginalFilename",
                "ProductName",
                "ProductVersion"
            ]
        );
        // VarFileInfo is the last child of the root and ends the block exactly.
        let vfi = (92 + sfi_len).next_multiple_of(4);
        assert_eq!(usize::from(u16_at(&b, vfi)), 68);
        assert_eq!(vfi + 68, b.len());
        assert_eq!(&b[vfi + 6..vfi + 30], &utf16z("VarFileInfo")[..]);
        let var = vfi + 32;
        assert_eq!(u16_at(&b, var), 36);
        assert_eq!(u16_at(&b, var + 2), 4, "value is 4 bytes");
        assert_eq!(u16_at(&b, var + 4), 0, "binary");
        assert_eq!(&b[var + 6..var + 30], &utf16z("Translation")[..]);
        assert_eq!(u16_at(&b, var + 32), 0x0409);
        assert_eq!(u16_at(&b, var + 34), 1200);
    }

    #[test]
    fn file_version_string_is_dotted_binary_version() {
        let entries = string_entries(&sample()).unwrap();
        let fv = entries.iter().find(|(k, _)| *k == "FileVersion").unwrap();
        assert_eq!(fv.1, "1.4.1.7");
    }

    #[test]
    fn empty_copyright_is_omitted_and_release_versions_are_not_prerelease() {
        let mut info = sample();
        info.legal_copyright.clear();
        info.product_version_string = "1.4.1+g1a2b3c4-dirty".into();
        let entries = string_entries(&info).unwrap();
        assert!(entries.iter().all(|(k, _)| *k != "LegalCopyright"));
        let b = vs_versioninfo(&info).unwrap();
        assert_eq!(
            u32_at(&b, 68),
            0,
            "build metadata with '-' is not a pre-release"
        );
    }

    #[test]
    fn nul_and_empty_strings_are_rejected_with_field_name() {
        let mut info = sample();
        info.product_name = "Hello\0Service".into();
        let err = vs_versioninfo(&info).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidString {
                    field: "product_name",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("NUL"), "{err}");

        let mut info = sample();
        info.legal_copyright = "\0".into();
        assert!(matches!(
            vs_versioninfo(&info),
            Err(Error::InvalidString {
                field: "legal_copyright",
                ..
            })
        ));

        let mut info = sample();
        info.original_filename.clear();
        let err = vs_versioninfo(&info).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidString {
                    field: "original_filename",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn oversized_strings_are_rejected_not_truncated() {
        let mut info = sample();
        info.file_description = "x".repeat(40_000);
        assert!(matches!(vs_versioninfo(&info), Err(Error::TooLarge { .. })));
        // Just under the limit still works and the length field is exact.
        info.file_description = "x".repeat(32_000);
        let b = vs_versioninfo(&info).unwrap();
        assert_eq!(usize::from(u16_at(&b, 0)), b.len());
    }

    #[test]
    fn non_ascii_strings_are_utf16_with_unit_counts() {
        let mut info = sample();
        info.company_name = "Überfirma 𝄞".into(); // 𝄞 is a surrogate pair
        let b = vs_versioninfo(&info).unwrap();
        assert_eq!(u16_at(&b, 154), 13, "10 BMP units + a surrogate pair + NUL");
    }
}
