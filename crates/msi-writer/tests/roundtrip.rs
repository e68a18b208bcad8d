//! Round trip through independent readers: msitools (libmsi), cabextract, gcab and the `msi`
//! crate. Asserts the rows and summary fields a package reviewer would check.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use msi_writer::*;

fn hello() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    PackageReport,
    Package,
) {
    let dir = temp_dir();
    let pkg = hello_package(ProductVersion(1, 2, 3));
    let (out, report) = build(&pkg, dir.path(), "hello_1.2.3_x64.msi");
    (dir, out, report, pkg)
}

fn suminfo(msi: &Path) -> BTreeMap<String, String> {
    let output = Command::new("msiinfo")
        .args(["suminfo", msi.to_str().unwrap()])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn table_map(msi: &Path, table: &str) -> BTreeMap<String, Vec<String>> {
    export(msi, table)
        .into_iter()
        .map(|r| (r[0].clone(), r))
        .collect()
}

#[test]
fn summary_information_is_what_windows_installer_expects() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, report, _) = hello();
    let info = suminfo(&msi);
    assert_eq!(info["Title"], "Installation Database");
    assert_eq!(info["Subject"], "Hello Service");
    assert_eq!(info["Author"], "Example Corp");
    assert_eq!(info["Keywords"], "Installer");
    assert_eq!(
        info["Comments"],
        "An example Go service shipped by winrelease"
    );
    assert_eq!(info["Template"], "x64;1033");
    assert_eq!(
        info["Revision number (UUID)"],
        report.package_code.to_string()
    );
    // 1_700_000_000 = 2023-11-14 22:13:20 UTC
    assert_eq!(info["Created"], "Tue Nov 14 22:13:20 2023");
    assert_eq!(info["Last saved"], "Tue Nov 14 22:13:20 2023");
    assert_eq!(info["Version"], "200 (c8)");
    assert_eq!(info["Source"], "2 (2)");
    assert_eq!(info["Application"], "winrelease");
    assert_eq!(info["Security"], "2 (2)");
}

#[test]
fn tables_and_properties() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, report, pkg) = hello();
    let tables = run("msiinfo", &["tables", msi.to_str().unwrap()]);
    let mut tables: Vec<&str> = tables.lines().filter(|t| !t.starts_with('_')).collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "AdminExecuteSequence",
            "AdminUISequence",
            "AdvtExecuteSequence",
            "AppSearch",
            "Component",
            "CustomAction",
            "Directory",
            "Feature",
            "FeatureComponents",
            "File",
            "InstallExecuteSequence",
            "InstallUISequence",
            "LaunchCondition",
            "Media",
            "Property",
            "RegLocator",
            "Registry",
            "ServiceControl",
            "ServiceInstall",
            "Upgrade",
            "WinreleaseSettings",
        ]
    );
    let props: BTreeMap<String, String> = export(&msi, "Property")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let expect = [
        ("ProductName", "Hello Service"),
        ("ProductVersion", "1.2.3"),
        ("ProductLanguage", "1033"),
        ("Manufacturer", "Example Corp"),
        ("UpgradeCode", "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}"),
        ("ALLUSERS", "1"),
        ("ARPNOMODIFY", "1"),
        ("ARPHELPLINK", "https://example.com/hellosvc"),
        ("ARPURLINFOABOUT", "https://example.com/hellosvc"),
        ("ARPCOMMENTS", "An example Go service shipped by winrelease"),
        ("REBOOT", "ReallySuppress"),
        ("MSIRESTARTMANAGERCONTROL", "Disable"),
        ("LISTEN_PORT", "8080"),
        (
            "SecureCustomProperties",
            "INSTALLDIR;LISTEN_PORT;NEWERVERSION;NEWERVERSIONFOUND;OLDERVERSIONFOUND",
        ),
    ];
    for (name, value) in expect {
        assert_eq!(
            props.get(name).map(String::as_str),
            Some(value),
            "property {name}"
        );
    }
    assert_eq!(props["ProductCode"], report.product_code.to_string());
    assert_eq!(
        report.product_code,
        Guid::product_code_for(&pkg.product.upgrade_code, ProductVersion(1, 2, 3))
    );
    assert!(!props.contains_key("ARPNOREPAIR"));
    assert_eq!(
        export(&msi, "WinreleaseSettings"),
        vec![vec!["LISTEN_PORT".to_string(), "port".to_string()]]
    );
}

