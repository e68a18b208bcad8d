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
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=msi-writer test",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
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
