//! Site transforms of the real example service's MSI (built by the pipeline from a temporary
//! repository): what the release stage writes and checks, and, under Wine, an install with
//! `TRANSFORMS=site.mst` whose seeded config carries the site's values, kept by an upgrade that
//! does not name the transform.
//!
//! Run: `cargo test --release -p winrelease --test transform -- --nocapture`. Without Wine the
//! Wine test skips with one line; under `CI=true` it fails instead.

mod wine_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use msi_writer::transform::{apply, property_changes, read_table, TransformFile};
use wine_support::fixture::Fixture;
use wine_support::prefix::{win_path, Prefix};
use wine_support::{free_port, http, require_wine, KeptOnFailure};
use winrelease::site_transform::{
    self, GpoStatus, SettingValue, SiteConfig, SiteScope, SiteTransformError, TransformScope,
};

fn site(name: &str, settings: &[(&str, SettingValue)], scope: SiteScope) -> SiteConfig {
    SiteConfig {
        name: name.into(),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        scope,
    }
}

fn text(value: &str) -> SettingValue {
    SettingValue::Text(value.into())
}

/// `Property` table of an MSI as name → value.
fn properties(msi: &Path) -> BTreeMap<String, String> {
    use msi_writer::transform::Value;
    read_table(msi, "Property")
        .unwrap()
        .unwrap()
        .rows
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Str(k), Value::Str(v)) => (k.clone(), v.clone()),
            other => panic!("Property row {other:?}"),
        })
        .collect()
}

