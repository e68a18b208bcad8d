//! The cabinet's layout and its header records: CFHEADER, one CFFOLDER per folder and one
//! CFFILE per entry, decided from the entries alone before any data is read.
//!
//! Invariant: the layout depends only on the entries (names, sizes, stamps, attributes) and the
//! options; the only header fields not known up front (`cbCabinet` and each folder's
//! `coffCabStart`) are written as 0 and patched by [`patch_header`] once the data is written.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};

use crate::block::{self, BlockCodec, BLOCK_SIZE};
use crate::{
    CabEntry, CabError, CabOptions, Compression, Source, ATTR_NAME_IS_UTF, MAX_FILES,
    MAX_FOLDER_UNCOMPRESSED, MAX_NAME_BYTES,
};

const CFHEADER_SIZE: usize = 36;
const CFFOLDER_SIZE: usize = 8;
const CFFILE_FIXED_SIZE: usize = 16;

/// One validated entry with its place in the cabinet.
pub(crate) struct PlannedFile<'a> {
    pub entry: &'a CabEntry,
    pub size: u64,
    folder: u16,
    offset_in_folder: u32,
}

pub(crate) struct PlannedFolder {
    /// Range of `Plan::files` stored in this folder.
    pub files: std::ops::Range<usize>,
    pub uncompressed: u64,
    pub blocks: usize,
}

/// Everything known before any data is read: layout, sizes, header bytes.
pub(crate) struct Plan<'a> {
    pub files: Vec<PlannedFile<'a>>,
    pub folders: Vec<PlannedFolder>,
    pub codec: BlockCodec,
    pub total_blocks: usize,
}

impl<'a> Plan<'a> {
    /// Validates the entries and options and lays the entries out in folders.
    pub(crate) fn new(entries: &'a [CabEntry], opts: &CabOptions) -> Result<Self, CabError> {
        if entries.is_empty() {
            return Err(CabError::NoEntries);
        }
        if entries.len() > MAX_FILES {
            return Err(CabError::TooManyFiles {
                count: entries.len(),
            });
        }
        let codec = codec(opts.compression)?;
        let folder_limit = match opts.max_folder_uncompressed {
            None => MAX_FOLDER_UNCOMPRESSED,
            Some(value) if (1..=MAX_FOLDER_UNCOMPRESSED).contains(&value) => value,
            Some(value) => return Err(CabError::InvalidFolderLimit { value }),
        };
        let (files, mut folders) = lay_out(entries, folder_limit)?;
        let mut total_blocks = 0;
        for folder in &mut folders {
            folder.blocks = folder.uncompressed.div_ceil(BLOCK_SIZE as u64) as usize;
            total_blocks += folder.blocks;
        }
        let plan = Plan {
            files,
            folders,
            codec,
            total_blocks,
        };
        // Stored cabinets have a known size: refuse one that cannot fit before writing.
        // Compressed sizes are only known as blocks are written, checked there.
        if plan.codec == BlockCodec::Stored
            && plan.header_len() as u64
                + plan.total_uncompressed()
                + (plan.total_blocks * block::CFDATA_HEADER) as u64
                > u64::from(u32::MAX)
        {
            return Err(CabError::CabinetTooLarge);
        }
        Ok(plan)
    }

    pub(crate) fn total_uncompressed(&self) -> u64 {
        self.folders.iter().map(|f| f.uncompressed).sum()
    }

    fn header_len(&self) -> usize {
        CFHEADER_SIZE
            + CFFOLDER_SIZE * self.folders.len()
            + self
                .files
                .iter()
                .map(|f| CFFILE_FIXED_SIZE + f.entry.name.len() + 1)
                .sum::<usize>()
    }

