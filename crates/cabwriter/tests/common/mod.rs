//! Test support: payload generators, external-tool helpers, and a strict, independent
//! cabinet reader whose MSZIP decoder rejects what libmspack rejects.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// True when `tool` is on PATH. When it is missing the test is skipped with a message,
/// except under `CI=true`, where a missing tool fails the test.
pub fn require_tool(tool: &str) -> bool {
    testkit::require_tool(tool).is_some()
}

/// Runs a command, returning (success, stdout + stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("spawn tool");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Text-like bytes: words from a small vocabulary in pseudo-random order.
pub fn text_bytes(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "service",
        "install",
        "the",
        "of",
        "windows",
        "release",
        "config",
        "port",
        "listen",
        "error",
        "cabinet",
        "folder",
        "=",
        "{",
        "}",
        "\n",
        "value",
        "a",
        "to",
        "and",
        "msi",
        "component",
        "upgrade",
        "firewall",
        "rule",
        "0x",
        "42",
        "timeout",
        "log",
        "path",
    ];
    let noise = random_bytes(len, seed);
    let mut out = Vec::with_capacity(len + 16);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(WORDS[noise[i % noise.len()] as usize % WORDS.len()].as_bytes());
        out.push(b' ');
        i += 1;
    }
    out.truncate(len);
    out
}

/// `pattern` repeated up to `len` bytes.
pub fn repeat_bytes(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}

/// Files as a reader sees them.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub name: String,
    pub data: Vec<u8>,
    pub folder: u16,
    pub offset: u32,
    pub date: u16,
    pub time: u16,
    pub attributes: u16,
}

#[derive(Debug)]
pub struct ParsedCab {
    pub files: Vec<ParsedFile>,
    /// Per folder: (coffCabStart, number of CFDATA blocks, typeCompress).
    pub folders: Vec<(u32, u16, u16)>,
    /// Largest cbData seen.
    pub max_cb_data: usize,
    pub set_id: u16,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn checksum(data: &[u8], seed: u32) -> u32 {
    let mut csum = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        csum ^= u32_at(c, 0);
    }
    let mut last = 0u32;
    for &b in chunks.remainder() {
        last = last << 8 | u32::from(b);
    }
    csum ^ last
}

