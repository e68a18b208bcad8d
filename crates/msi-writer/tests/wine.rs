//! Smoke test with a real Windows Installer engine: Wine's msiexec installs, upgrades, refuses a
//! downgrade and uninstalls our package, running the custom actions with the expected command
//! lines. The payload "service" is a copy of Wine's own cmd.exe, registered but not started (the
//! full service lifecycle with the real Go service is the end-to-end suite's job).
//!
//! Opt-in because it takes ~20 s: `MSI_WRITER_WINE=1 cargo test -p msi-writer --test wine`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use msi_writer::*;

struct Prefix {
    dir: tempfile::TempDir,
}

impl Prefix {
    fn path(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    fn command(&self, program: &str, debug: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("WINEPREFIX", self.path())
            .env("WINEARCH", "win64")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("WINEDEBUG", debug);
        command
    }

    fn wine(&self, args: &[&str]) -> Output {
        self.command("wine", "-all,fixme+netsh,fixme+service")
            .args(args)
            .output()
            .unwrap()
    }

    fn msiexec(&self, args: &[&str], log: &Path) -> (i32, String) {
        let mut all: Vec<String> = vec!["msiexec".into()];
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(["/qn".into(), "/l*v".into(), windows_path(log)]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let output = self.wine(&refs);
        let _ = self.command("wineserver", "-all").arg("-w").status();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn reg_query(&self, key: &str) -> Option<String> {
        let output = self
            .command("wine", "-all")
            .args(["reg", "query", key])
            .output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).replace('\r', ""))
    }

    fn drive_c(&self, path: &str) -> PathBuf {
        self.path().join("drive_c").join(path)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = self.command("wineserver", "-all").arg("-k").status();
    }
}

fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn package(version: ProductVersion, cmd_exe: &[u8]) -> Package {
    let mut pkg = hello_package(version);
    pkg.files[0] = FileSpec {
        key: "cmd.exe".into(),
        name: "cmd.exe".into(),
        dir: DirRef::install(),
        source: Source::Bytes(cmd_exe.to_vec()),
        version: None,
        never_overwrite: false,
        permanent: false,
    };
    pkg.files[1].source = Source::Bytes(format!("license of {version}\r\n").into_bytes());
    let service = pkg.service.as_mut().unwrap();
    service.exe = "cmd.exe".into();
    service.start_on_install = false;
    pkg.event_log_source.as_mut().unwrap().file = "cmd.exe".into();
    pkg.firewall_rules[0].program = Some("cmd.exe".into());
    pkg.commands[0].file = "cmd.exe".into();
    pkg.commands[0].arguments =
        "/c echo port=[LISTEN_PORT] data=[DATADIR]> \"[DATADIR]seeded.txt\"".into();
    pkg
}

#[test]
fn wine_installs_upgrades_refuses_downgrade_and_uninstalls() {
    if std::env::var("MSI_WRITER_WINE").as_deref() != Ok("1") {
        eprintln!(
            "skipping Wine smoke test (set MSI_WRITER_WINE=1 to run it; needs Debian's wine64)"
        );
        return;
    }
    if !require_tool("wine") || !require_tool("wineserver") {
        return;
    }
    let prefix = Prefix { dir: temp_dir() };
    let boot = prefix
        .command("wine", "-all")
        .args(["wineboot", "-i"])
        .output()
        .unwrap();
    assert!(
        boot.status.success(),
        "{}",
        String::from_utf8_lossy(&boot.stderr)
    );
    let _ = prefix.command("wineserver", "-all").arg("-w").status();

    let cmd_exe = std::fs::read(prefix.drive_c("windows/system32/cmd.exe")).unwrap();
    let work = prefix.dir.path();
    let (v1, r1) = build(
        &package(ProductVersion(1, 0, 0), &cmd_exe),
        work,
        "hello_1.0.0_x64.msi",
    );
    let (v2, r2) = build(
        &package(ProductVersion(2, 0, 0), &cmd_exe),
        work,
        "hello_2.0.0_x64.msi",
    );
    let uninstall_key = |code: &Guid| {
        format!("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{code}")
    };
    let service_key = "HKLM\\System\\CurrentControlSet\\Services\\HelloSvc";

    // 1. Fresh install with a property on the command line.
    let (code, fixme) = prefix.msiexec(
        &["/i", &windows_path(&v1), "LISTEN_PORT=9090"],
        &work.join("install.log"),
    );
    assert_eq!(code, 0, "install failed:\n{fixme}");
    assert!(prefix
        .drive_c("Program Files/Hello Service/cmd.exe")
        .is_file());
    assert!(prefix
        .drive_c("Program Files/Hello Service/docs/LICENSE.txt")
        .is_file());
    let config = prefix.drive_c("ProgramData/Hello Service/config.json");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "{\n  \"listen_port\": 8080\n}\n"
    );
    let seeded = prefix.drive_c("ProgramData/Hello Service/seeded.txt");
    assert_eq!(
        std::fs::read_to_string(&seeded).unwrap().trim_end(),
        "port=9090 data=C:\\ProgramData\\Hello Service\\",
        "first-install command got the formatted arguments"
    );
    let service = prefix.reg_query(service_key).expect("service registered");
    for expected in [
        "DisplayName    REG_SZ    Hello Service",
        "ImagePath    REG_SZ    C:\\Program Files\\Hello Service\\cmd.exe --service",
        "ObjectName    REG_SZ    LocalSystem",
        "Start    REG_DWORD    0x2",
        "Type    REG_DWORD    0x10",
        "ErrorControl    REG_DWORD    0x1",
    ] {
        assert!(service.contains(expected), "{expected:?} in\n{service}");
    }
    let event_log = prefix
        .reg_query("HKLM\\System\\CurrentControlSet\\Services\\EventLog\\Application\\HelloSvc")
        .expect("event log source");
    assert!(
        event_log.contains(
            "EventMessageFile    REG_EXPAND_SZ    %SystemRoot%\\System32\\EventCreate.exe"
        ),
        "{event_log}"
    );
    assert!(
        event_log.contains("TypesSupported    REG_DWORD    0x7"),
        "{event_log}"
    );
    // The deferred custom actions reached sc.exe and netsh.exe (stubs in Wine that log their input).
    assert!(
        fixme.contains("SERVICE_CONFIG_FAILURE_ACTIONS not implemented: period 86400"),
        "{fixme}"
    );
    assert!(
        fixme.contains(
            r#"L"add" L"rule" L"name=Hello Service (TCP 8080)" L"dir=in" L"action=allow" L"protocol=TCP" L"localport=8080" L"program=C:\\Program Files\\Hello Service\\cmd.exe" L"profile=domain,private" L"enable=yes""#
        ),
        "{fixme}"
    );
    let arp = prefix
        .reg_query(&uninstall_key(&r1.product_code))
        .expect("ARP entry");
    assert!(arp.contains("DisplayVersion    REG_SZ    1.0.0"), "{arp}");
    assert!(arp.contains("Publisher    REG_SZ    Example Corp"), "{arp}");
    assert!(
        arp.contains("InstallLocation    REG_SZ    C:\\Program Files\\Hello Service\\"),
        "{arp}"
    );

