//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use winversion::VersionInfo;

/// The version info the tests embed: every field distinct, a SemVer pre-release with build
/// metadata, and parts above 255 so byte-order mistakes show.
pub fn sample_info() -> VersionInfo {
    VersionInfo {
        file_version: [1, 4, 1, 7],
        product_version: [1, 4, 1, 300],
        product_version_string: "1.4.1-dev.7+g1a2b3c4".into(),
        company_name: "Example Corp".into(),
        product_name: "Hello Service".into(),
        file_description: "An example Go service".into(),
        original_filename: "hellosvc.exe".into(),
        internal_name: "hellosvc".into(),
        legal_copyright: "Copyright (c) 2024 Example Corp".into(),
    }
}

/// The strings a reader must find for [`sample_info`], in the order we write them.
pub fn sample_strings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CompanyName", "Example Corp"),
        ("FileDescription", "An example Go service"),
        ("FileVersion", "1.4.1.7"),
        ("InternalName", "hellosvc"),
        ("LegalCopyright", "Copyright (c) 2024 Example Corp"),
        ("OriginalFilename", "hellosvc.exe"),
        ("ProductName", "Hello Service"),
        ("ProductVersion", "1.4.1-dev.7+g1a2b3c4"),
    ]
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether `tool` is on PATH. Missing tools skip the calling test with a message, except under
/// `CI=true`, where a missing tool fails it.
pub fn require_tool(tool: &str) -> bool {
    testkit::require_tool(tool).is_some()
}

/// Writes `package main; func main(){}` and its go.mod into `dir`.
pub fn write_main_module(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    std::fs::write(dir.join("go.mod"), "module example.com/hello\n\ngo 1.24\n").unwrap();
}

/// `go build` for windows/amd64 with the pipeline's reproducibility flags, run in `dir`.
pub fn go_build(dir: &Path, out: &Path, extra_args: &[&str]) -> Output {
    Command::new("go")
        .arg("build")
        .args(extra_args)
        .args(["-trimpath", "-ldflags=-s -w -buildid=", "-o"])
        .arg(out)
        .arg(".")
        .current_dir(dir)
        .env("GOOS", "windows")
        .env("GOARCH", "amd64")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod -buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOPROXY", "off")
        .output()
        .expect("run go build")
}

/// Like [`go_build`] but panics with go's output on failure and returns the executable.
pub fn go_build_ok(dir: &Path, out: &Path, extra_args: &[&str]) -> Vec<u8> {
    let output = go_build(dir, out, extra_args);
    assert!(
        output.status.success(),
        "go build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(out).unwrap()
}

/// Runs `tool args...`, asserting success, and returns stdout as text.
pub fn run_ok(tool: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(tool).args(args).output().expect("run tool");
    assert!(
        output.status.success(),
        "{tool} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Checks windres' `-O rc` rendering of a resource built from `sample_info()`.
pub fn assert_rc_describes_sample(rc: &str) {
    let mut expected = vec![
        "LANGUAGE 9, 1".to_string(),
        "1 VERSIONINFO".into(),
        " FILEVERSION 1, 4, 1, 7".into(),
        " PRODUCTVERSION 1, 4, 1, 300".into(),
        " FILEFLAGSMASK 0x3f".into(),
        " FILEFLAGS 0x2".into(),
        " FILEOS 0x40004".into(),
        " FILETYPE 0x1".into(),
        "    BLOCK \"040904B0\"".into(),
        "    VALUE \"Translation\", 0x409, 1200".into(),
    ];
    for (k, v) in sample_strings() {
        expected.push(format!("      VALUE \"{k}\", \"{v}\""));
    }
    for line in expected {
        assert!(
            rc.lines().any(|l| l == line),
            "windres output lacks line {line:?}:\n{rc}"
        );
    }
}

/// Virtual address the synthetic images place their only section at.
pub const SYNTHETIC_SECTION_VA: u32 = 0x1000;

/// The `.rsrc` section of `object` with its relocations applied as a linker would for a section
/// at [`SYNTHETIC_SECTION_VA`], parsed with the `object` crate (not our own code).
pub fn linked_rsrc_section(object: &[u8]) -> Vec<u8> {
    use object::{Object, ObjectSection, RelocationKind, RelocationTarget};
    let file = object::File::parse(object).expect("object crate parses our COFF");
    let section = file.section_by_name(".rsrc").expect(".rsrc section");
    let mut data = section.data().unwrap().to_vec();
    for (offset, relocation) in section.relocations() {
        assert_eq!(relocation.kind(), RelocationKind::ImageOffset, "ADDR32NB");
        assert!(matches!(relocation.target(), RelocationTarget::Symbol(_)));
        let at = offset as usize;
        let value = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        data[at..at + 4].copy_from_slice(&(value + SYNTHETIC_SECTION_VA).to_le_bytes());
    }
    data
}

/// A minimal PE image (PE32+ or PE32) with one section holding `section` at
/// [`SYNTHETIC_SECTION_VA`], and a resource data directory entry of `resource_dir`.
pub fn synthetic_pe(section: &[u8], pe32_plus: bool, resource_dir: (u32, u32)) -> Vec<u8> {
    let optional_size: u16 = if pe32_plus { 112 + 128 } else { 96 + 128 };
    let mut pe = vec![0u8; 0x40];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    pe.extend_from_slice(b"PE\0\0");
    // COFF file header
    pe.extend_from_slice(&0x8664u16.to_le_bytes());
    pe.extend_from_slice(&1u16.to_le_bytes());
    pe.extend_from_slice(&[0; 12]);
    pe.extend_from_slice(&optional_size.to_le_bytes());
    pe.extend_from_slice(&0x22u16.to_le_bytes()); // executable, large address aware
                                                  // Optional header: magic, zeros, NumberOfRvaAndSizes, data directories.
    let optional = pe.len();
    pe.resize(optional + usize::from(optional_size), 0);
    let magic: u16 = if pe32_plus { 0x20B } else { 0x10B };
    pe[optional..optional + 2].copy_from_slice(&magic.to_le_bytes());
    let (count_at, dirs_at) = if pe32_plus { (108, 112) } else { (92, 96) };
    pe[optional + count_at..optional + count_at + 4].copy_from_slice(&16u32.to_le_bytes());
    let resource = optional + dirs_at + 2 * 8;
    pe[resource..resource + 4].copy_from_slice(&resource_dir.0.to_le_bytes());
    pe[resource + 4..resource + 8].copy_from_slice(&resource_dir.1.to_le_bytes());
    // Section header
    let raw_size = (section.len() as u32).next_multiple_of(0x200);
    pe.extend_from_slice(b".rsrc\0\0\0");
    for v in [
        section.len() as u32,
        SYNTHETIC_SECTION_VA,
        raw_size,
        0x200,
        0,
        0,
        0,
    ] {
        pe.extend_from_slice(&v.to_le_bytes());
    }
    pe.extend_from_slice(&0x4000_0040u32.to_le_bytes());
    assert!(pe.len() <= 0x200);
    pe.resize(0x200, 0);
    pe.extend_from_slice(section);
    pe.resize(0x200 + raw_size as usize, 0);
    pe
}
