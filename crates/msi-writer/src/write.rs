//! `write_package`: validate, build tables, build the cabinet, derive the PackageCode, write the
//! compound file to a temporary file next to the output and rename it into place.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cabinet::{write_cabinet, CabEntry};
use crate::cfb::{write_compound_file, Stream, StreamData};
use crate::error::MsiError;
use crate::guid::Guid;
use crate::model::Package;
use crate::plan::{plan, Plan};
use crate::stream_name::encode as encode_stream_name;
use crate::summary::Summary;
use crate::tables::{self, CABINET_STREAM};

/// Root storage class of an installer package, {000C1084-0000-0000-C000-000000000046}, in the
/// compound file's byte order.
const MSI_CLSID: [u8; 16] = [
    0x84, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageReport {
    /// The package's PackageCode (Summary "Revision Number"), derived from its content.
    pub package_code: Guid,
    /// The ProductCode written.
    pub product_code: Guid,
    /// Size of the MSI file in bytes.
    pub msi_bytes: u64,
    /// Size of the embedded cabinet in bytes (0 without files).
    pub cabinet_bytes: u64,
    /// Sum of the payload file sizes.
    pub payload_bytes: u64,
    /// Number of payload files.
    pub file_count: usize,
    /// Number of components.
    pub component_count: usize,
    /// Number of distinct strings in the database.
    pub string_count: usize,
}

/// Validates `pkg` without writing anything (also reads the size of every payload file).
pub fn validate(pkg: &Package) -> Result<(), MsiError> {
    let plan = plan(pkg)?;
    tables::build(&plan)?.encode()?;
    Ok(())
}

/// Writes `pkg` as an MSI at `out`.
///
/// The model is validated before anything is written; the MSI is assembled in a temporary file in
/// the same directory and renamed to `out` only when complete, so a failure never leaves a partial
/// or stale-looking package at `out` (an existing file there is replaced only on success). Two
/// calls with the same model produce identical bytes.
pub fn write_package(pkg: &Package, out: &Path) -> Result<PackageReport, MsiError> {
    let plan = plan(pkg)?;
    let encoded = tables::build(&plan)?.encode()?;

    let dir = output_dir(out)?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| MsiError::Write { path, source }
    };

    let mut hasher = Sha256::new();
    for (name, bytes) in &encoded.tables {
        hash_stream(&mut hasher, name, bytes.len() as u64);
        hasher.update(bytes);
    }

    // The cabinet goes to its own temporary file, then is copied into the compound file.
    let mut cab_temp = None;
    let mut cabinet_bytes = 0;
    if !plan.files.is_empty() {
        let temp = tempfile::Builder::new()
            .prefix(".msi-writer-cab-")
            .tempfile_in(&dir)
            .map_err(write_err(&dir))?;
        let entries: Vec<CabEntry<'_>> = plan
            .files
            .iter()
            .map(|f| CabEntry {
                name: &f.spec.key,
                source: &f.spec.source,
            })
            .collect();
        {
            let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
            cabinet_bytes = write_cabinet(&entries, pkg.timestamp, &mut writer)?;
            writer.flush().map_err(write_err(temp.path()))?;
        }
        hash_stream(&mut hasher, CABINET_STREAM, cabinet_bytes);
        let mut reader = BufReader::new(File::open(temp.path()).map_err(write_err(temp.path()))?);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(write_err(temp.path()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        cab_temp = Some(temp);
    }

    let mut summary = summary(&plan);
    hasher.update(summary.encode()?);
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let package_code = pkg
        .product
        .upgrade_code
        .derive(&format!("winrelease:package-code:{digest}"));
    summary.revision_number = package_code.to_string();

    let mut streams: Vec<Stream> = encoded
        .tables
        .into_iter()
        .map(|(name, bytes)| Stream {
            name: encode_stream_name(&name, true),
            data: StreamData::Bytes(bytes),
        })
        .collect();
    streams.push(Stream {
        name: "\u{5}SummaryInformation".to_string(),
        data: StreamData::Bytes(summary.encode()?),
    });
    if let Some(temp) = &cab_temp {
        streams.push(Stream {
            name: encode_stream_name(CABINET_STREAM, false),
            data: StreamData::File(temp.path().to_path_buf(), cabinet_bytes),
        });
    }

    let temp = tempfile::Builder::new()
        .prefix(".msi-writer-")
        .suffix(".msi.tmp")
        .tempfile_in(&dir)
        .map_err(write_err(&dir))?;
    {
        let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
        write_compound_file(&mut writer, MSI_CLSID, &streams).map_err(write_err(out))?;
        writer.flush().map_err(write_err(out))?;
    }
    // Temporary files are private (0600); a release artifact is world-readable like any file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(write_err(out))?;
    }
    temp.as_file().sync_all().map_err(write_err(out))?;
    let msi_bytes = temp.as_file().metadata().map_err(write_err(out))?.len();
    drop(cab_temp);
    temp.persist(out).map_err(|e| MsiError::Write {
        path: out.to_path_buf(),
        source: e.error,
    })?;

    Ok(PackageReport {
        package_code,
        product_code: pkg.product.product_code,
        msi_bytes,
        cabinet_bytes,
        payload_bytes: plan.payload_bytes,
        file_count: plan.files.len(),
        component_count: plan.files.len() + plan.folder_components.len(),
        string_count: encoded.string_count,
    })
}

fn hash_stream(hasher: &mut Sha256, name: &str, len: u64) {
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update(len.to_le_bytes());
}

fn output_dir(out: &Path) -> Result<PathBuf, MsiError> {
    if out.file_name().is_none() {
        return Err(MsiError::BadOutputPath {
            path: out.to_path_buf(),
            reason: "has no file name",
        });
    }
    if out.is_dir() {
        return Err(MsiError::BadOutputPath {
            path: out.to_path_buf(),
            reason: "is a directory",
        });
    }
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(MsiError::BadOutputPath {
            path: out.to_path_buf(),
            reason: "its directory does not exist",
        });
    }
    Ok(dir)
}

fn summary(plan: &Plan<'_>) -> Summary {
    let product = &plan.pkg.product;
    Summary {
        title: "Installation Database".into(),
        subject: product.name.clone(),
        author: product.manufacturer.clone(),
        keywords: "Installer".into(),
        comments: if product.description.is_empty() {
            format!(
                "This installer database contains the logic and data required to install {}.",
                product.name
            )
        } else {
            product.description.clone()
        },
        template: format!("x64;{}", product.language),
        revision_number: Guid::from_uuid(uuid::Uuid::nil()).to_string(),
        timestamp: plan.pkg.timestamp,
        page_count: 200,
        word_count: 2,
        creating_application: "winrelease".into(),
        security: 2,
    }
}
