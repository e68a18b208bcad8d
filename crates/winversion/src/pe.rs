//! Just enough PE parsing to find the version resource: headers, section table, resource tree.
//!
//! Every read is bounds-checked and reports [`Error::Malformed`]; nothing here panics on
//! hostile input.

use crate::{malformed, Error, RT_VERSION};

const PE32_MAGIC: u16 = 0x10B;
const PE32_PLUS_MAGIC: u16 = 0x20B;
const DIRECTORY_ENTRY_RESOURCE: usize = 2;
const SUBDIRECTORY: u32 = 0x8000_0000;
const NAMED_ENTRY: u32 = 0x8000_0000;
/// The resource name Windows' `GetFileVersionInfo` looks up (`VS_VERSION_INFO` = 1).
const VERSION_RESOURCE_ID: u32 = 1;

fn u16_at(data: &[u8], off: usize, context: &'static str) -> Result<u16, Error> {
    off.checked_add(2)
        .and_then(|end| data.get(off..end))
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| {
            malformed(
                context,
                format!("2 bytes at offset {off:#x} are past the end"),
            )
        })
}

fn u32_at(data: &[u8], off: usize, context: &'static str) -> Result<u32, Error> {
    off.checked_add(4)
        .and_then(|end| data.get(off..end))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            malformed(
                context,
                format!("4 bytes at offset {off:#x} are past the end"),
            )
        })
}

struct Section {
    virtual_address: u32,
    virtual_size: u32,
    raw_size: u32,
    raw_pointer: u32,
}

struct PeImage<'a> {
    data: &'a [u8],
    sections: Vec<Section>,
    resource_rva: u32,
    resource_size: u32,
}

impl<'a> PeImage<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, Error> {
        if data.len() < 0x40 || &data[..2] != b"MZ" {
            return Err(Error::NotPe {
                reason: "no DOS header (file does not start with \"MZ\")",
            });
        }
        let pe_offset = u32_at(data, 0x3C, "DOS header")? as usize;
        if pe_offset
            .checked_add(4)
            .and_then(|end| data.get(pe_offset..end))
            != Some(b"PE\0\0")
        {
            return Err(Error::NotPe {
                reason: "no \"PE\\0\\0\" signature where the DOS header points",
            });
        }
        let coff = pe_offset + 4;
        let section_count = usize::from(u16_at(data, coff + 2, "COFF file header")?);
        let optional_size = usize::from(u16_at(data, coff + 16, "COFF file header")?);
        let optional = coff + 20;
        let magic = u16_at(data, optional, "optional header")?;
        let (count_at, directories_at) = match magic {
            PE32_PLUS_MAGIC => (108, 112),
            PE32_MAGIC => (92, 96),
            _ => {
                return Err(Error::NotPe {
                    reason: "optional header magic is neither PE32 (0x10B) nor PE32+ (0x20B)",
                })
            }
        };
        let directory_count = u32_at(data, optional + count_at, "optional header")? as usize;
        let (resource_rva, resource_size) = if directory_count > DIRECTORY_ENTRY_RESOURCE
            && directories_at + 8 * (DIRECTORY_ENTRY_RESOURCE + 1) <= optional_size
        {
            let entry = optional + directories_at + 8 * DIRECTORY_ENTRY_RESOURCE;
            (
                u32_at(data, entry, "data directory")?,
                u32_at(data, entry + 4, "data directory")?,
            )
        } else {
            (0, 0)
        };

        let table = optional + optional_size;
        let mut sections = Vec::with_capacity(section_count);
        for i in 0..section_count {
            let header = table + 40 * i;
            sections.push(Section {
                virtual_size: u32_at(data, header + 8, "section table")?,
                virtual_address: u32_at(data, header + 12, "section table")?,
                raw_size: u32_at(data, header + 16, "section table")?,
                raw_pointer: u32_at(data, header + 20, "section table")?,
            });
        }
        Ok(PeImage {
            data,
            sections,
            resource_rva,
            resource_size,
        })
    }

    /// The file bytes at `rva`, up to `len` bytes but no further than the containing section's
    /// raw data (the rest of a section is zero-filled memory with no bytes in the file).
    fn bytes_at_rva(&self, rva: u32, len: u32, context: &'static str) -> Result<&'a [u8], Error> {
        let section = self
            .sections
            .iter()
            .find(|s| {
                let span = s.virtual_size.max(s.raw_size);
                rva >= s.virtual_address
                    && u64::from(rva) < u64::from(s.virtual_address) + u64::from(span)
            })
            .ok_or_else(|| malformed(context, format!("RVA {rva:#x} is in no section")))?;
        let delta = rva - section.virtual_address;
        if delta >= section.raw_size {
            return Err(malformed(
                context,
                format!("RVA {rva:#x} is past the section's data in the file"),
            ));
        }
        let available = section.raw_size - delta;
        let start = section.raw_pointer as usize + delta as usize;
        let end = start.saturating_add(len.min(available) as usize);
        self.data.get(start..end).ok_or_else(|| {
            malformed(
                context,
                format!("bytes {start:#x}..{end:#x} are past the end of the file"),
            )
        })
    }
}

