//! The generated many-file payload: 5,000 files, ~100 MB, deterministic pseudo-random content of
//! three kinds (text-like, incompressible random, zeros) with a long-tailed size distribution,
//! spread over 50 folders. Written once per bench run and read by every MSI tool.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use msi_writer as mw;

/// UpgradeCode of the generated payload package (any fixed GUID; not the example product's).
pub const UPGRADE_CODE: &str = "0D7D3A55-8E54-4C1B-9E0C-6A1B2C3D4E5F";
/// Product name of the generated payload package (also its install folder).
pub const PRODUCT: &str = "Bench Payload";
const FILES_PER_FOLDER: usize = 100;
/// The fixed package timestamp (no wall clock in any package).
const TIMESTAMP: u64 = 1_700_000_000;

/// What a payload file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Words and lines, compresses about 3:1 like logs, configs and scripts.
    Text,
    /// Uniform random bytes: incompressible, like already compressed assets.
    Random,
    /// All zeros: the degenerate case some deflate encoders get wrong for libmspack.
    Zeros,
}

/// One generated file.
#[derive(Debug, Clone)]
pub struct PayloadFile {
    /// `f00042`: File and Component key in every tool's package.
    pub key: String,
    /// Folder names below the install folder: `["assets", "group-07"]`.
    pub dirs: Vec<String>,
    pub name: String,
    pub size: u64,
    pub kind: Kind,
    pub path: PathBuf,
}

/// The whole generated payload.
#[derive(Debug, Clone)]
pub struct Payload {
    pub files: Vec<PayloadFile>,
}

impl Payload {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.files.iter().filter(|f| f.kind == kind).count()
    }
}

/// xorshift64*: tiny, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The file list (names, sizes, kinds) without writing anything: `count` files, 98 % small
/// (log-uniform 64 B–64 KiB, like configs, scripts, icons) and 2 % large (log-uniform
/// 256 KiB–2 MiB, like libraries and data files), scaled so they sum to `total_bytes` exactly.
pub fn plan(root: &Path, count: usize, total_bytes: u64) -> Payload {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let log_uniform =
        |rng: &mut Rng, lo: f64, hi: f64| (lo.ln() + (hi.ln() - lo.ln()) * rng.unit()).exp();
    let raw: Vec<f64> = (0..count)
        .map(|_| {
            if rng.next().is_multiple_of(50) {
                log_uniform(&mut rng, 256.0 * 1024.0, 2.0 * 1024.0 * 1024.0)
            } else {
                log_uniform(&mut rng, 64.0, 64.0 * 1024.0)
            }
        })
        .collect();
    let scale = total_bytes as f64 / raw.iter().sum::<f64>();
    let mut sizes: Vec<u64> = raw.iter().map(|r| (r * scale).max(1.0) as u64).collect();
    // Put the rounding remainder on the first file so the total is exact.
    let sum: u64 = sizes.iter().sum();
    if let Some(first) = sizes.first_mut() {
        *first = (*first + total_bytes).saturating_sub(sum).max(1);
    }
    let files = sizes
        .into_iter()
        .enumerate()
        .map(|(i, size)| {
            // 50 % text, 35 % random, 15 % zeros.
            let kind = match rng.next() % 20 {
                0..=9 => Kind::Text,
                10..=16 => Kind::Random,
                _ => Kind::Zeros,
            };
            let ext = match kind {
                Kind::Text => "txt",
                Kind::Random => "bin",
                Kind::Zeros => "dat",
            };
            let dirs = vec![
                "assets".to_string(),
                format!("group-{:02}", i / FILES_PER_FOLDER),
            ];
            let name = format!("asset-{i:05}.{ext}");
            let path = root.join(&dirs[0]).join(&dirs[1]).join(&name);
            PayloadFile {
                key: format!("f{i:05}"),
                dirs,
                name,
                size,
                kind,
                path,
            }
        })
        .collect();
    Payload { files }
}

const WORDS: &[&str] = &[
    "service",
    "listen",
    "port",
    "config",
    "request",
    "handler",
    "error",
    "timeout",
    "retry",
    "ok",
    "status",
    "version",
    "commit",
    "install",
    "upgrade",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "with",
    "value",
    "key",
    "name",
    "path",
    "file",
    "log",
    "info",
    "warn",
    "debug",
    "trace",
    "2026-11-25T16:02:42Z",
    "42",
    "8080",
    "true",
    "false",
    "null",
];