#[test]
fn directories_components_and_files() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, report, _) = hello();
    let dirs = table_map(&msi, "Directory");
    assert_eq!(dirs["TARGETDIR"][1..], ["", "SourceDir"]);
    assert_eq!(dirs["ProgramFiles64Folder"][1..], ["TARGETDIR", "."]);
    assert_eq!(dirs["CommonAppDataFolder"][1..], ["TARGETDIR", "."]);
    assert_eq!(dirs["System64Folder"][1..], ["TARGETDIR", "."]);
    assert_eq!(dirs["INSTALLDIR"][1], "ProgramFiles64Folder");
    assert!(
        dirs["INSTALLDIR"][2].ends_with("|Hello Service"),
        "{:?}",
        dirs["INSTALLDIR"]
    );
    assert_eq!(dirs["DATADIR"][1], "CommonAppDataFolder");
    let docs = dirs.values().find(|r| r[2] == "docs").expect("docs folder");
    assert_eq!(docs[1], "INSTALLDIR");

    let components = table_map(&msi, "Component");
    assert_eq!(components.len(), report.component_count);
    let exe = &components["hellosvc.exe"];
    assert_eq!(exe[2], "INSTALLDIR");
    assert_eq!(exe[3], "256"); // 64-bit
    assert_eq!(exe[5], "hellosvc.exe");
    let config = &components["config.json"];
    assert_eq!(config[2], "DATADIR");
    assert_eq!(config[3], (0x100 | 0x80 | 0x10).to_string()); // 64-bit, NeverOverwrite, Permanent
    let guid = Guid::parse("ComponentId", &exe[1]).unwrap();
    assert_eq!(exe[1], guid.to_string(), "upper-case braced GUID");

    let files = table_map(&msi, "File");
    let exe = &files["hellosvc.exe"];
    assert_eq!(
        exe[1..],
        [
            "hellosvc.exe",
            "hellosvc.exe",
            "300000",
            "1.2.3.0",
            "0",
            "512",
            "1"
        ]
    );
    let config = &files["config.json"];
    let (short, long) = config[2].split_once('|').expect("short|long");
    assert_eq!(long, "config.json");
    assert!(short.len() <= 12 && short.ends_with(".jso"), "{short}");
    assert_eq!(config[4], "", "unversioned");
    assert_eq!(config[7], "3");
    assert_eq!(
        export(&msi, "Media"),
        vec![["1", "3", "", "#product.cab", "", ""]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()]
    );
    assert_eq!(export(&msi, "FeatureComponents").len(), 3);
    let feature = export_row(&msi, "Feature", "ProductFeature");
    assert_eq!(feature[2], "Hello Service");
}

#[test]
fn service_event_log_and_upgrade_rows() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, _, _) = hello();
    let install = export_row(&msi, "ServiceInstall", "WrService");
    assert_eq!(
        install[1..],
        [
            "HelloSvc",
            "Hello Service",
            "16",    // SERVICE_WIN32_OWN_PROCESS
            "2",     // auto start
            "32769", // normal error control | vital
            "",
            "",
            "", // StartName empty = LocalSystem
            "",
            "--service",
            "hellosvc.exe",
            "Answers /healthz and /version over HTTP.",
        ]
    );
    let control = export_row(&msi, "ServiceControl", "WrService");
    // start on install 0x1, stop on install 0x2, stop on uninstall 0x20, delete on uninstall 0x80
    assert_eq!(control[1..], ["HelloSvc", "163", "", "1", "hellosvc.exe"]);

    let registry = table_map(&msi, "Registry");
    let key = "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\HelloSvc";
    assert_eq!(
        registry["WrEventLogSource"][1..],
        ["2", key, "-", "", "hellosvc.exe"]
    );
    assert_eq!(
        registry["WrEventLogMessageFile"][1..],
        [
            "2",
            key,
            "EventMessageFile",
            "#%%SystemRoot%\\System32\\EventCreate.exe",
            "hellosvc.exe"
        ]
    );
    assert_eq!(
        registry["WrEventLogTypes"][1..],
        ["2", key, "TypesSupported", "#7", "hellosvc.exe"]
    );

    let mut upgrade = export(&msi, "Upgrade");
    upgrade.sort();
    let code = "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}";
    assert_eq!(
        upgrade[0],
        [code, "", "1.2.3", "", "513", "", "OLDERVERSIONFOUND"]
    ); // MigrateFeatures | VersionMaxInclusive
    assert_eq!(
        upgrade[1],
        [code, "1.2.3", "", "", "2", "", "NEWERVERSIONFOUND"]
    ); // OnlyDetect, min exclusive
    let launch = export(&msi, "LaunchCondition");
    assert_eq!(launch.len(), 1);
    assert_eq!(launch[0][0], "Installed OR NOT NEWERVERSIONFOUND");
    assert_eq!(
        launch[0][1],
        "A newer version of Hello Service ([NEWERVERSION]) is already installed; this package is version 1.2.3. \
         Downgrades are not supported: uninstall the newer version first."
    );
    assert_eq!(
        export(&msi, "AppSearch"),
        vec![vec![
            "NEWERVERSION".to_string(),
            "WrNewerVersionSearch".to_string()
        ]]
    );
    assert_eq!(
        export_row(&msi, "RegLocator", "WrNewerVersionSearch")[1..],
        [
            "2",
            "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\[NEWERVERSIONFOUND]",
            "DisplayVersion",
            "18"
        ]
    );
}

