//! Round trips through independent readers: our strict parser (tests/common), the `cab`
//! crate, libmspack's `cabextract` and libgcab's `gcab`.

mod common;

use cabwriter::{
    dos_datetime_from_unix, write_cabinet, CabEntry, CabError, CabOptions, CabSummary, Compression,
    Source, ATTR_ARCHIVE,
};
use common::*;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

fn bytes_entry(name: &str, data: Vec<u8>) -> CabEntry {
    CabEntry {
        name: name.to_string(),
        source: Source::Bytes(data),
        dos_datetime: dos_datetime_from_unix(1_700_000_000),
        attributes: ATTR_ARCHIVE,
    }
}

fn data_of(entry: &CabEntry) -> Vec<u8> {
    match &entry.source {
        Source::Bytes(b) => b.clone(),
        Source::Path(p) => std::fs::read(p).unwrap(),
    }
}

fn build(entries: &[CabEntry], opts: &CabOptions) -> (Vec<u8>, CabSummary) {
    let mut cur = Cursor::new(Vec::new());
    let summary = write_cabinet(entries, opts, &mut cur).expect("write_cabinet");
    (cur.into_inner(), summary)
}

fn opts(threads: usize) -> CabOptions {
    CabOptions {
        threads,
        ..CabOptions::default()
    }
}

/// The payloads that break careless MSZIP encoders or cabinet layouts.
fn tricky_payloads() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty.bin", Vec::new()),
        ("one.bin", vec![0x42]),
        ("exact32768.bin", random_bytes(32768, 1)),
        ("over32769.txt", text_bytes(32769, 2)),
        ("zeros64k.bin", vec![0u8; 65536]),
        ("abab.txt", repeat_bytes(b"ab", 70_000)),
        ("abc.txt", repeat_bytes(b"abc", 50_000)),
        ("aaaa_then_b.bin", {
            let mut v = vec![b'a'; 40_000];
            v.push(b'b');
            v
        }),
        ("random.bin", random_bytes(150_000, 3)),
        ("text.txt", text_bytes(300_000, 4)),
    ]
}

/// Checks the cabinet with every reader available and that each gives back `entries`.
fn check_all_readers(cab: &[u8], entries: &[CabEntry]) {
    // 1. Strict structural parser and MSZIP decoder.
    let parsed = parse_cab(cab);
    assert_eq!(parsed.files.len(), entries.len());
    for (got, want) in parsed.files.iter().zip(entries) {
        assert_eq!(got.name, want.name);
        assert!(got.data == data_of(want), "content of {}", want.name);
        assert_eq!((got.date, got.time), want.dos_datetime);
    }

    // 2. The `cab` crate. It decodes a folder from its start for every file, so on big
    // file lists a spread-out sample keeps the test fast.
    let mut cabinet = cab::Cabinet::new(Cursor::new(cab.to_vec())).expect("cab crate opens it");
    let stride = entries.len().div_ceil(100);
    for want in entries.iter().step_by(stride).chain(entries.last()) {
        let mut got = Vec::new();
        cabinet
            .read_file(&want.name)
            .unwrap_or_else(|e| panic!("cab crate cannot find {}: {e}", want.name))
            .read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("cab crate cannot read {}: {e}", want.name));
        assert!(got == data_of(want), "cab crate content of {}", want.name);
    }

    let dir = tempfile::tempdir().unwrap();
    let cab_path = dir.path().join("test.cab");
    std::fs::write(&cab_path, cab).unwrap();
    let mut expected: Vec<(String, Vec<u8>)> = entries
        .iter()
        .map(|e| (e.name.clone(), data_of(e)))
        .collect();
    expected.sort();

    // 3. libmspack.
    if require_tool("cabextract") {
        let (ok, text) = run(Command::new("cabextract").arg("-t").arg(&cab_path));
        assert!(
            ok && text.contains("All done, no errors."),
            "cabextract -t:\n{text}"
        );
        let out = dir.path().join("cabextract");
        let (ok, text) = run(Command::new("cabextract")
            .arg("-q")
            .arg("-d")
            .arg(&out)
            .arg(&cab_path));
        assert!(ok, "cabextract -d:\n{text}");
        compare_tree(&out, &expected, "cabextract");
    }

    // 4. libgcab (what msiextract uses).
    if require_tool("gcab") {
        let (ok, text) = run(Command::new("gcab").arg("-t").arg(&cab_path));
        assert!(ok, "gcab -t:\n{text}");
        let listed: Vec<&str> = text.lines().collect();
        assert_eq!(
            listed.len(),
            entries.len(),
            "gcab -t lists every file:\n{text}"
        );
        let out = dir.path().join("gcab");
        std::fs::create_dir(&out).unwrap();
        let (ok, text) = run(Command::new("gcab")
            .arg("-x")
            .arg("-C")
            .arg(&out)
            .arg(&cab_path));
        assert!(ok, "gcab -x:\n{text}");
        compare_tree(&out, &expected, "gcab");
    }
}

