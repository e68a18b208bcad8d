//! Reading the entries' bytes: each folder's files streamed in order and cut into the 32 KiB
//! blocks that become CFDATA records.
//!
//! Invariant: the blocks depend only on the entries' content, and a source that changes size
//! while it is read is an error ([`CabError::SourceChanged`]), never a silently short file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use crate::block::{encode_cfdata, BlockCodec, BLOCK_SIZE};
use crate::layout::{Plan, PlannedFile};
use crate::{CabError, Source};

/// One block to encode: its position in the cabinet's block sequence, its data and,
/// for MSZIP, the previous block of the same folder as the dictionary.
pub(crate) struct Job {
    pub seq: usize,
    dictionary: Option<Arc<Vec<u8>>>,
    data: Arc<Vec<u8>>,
}

impl Job {
    /// The block's complete CFDATA record.
    pub(crate) fn encode(&self, codec: BlockCodec) -> Result<Vec<u8>, CabError> {
        encode_cfdata(
            codec,
            self.dictionary.as_deref().map(|d| &d[..]),
            &self.data,
        )
    }
}

/// Reads every folder's files in order, cuts them into 32 KiB blocks and hands each
/// block to `submit` in sequence.
pub(crate) fn produce_blocks(
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
            let mut handle = File::open(path).map_err(|source| CabError::ReadSource {
                path: path.clone(),
                source,
            })?;
            if file.size == 0 {
                ensure_at_eof(&mut handle, path, 0)?;
            }
            Ok(OpenSource::File {
                file: handle,
                path,
                expected: file.size,
                remaining: file.size,
            })
        }
    }
}

/// Fills `buf` from `file`, which has `remaining` of its `expected` bytes left.
fn read_exact_or_report(
    file: &mut File,
    mut buf: &mut [u8],
    path: &Path,
    expected: u64,
    remaining: u64,
) -> Result<(), CabError> {
    let mut read_so_far = expected - remaining;
    while !buf.is_empty() {
        let n = read_some(file, buf, path)?;
        if n == 0 {
            return Err(CabError::SourceChanged {
                path: path.to_path_buf(),
                expected,
                found: format!("it ended after {read_so_far} bytes"),
            });
        }
        buf = &mut buf[n..];
        read_so_far += n as u64;
    }
    Ok(())
}

/// Refuses a file that has more than the `expected` bytes already read.
fn ensure_at_eof(file: &mut File, path: &Path, expected: u64) -> Result<(), CabError> {
    let mut probe = [0u8; 1];
    if read_some(file, &mut probe, path)? == 0 {
        return Ok(());
    }
    Err(CabError::SourceChanged {
        path: path.to_path_buf(),
        expected,
        found: "it has grown".to_string(),
    })
}

/// One `read`, retried when interrupted; 0 at the end of the file.
fn read_some(file: &mut File, buf: &mut [u8], path: &Path) -> Result<usize, CabError> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => {
                return result.map_err(|source| CabError::ReadSource {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}
