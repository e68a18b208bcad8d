//! `msi_writer::read` against the independent `msi` crate: the same tables, columns, rows and
//! summary facts, for our packages and for a package the `msi` crate has rewritten.

mod common;

use std::fs::OpenOptions;
use std::path::Path;

use common::*;
use msi_writer::read::{self, ColumnKind, Value};
use msi_writer::*;

fn value(v: &msi::Value) -> Value {
    match v {
        msi::Value::Null => Value::Null,
        msi::Value::Int(n) => Value::Int(*n),
        msi::Value::Str(s) => Value::Str(s.clone()),
        msi::Value::Binary => Value::Stream,
    }
}

fn kind(t: msi::ColumnType) -> (ColumnKind, usize) {
    match t {
        msi::ColumnType::Int16 => (ColumnKind::Int16, 0),
        msi::ColumnType::Int32 => (ColumnKind::Int32, 0),
        msi::ColumnType::Str(n) => (ColumnKind::Str, n),
        msi::ColumnType::Binary => (ColumnKind::Binary, 0),
    }
}

/// Every table, column and row, and the summary facts the lint uses, agree.
fn assert_same(path: &Path) {
    let mut theirs = msi::Package::open(std::fs::File::open(path).unwrap()).unwrap();
    let mut ours = read::Package::open(path).unwrap();
    assert_eq!(ours.kind(), read::PackageKind::Installer);
    assert_eq!(ours.codepage(), theirs.database_codepage().id() as u32);
    let info = theirs.summary_info();
    let summary = ours.summary();
    assert_eq!(summary.codepage(), Some(info.codepage().id() as u32));
    assert_eq!(summary.platform().as_deref(), info.arch());
    let languages: Vec<u16> = info.languages().iter().map(|l| l.id()).collect();
    assert_eq!(summary.languages(), languages);
    assert_eq!(
        summary.int(read::summary::pid::PAGE_COUNT),
        info.page_count()
    );
    assert_eq!(
        summary.int(read::summary::pid::WORD_COUNT),
        info.word_count()
    );
    assert_eq!(summary.revision_guid(), info.uuid());

    let names: Vec<String> = theirs
        .tables()
        .map(|t| t.name().to_string())
        .filter(|n| n != "_Tables" && n != "_Columns")
        .collect();
    let ours_names: Vec<&String> = ours.schema().keys().collect();
    assert_eq!(ours_names, names.iter().collect::<Vec<_>>());
    for name in &names {
        let table = theirs.get_table(name).unwrap().clone();
        let read = ours.table(name).unwrap().unwrap();
        for (a, b) in read.columns.iter().zip(table.columns()) {
            assert_eq!(a.name, b.name(), "{name}");
            assert_eq!((a.kind, a.max_len), kind(b.coltype()), "{name}.{}", a.name);
            assert_eq!(a.key, b.is_primary_key(), "{name}.{}", a.name);
            assert_eq!(a.nullable, b.is_nullable(), "{name}.{}", a.name);
            assert_eq!(
                a.category().map(|c| c.name().to_string()),
                b.category().map(|c| c.to_string()),
                "{name}.{}",
                a.name
            );
        }
        let rows: Vec<Vec<Value>> = theirs
            .select_rows(msi::Select::table(name))
            .unwrap()
            .map(|row| (0..row.len()).map(|i| value(&row[i])).collect())
            .collect();
        assert_eq!(read.rows, rows, "{name}");
        for (row, their_row) in read.rows.iter().zip(&rows) {
            for ((column, v), their_column) in read.columns.iter().zip(row).zip(table.columns()) {
                let their_value = match &their_row[read.column_index(&column.name).unwrap()] {
                    Value::Null => msi::Value::Null,
                    Value::Int(n) => msi::Value::Int(*n),
                    Value::Str(s) => msi::Value::Str(s.clone()),
                    Value::Stream => msi::Value::Binary,
                };
                assert_eq!(
                    column.is_valid_value(v),
                    their_column.is_valid_value(&their_value),
                    "{name}.{} {v}",
                    column.name
                );
            }
        }
    }
}

#[test]
fn our_packages_read_the_same_as_through_the_msi_crate() {
    let dir = temp_dir();
    let (msi, _) = build(
        &hello_package(ProductVersion(1, 2, 3)),
        dir.path(),
        "ours.msi",
    );
    assert_same(&msi);
}

#[test]
fn a_package_the_msi_crate_rewrote_reads_the_same() {
    let dir = temp_dir();
    let (msi, _) = build(
        &hello_package(ProductVersion(1, 2, 3)),
        dir.path(),
        "ours.msi",
    );
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&msi)
            .unwrap();
        let mut package = msi::Package::open(file).unwrap();
        package
            .insert_rows(msi::Insert::into("Property").row(vec![
                msi::Value::from("ZZ_ADDED"),
                msi::Value::from("a value the msi crate wrote, with é"),
            ]))
            .unwrap();
        package
            .insert_rows(msi::Insert::into("Property").row(vec![
                msi::Value::from("lowercase_bad"),
                msi::Value::from("x"),
            ]))
            .unwrap();
        package.flush().unwrap();
    }
    assert_same(&msi);
}

#[test]
fn a_transform_opens_with_its_kind_and_no_schema() {
    let dir = temp_dir();
    let (msi, _) = build(
        &hello_package(ProductVersion(1, 2, 3)),
        dir.path(),
        "ours.msi",
    );
    let out = dir.path().join("site.mst");
    transform::write_transform(
        &msi,
        &[("LISTEN_PORT".into(), "9090".into())],
        &Default::default(),
        &out,
    )
    .unwrap();
    let mut mst = read::Package::open(&out).unwrap();
    assert_eq!(mst.kind(), read::PackageKind::Transform);
    assert!(mst.schema().is_empty());
    assert_eq!(mst.codepage(), 1252);
    let names: Vec<(bool, String)> = mst
        .storage()
        .streams()
        .iter()
        .map(|s| (s.is_table, s.name.clone()))
        .collect();
    assert!(names.contains(&(true, "Property".to_string())), "{names:?}");
}