fn compare_tree(dir: &Path, expected: &[(String, Vec<u8>)], tool: &str) {
    let got = read_tree(dir);
    assert_eq!(
        got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        "{tool} extracted names"
    );
    for ((name, got), (_, want)) in got.iter().zip(expected) {
        assert!(got == want, "{tool}: content of {name} differs");
    }
}

#[test]
fn each_tricky_payload_alone_is_read_back_exactly() {
    for (name, data) in tricky_payloads() {
        let entries = vec![bytes_entry(name, data)];
        let (cab, summary) = build(&entries, &opts(2));
        assert_eq!(summary.files, 1);
        check_all_readers(&cab, &entries);
    }
}

#[test]
fn all_tricky_payloads_in_one_cabinet_at_every_level() {
    let entries: Vec<CabEntry> = tricky_payloads()
        .into_iter()
        .map(|(n, d)| bytes_entry(n, d))
        .collect();
    let total: u64 = entries.iter().map(|e| data_of(e).len() as u64).sum();
    let compressions =
        std::iter::once(Compression::None).chain((0..=9).map(|level| Compression::MsZip { level }));
    for compression in compressions {
        let (cab, summary) = build(
            &entries,
            &CabOptions {
                compression,
                threads: 3,
                max_folder_uncompressed: None,
            },
        );
        assert_eq!(summary.compressed, cab.len() as u64);
        assert_eq!(summary.uncompressed, total);
        assert_eq!(summary.folders, 1);
        assert_eq!(summary.blocks as u64, total.div_ceil(32768));
        let parsed = parse_cab(&cab);
        let expected_type = if compression == Compression::None {
            0
        } else {
            1
        };
        assert_eq!(parsed.folders[0].2, expected_type);
        assert!(
            parsed.max_cb_data <= 32768 + 7,
            "{compression:?}: cbData {}",
            parsed.max_cb_data
        );
        check_all_readers(&cab, &entries);
    }
}

#[test]
fn compressible_payload_actually_shrinks_and_dictionary_helps() {
    let entries = vec![bytes_entry("text.txt", text_bytes(1 << 20, 9))];
    let (cab, _) = build(&entries, &opts(2));
    assert!(
        cab.len() < (1 << 20) / 3,
        "text compressed to {} bytes",
        cab.len()
    );
    let zeros = vec![bytes_entry("zeros", vec![0u8; 1 << 20])];
    let (cab, summary) = build(&zeros, &opts(2));
    assert_eq!(summary.blocks, 32);
    // With the previous block as dictionary a zero block is a handful of bytes.
    assert!(
        cab.len() < 32 * 120,
        "1 MiB of zeros took {} bytes",
        cab.len()
    );
    check_all_readers(&cab, &zeros);
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let entries: Vec<CabEntry> = (0..40)
        .map(|i| {
            let data = match i % 4 {
                0 => text_bytes(20_000 + i * 3_001, i as u64),
                1 => random_bytes(10_000 + i * 1_777, i as u64),
                2 => vec![0u8; i * 5_000],
                _ => repeat_bytes(b"0123456789abcdef", 33_000 + i),
            };
            bytes_entry(&format!("file{i:02}.dat"), data)
        })
        .collect();
    for folder_limit in [None, Some(300_000)] {
        let reference = build(
            &entries,
            &CabOptions {
                threads: 1,
                max_folder_uncompressed: folder_limit,
                ..CabOptions::default()
            },
        );
        for threads in [0, 2, 3, 4, 8] {
            let other = build(
                &entries,
                &CabOptions {
                    threads,
                    max_folder_uncompressed: folder_limit,
                    ..CabOptions::default()
                },
            );
            assert!(
                other.0 == reference.0,
                "threads={threads} limit={folder_limit:?} changed the bytes"
            );
            assert_eq!(other.1, reference.1);
        }
        check_all_readers(&reference.0, &entries);
    }
}

