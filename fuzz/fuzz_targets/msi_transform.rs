//! A transform (.mst) from anywhere (`gpo-check`, a site's share): decoded by
//! `TransformFile::parse`, judged against the pipeline's own package, and applied to it when it
//! claims to fit. None may panic, hang or allocate without bound.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use msi_writer::transform::{apply, read_package_facts, PackageFacts, TransformFile};
use winrelease_fuzz::{ScratchFile, SEED_MSI};

struct Target {
    _file: ScratchFile,
    msi: std::path::PathBuf,
    facts: PackageFacts,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let file = ScratchFile::new("hellosvc.msi");
        let msi = file.write(SEED_MSI).to_path_buf();
        let facts = read_package_facts(&msi).expect("the seed MSI is a package");
        Target {
            _file: file,
            msi,
            facts,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(transform) = TransformFile::parse(Path::new("fuzz.mst"), data) else {
        return;
    };
    let target = target();
    let _ = transform.summary.language();
    if transform.summary.refusals(&target.facts).is_empty() {
        let _ = apply(&target.msi, &transform);
    }
});
