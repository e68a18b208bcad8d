//! A write-once compound file (MS-CFB version 3, 512-byte sectors) writer.
//!
//! Everything is laid out in one pass from the stream sizes, so every chain is contiguous and in
//! a fixed order: FAT, DIFAT, directory, mini FAT, mini stream, the large streams (in the order
//! given). Timestamps are zero, stream CLSIDs are zero and the root CLSID is the caller's, so the
//! output depends only on the input. Readers that reject fragmented or out-of-order chains
//! (osslsigncode's "corrupted sector location") are happy with it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

const SECTOR: usize = 512;
const MINI_SECTOR: usize = 64;
const MINI_CUTOFF: u64 = 4096;
const DIR_ENTRY: usize = 128;
const ENTRIES_PER_FAT_SECTOR: usize = SECTOR / 4;
const HEADER_DIFAT: usize = 109;
/// Each DIFAT sector lists 127 FAT sectors and links to the next DIFAT sector.
const DIFAT_PER_SECTOR: usize = ENTRIES_PER_FAT_SECTOR - 1;

const FREESECT: u32 = 0xFFFF_FFFF;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FATSECT: u32 = 0xFFFF_FFFD;
const DIFSECT: u32 = 0xFFFF_FFFC;
const NOSTREAM: u32 = 0xFFFF_FFFF;

/// Content of one stream.
pub(crate) enum StreamData {
    /// In memory.
    Bytes(Vec<u8>),
    /// A file on disk of a known length (checked while copying).
    File(PathBuf, u64),
}

impl StreamData {
    fn len(&self) -> u64 {
        match self {
            StreamData::Bytes(bytes) => bytes.len() as u64,
            StreamData::File(_, len) => *len,
        }
    }
}

/// A stream in the root storage (MSI packages have no sub-storages).
pub(crate) struct Stream {
    /// Name as stored (already encoded; at most 31 UTF-16 code units).
    pub name: String,
    pub data: StreamData,
}

/// Compares names the way compound-file directories are ordered: shorter first, then by the
/// upper-cased UTF-16 code units.
fn cfb_name_cmp(a: &[u16], b: &[u16]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        let upper = |unit: u16| -> u16 {
            char::from_u32(u32::from(unit))
                .map(|c| {
                    let mut up = c.to_uppercase();
                    match (up.next(), up.next()) {
                        (Some(u), None) if (u as u32) <= 0xFFFF => u as u16,
                        _ => unit,
                    }
                })
                .unwrap_or(unit)
        };
        a.iter().map(|&u| upper(u)).cmp(b.iter().map(|&u| upper(u)))
    })
}

struct Placement {
    start: u32,
    mini: bool,
}

