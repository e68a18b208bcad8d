//! Decoding of a `VS_VERSIONINFO` block.

use crate::{dotted, malformed, Error, VS_FFI_SIGNATURE};

/// A version resource as read back from an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedVersionInfo {
    /// Language ID of the resource in the resource directory (0x0409 for what we write).
    pub language: u16,
    /// `dwFileVersionMS`/`LS` of `VS_FIXEDFILEINFO` as four parts.
    pub file_version: [u16; 4],
    /// `dwProductVersionMS`/`LS` of `VS_FIXEDFILEINFO` as four parts.
    pub product_version: [u16; 4],
    /// `dwFileFlagsMask`.
    pub file_flags_mask: u32,
    /// `dwFileFlags` (`VS_FF_*`).
    pub file_flags: u32,
    /// `dwFileOS` (`VOS_*`).
    pub file_os: u32,
    /// `dwFileType` (`VFT_*`).
    pub file_type: u32,
    /// `dwFileSubtype`.
    pub file_subtype: u32,
    /// The string tables of `StringFileInfo`, in file order.
    pub string_tables: Vec<StringTable>,
    /// The `(language, code page)` pairs of `VarFileInfo\Translation`.
    pub translations: Vec<(u16, u16)>,
}

/// One `StringTable`: a language/code-page key such as `040904B0` and its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringTable {
    /// The table's key: language and code page as eight hex digits.
    pub key: String,
    /// `(name, value)` pairs in file order, e.g. `("ProductVersion", "1.4.1")`.
    pub strings: Vec<(String, String)>,
}

impl ParsedVersionInfo {
    /// The value of string `name` (e.g. `"ProductVersion"`) in the first string table that has it.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.string_tables
            .iter()
            .flat_map(|t| t.strings.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The binary file version as Windows Installer writes it in `File.Version`: `"1.2.3.0"`.
    pub fn file_version_string(&self) -> String {
        dotted(self.file_version)
    }

    /// The binary product version as `"1.2.3.0"`.
    pub fn product_version_string(&self) -> String {
        dotted(self.product_version)
    }
}

const CONTEXT: &str = "version resource";

fn align4(offset: usize) -> usize {
    offset.saturating_add(3) & !3
}

fn u16_at(data: &[u8], off: usize) -> Result<u16, Error> {
    off.checked_add(2)
        .and_then(|end| data.get(off..end))
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| malformed(CONTEXT, format!("offset {off:#x} is past the end")))
}

fn u32_at(data: &[u8], off: usize) -> Result<u32, Error> {
    Ok(u32::from(u16_at(data, off)?) | (u32::from(u16_at(data, off + 2)?) << 16))
}

/// The common header of every block in the version resource.
struct Block {
    end: usize,
    value_length: usize,
    value_type: u16,
    key: String,
    value_start: usize,
}

impl Block {
    /// Bytes of the value, as far as the block reaches: binary values are `wValueLength` bytes,
    /// text values `wValueLength` UTF-16 units.
    fn value_end(&self) -> usize {
        let units = if self.value_type == 1 { 2 } else { 1 };
        self.value_start
            .saturating_add(self.value_length * units)
            .min(self.end)
    }

    /// Where the children start: after the value, on a 32-bit boundary.
    fn children_start(&self) -> usize {
        align4(self.value_end())
    }
}

fn block(data: &[u8], start: usize, limit: usize) -> Result<Block, Error> {
    let length = usize::from(u16_at(data, start)?);
    let end = start + length;
    if length < 6 || end > limit {
        return Err(malformed(
            CONTEXT,
            format!(
                "block at {start:#x} has length {length}, outside its parent (ends at {limit:#x})"
            ),
        ));
    }
    let value_length = usize::from(u16_at(data, start + 2)?);
    let value_type = u16_at(data, start + 4)?;
    let mut units = Vec::new();
    let mut at = start + 6;
    loop {
        if at + 2 > end {
            return Err(malformed(
                CONTEXT,
                format!("key of block at {start:#x} is not NUL-terminated"),
            ));
        }
        let unit = u16_at(data, at)?;
        at += 2;
        if unit == 0 {
            break;
        }
        units.push(unit);
    }
    let key = String::from_utf16(&units).map_err(|_| {
        malformed(
            CONTEXT,
            format!("key of block at {start:#x} is not valid UTF-16"),
        )
    })?;
    Ok(Block {
        end,
        value_length,
        value_type,
        key,
        value_start: align4(at).min(end),
    })
}

/// The child blocks of `parent`. A zero length ends the list: some writers pad with zeros.
fn children(data: &[u8], parent: &Block) -> Result<Vec<Block>, Error> {
    let mut result = Vec::new();
    let mut at = parent.children_start();
    while at + 6 <= parent.end {
        if u16_at(data, at)? == 0 {
            break;
        }
        let child = block(data, at, parent.end)?;
        at = align4(child.end);
        result.push(child);
    }
    Ok(result)
}

/// Text of a `String` block: everything after the key up to the first NUL or the block's end.
/// (Writers disagree on whether `wValueLength` counts bytes or units, so it is not trusted.)
fn string_value(data: &[u8], string: &Block) -> Result<String, Error> {
    let mut units = Vec::new();
    let mut at = string.value_start;
    while at + 2 <= string.end {
        let unit = u16_at(data, at)?;
        if unit == 0 {
            break;
        }
        units.push(unit);
        at += 2;
    }
    String::from_utf16(&units).map_err(|_| {
        malformed(
            CONTEXT,
            format!("value of string {:?} is not valid UTF-16", string.key),
        )
    })
}

