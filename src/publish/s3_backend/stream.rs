//! Streaming transfers of the S3 backend: a version's files go up and come down in parts,
//! hashed as they pass, so memory does not grow with the size of a release.
//!
//! * **Upload.** A file no larger than one part is read into memory and sent with one
//!   create-only PUT (`If-None-Match: *`). A larger file is read from disk a chunk at a time
//!   into a multipart upload with a bounded number of parts in flight. `object_store` sends
//!   S3's create-only precondition on a multipart completion only for a copy, so the upload
//!   goes to a staging key inside the version prefix (`<version>/.upload/<name>`, which no
//!   reader looks at) and is then copied server-side to its real key with `If-None-Match: *`
//!   on CompleteMultipartUpload: the real key is still written once or not at all. The file's
//!   SHA-256, computed while reading, is checked against the verified one before the copy, so
//!   changed bytes never reach the real key. The staging object is deleted right after; a
//!   crash before that leaves it in a version without `manifest.json`, a leftover the next
//!   publish removes. (Parts of an upload interrupted by a crash stay on the server, invisible,
//!   until a bucket lifecycle rule `AbortIncompleteMultipartUpload` discards them.)
//! * **Download.** An object is streamed to a file in ranged GETs (256 MiB each by default, one
//!   after the other, `If-Match` on its ETag), hashed as it arrives; an artifact whose SHA-256 is
//!   not the one the version's `manifest.json` lists is refused and removed.
//!
//! *Invariant:* no function here holds more than `parts_in_flight + 1` parts (uploads) or one
//! network chunk (downloads) of an object in memory.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyMode, CopyOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode, WriteMultipart,
};
use sha2::{Digest as _, Sha256};

use super::S3Store;
use crate::digest::Sha256Digest;
use crate::fsio::{IoContext, IoError};
use crate::manifest::{Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use crate::publish::store::{check_copied, SourceFile, StoreError};

/// The sub-prefix of a version where multipart uploads are staged before their create-only
/// copy to the real key; readers never look under it, leftover cleaning removes it.
const UPLOAD_DIR: &str = ".upload";

/// S3's smallest part (every part but the last must be at least this large).
pub const MIN_PART_BYTES: usize = 5 << 20;

/// Largest object the S3 backend stores: S3's limit for one server-side part copy (5 GiB),
/// which is how a multipart upload reaches its real key create-only.
pub const MAX_OBJECT_BYTES: u64 = 5 << 30;

/// How large files travel to and from S3: the part size and how many parts are sent at once.
/// Memory held by an upload is about `part_bytes × (parts_in_flight + 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Transfer {
    /// Bytes per part of a multipart upload (at least [`MIN_PART_BYTES`]; smaller values are
    /// raised to it). Files no larger than this go up in one PUT.
    pub part_bytes: usize,
    /// Parts uploading at the same time (at least 1).
    pub parts_in_flight: usize,
    /// Bytes asked for in one GET of a download (at least 1): the request timeout bounds a
    /// range, not the whole object. Ranges are read one after the other, streamed.
    pub download_range_bytes: u64,
}

impl Default for S3Transfer {
    /// 8 MiB parts, 4 in flight: about 40 MiB of buffers per upload; 256 MiB per GET.
    fn default() -> S3Transfer {
        S3Transfer {
            part_bytes: 8 << 20,
            parts_in_flight: 4,
            download_range_bytes: 256 << 20,
        }
    }
}

impl S3Transfer {
    /// The settings with S3's limits applied.
    pub(super) fn normalized(self) -> S3Transfer {
        S3Transfer {
            part_bytes: self.part_bytes.max(MIN_PART_BYTES),
            parts_in_flight: self.parts_in_flight.max(1),
            download_range_bytes: self.download_range_bytes.max(1),
        }
    }
}

/// Bytes read from disk (or hashed) per step.
const CHUNK_BYTES: usize = 1 << 20;

/// Why a transfer failed: the local file or the request.
#[derive(Debug)]
pub(super) enum TransferError {
    Io(io::Error),
    S3(object_store::Error),
}

impl From<object_store::Error> for TransferError {
    fn from(err: object_store::Error) -> Self {
        TransferError::S3(err)
    }
}

