//! `read_from_pe` on synthetic images: the section comes from our object with relocations
//! applied by the `object` crate, the headers are written by hand. Covers PE32+ and PE32 and
//! every error kind without needing Go.

mod common;

use common::{
    linked_rsrc_section, sample_info, sample_strings, synthetic_pe, SYNTHETIC_SECTION_VA,
};
use winversion::{coff_object, read_from_pe, Error, VFT_APP, VOS_NT_WINDOWS32, VS_FF_PRERELEASE};

fn sample_section() -> Vec<u8> {
    linked_rsrc_section(&coff_object(&sample_info()).unwrap())
}

fn sample_pe(pe32_plus: bool) -> Vec<u8> {
    let section = sample_section();
    synthetic_pe(
        &section,
        pe32_plus,
        (SYNTHETIC_SECTION_VA, section.len() as u32),
    )
}

#[test]
fn reads_every_field_from_pe32_plus_and_pe32() {
    for pe32_plus in [true, false] {
        let parsed = read_from_pe(&sample_pe(pe32_plus)).unwrap();
        assert_eq!(parsed.language, 0x0409);
        assert_eq!(parsed.file_version, [1, 4, 1, 7]);
        assert_eq!(parsed.file_version_string(), "1.4.1.7");
        assert_eq!(parsed.product_version, [1, 4, 1, 300]);
        assert_eq!(parsed.file_flags_mask, 0x3F);
        assert_eq!(parsed.file_flags, VS_FF_PRERELEASE);
        assert_eq!(parsed.file_os, VOS_NT_WINDOWS32);
        assert_eq!(parsed.file_type, VFT_APP);
        assert_eq!(parsed.file_subtype, 0);
        assert_eq!(parsed.translations, [(0x0409, 1200)]);
        assert_eq!(parsed.string_tables.len(), 1);
        assert_eq!(parsed.string_tables[0].key, "040904B0");
        let strings: Vec<(&str, &str)> = parsed.string_tables[0]
            .strings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(strings, sample_strings());
    }
}

#[test]
fn not_pe_inputs_are_rejected() {
    assert!(matches!(read_from_pe(b""), Err(Error::NotPe { .. })));
    assert!(matches!(
        read_from_pe(&[0u8; 4096]),
        Err(Error::NotPe { .. })
    ));
    // The test binary itself is ELF (or at least not what a Windows exe looks like here).
    let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    if !own.starts_with(b"MZ") {
        let err = read_from_pe(&own).unwrap_err();
        assert!(matches!(err, Error::NotPe { .. }), "{err}");
        assert!(err.to_string().contains("not a PE"), "{err}");
    }
    // A DOS stub pointing at something that is not a PE header.
    let mut pe = sample_pe(true);
    pe[0x40] = b'X';
    assert!(matches!(read_from_pe(&pe), Err(Error::NotPe { .. })));
    // Unknown optional header magic.
    let mut pe = sample_pe(true);
    pe[0x58] = 0x07;
    assert!(matches!(read_from_pe(&pe), Err(Error::NotPe { .. })));
}

#[test]
fn empty_resource_directory_is_no_resources() {
    let section = sample_section();
    let pe = synthetic_pe(&section, true, (0, 0));
    let err = read_from_pe(&pe).unwrap_err();
    assert!(matches!(err, Error::NoResources), "{err}");
    assert!(
        err.to_string().contains("coff_object"),
        "error names the fix: {err}"
    );
}

#[test]
fn resources_without_rt_version_are_no_version_resource() {
    let mut section = sample_section();
    // Root directory's only entry: type 16 -> 24 (RT_MANIFEST).
    section[16..20].copy_from_slice(&24u32.to_le_bytes());
    let pe = synthetic_pe(&section, true, (SYNTHETIC_SECTION_VA, section.len() as u32));
    assert!(matches!(read_from_pe(&pe), Err(Error::NoVersionResource)));
}

#[test]
fn broken_resource_offsets_are_malformed() {
    let section = sample_section();
    let len = section.len() as u32;

    // Resource directory RVA outside every section.
    let pe = synthetic_pe(&section, true, (0x9000, len));
    let err = read_from_pe(&pe).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");

    // Data entry pointing past the section.
    let mut bad = section.clone();
    bad[72..76].copy_from_slice(&(SYNTHETIC_SECTION_VA + 0x10_0000).to_le_bytes());
    let err = read_from_pe(&synthetic_pe(&bad, true, (SYNTHETIC_SECTION_VA, len))).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");

    // Type entry claiming its subdirectory is data.
    let mut bad = section.clone();
    bad[20..24].copy_from_slice(&0x18u32.to_le_bytes());
    let err = read_from_pe(&synthetic_pe(&bad, true, (SYNTHETIC_SECTION_VA, len))).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");

    // Directory with more entries than fit.
    let mut bad = section.clone();
    bad[14..16].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let err = read_from_pe(&synthetic_pe(&bad, true, (SYNTHETIC_SECTION_VA, len))).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");

    // VS_FIXEDFILEINFO signature damaged (data at 88, fixed info at +40).
    let mut bad = section.clone();
    bad[88 + 40] ^= 0xFF;
    let err = read_from_pe(&synthetic_pe(&bad, true, (SYNTHETIC_SECTION_VA, len))).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn truncated_and_corrupted_images_error_without_panicking() {
    let pe = sample_pe(true);
    for len in 0..pe.len() {
        let result = read_from_pe(&pe[..len]);
        // Bytes past the resource data are padding; only cutting into headers or data fails.
        if len < 0x200 + sample_section().len() - 8 {
            assert!(result.is_err(), "truncated to {len} bytes but parsed");
        }
    }
    for i in 0..0x200 + sample_section().len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bad = pe.clone();
            bad[i] ^= flip;
            let _ = read_from_pe(&bad);
        }
    }
}
