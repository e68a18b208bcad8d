//! The `\x05SummaryInformation` stream: an OLE property set (MS-OLEPS) in codepage 1252,
//! encoded ([`Summary::encode`], [`encode_property_set`]) and decoded ([`decode_property_set`])
//! here, for packages and transforms alike.
//!
//! Invariant: [`decode_property_set`] reads back every value [`encode_property_set`] writes.

use crate::cp1252;
use crate::error::MsiError;

/// FMTID_SummaryInformation {F29F85E0-4FF9-1068-AB91-08002B27B3D9}, in its on-disk byte order.
const FMTID: [u8; 16] = [
    0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9,
];

const VT_I2: u32 = 2;
const VT_I4: u32 = 3;
const VT_LPSTR: u32 = 30;
const VT_FILETIME: u32 = 64;

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 11_644_473_600;

/// Summary information fields that Windows Installer reads.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub title: String,
    pub subject: String,
    pub author: String,
    pub keywords: String,
    pub comments: String,
    /// `x64;1033`.
    pub template: String,
    /// The PackageCode, `{...}`.
    pub revision_number: String,
    /// Unix seconds for the create and last-save times.
    pub timestamp: u64,
    /// Minimum installer version × 100 (the schema): 200.
    pub page_count: i32,
    /// Source image flags: 2 = long file names, compressed.
    pub word_count: i32,
    pub creating_application: String,
    /// 2 = read-only recommended.
    pub security: i32,
}

/// A typed value of a property set.
pub(crate) enum Value {
    I2(i16),
    I4(i32),
    Str(Vec<u8>),
    FileTime(u64),
}

/// FILETIME (100 ns ticks since 1601) of a Unix time in seconds.
pub(crate) fn filetime(unix_seconds: u64) -> u64 {
    (unix_seconds + FILETIME_UNIX_OFFSET) * 10_000_000
}

impl Summary {
    /// Serializes the property set.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, MsiError> {
        let text = |field: &str, value: &str| -> Result<Value, MsiError> {
            cp1252::encode(value)
                .map(Value::Str)
                .map_err(|ch| MsiError::NotWindows1252 {
                    field: format!("summary {field}"),
                    value: value.to_string(),
                    ch,
                })
        };
        let filetime = filetime(self.timestamp);
        // Property ids in ascending order (PIDSI_*).
        let properties: Vec<(u32, Value)> = vec![
            (1, Value::I2(cp1252::CODEPAGE as i16)),
            (2, text("Title", &self.title)?),
            (3, text("Subject", &self.subject)?),
            (4, text("Author", &self.author)?),
            (5, text("Keywords", &self.keywords)?),
            (6, text("Comments", &self.comments)?),
            (7, text("Template", &self.template)?),
            (9, text("Revision Number", &self.revision_number)?),
            (12, Value::FileTime(filetime)),
            (13, Value::FileTime(filetime)),
            (14, Value::I4(self.page_count)),
            (15, Value::I4(self.word_count)),
            (
                18,
                text("Creating Application", &self.creating_application)?,
            ),
            (19, Value::I4(self.security)),
        ];

        Ok(encode_property_set(&properties))
    }
}

