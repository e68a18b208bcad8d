//! osslsigncode can Authenticode-sign our packages (it rejects some valid but oddly laid out
//! compound files) and verifies the signature; the signed package still reads and lints clean.

mod common;

use common::*;
use msi_writer::*;

#[test]
fn osslsigncode_signs_and_verifies() {
    if !require_tool("osslsigncode") || !require_tool("openssl") {
        return;
    }
    let dir = temp_dir();
    let (msi, _) = build(
        &hello_package(ProductVersion(1, 2, 3)),
        dir.path(),
        "hello.msi",
    );
    let (cert, key) = testkit::code_signing_certificate(dir.path(), None);
    let signed = dir.path().join("hello-signed.msi");
    let output = run(
        "osslsigncode",
        &[
            "sign",
            "-certs",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-n",
            "Hello Service",
            "-in",
            msi.to_str().unwrap(),
            "-out",
            signed.to_str().unwrap(),
        ],
    );
    assert!(output.contains("Succeeded"), "{output}");
    let verify = run(
        "osslsigncode",
        &[
            "verify",
            "-CAfile",
            cert.to_str().unwrap(),
            "-in",
            signed.to_str().unwrap(),
        ],
    );
    assert!(verify.contains("Signature verification: ok"), "{verify}");
    assert!(!verify.contains("orrupted"), "{verify}");

    let package = msi::Package::open(std::fs::File::open(&signed).unwrap()).unwrap();
    assert!(package.has_digital_signature());
    let findings = lint(&signed).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

/// 16 MiB of incompressible payload: the allocation table outgrows the 109 entries of the
/// header, so the compound file needs DIFAT sectors. Every reader must still agree.
#[test]
fn large_packages_with_difat_sectors_read_and_sign() {
    let dir = temp_dir();
    let mut pkg = hello_package(ProductVersion(1, 2, 3));
    let mut noise = Vec::with_capacity(16 << 20);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while noise.len() < 16 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    pkg.files[1].source = Source::Bytes(noise.clone());
    let (msi, report) = build(&pkg, dir.path(), "large.msi");
    assert!(report.msi_bytes > 16 << 20);
    // Header (512) + FAT sectors: more than 109 FAT sectors means DIFAT is in use.
    let fat_sectors =
        u32::from_le_bytes(std::fs::read(&msi).unwrap()[0x2C..0x30].try_into().unwrap());
    assert!(fat_sectors > 109, "{fat_sectors}");

    let mut package = msi::Package::open(std::fs::File::open(&msi).unwrap()).unwrap();
    let mut cab = Vec::new();
    std::io::Read::read_to_end(&mut package.read_stream("product.cab").unwrap(), &mut cab).unwrap();
    assert_eq!(cab.len() as u64, report.cabinet_bytes);

    if require_tool("msiextract") {
        let extract = dir.path().join("x");
        std::fs::create_dir(&extract).unwrap();
        run(
            "msiextract",
            &["-C", extract.to_str().unwrap(), msi.to_str().unwrap()],
        );
        assert!(std::fs::read(extract.join("Hello Service/docs/LICENSE.txt")).unwrap() == noise);
    }
    if require_tool("osslsigncode") && require_tool("openssl") {
        let (cert, key) = testkit::code_signing_certificate(dir.path(), None);
        let signed = dir.path().join("large-signed.msi");
        run(
            "osslsigncode",
            &[
                "sign",
                "-certs",
                cert.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
                "-in",
                msi.to_str().unwrap(),
                "-out",
                signed.to_str().unwrap(),
            ],
        );
        let verify = run(
            "osslsigncode",
            &[
                "verify",
                "-CAfile",
                cert.to_str().unwrap(),
                "-in",
                signed.to_str().unwrap(),
            ],
        );
        assert!(verify.contains("Signature verification: ok"), "{verify}");
    }
}
