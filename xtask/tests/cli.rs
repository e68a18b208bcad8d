//! `cargo xtask release` as a user runs it, on a throw-away copy of this repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn git(dir: &Path, args: &[&str]) {
    testkit::git(dir, args);
}

/// A fresh repository holding this workspace's files (tracked and untracked, not ignored).
fn copy_of_workspace() -> tempfile::TempDir {
    testkit::copy_of_repository(&workspace_root())
}

fn xtask(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(repo.join("Cargo.toml"))
        .args(args)
        .env_remove("CI")
        .env_remove("WINRELEASE_SECRET_KEY")
        .env_remove("WINRELEASE_PASSPHRASE")
        .output()
        .unwrap()
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
        }
    }
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn dry_run_writes_nothing_and_shows_the_plan() {
    let repo = copy_of_workspace();
    git(repo.path(), &["tag", "v1.2.3"]);
    let before = tree(repo.path());
    let out = xtask(repo.path(), &["release", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1.2.3 (MSI ProductVersion 1.2.1023)"),
        "{stdout}"
    );
    assert!(stdout.contains("hellosvc_1.2.3_x64.msi"), "{stdout}");
    assert!(stdout.contains("channel      stable"), "{stdout}");
    let plan = xtask(repo.path(), &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["plan"]["version"], "1.2.3");
    assert_eq!(before, tree(repo.path()), "a dry run changed the tree");
}

#[test]
fn release_json_summary_has_the_documented_shape() {
    let repo = copy_of_workspace();
    git(repo.path(), &["tag", "v2.0.1"]);
    let out = xtask(repo.path(), &["release", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["version"], "2.0.1");
    assert_eq!(summary["msi_version"], "2.0.511");
    assert_eq!(summary["channel"], "stable");
    assert_eq!(summary["snapshot"], false);
    assert_eq!(summary["development_key"], true);
    for field in [
        "commit",
        "manifest",
        "manifest_sha256",
        "expires",
        "key_id",
        "public_key",
        "version_dir",
    ] {
        assert!(summary[field].is_string(), "{field}: {summary}");
    }
    for field in ["product_code", "upgrade_code", "package_code"] {
        assert!(
            summary["msi"][field].as_str().unwrap().starts_with('{'),
            "{summary}"
        );
    }
    let artifacts = summary["artifacts"].as_array().unwrap();
    let kinds: Vec<&str> = artifacts
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    for kind in ["exe", "msi", "zip", "checksums", "transform"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    for a in artifacts {
        let path = PathBuf::from(a["path"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            a["size"].as_u64().unwrap()
        );
        assert_eq!(a["sha256"].as_str().unwrap().len(), 64);
        assert!(Path::new(a["signature"].as_str().unwrap()).is_file());
    }
    for stage in ["build", "msi", "gpo", "sign", "verify", "publish"] {
        assert!(summary["timings_ms"][stage].is_u64(), "{summary}");
    }
    // Its MSI lints clean; something that is not an MSI does not.
    let msi = artifacts.iter().find(|a| a["kind"] == "msi").unwrap()["path"]
        .as_str()
        .unwrap();
    let lint = xtask(repo.path(), &["lint-msi", msi]);
    assert!(lint.status.success(), "{}", text(&lint));
    assert!(
        text(&lint).contains("0 error(s), 0 warning(s)"),
        "{}",
        text(&lint)
    );
    let not_msi = xtask(
        repo.path(),
        &["lint-msi", repo.path().join("README.md").to_str().unwrap()],
    );
    assert!(!not_msi.status.success(), "{}", text(&not_msi));

    // And the release verifies with the public key the summary names.
    let verify = xtask(
        repo.path(),
        &[
            "verify",
            summary["version_dir"].as_str().unwrap(),
            "--pubkey",
            summary["public_key"].as_str().unwrap(),
        ],
    );
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn unsafe_releases_are_refused_with_the_fix() {
    let repo = copy_of_workspace();
    // Untagged.
    let out = xtask(repo.path(), &["release"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is not tagged") && text(&out).contains("--snapshot"),
        "{}",
        text(&out)
    );
    // Dirty, even when tagged.
    git(repo.path(), &["tag", "v1.0.0"]);
    std::fs::write(repo.path().join("service/extra.txt"), "x").unwrap();
    let out = xtask(repo.path(), &["release", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["ok"], false);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("uncommitted changes"),
        "{error}"
    );
    // A snapshot never goes to stable.
    let out = xtask(
        repo.path(),
        &["release", "--snapshot", "--channel", "stable", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("never goes to the stable channel"),
        "{}",
        text(&out)
    );
    // A commit so old that its manifest would already have expired.
    let old = copy_of_workspace();
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "old",
        ])
        .current_dir(old.path())
        .env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = xtask(old.path(), &["release", "--snapshot", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("manifest_expiry_days"),
        "{}",
        text(&out)
    );
    // In CI a missing key is an error, not the development key.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(repo.path().join("Cargo.toml"))
        .args(["release", "--snapshot", "--dry-run"])
        .env("CI", "true")
        .env_remove("WINRELEASE_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("WINRELEASE_SECRET_KEY"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_release_workflow_runs_the_readme_command() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    let ci = std::fs::read_to_string(root.join(".github/workflows/ci.yml")).unwrap();
    let ci_run = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    // The README's two set-up commands, in its first sh block.
    let block = readme
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo xtask release --snapshot", "cargo xtask test"],
        "{block}"
    );
    // The release workflow runs the same release command (a tag build: no --snapshot), given
    // the previous release it fetched (tests/workflows.rs runs it).
    assert!(
        workflow
            .lines()
            .any(|l| l.trim() == "run: cargo xtask release --previous target/winrelease/previous"),
        "{workflow}"
    );
    assert!(workflow.contains("fetch-depth: 0"));
    // CI runs .ci/run, which runs the README's test command.
    assert!(ci.lines().any(|l| l.trim() == "run: .ci/run"), "{ci}");
    assert!(
        ci_run.lines().any(|l| l.trim() == "cargo xtask test"),
        "{ci_run}"
    );
}

#[test]
fn a_clean_release_is_published_to_the_store_and_an_older_one_is_refused() {
    let repo = copy_of_workspace();
    git(repo.path(), &["tag", "v1.0.0"]);
    let out = xtask(repo.path(), &["release", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let published = summary["published"].as_str().expect("published path");
    assert!(
        Path::new(published).join("manifest.json").is_file(),
        "{published}"
    );
    let store = summary["store"].as_str().unwrap().to_string();
    assert!(Path::new(&store)
        .join("Hello Service/channels/stable.json")
        .is_file());

    // Releasing the same commit again is a no-op, not a conflict.
    let again = xtask(repo.path(), &["release"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already there with identical bytes"),
        "{}",
        text(&again)
    );

    // The next version is checked for Group Policy against the one in the store.
    std::fs::write(repo.path().join("service/NOTES.txt"), "1.0.1").unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "1.0.1"]);
    git(repo.path(), &["tag", "v1.0.1"]);
    let next = xtask(repo.path(), &["release"]);
    assert!(next.status.success(), "{}", text(&next));
    assert!(
        text(&next).contains("checked against hellosvc_1.0.0_x64.msi"),
        "{}",
        text(&next)
    );
    assert!(text(&next).contains("it upgrades:"), "{}", text(&next));

    // A later commit tagged with a lower version must not move stable backwards.
    std::fs::write(repo.path().join("service/NOTES.txt"), "later").unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "later"]);
    git(repo.path(), &["tag", "v0.9.0"]);
    let older = xtask(repo.path(), &["release"]);
    assert_eq!(older.status.code(), Some(2), "{}", text(&older));
    assert!(
        text(&older).contains("never moves a channel backwards"),
        "{}",
        text(&older)
    );
    assert!(
        !repo.path().join("target/winrelease/0.9.0").exists(),
        "refused before building anything"
    );
    assert!(
        text(&older).contains("0.9.0") && text(&older).contains("1.0.1"),
        "{}",
        text(&older)
    );

    assert!(
        !Path::new(&store).join("Hello Service/0.9.0").exists(),
        "a refused release must leave the store unchanged"
    );

    // The store as a whole still verifies.
    let verify = xtask(
        repo.path(),
        &[
            "verify-store",
            &store,
            "--pubkey",
            summary["public_key"].as_str().unwrap(),
        ],
    );
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn release_files_are_readable_by_every_account_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let repo = copy_of_workspace();
    git(repo.path(), &["tag", "v3.0.0"]);
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(repo.path().join("Cargo.toml"))
        .args(["release", "--json"])
        .env_remove("CI")
        .env_remove("WINRELEASE_SECRET_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for dir in [
        summary["version_dir"].as_str().unwrap(),
        summary["published"].as_str().unwrap(),
    ] {
        let dir = Path::new(dir);
        assert_eq!(mode(dir), 0o755, "{}", dir.display());
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o644, "{}", path.display());
        }
    }
}

#[test]
fn a_configured_certificate_authenticode_signs_the_exe_and_the_msi() {
    if testkit::require_tool("osslsigncode").is_none() || testkit::require_tool("openssl").is_none()
    {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = testkit::code_signing_certificate(certs.path(), Some("code-sign-pass"));

    let repo = copy_of_workspace();
    let mut manifest = std::fs::read_to_string(repo.path().join("Cargo.toml")).unwrap();
    manifest.push_str(&format!(
        "\n[workspace.metadata.winrelease.authenticode]\ncertificate = {:?}\nkey = {:?}\n",
        cert.to_str().unwrap(),
        key.to_str().unwrap()
    ));
    std::fs::write(repo.path().join("Cargo.toml"), manifest).unwrap();
    git(
        repo.path(),
        &["commit", "-q", "-am", "sign with a certificate"],
    );
    git(repo.path(), &["tag", "v4.0.0"]);
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--manifest-path")
        .arg(repo.path().join("Cargo.toml"))
        .args(["release", "--json"])
        .env_remove("CI")
        .env_remove("WINRELEASE_SECRET_KEY")
        .env("WINRELEASE_AUTHENTICODE_PASSPHRASE", "code-sign-pass")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("code-sign-pass"),
        "the passphrase leaked into the output"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for kind in ["exe", "msi"] {
        let artifact = summary["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap();
        let verified = Command::new("osslsigncode")
            .arg("verify")
            .arg("-CAfile")
            .arg(&cert)
            .arg("-in")
            .arg(artifact["path"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(verified.status.success(), "{kind}: {}", text(&verified));
    }
}
