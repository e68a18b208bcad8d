//! Bad input gives a clear error and writes nothing: no MSI, no temporary file, and an existing
//! file at the output path is left alone.

mod common;

use common::*;
use msi_writer::*;

/// Runs `write_package` on `pkg` and checks that it fails without leaving anything behind;
/// returns the error for the caller's assertions.
fn fails(pkg: &Package) -> MsiError {
    let dir = temp_dir();
    let out = dir.path().join("out.msi");
    let err = write_package(pkg, &out).expect_err("bad input must be refused");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        validate(pkg).is_err(),
        "validate() must agree with write_package()"
    );
    err
}

fn base() -> Package {
    hello_package(ProductVersion(1, 2, 3))
}

#[test]
fn the_base_package_is_valid() {
    validate(&base()).unwrap();
}

#[test]
fn optional_text_may_be_empty() {
    let mut pkg = base();
    pkg.commands[0].arguments = String::new();
    pkg.service.as_mut().unwrap().arguments = String::new();
    pkg.service.as_mut().unwrap().description = String::new();
    pkg.product.description = String::new();
    let dir = temp_dir();
    build(&pkg, dir.path(), "empty-text.msi");
}

#[test]
fn invalid_and_nil_guids() {
    let err = Guid::parse("upgrade_code", "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F1").unwrap_err();
    assert!(matches!(err, MsiError::InvalidGuid { .. }));
    assert!(err.to_string().contains("upgrade_code"), "{err}");

    let mut pkg = base();
    pkg.product.upgrade_code = Guid::parse("x", "00000000-0000-0000-0000-000000000000").unwrap();
    let err = fails(&pkg);
    assert!(
        matches!(&err, MsiError::NilGuid { field } if field == "product.upgrade_code"),
        "{err}"
    );

    let mut pkg = base();
    pkg.product.product_code = pkg.product.upgrade_code;
    assert!(matches!(fails(&pkg), MsiError::SameGuid { .. }));
}

