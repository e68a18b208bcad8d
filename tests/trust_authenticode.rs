//! The optional Authenticode stage with a throw-away self-signed certificate made in the test:
//! `osslsigncode verify` accepts the signed exe and MSI, signing is reproducible without a
//! timestamp server, removing the signature gives back the unsigned exe (but for the PE
//! checksum and alignment padding), and the key's passphrase never shows up in an error.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use winrelease::authenticode::{self, AuthenticodeConfig, AuthenticodeError, AuthenticodeIdentity};
use winrelease::keys::Passphrase;

/// 2026-03-04T05:06:07Z.
const COMMIT_TIME: i64 = 1_772_600_767;
const PASSPHRASE: &str = "authenticode-Pa55-never-printed";

/// The path of `tool`, or `None` (test skipped with a message) when missing; under `CI=true`
/// a missing tool fails the test.
fn require_tool(tool: &str) -> Option<PathBuf> {
    testkit::require_tool(tool)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// All tools the tests need, or `None` when one is missing.
fn tools() -> Option<()> {
    for tool in [
        "osslsigncode",
        "openssl",
        "x86_64-w64-mingw32-as",
        "x86_64-w64-mingw32-ld",
    ] {
        require_tool(tool)?;
    }
    Some(())
}

/// A minimal but valid x64 console PE, assembled and linked with the mingw binutils.
fn tiny_exe(dir: &Path) -> PathBuf {
    let source = dir.join("t.s");
    fs::write(
        &source,
        ".text\n.globl start\nstart:\n    xor %eax, %eax\n    ret\n",
    )
    .unwrap();
    run(Command::new("x86_64-w64-mingw32-as")
        .arg(&source)
        .arg("-o")
        .arg(dir.join("t.o")));
    let exe = dir.join("tiny.exe");
    run(Command::new("x86_64-w64-mingw32-ld")
        .args(["--subsystem", "console", "-e", "start"])
        .arg(dir.join("t.o"))
        .arg("-o")
        .arg(&exe));
    exe
}

/// A self-signed code-signing certificate and its private key, encrypted with PASSPHRASE.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    testkit::code_signing_certificate(dir, Some(PASSPHRASE))
}

fn config(cert: &Path, key: &Path, passphrase: &str) -> AuthenticodeConfig {
    AuthenticodeConfig {
        identity: AuthenticodeIdentity::CertAndKey {
            certs: cert.to_path_buf(),
            key: key.to_path_buf(),
            passphrase: Some(Passphrase::new(passphrase.into())),
        },
        description: "Hello Service".into(),
        url: Some("https://example.com/hellosvc".into()),
        timestamp_url: None,
    }
}