#[test]
fn small_folder_limit_splits_folders_without_sharing_history() {
    let sizes = [0usize, 50_000, 60_000, 150_000, 10, 0, 99_990, 1, 40_000];
    let entries: Vec<CabEntry> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| bytes_entry(&format!("f{i}"), text_bytes(n, 100 + i as u64)))
        .collect();
    let (cab, summary) = build(
        &entries,
        &CabOptions {
            threads: 2,
            max_folder_uncompressed: Some(100_000),
            ..CabOptions::default()
        },
    );
    let parsed = parse_cab(&cab);
    let folders: Vec<u16> = parsed.files.iter().map(|f| f.folder).collect();
    // 0+50000 | 60000 (would exceed) | 150000 alone | 10,0,99990 | 1, 40000.
    assert_eq!(folders, vec![0, 0, 1, 2, 3, 3, 3, 4, 4]);
    assert_eq!(summary.folders, 5);
    assert_eq!(parsed.folders.len(), 5);
    let offsets: Vec<u32> = parsed.files.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, vec![0, 0, 0, 0, 0, 10, 10, 0, 1]);
    check_all_readers(&cab, &entries);
}

#[test]
fn five_thousand_small_files() {
    let entries: Vec<CabEntry> = (0..5000)
        .map(|i| {
            let len = (i * 7919) % 3000;
            let data = if i % 3 == 0 {
                random_bytes(len, i as u64)
            } else {
                text_bytes(len, i as u64)
            };
            bytes_entry(&format!("fil{i:05}"), data)
        })
        .collect();
    let (cab, summary) = build(&entries, &opts(0));
    assert_eq!(summary.files, 5000);
    check_all_readers(&cab, &entries);
}

#[test]
fn path_sources_give_the_same_bytes_as_in_memory_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut from_bytes = Vec::new();
    let mut from_paths = Vec::new();
    for (name, data) in tricky_payloads() {
        let path = dir.path().join(name);
        std::fs::write(&path, &data).unwrap();
        from_bytes.push(bytes_entry(name, data));
        let mut e = bytes_entry(name, Vec::new());
        e.source = Source::Path(path);
        from_paths.push(e);
    }
    let a = build(&from_bytes, &opts(2));
    let b = build(&from_paths, &opts(4));
    assert!(a.0 == b.0);
    check_all_readers(&b.0, &from_paths);
}

#[test]
fn cabinet_of_only_empty_files_is_readable() {
    let entries = vec![
        bytes_entry("a.txt", Vec::new()),
        bytes_entry("b.txt", Vec::new()),
    ];
    let (cab, summary) = build(&entries, &opts(2));
    assert_eq!((summary.folders, summary.blocks), (1, 0));
    check_all_readers(&cab, &entries);
}

#[test]
fn names_attributes_and_times_are_stored_as_given() {
    let mut ro = bytes_entry("Config\\readonly.json", b"{}".to_vec());
    ro.attributes = 0x01 | 0x20;
    ro.dos_datetime = (0x5A21, 0x6C0F);
    let utf = bytes_entry("caf\u{e9}.txt", b"non-ascii name".to_vec());
    let (cab, _) = build(&[ro, utf], &opts(1));
    let parsed = parse_cab(&cab);
    assert_eq!(parsed.files[0].name, "Config\\readonly.json");
    assert_eq!(parsed.files[0].attributes, 0x21);
    assert_eq!(
        (parsed.files[0].date, parsed.files[0].time),
        (0x5A21, 0x6C0F)
    );
    assert_eq!(
        parsed.files[1].attributes,
        0x20 | 0x80,
        "UTF-8 flag set for a non-ASCII name"
    );
    assert_eq!(parsed.set_id, 0);
    if require_tool("cabextract") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.cab");
        std::fs::write(&path, &cab).unwrap();
        let (ok, text) = run(Command::new("cabextract").arg("-l").arg(&path));
        assert!(
            ok && text.contains("caf\u{e9}.txt"),
            "cabextract -l:\n{text}"
        );
    }
}

#[test]
fn cabinet_can_start_mid_stream() {
    let entries = vec![bytes_entry("x", text_bytes(100_000, 5))];
    let mut cur = Cursor::new(b"PREFIX".to_vec());
    cur.set_position(6);
    let summary = write_cabinet(&entries, &opts(2), &mut cur).unwrap();
    assert_eq!(cur.position(), 6 + summary.compressed);
    let all = cur.into_inner();
    assert_eq!(&all[..6], b"PREFIX");
    let (alone, _) = build(&entries, &opts(1));
    assert!(
        all[6..] == alone[..],
        "offsets are relative to the cabinet's start"
    );
}