    /// CFHEADER, CFFOLDERs and CFFILEs, with `cbCabinet` and the folders' data offsets
    /// left 0 to be patched once the compressed sizes are known.
    pub(crate) fn header_bytes(&self) -> Vec<u8> {
        let len = self.header_len();
        let mut h = Vec::with_capacity(len);
        h.extend_from_slice(b"MSCF");
        h.extend_from_slice(&0u32.to_le_bytes()); // reserved1
        h.extend_from_slice(&0u32.to_le_bytes()); // cbCabinet, patched
        h.extend_from_slice(&0u32.to_le_bytes()); // reserved2
        let coff_files = (CFHEADER_SIZE + CFFOLDER_SIZE * self.folders.len()) as u32;
        h.extend_from_slice(&coff_files.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // reserved3
        h.extend_from_slice(&[3, 1]); // versionMinor, versionMajor
        h.extend_from_slice(&(self.folders.len() as u16).to_le_bytes());
        h.extend_from_slice(&(self.files.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // flags: no prev/next cabinet, no reserve
        h.extend_from_slice(&0u16.to_le_bytes()); // setID: fixed, keeps output reproducible
        h.extend_from_slice(&0u16.to_le_bytes()); // iCabinet
        let type_compress: u16 = match self.codec {
            BlockCodec::Stored => 0,
            BlockCodec::MsZip { .. } => 1,
        };
        for folder in &self.folders {
            h.extend_from_slice(&0u32.to_le_bytes()); // coffCabStart, patched
            h.extend_from_slice(&(folder.blocks as u16).to_le_bytes());
            h.extend_from_slice(&type_compress.to_le_bytes());
        }
        for file in &self.files {
            push_cffile(&mut h, file);
        }
        debug_assert_eq!(h.len(), len);
        h
    }

    /// Sequence number of each folder's first block (the next folder's for an empty one).
    pub(crate) fn folder_first_blocks(&self) -> Vec<usize> {
        let mut next = 0;
        self.folders
            .iter()
            .map(|f| {
                let first = next;
                next += f.blocks;
                first
            })
            .collect()
    }
}

/// The block codec for `compression`, refusing a level that is not a deflate level.
fn codec(compression: Compression) -> Result<BlockCodec, CabError> {
    match compression {
        Compression::None => Ok(BlockCodec::Stored),
        Compression::MsZip { level } if level <= 9 => Ok(BlockCodec::MsZip {
            level: level as i32,
        }),
        Compression::MsZip { level } => Err(CabError::InvalidLevel { level }),
    }
}

/// Checks each entry and places it: files in order, a new folder when the next file would
/// push the current one past `folder_limit` (block counts are left 0).
fn lay_out(
    entries: &[CabEntry],
    folder_limit: u64,
) -> Result<(Vec<PlannedFile<'_>>, Vec<PlannedFolder>), CabError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    let mut files = Vec::with_capacity(entries.len());
    let mut folders: Vec<PlannedFolder> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        validate_name(index, &entry.name)?;
        if let Some(first) = seen.insert(entry.name.as_str(), index) {
            return Err(CabError::DuplicateName {
                name: entry.name.clone(),
                first,
                second: index,
            });
        }
        let size = source_size(&entry.source)?;
        if size > MAX_FOLDER_UNCOMPRESSED {
            return Err(CabError::FileTooLarge {
                name: entry.name.clone(),
                size,
                limit: MAX_FOLDER_UNCOMPRESSED,
            });
        }
        let start_new = match folders.last() {
            None => true,
            Some(f) => f.uncompressed > 0 && f.uncompressed + size > folder_limit,
        };
        if start_new {
            folders.push(PlannedFolder {
                files: index..index,
                uncompressed: 0,
                blocks: 0,
            });
        }
        let folder_index = folders.len() - 1;
        let folder = folders.last_mut().expect("a folder was just ensured");
        files.push(PlannedFile {
            entry,
            size,
            folder: u16::try_from(folder_index).expect("folders <= files <= 65535"),
            offset_in_folder: u32::try_from(folder.uncompressed)
                .expect("folder size bounded by MAX_FOLDER_UNCOMPRESSED"),
        });
        folder.files.end = index + 1;
        folder.uncompressed += size;
    }
    Ok((files, folders))
}

/// Appends one CFFILE record.
fn push_cffile(h: &mut Vec<u8>, file: &PlannedFile<'_>) {
    let e = file.entry;
    let mut attributes = e.attributes;
    if !e.name.is_ascii() {
        attributes |= ATTR_NAME_IS_UTF;
    }
    h.extend_from_slice(&(file.size as u32).to_le_bytes());
    h.extend_from_slice(&file.offset_in_folder.to_le_bytes());
    h.extend_from_slice(&file.folder.to_le_bytes());
    h.extend_from_slice(&e.dos_datetime.0.to_le_bytes());
    h.extend_from_slice(&e.dos_datetime.1.to_le_bytes());
    h.extend_from_slice(&attributes.to_le_bytes());
    h.extend_from_slice(e.name.as_bytes());
    h.push(0);
}

/// Writes `cbCabinet` (`total`) and every CFFOLDER.coffCabStart into the header of the
/// cabinet that begins at `start`, then leaves `out` at the cabinet's end.
pub(crate) fn patch_header<W: Write + Seek>(
    out: &mut W,
    start: u64,
    total: u64,
    folder_offsets: &[u64],
) -> Result<(), CabError> {
    out.seek(SeekFrom::Start(start + 8))
        .map_err(CabError::Write)?;
    out.write_all(&(total as u32).to_le_bytes())
        .map_err(CabError::Write)?;
    for (index, offset) in folder_offsets.iter().enumerate() {
        let at = start + (CFHEADER_SIZE + index * CFFOLDER_SIZE) as u64;
        out.seek(SeekFrom::Start(at)).map_err(CabError::Write)?;
        out.write_all(&(*offset as u32).to_le_bytes())
            .map_err(CabError::Write)?;
    }
    out.seek(SeekFrom::Start(start + total))
        .map_err(CabError::Write)?;
    Ok(())
}

fn validate_name(index: usize, name: &str) -> Result<(), CabError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_BYTES {
        "it is longer than 255 bytes"
    } else if name.contains('\0') {
        "it contains a NUL character"
    } else {
        return Ok(());
    };
    Err(CabError::InvalidName {
        index,
        name: name.to_string(),
        reason,
    })
}

fn source_size(source: &Source) -> Result<u64, CabError> {
    match source {
        Source::Bytes(bytes) => Ok(bytes.len() as u64),
        Source::Path(path) => {
            let meta = std::fs::metadata(path).map_err(|source| CabError::ReadSource {
                path: path.clone(),
                source,
            })?;
            if !meta.is_file() {
                return Err(CabError::NotAFile { path: path.clone() });
            }
            Ok(meta.len())
        }
    }
}
