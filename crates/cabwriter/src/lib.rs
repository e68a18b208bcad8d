//! A fast, deterministic Microsoft Cabinet (CAB) writer with parallel MSZIP compression.
//!
//! Built for the cabinet embedded in an MSI, and read back by Windows' cabinet.dll,
//! libmspack (`cabextract`), libgcab (`gcab`, `msiextract`) and Wine.
//!
//! * One cabinet, no spanning. Files are stored in the order given; a new folder starts
//!   when the next file would push the current folder past its size limit.
//! * MSZIP blocks of 32 KiB are compressed in parallel by zlib-rs; each block uses the
//!   previous block of its folder as a preset dictionary, as MSZIP decoders keep that
//!   history. That is 3-4 % smaller than independent blocks and still parallel, since the
//!   input is known (measurements in `src/block.rs`).
//! * The output depends only on the entries and the compression settings: never on the
//!   thread count, timing or the clock.
//! * Input is streamed: [`Source::Path`] files are read block by block, and memory stays
//!   bounded by a few blocks per thread plus per-file metadata.
//!
//! ```no_run
//! use cabwriter::{write_cabinet, CabEntry, CabOptions, Source};
//! let entries = vec![CabEntry::new("hellosvc.exe", Source::Path("build/hellosvc.exe".into()))];
//! let out = std::fs::File::create("payload.cab").unwrap();
//! let summary = write_cabinet(&entries, &CabOptions::default(), out).unwrap();
//! println!("{} files, {} bytes", summary.files, summary.compressed);
//! ```

mod block;
mod dostime;

use block::{encode_cfdata, BlockCodec, BLOCK_SIZE};
pub use dostime::{dos_datetime_from_unix, DOS_EPOCH};

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Most files one cabinet can list (`cFiles` is 16-bit).
pub const MAX_FILES: usize = 65_535;

/// Longest entry name, in bytes of UTF-8, not counting the terminating NUL.
pub const MAX_NAME_BYTES: usize = 255;

/// Most uncompressed bytes one folder can hold: 65535 CFDATA blocks of 32 KiB
/// (`cCFData` is 16-bit). Also the largest single file this writer accepts.
pub const MAX_FOLDER_UNCOMPRESSED: u64 = 65_535 * BLOCK_SIZE as u64;

/// Compression level used by [`Compression::default`].
pub const DEFAULT_MSZIP_LEVEL: u32 = 5;

/// File attribute telling readers the name is UTF-8 (`_A_NAME_IS_UTF`).
pub const ATTR_NAME_IS_UTF: u16 = 0x80;

/// The "archive" file attribute (`_A_ARCH`), what most cabinet makers set.
pub const ATTR_ARCHIVE: u16 = 0x20;

const CFHEADER_SIZE: usize = 36;
const CFFOLDER_SIZE: usize = 8;
const CFFILE_FIXED_SIZE: usize = 16;
/// CFDATA blocks queued or being compressed per worker thread.
const BLOCKS_IN_FLIGHT_PER_THREAD: usize = 4;

/// Where an entry's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Bytes already in memory.
    Bytes(Vec<u8>),
    /// A regular file, read block by block while the cabinet is written. It must not
    /// change between the call and its end (a size change is detected and reported).
    Path(PathBuf),
}

/// One file to store in the cabinet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CabEntry {
    /// Name inside the cabinet (for an MSI: the File table key). 1..=255 bytes, no NUL,
    /// unique within the cabinet. Non-ASCII names get [`ATTR_NAME_IS_UTF`] set.
    pub name: String,
    /// The file's content.
    pub source: Source,
    /// MS-DOS `(date, time)` stamp; see [`dos_datetime_from_unix`].
    pub dos_datetime: (u16, u16),
    /// MS-DOS attributes (`_A_RDONLY` 0x01, `_A_HIDDEN` 0x02, `_A_SYSTEM` 0x04,
    /// `_A_ARCH` 0x20, `_A_EXEC` 0x40), written as given.
    pub attributes: u16,
}

