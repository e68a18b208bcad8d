//! The lint: our packages are clean; a wixl-built package and deliberately broken copies of ours
//! are flagged with the right rule.

mod common;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use common::*;
use msi::{Delete, Expr, Insert, Select, Update, Value};
use msi_writer::*;

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

fn has(findings: &[Finding], rule: &str, needle: &str) -> bool {
    findings
        .iter()
        .any(|f| f.rule == rule && f.to_string().contains(needle))
}

fn ours(dir: &Path) -> PathBuf {
    build(&hello_package(ProductVersion(1, 2, 3)), dir, "ours.msi").0
}

/// Copies our package and applies `change` to the copy with the `msi` crate.
fn mutated(
    dir: &Path,
    name: &str,
    change: impl FnOnce(&mut msi::Package<std::fs::File>),
) -> Vec<Finding> {
    let original = ours(dir);
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
    lint(&copy).unwrap()
}

fn set(
    package: &mut msi::Package<std::fs::File>,
    table: &str,
    key_column: &str,
    key: &str,
    column: &str,
    value: Value,
) {
    package
        .update_rows(
            Update::table(table)
                .set(column, value)
                .with(Expr::col(key_column).eq(Expr::string(key))),
        )
        .unwrap();
}

#[test]
fn our_packages_are_clean() {
    let dir = temp_dir();
    let findings = lint(&ours(dir.path())).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");

    // Minimal variant: no service, a created empty data folder, files in nested folders, no
    // firewall rules or commands.
    let mut pkg = hello_package(ProductVersion(0, 1, 0));
    pkg.service = None;
    pkg.recovery = None;
    pkg.event_log_source = None;
    pkg.firewall_rules.clear();
    pkg.commands.clear();
    pkg.data_dirs.push(DataDir {
        key: "LOGDIR".into(),
        under: KnownFolder::CommonAppData,
        path: vec!["Hello Service".into(), "logs".into()],
        create: true,
    });
    pkg.files[1].dir = DirRef::install_sub(["share", "doc", "hello"]);
    let (msi, _) = build(&pkg, dir.path(), "minimal.msi");
    let findings = lint(&msi).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

fn wixl_package(dir: &Path, schedule: Option<&str>) -> PathBuf {
    std::fs::write(dir.join("hellosvc.exe"), fake_exe(4096)).unwrap();
    let schedule = schedule
        .map(|s| format!(" Schedule=\"{s}\""))
        .unwrap_or_default();
    let wxs = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Wixl Hello" Language="1033" Version="1.0.0" Manufacturer="Example Corp"
           UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version is already installed."{schedule}/>
    <Media Id="1" Cabinet="product.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Wixl Hello">
          <Component Id="MainExe" Guid="AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE" Win64="yes">
            <File Id="hellosvc.exe" Name="hellosvc.exe" Source="hellosvc.exe" KeyPath="yes"/>
            <ServiceInstall Id="Svc" Name="WixlHello" DisplayName="Wixl Hello" Type="ownProcess"
                            Start="auto" ErrorControl="normal"/>
            <ServiceControl Id="SvcCtl" Name="WixlHello" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="MainExe"/></Feature>
  </Product>
</Wix>
"#
    );
    let source = dir.join("hello.wxs");
    std::fs::write(&source, wxs).unwrap();
    let out = dir.join("wixl.msi");
    let status = std::process::Command::new("wixl")
        .current_dir(dir)
        .args([
            "-a",
            "x64",
            "-o",
            out.to_str().unwrap(),
            source.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    out
}

#[test]
fn wixl_default_scheduling_is_flagged() {
    if !require_tool("wixl") {
        return;
    }
    let dir = temp_dir();
    let findings = lint(&wixl_package(dir.path(), None)).unwrap();
    // wixl puts RemoveExistingProducts before InstallInitialize (its own transaction) by default.
    assert!(
        has(&findings, "WR-REP", "RemoveExistingProducts"),
        "{findings:#?}"
    );
    assert!(has(&findings, "WR-CODEPAGE", "65001"), "{findings:#?}");

    // wixl 0.101 ignores MajorUpgrade/@Schedule; older wixl releases put RemoveExistingProducts
    // after InstallFinalize. Reproduce that placement on a wixl-built package.
    let msi = wixl_package(dir.path(), Some("afterInstallFinalize"));
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&msi)
            .unwrap();
        let mut package = msi::Package::open(file).unwrap();
        set(
            &mut package,
            "InstallExecuteSequence",
            "Action",
            "RemoveExistingProducts",
            "Sequence",
            Value::Int(6601),
        );
        package.flush().unwrap();
    }
    let findings = lint(&msi).unwrap();
    let rep: Vec<&Finding> = findings.iter().filter(|f| f.rule == "WR-REP").collect();
    assert_eq!(rep.len(), 1, "{findings:#?}");
    assert_eq!(rep[0].severity, Severity::Error);
    assert!(
        rep[0].message.contains("after InstallFinalize"),
        "{}",
        rep[0]
    );
}