/// Parses and fully decodes a cabinet, checking every field and checksum a strict reader
/// would check. Panics with a message on anything wrong.
pub fn parse_cab(cab: &[u8]) -> ParsedCab {
    assert_eq!(&cab[0..4], b"MSCF", "signature");
    assert_eq!(
        u32_at(cab, 8) as usize,
        cab.len(),
        "cbCabinet must equal the file size"
    );
    assert_eq!((cab[24], cab[25]), (3, 1), "version 1.3");
    let n_folders = u16_at(cab, 26) as usize;
    let n_files = u16_at(cab, 28) as usize;
    assert_eq!(u16_at(cab, 30), 0, "flags");
    assert_eq!(u16_at(cab, 34), 0, "iCabinet");
    assert_eq!(u32_at(cab, 16) as usize, 36 + 8 * n_folders, "coffFiles");
    let folders: Vec<(u32, u16, u16)> = (0..n_folders)
        .map(|i| {
            let at = 36 + 8 * i;
            (u32_at(cab, at), u16_at(cab, at + 4), u16_at(cab, at + 6))
        })
        .collect();
    let mut at = u32_at(cab, 16) as usize;
    let mut entries = Vec::new();
    for _ in 0..n_files {
        let size = u32_at(cab, at);
        let offset = u32_at(cab, at + 4);
        let folder = u16_at(cab, at + 8);
        let (date, time, attributes) = (
            u16_at(cab, at + 10),
            u16_at(cab, at + 12),
            u16_at(cab, at + 14),
        );
        let name_end = at + 16 + cab[at + 16..].iter().position(|&b| b == 0).expect("NUL");
        let name = String::from_utf8(cab[at + 16..name_end].to_vec()).expect("UTF-8 name");
        assert_eq!(
            attributes & 0x80 != 0,
            !name.is_ascii(),
            "_A_NAME_IS_UTF for {name}"
        );
        at = name_end + 1;
        entries.push((name, size, offset, folder, date, time, attributes));
    }
    assert_eq!(
        at as u32,
        folders.first().map_or(at as u32, |f| f.0),
        "data follows the file table"
    );

    // Decode each folder; history carries over from block to block within a folder only.
    let mut folder_data = Vec::new();
    let mut max_cb_data = 0;
    let mut pos = at;
    for (index, &(start, blocks, type_compress)) in folders.iter().enumerate() {
        assert_eq!(start as usize, pos, "folder {index} coffCabStart");
        let mut out = Vec::new();
        for b in 0..blocks {
            let csum = u32_at(cab, pos);
            let cb_data = u16_at(cab, pos + 4);
            let cb_uncomp = u16_at(cab, pos + 6);
            let payload = &cab[pos + 8..pos + 8 + cb_data as usize];
            assert_eq!(
                csum,
                checksum(&cab[pos + 4..pos + 8], checksum(payload, 0)),
                "CFDATA checksum"
            );
            max_cb_data = max_cb_data.max(cb_data as usize);
            if b + 1 < blocks {
                assert_eq!(cb_uncomp, 32768, "only a folder's last block may be short");
            }
            assert!(cb_uncomp > 0, "empty CFDATA block");
            match type_compress {
                0 => out.extend_from_slice(payload),
                1 => {
                    assert!(
                        cb_data as usize <= 32768 + 6144,
                        "cbData {cb_data} over the MSZIP limit"
                    );
                    assert_eq!(&payload[..2], b"CK", "MSZIP signature");
                    let before = out.len();
                    inflate_strict(&payload[2..], &mut out)
                        .unwrap_or_else(|e| panic!("folder {index} block {b}: {e}"));
                    assert_eq!(out.len() - before, cb_uncomp as usize, "cbUncomp");
                }
                t => panic!("unexpected typeCompress {t}"),
            }
            pos += 8 + cb_data as usize;
        }
        folder_data.push(out);
    }
    assert_eq!(pos, cab.len(), "no trailing bytes after the last CFDATA");

    let files = entries
        .into_iter()
        .map(|(name, size, offset, folder, date, time, attributes)| {
            let data = &folder_data[folder as usize];
            let end = offset as usize + size as usize;
            assert!(end <= data.len(), "{name} runs past its folder's data");
            ParsedFile {
                name,
                data: data[offset as usize..end].to_vec(),
                folder,
                offset,
                date,
                time,
                attributes,
            }
        })
        .collect();
    ParsedCab {
        files,
        folders,
        max_cb_data,
        set_id: u16_at(cab, 32),
    }
}

/// Canonical Huffman code as counts per length and symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
}