/// Writes the compound file for `streams` with root storage class `root_clsid` (in on-disk byte
/// order) to `out`.
pub(crate) fn write_compound_file<W: Write>(
    out: &mut W,
    root_clsid: [u8; 16],
    streams: &[Stream],
) -> io::Result<()> {
    // Directory order: root (entry 0), then streams sorted by the CFB name order; the tree is a
    // balanced binary search tree over that order.
    let names: Vec<Vec<u16>> = streams
        .iter()
        .map(|s| s.name.encode_utf16().collect())
        .collect();
    for name in &names {
        if name.is_empty() || name.len() > 31 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "stream name must be 1 to 31 UTF-16 units",
            ));
        }
    }
    let mut order: Vec<usize> = (0..streams.len()).collect();
    order.sort_by(|&a, &b| cfb_name_cmp(&names[a], &names[b]));
    for pair in order.windows(2) {
        if cfb_name_cmp(&names[pair[0]], &names[pair[1]]) == std::cmp::Ordering::Equal {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "duplicate stream name",
            ));
        }
    }

    // Mini stream: streams below the cutoff, in directory order.
    let mut placements: Vec<Placement> = streams
        .iter()
        .map(|_| Placement {
            start: ENDOFCHAIN,
            mini: false,
        })
        .collect();
    let mut mini_sectors = 0usize;
    for &i in &order {
        let len = streams[i].data.len();
        if len > 0 && len < MINI_CUTOFF {
            placements[i] = Placement {
                start: mini_sectors as u32,
                mini: true,
            };
            mini_sectors += (len as usize).div_ceil(MINI_SECTOR);
        }
    }
    let mini_stream_bytes = mini_sectors * MINI_SECTOR;

    let dir_entries = 1 + streams.len();
    let dir_sectors = (dir_entries * DIR_ENTRY).div_ceil(SECTOR);
    let minifat_sectors = (mini_sectors * 4).div_ceil(SECTOR);
    let ministream_sectors = mini_stream_bytes.div_ceil(SECTOR);

    // Sector map: [FAT][DIFAT][directory][mini FAT][mini stream][large streams...]. The FAT
    // comes first because some readers (osslsigncode) refuse a directory starting at sector 0.
    let big_sizes: Vec<(usize, usize)> = streams
        .iter()
        .enumerate()
        .filter(|(_, s)| s.data.len() >= MINI_CUTOFF)
        .map(|(i, s)| (i, (s.data.len() as usize).div_ceil(SECTOR)))
        .collect();
    let data_sectors = dir_sectors
        + minifat_sectors
        + ministream_sectors
        + big_sizes.iter().map(|(_, c)| c).sum::<usize>();
    let (mut fat_sectors, mut difat_sectors) = (0usize, 0usize);
    loop {
        let fat = (data_sectors + fat_sectors + difat_sectors).div_ceil(ENTRIES_PER_FAT_SECTOR);
        let difat = fat.saturating_sub(HEADER_DIFAT).div_ceil(DIFAT_PER_SECTOR);
        if fat == fat_sectors && difat == difat_sectors {
            break;
        }
        (fat_sectors, difat_sectors) = (fat, difat);
    }
    let fat_start = 0;
    let difat_start = fat_start + fat_sectors;
    let dir_start = difat_start + difat_sectors;
    let minifat_start = dir_start + dir_sectors;
    let ministream_start = minifat_start + minifat_sectors;
    let mut next = ministream_start + ministream_sectors;
    let mut big: Vec<(usize, usize)> = Vec::new(); // (stream index, sector count), in input order
    for (i, count) in big_sizes {
        placements[i] = Placement {
            start: next as u32,
            mini: false,
        };
        big.push((i, count));
        next += count;
    }
    let total_sectors = next;
    debug_assert_eq!(total_sectors, fat_sectors + difat_sectors + data_sectors);
    if total_sectors >= (FREESECT - 8) as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "compound file too large",
        ));
    }

    // FAT.
    let mut fat = vec![FREESECT; fat_sectors * ENTRIES_PER_FAT_SECTOR];
    let chain = |start: usize, count: usize, fat: &mut Vec<u32>| {
        link_chain(&mut fat[start..start + count], start)
    };
    chain(dir_start, dir_sectors, &mut fat);
    chain(minifat_start, minifat_sectors, &mut fat);
    chain(ministream_start, ministream_sectors, &mut fat);
    for &(i, count) in &big {
        chain(placements[i].start as usize, count, &mut fat);
    }
    fat[fat_start..fat_start + fat_sectors].fill(FATSECT);
    fat[difat_start..difat_start + difat_sectors].fill(DIFSECT);

    // Mini FAT.
    let mut minifat = vec![FREESECT; minifat_sectors * ENTRIES_PER_FAT_SECTOR];
    for (i, placement) in placements.iter().enumerate() {
        if placement.mini {
            let start = placement.start as usize;
            let count = (streams[i].data.len() as usize).div_ceil(MINI_SECTOR);
            link_chain(&mut minifat[start..start + count], start);
        }
    }

    // Directory.
    let mut dir = vec![0u8; dir_sectors * SECTOR];
    let mut left = vec![NOSTREAM; dir_entries];
    let mut right = vec![NOSTREAM; dir_entries];
    let mut red = vec![false; dir_entries];
    let root_child = build_tree(
        &order,
        0,
        order.len(),
        0,
        tree_depth(order.len()),
        &mut left,
        &mut right,
        &mut red,
    );
    // Entry ids: root = 0, stream `order[k]` = k + 1.
    for (slot, entry) in dir.chunks_mut(DIR_ENTRY).enumerate() {
        if slot >= dir_entries {
            // Unused entries: no name, type 0, no siblings or child.
            entry[0x44..0x50].copy_from_slice(&[0xFF; 12]);
            continue;
        }
        let (name, kind, clsid, start, size): (Vec<u16>, u8, [u8; 16], u32, u64) = if slot == 0 {
            let start = chain_start(ministream_sectors, ministream_start);
            (
                "Root Entry".encode_utf16().collect(),
                5,
                root_clsid,
                start,
                mini_stream_bytes as u64,
            )
        } else {
            let i = order[slot - 1];
            let len = streams[i].data.len();
            (
                names[i].clone(),
                2,
                [0; 16],
                if len == 0 {
                    ENDOFCHAIN
                } else {
                    placements[i].start
                },
                len,
            )
        };
        for (k, unit) in name.iter().enumerate() {
            entry[k * 2..k * 2 + 2].copy_from_slice(&unit.to_le_bytes());
        }
        entry[0x40..0x42].copy_from_slice(&(((name.len() + 1) * 2) as u16).to_le_bytes());
        entry[0x42] = kind;
        entry[0x43] = if slot != 0 && red[slot] { 0 } else { 1 };
        let (l, r, child) = if slot == 0 {
            (NOSTREAM, NOSTREAM, root_child)
        } else {
            (left[slot], right[slot], NOSTREAM)
        };
        entry[0x44..0x48].copy_from_slice(&l.to_le_bytes());
        entry[0x48..0x4C].copy_from_slice(&r.to_le_bytes());
        entry[0x4C..0x50].copy_from_slice(&child.to_le_bytes());
        entry[0x50..0x60].copy_from_slice(&clsid);
        // state bits, creation and modification times stay zero
        entry[0x74..0x78].copy_from_slice(&start.to_le_bytes());
        entry[0x78..0x80].copy_from_slice(&size.to_le_bytes());
    }

    // Header.
    let mut header = vec![0u8; SECTOR];
    header[0..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header[0x18..0x1A].copy_from_slice(&0x003Eu16.to_le_bytes()); // minor version
    header[0x1A..0x1C].copy_from_slice(&0x0003u16.to_le_bytes()); // major version 3
    header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
    header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes()); // sector shift
    header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes()); // mini sector shift
    header[0x2C..0x30].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
    header[0x30..0x34].copy_from_slice(&(dir_start as u32).to_le_bytes());
    header[0x38..0x3C].copy_from_slice(&(MINI_CUTOFF as u32).to_le_bytes());
    header[0x3C..0x40].copy_from_slice(&chain_start(minifat_sectors, minifat_start).to_le_bytes());
    header[0x40..0x44].copy_from_slice(&(minifat_sectors as u32).to_le_bytes());
    header[0x44..0x48].copy_from_slice(&chain_start(difat_sectors, difat_start).to_le_bytes());
    header[0x48..0x4C].copy_from_slice(&(difat_sectors as u32).to_le_bytes());
    for k in 0..HEADER_DIFAT {
        let value = if k < fat_sectors {
            (fat_start + k) as u32
        } else {
            FREESECT
        };
        header[0x4C + k * 4..0x50 + k * 4].copy_from_slice(&value.to_le_bytes());
    }

    // DIFAT sectors for FAT sectors beyond the 109 listed in the header.
    let mut difat = vec![0u8; difat_sectors * SECTOR];
    for d in 0..difat_sectors {
        let sector = &mut difat[d * SECTOR..(d + 1) * SECTOR];
        for k in 0..DIFAT_PER_SECTOR {
            let fat_index = HEADER_DIFAT + d * DIFAT_PER_SECTOR + k;
            let value = if fat_index < fat_sectors {
                (fat_start + fat_index) as u32
            } else {
                FREESECT
            };
            sector[k * 4..k * 4 + 4].copy_from_slice(&value.to_le_bytes());
        }
        let next = if d + 1 < difat_sectors {
            (difat_start + d + 1) as u32
        } else {
            ENDOFCHAIN
        };
        sector[SECTOR - 4..].copy_from_slice(&next.to_le_bytes());
    }

    // Emit in sector order.
    out.write_all(&header)?;
    write_u32s(out, &fat)?;
    out.write_all(&difat)?;
    out.write_all(&dir)?;
    write_u32s(out, &minifat)?;
    let mut mini = Vec::with_capacity(ministream_sectors * SECTOR);
    for &i in &order {
        if placements[i].mini {
            debug_assert_eq!(mini.len(), placements[i].start as usize * MINI_SECTOR);
            copy_data(&streams[i].data, &mut mini)?;
            mini.resize(mini.len().next_multiple_of(MINI_SECTOR), 0);
        }
    }
    mini.resize(ministream_sectors * SECTOR, 0);
    out.write_all(&mini)?;
    for &(i, count) in &big {
        let written = copy_data(&streams[i].data, out)?;
        out.write_all(&vec![0u8; count * SECTOR - written as usize])?;
    }
    Ok(())
}

