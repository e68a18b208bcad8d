//! The embedded cabinet. This is the one place that knows which CAB writer is used (today the
//! `cab` crate, MSZIP, one folder); switching to the workspace's `cabwriter` changes only this file.
//!
//! Files are stored under their File table key, in File.Sequence order, all with the package
//! timestamp and the archive attribute, so the cabinet depends only on the model.

use std::fs::File;
use std::io::{self, Seek, Write};

use crate::error::MsiError;
use crate::model::Source;

/// One file to store.
pub(crate) struct CabEntry<'a> {
    /// Name inside the cabinet (the File table key).
    pub name: &'a str,
    pub source: &'a Source,
    /// Size found during validation; the content must still have it.
    pub size: u64,
}

/// Writes the cabinet to `out` and returns its size in bytes.
pub(crate) fn write_cabinet<W: Write + Seek>(
    entries: &[CabEntry<'_>],
    timestamp: u64,
    out: W,
) -> Result<u64, MsiError> {
    let datetime = cab_datetime(timestamp);
    let mut builder = cab::CabinetBuilder::new();
    {
        let folder = builder.add_folder(cab::CompressionType::MsZip);
        for entry in entries {
            let file = folder.add_file(entry.name);
            file.set_datetime(datetime);
        }
    }
    let cab_error = |source: io::Error| MsiError::Cabinet { source };
    let mut writer = builder.build(out).map_err(cab_error)?;
    let mut index = 0;
    while let Some(mut file_writer) = writer.next_file().map_err(cab_error)? {
        let entry = &entries[index];
        let written = match entry.source {
            Source::Bytes(bytes) => {
                file_writer.write_all(bytes).map_err(cab_error)?;
                bytes.len() as u64
            }
            Source::Path(path) => {
                let file = File::open(path).map_err(|source| MsiError::SourceMissing {
                    key: entry.name.to_string(),
                    path: path.clone(),
                    source,
                })?;
                // Copy at most one byte more than expected, to notice growth without reading it all.
                io::copy(&mut io::Read::take(file, entry.size + 1), &mut file_writer)
                    .map_err(cab_error)?
            }
        };
        if written != entry.size {
            if let Source::Path(path) = entry.source {
                return Err(MsiError::SourceChanged {
                    key: entry.name.to_string(),
                    path: path.clone(),
                });
            }
        }
        index += 1;
    }
    let mut out = writer.finish().map_err(cab_error)?;
    let size = out.stream_position().map_err(cab_error)?;
    out.flush().map_err(cab_error)?;
    Ok(size)
}

/// The CAB date/time for a Unix timestamp (UTC; CAB stores 1980..=2107 with 2-second steps and
/// the `cab` crate clamps to that range).
fn cab_datetime(timestamp: u64) -> time::PrimitiveDateTime {
    let clamped = i64::try_from(timestamp)
        .unwrap_or(i64::MAX)
        .min(4_354_819_199); // 2107-12-31
    let utc = time::OffsetDateTime::from_unix_timestamp(clamped)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time::PrimitiveDateTime::new(utc.date(), utc.time())
}