#[test]
fn remove_existing_products_placement() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "late.msi", |p| {
        set(
            p,
            "InstallExecuteSequence",
            "Action",
            "RemoveExistingProducts",
            "Sequence",
            Value::Int(6700),
        );
    });
    assert!(
        has(&findings, "WR-REP", "after InstallFinalize"),
        "{findings:#?}"
    );
    let findings = mutated(dir.path(), "early.msi", |p| {
        set(
            p,
            "InstallExecuteSequence",
            "Action",
            "RemoveExistingProducts",
            "Sequence",
            Value::Int(1401),
        );
    });
    assert!(
        has(&findings, "WR-REP", "before InstallInitialize"),
        "{findings:#?}"
    );
    let findings = mutated(dir.path(), "none.msi", |p| {
        p.delete_rows(
            Delete::from("InstallExecuteSequence")
                .with(Expr::col("Action").eq(Expr::string("RemoveExistingProducts"))),
        )
        .unwrap();
    });
    assert!(has(&findings, "WR-REP", "not sequenced"), "{findings:#?}");
}

#[test]
fn downgrades_must_be_detected_and_refused() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "no-detect.msi", |p| {
        p.delete_rows(
            Delete::from("Upgrade")
                .with(Expr::col("ActionProperty").eq(Expr::string("NEWERVERSIONFOUND"))),
        )
        .unwrap();
    });
    assert!(
        has(
            &findings,
            "WR-DOWNGRADE",
            "no Upgrade row detects newer versions"
        ),
        "{findings:#?}"
    );
    let findings = mutated(dir.path(), "no-refusal.msi", |p| {
        p.delete_rows(Delete::from("LaunchCondition")).unwrap();
    });
    assert!(
        has(&findings, "WR-DOWNGRADE", "nothing refuses"),
        "{findings:#?}"
    );
    let findings = mutated(dir.path(), "not-secure.msi", |p| {
        set(
            p,
            "Property",
            "Property",
            "SecureCustomProperties",
            "Value",
            Value::from("INSTALLDIR"),
        );
    });
    assert!(
        has(&findings, "ICE61", "SecureCustomProperties"),
        "{findings:#?}"
    );
}

#[test]
fn component_rules() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "dup-guid.msi", |p| {
        let rows: Vec<msi::Row> = p
            .select_rows(
                Select::table("Component")
                    .with(Expr::col("Component").eq(Expr::string("hellosvc.exe"))),
            )
            .unwrap()
            .collect();
        let guid = rows[0]["ComponentId"].clone();
        set(
            p,
            "Component",
            "Component",
            "config.json",
            "ComponentId",
            guid,
        );
    });
    assert!(has(&findings, "ICE08", "also used by"), "{findings:#?}");

    let findings = mutated(dir.path(), "32bit.msi", |p| {
        set(
            p,
            "Component",
            "Component",
            "hellosvc.exe",
            "Attributes",
            Value::Int(0),
        );
    });
    assert!(
        has(
            &findings,
            "ICE80",
            "32-bit component installed under a 64-bit folder"
        ),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "keypath.msi", |p| {
        set(
            p,
            "Component",
            "Component",
            "config.json",
            "KeyPath",
            Value::from("hellosvc.exe"),
        );
    });
    assert!(
        has(&findings, "ICE18", "belongs to component"),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "no-feature.msi", |p| {
        p.delete_rows(
            Delete::from("FeatureComponents")
                .with(Expr::col("Component_").eq(Expr::string("config.json"))),
        )
        .unwrap();
    });
    assert!(has(&findings, "ICE21", "no feature"), "{findings:#?}");

    let findings = mutated(dir.path(), "fk.msi", |p| {
        set(
            p,
            "File",
            "File",
            "LICENSE.txt",
            "Component_",
            Value::from("ghost"),
        );
    });
    assert!(
        has(&findings, "ICE03", "\"ghost\" does not exist in Component"),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "dir-loop.msi", |p| {
        set(
            p,
            "Directory",
            "Directory",
            "ProgramFiles64Folder",
            "Directory_Parent",
            Value::from("INSTALLDIR"),
        );
    });
    assert!(
        has(&findings, "WR-DIRECTORY-TREE", "loops"),
        "{findings:#?}"
    );
}

