//! Group Policy readiness: our packages pass; each broken variant fails its own check with a
//! message an admin can act on; a wixl-built package fails where it should.

mod common;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use common::*;
use msi::{Delete, Expr, Insert, Update, Value};
use msi_writer::gpo::{self, Options, Report, Status};
use msi_writer::transform::{write_transform, TransformOptions, TransformScope};
use msi_writer::*;

fn site_package(version: ProductVersion) -> Package {
    let mut pkg = hello_package(version);
    pkg.properties.push(PublicProperty {
        name: "SITE_NAME".into(),
        value: "default".into(),
        kind: PropertyKind::Text,
        site_settable: true,
    });
    pkg
}

fn build_site(dir: &Path, version: ProductVersion, name: &str) -> PathBuf {
    build(&site_package(version), dir, name).0
}

fn report(msi: &Path, transforms: &[&Path], previous: Option<&Path>) -> Report {
    gpo::check(
        msi,
        &Options {
            transforms: transforms.iter().map(|p| p.to_path_buf()).collect(),
            previous: previous.map(Path::to_path_buf),
        },
    )
    .unwrap()
}

/// Asserts that check `id` has `status` and its line contains `needle`.
fn assert_check(report: &Report, id: &str, status: Status, needle: &str) {
    let lines: Vec<_> = report.checks.iter().filter(|c| c.id == id).collect();
    assert!(
        lines
            .iter()
            .any(|c| c.status == status && c.message.contains(needle)),
        "expected {id} {status:?} containing {needle:?}; report:\n{report}"
    );
}

/// The checks that failed, by id.
fn failed(report: &Report) -> Vec<&str> {
    report.failures().map(|c| c.id).collect()
}

fn mutated(
    dir: &Path,
    name: &str,
    change: impl FnOnce(&mut msi::Package<std::fs::File>),
) -> PathBuf {
    let original = build_site(dir, ProductVersion(1, 2, 3), &format!("base-{name}"));
    let copy = dir.join(name);
    std::fs::copy(&original, &copy).unwrap();
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&copy)
            .unwrap();
        let mut package = msi::Package::open(file).unwrap();
        change(&mut package);
        package.flush().unwrap();
    }
    copy
}

fn set(
    p: &mut msi::Package<std::fs::File>,
    table: &str,
    key_column: &str,
    key: &str,
    column: &str,
    value: Value,
) {
    p.update_rows(
        Update::table(table)
            .set(column, value)
            .with(Expr::col(key_column).eq(Expr::string(key))),
    )
    .unwrap();
}

fn delete(p: &mut msi::Package<std::fs::File>, table: &str, key_column: &str, key: &str) {
    p.delete_rows(Delete::from(table).with(Expr::col(key_column).eq(Expr::string(key))))
        .unwrap();
}

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn our_package_with_its_transform_and_previous_release_is_ready() {
    let dir = temp_dir();
    let old = build_site(dir.path(), ProductVersion(1, 2, 2), "hello_1.2.2.msi");
    let msi = build_site(dir.path(), ProductVersion(1, 2, 3), "hello_1.2.3.msi");
    let mst = dir.path().join("berlin.mst");
    write_transform(
        &msi,
        &settings(&[("LISTEN_PORT", "9090"), ("SITE_NAME", "berlin")]),
        &TransformOptions::default(),
        &mst,
    )
    .unwrap();
    let report = report(&msi, &[&mst], Some(&old));
    eprintln!("{report}");
    assert!(report.is_ready(), "{report}");
    assert!(
        report.checks.iter().all(|c| c.status == Status::Pass),
        "{report}"
    );
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "per-machine",
            "per-user-data",
            "silent",
            "no-command-line",
            "no-reboot",
            "advertise",
            "admin-image",
            "lint",
            "transform",
            "upgrade-code",
            "product-code",
            "version",
            "upgrade-removes-previous",
            "component-ids",
        ]
    );
    assert_check(
        &report,
        "transform",
        Status::Pass,
        "sets LISTEN_PORT=9090, SITE_NAME=berlin",
    );
    assert_check(&report, "transform", Status::Pass, "this package only");
    assert_check(&report, "version", Status::Pass, "1.2.3 > 1.2.2");
    assert_check(
        &report,
        "component-ids",
        Status::Pass,
        "keep their component GUIDs",
    );
    assert_check(
        &report,
        "no-command-line",
        Status::Pass,
        "LISTEN_PORT=8080, SITE_NAME=default",
    );
    // One line per check plus the verdict.
    let text = report.to_string();
    assert_eq!(text.lines().count(), report.checks.len() + 1, "{text}");
    assert!(
        text.ends_with(&format!("ready for Group Policy: {}", msi.display())),
        "{text}"
    );
}