/// The first sector of a chain of `sectors` sectors at `start`, or ENDOFCHAIN for an empty one.
fn chain_start(sectors: usize, start: usize) -> u32 {
    if sectors > 0 {
        start as u32
    } else {
        ENDOFCHAIN
    }
}

/// Fills `entries` (the allocation-table slots of a chain starting at sector `start`) so each
/// points to the next sector and the last ends the chain.
fn link_chain(entries: &mut [u32], start: usize) {
    let last = entries.len().saturating_sub(1);
    for (i, entry) in entries.iter_mut().enumerate() {
        *entry = if i == last {
            ENDOFCHAIN
        } else {
            (start + i + 1) as u32
        };
    }
}

fn write_u32s<W: Write>(out: &mut W, values: &[u32]) -> io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.write_all(&bytes)
}

fn copy_data<W: Write + ?Sized>(data: &StreamData, out: &mut W) -> io::Result<u64> {
    match data {
        StreamData::Bytes(bytes) => {
            out.write_all(bytes)?;
            Ok(bytes.len() as u64)
        }
        StreamData::File(path, len) => {
            let file = File::open(path)?;
            let copied = io::copy(&mut file.take(*len), out)?;
            if copied != *len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while being copied", path.display()),
                ));
            }
            Ok(copied)
        }
    }
}

