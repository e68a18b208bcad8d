//! The VERSIONINFO reader of `crates/winversion`: a whole PE image (`read_from_pe`, which the
//! package stage runs on the built exe) and a bare resource (`parse_version_resource`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = winversion::read_from_pe(data) {
        let _ = (info.file_version_string(), info.product_version_string());
        let _ = info.string("ProductVersion");
    }
    let _ = winversion::parse_version_resource(data, winversion::LANG_EN_US);
});