#[test]
fn per_machine_and_per_user_data() {
    let dir = temp_dir();
    let msi = mutated(dir.path(), "allusers2.msi", |p| {
        set(
            p,
            "Property",
            "Property",
            "ALLUSERS",
            "Value",
            Value::from("2"),
        );
    });
    let r = report(&msi, &[], None);
    assert_check(&r, "per-machine", Status::Fail, "ALLUSERS=2");

    let msi = mutated(dir.path(), "hkcu.msi", |p| {
        p.insert_rows(Insert::into("Registry").row(vec![
            Value::from("UserSetting"),
            Value::Int(1),
            Value::from("Software\\Example\\Hello"),
            Value::from("Port"),
            Value::from("8080"),
            Value::from("hellosvc.exe"),
        ]))
        .unwrap();
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "per-user-data",
        Status::Fail,
        "Registry UserSetting writes HKEY_CURRENT_USER\\Software\\Example\\Hello",
    );
    assert_eq!(failed(&r), ["per-user-data"], "{r}");

    let msi = mutated(dir.path(), "appdata.msi", |p| {
        p.insert_rows(
            Insert::into("Directory")
                .row(vec![
                    Value::from("AppDataFolder"),
                    Value::from("TARGETDIR"),
                    Value::from("."),
                ])
                .row(vec![
                    Value::from("USERDIR"),
                    Value::from("AppDataFolder"),
                    Value::from("Hello"),
                ]),
        )
        .unwrap();
        set(
            p,
            "Component",
            "Component",
            "LICENSE.txt",
            "Directory_",
            Value::from("USERDIR"),
        );
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "per-user-data",
        Status::Fail,
        "Component LICENSE.txt installs under AppDataFolder",
    );
}

#[test]
fn silent_installs() {
    let dir = temp_dir();
    let msi = mutated(dir.path(), "ui-only.msi", |p| {
        p.insert_rows(Insert::into("CustomAction").row(vec![
            Value::from("SetPortFromDialog"),
            Value::Int(51),
            Value::from("LISTEN_PORT"),
            Value::from("9000"),
        ]))
        .unwrap();
        p.insert_rows(Insert::into("InstallUISequence").row(vec![
            Value::from("SetPortFromDialog"),
            Value::Null,
            Value::Int(1250),
        ]))
        .unwrap();
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "silent",
        Status::Fail,
        "SetPortFromDialog runs only in InstallUISequence",
    );

    let msi = mutated(dir.path(), "uilevel.msi", |p| {
        p.insert_rows(Insert::into("LaunchCondition").row(vec![
            Value::from("UILevel > 3"),
            Value::from("Run this installer interactively."),
        ]))
        .unwrap();
    });
    let r = report(&msi, &[], None);
    assert_check(&r, "silent", Status::Fail, "depends on UILevel");
}

#[test]
fn properties_that_need_a_command_line() {
    let dir = temp_dir();
    let msi = mutated(dir.path(), "license.msi", |p| {
        p.insert_rows(Insert::into("LaunchCondition").row(vec![
            Value::from("ACCEPT_EULA = \"yes\""),
            Value::from("Accept the license with ACCEPT_EULA=yes."),
        ]))
        .unwrap();
        set(
            p,
            "CustomAction",
            "Action",
            "SeedConfig",
            "Target",
            Value::from("--seed-config \"[DATADIR]config.json\" --set listen_port=[LISTEN_PORT] --token [API_TOKEN]"),
        );
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "no-command-line",
        Status::Fail,
        "ACCEPT_EULA has no default but LaunchCondition",
    );
    assert_check(
        &r,
        "no-command-line",
        Status::Fail,
        "API_TOKEN has no default but CustomAction SeedConfig uses it",
    );
    assert_check(
        &r,
        "no-command-line",
        Status::Fail,
        "Group Policy cannot pass",
    );

    // A service account whose password comes from a property: our own writer's model can
    // express it, and Group Policy cannot deploy it.
    let mut pkg = site_package(ProductVersion(1, 0, 0));
    pkg.service.as_mut().unwrap().account = ServiceAccount::User {
        name: "CORP\\svc-hello".into(),
        password_property: Some("SVC_PASSWORD".into()),
    };
    let (msi, _) = build(&pkg, dir.path(), "password.msi");
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "no-command-line",
        Status::Fail,
        "SVC_PASSWORD has no default but ServiceInstall",
    );
}

#[test]
fn reboots_advertising_and_admin_images() {
    let dir = temp_dir();
    let msi = mutated(dir.path(), "reboot.msi", |p| {
        delete(p, "Property", "Property", "REBOOT");
        delete(p, "Property", "Property", "MSIRESTARTMANAGERCONTROL");
        p.insert_rows(Insert::into("InstallExecuteSequence").row(vec![
            Value::from("ScheduleReboot"),
            Value::Null,
            Value::Int(6700),
        ]))
        .unwrap();
        set(
            p,
            "ServiceControl",
            "ServiceControl",
            "WrServiceControl",
            "Event",
            Value::Int(0x1 | 0x20 | 0x80),
        );
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "no-reboot",
        Status::Fail,
        "InstallExecuteSequence schedules ScheduleReboot",
    );
    assert_check(&r, "no-reboot", Status::Fail, "REBOOT is unset");
    assert_check(
        &r,
        "no-reboot",
        Status::Fail,
        "MSIRESTARTMANAGERCONTROL is unset",
    );

    let msi = mutated(dir.path(), "no-advt.msi", |p| {
        p.drop_table("AdvtExecuteSequence").unwrap();
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "advertise",
        Status::Fail,
        "cannot be assigned or advertised",
    );
    assert_eq!(failed(&r), ["advertise", "lint"], "{r}");

    let msi = mutated(dir.path(), "no-admin.msi", |p| {
        p.drop_table("AdminExecuteSequence").unwrap();
    });
    let r = report(&msi, &[], None);
    assert_check(
        &r,
        "admin-image",
        Status::Fail,
        "`msiexec /a` cannot make an administrative image",
    );
}

#[test]
fn service_not_stopped_before_upgrade_needs_a_reboot() {
    let dir = temp_dir();
    let pkg = site_package(ProductVersion(1, 0, 0));
    let (msi, _) = build(&pkg, dir.path(), "svc.msi");
    let control = msi_writer::transform::read_table(&msi, "ServiceControl")
        .unwrap()
        .unwrap();
    let key = match &control.rows[0][0] {
        msi_writer::transform::Value::Str(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    let copy = dir.path().join("nostop.msi");
    std::fs::copy(&msi, &copy).unwrap();
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&copy)
            .unwrap();
        let mut p = msi::Package::open(file).unwrap();
        // Start on install, stop and delete on uninstall, but no stop on install.
        set(
            &mut p,
            "ServiceControl",
            "ServiceControl",
            &key,
            "Event",
            Value::Int(0x1 | 0x20 | 0x80),
        );
        p.flush().unwrap();
    }
    let r = report(&copy, &[], None);
    assert_check(
        &r,
        "no-reboot",
        Status::Fail,
        "is not stopped before its files are replaced",
    );
}

#[test]
fn transforms_must_apply_cleanly() {
    let dir = temp_dir();
    let v1 = build_site(dir.path(), ProductVersion(1, 0, 0), "v1.msi");
    let v2 = build_site(dir.path(), ProductVersion(2, 0, 0), "v2.msi");
    let for_v1 = dir.path().join("v1-site.mst");
    let site = settings(&[("LISTEN_PORT", "9090")]);
    write_transform(&v1, &site, &TransformOptions::default(), &for_v1).unwrap();
    let any_later = dir.path().join("any-later.mst");
    write_transform(
        &v1,
        &site,
        &TransformOptions {
            scope: TransformScope::ThisAndLaterVersions,
        },
        &any_later,
    )
    .unwrap();

    // v1's transform on v2: refused by ProductCode.
    let r = report(&v2, &[&for_v1], None);
    assert_check(
        &r,
        "transform",
        Status::Fail,
        "Windows Installer would refuse it: made for ProductCode",
    );
    // The product-line transform applies to v2.
    let r = report(&v2, &[&any_later], None);
    assert_check(&r, "transform", Status::Pass, "this product line");

    // A transform whose value was edited to an invalid port (same length, so only the value
    // changes): our reader sees it.
    let tampered = dir.path().join("tampered.mst");
    let bytes = std::fs::read(&for_v1).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"9090")
        .expect("value in _StringData");
    let mut edited = bytes.clone();
    edited[at..at + 4].copy_from_slice(b"0000");
    std::fs::write(&tampered, edited).unwrap();
    let r = report(&v1, &[&tampered], None);
    assert_check(
        &r,
        "transform",
        Status::Fail,
        "LISTEN_PORT=\"0000\": not a port number",
    );

    // A transform naming a property the package does not have.
    let ghost = dir.path().join("ghost.mst");
    let mut edited = bytes.clone();
    let at = edited
        .windows(11)
        .position(|w| w == b"LISTEN_PORT")
        .unwrap();
    edited[at..at + 11].copy_from_slice(b"LISTEN_PORX");
    std::fs::write(&ghost, edited).unwrap();
    let r = report(&v1, &[&ghost], None);
    assert_check(
        &r,
        "transform",
        Status::Fail,
        "updates row \"LISTEN_PORX\", which does not exist",
    );

    // Not a transform, and no file at all.
    let r = report(&v1, &[&v2, &dir.path().join("missing.mst")], None);
    assert_check(
        &r,
        "transform",
        Status::Fail,
        "an installer package (.msi), not a transform",
    );
    assert_check(&r, "transform", Status::Fail, "missing.mst");
    assert_eq!(r.checks.iter().filter(|c| c.id == "transform").count(), 2);
}

#[test]
fn upgrades_from_the_previous_release() {
    let dir = temp_dir();
    let v1 = build_site(dir.path(), ProductVersion(1, 0, 0), "v1.msi");
    let v1_again = build_site(dir.path(), ProductVersion(1, 0, 0), "v1-again.msi");
    let r = report(&v1_again, &[], Some(&v1));
    assert_check(
        &r,
        "product-code",
        Status::Fail,
        "is the previous release's",
    );
    assert_check(
        &r,
        "version",
        Status::Fail,
        "is not higher than the previous 1.0.0",
    );

    let v2 = build_site(dir.path(), ProductVersion(2, 0, 0), "v2.msi");
    let r = report(&v1, &[], Some(&v2));
    assert_check(
        &r,
        "version",
        Status::Fail,
        "1.0.0 is not higher than the previous 2.0.0",
    );
    assert_check(
        &r,
        "upgrade-removes-previous",
        Status::Fail,
        "covers version 2.0.0",
    );

    // Another product line.
    let mut other = site_package(ProductVersion(3, 0, 0));
    other.product.upgrade_code = Guid::parse("u", "0F0F0F0F-1111-2222-3333-444444444444").unwrap();
    other.product.product_code =
        Guid::product_code_for(&other.product.upgrade_code, ProductVersion(3, 0, 0));
    let (other, _) = build(&other, dir.path(), "other.msi");
    let r = report(&other, &[], Some(&v2));
    assert_check(
        &r,
        "upgrade-code",
        Status::Fail,
        "installs both side by side",
    );
    assert_check(
        &r,
        "upgrade-removes-previous",
        Status::Fail,
        "no Upgrade row",
    );

    // A component GUID that changed for the same file.
    let broken = dir.path().join("v3-broken.msi");
    std::fs::copy(
        build_site(dir.path(), ProductVersion(3, 0, 0), "v3.msi"),
        &broken,
    )
    .unwrap();
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&broken)
            .unwrap();
        let mut p = msi::Package::open(file).unwrap();
        set(
            &mut p,
            "Component",
            "Component",
            "hellosvc.exe",
            "ComponentId",
            Value::from("{01234567-89AB-CDEF-0123-456789ABCDEF}"),
        );
        p.flush().unwrap();
    }
    let r = report(&broken, &[], Some(&v2));
    assert_check(
        &r,
        "component-ids",
        Status::Fail,
        "hellosvc.exe: component GUID",
    );
    assert_check(
        &r,
        "component-ids",
        Status::Fail,
        "became {01234567-89AB-CDEF-0123-456789ABCDEF}",
    );
    assert_eq!(failed(&r), ["component-ids"], "{r}");
}

#[test]
fn a_wixl_package_is_not_ready() {
    if !require_tool("wixl") {
        return;
    }
    let dir = temp_dir();
    std::fs::write(dir.path().join("app.exe"), fake_exe(4096)).unwrap();
    let wxs = r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Wixl Service" Language="1033" Version="1.0.0" Manufacturer="Example Corp"
           UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version is already installed."/>
    <Media Id="1" Cabinet="product.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Wixl Service">
          <Component Id="MainExe" Guid="AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE" Win64="yes">
            <File Id="app.exe" Name="app.exe" Source="app.exe" KeyPath="yes"/>
            <ServiceInstall Id="Svc" Name="WixlSvc" DisplayName="Wixl Service" Type="ownProcess"
                            Start="auto" ErrorControl="normal" Arguments="--port [PORT]"/>
            <ServiceControl Id="SvcCtl" Name="WixlSvc" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="MainExe"/></Feature>
  </Product>
</Wix>
"#;
    std::fs::write(dir.path().join("svc.wxs"), wxs).unwrap();
    let msi = dir.path().join("wixl.msi");
    let output = std::process::Command::new("wixl")
        .current_dir(dir.path())
        .args(["-a", "x64", "-o", msi.to_str().unwrap(), "svc.wxs"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let r = report(&msi, &[], None);
    eprintln!("{r}");
    // wixl writes ALLUSERS=1 for perMachine, but no REBOOT or Restart Manager setting, places
    // RemoveExistingProducts outside the install transaction, and the service arguments use a
    // property nothing defines.
    assert_check(&r, "per-machine", Status::Pass, "ALLUSERS=1");
    assert_check(&r, "no-reboot", Status::Fail, "REBOOT is unset");
    assert_check(
        &r,
        "no-reboot",
        Status::Fail,
        "MSIRESTARTMANAGERCONTROL is unset",
    );
    assert_check(
        &r,
        "no-command-line",
        Status::Fail,
        "PORT has no default but ServiceInstall",
    );
    assert_check(&r, "lint", Status::Fail, "WR-REP");
    assert!(!r.is_ready());
    assert!(r.to_string().contains("NOT ready for Group Policy"), "{r}");
}

#[test]
fn an_unreadable_package_is_an_error() {
    let dir = temp_dir();
    let text = dir.path().join("x.msi");
    std::fs::write(&text, "nope").unwrap();
    assert!(gpo::check(&text, &Options::default()).is_err());
    let v1 = build_site(dir.path(), ProductVersion(1, 0, 0), "v1.msi");
    let r = report(&v1, &[], Some(&text));
    assert_check(&r, "upgrade-code", Status::Fail, "previous release");
}
