//! The reproducibility comparator of `cargo xtask repro`: it passes identical release folders and,
//! when something leaks into one build (a timestamp, a changed table row, a zip entry time, a
//! stray file), it fails naming the file, the first differing offset and what differs inside.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use msi_writer::*;
use winrelease_cli::repro::{self, compare_dirs, Finding, Side};

const TIMESTAMP: u64 = 1_764_086_400; // the "commit time" both builds should use

fn package(timestamp: u64) -> Package {
    let upgrade_code = Guid::parse("upgrade_code", "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11").unwrap();
    let version = ProductVersion(1, 2, 3);
    Package {
        product: Product {
            name: "Repro Test".into(),
            manufacturer: "Example Corp".into(),
            version,
            product_code: Guid::product_code_for(&upgrade_code, version),
            upgrade_code,
            language: 1033,
            description: "repro comparator test".into(),
        },
        install_dir: InstallDir {
            under: KnownFolder::ProgramFiles64,
            path: vec!["Repro Test".into()],
            property: "INSTALLDIR".into(),
        },
        data_dirs: vec![],
        files: vec![
            FileSpec {
                key: "app.exe".into(),
                name: "app.exe".into(),
                dir: DirRef::install(),
                source: Source::Bytes(b"MZ not really an exe, but bytes to pack".repeat(100)),
                version: Some("1.2.3.0".into()),
                never_overwrite: false,
                permanent: false,
            },
            FileSpec {
                key: "README.txt".into(),
                name: "README.txt".into(),
                dir: DirRef::install_sub(["docs"]),
                source: Source::Bytes(b"read me\r\n".to_vec()),
                version: None,
                never_overwrite: false,
                permanent: false,
            },
        ],
        service: None,
        empty_dirs: Vec::new(),
        event_log_source: None,
        recovery: None,
        firewall_rules: vec![],
        properties: vec![],
        commands: vec![],
        arp: Arp::default(),
        downgrade_property: None,
        timestamp,
    }
}

fn zip_bytes(readme_time: zip::DateTime) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let fixed = zip::DateTime::from_date_and_time(2025, 11, 25, 16, 0, 0).unwrap();
    for (name, time, data) in [
        ("app.exe", fixed, &b"MZ app"[..]),
        ("README.txt", readme_time, &b"read me\r\n"[..]),
    ] {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(time)
            .unix_permissions(0o644);
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn fixed_time() -> zip::DateTime {
    zip::DateTime::from_date_and_time(2025, 11, 25, 16, 0, 0).unwrap()
}

/// A release-shaped folder: MSI, zip, checksums, manifest, a signature.
fn release_dir(root: &Path, name: &str, msi_timestamp: u64, readme_time: zip::DateTime) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write_package(&package(msi_timestamp), &dir.join("repro_1.2.3_x64.msi")).unwrap();
    std::fs::write(
        dir.join("repro_1.2.3_windows_amd64.zip"),
        zip_bytes(readme_time),
    )
    .unwrap();
    std::fs::write(
        dir.join("SHA256SUMS"),
        "0000000000000000000000000000000000000000000000000000000000000000  repro_1.2.3_x64.msi\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        "{\n  \"product\": \"Repro Test\",\n  \"version\": \"1.2.3\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("repro_1.2.3_x64.msi.minisig"),
        "untrusted comment: signature\nRWQAAAAA\ntrusted comment: winrelease\nAAAA\n",
    )
    .unwrap();
    dir
}

fn findings_text(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn msi_finding(findings: &[Finding]) -> (&u64, &Vec<String>) {
    match findings
        .iter()
        .find(|f| f.file() == "repro_1.2.3_x64.msi")
        .unwrap_or_else(|| panic!("no MSI finding in:\n{}", findings_text(findings)))
    {
        Finding::Differs { offset, inside, .. } => (offset, inside),
        other => panic!("{other}"),
    }
}

#[test]
fn identical_release_folders_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let a = release_dir(tmp.path(), "a", TIMESTAMP, fixed_time());
    let b = release_dir(tmp.path(), "b-elsewhere", TIMESTAMP, fixed_time());
    let findings = compare_dirs(&a, &b).unwrap();
    assert!(findings.is_empty(), "{}", findings_text(&findings));
}

#[test]
fn a_leaked_build_time_fails_and_names_the_summary_property() {
    let tmp = tempfile::tempdir().unwrap();
    let a = release_dir(tmp.path(), "a", TIMESTAMP, fixed_time());
    // Build B's MSI with the wall clock a second later instead of the commit time.
    let b = release_dir(tmp.path(), "b", TIMESTAMP + 1, fixed_time());
    let findings = compare_dirs(&a, &b).unwrap();
    eprintln!("{}", findings_text(&findings));
    assert_eq!(findings.len(), 1, "{}", findings_text(&findings));
    let (offset, inside) = msi_finding(&findings);
    let a_bytes = std::fs::read(a.join("repro_1.2.3_x64.msi")).unwrap();
    let b_bytes = std::fs::read(b.join("repro_1.2.3_x64.msi")).unwrap();
    let first = a_bytes
        .iter()
        .zip(&b_bytes)
        .position(|(x, y)| x != y)
        .unwrap();
    assert_eq!(*offset, first as u64);
    let summary = inside
        .iter()
        .find(|l| l.starts_with("summary information"))
        .unwrap_or_else(|| panic!("{inside:#?}"));
    assert!(summary.contains("Create Time/Date (PID 12)"), "{summary}");
    assert!(
        summary.contains("Last Save Time/Date (PID 13)"),
        "{summary}"
    );
    let text = findings_text(&findings);
    assert!(text.contains("MISMATCH   repro_1.2.3_x64.msi"), "{text}");
}

/// Overwrites `len` bytes at `at` inside the stream `name` of the compound file at `path`.
fn patch_stream(path: &Path, name: &str, at: u64, bytes: &[u8]) {
    let mut file = cfb::open_rw(path).unwrap();
    let mut stream = file.open_stream(name).unwrap();
    stream.seek(SeekFrom::Start(at)).unwrap();
    stream.write_all(bytes).unwrap();
    stream.flush().unwrap();
}

fn read_stream(path: &Path, name: &str) -> Vec<u8> {
    let mut file = cfb::open(path).unwrap();
    let mut data = Vec::new();
    file.open_stream(name)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    data
}

/// The MSI stream name of table `table` (U+4840 then two base-64 characters per code point).
fn table_stream_name(table: &str) -> String {
    fn b64(c: char) -> u32 {
        match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            'a'..='z' => c as u32 - 'a' as u32 + 36,
            '.' => 62,
            _ => 63,
        }
    }
    let chars: Vec<char> = table.chars().collect();
    let mut out = String::from('\u{4840}');
    for pair in chars.chunks(2) {
        let code = match pair {
            [x, y] => 0x3800 + (b64(*y) << 6) + b64(*x),
            [x] => 0x4800 + b64(*x),
            _ => unreachable!(),
        };
        out.push(char::from_u32(code).unwrap());
    }
    out
}