#[test]
fn the_release_stage_writes_checked_site_transforms() {
    let mut fixture = Fixture::new();
    let v1 = fixture.release("v1.0.0");
    let msi = fixture.package(&v1);
    let sites = [
        site(
            "berlin",
            &[
                ("LISTEN_PORT", SettingValue::Integer(9090)),
                ("SITE_NAME", text("Berlin Süd")),
            ],
            SiteScope::ThisPackage,
        ),
        site(
            "lab",
            &[("SITE_NAME", text("lab"))],
            SiteScope::ThisAndLaterVersions,
        ),
    ];
    let out = tempfile::tempdir().unwrap();
    let stage = site_transform::release_stage(&msi.path, &sites, None, out.path()).unwrap();
    println!("{}", stage.report);
    assert!(stage.report.is_ready());
    let names: Vec<String> = stage
        .transforms
        .iter()
        .map(|t| t.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "hellosvc_1.0.0_x64_berlin.mst",
            "hellosvc_1.0.0_x64_lab.mst"
        ]
    );
    let transform_lines: Vec<_> = stage
        .report
        .checks
        .iter()
        .filter(|c| c.id == "transform")
        .collect();
    assert_eq!(transform_lines.len(), 2);
    assert!(transform_lines.iter().all(|c| c.status == GpoStatus::Pass));

    // Read back: each transform changes its site's properties and nothing else.
    let before = properties(&msi.path);
    assert_eq!(before["LISTEN_PORT"], "8080");
    assert_eq!(before["SITE_NAME"], "default");
    for (built, expected) in stage.transforms.iter().zip([
        vec![("LISTEN_PORT", "9090"), ("SITE_NAME", "Berlin Süd")],
        vec![("SITE_NAME", "lab")],
    ]) {
        assert_eq!(
            std::fs::metadata(&built.path).unwrap().len(),
            built.size,
            "{}",
            built.path.display()
        );
        let applied = apply(&msi.path, &TransformFile::read(&built.path).unwrap()).unwrap();
        assert!(applied.is_clean(), "{:?}", applied.problems);
        let changed = property_changes(&applied);
        let expected: BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(changed, expected);
        let mut after_expected = before.clone();
        after_expected.extend(expected);
        let after: BTreeMap<String, String> = applied.tables["Property"]
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].to_string().trim_matches('"').to_string(),
                    match &r[1] {
                        msi_writer::transform::Value::Str(s) => s.clone(),
                        other => other.to_string(),
                    },
                )
            })
            .collect();
        assert_eq!(after, after_expected);
    }

    // Deterministic: the same MSI and sites give the same bytes.
    let again = tempfile::tempdir().unwrap();
    let second = site_transform::build_site_transforms(&msi.path, &sites, again.path()).unwrap();
    for (a, b) in stage.transforms.iter().zip(&second) {
        assert_eq!(
            std::fs::read(&a.path).unwrap(),
            std::fs::read(&b.path).unwrap()
        );
    }

    // A bad site stops the stage before anything is written.
    let bad = [
        sites[0].clone(),
        site(
            "oops",
            &[("LISTEN_PORT", SettingValue::Integer(0))],
            SiteScope::ThisPackage,
        ),
    ];
    let empty = tempfile::tempdir().unwrap();
    let err = site_transform::release_stage(&msi.path, &bad, None, empty.path()).unwrap_err();
    assert!(matches!(err, SiteTransformError::Site { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("site \"oops\""), "{message}");
    assert!(message.contains("LISTEN_PORT=\"0\""), "{message}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    let unknown = [site("x", &[("ADMIN", text("1"))], SiteScope::ThisPackage)];
    let message = site_transform::release_stage(&msi.path, &unknown, None, empty.path())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("\"ADMIN\" is not a site setting"),
        "{message}"
    );
    assert!(message.contains("LISTEN_PORT (port"), "{message}");
}

const WINE_TEST: &str = "wine_site_transform";

/// How long the service may take to answer after an install or upgrade.
const SERVICE_UP: Duration = Duration::from_secs(30);

#[test]
fn wine_installs_with_a_site_transform_and_upgrades_keep_the_values() {
    if !require_wine(WINE_TEST) {
        return;
    }
    let started = Instant::now();
    let logs = KeptOnFailure::new(WINE_TEST);
    let mut fixture = Fixture::new();
    let v1 = fixture.release("v1.0.0");
    fixture.commit("v2", |_| {});
    let v2 = fixture.release("v2.0.0");
    let msi1 = fixture.package(&v1);
    let msi2 = fixture.package(&v2);
    let config = fixture.project.config.clone();

    let port = free_port();
    let work = tempfile::tempdir().unwrap();
    let mst = work.path().join("site.mst");
    let made = site_transform::write_transform(
        &msi1.path,
        &[
            ("LISTEN_PORT".to_string(), port.to_string()),
            ("SITE_NAME".to_string(), "wine-site".to_string()),
        ],
        TransformScope::ThisPackage,
        &mst,
    )
    .unwrap();
    assert_eq!(made.changes.len(), 2);
    // The release the admin upgrades to is Group Policy ready against v1.
    let report = site_transform::gpo_check(&msi2.path, &[], Some(&msi1.path)).unwrap();
    println!("{report}");
    assert!(report.is_ready(), "{report}");
    let built = started.elapsed();

    let mut prefix = Prefix::create(logs.path());
    let config_file = format!(r"C:\ProgramData\{}\config.json", config.product);

    // Assign-like install: silent, no properties on the command line, only the transform.
    let transforms = format!("TRANSFORMS={}", win_path(&mst));
    let run = prefix.msiexec(
        &["/i", &win_path(&msi1.path), &transforms],
        "1-install-site",
    );
    run.assert_exit(0);
    let seeded = std::fs::read(prefix.c_path(&config_file))
        .unwrap_or_else(|e| panic!("{config_file} after the install: {e}"));
    let on_disk: serde_json::Value = serde_json::from_slice(&seeded).unwrap();
    assert_eq!(on_disk["listen_port"], port, "{on_disk}");
    assert_eq!(on_disk["site_name"], "wine-site", "{on_disk}");
    let effective = http::get_ok(port, "/config", SERVICE_UP).unwrap().json();
    assert_eq!(effective["listen_port"], port, "{effective}");
    assert_eq!(effective["site_name"], "wine-site", "{effective}");
    let version = http::get_ok(port, "/version", SERVICE_UP).unwrap().json();
    assert_eq!(version["version"], v1.version().as_str(), "{version}");

    // Major upgrade to v2 without naming the transform: the seed does not run again and the
    // config (never overwritten) keeps the site's values.
    let run = prefix.msiexec(&["/i", &win_path(&msi2.path)], "2-upgrade-no-transform");
    run.assert_exit(0);
    assert!(
        !run.run
            .processes()
            .iter()
            .any(|p| p.contains(config.seed_flag.as_deref().unwrap_or("--seed-config"))),
        "the upgrade ran the seed action again: {:#?}",
        run.run.processes()
    );
    assert_eq!(
        std::fs::read(prefix.c_path(&config_file)).unwrap(),
        seeded,
        "the upgrade changed {config_file}"
    );
    let version = http::get_ok(port, "/version", SERVICE_UP).unwrap().json();
    assert_eq!(version["version"], v2.version().as_str(), "{version}");
    let effective = http::get_ok(port, "/config", SERVICE_UP).unwrap().json();
    assert_eq!(effective["site_name"], "wine-site", "{effective}");
    println!(
        "wine site transform: builds {:.1} s, total {:.1} s",
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