#[test]
fn invalid_input_is_refused_before_writing_anything() {
    let check = |entries: Vec<CabEntry>, o: CabOptions, expect: &str| {
        let mut cur = Cursor::new(Vec::new());
        let err = write_cabinet(&entries, &o, &mut cur).expect_err(expect);
        let msg = err.to_string();
        assert!(
            msg.contains(expect),
            "message {msg:?} should mention {expect:?}"
        );
        assert!(cur.get_ref().is_empty(), "nothing written for {expect}");
        err
    };
    let one = || vec![bytes_entry("ok", b"x".to_vec())];
    assert!(matches!(
        check(vec![], opts(1), "at least one"),
        CabError::NoEntries
    ));
    check(vec![bytes_entry("", vec![])], opts(1), "empty");
    check(
        vec![bytes_entry(&"n".repeat(256), vec![])],
        opts(1),
        "255 bytes",
    );
    // The longest allowed name is fine.
    build(&[bytes_entry(&"n".repeat(255), vec![1])], &opts(1));
    check(vec![bytes_entry("a\0b", vec![])], opts(1), "NUL");
    check(
        vec![
            bytes_entry("same", vec![]),
            bytes_entry("other", vec![]),
            bytes_entry("same", vec![]),
        ],
        opts(1),
        "entries 0 and 2 are both named \"same\"",
    );
    check(
        one(),
        CabOptions {
            compression: Compression::MsZip { level: 10 },
            ..opts(1)
        },
        "level 10",
    );
    check(
        one(),
        CabOptions {
            max_folder_uncompressed: Some(0),
            ..opts(1)
        },
        "max_folder_uncompressed",
    );
    check(
        one(),
        CabOptions {
            max_folder_uncompressed: Some(cabwriter::MAX_FOLDER_UNCOMPRESSED + 1),
            ..opts(1)
        },
        "max_folder_uncompressed",
    );
    let many: Vec<CabEntry> = (0..65_536)
        .map(|i| bytes_entry(&format!("{i}"), vec![]))
        .collect();
    check(many, opts(1), "at most 65535");
    let dir = tempfile::tempdir().unwrap();
    let mut e = bytes_entry("dir", vec![]);
    e.source = Source::Path(dir.path().to_path_buf());
    check(vec![e.clone()], opts(1), "not a regular file");
    e.source = Source::Path(dir.path().join("missing.exe"));
    check(vec![e], opts(1), "missing.exe");
}

#[test]
fn size_limits_are_checked_before_reading_any_data() {
    // Sparse files: the sizes are real, the disk use and the test time are not.
    let dir = tempfile::tempdir().unwrap();
    let sparse = |name: &str, len: u64| {
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        let mut e = bytes_entry(name, vec![]);
        e.source = Source::Path(path);
        e
    };
    let limit = cabwriter::MAX_FOLDER_UNCOMPRESSED;
    let mut cur = Cursor::new(Vec::new());
    let err = write_cabinet(&[sparse("huge.bin", limit + 1)], &opts(1), &mut cur).unwrap_err();
    assert!(
        matches!(err, CabError::FileTooLarge { size, .. } if size == limit + 1),
        "{err}"
    );
    assert!(cur.get_ref().is_empty());

    let three = [sparse("a", limit), sparse("b", limit), sparse("c", limit)];
    let stored = CabOptions {
        compression: Compression::None,
        ..opts(1)
    };
    let err = write_cabinet(&three, &stored, &mut cur).unwrap_err();
    assert!(matches!(err, CabError::CabinetTooLarge), "{err}");
    assert!(cur.get_ref().is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn a_source_that_grows_while_being_read_is_reported() {
    // procfs files report size 0 but have content: exactly a file that grew.
    let mut e = bytes_entry("status", vec![]);
    e.source = Source::Path("/proc/self/status".into());
    let err = write_cabinet(&[e], &opts(1), Cursor::new(Vec::new())).unwrap_err();
    assert!(matches!(err, CabError::SourceChanged { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("changed while the cabinet was written"),
        "{err}"
    );
}

#[test]
fn most_files_allowed_still_works() {
    let entries: Vec<CabEntry> = (0..65_535)
        .map(|i| bytes_entry(&format!("k{i}"), vec![i as u8]))
        .collect();
    let (cab, summary) = build(&entries, &opts(0));
    assert_eq!(summary.files, 65_535);
    let parsed = parse_cab(&cab);
    assert_eq!(parsed.files.len(), 65_535);
    assert_eq!(parsed.files[65_534].data, vec![(65_534u32 & 0xFF) as u8]);
}