impl From<io::Error> for TransferError {
    fn from(err: io::Error) -> Self {
        TransferError::Io(err)
    }
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Uploads `file` (from its current position to its end) to `path` as a multipart upload
/// with `transfer`'s part size and parts in flight; returns the SHA-256 of the bytes sent.
/// On failure the upload is aborted (its parts are discarded by the server).
pub(super) async fn upload_multipart(
    client: &AmazonS3,
    path: &ObjectPath,
    file: &mut fs::File,
    transfer: S3Transfer,
) -> Result<Sha256Digest, TransferError> {
    let upload = client.put_multipart(path).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, transfer.part_bytes);
    let mut sha256 = Sha256::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    let sent: Result<(), TransferError> = async {
        loop {
            writer.wait_for_capacity(transfer.parts_in_flight).await?;
            let n = read_full(file, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            sha256.update(&buf[..n]);
            writer.write(&buf[..n]);
        }
    }
    .await;
    match sent {
        Ok(()) => {
            writer.finish().await?;
            Ok(Sha256Digest(sha256.finalize().into()))
        }
        Err(err) => {
            let _ = writer.abort().await;
            Err(err)
        }
    }
}

/// What a download found.
pub(super) enum Download {
    /// The object is not there; nothing was written.
    Missing,
    /// The object is larger than the limit; nothing was written.
    TooLarge,
    /// The object went to the writer; the SHA-256 of what was written.
    Written(Sha256Digest),
}

/// Streams the object at `path` into `out`, hashing as it arrives, in GETs of at most
/// `range_bytes` one after the other, each only while the object is still the one
/// whose size was read (`If-Match` on its ETag). Objects larger than `max` are not read.
pub(super) async fn download(
    client: &AmazonS3,
    path: &ObjectPath,
    out: &mut impl Write,
    max: u64,
    range_bytes: u64,
) -> Result<Download, TransferError> {
    let meta = match client.head(path).await {
        Ok(meta) => meta,
        Err(object_store::Error::NotFound { .. }) => return Ok(Download::Missing),
        Err(err) => return Err(err.into()),
    };
    if meta.size > max {
        return Ok(Download::TooLarge);
    }
    let mut sha256 = Sha256::new();
    let mut offset = 0;
    while offset < meta.size {
        let end = offset.saturating_add(range_bytes).min(meta.size);
        let options = GetOptions {
            range: Some((offset..end).into()),
            if_match: meta.e_tag.clone(),
            ..GetOptions::default()
        };
        let mut chunks = client.get_opts(path, options).await?.into_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            sha256.update(&chunk);
            out.write_all(&chunk)?;
        }
        offset = end;
    }
    out.flush()?;
    Ok(Download::Written(Sha256Digest(sha256.finalize().into())))
}

impl S3Store {
    fn transfer_failed(
        &self,
        operation: &'static str,
        key: &str,
        (io_context, path): (&'static str, &Path),
        err: TransferError,
    ) -> StoreError {
        match err {
            TransferError::Io(e) => IoError::new(io_context, path, e).into(),
            TransferError::S3(e) => self.fail(operation, key, &e),
        }
    }

    /// Uploads `file` to `<prefix>/<name>`, create-only, refusing bytes other than the verified
    /// ones; `Ok(false)` when the key already holds other bytes. Files up to one part go in one
    /// PUT; larger ones stream in parts to a staging key, then are copied create-only.
    pub(super) fn upload(&self, prefix: &str, file: &SourceFile) -> Result<bool, StoreError> {
        let key = format!("{prefix}/{}", file.name);
        let mut handle = fs::File::open(&file.path).at("reading", &file.path)?;
        let size = handle.metadata().at("reading", &file.path)?.len();
        if size > MAX_OBJECT_BYTES {
            return Err(StoreError::TooLarge {
                location: file.path.display().to_string(),
                max: MAX_OBJECT_BYTES,
            });
        }
        if size <= self.transfer.part_bytes as u64 {
            let mut bytes = Vec::new();
            (&mut handle)
                .take(self.transfer.part_bytes as u64 + 1)
                .read_to_end(&mut bytes)
                .at("reading", &file.path)?;
            check_copied(file, Sha256Digest::of(&bytes))?;
            return self.put(&key, &bytes, PutMode::Create);
        }
        let staged_key = format!("{prefix}/{UPLOAD_DIR}/{}", file.name);
        let staged = self.object_path(&staged_key);
        let sent = self
            .runtime
            .block_on(upload_multipart(
                &self.client,
                &staged,
                &mut handle,
                self.transfer,
            ))
            .map_err(|e| {
                self.transfer_failed("uploading", &staged_key, ("reading", &file.path), e)
            });
        let placed = sent.and_then(|found| {
            check_copied(file, found)?;
            self.copy_create(&staged, &key, found)
        });
        let cleaned = self.delete(&staged_key);
        let placed = placed?;
        cleaned?;
        Ok(placed)
    }

    /// Server-side copy of `from` to `key`, create-only; `Ok(false)` when `key` exists with
    /// bytes other than `sha256` (the same bytes: a retried request whose first attempt won).
    fn copy_create(
        &self,
        from: &ObjectPath,
        key: &str,
        sha256: Sha256Digest,
    ) -> Result<bool, StoreError> {
        let to = self.object_path(key);
        let options = CopyOptions::new().with_mode(CopyMode::Create);
        match self
            .runtime
            .block_on(self.client.copy_opts(from, &to, options))
        {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                let current = self.runtime.block_on(download(
                    &self.client,
                    &to,
                    &mut io::sink(),
                    MAX_OBJECT_BYTES,
                    self.transfer.download_range_bytes,
                ));
                Ok(matches!(current, Ok(Download::Written(found)) if found == sha256))
            }
            Err(e) => Err(self.fail("writing", key, &e)),
        }
    }

