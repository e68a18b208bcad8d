//! The portable zip: sorted, dated by the commit, reproducible; a bad template fails the stage.

use super::*;

#[test]
fn zip_is_sorted_dated_by_the_commit_and_reproducible() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("hellosvc_1.0.0_windows_amd64.exe");
    fs::write(&exe, fake_exe("1.0.0")).unwrap();
    let license = work.path().join("LICENSE");
    fs::write(&license, "MIT License\n").unwrap();
    let stamp = stamp("1.0.0", COMMIT_TIME);
    let values = [("listen_port".to_string(), "9123".to_string())].into();
    let config = service_config::render_default_config(&config_template(), &values).unwrap();
    let zip_request = ZipRequest {
        exes: vec![(EXE_NAME, &exe)],
        product: PRODUCT,
        stamp: &stamp,
        config: Some(&config),
        payload: &Default::default(),
        license: Some(&license),
    };
    let first = work.path().join("a").join("out.zip");
    let second = work.path().join("b").join("out.zip");
    let written = portable_zip::write_zip(&zip_request, &first).unwrap();
    portable_zip::write_zip(&zip_request, &second).unwrap();
    let bytes = fs::read(&first).unwrap();
    assert_eq!(bytes, fs::read(&second).unwrap(), "two runs differ");
    assert_eq!(written.digest.sha256, Sha256Digest::of(&bytes));
    assert_eq!(written.digest.size, bytes.len() as u64);
    let names = ["LICENSE.txt", "README.txt", "config.json", "hellosvc.exe"];
    assert_eq!(written.entries, names);
    assert_eq!(
        fs::read_dir(work.path().join("a")).unwrap().count(),
        1,
        "no temporary file left"
    );
    entries_are_dated_deflated_and_hold_the_inputs(&first, &names, &stamp);
    stock_listers_see_the_same_entries(&first, &names);
}

/// Each entry of the zip at `path`, in order `names`: deflated, dated by the commit, mode 0644
/// (0755 for the exe), with the exe, license, rendered config and README.
fn entries_are_dated_deflated_and_hold_the_inputs(path: &Path, names: &[&str], stamp: &Stamp) {
    let mut archive = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    assert_eq!(archive.len(), 4);
    for (i, name) in names.iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.name().unwrap(), *name);
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let t = entry.last_modified().unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 3, 4, 5, 6, 6), // DOS times have two-second resolution
            "{name}"
        );
        let mode = entry.unix_mode().unwrap() & 0o777;
        assert_eq!(
            mode,
            if *name == "hellosvc.exe" {
                0o755
            } else {
                0o644
            },
            "{name}"
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        match *name {
            "hellosvc.exe" => assert_eq!(content, fake_exe("1.0.0")),
            "LICENSE.txt" => assert_eq!(content, b"MIT License\n"),
            "config.json" => {
                let config: serde_json::Value = serde_json::from_slice(&content).unwrap();
                assert_eq!(config["listen_port"], 9123);
            }
            _ => {
                let readme = String::from_utf8(content).unwrap();
                assert!(
                    readme.starts_with("Hello Service 1.0.0 (portable)\r\n"),
                    "{readme}"
                );
                assert!(
                    readme.contains("hellosvc.exe --config \"%CD%\\config.json\""),
                    "{readme}"
                );
                assert!(readme.contains(&stamp.commit));
            }
        }
    }
}

/// `unzip -l`/`-t` and `python3 -m zipfile -l` list `names` and the commit time.
fn stock_listers_see_the_same_entries(first: &Path, names: &[&str]) {
    if let Some(unzip) = require_tool("unzip") {
        let out = Command::new(unzip).arg("-l").arg(first).output().unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{listing}");
        for name in names {
            assert!(listing.contains(name), "{listing}");
        }
        assert!(
            listing.contains("2026-03-04 05:06") || listing.contains("03-04-2026 05:06"),
            "{listing}"
        );
        let test = Command::new("unzip").arg("-t").arg(first).output().unwrap();
        assert!(
            test.status.success(),
            "{}",
            String::from_utf8_lossy(&test.stdout)
        );
    }
    if let Some(python) = require_tool("python3") {
        let out = Command::new(python)
            .args(["-m", "zipfile", "-l"])
            .arg(first)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{listing} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<&str> = listing
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(listed, names, "{listing}");
    }
}

#[test]
fn bad_config_template_fails_the_stage_and_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("config.json");
    fs::write(&template, "{\n  \"port\": {{listen_prot}}\n}\n").unwrap();
    let req = request(
        root.path(),
        "1.0.0",
        &ReleaseOptions {
            zip: false,
            ..Default::default()
        },
    );
    let err = make_zip(&req, &template, None).unwrap_err().to_string();
    assert!(err.contains(&template.display().to_string()), "{err}");
    assert!(err.contains("unknown placeholder {{listen_prot}}"), "{err}");
    assert!(err.contains("{{listen_port}}"), "{err}");
    let left: Vec<_> = fs::read_dir(release_dir(root.path(), "1.0.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "only the exe and the MSI remain: {left:?}");
}
