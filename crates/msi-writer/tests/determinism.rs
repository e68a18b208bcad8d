//! Reproducibility: the same model gives the same bytes; what must change does, what must stay
//! stable does.

mod common;

use common::*;
use msi_writer::*;

fn table_rows(msi: &std::path::Path, table: &str) -> Vec<Vec<String>> {
    let mut package = msi::Package::open(std::fs::File::open(msi).unwrap()).unwrap();
    let mut rows: Vec<Vec<String>> = package
        .select_rows(msi::Select::table(table))
        .unwrap()
        .map(|row| (0..row.len()).map(|i| format!("{:?}", row[i])).collect())
        .collect();
    rows.sort();
    rows
}

#[test]
fn two_builds_are_byte_identical() {
    let pkg = hello_package(ProductVersion(1, 2, 3));
    let (a, b) = (temp_dir(), temp_dir());
    let (first, report_a) = build(&pkg, a.path(), "x.msi");
    let (second, report_b) = build(&pkg, b.path(), "different-name.msi");
    assert_eq!(report_a, report_b);
    assert_eq!(
        std::fs::read(first).unwrap(),
        std::fs::read(second).unwrap()
    );
}

#[test]
fn payload_from_disk_or_memory_gives_the_same_package() {
    let dir = temp_dir();
    let pkg = hello_package(ProductVersion(1, 2, 3));
    let mut from_disk = pkg.clone();
    for file in &mut from_disk.files {
        let Source::Bytes(bytes) = &file.source else {
            unreachable!()
        };
        let path = dir.path().join(format!("payload-{}", file.key));
        std::fs::write(&path, bytes).unwrap();
        file.source = Source::Path(path);
    }
    let (a, _) = build(&pkg, dir.path(), "mem.msi");
    let (b, _) = build(&from_disk, dir.path(), "disk.msi");
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn package_code_follows_content_and_component_guids_stay() {
    let dir = temp_dir();
    let v1 = hello_package(ProductVersion(1, 2, 3));
    let (msi1, r1) = build(&v1, dir.path(), "v1.msi");

    let mut tweaked = v1.clone();
    tweaked.files[1].source = Source::Bytes(b"MIT License, revised\r\n".to_vec());
    let (_, r_tweak) = build(&tweaked, dir.path(), "tweak.msi");
    assert_ne!(
        r1.package_code, r_tweak.package_code,
        "different content, different PackageCode"
    );
    assert_eq!(r1.product_code, r_tweak.product_code);

    let mut later = v1.clone();
    later.timestamp += 1;
    let (_, r_time) = build(&later, dir.path(), "time.msi");
    assert_ne!(
        r1.package_code, r_time.package_code,
        "summary times are part of the package"
    );

    let v2 = hello_package(ProductVersion(1, 3, 0));
    let (msi2, r2) = build(&v2, dir.path(), "v2.msi");
    assert_ne!(
        r1.product_code, r2.product_code,
        "a new version is a new product (major upgrade)"
    );
    assert_ne!(r1.package_code, r2.package_code);
    // Component GUIDs follow the install location, not the version: stable across releases.
    assert_eq!(
        table_rows(&msi1, "Component"),
        table_rows(&msi2, "Component")
    );
    let upgrade_code = |msi: &std::path::Path| {
        table_rows(msi, "Property")
            .into_iter()
            .find(|r| r[0] == "Str(\"UpgradeCode\")")
            .unwrap()[1]
            .clone()
    };
    assert_eq!(upgrade_code(&msi1), upgrade_code(&msi2));

    // Moving a file is a different component.
    let mut moved = v1.clone();
    moved.files[1].dir = DirRef::install_sub(["doc"]);
    let (msi3, _) = build(&moved, dir.path(), "moved.msi");
    let guid_of = |msi: &std::path::Path, key: &str| {
        table_rows(msi, "Component")
            .into_iter()
            .find(|r| r[0] == format!("Str({key:?})"))
            .unwrap()[1]
            .clone()
    };
    assert_eq!(
        guid_of(&msi1, "hellosvc.exe"),
        guid_of(&msi3, "hellosvc.exe")
    );
    assert_ne!(guid_of(&msi1, "LICENSE.txt"), guid_of(&msi3, "LICENSE.txt"));
}