    /// Downloads the version's `manifest.json` into `dir`; the SHA-256 it lists for each
    /// artifact (none when it is missing or does not parse: verification says why).
    pub(super) fn fetch_manifest(
        &self,
        prefix: &str,
        dir: &Path,
    ) -> Result<BTreeMap<String, Sha256Digest>, StoreError> {
        let key = format!("{prefix}/{MANIFEST_FILE}");
        let Some(object) = self.get(&key, MAX_MANIFEST_BYTES)? else {
            return Ok(BTreeMap::new());
        };
        let path = dir.join(MANIFEST_FILE);
        fs::write(&path, &object.bytes).at("writing", &path)?;
        let Ok(manifest) = Manifest::parse(&object.bytes) else {
            return Ok(BTreeMap::new());
        };
        Ok(manifest
            .artifacts
            .iter()
            .filter_map(|a| Some((a.name.clone(), Sha256Digest::from_hex(&a.sha256)?)))
            .collect())
    }

    /// Streams `key` into `path`, refusing it when `expected` is given and the bytes differ.
    /// `false` when the object is gone. Nothing is left at `path` unless `Ok(true)`.
    pub(super) fn download_checked(
        &self,
        key: &str,
        path: &Path,
        expected: Option<&Sha256Digest>,
    ) -> Result<bool, StoreError> {
        let object = self.object_path(key);
        let file = fs::File::create(path).at("writing", path)?;
        let mut out = BufWriter::with_capacity(CHUNK_BYTES, file);
        let fetched = self
            .runtime
            .block_on(download(
                &self.client,
                &object,
                &mut out,
                MAX_OBJECT_BYTES,
                self.transfer.download_range_bytes,
            ))
            .map_err(|e| self.transfer_failed("reading", key, ("writing", path), e));
        drop(out);
        let outcome = match fetched {
            Err(err) => Err(err),
            Ok(Download::Written(found)) => match expected {
                Some(&expected) if expected != found => Err(StoreError::Corrupted {
                    location: self.url(key),
                    expected,
                    found,
                }),
                _ => return Ok(true),
            },
            Ok(Download::Missing) => Ok(false),
            Ok(Download::TooLarge) => Err(StoreError::TooLarge {
                location: self.url(key),
                max: MAX_OBJECT_BYTES,
            }),
        };
        let _ = fs::remove_file(path);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_settings_respect_s3_limits() {
        let t = S3Transfer {
            part_bytes: 1024,
            parts_in_flight: 0,
            download_range_bytes: 0,
        }
        .normalized();
        assert_eq!(
            (t.part_bytes, t.parts_in_flight, t.download_range_bytes),
            (MIN_PART_BYTES, 1, 1)
        );
        assert_eq!(S3Transfer::default().normalized(), S3Transfer::default());
    }

    #[test]
    fn read_full_fills_across_short_reads() {
        // A reader that returns at most 3 bytes per call.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let data: Vec<u8> = (0..20).collect();
        let mut reader = Trickle(&data);
        let mut buf = [0u8; 8];
        assert_eq!(read_full(&mut reader, &mut buf).unwrap(), 8);
        assert_eq!(buf, data[..8]);
        let mut rest = [0u8; 32];
        assert_eq!(read_full(&mut reader, &mut rest).unwrap(), 12);
    }
}