    // 2. Major upgrade: the edited config survives, the first-install command does not run again.
    std::fs::write(&config, "{\"listen_port\": 7000}\n").unwrap();
    std::fs::remove_file(&seeded).unwrap();
    let (code, fixme) = prefix.msiexec(&["/i", &windows_path(&v2)], &work.join("upgrade.log"));
    assert_eq!(code, 0, "upgrade failed:\n{fixme}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "{\"listen_port\": 7000}\n"
    );
    assert!(!seeded.exists(), "the seed command ran on an upgrade");
    assert_eq!(
        std::fs::read_to_string(prefix.drive_c("Program Files/Hello Service/docs/LICENSE.txt"))
            .unwrap(),
        "license of 2.0.0\r\n"
    );
    assert!(
        prefix.reg_query(&uninstall_key(&r1.product_code)).is_none(),
        "old ARP entry left behind"
    );
    assert!(prefix.reg_query(&uninstall_key(&r2.product_code)).is_some());
    let deletes = fixme
        .matches(r#"L"delete" L"rule" L"name=Hello Service (TCP 8080)""#)
        .count();
    assert!(
        deletes >= 2,
        "old product's removal and the new stale-rule cleanup both delete:\n{fixme}"
    );

    // Same version again. Identical package: maintenance mode, nothing to do, success.
    let (code, fixme) = prefix.msiexec(&["/i", &windows_path(&v2)], &work.join("same.log"));
    assert_eq!(code, 0, "reinstalling the identical package:\n{fixme}");
    assert!(prefix.reg_query(&uninstall_key(&r2.product_code)).is_some());
    // A rebuild of the same version with other content has the same ProductCode and another
    // PackageCode: Windows refuses it with 1638 ("another version of this product is already
    // installed"); Wine 8 runs it as maintenance and returns 0. Either way one product stays.
    let mut rebuilt = package(ProductVersion(2, 0, 0), &cmd_exe);
    rebuilt.timestamp += 2;
    let (v2b, r2b) = build(&rebuilt, work, "hello_2.0.0_rebuilt.msi");
    assert_eq!(r2b.product_code, r2.product_code);
    assert_ne!(r2b.package_code, r2.package_code);
    let (code, _) = prefix.msiexec(&["/i", &windows_path(&v2b)], &work.join("same-rebuilt.log"));
    assert!(
        code == 0 || code == 1638 & 0xFF,
        "unexpected exit code {code}"
    );
    assert!(prefix.reg_query(&uninstall_key(&r2.product_code)).is_some());
    assert!(prefix.reg_query(&uninstall_key(&r1.product_code)).is_none());

    // 3. Downgrade: refused with 1603 (Wine truncates exit codes to 8 bits: 67), v2 stays.
    let log = work.join("downgrade.log");
    let (code, _) = prefix.msiexec(&["/i", &windows_path(&v1)], &log);
    assert_eq!(code, 1603 & 0xFF, "downgrade must be refused");
    let log_text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(
        log_text.contains("NEWERVERSION = 2.0.0"),
        "newer version found for the message"
    );
    assert!(prefix.reg_query(&uninstall_key(&r2.product_code)).is_some());
    assert!(prefix.reg_query(&uninstall_key(&r1.product_code)).is_none());

    // 4. Uninstall: everything but the config goes.
    let (code, fixme) = prefix.msiexec(&["/x", &windows_path(&v2)], &work.join("uninstall.log"));
    assert_eq!(code, 0, "uninstall failed:\n{fixme}");
    assert!(
        !prefix.drive_c("Program Files/Hello Service").exists(),
        "install dir left behind"
    );
    assert!(
        prefix.reg_query(service_key).is_none(),
        "service left behind"
    );
    assert!(prefix
        .reg_query("HKLM\\System\\CurrentControlSet\\Services\\EventLog\\Application\\HelloSvc")
        .is_none());
    assert!(prefix.reg_query(&uninstall_key(&r2.product_code)).is_none());
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "{\"listen_port\": 7000}\n",
        "config is permanent"
    );
    assert!(
        fixme.contains(r#"L"delete" L"rule" L"name=Hello Service (TCP 8080)""#),
        "{fixme}"
    );
}
