//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use msi_writer::*;

/// True when `tool` is on PATH. Otherwise prints one line and returns false, or panics when
/// `CI=true` (CI must not silently skip).
pub fn require_tool(tool: &str) -> bool {
    testkit::require_tool(tool).is_some()
}

/// Runs a command and returns stdout; panics with stderr on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `msiinfo export FILE TABLE` parsed into rows of cells (the three IDT header lines dropped).
pub fn export(msi: &Path, table: &str) -> Vec<Vec<String>> {
    let text = run("msiinfo", &["export", msi.to_str().unwrap(), table]);
    text.lines()
        .skip(3)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.trim_end_matches('\r')
                .split('\t')
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The row of `table` whose first cell is `key`.
pub fn export_row(msi: &Path, table: &str, key: &str) -> Vec<String> {
    export(msi, table)
        .into_iter()
        .find(|r| r[0] == key)
        .unwrap_or_else(|| panic!("{table} has no row {key:?}"))
}

pub const UPGRADE_CODE: &str = "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11";

/// A fake but plausible executable payload (a PE header followed by varied bytes).
pub fn fake_exe(len: usize) -> Vec<u8> {
    let mut bytes = b"MZ\x90\x00".to_vec();
    let mut x: u32 = 12345;
    while bytes.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push((x >> 16) as u8 & 0x3F);
    }
    bytes
}

/// The example product: a service exe, a default config kept across upgrades, a license file.
pub fn hello_package(version: ProductVersion) -> Package {
    let upgrade_code = Guid::parse("upgrade_code", UPGRADE_CODE).unwrap();
    Package {
        product: Product {
            name: "Hello Service".into(),
            manufacturer: "Example Corp".into(),
            version,
            product_code: Guid::product_code_for(&upgrade_code, version),
            upgrade_code,
            language: 1033,
            description: "An example Go service shipped by winrelease".into(),
        },
        install_dir: InstallDir {
            under: KnownFolder::ProgramFiles64,
            path: vec!["Hello Service".into()],
            property: "INSTALLDIR".into(),
        },
        data_dirs: vec![DataDir {
            key: "DATADIR".into(),
            under: KnownFolder::CommonAppData,
            path: vec!["Hello Service".into()],
            create: false,
        }],
        files: vec![
            FileSpec {
                key: "hellosvc.exe".into(),
                name: "hellosvc.exe".into(),
                dir: DirRef::install(),
                source: Source::Bytes(fake_exe(300_000)),
                version: Some(format!("{version}.0")),
                never_overwrite: false,
                permanent: false,
            },
            FileSpec {
                key: "LICENSE.txt".into(),
                name: "LICENSE.txt".into(),
                dir: DirRef::install_sub(["docs"]),
                source: Source::Bytes(b"MIT License\r\n".to_vec()),
                version: None,
                never_overwrite: false,
                permanent: false,
            },
            FileSpec {
                key: "config.json".into(),
                name: "config.json".into(),
                dir: DirRef::data("DATADIR"),
                source: Source::Bytes(b"{\n  \"listen_port\": 8080\n}\n".to_vec()),
                version: None,
                never_overwrite: true,
                permanent: true,
            },
        ],
        service: Some(ServiceSpec {
            name: "HelloSvc".into(),
            display_name: "Hello Service".into(),
            description: "Answers /healthz and /version over HTTP.".into(),
            account: ServiceAccount::LocalSystem,
            arguments: "--service".into(),
            start: StartType::Auto,
            error_control: ErrorControl::Normal,
            exe: "hellosvc.exe".into(),
            start_on_install: true,
            wait: true,
            dependencies: vec![],
        }),
        empty_dirs: Vec::new(),
        event_log_source: Some(EventLogSource {
            name: "HelloSvc".into(),
            file: "hellosvc.exe".into(),
            message_file: MessageFile::EventCreate,
        }),
        recovery: Some(Recovery {
            restart_delay_ms: 5000,
            reset_period_s: 86400,
            on_non_crash_failures: true,
        }),
        firewall_rules: vec![FirewallRule {
            name: "Hello Service (TCP 8080)".into(),
            protocol: Protocol::Tcp,
            ports: vec![8080],
            program: Some("hellosvc.exe".into()),
            profiles: vec![FirewallProfile::Domain, FirewallProfile::Private],
            abort_on_failure: true,
        }],
        properties: vec![PublicProperty {
            name: "LISTEN_PORT".into(),
            value: "8080".into(),
            kind: PropertyKind::Port,
            site_settable: true,
        }],
        commands: vec![ExeCommand {
            id: "SeedConfig".into(),
            file: "hellosvc.exe".into(),
            arguments: "--seed-config \"[DATADIR]config.json\" --set listen_port=[LISTEN_PORT]"
                .into(),
            when: CommandWhen::FirstInstall,
            ignore_exit_code: false,
        }],
        arp: Arp {
            no_modify: true,
            no_repair: false,
            help_link: Some("https://example.com/hellosvc".into()),
            about_link: Some("https://example.com/hellosvc".into()),
            contact: None,
            comments: None,
        },
        timestamp: 1_700_000_000,
        downgrade_property: None,
    }
}

/// A fresh temporary directory (removed on drop).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("msi-writer-test-")
        .tempdir()
        .unwrap()
}

/// Writes `pkg` into `dir` as `name` and returns the path.
pub fn build(pkg: &Package, dir: &Path, name: &str) -> (PathBuf, PackageReport) {
    let out = dir.join(name);
    let report = write_package(pkg, &out).unwrap_or_else(|e| panic!("write_package failed: {e}"));
    (out, report)
}
