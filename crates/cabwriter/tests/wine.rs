//! Wine's cabinet.dll (through extrac32.exe) as a reader: the closest thing to Windows
//! available on Linux.

mod common;

use cabwriter::{write_cabinet, CabEntry, CabOptions, Source};
use common::*;
use std::process::Command;

#[test]
fn wine_cabinet_dll_extracts_exact_bytes() {
    if !require_tool("wine") {
        return;
    }
    let payloads: Vec<(String, Vec<u8>)> = vec![
        ("empty.bin".into(), Vec::new()),
        ("one.bin".into(), vec![7]),
        ("zeros.bin".into(), vec![0u8; 100_000]),
        ("abab.txt".into(), repeat_bytes(b"ab", 70_000)),
        ("random.bin".into(), random_bytes(100_000, 11)),
        ("text.txt".into(), text_bytes(300_000, 12)),
    ];
    let entries: Vec<CabEntry> = payloads
        .iter()
        .map(|(n, d)| CabEntry::new(n.clone(), Source::Bytes(d.clone())))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let cab_path = dir.path().join("test.cab");
    // Two folders, so a folder start after compressed data is exercised too.
    let opts = CabOptions {
        max_folder_uncompressed: Some(200_000),
        ..CabOptions::default()
    };
    write_cabinet(&entries, &opts, std::fs::File::create(&cab_path).unwrap()).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let prefix = dir.path().join("prefix");
    let to_wine = |p: &std::path::Path| format!("Z:{}", p.display()).replace('/', "\\\\");
    let (ok, text) = run(Command::new("wine")
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .arg("extrac32.exe")
        .arg("/Y")
        .arg("/E")
        .arg("/L")
        .arg(to_wine(&out))
        .arg(to_wine(&cab_path)));
    let _ = Command::new("wineserver")
        .env("WINEPREFIX", &prefix)
        .arg("-k")
        .status();
    assert!(ok, "wine extrac32 failed:\n{text}");
    let mut expected = payloads.clone();
    expected.sort();
    let got = read_tree(&out);
    assert_eq!(
        got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );
    for ((name, got), (_, want)) in got.iter().zip(&expected) {
        assert!(got == want, "wine extracted {name} with different content");
    }
}