#[test]
fn custom_actions_and_their_sequence() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, _, _) = hello();
    let actions = table_map(&msi, "CustomAction");
    let sequence: BTreeMap<String, (String, i32)> = export(&msi, "InstallExecuteSequence")
        .into_iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].parse().unwrap())))
        .collect();
    let seq = |a: &str| sequence[a].1;
    let cond = |a: &str| sequence[a].0.clone();
    let kind = |a: &str| actions[a][1].parse::<i32>().unwrap();

    const DEFERRED: i32 = 0x400 | 0x800; // in-script, no impersonation
                                         // Recovery: type 34 (exe + command line), deferred, no-impersonate; failure aborts.
    assert_eq!(kind("WrServiceRecovery"), 34 | DEFERRED);
    assert_eq!(
        actions["WrServiceRecovery"][2..],
        [
            "System64Folder",
            "\"[System64Folder]sc.exe\" failure \"HelloSvc\" reset= 86400 actions= restart/5000/restart/5000/restart/5000"
        ]
    );
    assert_eq!(kind("WrServiceRecoveryFlag"), 34 | DEFERRED | 0x40);
    assert!(
        seq("InstallServices") < seq("WrServiceRecovery")
            && seq("WrServiceRecovery") < seq("StartServices")
    );
    assert_eq!(cond("WrServiceRecovery"), "$hellosvc.exe=3");

    // Firewall: rollback delete (0x100) before the add; stale-rule cleanup ignores failure
    // (0x40); the add aborts on failure (config default).
    assert_eq!(kind("WrFirewallUndo1"), 34 | DEFERRED | 0x100 | 0x40);
    assert_eq!(kind("WrFirewallClean1"), 34 | DEFERRED | 0x40);
    assert_eq!(kind("WrFirewallAdd1"), 34 | DEFERRED);
    assert!(
        seq("WrFirewallUndo1") < seq("WrFirewallClean1")
            && seq("WrFirewallClean1") < seq("WrFirewallAdd1")
    );
    assert!(
        seq("InstallServices") < seq("WrFirewallUndo1")
            && seq("WrFirewallAdd1") < seq("StartServices")
    );
    assert_eq!(
        actions["WrFirewallAdd1"][3],
        "\"[System64Folder]netsh.exe\" advfirewall firewall add rule name=\"Hello Service (TCP 8080)\" dir=in \
         action=allow protocol=TCP localport=8080 program=\"[INSTALLDIR]hellosvc.exe\" profile=domain,private enable=yes"
    );
    let delete = "\"[System64Folder]netsh.exe\" advfirewall firewall delete rule name=\"Hello Service (TCP 8080)\"";
    assert_eq!(actions["WrFirewallUndo1"][3], delete);
    assert_eq!(actions["WrFirewallRemove1"][3], delete);
    // Uninstall: re-add on rollback, then delete; never blocks the uninstall.
    assert_eq!(kind("WrFirewallRestore1"), 34 | DEFERRED | 0x100 | 0x40);
    assert_eq!(kind("WrFirewallRemove1"), 34 | DEFERRED | 0x40);
    assert_eq!(
        actions["WrFirewallRestore1"][3],
        actions["WrFirewallAdd1"][3]
    );
    assert!(seq("WrFirewallRestore1") < seq("WrFirewallRemove1"));
    assert_eq!(cond("WrFirewallRemove1"), "$hellosvc.exe=2");
    assert_eq!(cond("WrFirewallAdd1"), "$hellosvc.exe=3");

    // First-install command: type 18 (installed exe), deferred, no-impersonate, after InstallFiles.
    assert_eq!(kind("SeedConfig"), 18 | DEFERRED);
    assert_eq!(actions["SeedConfig"][2], "hellosvc.exe");
    assert_eq!(
        cond("SeedConfig"),
        "$hellosvc.exe=3 AND NOT Installed AND NOT OLDERVERSIONFOUND"
    );
    assert!(seq("InstallFiles") < seq("SeedConfig") && seq("SeedConfig") < seq("StartServices"));

    // Every deferred action sits inside the script.
    for (action, row) in &actions {
        if kind(action) & 0x400 != 0 {
            assert!(
                seq("InstallInitialize") < seq(action) && seq(action) < seq("InstallFinalize"),
                "{action}"
            );
        }
        assert!(sequence.contains_key(action), "{action} is not scheduled");
        let _ = row;
    }
    // Upgrade placement: inside the transaction, right after InstallInitialize.
    assert_eq!(seq("FindRelatedProducts"), 25);
    assert!(seq("FindRelatedProducts") < seq("LaunchConditions"));
    assert_eq!(seq("InstallInitialize"), 1500);
    assert_eq!(seq("RemoveExistingProducts"), 1501);
    assert_eq!(seq("InstallFinalize"), 6600);
    assert_eq!(kind("WrSetArpInstallLocation"), 51);
}

