//! Builds a one-service package around an executable and prints how long it took, to compare
//! with other MSI tools on the same input:
//!
//! `cargo run --release -p msi-writer --example build_msi -- path/to/service.exe out.msi`

use std::path::PathBuf;
use std::time::Instant;

use msi_writer::*;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(exe), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: build_msi SERVICE.EXE OUT.MSI");
        std::process::exit(2);
    };
    let exe = PathBuf::from(exe);
    let upgrade_code = Guid::parse("upgrade_code", "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11").unwrap();
    let version = ProductVersion(1, 0, 0);
    let pkg = Package {
        product: Product {
            name: "Hello Service".into(),
            manufacturer: "Example Corp".into(),
            version,
            product_code: Guid::product_code_for(&upgrade_code, version),
            upgrade_code,
            language: 1033,
            description: "Benchmark package".into(),
        },
        install_dir: InstallDir {
            under: KnownFolder::ProgramFiles64,
            path: vec!["Hello Service".into()],
            property: "INSTALLDIR".into(),
        },
        data_dirs: vec![],
        files: vec![FileSpec {
            key: "hellosvc.exe".into(),
            name: "hellosvc.exe".into(),
            dir: DirRef::install(),
            source: Source::Path(exe),
            version: Some("1.0.0.0".into()),
            never_overwrite: false,
            permanent: false,
        }],
        service: Some(ServiceSpec {
            name: "HelloSvc".into(),
            display_name: "Hello Service".into(),
            description: "Benchmark service".into(),
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
        event_log_source: None,
        recovery: None,
        firewall_rules: vec![],
        properties: vec![],
        commands: vec![],
        arp: Arp::default(),
        downgrade_property: None,
        timestamp: 1_700_000_000,
    };
    let start = Instant::now();
    match write_package(&pkg, &PathBuf::from(out)) {
        Ok(report) => println!(
            "{:.3} s: {} bytes MSI ({} bytes cabinet) from {} bytes of payload",
            start.elapsed().as_secs_f64(),
            report.msi_bytes,
            report.cabinet_bytes,
            report.payload_bytes
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