#[test]
fn signed_exe_verifies_is_reproducible_and_strips_back_to_the_input() {
    if tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = tiny_exe(dir.path());
    let (cert, key) = certificate(dir.path());
    let config = config(&cert, &key, PASSPHRASE);
    let unsigned = fs::read(&exe).unwrap();

    let first = dir.path().join("first.exe");
    let second = dir.path().join("second.exe");
    authenticode::sign(&exe, &first, &config, COMMIT_TIME).unwrap();
    authenticode::sign(&exe, &second, &config, COMMIT_TIME).unwrap();
    assert_eq!(fs::read(&exe).unwrap(), unsigned, "the input was modified");
    let signed = fs::read(&first).unwrap();
    assert_eq!(signed, fs::read(&second).unwrap(), "two signings differ");
    assert!(signed.len() > unsigned.len());

    let report = authenticode::verify(&first, &cert).unwrap();
    assert!(report.contains("Signature verification: ok"), "{report}");
    assert!(
        report.contains("Signing time: Mar  4 05:06:07 2026 GMT"),
        "{report}"
    );
    assert!(
        report.contains("Text description: Hello Service"),
        "{report}"
    );
    // Not trusted without the test CA.
    let untrusted = dir.path().join("other-ca.pem");
    let (other_cert, _) = certificate(&{
        let d = dir.path().join("other");
        fs::create_dir(&d).unwrap();
        d
    });
    fs::copy(other_cert, &untrusted).unwrap();
    assert!(authenticode::verify(&first, &untrusted).is_err());

    // Removing the signature gives back the unsigned bytes except the 4-byte PE checksum.
    let stripped = dir.path().join("stripped.exe");
    run(Command::new("osslsigncode")
        .arg("remove-signature")
        .arg("-in")
        .arg(&first)
        .arg("-out")
        .arg(&stripped));
    let stripped = fs::read(stripped).unwrap();
    // The certificate table starts 8-byte aligned, so signing first pads the file with zeros;
    // removal keeps the padding.
    assert_eq!(stripped.len(), unsigned.len().next_multiple_of(8));
    assert!(stripped[unsigned.len()..].iter().all(|&b| b == 0));
    let pe = u32::from_le_bytes(unsigned[0x3c..0x40].try_into().unwrap()) as usize;
    let checksum = pe + 4 + 20 + 64; // PE signature, COFF header, then CheckSum in the optional header
    let differing: Vec<usize> = (0..unsigned.len())
        .filter(|&i| unsigned[i] != stripped[i])
        .collect();
    assert!(
        differing
            .iter()
            .all(|i| (checksum..checksum + 4).contains(i)),
        "bytes outside the PE checksum differ: {differing:?}"
    );

    // Signing in place works too, and a changed byte afterwards breaks the signature.
    let in_place = dir.path().join("in-place.exe");
    fs::copy(&exe, &in_place).unwrap();
    authenticode::sign(&in_place, &in_place, &config, COMMIT_TIME).unwrap();
    assert_eq!(fs::read(&in_place).unwrap(), signed);
    let mut tampered = signed.clone();
    tampered[400] ^= 1;
    fs::write(&in_place, tampered).unwrap();
    assert!(authenticode::verify(&in_place, &cert).is_err());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".winrelease"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn signed_msi_verifies() {
    if tools().is_none() || require_tool("wixl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    tiny_exe(dir.path());
    let (cert, key) = certificate(dir.path());
    let wxs = dir.path().join("p.wxs");
    fs::write(
        &wxs,
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="11111111-2222-3333-4444-555555555555" Name="T" Language="1033" Version="1.0.0"
           Manufacturer="X" UpgradeCode="6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="c.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder"><Directory Id="D" Name="T">
        <Component Id="C" Guid="AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE" Win64="yes">
          <File Id="F" Source="tiny.exe"/>
        </Component>
      </Directory></Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="C"/></Feature>
  </Product>
</Wix>
"#,
    )
    .unwrap();
    let msi = dir.path().join("t.msi");
    run(Command::new("wixl")
        .args(["-a", "x64"])
        .arg(&wxs)
        .arg("-o")
        .arg(&msi)
        .current_dir(dir.path()));
    let config = config(&cert, &key, PASSPHRASE);
    let signed = dir.path().join("signed.msi");
    authenticode::sign(&msi, &signed, &config, COMMIT_TIME).unwrap();
    let report = authenticode::verify(&signed, &cert).unwrap();
    assert!(report.contains("Signature verification: ok"), "{report}");
    let again = dir.path().join("again.msi");
    authenticode::sign(&msi, &again, &config, COMMIT_TIME).unwrap();
    assert_eq!(fs::read(&signed).unwrap(), fs::read(&again).unwrap());
}

#[test]
fn wrong_passphrase_fails_without_showing_either_passphrase() {
    if tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = tiny_exe(dir.path());
    let (cert, key) = certificate(dir.path());
    let wrong = "wrong-Pa55-also-secret";
    let config = config(&cert, &key, wrong);
    let out = dir.path().join("signed.exe");
    let err = authenticode::sign(&exe, &out, &config, COMMIT_TIME).unwrap_err();
    assert!(matches!(err, AuthenticodeError::Failed { .. }), "{err}");
    for text in [err.to_string(), format!("{err:?}"), format!("{config:?}")] {
        assert!(
            !text.contains(wrong) && !text.contains(PASSPHRASE),
            "{text}"
        );
    }
    assert!(!out.exists());
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".winrelease"))
        .collect();
    assert!(
        names.is_empty(),
        "scratch (with the passphrase file) left: {names:?}"
    );
}