pub(crate) fn vs_versioninfo(data: &[u8], language: u16) -> Result<ParsedVersionInfo, Error> {
    let root = block(data, 0, data.len())?;
    if root.key != "VS_VERSION_INFO" {
        return Err(malformed(
            CONTEXT,
            format!("root key is {:?}, expected \"VS_VERSION_INFO\"", root.key),
        ));
    }
    if root.value_length < crate::encode::FIXED_FILE_INFO_LEN
        || root.value_start + crate::encode::FIXED_FILE_INFO_LEN > root.end
    {
        return Err(malformed(
            CONTEXT,
            "VS_VERSION_INFO has no VS_FIXEDFILEINFO",
        ));
    }
    let fixed = root.value_start;
    let dword = |i: usize| u32_at(data, fixed + 4 * i);
    if dword(0)? != VS_FFI_SIGNATURE {
        return Err(malformed(
            CONTEXT,
            format!(
                "VS_FIXEDFILEINFO signature is {:#010x}, expected {VS_FFI_SIGNATURE:#010x}",
                dword(0)?
            ),
        ));
    }
    let version = |ms: u32, ls: u32| [(ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16];

    let mut parsed = ParsedVersionInfo {
        language,
        file_version: version(dword(2)?, dword(3)?),
        product_version: version(dword(4)?, dword(5)?),
        file_flags_mask: dword(6)?,
        file_flags: dword(7)?,
        file_os: dword(8)?,
        file_type: dword(9)?,
        file_subtype: dword(10)?,
        string_tables: Vec::new(),
        translations: Vec::new(),
    };

    for child in children(data, &root)? {
        match child.key.as_str() {
            "StringFileInfo" => {
                for table in children(data, &child)? {
                    let mut strings = Vec::new();
                    for string in children(data, &table)? {
                        let value = string_value(data, &string)?;
                        strings.push((string.key, value));
                    }
                    parsed.string_tables.push(StringTable {
                        key: table.key,
                        strings,
                    });
                }
            }
            "VarFileInfo" => {
                for var in children(data, &child)? {
                    if var.key != "Translation" {
                        continue;
                    }
                    let mut at = var.value_start;
                    while at + 4 <= var.value_end() {
                        parsed
                            .translations
                            .push((u16_at(data, at)?, u16_at(data, at + 2)?));
                        at += 4;
                    }
                }
            }
            _ => {} // Unknown blocks are allowed by the format; nothing we need is in them.
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{version_resource, VersionInfo};

    fn sample() -> VersionInfo {
        VersionInfo {
            file_version: [2, 0, 65535, 9],
            product_version: [2, 0, 0, 0],
            product_version_string: "2.0.0".into(),
            company_name: "Example Corp".into(),
            product_name: "Hello Service".into(),
            file_description: "Ünïcödé 𝄞 description".into(),
            original_filename: "hellosvc.exe".into(),
            internal_name: "hellosvc".into(),
            legal_copyright: String::new(),
        }
    }

    #[test]
    fn decodes_what_we_encode() {
        let info = sample();
        let parsed = vs_versioninfo(&version_resource(&info).unwrap(), 0x0409).unwrap();
        assert_eq!(parsed.file_version, [2, 0, 65535, 9]);
        assert_eq!(parsed.file_version_string(), "2.0.65535.9");
        assert_eq!(parsed.product_version, [2, 0, 0, 0]);
        assert_eq!(parsed.file_flags, 0);
        assert_eq!(parsed.string_tables.len(), 1);
        assert_eq!(parsed.string_tables[0].key, "040904B0");
        assert_eq!(
            parsed.string("FileDescription"),
            Some("Ünïcödé 𝄞 description")
        );
        assert_eq!(parsed.string("LegalCopyright"), None);
        assert_eq!(parsed.translations, [(0x0409, 1200)]);
    }

    #[test]
    fn rejects_wrong_root_key_and_signature() {
        let mut b = version_resource(&sample()).unwrap();
        b[6] = b'X';
        assert!(vs_versioninfo(&b, 0)
            .unwrap_err()
            .to_string()
            .contains("root key"));

        let mut b = version_resource(&sample()).unwrap();
        b[40] ^= 0xFF;
        assert!(vs_versioninfo(&b, 0)
            .unwrap_err()
            .to_string()
            .contains("signature"));
    }

    #[test]
    fn rejects_lengths_outside_parent() {
        let mut b = version_resource(&sample()).unwrap();
        let len = b.len() as u16 + 4;
        b[..2].copy_from_slice(&len.to_le_bytes());
        assert!(matches!(
            vs_versioninfo(&b, 0),
            Err(Error::Malformed { .. })
        ));

        // StringFileInfo (at 92) claiming to be longer than the whole resource.
        let mut b = version_resource(&sample()).unwrap();
        b[92..94].copy_from_slice(&0xFFF0u16.to_le_bytes());
        assert!(matches!(
            vs_versioninfo(&b, 0),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let b = version_resource(&sample()).unwrap();
        for len in 0..b.len() {
            assert!(vs_versioninfo(&b[..len], 0).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn byte_flips_never_panic() {
        let b = version_resource(&sample()).unwrap();
        for i in 0..b.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut c = b.clone();
                c[i] ^= flip;
                let _ = vs_versioninfo(&c, 0);
            }
        }
    }
}
