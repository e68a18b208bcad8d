//! An installer package from anywhere (`lint-msi`, `gpo-check`, the previous release's MSI
//! from a share): the compound file, summary, string pool, schema and every table through
//! `msi_writer::read`, then the Group Policy check (which runs the lint), reading through it too.
//! None may panic, hang or allocate without bound.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use msi_writer::read::Package;
use winrelease_fuzz::ScratchFile;

fuzz_target!(|data: &[u8]| {
    let Ok(mut package) = Package::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = package.summary().to_owned();
    let names: Vec<String> = package.schema().keys().cloned().collect();
    for name in ["_Tables", "_Columns"]
        .into_iter()
        .chain(names.iter().map(String::as_str))
    {
        let _ = package.table(name);
    }
    // Only packages the reader opens go on to the checks that reopen them by path.
    static FILE: OnceLock<ScratchFile> = OnceLock::new();
    let path = FILE
        .get_or_init(|| ScratchFile::new("fuzz.msi"))
        .write(data);
    // The Group Policy check reads facts and tables and runs the lint: all three readers.
    let _ = msi_writer::gpo::check(path, &msi_writer::gpo::Options::default());
});
