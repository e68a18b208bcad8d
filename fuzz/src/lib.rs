//! What the fuzz targets share: a scratch file for readers that take a path, and the seed
//! artifacts some targets read besides the fuzzed bytes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A file in a folder that lives as long as the fuzzing process, holding `bytes`.
pub struct ScratchFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl ScratchFile {
    /// A new scratch file called `name` (readers look at the extension only in messages).
    pub fn new(name: &str) -> ScratchFile {
        let dir = tempfile::Builder::new()
            .prefix("winrelease-fuzz-")
            .tempdir()
            .expect("a temporary folder for the fuzz target");
        let path = dir.path().join(name);
        ScratchFile { _dir: dir, path }
    }

    /// Replaces the file's content by `bytes`; returns its path.
    pub fn write(&self, bytes: &[u8]) -> &Path {
        std::fs::write(&self.path, bytes).expect("writing the fuzz scratch file");
        &self.path
    }
}

/// The MSI the pipeline made for the corpus (the package transforms are applied to).
pub const SEED_MSI: &[u8] = include_bytes!("../corpus/msi_package/seed-hellosvc_1.2.3_x64.msi");

/// The unencrypted secret key the corpus documents and signatures were signed with. A test key:
/// it signs nothing but fuzz seeds.
pub const SEED_KEY: &str = include_str!("../corpus/minisign_secret_key/seed-unencrypted.key");

/// [`SEED_KEY`], parsed once.
pub fn seed_key() -> &'static minisig::SecretKey {
    static KEY: OnceLock<minisig::SecretKey> = OnceLock::new();
    KEY.get_or_init(|| {
        minisig::SecretKey::from_unencrypted_file(SEED_KEY).expect("the committed seed key parses")
    })
}
