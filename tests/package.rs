//! The package stage on the real example service: the MSI a user gets from `cargo xtask release`,
//! read back with msitools (Windows Installer's own table format, not our writer's view of it).

use std::path::Path;
use std::process::Command;

use winrelease::config::Project;
use winrelease::payload::Contents;
use winrelease::{gobuild, package_msi, stamp};

fn require_tool(tool: &str) -> bool {
    testkit::require_tool(tool).is_some()
}

fn msiinfo_export(msi: &Path, table: &str) -> Vec<Vec<String>> {
    let out = Command::new("msiinfo")
        .args(["export"])
        .arg(msi)
        .arg(table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "msiinfo export {table}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Three header lines (names, types, table name), then tab-separated rows.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], key: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == key)
        .unwrap_or_else(|| panic!("no row {key} in {rows:?}"))
}

#[test]
fn the_example_service_packages_into_an_msi_windows_installer_can_read() {
    if !require_tool("msiinfo") || !require_tool("msiextract") {
        return;
    }
    let mut project = Project::load(None).unwrap();
    let target = tempfile::tempdir().unwrap();
    project.target_dir = target.path().to_path_buf();
    let versioned = stamp::versioned(&project.root).unwrap();
    let exes = gobuild::build_project(&project, &versioned, &Default::default()).unwrap();
    let contents = Contents::read(&project).unwrap();
    let exe = &exes.service;
    let msi = package_msi::package_msi(
        &project,
        &versioned,
        contents.with(&exes),
        &project.version_dir(&versioned.stamp.version),
    )
    .unwrap();
    assert_eq!(
        msi.path.file_name().unwrap().to_string_lossy(),
        format!("hellosvc_{}_x64.msi", versioned.stamp.version)
    );

    let summary = Command::new("msiinfo")
        .arg("suminfo")
        .arg(&msi.path)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&summary.stdout);
    assert!(summary.contains("Template: x64;1033"), "{summary}");
    assert!(
        summary.contains(&format!("Revision number (UUID): {}", msi.package_code)),
        "{summary}"
    );

    let property = msiinfo_export(&msi.path, "Property");
    assert_eq!(
        row(&property, "ProductVersion")[1],
        versioned.msi_version.to_string()
    );
    assert_eq!(
        row(&property, "UpgradeCode")[1],
        "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}"
    );
    assert_eq!(row(&property, "ProductCode")[1], msi.product_code);
    assert_eq!(row(&property, "ALLUSERS")[1], "1");
    assert_eq!(row(&property, "LISTEN_PORT")[1], "8080");
    assert_eq!(row(&property, "SITE_NAME")[1], "default");

    let file = msiinfo_export(&msi.path, "File");
    let exe_row = row(&file, "hellosvc.exe");
    assert_eq!(
        exe_row[3],
        std::fs::metadata(&exe.path).unwrap().len().to_string(),
        "FileSize"
    );
    assert_eq!(
        exe_row[4],
        format!("{}.0", versioned.msi_version),
        "File.Version from VERSIONINFO"
    );

    let service = msiinfo_export(&msi.path, "ServiceInstall");
    let svc = &service[0];
    assert_eq!(svc[1], "HelloSvc");
    assert_eq!(svc[3], "16", "own process");
    assert_eq!(svc[4], "2", "auto start");
    assert_eq!(
        svc[10],
        "--service --name HelloSvc --config \"[DATADIR]config.json\""
    );

    let actions = msiinfo_export(&msi.path, "CustomAction");
    let seed = row(&actions, "SeedConfig");
    let extracted_default =
        std::fs::read_to_string(project.root.join("templates/config.json")).unwrap();
    let pristine = {
        use sha2::{Digest, Sha256};
        format!(
            "{:x}",
            Sha256::digest(
                extracted_default
                    .replace("{{listen_port}}", "8080")
                    .as_bytes()
            )
        )
    };
    assert_eq!(
        seed[3],
        format!("--seed-config \"[DATADIR]config.json\" --seed-only-if-sha256 {pristine} --set \"listen_port=[LISTEN_PORT]\" --set \"site_name=[SITE_NAME]\"")
    );
    let recovery = actions
        .iter()
        .find(|r| r[3].contains("failure \"HelloSvc\""))
        .expect("recovery action");
    assert!(
        recovery[3].contains("reset= 86400 actions= restart/5000/restart/5000/restart/5000"),
        "{recovery:?}"
    );
    let firewall = actions
        .iter()
        .find(|r| r[3].contains("add rule"))
        .expect("firewall action");
    assert!(
        firewall[3].contains("name=\"Hello Service (TCP 8080)\""),
        "{firewall:?}"
    );
    assert!(firewall[3].contains("localport=8080"), "{firewall:?}");

    // The payload comes back byte for byte; the config is the rendered template.
    let extracted = tempfile::tempdir().unwrap();
    let status = Command::new("msiextract")
        .arg("-C")
        .arg(extracted.path())
        .arg(&msi.path)
        .output()
        .unwrap();
    assert!(status.status.success());
    let installed_exe = walk(extracted.path())
        .into_iter()
        .find(|p| p.ends_with("hellosvc.exe"))
        .unwrap();
    assert_eq!(
        std::fs::read(installed_exe).unwrap(),
        std::fs::read(&exe.path).unwrap()
    );
    let config = walk(extracted.path())
        .into_iter()
        .find(|p| p.ends_with("config.json"))
        .unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config).unwrap()).unwrap();
    assert_eq!(config["listen_port"], 8080);

    // Same inputs, same bytes.
    std::fs::remove_file(&msi.path).unwrap();
    let again = package_msi::package_msi(
        &project,
        &versioned,
        contents.with(&exes),
        &project.version_dir(&versioned.stamp.version),
    )
    .unwrap();
    assert_eq!(again.package_code, msi.package_code);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