/// Depth (0-based) of the deepest node of the balanced tree over `n` nodes.
fn tree_depth(n: usize) -> usize {
    let mut depth = 0;
    while (1usize << (depth + 1)) - 1 < n {
        depth += 1;
    }
    depth
}

/// Builds a balanced binary search tree over `order[lo..hi]` (entry id = position + 1) and returns
/// the subtree root's entry id. Nodes on the last, incomplete level are red and all others black:
/// every path then passes the same number of black nodes, so the tree is a valid red-black tree.
#[allow(clippy::too_many_arguments)]
fn build_tree(
    order: &[usize],
    lo: usize,
    hi: usize,
    depth: usize,
    max_depth: usize,
    left: &mut [u32],
    right: &mut [u32],
    red: &mut [bool],
) -> u32 {
    if lo >= hi {
        return NOSTREAM;
    }
    let mid = lo + (hi - lo) / 2;
    let id = mid + 1;
    let full_levels = (1usize << (max_depth + 1)) - 1 == order.len();
    red[id] = depth == max_depth && !full_levels && max_depth > 0;
    left[id] = build_tree(order, lo, mid, depth + 1, max_depth, left, right, red);
    right[id] = build_tree(order, mid + 1, hi, depth + 1, max_depth, left, right, red);
    id as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the red-black invariants of the tree `build_tree` makes for `n` nodes.
    fn black_heights(n: usize) {
        let order: Vec<usize> = (0..n).collect();
        let mut left = vec![NOSTREAM; n + 1];
        let mut right = vec![NOSTREAM; n + 1];
        let mut red = vec![false; n + 1];
        let root = build_tree(
            &order,
            0,
            n,
            0,
            tree_depth(n),
            &mut left,
            &mut right,
            &mut red,
        );
        fn walk(
            node: u32,
            left: &[u32],
            right: &[u32],
            red: &[bool],
            parent_red: bool,
            blacks: usize,
            out: &mut Vec<usize>,
        ) {
            if node == NOSTREAM {
                out.push(blacks);
                return;
            }
            let i = node as usize;
            assert!(!(parent_red && red[i]), "red node with a red parent");
            let b = blacks + usize::from(!red[i]);
            walk(left[i], left, right, red, red[i], b, out);
            walk(right[i], left, right, red, red[i], b, out);
        }
        let mut heights = Vec::new();
        if root != NOSTREAM {
            assert!(!red[root as usize], "red root");
        }
        walk(root, &left, &right, &red, false, 0, &mut heights);
        heights.dedup();
        assert_eq!(heights.len(), 1, "n={n}: unequal black heights");
    }

    #[test]
    fn directory_trees_are_valid_red_black_trees() {
        for n in 0..300 {
            black_heights(n);
        }
    }

    #[test]
    fn names_order_by_length_then_case_insensitively() {
        let n = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
        use std::cmp::Ordering::*;
        assert_eq!(cfb_name_cmp(&n("b"), &n("aa")), Less);
        assert_eq!(cfb_name_cmp(&n("abc"), &n("ABD")), Less);
        assert_eq!(cfb_name_cmp(&n("abc"), &n("ABC")), Equal);
    }
}
