//! End-to-end proof of the release in a real Windows Installer engine and service control
//! manager: Wine 8.0 (`wine64`), in a fresh throw-away prefix.
//!
//! Run: `cargo test --release -p winrelease --test wine -- --nocapture`.
//! Without Wine the test skips with one line saying how to install it; under `CI=true` it fails.
//! Scenarios share one prefix and run in order (each builds on the state the previous one left);
//! each prints a timing line, and a table closes the run.

mod wine_support;

use std::time::Duration;

use wine_support::fixture::{Fixture, Release};
use wine_support::prefix::{Prefix, SERVICE_RUNNING};
use wine_support::report::Report;
use wine_support::{free_port, http, require_wine, KeptOnFailure};

const TEST: &str = "wine_end_to_end";

#[test]
fn wine_end_to_end() {
    if !require_wine(TEST) {
        return;
    }
    let logs = KeptOnFailure::new(TEST);
    let mut report = Report::new();

    let mut fixture = Fixture::new();
    let v1 = fixture.release("v1.0.0");

    let mut prefix = Prefix::create(logs.path());

    report.scenario(
        "0 harness: the built exe under Wine's service manager",
        || harness_probe(&mut prefix, &v1),
    );

    report.print_table();
}

/// Proves the harness before any MSI is involved: the pipeline's exe, copied into the prefix and
/// registered by hand with `sc`, starts under the service manager (so the ProcessPrng shim and
/// the `--service` argument work), answers HTTP on 127.0.0.1, and stops.
fn harness_probe(prefix: &mut Prefix, release: &Release) {
    const NAME: &str = "HelloSvcProbe";
    let port = free_port();
    let dir = "C:\\hellosvc-probe";
    let exe = format!("{dir}\\hellosvc.exe");
    let config = format!("{dir}\\config.json");
    std::fs::create_dir_all(prefix.c_path(dir)).unwrap();
    std::fs::copy(&release.exe.path, prefix.c_path(&exe)).unwrap();
    std::fs::write(
        prefix.c_path(&config),
        format!(r#"{{"listen_port": {port}, "site_name": "probe"}}"#),
    )
    .unwrap();

    let bin_path = format!("\"{exe}\" --service --name {NAME} --config \"{config}\"");
    let create = prefix.wine(&[
        "sc", "create", NAME, "binPath=", &bin_path, "start=", "demand",
    ]);
    assert!(create.success(), "sc create: {create:?}");
    let start = prefix.wine(&["sc", "start", NAME]);
    assert!(start.success(), "sc start: {start:?}");

    let running = prefix.wait_service_state(NAME, SERVICE_RUNNING, Duration::from_secs(20));
    assert_eq!(running.state_name, "RUNNING");
    let health = http::get_ok(port, "/healthz", Duration::from_secs(10)).unwrap();
    assert_eq!(health.body.trim(), "ok");
    let version = http::get_ok(port, "/version", Duration::from_secs(5))
        .unwrap()
        .json();
    assert_eq!(version["version"], release.version().as_str());
    assert_eq!(version["commit"], release.versioned.stamp.commit.as_str());
    assert_eq!(version["dirty"], false);
    let config_seen = http::get_ok(port, "/config", Duration::from_secs(5))
        .unwrap()
        .json();
    assert_eq!(config_seen["listen_port"], port);
    assert_eq!(config_seen["site_name"], "probe");

    let stop = prefix.wine(&["sc", "stop", NAME]);
    assert!(stop.success(), "sc stop: {stop:?}");
    prefix.wait_service_state(
        NAME,
        wine_support::prefix::SERVICE_STOPPED,
        Duration::from_secs(30),
    );
    http::wait_closed(port, Duration::from_secs(10)).unwrap();
    let delete = prefix.wine(&["sc", "delete", NAME]);
    assert!(delete.success(), "sc delete: {delete:?}");
    assert_eq!(
        prefix.service_status(NAME),
        None,
        "{NAME} still exists after sc delete"
    );
    std::fs::remove_dir_all(prefix.c_path(dir)).unwrap();
}