#[test]
fn product_names_outside_windows_1252_are_refused() {
    let mut pkg = base();
    pkg.product.name = "ハロー Service".into();
    let err = fails(&pkg);
    match &err {
        MsiError::NotWindows1252 { field, ch, .. } => {
            assert_eq!(field, "product.name");
            assert_eq!(*ch, 'ハ');
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("Windows-1252"), "{err}");

    let mut pkg = base();
    pkg.files[1].name = "Ліцензія.txt".into();
    assert!(matches!(fails(&pkg), MsiError::NotWindows1252 { .. }));
}

#[test]
fn versions_that_do_not_map() {
    for text in [
        "1.2.3-rc.1",
        "0.130.0-nightly.20240101",
        "256.0.0",
        "1.2",
        "1.2.3.4",
    ] {
        let err = text.parse::<ProductVersion>().unwrap_err();
        assert!(matches!(err, MsiError::InvalidVersion { .. }), "{text}");
        assert!(err.to_string().contains(text), "{err}");
    }
    let mut pkg = base();
    pkg.files[0].version = Some("1.2.3.70000".into());
    assert!(matches!(fails(&pkg), MsiError::InvalidVersion { .. }));
}

#[test]
fn file_names_that_clash_case_insensitively() {
    let mut pkg = base();
    let mut twin = pkg.files[0].clone();
    twin.key = "HelloSvc_copy".into();
    twin.name = "HELLOSVC.EXE".into();
    pkg.files.push(twin);
    let err = fails(&pkg);
    assert!(
        matches!(&err, MsiError::NameClash { name, .. } if name == "HELLOSVC.EXE"),
        "{err}"
    );
    assert!(err.to_string().contains("case-insensitive"), "{err}");

    // A file and a folder of the same name.
    let mut pkg = base();
    let mut file = pkg.files[1].clone();
    file.key = "docs_file".into();
    file.name = "Docs".into();
    file.dir = DirRef::install();
    pkg.files.push(file);
    assert!(matches!(fails(&pkg), MsiError::NameClash { .. }));

    // Two folders differing in case only.
    let mut pkg = base();
    let mut file = pkg.files[1].clone();
    file.key = "other".into();
    file.name = "other.txt".into();
    file.dir = DirRef::install_sub(["DOCS"]);
    pkg.files.push(file);
    assert!(matches!(fails(&pkg), MsiError::NameClash { .. }));

    let mut pkg = base();
    pkg.files[1].name = "aux.txt".into();
    assert!(matches!(fails(&pkg), MsiError::InvalidFileName { .. }));
}

#[test]
fn port_zero() {
    let mut pkg = base();
    pkg.firewall_rules[0].ports = vec![8080, 0];
    let err = fails(&pkg);
    assert!(
        matches!(&err, MsiError::PortZero { field } if field.contains("firewall_rules[0]")),
        "{err}"
    );

    let mut pkg = base();
    pkg.properties[0].value = "0".into();
    assert!(matches!(fails(&pkg), MsiError::PortZero { .. }));

    let mut pkg = base();
    pkg.properties[0].value = "70000".into();
    assert!(matches!(fails(&pkg), MsiError::InvalidProperty { .. }));
}

#[test]
fn service_names_with_illegal_characters() {
    for name in [
        "Hello/Svc",
        "Hello\\Svc",
        "",
        "Say \"hi\"",
        " padded",
        "tab\tname",
        &"x".repeat(257),
    ] {
        let mut pkg = base();
        pkg.service.as_mut().unwrap().name = name.to_string();
        let err = fails(&pkg);
        assert!(
            matches!(err, MsiError::InvalidServiceName { .. }),
            "{name:?}: {err}"
        );
    }
    // Spaces inside are fine (the name is quoted on sc.exe command lines).
    let mut pkg = base();
    pkg.service.as_mut().unwrap().name = "Hello Svc".into();
    validate(&pkg).unwrap();
}

#[test]
fn missing_exe() {
    let mut pkg = base();
    pkg.files[0].source = Source::Path("/nonexistent/hellosvc.exe".into());
    let err = fails(&pkg);
    assert!(
        matches!(&err, MsiError::SourceMissing { key, .. } if key == "hellosvc.exe"),
        "{err}"
    );
    assert!(
        err.to_string().contains("/nonexistent/hellosvc.exe"),
        "{err}"
    );

    let mut pkg = base();
    pkg.service.as_mut().unwrap().exe = "nothere.exe".into();
    let err = fails(&pkg);
    assert!(
        matches!(&err, MsiError::UnknownReference { field, .. } if field == "service.exe"),
        "{err}"
    );
}

#[test]
fn keys_and_references() {
    let mut pkg = base();
    pkg.files[1].key = pkg.files[0].key.clone();
    assert!(matches!(
        fails(&pkg),
        MsiError::DuplicateKey {
            kind: "file key",
            ..
        }
    ));

    let mut pkg = base();
    pkg.files[1].key = "9lives".into();
    assert!(matches!(fails(&pkg), MsiError::InvalidIdentifier { .. }));

    let mut pkg = base();
    pkg.files[2].dir = DirRef::data("NOPE");
    assert!(matches!(
        fails(&pkg),
        MsiError::UnknownReference {
            kind: "data directory",
            ..
        }
    ));

    let mut pkg = base();
    pkg.data_dirs[0].key = "System64Folder".into();
    pkg.files[2].dir = DirRef::data("System64Folder");
    assert!(matches!(fails(&pkg), MsiError::ReservedName { .. }));

    let mut pkg = base();
    pkg.commands[0].id = "InstallFiles".into();
    assert!(matches!(fails(&pkg), MsiError::ReservedName { .. }));

    let mut pkg = base();
    pkg.properties[0].name = "listen_port".into();
    assert!(matches!(fails(&pkg), MsiError::InvalidProperty { .. }));

    let mut pkg = base();
    pkg.properties[0].name = "ALLUSERS".into();
    assert!(matches!(fails(&pkg), MsiError::ReservedName { .. }));

    let mut pkg = base();
    pkg.service = None;
    assert!(
        matches!(fails(&pkg), MsiError::Missing { .. }),
        "recovery without a service"
    );
}

#[test]
fn limits() {
    let mut pkg = base();
    let template = pkg.files[1].clone();
    pkg.files = (0..32_768)
        .map(|i| FileSpec {
            key: format!("f{i}"),
            name: format!("f{i}.txt"),
            ..template.clone()
        })
        .collect();
    pkg.service = None;
    pkg.recovery = None;
    pkg.event_log_source = None;
    pkg.firewall_rules.clear();
    pkg.commands.clear();
    let err = fails(&pkg);
    assert!(
        matches!(err, MsiError::LimitExceeded { max: 32767, .. }),
        "{err}"
    );

    let mut pkg = base();
    pkg.firewall_rules[0].name = format!("Hello {}", "x".repeat(190));
    let err = fails(&pkg);
    assert!(matches!(err, MsiError::TooLong { max: 255, .. }), "{err}");
}

#[test]
fn output_path_problems_and_existing_files_survive_failures() {
    let dir = temp_dir();
    let err = write_package(&base(), &dir.path().join("missing/out.msi")).unwrap_err();
    assert!(matches!(err, MsiError::BadOutputPath { .. }), "{err}");
    let err = write_package(&base(), dir.path()).unwrap_err();
    assert!(matches!(err, MsiError::BadOutputPath { .. }), "{err}");

    let out = dir.path().join("existing.msi");
    std::fs::write(&out, b"previous build").unwrap();
    let mut pkg = base();
    pkg.service.as_mut().unwrap().name = "bad/name".into();
    write_package(&pkg, &out).unwrap_err();
    assert_eq!(std::fs::read(&out).unwrap(), b"previous build");
    // And a good build replaces it.
    write_package(&base(), &out).unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), b"previous build");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["existing.msi"], "no temporary files left");
}
