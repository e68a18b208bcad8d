//! Scale: 5,000 files build in time linear in their number, and packages with more than 65,535
//! distinct strings switch to 3-byte string references and still read correctly.

mod common;

use std::time::{Duration, Instant};

use common::*;
use msi_writer::*;

/// `count` small files spread over `count / 100` folders, with varied content.
fn many_files(count: usize) -> Package {
    let mut pkg = hello_package(ProductVersion(1, 0, 0));
    pkg.files.truncate(1); // keep the service exe
    for i in 0..count {
        let content = format!("file {i}\n{}\n", "lorem ipsum ".repeat(i % 50)).into_bytes();
        pkg.files.push(FileSpec {
            key: format!("f{i}"),
            name: format!("asset-{i:05}.dat"),
            dir: DirRef::install_sub(["assets".to_string(), format!("group {:03}", i / 100)]),
            source: Source::Bytes(content),
            version: None,
            never_overwrite: false,
            permanent: false,
        });
    }
    pkg
}

fn timed(
    pkg: &Package,
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, PackageReport, Duration) {
    let start = Instant::now();
    let (out, report) = build(pkg, dir, name);
    (out, report, start.elapsed())
}

#[test]
fn five_thousand_files_build_in_linear_time() {
    let dir = temp_dir();
    let small = many_files(1_000);
    let large = many_files(5_000);
    // Warm up (page cache, allocator), then measure.
    timed(&small, dir.path(), "warm.msi");
    let (_, _, t1) = timed(&small, dir.path(), "1000.msi");
    let (msi, report, t5) = timed(&large, dir.path(), "5000.msi");
    println!(
        "msi-writer scale: 1,000 files {:?}, 5,000 files {:?} (ratio {:.1}; {} strings, {} bytes MSI, {} bytes payload)",
        t1,
        t5,
        t5.as_secs_f64() / t1.as_secs_f64(),
        report.string_count,
        report.msi_bytes,
        report.payload_bytes
    );
    assert_eq!(report.file_count, 5_001);
    // Linear would be 5x; a per-row rescan (quadratic) would be about 25x. Leave room for noise
    // on a shared machine.
    assert!(
        t5 < t1 * 12 + Duration::from_millis(500),
        "not linear: {t1:?} vs {t5:?}"
    );

    if require_tool("msiinfo") && require_tool("msiextract") {
        assert_eq!(export(&msi, "File").len(), 5_001);
        assert_eq!(export(&msi, "Component").len(), 5_001);
        let extract = dir.path().join("x");
        std::fs::create_dir(&extract).unwrap();
        run(
            "msiextract",
            &["-C", extract.to_str().unwrap(), msi.to_str().unwrap()],
        );
        let sample =
            std::fs::read(extract.join("Hello Service/assets/group 042/asset-04242.dat")).unwrap();
        let Source::Bytes(want) = &large.files[4243].source else {
            unreachable!()
        };
        assert_eq!(&sample, want);
    }
    let findings = lint(&msi).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn more_than_65535_strings_use_long_string_references() {
    let dir = temp_dir();
    let pkg = many_files(23_000);
    let (msi, report, elapsed) = timed(&pkg, dir.path(), "big.msi");
    println!(
        "msi-writer scale: 23,000 files {elapsed:?}, {} distinct strings",
        report.string_count
    );
    assert!(report.string_count > 65_535, "{}", report.string_count);

    let mut package = msi::Package::open(std::fs::File::open(&msi).unwrap()).unwrap();
    let rows: Vec<msi::Row> = package
        .select_rows(
            msi::Select::table("File").with(msi::Expr::col("File").eq(msi::Expr::string("f22999"))),
        )
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["FileName"]
        .as_str()
        .unwrap()
        .ends_with("|asset-22999.dat"));
    assert_eq!(rows[0]["Sequence"].as_int(), Some(23_001));
    if require_tool("msiinfo") {
        let files = export(&msi, "File");
        assert_eq!(files.len(), 23_001);
        let last = files.iter().find(|r| r[0] == "f22999").unwrap();
        assert!(last[2].ends_with("|asset-22999.dat"), "{last:?}");
    }
}
