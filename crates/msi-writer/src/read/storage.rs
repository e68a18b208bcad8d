//! The compound file under a package or transform: its root class (which says what it is) and
//! its streams, by stored and by decoded name.
//!
//! Invariant: nothing is read until asked for; a stream is read whole.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use crate::stream_name;

/// The summary information stream's name.
pub const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";

/// What a compound file holds, by its root storage class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageKind {
    /// An installer package (.msi), {000C1084-0000-0000-C000-000000000046}.
    Installer,
    /// A transform (.mst), {000C1082-0000-0000-C000-000000000046}.
    Transform,
    /// A patch (.msp), {000C1086-0000-0000-C000-000000000046}.
    Patch,
}

impl PackageKind {
    /// The root storage class of this kind.
    pub fn clsid(self) -> uuid::Uuid {
        let text = match self {
            PackageKind::Installer => "000C1084-0000-0000-C000-000000000046",
            PackageKind::Transform => "000C1082-0000-0000-C000-000000000046",
            PackageKind::Patch => "000C1086-0000-0000-C000-000000000046",
        };
        uuid::Uuid::parse_str(text).expect("valid constant")
    }

    fn from_clsid(clsid: &uuid::Uuid) -> Option<PackageKind> {
        [
            PackageKind::Installer,
            PackageKind::Transform,
            PackageKind::Patch,
        ]
        .into_iter()
        .find(|kind| kind.clsid() == *clsid)
    }
}

/// A root stream's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamName {
    /// As stored in the compound file.
    pub raw: String,
    /// Decoded.
    pub name: String,
    /// A table stream (stored with the U+4840 prefix).
    pub is_table: bool,
}

trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// An open compound file.
pub struct Storage {
    file: cfb::CompoundFile<Box<dyn ReadSeek>>,
    streams: Vec<StreamName>,
}

impl Storage {
    /// Opens the compound file at `path`.
    pub fn open(path: &Path) -> io::Result<Storage> {
        Storage::from_file(File::open(path)?)
    }

    /// Opens an open file as a compound file.
    pub fn from_file(file: File) -> io::Result<Storage> {
        Storage::new(Box::new(file))
    }

    /// Opens compound-file bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> io::Result<Storage> {
        Storage::new(Box::new(Cursor::new(bytes)))
    }

    fn new(inner: Box<dyn ReadSeek>) -> io::Result<Storage> {
        let file = cfb::CompoundFile::open(inner)?;
        let streams = file
            .read_root_storage()
            .filter(|e| e.is_stream())
            .map(|e| {
                let (is_table, name) = stream_name::decode(e.name());
                StreamName {
                    raw: e.name().to_string(),
                    name,
                    is_table,
                }
            })
            .collect();
        Ok(Storage { file, streams })
    }

    /// The root storage class.
    pub fn clsid(&self) -> uuid::Uuid {
        *self.file.root_entry().clsid()
    }

    /// What the root class says this is (`None` for another class).
    pub fn kind(&self) -> Option<PackageKind> {
        PackageKind::from_clsid(&self.clsid())
    }

    /// The root storage's streams, in directory order.
    pub fn streams(&self) -> &[StreamName] {
        &self.streams
    }

    /// True when the root storage has the stream `name` (decoded; a table stream when
    /// `is_table`).
    pub fn has_stream(&self, name: &str, is_table: bool) -> bool {
        self.streams
            .iter()
            .any(|s| s.is_table == is_table && s.name == name)
    }

    /// The whole stream stored as `raw`.
    pub fn read(&mut self, raw: &str) -> io::Result<Vec<u8>> {
        let mut data = Vec::new();
        self.file.open_stream(raw)?.read_to_end(&mut data)?;
        Ok(data)
    }

    /// The whole stream `name` (decoded), `None` when there is none.
    pub fn read_named(&mut self, name: &str, is_table: bool) -> io::Result<Option<Vec<u8>>> {
        match self.has_stream(name, is_table) {
            true => self.read(&stream_name::encode(name, is_table)).map(Some),
            false => Ok(None),
        }
    }

    /// Every stream of every storage, by stored path (`/`-separated below the root).
    pub fn read_all(&mut self) -> io::Result<BTreeMap<String, Vec<u8>>> {
        let paths: Vec<PathBuf> = self
            .file
            .walk()
            .filter(|e| e.is_stream())
            .map(|e| e.path().to_path_buf())
            .collect();
        let mut out = BTreeMap::new();
        for path in paths {
            let mut data = Vec::new();
            self.file.open_stream(&path)?.read_to_end(&mut data)?;
            let name = path.to_string_lossy().trim_start_matches('/').to_string();
            out.insert(name, data);
        }
        Ok(out)
    }
}
