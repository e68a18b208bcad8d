//! Digests of release files: SHA-256 (for `SHA256SUMS` and the manifest) together with the
//! BLAKE2b-512 prehash minisign signs, computed in one pass over the bytes — either while a file
//! is written ([`HashingWriter`]) or by streaming an existing one ([`hash_file`]) — and the
//! `SHA256SUMS` file that lists them in the form `sha256sum -c` reads.
//!
//! *Invariant:* every file is read at most once for its digests, and `SHA256SUMS` has exactly
//! one spelling per set of files (sorted, unique, plain names; [`parse_sha256sums`] accepts
//! only what [`sha256sums_text`] writes).

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use minisig::Prehash;
use sha2::{Digest as _, Sha256};

use crate::fsio::{IoContext, IoError};

/// Name of the checksum file, in the format `sha256sum -c` reads.
pub const SHA256SUMS_FILE: &str = "SHA256SUMS";

/// A SHA-256 digest; displayed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// SHA-256 of a byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, as `sha256sum` prints it.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses exactly 64 lowercase hex digits (the only form winrelease writes).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Sha256Digest(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// Size, SHA-256 and the BLAKE2b-512 prehash minisign signs, from one pass over the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: Sha256Digest,
    pub prehash: Prehash,
}

/// A writer that hashes everything written through it: wrap the file an artifact is written
/// to, and the digest is ready when the artifact is, without reading it back.
pub struct HashingWriter<W: Write> {
    inner: W,
    state: DigestState,
}

#[derive(Default)]
struct DigestState {
    size: u64,
    sha256: Sha256,
    blake2b: minisig::DataHasher,
}

impl DigestState {
    fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha256.update(bytes);
        self.blake2b.update(bytes);
    }

    /// Like `update`, but SHA-256 and BLAKE2b-512 run on two threads: each alone streams at
    /// about 1 GB/s here, one after the other at half that. Worth it for large chunks only.
    fn update_in_parallel(&mut self, bytes: &[u8]) {
        if bytes.len() < PARALLEL_HASH_MIN {
            return self.update(bytes);
        }
        self.size += bytes.len() as u64;
        let (sha256, blake2b) = (&mut self.sha256, &mut self.blake2b);
        std::thread::scope(|scope| {
            scope.spawn(|| blake2b.update(bytes));
            sha256.update(bytes);
        });
    }

    fn finish(self) -> FileDigest {
        FileDigest {
            size: self.size,
            sha256: Sha256Digest(self.sha256.finalize().into()),
            prehash: self.blake2b.finalize(),
        }
    }
}