impl CabEntry {
    /// An entry stamped [`DOS_EPOCH`] with the archive attribute.
    pub fn new(name: impl Into<String>, source: Source) -> Self {
        CabEntry {
            name: name.into(),
            source,
            dos_datetime: DOS_EPOCH,
            attributes: ATTR_ARCHIVE,
        }
    }
}

/// How CFDATA blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is (`typeCompress` 0).
    None,
    /// MSZIP (`typeCompress` 1) at a deflate level from 0 (stored) to 9 (smallest).
    MsZip {
        /// Deflate level, 0..=9; [`DEFAULT_MSZIP_LEVEL`] (5) is within 0.1 % of level 6's
        /// size and markedly faster; 9 is ~2 % smaller and 3x slower.
        level: u32,
    },
}

impl Default for Compression {
    fn default() -> Self {
        Compression::MsZip {
            level: DEFAULT_MSZIP_LEVEL,
        }
    }
}

/// Settings for [`write_cabinet`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CabOptions {
    /// Block compression; default MSZIP at [`DEFAULT_MSZIP_LEVEL`].
    pub compression: Compression,
    /// Compression threads; 0 = the machine's available parallelism. Does not change
    /// the output bytes.
    pub threads: usize,
    /// Uncompressed bytes after which a new folder starts (a file never spans folders,
    /// so a larger file gets a folder of its own). `None` = [`MAX_FOLDER_UNCOMPRESSED`],
    /// the format's limit, which is also the largest value allowed.
    pub max_folder_uncompressed: Option<u64>,
}

/// What [`write_cabinet`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CabSummary {
    /// Number of files (CFFILE entries).
    pub files: usize,
    /// Sum of the files' sizes.
    pub uncompressed: u64,
    /// Size of the whole cabinet in bytes (headers included), i.e. `cbCabinet`.
    pub compressed: u64,
    /// Number of CFDATA blocks.
    pub blocks: usize,
    /// Number of folders.
    pub folders: usize,
}

/// Why a cabinet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CabError {
    /// No entries were given.
    #[error("no files to store: a cabinet needs at least one entry")]
    NoEntries,
    /// More entries than a cabinet can list.
    #[error("{count} files given, but one cabinet holds at most {MAX_FILES}; split the payload over several cabinets")]
    TooManyFiles {
        /// Number of entries given.
        count: usize,
    },
    /// An entry name breaks the cabinet's rules.
    #[error("entry {index} has an invalid name {name:?}: {reason}")]
    InvalidName {
        /// Position of the entry.
        index: usize,
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two entries share a name, so readers could only extract one of them.
    #[error("entries {first} and {second} are both named {name:?}; names inside a cabinet must be unique")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Position of its first use.
        first: usize,
        /// Position of its second use.
        second: usize,
    },
    /// A file is larger than one folder can hold.
    #[error("{name:?} is {size} bytes, over the {limit}-byte limit of a cabinet folder (a file cannot span folders); ship it outside the cabinet or split it")]
    FileTooLarge {
        /// Entry name.
        name: String,
        /// Its size.
        size: u64,
        /// The largest allowed size.
        limit: u64,
    },
    /// The MSZIP level is not a deflate level.
    #[error("MSZIP compression level {level} is out of range: use 0 (store) to 9 (smallest)")]
    InvalidLevel {
        /// The rejected level.
        level: u32,
    },
    /// `max_folder_uncompressed` is outside what the format allows.
    #[error("max_folder_uncompressed = {value} is out of range: use 1..={MAX_FOLDER_UNCOMPRESSED}, or None for the largest")]
    InvalidFolderLimit {
        /// The rejected value.
        value: u64,
    },
    /// The cabinet would pass the format's 32-bit offsets.
    #[error("the cabinet would be larger than 4 GiB (its offsets are 32-bit); split the payload over several cabinets")]
    CabinetTooLarge,
    /// A source path is not a regular file.
    #[error("{} is not a regular file; cabinet entries must be files", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A source file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    ReadSource {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A source file changed size while the cabinet was being written.
    #[error("{} changed while the cabinet was written (expected {expected} bytes, {found}); build from a payload that nothing modifies", path.display())]
    SourceChanged {
        /// The path.
        path: PathBuf,
        /// Size seen when the cabinet was planned.
        expected: u64,
        /// What was found instead.
        found: String,
    },
    /// Writing the cabinet failed.
    #[error("cannot write the cabinet: {0}")]
    Write(#[source] io::Error),
    /// The deflate encoder reported an error (not expected with valid settings).
    #[error("MSZIP compression failed: {0}")]
    Compress(String),
}