/// Builds a code from lengths. `strict` rejects an incomplete code with any symbol,
/// exactly the tables libmspack refuses ("single code" distance tables included).
fn build(lengths: &[u8], strict: bool, what: &str) -> Result<Huffman, String> {
    let mut count = [0u16; 16];
    for &l in lengths {
        count[l as usize] += 1;
    }
    let used = lengths.len() as u16 - count[0];
    let mut left: i32 = 1;
    for &n in &count[1..] {
        left <<= 1;
        left -= i32::from(n);
        if left < 0 {
            return Err(format!("over-subscribed {what} code"));
        }
    }
    if strict && left > 0 && used > 0 {
        return Err(format!(
            "incomplete {what} code ({used} symbol(s)); libmspack rejects such tables"
        ));
    }
    let mut offs = [0u16; 16];
    for len in 1..15 {
        offs[len + 1] = offs[len] + count[len];
    }
    let mut symbol = vec![0u16; lengths.len()];
    for (sym, &l) in lengths.iter().enumerate() {
        if l != 0 {
            symbol[offs[l as usize] as usize] = sym as u16;
            offs[l as usize] += 1;
        }
    }
    Ok(Huffman { count, symbol })
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    fn bits(&mut self, need: u32) -> Result<u32, String> {
        let mut val = self.buf;
        while self.cnt < need {
            let byte = *self.data.get(self.pos).ok_or("deflate stream truncated")?;
            self.pos += 1;
            val |= u32::from(byte) << self.cnt;
            self.cnt += 8;
        }
        self.buf = val >> need;
        self.cnt -= need;
        Ok(val & ((1u32 << need) - 1))
    }

    fn decode(&mut self, h: &Huffman) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.bits(1)? as i32;
            let count = i32::from(h.count[len]);
            if code - count < first {
                return Ok(h.symbol[(index + (code - first)) as usize]);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
    }
}

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Inflates one raw deflate stream, appending to `out`, whose existing content is the
/// history matches may reach into (at most 32 KiB back). The stream must end exactly at
/// the end of `data`.
pub fn inflate_strict(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    let mut bits = Bits {
        data,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    loop {
        let last = bits.bits(1)?;
        match bits.bits(2)? {
            0 => {
                bits.buf = 0;
                bits.cnt = 0;
                let p = bits.pos;
                let len = u16_at(data, p);
                if !len != u16_at(data, p + 2) {
                    return Err("stored block length check failed".into());
                }
                let body = data
                    .get(p + 4..p + 4 + len as usize)
                    .ok_or("stored block truncated")?;
                out.extend_from_slice(body);
                bits.pos = p + 4 + len as usize;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = build(&lengths, false, "fixed literal")?;
                let dist = build(&[5u8; 30], false, "fixed distance")?;
                codes(&mut bits, out, &lit, &dist)?;
            }
            2 => {
                let nlen = bits.bits(5)? as usize + 257;
                let ndist = bits.bits(5)? as usize + 1;
                let ncode = bits.bits(4)? as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &i in &ORDER[..ncode] {
                    cl[i] = bits.bits(3)? as u8;
                }
                let clcode = build(&cl, true, "code-length")?;
                let mut lengths = vec![0u8; nlen + ndist];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = bits.decode(&clcode)?;
                    let (value, repeat) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => {
                            let prev = *lengths[..i]
                                .last()
                                .ok_or("repeat with no previous length")?;
                            (prev, 3 + bits.bits(2)? as usize)
                        }
                        17 => (0, 3 + bits.bits(3)? as usize),
                        _ => (0, 11 + bits.bits(7)? as usize),
                    };
                    if i + repeat > nlen + ndist {
                        return Err("code lengths overflow".into());
                    }
                    lengths[i..i + repeat].fill(value);
                    i += repeat;
                }
                if lengths[256] == 0 {
                    return Err("no end-of-block code".into());
                }
                let lit = build(&lengths[..nlen], true, "literal/length")?;
                let dist = build(&lengths[nlen..], true, "distance")?;
                codes(&mut bits, out, &lit, &dist)?;
            }
            _ => return Err("reserved block type".into()),
        }
        if last == 1 {
            break;
        }
    }
    if bits.pos != data.len() {
        return Err(format!(
            "{} bytes after the final deflate block",
            data.len() - bits.pos
        ));
    }
    if out.len() - start > 32768 {
        return Err("block decodes to more than 32 KiB".into());
    }
    Ok(())
}

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), String> {
    loop {
        let sym = bits.decode(lit)? as usize;
        if sym < 256 {
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let sym = sym - 257;
            if sym >= 29 {
                return Err("invalid length symbol".into());
            }
            let len = LBASE[sym] as usize + bits.bits(u32::from(LEXT[sym]))? as usize;
            let dsym = bits.decode(dist)? as usize;
            if dsym >= 30 {
                return Err("invalid distance symbol".into());
            }
            let d = DBASE[dsym] as usize + bits.bits(u32::from(DEXT[dsym]))? as usize;
            if d > out.len() || d > 32768 {
                return Err(format!("distance {d} reaches before the available history"));
            }
            for _ in 0..len {
                out.push(out[out.len() - d]);
            }
        }
    }
}

/// Reads every file of `dir` (recursively) into (relative path with '/', bytes), sorted.
pub fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
