//! Site transforms: what they change (read back with our reader, which is also checked on a
//! transform written by hand from the documented format), determinism, and the refusals an admin
//! would hit.
//!
//! msitools cannot be the independent engine here: libmsi 0.101 applies no transform at all
//! (`msi_table_apply_transform` keeps two bytes of the three-byte UTF-8 table-stream prefix in
//! the table name and then looks up a table called `\xa1\x80Property`). Wine's msi.dll, which
//! keeps names in UTF-16, applies our transforms: the workspace's `tests/transform.rs` installs
//! the example MSI under Wine with `TRANSFORMS=`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use msi_writer::transform::{self, *};
use msi_writer::*;

/// The example package with three site settings: a port, a text and an integer.
fn site_package(version: ProductVersion) -> Package {
    let mut pkg = hello_package(version);
    pkg.properties.push(PublicProperty {
        name: "SITE_NAME".into(),
        value: "default".into(),
        kind: PropertyKind::Text,
        site_settable: true,
    });
    pkg.properties.push(PublicProperty {
        name: "WORKERS".into(),
        value: "4".into(),
        kind: PropertyKind::Integer,
        site_settable: true,
    });
    pkg
}

fn build_site(dir: &Path, version: ProductVersion, name: &str) -> PathBuf {
    build(&site_package(version), dir, name).0
}

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn berlin() -> Vec<(String, String)> {
    settings(&[("LISTEN_PORT", "9090"), ("SITE_NAME", "Berlin Süd")])
}

fn property_table(table: &Table) -> BTreeMap<String, String> {
    table
        .rows
        .iter()
        .map(|r| match (&r[0], &r[1]) {
            (transform::Value::Str(k), transform::Value::Str(v)) => (k.clone(), v.clone()),
            other => panic!("unexpected Property row {other:?}"),
        })
        .collect()
}