/// Serializes one summary-information section holding `properties` (ascending ids, codepage
/// first), as the package and transform writers need it.
pub(crate) fn encode_property_set(properties: &[(u32, Value)]) -> Vec<u8> {
    let mut values = Vec::new();
    let mut offsets = Vec::new();
    let table_len = 8 + 8 * properties.len();
    for (_, value) in properties {
        offsets.push(table_len + values.len());
        match value {
            Value::I2(v) => {
                values.extend_from_slice(&VT_I2.to_le_bytes());
                values.extend_from_slice(&v.to_le_bytes());
                values.extend_from_slice(&[0, 0]);
            }
            Value::I4(v) => {
                values.extend_from_slice(&VT_I4.to_le_bytes());
                values.extend_from_slice(&v.to_le_bytes());
            }
            Value::Str(bytes) => {
                values.extend_from_slice(&VT_LPSTR.to_le_bytes());
                values.extend_from_slice(&(bytes.len() as u32 + 1).to_le_bytes());
                values.extend_from_slice(bytes);
                values.push(0);
                while values.len() % 4 != 0 {
                    values.push(0);
                }
            }
            Value::FileTime(v) => {
                values.extend_from_slice(&VT_FILETIME.to_le_bytes());
                values.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    let mut out = Vec::with_capacity(48 + table_len + values.len());
    out.extend_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
    out.extend_from_slice(&0u16.to_le_bytes()); // format version
    out.extend_from_slice(&0x0002_000Au32.to_le_bytes()); // OS: Win32, version 10
    out.extend_from_slice(&[0; 16]); // CLSID
    out.extend_from_slice(&1u32.to_le_bytes()); // one section
    out.extend_from_slice(&FMTID);
    out.extend_from_slice(&48u32.to_le_bytes()); // section offset
    out.extend_from_slice(&((table_len + values.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(properties.len() as u32).to_le_bytes());
    for ((pid, _), offset) in properties.iter().zip(&offsets) {
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&(*offset as u32).to_le_bytes());
    }
    out.extend_from_slice(&values);
    out
}

/// A property value read back from a property set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyValue {
    /// VT_I2 or VT_I4.
    Int(i32),
    /// VT_LPSTR, decoded in the property set's codepage (UTF-8 for 65001, else Windows-1252).
    Text(String),
    /// VT_FILETIME, raw 100 ns ticks.
    FileTime(u64),
    /// Any other type (kept so a reader can say what it found).
    Other(u32),
}

/// The PIDSI name of a summary-information property id, as the Windows Installer documentation
/// names it (`"property"` for ids it does not use).
pub fn property_name(pid: u32) -> &'static str {
    match pid {
        1 => "Codepage",
        2 => "Title",
        3 => "Subject",
        4 => "Author",
        5 => "Keywords",
        6 => "Comments",
        7 => "Template",
        8 => "Last Saved By",
        9 => "Revision Number (PackageCode)",
        11 => "Last Printed",
        12 => "Create Time/Date",
        13 => "Last Save Time/Date",
        14 => "Page Count",
        15 => "Word Count",
        16 => "Character Count",
        18 => "Creating Application",
        19 => "Security",
        _ => "property",
    }
}

/// Little-endian reads at byte offsets of a property set, failing with the offset.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u16_at(&self, at: usize) -> Result<u16, String> {
        self.0
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("truncated at byte {at}"))
    }

    fn u32_at(&self, at: usize) -> Result<u32, String> {
        self.0
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated at byte {at}"))
    }

    /// The typed value at `at`; strings stay undecoded until the codepage is known.
    fn value_at(&self, pid: u32, at: usize) -> Result<RawValue<'_>, String> {
        Ok(match self.u32_at(at)? {
            VT_I2 => RawValue::Done(PropertyValue::Int(i32::from(self.u16_at(at + 4)? as i16))),
            VT_I4 => RawValue::Done(PropertyValue::Int(self.u32_at(at + 4)? as i32)),
            VT_LPSTR => {
                let len = self.u32_at(at + 4)? as usize;
                let text = self
                    .0
                    .get(at + 8..at + 8 + len)
                    .ok_or_else(|| format!("property {pid}: string runs past the end"))?;
                RawValue::Text(text.split(|&b| b == 0).next().unwrap_or_default())
            }
            VT_FILETIME => RawValue::Done(PropertyValue::FileTime(
                u64::from(self.u32_at(at + 4)?) | u64::from(self.u32_at(at + 8)?) << 32,
            )),
            other => RawValue::Done(PropertyValue::Other(other)),
        })
    }
}

/// A value as found, before its strings are decoded.
enum RawValue<'a> {
    Done(PropertyValue),
    Text(&'a [u8]),
}

/// Reads the first section of a summary-information property set (what Windows Installer
/// writes for packages and transforms): property id → value. Fails with a reason on truncated
/// or inconsistent data.
pub fn decode_property_set(
    bytes: &[u8],
) -> Result<std::collections::BTreeMap<u32, PropertyValue>, String> {
    let data = Bytes(bytes);
    if data.u16_at(0)? != 0xFFFE {
        return Err("not a property set (byte order mark missing)".into());
    }
    if data.u32_at(24)? < 1 {
        return Err("the property set has no section".into());
    }
    if bytes.get(28..44) != Some(&FMTID[..]) {
        return Err("the first section is not SummaryInformation".into());
    }
    let section = data.u32_at(44)? as usize;
    let count = data.u32_at(section + 4)? as usize;
    if count > 1024 {
        return Err(format!("{count} properties in one section"));
    }
    let mut raw = Vec::with_capacity(count);
    for i in 0..count {
        let pid = data.u32_at(section + 8 + i * 8)?;
        let at = section + data.u32_at(section + 12 + i * 8)? as usize;
        raw.push((pid, data.value_at(pid, at)?));
    }
    let utf8 = raw
        .iter()
        .any(|(pid, v)| *pid == 1 && matches!(v, RawValue::Done(PropertyValue::Int(65001))));
    let decode = |text: &[u8]| match utf8 {
        true => String::from_utf8_lossy(text).into_owned(),
        false => cp1252::decode(text),
    };
    Ok(raw
        .into_iter()
        .map(|(pid, value)| match value {
            RawValue::Done(value) => (pid, value),
            RawValue::Text(text) => (pid, PropertyValue::Text(decode(text))),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_sets_read_back_what_was_written() {
        let bytes = encode_property_set(&[
            (1, Value::I2(1252)),
            (7, Value::Str(b"x64;1033".to_vec())),
            (12, Value::FileTime(filetime(1_700_000_000))),
            (16, Value::I4(0x0A03_0000)),
        ]);
        let read = decode_property_set(&bytes).unwrap();
        assert_eq!(read[&1], PropertyValue::Int(1252));
        assert_eq!(read[&7], PropertyValue::Text("x64;1033".into()));
        assert_eq!(read[&12], PropertyValue::FileTime(filetime(1_700_000_000)));
        assert_eq!(read[&16], PropertyValue::Int(0x0A03_0000));
        assert!(decode_property_set(&bytes[..60]).is_err());
    }
}