#[test]
fn admin_and_advertise_sequences_hold_the_standard_actions() {
    if !require_tool("msiinfo") {
        return;
    }
    let (_dir, msi, _, _) = hello();
    let order = |table: &str| {
        let mut rows: Vec<(i32, String)> = export(&msi, table)
            .into_iter()
            .map(|r| (r[2].parse().unwrap(), r[0].clone()))
            .collect();
        rows.sort();
        rows.into_iter().map(|(_, a)| a).collect::<Vec<_>>()
    };
    assert_eq!(
        order("AdminExecuteSequence"),
        [
            "CostInitialize",
            "FileCost",
            "CostFinalize",
            "InstallValidate",
            "InstallInitialize",
            "InstallAdminPackage",
            "InstallFiles",
            "InstallFinalize"
        ]
    );
    assert_eq!(
        order("AdminUISequence"),
        [
            "CostInitialize",
            "FileCost",
            "CostFinalize",
            "ExecuteAction"
        ]
    );
    assert_eq!(
        order("AdvtExecuteSequence"),
        [
            "CostInitialize",
            "CostFinalize",
            "InstallValidate",
            "InstallInitialize",
            "PublishFeatures",
            "PublishProduct",
            "InstallFinalize"
        ]
    );
    assert_eq!(
        order("InstallUISequence").last().map(String::as_str),
        Some("ExecuteAction")
    );
}

#[test]
fn payload_bytes_come_back_exactly() {
    if !require_tool("msiextract")
        || !require_tool("msiinfo")
        || !require_tool("cabextract")
        || !require_tool("gcab")
    {
        return;
    }
    let (dir, msi, report, pkg) = hello();
    let extract = dir.path().join("extract");
    std::fs::create_dir(&extract).unwrap();
    run(
        "msiextract",
        &["-C", extract.to_str().unwrap(), msi.to_str().unwrap()],
    );
    let expect = [
        ("hellosvc.exe", "Hello Service/hellosvc.exe"),
        ("LICENSE.txt", "Hello Service/docs/LICENSE.txt"),
        ("config.json", "Hello Service/config.json"),
    ];
    for (key, path) in expect {
        let spec = pkg.files.iter().find(|f| f.key == key).unwrap();
        let Source::Bytes(want) = &spec.source else {
            unreachable!()
        };
        let got = std::fs::read(extract.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&got, want, "{path}");
    }

    // The cabinet stream on its own: cabextract tests every file's data, gcab lists names,
    // sizes, dates and attributes in sequence order.
    let output = Command::new("msiinfo")
        .args(["extract", msi.to_str().unwrap(), "product.cab"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.len() as u64, report.cabinet_bytes);
    let cab = dir.path().join("product.cab");
    std::fs::write(&cab, &output.stdout).unwrap();
    let test = run("cabextract", &["-t", cab.to_str().unwrap()]);
    assert!(test.contains("All done, no errors."), "{test}");
    let listing = Command::new("gcab")
        .args(["-l", "-v", cab.to_str().unwrap()])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[0].starts_with("hellosvc.exe 300000 2023-11-14 22:13:20"),
        "{listing}"
    );
    assert!(
        lines[1].starts_with("LICENSE.txt 13 2023-11-14 22:13:20"),
        "{listing}"
    );
    assert!(
        lines[2].starts_with("config.json 26 2023-11-14 22:13:20"),
        "{listing}"
    );
}