#[test]
fn a_site_transform_changes_exactly_the_named_properties() {
    let dir = temp_dir();
    let msi = build_site(dir.path(), ProductVersion(1, 2, 3), "site.msi");
    let mst = dir.path().join("berlin.mst");
    let made = write_transform(&msi, &berlin(), &TransformOptions::default(), &mst).unwrap();
    assert_eq!(made.bytes, std::fs::read(&mst).unwrap());
    assert_eq!(
        made.changes
            .iter()
            .map(|c| (c.property.as_str(), c.default.as_str(), c.value.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("LISTEN_PORT", "8080", "9090"),
            ("SITE_NAME", "default", "Berlin Süd")
        ]
    );

    let file = TransformFile::read(&mst).unwrap();
    assert_eq!(
        file.tables,
        vec!["Property".to_string()],
        "only the Property table changes"
    );
    assert_eq!(file.codepage, 1252);
    let summary = &file.summary;
    assert_eq!(summary.base_product_code, made.product_code);
    assert_eq!(summary.new_product_code, made.product_code);
    assert_eq!(summary.base_version, "1.2.3");
    assert_eq!(summary.new_version, "1.2.3");
    assert_eq!(summary.upgrade_code, format!("{{{UPGRADE_CODE}}}"));
    assert_eq!(summary.template, "x64;1033");
    assert_eq!(summary.page_count, Some(200));
    assert_eq!(
        summary.validation,
        validate::PRODUCT
            | validate::UPGRADE_CODE
            | validate::LANGUAGE
            | validate::UPDATE_VERSION
            | validate::NEW_EQUAL_BASE_VERSION
    );
    assert_eq!(summary.suppressed, 0, "no error condition is ignored");

    let applied = apply(&msi, &file).unwrap();
    assert!(
        applied.is_clean(),
        "{:?} {:?}",
        applied.refusals,
        applied.problems
    );
    assert_eq!(applied.changes.len(), 2);
    for change in &applied.changes {
        assert_eq!(change.op, RowOp::Update);
        assert_eq!(change.table, "Property");
    }
    let before = property_table(&read_table(&msi, "Property").unwrap().unwrap());
    let after = property_table(&applied.tables["Property"]);
    let mut expected = before.clone();
    expected.insert("LISTEN_PORT".into(), "9090".into());
    expected.insert("SITE_NAME".into(), "Berlin Süd".into());
    assert_eq!(after, expected, "every other property keeps its value");
    assert_eq!(before["WORKERS"], "4");
    assert_eq!(
        property_changes(&applied),
        BTreeMap::from([
            ("LISTEN_PORT".to_string(), "9090".to_string()),
            ("SITE_NAME".to_string(), "Berlin Süd".to_string()),
        ])
    );
}

#[test]
fn transforms_are_deterministic() {
    let dir = temp_dir();
    let msi = build_site(dir.path(), ProductVersion(1, 2, 3), "site.msi");
    let options = TransformOptions::default();
    let first = make_transform(&msi, &berlin(), &options).unwrap().bytes;
    let again = make_transform(&msi, &berlin(), &options).unwrap().bytes;
    assert_eq!(first, again);
    let mut reversed = berlin();
    reversed.reverse();
    assert_eq!(
        make_transform(&msi, &reversed, &options).unwrap().bytes,
        first
    );

    // The same package rebuilt elsewhere gives the same transform...
    let copy = build_site(dir.path(), ProductVersion(1, 2, 3), "rebuilt.msi");
    assert_eq!(
        make_transform(&copy, &berlin(), &options).unwrap().bytes,
        first
    );
    // ...another value, scope or release does not.
    let other = make_transform(
        &msi,
        &settings(&[("LISTEN_PORT", "9091"), ("SITE_NAME", "Berlin Süd")]),
        &options,
    )
    .unwrap()
    .bytes;
    assert_ne!(other, first);
    let later = TransformOptions {
        scope: TransformScope::ThisAndLaterVersions,
    };
    assert_ne!(
        make_transform(&msi, &berlin(), &later).unwrap().bytes,
        first
    );
    let v124 = build_site(dir.path(), ProductVersion(1, 2, 4), "v124.msi");
    assert_ne!(
        make_transform(&v124, &berlin(), &options).unwrap().bytes,
        first
    );
}

#[test]
fn transform_times_come_from_the_package() {
    let dir = temp_dir();
    let mut pkg = site_package(ProductVersion(1, 2, 3));
    pkg.timestamp = 1_600_000_000;
    let (msi, _) = build(&pkg, dir.path(), "old.msi");
    let mst = dir.path().join("t.mst");
    write_transform(&msi, &berlin(), &TransformOptions::default(), &mst).unwrap();
    if require_tool("msiinfo") {
        let info = run("msiinfo", &["suminfo", mst.to_str().unwrap()]);
        let created = info
            .lines()
            .find(|l| l.starts_with("Created"))
            .unwrap_or_else(|| panic!("no creation time in {info}"));
        // 1600000000 = 2020-09-13 12:26:40 UTC.
        assert!(created.contains("2020"), "{info}");
        assert!(info.contains("Title: Transform"), "{info}");
        assert!(info.contains("Template: x64;1033"), "{info}");
        assert!(info.contains("Security: 4"), "{info}");
    }
}

#[test]
fn refusals_name_the_problem_and_the_fix() {
    let dir = temp_dir();
    let msi = build_site(dir.path(), ProductVersion(1, 2, 3), "site.msi");
    let options = TransformOptions::default();
    let refuse = |pairs: &[(&str, &str)]| -> String {
        let err = make_transform(&msi, &settings(pairs), &options).unwrap_err();
        err.to_string()
    };

    let unknown = refuse(&[("ADMIN_PASSWORD", "x")]);
    assert!(
        unknown.contains("\"ADMIN_PASSWORD\" is not a site setting"),
        "{unknown}"
    );
    assert!(
        unknown.contains("LISTEN_PORT (port, default \"8080\")"),
        "{unknown}"
    );
    let case = refuse(&[("listen_port", "9090")]);
    assert!(case.contains("did you mean LISTEN_PORT?"), "{case}");
    // Public properties that are not site settings are refused too.
    let not_site = refuse(&[("INSTALLDIR", "D:\\x")]);
    assert!(not_site.contains("not a site setting"), "{not_site}");
    let allusers = refuse(&[("ALLUSERS", "2")]);
    assert!(allusers.contains("not a site setting"), "{allusers}");

    for (value, needle) in [
        ("0", "1 to 65535"),
        ("65536", "1 to 65535"),
        ("http", "1 to 65535"),
        ("+80", "1 to 65535"),
        ("", "1 to 65535"),
    ] {
        let message = refuse(&[("LISTEN_PORT", value)]);
        assert!(message.contains(needle), "{value:?}: {message}");
        assert!(
            message.contains("LISTEN_PORT is a port setting"),
            "{message}"
        );
    }
    for (value, needle) in [
        ("four", "not an integer"),
        ("4.5", "not an integer"),
        ("99999999999999999999", "not an integer"),
    ] {
        let message = refuse(&[("WORKERS", value)]);
        assert!(message.contains(needle), "{value:?}: {message}");
    }
    for (value, needle) in [
        ("", "empty"),
        ("two\nlines", "control character"),
        ("quote\"d", "'\"'"),
        ("C:\\dir\\", "trailing backslash"),
        ("Łódź", "Windows-1252"),
    ] {
        let message = refuse(&[("SITE_NAME", value)]);
        assert!(message.contains(needle), "{value:?}: {message}");
    }
    let twice = refuse(&[("SITE_NAME", "a"), ("SITE_NAME", "b")]);
    assert!(twice.contains("SITE_NAME is given twice"), "{twice}");
    let none = refuse(&[]);
    assert!(none.contains("no settings given"), "{none}");
    assert!(
        none.contains("SITE_NAME (text, default \"default\")"),
        "{none}"
    );

    // Nothing is written when the transform is refused.
    let out = dir.path().join("refused.mst");
    assert!(write_transform(&msi, &settings(&[("LISTEN_PORT", "0")]), &options, &out).is_err());
    assert!(!out.exists());
}

#[test]
fn packages_that_are_not_ours_are_refused() {
    let dir = temp_dir();
    // Our writer without site settings: no WinreleaseSettings table.
    let mut pkg = hello_package(ProductVersion(1, 0, 0));
    pkg.properties[0].site_settable = false;
    let (plain, _) = build(&pkg, dir.path(), "plain.msi");
    let err = make_transform(&plain, &berlin(), &TransformOptions::default()).unwrap_err();
    assert!(matches!(err, TransformError::NotOurs { .. }), "{err}");
    assert!(
        err.to_string().contains("no WinreleaseSettings table"),
        "{err}"
    );
    assert!(site_settings(&plain).is_err());

    // Not an MSI at all.
    let text = dir.path().join("notes.msi");
    std::fs::write(&text, "not a package").unwrap();
    let err = make_transform(&text, &berlin(), &TransformOptions::default()).unwrap_err();
    assert!(matches!(err, TransformError::Read { .. }), "{err}");

    // A missing file.
    let err = make_transform(
        &dir.path().join("missing.msi"),
        &berlin(),
        &TransformOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing.msi"), "{err}");

    // A package is not a transform.
    let site = build_site(dir.path(), ProductVersion(1, 0, 0), "site.msi");
    let err = TransformFile::read(&site).unwrap_err();
    assert!(
        err.to_string()
            .contains("an installer package (.msi), not a transform"),
        "{err}"
    );

    if require_tool("wixl") {
        let wixl = wixl_msi(dir.path());
        let err = make_transform(&wixl, &berlin(), &TransformOptions::default()).unwrap_err();
        assert!(matches!(err, TransformError::NotOurs { .. }), "{err}");
    }
}

/// A minimal wixl-built package (another tool's MSI).
pub fn wixl_msi(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("app.exe"), fake_exe(2048)).unwrap();
    let wxs = r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Wixl App" Language="1033" Version="1.0.0" Manufacturer="Example Corp"
           UpgradeCode="22222222-3333-4444-5555-666666666666">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Property Id="PORT" Value="80"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Wixl App">
          <Component Id="App" Guid="12345678-1234-1234-1234-123456789012" Win64="yes">
            <File Id="app.exe" Name="app.exe" Source="app.exe" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="App"/></Feature>
  </Product>
</Wix>
"#;
    std::fs::write(dir.join("app.wxs"), wxs).unwrap();
    let out = dir.join("wixl-app.msi");
    let output = std::process::Command::new("wixl")
        .current_dir(dir)
        .args(["-a", "x64", "-o", out.to_str().unwrap(), "app.wxs"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn validation_follows_the_scope() {
    let dir = temp_dir();
    let v123 = build_site(dir.path(), ProductVersion(1, 2, 3), "v123.msi");
    let v124 = build_site(dir.path(), ProductVersion(1, 2, 4), "v124.msi");
    let v122 = build_site(dir.path(), ProductVersion(1, 2, 2), "v122.msi");
    let this = dir.path().join("this.mst");
    write_transform(&v123, &berlin(), &TransformOptions::default(), &this).unwrap();
    let later = dir.path().join("later.mst");
    let options = TransformOptions {
        scope: TransformScope::ThisAndLaterVersions,
    };
    write_transform(&v123, &berlin(), &options, &later).unwrap();

    let this = TransformFile::read(&this).unwrap();
    let later = TransformFile::read(&later).unwrap();
    assert!(apply(&v123, &this).unwrap().is_clean());
    let refused = apply(&v124, &this).unwrap();
    assert!(!refused.is_clean());
    assert!(
        refused
            .refusals
            .iter()
            .any(|r| r.contains("made for ProductCode")),
        "{:?}",
        refused.refusals
    );

    assert!(apply(&v123, &later).unwrap().is_clean());
    let upgraded = apply(&v124, &later).unwrap();
    assert!(upgraded.is_clean(), "{:?}", upgraded.refusals);
    assert_eq!(property_changes(&upgraded)["LISTEN_PORT"], "9090");
    let older = apply(&v122, &later).unwrap();
    assert!(
        older
            .refusals
            .iter()
            .any(|r| r.contains("must be at least 1.2.3")),
        "{:?}",
        older.refusals
    );

    // Another product line.
    let mut other = site_package(ProductVersion(1, 2, 3));
    other.product.upgrade_code = Guid::parse("u", "0F0F0F0F-1111-2222-3333-444444444444").unwrap();
    other.product.product_code =
        Guid::product_code_for(&other.product.upgrade_code, ProductVersion(1, 2, 3));
    let (other, _) = build(&other, dir.path(), "other.msi");
    let foreign = apply(&other, &later).unwrap();
    assert!(
        foreign
            .refusals
            .iter()
            .any(|r| r.contains("another product")),
        "{:?}",
        foreign.refusals
    );
}

#[test]
fn a_later_version_without_the_setting_makes_the_transform_fail() {
    let dir = temp_dir();
    let v1 = build_site(dir.path(), ProductVersion(1, 0, 0), "v1.msi");
    let mst = dir.path().join("later.mst");
    let options = TransformOptions {
        scope: TransformScope::ThisAndLaterVersions,
    };
    write_transform(&v1, &berlin(), &options, &mst).unwrap();
    let mut pkg = site_package(ProductVersion(2, 0, 0));
    pkg.properties.retain(|p| p.name != "SITE_NAME");
    let (v2, _) = build(&pkg, dir.path(), "v2.msi");
    let applied = apply(&v2, &TransformFile::read(&mst).unwrap()).unwrap();
    assert!(!applied.is_clean());
    assert!(
        applied.problems.iter().any(|p| p
            .message
            .contains("updates row \"SITE_NAME\", which does not exist")
            && !p.suppressed),
        "{:?}",
        applied.problems
    );
}

// ---------------------------------------------------------------------------------------- //
// The reader follows the documented format, not just our writer

/// Windows Installer's stream-name packing (written here independently of the crate's own).
fn packed_name(name: &str, table: bool) -> String {
    let code = |c: char| -> u32 {
        match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            'a'..='z' => c as u32 - 'a' as u32 + 36,
            '.' => 62,
            _ => 63,
        }
    };
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    if table {
        out.push('\u{4840}');
    }
    for pair in chars.chunks(2) {
        let unit = match pair {
            [a, b] => 0x3800 + code(*a) + (code(*b) << 6),
            [a] => 0x4800 + code(*a),
            _ => unreachable!(),
        };
        out.push(char::from_u32(unit).unwrap());
    }
    out
}

/// A transform written by hand, stream by stream, with the `cfb` crate: one insert, one
/// update, one delete and one update of a missing row in Property, and an integer update in
/// InstallExecuteSequence.
fn hand_made_transform(path: &Path, suppressed: u16) {
    let strings = [
        "NEW_PROP",
        "x",
        "LISTEN_PORT",
        "7070",
        "WORKERS",
        "GHOST",
        "StartServices",
    ];
    let mut pool = 1252u32.to_le_bytes().to_vec();
    let mut data = Vec::new();
    for s in strings {
        pool.extend_from_slice(&(s.len() as u16).to_le_bytes());
        pool.extend_from_slice(&1u16.to_le_bytes());
        data.extend_from_slice(s.as_bytes());
    }
    let words = |w: &[u16]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let property = words(&[
        0x0201, 1, 2, // insert NEW_PROP = x (2 columns)
        0x0002, 3, 4, // update LISTEN_PORT: Value = 7070
        0x0000, 5, // delete WORKERS
        0x0002, 6, 2, // update GHOST, which does not exist
    ]);
    // InstallExecuteSequence (Action, Condition, Sequence): Sequence (bit 2) of StartServices
    // becomes 5950, stored with the sign bit flipped.
    let sequence = words(&[0x0004, 7, 5950 + 0x8000]);
    let revision = format!("{{A}}1.2.3;{{A}}1.2.3;{{{UPGRADE_CODE}}}");
    let summary = {
        // A minimal property set: Template, Revision Number, Character Count.
        let mut values = Vec::new();
        let mut entries = Vec::new();
        let props: Vec<(u32, Vec<u8>)> = vec![
            (7, lpstr("x64;1033")),
            (9, lpstr(&revision)),
            (
                16,
                // VT_I4; validation LANGUAGE | PRODUCT in the upper word.
                [
                    3u32.to_le_bytes(),
                    ((3u32 << 16) | u32::from(suppressed)).to_le_bytes(),
                ]
                .concat(),
            ),
        ];
        let table = 8 + 8 * props.len();
        for (pid, value) in &props {
            entries.push((*pid, (table + values.len()) as u32));
            values.extend_from_slice(value);
        }
        let mut out = vec![0xFE, 0xFF, 0, 0, 0x0A, 0, 2, 0];
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&[
            0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27,
            0xB3, 0xD9,
        ]);
        out.extend_from_slice(&48u32.to_le_bytes());
        out.extend_from_slice(&((table + values.len()) as u32).to_le_bytes());
        out.extend_from_slice(&(props.len() as u32).to_le_bytes());
        for (pid, offset) in entries {
            out.extend_from_slice(&pid.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.extend_from_slice(&values);
        out
    };
    let mut file = cfb::create(path).unwrap();
    file.set_storage_clsid("/", uuid::Uuid::parse_str(TRANSFORM_CLSID).unwrap())
        .unwrap();
    for (name, bytes) in [
        ("\u{5}SummaryInformation".to_string(), summary),
        (packed_name("_StringPool", true), pool),
        (packed_name("_StringData", true), data),
        (packed_name("Property", true), property),
        (packed_name("InstallExecuteSequence", true), sequence),
    ] {
        use std::io::Write;
        file.create_stream(&name)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
    file.flush().unwrap();
}

fn lpstr(text: &str) -> Vec<u8> {
    let mut out = 30u32.to_le_bytes().to_vec();
    out.extend_from_slice(&(text.len() as u32 + 1).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

#[test]
fn the_reader_decodes_inserts_updates_deletes_and_integers() {
    let dir = temp_dir();
    let msi = build_site(dir.path(), ProductVersion(1, 2, 3), "site.msi");
    let mst = dir.path().join("hand.mst");
    hand_made_transform(&mst, 0);
    let file = TransformFile::read(&mst).unwrap();
    assert_eq!(file.summary.validation, 3);
    assert_eq!(file.summary.base_product_code, "{A}");
    let applied = apply(&msi, &file).unwrap();
    // Validation: language 1033 matches; ProductCode {A} does not.
    assert_eq!(applied.refusals.len(), 1, "{:?}", applied.refusals);
    let props = property_table(&applied.tables["Property"]);
    assert_eq!(props["NEW_PROP"], "x");
    assert_eq!(props["LISTEN_PORT"], "7070");
    assert!(!props.contains_key("WORKERS"));
    assert!(
        !props.contains_key("GHOST"),
        "an update of a missing row adds nothing here"
    );
    let sequence = &applied.tables["InstallExecuteSequence"];
    assert_eq!(
        sequence.get(&[transform::Value::Str("StartServices".into())], "Sequence"),
        Some(&transform::Value::Int(5950))
    );
    // Tables in name order, rows in stream order.
    let ops: Vec<(RowOp, String)> = applied
        .changes
        .iter()
        .map(|c| (c.op, format!("{}", c.key[0])))
        .collect();
    assert_eq!(
        ops,
        vec![
            (RowOp::Update, "\"StartServices\"".to_string()),
            (RowOp::Insert, "\"NEW_PROP\"".to_string()),
            (RowOp::Update, "\"LISTEN_PORT\"".to_string()),
            (RowOp::Delete, "\"WORKERS\"".to_string()),
            (RowOp::Update, "\"GHOST\"".to_string()),
        ]
    );
    assert_eq!(applied.problems.len(), 1, "{:?}", applied.problems);
    assert!(applied.problems[0].message.contains("GHOST"));
    assert!(!applied.problems[0].suppressed);

    // The same transform asking Windows Installer to ignore updates of missing rows.
    let lenient = dir.path().join("lenient.mst");
    hand_made_transform(&lenient, suppress::UPDATE_MISSING_ROW);
    let applied = apply(&msi, &TransformFile::read(&lenient).unwrap()).unwrap();
    assert!(applied.problems.iter().all(|p| p.suppressed));
}