impl<W: Write> HashingWriter<W> {
    /// Starts hashing what is written to `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            state: DigestState::default(),
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.state.size
    }

    /// Stops hashing; returns the writer (not flushed) and the digest of everything written.
    pub fn finish(self) -> (W, FileDigest) {
        (self.inner, self.state.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        // Only what the inner writer accepted is part of the file.
        self.state.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Smallest chunk hashed on two threads (below it, a thread costs more than it saves).
const PARALLEL_HASH_MIN: usize = 256 * 1024;

/// Digest of everything `reader` yields, streamed in 2 MiB chunks, the two hashes computed
/// side by side.
pub fn hash_reader<R: Read>(mut reader: R) -> io::Result<FileDigest> {
    let mut state = DigestState::default();
    let mut buffer = vec![0u8; 2 * 1024 * 1024];
    loop {
        match read_full(&mut reader, &mut buffer) {
            Ok(0) => return Ok(state.finish()),
            Ok(n) => state.update_in_parallel(&buffer[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Reads until `buffer` is full or the reader ends; returns how much was read.
fn read_full<R: Read>(reader: &mut R, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Digest of a file written by someone else (the exe by `go build`, the MSI by `msi-writer`),
/// streamed once.
pub fn hash_file(path: &Path) -> Result<FileDigest, IoError> {
    let file = fs::File::open(path).at("reading", path)?;
    hash_reader(io::BufReader::new(file)).at("reading", path)
}

// ---------------------------------------------------------------------------------------------
// SHA256SUMS
// ---------------------------------------------------------------------------------------------

/// A release file name that cannot be listed in `SHA256SUMS` (or joined to a release folder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("artifact name {name:?} {reason}\nfix: artifact names are plain file names without separators or line breaks")]
pub struct BadFileName {
    pub name: String,
    /// What is wrong with it, as [`check_file_name`] says.
    pub reason: &'static str,
}

/// The `SHA256SUMS` text for `entries`: `<hex>  <name>\n` per file, sorted by name (byte order),
/// which `sha256sum -c SHA256SUMS` checks. Names must be plain file names: no path separator,
/// backslash or line break (GNU sha256sum would escape those).
pub fn sha256sums_text(entries: &[(String, Sha256Digest)]) -> Result<String, BadFileName> {
    let mut sorted: Vec<&(String, Sha256Digest)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::new();
    for pair in sorted.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(BadFileName {
                name: pair[0].0.clone(),
                reason: "appears twice",
            });
        }
    }
    for (name, digest) in sorted {
        check_file_name(name).map_err(|reason| BadFileName {
            name: name.clone(),
            reason,
        })?;
        text.push_str(&format!("{digest}  {name}\n"));
    }
    Ok(text)
}

/// Parses a `SHA256SUMS` file in exactly the form [`sha256sums_text`] writes (text mode, two
/// spaces, sorted, unique, trailing newline). Returns `(name, digest)` pairs in file order.
pub fn parse_sha256sums(text: &str) -> Result<Vec<(String, Sha256Digest)>, String> {
    if text.is_empty() {
        return Err("is empty".into());
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err("does not end with a newline".into());
    };
    let mut entries: Vec<(String, Sha256Digest)> = Vec::new();
    for (index, line) in body.split('\n').enumerate() {
        let number = index + 1;
        let (hex, name) = line
            .split_once("  ")
            .ok_or_else(|| format!("line {number} is not `<sha256>  <file name>`"))?;
        let digest = Sha256Digest::from_hex(hex)
            .ok_or_else(|| format!("line {number} does not start with 64 lowercase hex digits"))?;
        check_file_name(name).map_err(|reason| format!("line {number}: file name {reason}"))?;
        if let Some((previous, _)) = entries.last() {
            if previous.as_bytes() >= name.as_bytes() {
                return Err(format!(
                    "line {number}: `{name}` is out of order or repeated"
                ));
            }
        }
        entries.push((name.to_owned(), digest));
    }
    Ok(entries)
}

/// Checks that `name` is a plain file name safe to join to a release folder and to list in
/// `SHA256SUMS`. Returns the reason when it is not.
pub fn check_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return Err("is `.` or `..`");
    }
    if name.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("contains a control character");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err("starts or ends with a space");
    }
    if name.contains(':') {
        return Err("contains `:` (not allowed in Windows file names)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_and_parse_back() {
        let a = Sha256Digest::of(b"a");
        let b = Sha256Digest::of(b"b");
        let text = sha256sums_text(&[("b.zip".into(), b), ("a.exe".into(), a)]).unwrap();
        assert_eq!(text, format!("{a}  a.exe\n{b}  b.zip\n"));
        assert_eq!(
            parse_sha256sums(&text).unwrap(),
            vec![("a.exe".to_string(), a), ("b.zip".to_string(), b)]
        );
        assert!(parse_sha256sums(&format!("{b}  b.zip\n{a}  a.exe\n")).is_err());
        assert!(parse_sha256sums(&format!("{a} *a.exe\n")).is_err());
        assert!(sha256sums_text(&[("x/y".into(), a)]).is_err());
        assert!(sha256sums_text(&[("x".into(), a), ("x".into(), b)]).is_err());
    }

    #[test]
    fn hashing_writer_matches_one_shot_digest() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = HashingWriter::new(Vec::new());
        for chunk in data.chunks(7777) {
            writer.write_all(chunk).unwrap();
        }
        let (bytes, digest) = writer.finish();
        assert_eq!(bytes, data);
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.sha256, Sha256Digest::of(&data));
        assert_eq!(digest, hash_reader(&data[..]).unwrap());
        let mut blake = minisig::DataHasher::new();
        blake.update(&data);
        assert_eq!(digest.prehash, blake.finalize());
    }
}