/// Writes `entries` as one cabinet to `out`, starting at its current position.
///
/// The headers come first and hold sizes only known at the end (`cbCabinet`, each
/// folder's data offset), so `out` must be seekable; they are patched in place and the
/// position is left at the end of the cabinet. Wrap a `Vec<u8>` in `std::io::Cursor`,
/// or write to a file. Nothing is written if the entries fail validation; after an I/O
/// or source error `out` holds a partial cabinet that must be discarded.
pub fn write_cabinet<W: Write + Seek>(
    entries: &[CabEntry],
    opts: &CabOptions,
    mut out: W,
) -> Result<CabSummary, CabError> {
    let plan = Plan::new(entries, opts)?;
    let start = out.stream_position().map_err(CabError::Write)?;
    let header = plan.header_bytes();
    out.write_all(&header).map_err(CabError::Write)?;

    let mut sink = Sink {
        out: &mut out,
        offset: header.len() as u64,
        folder_offsets: Vec::with_capacity(plan.folders.len()),
        folder_first_block: plan.folder_first_blocks(),
        next_seq: 0,
    };
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    if threads <= 1 || plan.total_blocks <= 1 {
        produce_blocks(&plan, |job| {
            let record = encode_cfdata(
                plan.codec,
                job.dictionary.as_deref().map(|d| &d[..]),
                &job.data,
            )?;
            sink.write_record(job.seq, &record)
        })?;
    } else {
        compress_in_parallel(&plan, threads, &mut sink)?;
    }
    sink.finish_folders();
    let total = sink.offset;
    let folder_offsets = std::mem::take(&mut sink.folder_offsets);
    if total > u64::from(u32::MAX) {
        return Err(CabError::CabinetTooLarge);
    }

    // Patch cbCabinet and every CFFOLDER.coffCabStart, then leave the writer at the end.
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
    out.flush().map_err(CabError::Write)?;

    Ok(CabSummary {
        files: plan.files.len(),
        uncompressed: plan.total_uncompressed(),
        compressed: total,
        blocks: plan.total_blocks,
        folders: plan.folders.len(),
    })
}

/// One validated entry with its place in the cabinet.
struct PlannedFile<'a> {
    entry: &'a CabEntry,
    size: u64,
    folder: u16,
    offset_in_folder: u32,
}

struct PlannedFolder {
    /// Range of `Plan::files` stored in this folder.
    files: std::ops::Range<usize>,
    uncompressed: u64,
    blocks: usize,
}

/// Everything known before any data is read: layout, sizes, header bytes.
struct Plan<'a> {
    files: Vec<PlannedFile<'a>>,
    folders: Vec<PlannedFolder>,
    codec: BlockCodec,
    total_blocks: usize,
}