#[test]
fn degenerate_payloads_pass_strict_cabinet_readers() {
    // libmspack (cabextract, many antivirus engines) rejects deflate blocks with an incomplete
    // single-code distance table, which some encoders emit for all-zero data and short repeats.
    if !require_tool("msiinfo") || !require_tool("cabextract") {
        return;
    }
    let dir = temp_dir();
    let mut pkg = hello_package(ProductVersion(1, 0, 0));
    let patterns: Vec<(&str, Vec<u8>)> = vec![
        ("zeros.bin", vec![0u8; 200_000]),
        ("ab.bin", b"ab".repeat(100_000)),
        ("abc.bin", b"abc".repeat(70_000)),
        ("one.bin", vec![7u8; 1]),
        ("empty.bin", Vec::new()),
    ];
    for (name, bytes) in patterns {
        pkg.files.push(FileSpec {
            key: name.into(),
            name: name.into(),
            dir: DirRef::install(),
            source: Source::Bytes(bytes),
            version: None,
            never_overwrite: false,
            permanent: false,
        });
    }
    let (msi, _) = build(&pkg, dir.path(), "patterns.msi");
    let output = Command::new("msiinfo")
        .args(["extract", msi.to_str().unwrap(), "product.cab"])
        .output()
        .unwrap();
    let cab = dir.path().join("product.cab");
    std::fs::write(&cab, &output.stdout).unwrap();
    let test = run("cabextract", &["-t", cab.to_str().unwrap()]);
    assert!(test.contains("All done, no errors."), "{test}");
    assert_eq!(test.matches(" OK ").count(), 8, "{test}");
}

#[test]
fn the_msi_crate_reads_the_database() {
    let (_dir, msi, _, _) = hello();
    let mut package = msi::Package::open(std::fs::File::open(&msi).unwrap()).unwrap();
    assert_eq!(package.package_type(), msi::PackageType::Installer);
    assert_eq!(package.database_codepage(), msi::CodePage::Windows1252);
    assert_eq!(
        package.summary_info().codepage(),
        msi::CodePage::Windows1252
    );
    assert_eq!(package.summary_info().arch(), Some("x64"));
    assert_eq!(package.summary_info().page_count(), Some(200));
    assert_eq!(package.summary_info().word_count(), Some(2));
    assert!(package.has_stream("product.cab"));
    let rows: Vec<msi::Row> = package
        .select_rows(
            msi::Select::table("Property")
                .with(msi::Expr::col("Property").eq(msi::Expr::string("ALLUSERS"))),
        )
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Value"].as_str(), Some("1"));
    let file_table = package.get_table("File").unwrap();
    assert_eq!(
        file_table
            .columns()
            .iter()
            .filter(|c| c.is_primary_key())
            .count(),
        1
    );
    assert!(package
        .get_table("File")
        .unwrap()
        .get_column("Version")
        .unwrap()
        .is_nullable());
}

