//! The `.syso` object, checked with parsers other than ours: the `object` crate, GNU objdump
//! and windres from binutils-mingw-w64.

mod common;

use common::{assert_rc_describes_sample, require_tool, run_ok, sample_info};
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, SectionKind};
use winversion::{coff_object, version_resource};

#[test]
fn object_crate_sees_one_rsrc_section_with_addr32nb_relocation() {
    let obj = coff_object(&sample_info()).unwrap();
    let file = object::read::coff::CoffFile::<&[u8]>::parse(&obj[..]).unwrap();
    assert_eq!(file.architecture(), object::Architecture::X86_64);
    let header = file.coff_header();
    assert_eq!(header.time_date_stamp.get(object::LittleEndian), 0);

    let sections: Vec<_> = file.sections().collect();
    assert_eq!(sections.len(), 1);
    let rsrc = &sections[0];
    assert_eq!(rsrc.name().unwrap(), ".rsrc");
    assert_eq!(rsrc.kind(), SectionKind::ReadOnlyData);
    let characteristics = rsrc
        .coff_section()
        .characteristics
        .get(object::LittleEndian);
    assert_eq!(characteristics.0, 0x4000_0040, "initialized data | read");

    let relocations: Vec<_> = rsrc.relocations().collect();
    assert_eq!(relocations.len(), 1, "one data entry, one relocation");
    let (offset, relocation) = &relocations[0];
    assert_eq!(
        *offset, 72,
        "OffsetToData of the data entry after three directories"
    );
    assert_eq!(
        relocation.flags(),
        RelocationFlags::Coff {
            typ: object::pe::IMAGE_REL_AMD64_ADDR32NB
        },
        "ADDR32NB"
    );
    let object::RelocationTarget::Symbol(index) = relocation.target() else {
        panic!("relocation target is not a symbol");
    };
    let symbol = file.symbol_by_index(index).unwrap();
    assert_eq!(symbol.name().unwrap(), ".rsrc");
    assert_eq!(symbol.section_index(), Some(rsrc.index()));
    assert_eq!(symbol.address(), 0);

    // The data entry points (section-relative, before relocation) at the version resource.
    let data = rsrc.data().unwrap();
    let target = u32::from_le_bytes(data[72..76].try_into().unwrap()) as usize;
    let size = u32::from_le_bytes(data[76..80].try_into().unwrap()) as usize;
    assert_eq!(target % 8, 0, "resource data is 8-byte aligned");
    assert_eq!(
        &data[target..target + size],
        &version_resource(&sample_info()).unwrap()[..]
    );
}

#[test]
fn object_bytes_are_deterministic_and_depend_on_input() {
    let a = coff_object(&sample_info()).unwrap();
    let b = coff_object(&sample_info().clone()).unwrap();
    assert_eq!(a, b);
    let mut other = sample_info();
    other.file_version[3] += 1;
    assert_ne!(a, coff_object(&other).unwrap());
    eprintln!("sample .syso is {} bytes", a.len());
}

#[test]
fn objdump_shows_the_resource_tree_and_relocation() {
    if !require_tool("x86_64-w64-mingw32-objdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.syso");
    std::fs::write(&path, coff_object(&sample_info()).unwrap()).unwrap();
    let text = run_ok(
        "x86_64-w64-mingw32-objdump",
        &["-x".as_ref(), path.as_os_str()],
    );
    let size = version_resource(&sample_info()).unwrap().len();
    for expected in [
        "file format pe-x86-64".to_string(),
        "Entry: ID: 0x000010, Value: 0x80000018".into(),
        "Entry: ID: 0x000001, Value: 0x80000030".into(),
        "Entry: ID: 0x000409, Value: 0x000048".into(),
        format!("Leaf: Addr: 0x000058, Size: {size:#08x}, Codepage: 0"),
        "0000000000000048 IMAGE_REL_AMD64_ADDR32NB  .rsrc".into(),
    ] {
        assert!(
            text.contains(&expected),
            "objdump lacks {expected:?}:\n{text}"
        );
    }
}

/// windres decompiles our object into the VERSIONINFO we meant.
#[test]
fn windres_decompiles_the_object() {
    if !require_tool("x86_64-w64-mingw32-windres") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.syso");
    std::fs::write(&path, coff_object(&sample_info()).unwrap()).unwrap();
    let rc = run_ok(
        "x86_64-w64-mingw32-windres",
        &[
            "-J".as_ref(),
            "coff".as_ref(),
            "-O".as_ref(),
            "rc".as_ref(),
            "-i".as_ref(),
            path.as_os_str(),
        ],
    );
    assert_rc_describes_sample(&rc);
}

/// Compiling the equivalent .rc with windres gives a byte-identical `.rsrc` section: our
/// encoding of VS_VERSIONINFO (lengths, padding, order) matches GNU's resource compiler.
#[cfg(unix)]
#[test]
fn section_is_byte_identical_to_windres_for_equivalent_rc() {
    use std::os::unix::fs::PermissionsExt;
    if !require_tool("x86_64-w64-mingw32-windres") {
        return;
    }
    let info = sample_info();
    let mut rc = String::from("LANGUAGE 9, 1\n1 VERSIONINFO\n");
    rc += " FILEVERSION 1, 4, 1, 7\n PRODUCTVERSION 1, 4, 1, 300\n";
    rc += " FILEFLAGSMASK 0x3f\n FILEFLAGS 0x2\n FILEOS 0x40004\n FILETYPE 0x1\nBEGIN\n";
    rc += "  BLOCK \"StringFileInfo\"\n  BEGIN\n    BLOCK \"040904B0\"\n    BEGIN\n";
    for (k, v) in common::sample_strings() {
        rc += &format!("      VALUE \"{k}\", \"{v}\"\n");
    }
    rc += "    END\n  END\n  BLOCK \"VarFileInfo\"\n  BEGIN\n";
    rc += "    VALUE \"Translation\", 0x409, 1200\n  END\nEND\n";

    let dir = tempfile::tempdir().unwrap();
    let rc_path = dir.path().join("v.rc");
    std::fs::write(&rc_path, rc).unwrap();
    // windres runs a C preprocessor (mingw gcc, not installed); the .rc needs none, so pass it
    // through unchanged.
    let cpp = dir.path().join("cat-last-arg.sh");
    std::fs::write(
        &cpp,
        "#!/bin/sh\nfor a; do last=$a; done\nexec cat \"$last\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cpp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("w.o");
    run_ok(
        "x86_64-w64-mingw32-windres",
        &[
            format!("--preprocessor={}", cpp.display()).as_ref(),
            "-O".as_ref(),
            "coff".as_ref(),
            "-i".as_ref(),
            rc_path.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    );
    let theirs = std::fs::read(&out).unwrap();
    let ours = coff_object(&info).unwrap();
    let section = |bytes: &[u8]| {
        let file = object::File::parse(bytes).unwrap();
        let data = file
            .section_by_name(".rsrc")
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        data
    };
    assert_eq!(section(&ours), section(&theirs), "windres' .rsrc differs");
}