impl<'a> Plan<'a> {
    fn new(entries: &'a [CabEntry], opts: &CabOptions) -> Result<Self, CabError> {
        if entries.is_empty() {
            return Err(CabError::NoEntries);
        }
        if entries.len() > MAX_FILES {
            return Err(CabError::TooManyFiles {
                count: entries.len(),
            });
        }
        let codec = match opts.compression {
            Compression::None => BlockCodec::Stored,
            Compression::MsZip { level } if level <= 9 => BlockCodec::MsZip {
                level: level as i32,
            },
            Compression::MsZip { level } => return Err(CabError::InvalidLevel { level }),
        };
        let folder_limit = match opts.max_folder_uncompressed {
            None => MAX_FOLDER_UNCOMPRESSED,
            Some(value) if (1..=MAX_FOLDER_UNCOMPRESSED).contains(&value) => value,
            Some(value) => return Err(CabError::InvalidFolderLimit { value }),
        };

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

    fn total_uncompressed(&self) -> u64 {
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
    fn header_bytes(&self) -> Vec<u8> {
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
        debug_assert_eq!(h.len(), len);
        h
    }

    /// Sequence number of each folder's first block (the next folder's for an empty one).
    fn folder_first_blocks(&self) -> Vec<usize> {
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

/// One block to encode: its position in the cabinet's block sequence, its data and,
/// for MSZIP, the previous block of the same folder as the dictionary.
struct Job {
    seq: usize,
    dictionary: Option<Arc<Vec<u8>>>,
    data: Arc<Vec<u8>>,
}

/// Reads every folder's files in order, cuts them into 32 KiB blocks and hands each
/// block to `submit` in sequence.
fn produce_blocks(
    plan: &Plan<'_>,
    mut submit: impl FnMut(Job) -> Result<(), CabError>,
) -> Result<(), CabError> {
    let chain = matches!(plan.codec, BlockCodec::MsZip { .. });
    let mut seq = 0;
    for folder in &plan.folders {
        let mut reader = FolderReader::new(&plan.files[folder.files.clone()]);
        let mut previous: Option<Arc<Vec<u8>>> = None;
        for _ in 0..folder.blocks {
            let mut data = Vec::with_capacity(BLOCK_SIZE);
            reader.fill(&mut data)?;
            debug_assert!(!data.is_empty());
            let data = Arc::new(data);
            let dictionary = if chain { previous.take() } else { None };
            submit(Job {
                seq,
                dictionary,
                data: Arc::clone(&data),
            })?;
            previous = Some(data);
            seq += 1;
        }
        reader.finish()?;
    }
    Ok(())
}

/// Encodes blocks on `threads` workers while this thread reads input and writes the
/// finished records in sequence order.
fn compress_in_parallel<W: Write>(
    plan: &Plan<'_>,
    threads: usize,
    sink: &mut Sink<'_, W>,
) -> Result<(), CabError> {
    let in_flight = threads * BLOCKS_IN_FLIGHT_PER_THREAD;
    let codec = plan.codec;
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<u8>, CabError>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                // A panic must come back as an error: the writer waits for every block.
                let record = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    encode_cfdata(codec, job.dictionary.as_deref().map(|d| &d[..]), &job.data)
                }))
                .unwrap_or_else(|_| Err(CabError::Compress("the encoder panicked".into())));
                if done_tx.send((job.seq, record)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);

        // Moving the job sender into this closure drops it on every exit path, which is
        // what lets the workers stop before the scope joins them.
        let run = move || -> Result<(), CabError> {
            let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            let mut submitted = 0usize;
            let receive_one = |pending: &mut BTreeMap<usize, Vec<u8>>,
                               sink: &mut Sink<'_, W>|
             -> Result<(), CabError> {
                let (seq, record) = done_rx
                    .recv()
                    .expect("workers live while jobs are outstanding");
                pending.insert(seq, record?);
                while let Some(record) = pending.remove(&sink.next_seq) {
                    sink.write_record(sink.next_seq, &record)?;
                }
                Ok(())
            };
            produce_blocks(plan, |job| {
                while submitted - sink.next_seq >= in_flight {
                    receive_one(&mut pending, sink)?;
                }
                job_tx
                    .send(job)
                    .expect("workers live while the sender exists");
                submitted += 1;
                Ok(())
            })?;
            drop(job_tx);
            while sink.next_seq < submitted {
                receive_one(&mut pending, sink)?;
            }
            Ok(())
        };
        run()
    })
}

/// Writes CFDATA records in sequence and remembers where each folder's data starts.
struct Sink<'w, W: Write> {
    out: &'w mut W,
    /// Bytes written since the start of the cabinet.
    offset: u64,
    folder_offsets: Vec<u64>,
    folder_first_block: Vec<usize>,
    next_seq: usize,
}

impl<W: Write> Sink<'_, W> {
    fn write_record(&mut self, seq: usize, record: &[u8]) -> Result<(), CabError> {
        debug_assert_eq!(seq, self.next_seq);
        while self.folder_offsets.len() < self.folder_first_block.len()
            && self.folder_first_block[self.folder_offsets.len()] <= seq
        {
            self.folder_offsets.push(self.offset);
        }
        self.out.write_all(record).map_err(CabError::Write)?;
        self.offset += record.len() as u64;
        if self.offset > u64::from(u32::MAX) {
            return Err(CabError::CabinetTooLarge);
        }
        self.next_seq += 1;
        Ok(())
    }

    /// Folders without data (only empty files) start where the data ends.
    fn finish_folders(&mut self) {
        while self.folder_offsets.len() < self.folder_first_block.len() {
            self.folder_offsets.push(self.offset);
        }
    }
}

