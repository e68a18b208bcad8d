//! The embedded cabinet. This is the one place that knows which CAB writer is used: the
//! workspace's `cabwriter` (deterministic, parallel MSZIP).
//!
//! Files are stored under their File table key, in File.Sequence order, all with the package
//! timestamp and the archive attribute, so the cabinet depends only on the model.

use std::io::{Seek, Write};

use crate::error::MsiError;
use crate::model::Source;

/// One file to store.
pub(crate) struct CabEntry<'a> {
    /// Name inside the cabinet (the File table key).
    pub name: &'a str,
    pub source: &'a Source,
}

/// Writes the cabinet to `out` and returns its size in bytes.
pub(crate) fn write_cabinet<W: Write + Seek>(
    entries: &[CabEntry<'_>],
    timestamp: u64,
    out: W,
) -> Result<u64, MsiError> {
    let dos_datetime =
        cabwriter::dos_datetime_from_unix(i64::try_from(timestamp).unwrap_or(i64::MAX));
    let entries: Vec<cabwriter::CabEntry> = entries
        .iter()
        .map(|entry| cabwriter::CabEntry {
            name: entry.name.to_string(),
            source: match entry.source {
                Source::Bytes(bytes) => cabwriter::Source::Bytes(bytes.clone()),
                Source::Path(path) => cabwriter::Source::Path(path.clone()),
            },
            dos_datetime,
            attributes: cabwriter::ATTR_ARCHIVE,
        })
        .collect();
    let summary = cabwriter::write_cabinet(&entries, &cabwriter::CabOptions::default(), out)
        .map_err(|e| MsiError::Cabinet {
            source: Box::new(e),
        })?;
    Ok(summary.compressed)
}
