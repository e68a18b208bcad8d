mod common;
use common::*;
use msi_writer::*;

#[test]
fn smoke() {
    let cmd = std::fs::read("/tmp/wineprefix-msi/drive_c/windows/system32/cmd.exe").unwrap();
    let mut pkg = hello_package(ProductVersion(1, 0, 0));
    pkg.files[0] = FileSpec {
        key: "cmd.exe".into(),
        name: "cmd.exe".into(),
        dir: DirRef::install(),
        source: Source::Bytes(cmd),
        version: None,
        never_overwrite: false,
        permanent: false,
    };
    let svc = pkg.service.as_mut().unwrap();
    svc.exe = "cmd.exe".into();
    svc.start_on_install = false;
    pkg.event_log_source.as_mut().unwrap().file = "cmd.exe".into();
    pkg.firewall_rules[0].program = Some("cmd.exe".into());
    pkg.commands[0].file = "cmd.exe".into();
    pkg.commands[0].arguments = "/c echo port=[LISTEN_PORT] data=[DATADIR]> \"[DATADIR]seeded.txt\"".into();
    write_package(&pkg, std::path::Path::new("/tmp/svc-1.0.0.msi")).unwrap();
    for f in lint(std::path::Path::new("/tmp/svc-1.0.0.msi")).unwrap() {
        eprintln!("{f}");
    }
}