#[test]
fn a_changed_table_row_is_named_with_its_key_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let a = release_dir(tmp.path(), "a", TIMESTAMP, fixed_time());
    let b = release_dir(tmp.path(), "b", TIMESTAMP, fixed_time());
    let msi = b.join("repro_1.2.3_x64.msi");
    let stream = table_stream_name("File");
    assert_eq!(
        repro::decode_stream_name(&stream),
        "table File",
        "encoder and decoder agree"
    );
    // The File table is stored column by column; FileSize is the 4th column (after three
    // string references). Change the first row's FileSize.
    let data = read_stream(&msi, &stream);
    // Columns: File, Component_, FileName (strings), FileSize (i4), Version, Language (strings),
    // Attributes (i2), Sequence (i2 or i4); strings are 2-byte references, 3-byte in big pools.
    let rows = 2;
    let width = data.len() / rows;
    let string_ref = if width <= 20 { 2 } else { 3 };
    let file_size_at = (3 * string_ref * rows) as u64;
    patch_stream(&msi, &stream, file_size_at, &[0x55]);

    let findings = compare_dirs(&a, &b).unwrap();
    eprintln!("{}", findings_text(&findings));
    let (_, inside) = msi_finding(&findings);
    let text = inside.join("\n");
    assert!(text.contains("table File: differs"), "{text}");
    assert!(
        text.contains("table File: 1 row(s) differ; first: row 1 (key ")
            && text.contains("FileSize"),
        "{text}"
    );
}

#[test]
fn a_zip_entry_time_is_named_with_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let a = release_dir(tmp.path(), "a", TIMESTAMP, fixed_time());
    let later = zip::DateTime::from_date_and_time(2025, 11, 25, 16, 0, 2).unwrap();
    let b = release_dir(tmp.path(), "b", TIMESTAMP, later);
    let findings = compare_dirs(&a, &b).unwrap();
    assert_eq!(findings.len(), 1, "{}", findings_text(&findings));
    let Finding::Differs { file, inside, .. } = &findings[0] else {
        panic!("{}", findings_text(&findings));
    };
    assert_eq!(file, "repro_1.2.3_windows_amd64.zip");
    let text = inside.join("\n");
    assert!(
        text.contains("first difference is inside entry README.txt"),
        "{text}"
    );
    assert!(text.contains("entry README.txt: time"), "{text}");
    assert!(!text.contains("entry app.exe"), "{text}");
}

#[test]
fn extra_and_changed_text_files_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let a = release_dir(tmp.path(), "a", TIMESTAMP, fixed_time());
    let b = release_dir(tmp.path(), "b", TIMESTAMP, fixed_time());
    std::fs::write(b.join("stray.log"), "left behind by the build\n").unwrap();
    std::fs::write(
        b.join("manifest.json"),
        "{\n  \"product\": \"Repro Test\",\n  \"version\": \"1.2.4\"\n}\n",
    )
    .unwrap();
    let findings = compare_dirs(&a, &b).unwrap();
    assert!(
        findings.contains(&Finding::OnlyIn {
            side: Side::B,
            file: "stray.log".into()
        }),
        "{}",
        findings_text(&findings)
    );
    let manifest = findings
        .iter()
        .find(|f| f.file() == "manifest.json")
        .unwrap();
    let Finding::Differs { offset, inside, .. } = manifest else {
        panic!("{manifest}");
    };
    assert_eq!(
        *offset,
        "{\n  \"product\": \"Repro Test\",\n  \"version\": \"1.2.".len() as u64
    );
    assert_eq!(inside[0], "line 3:");
    assert!(inside[2].contains("1.2.4"), "{inside:?}");
}
