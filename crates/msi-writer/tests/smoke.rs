mod common;
use common::*;
use msi_writer::*;

#[test]
fn smoke() {
    let dir = temp_dir();
    let (out, report) = build(
        &hello_package(ProductVersion(1, 2, 3)),
        dir.path(),
        "hello.msi",
    );
    eprintln!("{report:?}");
    std::fs::copy(&out, "/tmp/hello.msi").unwrap();
}