#[test]
fn western_european_text_is_stored_in_codepage_1252() {
    if !require_tool("msiinfo") {
        return;
    }
    let dir = temp_dir();
    let mut pkg = hello_package(ProductVersion(1, 0, 0));
    pkg.product.name = "Grüße-Dienst".into();
    pkg.product.manufacturer = "Société Générale €".into();
    let (msi, _) = build(&pkg, dir.path(), "cp.msi");
    let mut package = msi::Package::open(std::fs::File::open(&msi).unwrap()).unwrap();
    assert_eq!(package.summary_info().subject(), Some("Grüße-Dienst"));
    let rows: Vec<msi::Row> = package
        .select_rows(
            msi::Select::table("Property")
                .with(msi::Expr::col("Property").eq(msi::Expr::string("Manufacturer"))),
        )
        .unwrap()
        .collect();
    assert_eq!(rows[0]["Value"].as_str(), Some("Société Générale €"));
    // libmsi decodes the pool with the database codepage and prints UTF-8: correct text here
    // means the bytes were Windows-1252 (UTF-8 bytes would come out as "GrÃ¼ÃŸe").
    let exported = run("msiinfo", &["export", msi.to_str().unwrap(), "Property"]);
    assert!(exported.contains("ProductName\tGrüße-Dienst"), "{exported}");
    assert!(
        exported.contains("Manufacturer\tSociété Générale €"),
        "{exported}"
    );
    let pool_codepage = run(
        "msiinfo",
        &["export", msi.to_str().unwrap(), "_ForceCodepage"],
    );
    assert!(
        pool_codepage.contains("1252\t_ForceCodepage"),
        "{pool_codepage}"
    );
}

#[test]
fn empty_folders_get_a_create_folder_component_each() {
    if !require_tool("msiinfo") {
        return;
    }
    let dir = temp_dir();
    let mut pkg = hello_package(ProductVersion(1, 2, 3));
    pkg.empty_dirs = vec![
        DirRef {
            base: DirBase::Data("DATADIR".into()),
            sub: vec!["logs".into()],
        },
        DirRef::install_sub(["web", "uploads"]),
    ];
    let (msi, report) = build(&pkg, dir.path(), "empty.msi");
    let dirs = table_map(&msi, "Directory");
    let folder = |name: &str| {
        dirs.iter()
            .find(|(_, r)| r[2] == name || r[2].ends_with(&format!("|{name}")))
            .map(|(k, r)| (k.clone(), r[1].clone()))
            .unwrap_or_else(|| panic!("no folder {name}: {dirs:?}"))
    };
    let (logs, logs_parent) = folder("logs");
    assert_eq!(logs_parent, "DATADIR");
    let (uploads, uploads_parent) = folder("uploads");
    assert_eq!(dirs[&uploads_parent][2], "web");
    let created: Vec<String> = export(&msi, "CreateFolder")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(created.contains(&logs), "{created:?}");
    assert!(created.contains(&uploads), "{created:?}");
    let components = table_map(&msi, "Component");
    assert_eq!(components.len(), report.component_count);
    assert_eq!(components[&format!("WrFolder.{logs}")][2], logs);
}

#[test]
fn a_downgrade_property_lets_only_its_caller_replace_a_newer_version() {
    if !require_tool("msiinfo") {
        return;
    }
    let dir = temp_dir();
    let mut pkg = hello_package(ProductVersion(1, 2, 3));
    pkg.downgrade_property = Some("WINRELEASE_ALLOW_DOWNGRADE".into());
    let (msi, _) = build(&pkg, dir.path(), "hello_1.2.3_x64.msi");
    let findings = lint(&msi).unwrap();
    assert!(
        findings.iter().all(|f| f.severity != Severity::Error),
        "{findings:#?}"
    );
    let mut upgrade = export(&msi, "Upgrade");
    upgrade.sort();
    let code = "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}";
    // Newer versions: still detected for the refusal, and removed when the property is set.
    assert_eq!(
        upgrade[1],
        [code, "1.2.3", "", "", "1", "", "WRDOWNGRADEFOUND"]
    );
    assert_eq!(
        upgrade[2],
        [code, "1.2.3", "", "", "2", "", "NEWERVERSIONFOUND"]
    );
    let launch = export(&msi, "LaunchCondition");
    assert_eq!(
        launch[0][0],
        "Installed OR NOT NEWERVERSIONFOUND OR WINRELEASE_ALLOW_DOWNGRADE=\"1\""
    );
    assert_eq!(
        export_row(&msi, "Property", "WINRELEASE_ALLOW_DOWNGRADE")[1],
        "0"
    );
    let secure = export_row(&msi, "Property", "SecureCustomProperties");
    assert!(
        secure[1].contains("WINRELEASE_ALLOW_DOWNGRADE;WRDOWNGRADEFOUND"),
        "{secure:?}"
    );
}