/// Writes every planned file (folders created as needed).
pub fn write(payload: &Payload) -> Result<()> {
    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    for file in &payload.files {
        let dir = file.path.parent().expect("payload files live in folders");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let out = std::fs::File::create(&file.path)
            .with_context(|| format!("creating {}", file.path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let mut left = file.size as usize;
        let mut chunk = Vec::with_capacity(1 << 16);
        while left > 0 {
            chunk.clear();
            let want = left.min(1 << 16);
            match file.kind {
                Kind::Zeros => chunk.resize(want, 0),
                Kind::Random => {
                    while chunk.len() < want {
                        chunk.extend_from_slice(&rng.next().to_le_bytes());
                    }
                    chunk.truncate(want);
                }
                Kind::Text => {
                    while chunk.len() < want {
                        let r = rng.next();
                        chunk
                            .extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
                        chunk.push(if (r >> 32).is_multiple_of(12) {
                            b'\n'
                        } else {
                            b' '
                        });
                    }
                    chunk.truncate(want);
                }
            }
            out.write_all(&chunk)
                .with_context(|| format!("writing {}", file.path.display()))?;
            left -= want;
        }
        out.flush()
            .with_context(|| format!("writing {}", file.path.display()))?;
    }
    Ok(())
}

/// The payload as an msi-writer package: one component per file under
/// `ProgramFiles64Folder\Bench Payload\assets\group-NN\`, no service. Every other tool's package
/// is generated from this same model.
pub fn package(payload: &Payload) -> Result<mw::Package> {
    let upgrade_code = mw::Guid::parse("upgrade_code", UPGRADE_CODE)?;
    let version = mw::ProductVersion(1, 0, 0);
    Ok(mw::Package {
        product: mw::Product {
            name: PRODUCT.into(),
            manufacturer: "Example Corp".into(),
            version,
            product_code: mw::Guid::product_code_for(&upgrade_code, version),
            upgrade_code,
            language: 1033,
            description: "Generated 5,000-file payload for cargo xtask bench".into(),
        },
        install_dir: mw::InstallDir {
            under: mw::KnownFolder::ProgramFiles64,
            path: vec![PRODUCT.into()],
            property: "INSTALLDIR".into(),
        },
        data_dirs: vec![],
        files: payload
            .files
            .iter()
            .map(|f| mw::FileSpec {
                key: f.key.clone(),
                name: f.name.clone(),
                dir: mw::DirRef::install_sub(f.dirs.clone()),
                source: mw::Source::Path(f.path.clone()),
                version: None,
                never_overwrite: false,
                permanent: false,
            })
            .collect(),
        service: None,
        empty_dirs: Vec::new(),
        event_log_source: None,
        recovery: None,
        firewall_rules: vec![],
        properties: vec![],
        commands: vec![],
        arp: mw::Arp::default(),
        downgrade_property: None,
        timestamp: TIMESTAMP,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_hits_the_total_and_mixes_kinds() {
        let p = plan(Path::new("/x"), 5_000, 100 << 20);
        assert_eq!(p.files.len(), 5_000);
        assert_eq!(p.total_bytes(), 100 << 20);
        for kind in [Kind::Text, Kind::Random, Kind::Zeros] {
            assert!(p.count(kind) > 500, "{kind:?}: {}", p.count(kind));
        }
        let largest = p.files.iter().map(|f| f.size).max().unwrap();
        let smallest = p.files.iter().map(|f| f.size).min().unwrap();
        assert!(
            largest > 500_000 && smallest < 1_000,
            "{smallest}..{largest}"
        );
        // Deterministic: the same plan twice.
        let q = plan(Path::new("/x"), 5_000, 100 << 20);
        assert!(p
            .files
            .iter()
            .zip(&q.files)
            .all(|(a, b)| a.size == b.size && a.kind == b.kind));
    }

    #[test]
    fn written_files_have_their_planned_size_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), 30, 300_000);
        write(&p).unwrap();
        for f in &p.files {
            let bytes = std::fs::read(&f.path).unwrap();
            assert_eq!(bytes.len() as u64, f.size, "{}", f.name);
            match f.kind {
                Kind::Zeros => assert!(bytes.iter().all(|&b| b == 0)),
                Kind::Text => assert!(bytes.iter().all(|b| b.is_ascii())),
                Kind::Random => {
                    if bytes.len() > 4096 {
                        assert!(bytes.iter().filter(|&&b| b == 0).count() < bytes.len() / 64)
                    }
                }
            }
        }
    }
}