/// One `IMAGE_RESOURCE_DIRECTORY_ENTRY`: its name field and its offset field.
struct Entry {
    name: u32,
    target: u32,
}

fn directory(rsrc: &[u8], offset: u32) -> Result<Vec<Entry>, Error> {
    const CONTEXT: &str = "resource directory";
    let offset = offset as usize;
    let named = usize::from(u16_at(rsrc, offset + 12, CONTEXT)?);
    let ids = usize::from(u16_at(rsrc, offset + 14, CONTEXT)?);
    let first = offset + 16;
    if first + 8 * (named + ids) > rsrc.len() {
        return Err(malformed(
            CONTEXT,
            format!(
                "{} entries at {offset:#x} run past the resource section",
                named + ids
            ),
        ));
    }
    (0..named + ids)
        .map(|i| {
            let at = first + 8 * i;
            Ok(Entry {
                name: u32_at(rsrc, at, CONTEXT)?,
                target: u32_at(rsrc, at + 4, CONTEXT)?,
            })
        })
        .collect()
}

fn subdirectory(entry: &Entry, level: &'static str) -> Result<u32, Error> {
    if entry.target & SUBDIRECTORY == 0 {
        return Err(malformed(
            "resource directory",
            format!("{level} entry points to data instead of a subdirectory"),
        ));
    }
    Ok(entry.target & !SUBDIRECTORY)
}

/// Finds the version resource; returns its language and its bytes.
pub(crate) fn find_version_resource(exe: &[u8]) -> Result<(u16, &[u8]), Error> {
    let image = PeImage::parse(exe)?;
    if image.resource_rva == 0 || image.resource_size == 0 {
        return Err(Error::NoResources);
    }
    let rsrc = image.bytes_at_rva(
        image.resource_rva,
        image.resource_size,
        "resource data directory",
    )?;

    let types = directory(rsrc, 0)?;
    let version = types
        .iter()
        .find(|e| e.name == u32::from(RT_VERSION))
        .ok_or(Error::NoVersionResource)?;
    let names = directory(rsrc, subdirectory(version, "RT_VERSION type")?)?;
    let name = names
        .iter()
        .find(|e| e.name == VERSION_RESOURCE_ID)
        .or_else(|| names.first())
        .ok_or(Error::NoVersionResource)?;
    let languages = directory(rsrc, subdirectory(name, "RT_VERSION name")?)?;
    let language = languages.first().ok_or(Error::NoVersionResource)?;
    if language.name & NAMED_ENTRY != 0 {
        return Err(malformed(
            "resource directory",
            "version resource language is a string, not a language ID",
        ));
    }
    if language.target & SUBDIRECTORY != 0 {
        return Err(malformed(
            "resource directory",
            "version resource language entry points to a fourth directory level",
        ));
    }
    let entry = language.target as usize;
    let data_rva = u32_at(rsrc, entry, "resource data entry")?;
    let data_size = u32_at(rsrc, entry + 4, "resource data entry")?;
    let data = image.bytes_at_rva(data_rva, data_size, "version resource data")?;
    if data.len() != data_size as usize {
        return Err(malformed(
            "version resource data",
            format!(
                "resource is {data_size} bytes but only {} are in the file",
                data.len()
            ),
        ));
    }
    Ok(((language.name & 0xFFFF) as u16, data))
}