#[test]
fn custom_action_and_sequence_rules() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "deferred-late.msi", |p| {
        set(
            p,
            "InstallExecuteSequence",
            "Action",
            "WrFirewallAdd1",
            "Sequence",
            Value::Int(6700),
        );
    });
    assert!(has(&findings, "ICE77", "WrFirewallAdd1"), "{findings:#?}");

    let findings = mutated(dir.path(), "impersonated.msi", |p| {
        set(
            p,
            "CustomAction",
            "Action",
            "WrServiceRecovery",
            "Type",
            Value::Int(34 | 0x400),
        );
    });
    assert!(
        has(&findings, "WR-CA-IMPERSONATE", "WrServiceRecovery"),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "advt.msi", |p| {
        p.delete_rows(
            Delete::from("AdvtExecuteSequence")
                .with(Expr::col("Action").eq(Expr::string("PublishProduct"))),
        )
        .unwrap();
        set(
            p,
            "AdminExecuteSequence",
            "Action",
            "InstallFiles",
            "Sequence",
            Value::Int(1000),
        );
    });
    assert!(
        has(&findings, "WR-ADVT-SEQUENCE", "PublishProduct is missing"),
        "{findings:#?}"
    );
    assert!(
        has(
            &findings,
            "WR-ADMIN-SEQUENCE",
            "InstallFiles (1000) must come after"
        ),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "order.msi", |p| {
        set(
            p,
            "InstallExecuteSequence",
            "Action",
            "StartServices",
            "Sequence",
            Value::Int(5700),
        );
    });
    assert!(has(&findings, "ICE27", "StartServices"), "{findings:#?}");

    let findings = mutated(dir.path(), "reboot.msi", |p| {
        p.insert_rows(Insert::into("InstallExecuteSequence").row(vec![
            Value::from("ScheduleReboot"),
            Value::Null,
            Value::Int(6650),
        ]))
        .unwrap();
        p.delete_rows(
            Delete::from("Property").with(Expr::col("Property").eq(Expr::string("REBOOT"))),
        )
        .unwrap();
    });
    assert!(has(&findings, "WR-REBOOT", "reboot"), "{findings:#?}");
}

#[test]
fn more_ice_rules() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "ice30.msi", |p| {
        set(
            p,
            "File",
            "File",
            "config.json",
            "FileName",
            Value::from("HelloSvc.EXE"),
        );
        set(
            p,
            "Component",
            "Component",
            "config.json",
            "Directory_",
            Value::from("INSTALLDIR"),
        );
    });
    let ice30: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == "ICE30")
        .map(|f| f.to_string())
        .collect();
    assert_eq!(ice30.len(), 1, "{findings:#?}");
    assert!(
        ice30[0].contains("hellosvc.exe") && ice30[0].contains("config.json"),
        "{}",
        ice30[0]
    );

    let findings = mutated(dir.path(), "ice68.msi", |p| {
        set(
            p,
            "CustomAction",
            "Action",
            "WrServiceRecovery",
            "Type",
            Value::Int(34 | 0x100),
        );
        set(
            p,
            "CustomAction",
            "Action",
            "WrServiceRecoveryFlag",
            "Type",
            Value::Int(63),
        );
    });
    assert!(
        has(&findings, "ICE68", "must be in-script"),
        "{findings:#?}"
    );
    assert!(
        has(&findings, "ICE68", "no valid base type"),
        "{findings:#?}"
    );

    let findings = mutated(dir.path(), "ice26-72.msi", |p| {
        p.insert_rows(Insert::into("InstallUISequence").row(vec![
            Value::from("InstallFiles"),
            Value::Null,
            Value::Int(1250),
        ]))
        .unwrap();
        p.insert_rows(Insert::into("AdvtExecuteSequence").row(vec![
            Value::from("WrFirewallAdd1"),
            Value::Null,
            Value::Int(1550),
        ]))
        .unwrap();
        let long_name = "A product name that is far too long for Windows Installer to accept";
        set(
            p,
            "Property",
            "Property",
            "ProductName",
            "Value",
            Value::from(long_name),
        );
    });
    assert!(has(&findings, "ICE26", "InstallFiles"), "{findings:#?}");
    assert!(has(&findings, "ICE72", "WrFirewallAdd1"), "{findings:#?}");
    assert!(has(&findings, "ICE16", "63"), "{findings:#?}");
}

#[test]
fn summary_and_property_rules() {
    let dir = temp_dir();
    let findings = mutated(dir.path(), "summary.msi", |p| {
        p.summary_info_mut().set_arch("Intel");
        p.summary_info_mut().set_page_count(100);
        p.set_database_codepage(msi::CodePage::Utf8);
        set(
            p,
            "Property",
            "Property",
            "ALLUSERS",
            "Value",
            Value::from("2"),
        );
        p.delete_rows(
            Delete::from("Property").with(Expr::col("Property").eq(Expr::string("Manufacturer"))),
        )
        .unwrap();
    });
    assert!(has(&findings, "WR-TEMPLATE", "\"Intel\""), "{findings:#?}");
    assert!(has(&findings, "WR-TEMPLATE", "Page Count"), "{findings:#?}");
    assert!(has(&findings, "WR-CODEPAGE", "65001"), "{findings:#?}");
    assert!(has(&findings, "WR-ALLUSERS", "ALLUSERS"), "{findings:#?}");
    assert!(has(&findings, "ICE24", "Manufacturer"), "{findings:#?}");
    assert!(!errors(&findings).is_empty());
}

#[test]
fn unreadable_files_are_an_error_not_a_finding() {
    let dir = temp_dir();
    let path = dir.path().join("not.msi");
    std::fs::write(&path, b"not a compound file").unwrap();
    assert!(matches!(lint(&path), Err(MsiError::Read { .. })));
}