/// Streams the concatenated content of one folder's files.
struct FolderReader<'p, 'a> {
    files: &'p [PlannedFile<'a>],
    next_file: usize,
    current: Option<OpenSource<'a>>,
}

enum OpenSource<'a> {
    Bytes(&'a [u8]),
    File {
        file: File,
        path: &'a Path,
        expected: u64,
        remaining: u64,
    },
}

impl<'p, 'a> FolderReader<'p, 'a> {
    fn new(files: &'p [PlannedFile<'a>]) -> Self {
        FolderReader {
            files,
            next_file: 0,
            current: None,
        }
    }

    /// Appends up to a full block to `buf` (fewer only at the end of the folder).
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<(), CabError> {
        while buf.len() < BLOCK_SIZE {
            let source = match &mut self.current {
                Some(source) => source,
                None => {
                    let Some(file) = self.files.get(self.next_file) else {
                        return Ok(());
                    };
                    self.next_file += 1;
                    self.current = Some(open_source(file)?);
                    continue;
                }
            };
            let want = BLOCK_SIZE - buf.len();
            let exhausted = match source {
                OpenSource::Bytes(rest) => {
                    let n = want.min(rest.len());
                    buf.extend_from_slice(&rest[..n]);
                    *rest = &rest[n..];
                    rest.is_empty()
                }
                OpenSource::File {
                    file,
                    path,
                    expected,
                    remaining,
                } => {
                    let n = want.min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    let start = buf.len();
                    buf.resize(start + n, 0);
                    read_exact_or_report(file, &mut buf[start..], path, *expected, *remaining)?;
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        ensure_at_eof(file, path, *expected)?;
                    }
                    *remaining == 0
                }
            };
            if exhausted {
                self.current = None;
            }
        }
        Ok(())
    }

    /// Opens (and so checks) any remaining files, which are all empty at this point.
    fn finish(&mut self) -> Result<(), CabError> {
        let mut rest = Vec::new();
        self.fill(&mut rest)?;
        debug_assert!(rest.is_empty() && self.current.is_none());
        Ok(())
    }
}

fn open_source<'a>(file: &PlannedFile<'a>) -> Result<OpenSource<'a>, CabError> {
    match &file.entry.source {
        Source::Bytes(bytes) => Ok(OpenSource::Bytes(bytes)),
        Source::Path(path) => {
            let handle = File::open(path).map_err(|source| CabError::ReadSource {
                path: path.clone(),
                source,
            })?;
            let mut source = OpenSource::File {
                file: handle,
                path,
                expected: file.size,
                remaining: file.size,
            };
            if file.size == 0 {
                if let OpenSource::File { file, path, .. } = &mut source {
                    ensure_at_eof(file, path, 0)?;
                }
            }
            Ok(source)
        }
    }
}

fn read_exact_or_report(
    file: &mut File,
    mut buf: &mut [u8],
    path: &Path,
    expected: u64,
    remaining: u64,
) -> Result<(), CabError> {
    let mut read_so_far = expected - remaining;
    while !buf.is_empty() {
        match file.read(buf) {
            Ok(0) => {
                return Err(CabError::SourceChanged {
                    path: path.to_path_buf(),
                    expected,
                    found: format!("it ended after {read_so_far} bytes"),
                })
            }
            Ok(n) => {
                buf = &mut buf[n..];
                read_so_far += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(CabError::ReadSource {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(())
}

fn ensure_at_eof(file: &mut File, path: &Path, expected: u64) -> Result<(), CabError> {
    let mut probe = [0u8; 1];
    loop {
        match file.read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                return Err(CabError::SourceChanged {
                    path: path.to_path_buf(),
                    expected,
                    found: "it has grown".to_string(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(CabError::ReadSource {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}
