//! The GitHub workflows, read as GitHub reads them and run as fresh runners would (their
//! commands, not GitHub itself: see `workflow_support`): CI runs the one local recipe, and a
//! release reads the previous release from a store that outlives the runner (S3), or from the
//! previous GitHub Release when no store is configured.

mod workflow_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use workflow_support::*;
use yaml_rust2::Yaml;

fn run_lines(workflow: &Yaml, job: &str) -> Vec<String> {
    steps(workflow, job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .map(|s| s.trim().to_string())
        .collect()
}

fn step_index(workflow: &Yaml, job: &str, needle: &str) -> usize {
    steps(workflow, job)
        .iter()
        .position(|s| s["run"].as_str().is_some_and(|r| r.contains(needle)))
        .unwrap_or_else(|| panic!("job {job} has no step running {needle:?}"))
}

#[test]
fn ci_runs_the_local_ci_recipe_with_caches() {
    let root = workspace_root();
    let ci = workflow(&root, "ci.yml");
    let jobs = ci["jobs"].as_hash().unwrap();
    assert_eq!(jobs.len(), 1, "one CI job: the recipe");
    assert_eq!(ci["jobs"]["test"]["runs-on"].as_str(), Some("ubuntu-24.04"));
    // The only command is .ci/run: GitHub and a local CI run are the same recipe.
    assert_eq!(run_lines(&ci, "test"), [".ci/run"]);
    let uses: Vec<&str> = steps(&ci, "test")
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(
        uses.iter().any(|u| u.starts_with("Swatinem/rust-cache@")),
        "{uses:?}"
    );
    let go = steps(&ci, "test")
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/setup-go@"))
        })
        .expect("setup-go");
    assert!(
        go["with"]["cache-dependency-path"]
            .as_str()
            .is_some_and(|p| p.contains("go.sum")),
        "the Go cache is keyed on go.sum"
    );
    // What the recipe must do for the suites to pass under CI=true.
    let recipe = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    for needed in [
        "github.com/rhysd/actionlint/cmd/actionlint@",
        ".ci/s3-server start",
        "cargo xtask test",
        "sudo",
    ] {
        assert!(recipe.contains(needed), ".ci/run lacks {needed:?}");
    }
}

#[test]
fn the_release_workflow_reads_the_store_from_settings_and_keeps_secrets_apart() {
    let release = workflow(&workspace_root(), "release.yml");
    let env = mapping(&release["jobs"]["release"]["env"]);
    assert_eq!(env["WINRELEASE_STORE"], "${{ vars.WINRELEASE_STORE }}");
    for (name, expr) in [
        ("AWS_ACCESS_KEY_ID", "secrets.WINRELEASE_S3_ACCESS_KEY_ID"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "secrets.WINRELEASE_S3_SECRET_ACCESS_KEY",
        ),
        ("AWS_ENDPOINT_URL", "vars.WINRELEASE_S3_ENDPOINT"),
        ("AWS_REGION", "vars.WINRELEASE_S3_REGION"),
    ] {
        assert_eq!(env[name], format!("${{{{ {expr} }}}}"), "{name}");
    }
    // The previous release is fetched before the release is built.
    let fetch = step_index(&release, "release", "cargo xtask fetch-previous");
    let build = step_index(&release, "release", "cargo xtask release");
    assert!(fetch < build);
    let lines = run_lines(&release, "release");
    assert!(
        lines
            .iter()
            .any(|l| l == "cargo xtask release --previous target/winrelease/previous"),
        "{lines:?}"
    );
    // Least privilege: the job with the signing key and the store credentials cannot write
    // the repository; the job that can sees neither.
    let permissions = |job: &str| mapping(&release["jobs"][job]["permissions"]);
    assert_eq!(permissions("release")["contents"], "read");
    assert_eq!(permissions("github-release")["contents"], "write");
    let text =
        std::fs::read_to_string(workspace_root().join(".github/workflows/release.yml")).unwrap();
    let upload_job = text.split("\n  github-release:").nth(1).unwrap();
    assert!(!upload_job.contains("secrets."), "{upload_job}");
    // What goes to the GitHub Release is the release folder that was published.
    let collect = lines
        .iter()
        .find(|l| l.contains("target/github-release"))
        .unwrap();
    assert!(
        collect.contains(r#"cp -p target/winrelease/"${TAG#v}"/* target/github-release/"#),
        "{collect}"
    );
}

/// A signing key pair made once, as the repository's secrets hold it.
struct Secrets {
    secret_key_base64: String,
    passphrase: &'static str,
    _dir: tempfile::TempDir,
}

fn signing_secrets() -> Secrets {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = "workflow test passphrase";
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["keygen", "--out"])
        .arg(dir.path())
        .env("WINRELEASE_PASSPHRASE", passphrase)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = Command::new("base64")
        .arg("-w0")
        .arg(dir.path().join("winrelease.key"))
        .output()
        .unwrap();
    Secrets {
        secret_key_base64: String::from_utf8(key.stdout).unwrap(),
        passphrase,
        _dir: dir,
    }
}

fn repository(
    tag: &str,
    secrets: &Secrets,
    extra: &[(&str, &str)],
    vars: &[(&str, &str)],
) -> Repository {
    let mut all: BTreeMap<String, String> = BTreeMap::from([
        (
            "WINRELEASE_SECRET_KEY".into(),
            secrets.secret_key_base64.clone(),
        ),
        ("WINRELEASE_PASSPHRASE".into(), secrets.passphrase.into()),
    ]);
    all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Repository {
        tag: tag.into(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        secrets: all,
    }
}

/// A fresh clone on a fresh runner, HEAD tagged `tag` (a commit of its own, as every tag is).
fn fresh_clone(tag: &str) -> tempfile::TempDir {
    let repo = testkit::copy_of_repository(&workspace_root());
    std::fs::write(repo.path().join("service/NOTES.txt"), tag).unwrap();
    testkit::git(repo.path(), &["add", "-A"]);
    testkit::git(repo.path(), &["commit", "-q", "-m", tag]);
    testkit::git(repo.path(), &["tag", tag]);
    repo
}

/// Runs release.yml for `tag` on a fresh runner; the job runs by name.
fn release_run(
    tag: &str,
    github: &Path,
    repository: &Repository,
) -> (tempfile::TempDir, BTreeMap<String, JobRun>) {
    let repo = fresh_clone(tag);
    let runner = Runner::new(repo.path(), github);
    let runs = runner.run(&workflow(repo.path(), "release.yml"), repository);
    (repo, runs)
}

fn assert_succeeded(runs: &BTreeMap<String, JobRun>) {
    for job in ["release", "github-release"] {
        let run = runs
            .get(job)
            .unwrap_or_else(|| panic!("job {job} did not run"));
        assert!(
            run.failed_step.is_none(),
            "{job} failed at {:?}:\n{}",
            run.failed_step,
            run.log
        );
    }
}

/// The file names and bytes of a folder.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// One version's files as the store holds them.
fn stored_version(
    location: &str,
    s3: winrelease::publish::S3Environment,
    version: &str,
) -> BTreeMap<String, Vec<u8>> {
    let scratch = tempfile::tempdir().unwrap();
    let env = winrelease::publish::PublishEnvironment {
        s3,
        crash_at: None,
        host: "test".into(),
        temp_dir: scratch.path().to_path_buf(),
        clock: Arc::new(winrelease_cli::edge::SystemClock),
    };
    let store = winrelease::publish::open_store(location, &env).unwrap();
    let dir = store
        .fetch_version("Hello Service", version, scratch.path())
        .unwrap();
    files(&dir)
}

fn s3_endpoint() -> Option<(String, String)> {
    let Some(endpoint) = std::env::var("WINRELEASE_TEST_S3_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        assert!(
            !testkit::ci(),
            "WINRELEASE_TEST_S3_ENDPOINT is required under CI=true: start the server with `eval \"$(.ci/s3-server start)\"`"
        );
        eprintln!("skipping: WINRELEASE_TEST_S3_ENDPOINT is not set (start one with `eval \"$(.ci/s3-server start)\"`)");
        return None;
    };
    let bucket = std::env::var("WINRELEASE_TEST_S3_BUCKET")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "winrelease-test".into());
    Some((endpoint, bucket))
}

#[test]
fn two_fresh_runners_chain_their_releases_through_the_s3_store() {
    let Some((endpoint, bucket)) = s3_endpoint() else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let store = format!("s3://{bucket}/workflow-{}-{nanos}", std::process::id());
    let secrets = signing_secrets();
    let s3_secrets = [
        ("WINRELEASE_S3_ACCESS_KEY_ID", "winrelease-test"),
        ("WINRELEASE_S3_SECRET_ACCESS_KEY", "winrelease-test-secret"),
    ];
    let vars = [
        ("WINRELEASE_STORE", store.as_str()),
        ("WINRELEASE_S3_ENDPOINT", endpoint.as_str()),
        ("WINRELEASE_S3_REGION", "us-east-1"),
    ];
    let github = tempfile::tempdir().unwrap();
    let s3 = winrelease::publish::S3Environment {
        endpoint: Some(endpoint.clone()),
        variables: [
            ("AWS_ACCESS_KEY_ID", "winrelease-test"),
            ("AWS_SECRET_ACCESS_KEY", "winrelease-test-secret"),
            ("AWS_REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string().into()))
        .collect(),
    };

    let (_first, runs) = release_run(
        "v1.0.0",
        github.path(),
        &repository("v1.0.0", &secrets, &s3_secrets, &vars),
    );
    assert_succeeded(&runs);
    assert!(
        runs["release"]
            .log
            .contains(&format!("reads it from the release store {store}")),
        "{}",
        runs["release"].log
    );
    let released = github.path().join("v1.0.0");
    assert_eq!(
        files(&released),
        stored_version(&store, s3.clone(), "1.0.0"),
        "the GitHub Release carries the published files"
    );
    assert!(files(&released).contains_key("manifest.json.minisig"));

    // A second fresh runner: nothing of the first is left but the store and GitHub.
    let (_second, runs) = release_run(
        "v1.0.1",
        github.path(),
        &repository("v1.0.1", &secrets, &s3_secrets, &vars),
    );
    assert_succeeded(&runs);
    let log = &runs["release"].log;
    assert!(
        log.contains("checked against hellosvc_1.0.0_x64.msi"),
        "{log}"
    );
    let next = github.path().join("v1.0.1");
    assert_eq!(manifest(&next)["previous"]["version"], "1.0.0");
    assert_eq!(files(&next), stored_version(&store, s3, "1.0.1"));
    let gh_log = std::fs::read_to_string(github.path().join("gh.log")).unwrap();
    assert!(
        !gh_log.contains("release download"),
        "a configured store is read, not GitHub:\n{gh_log}"
    );

    // A tag older than the store's channel is refused before anything is built or uploaded.
    let (older, runs) = release_run(
        "v0.9.0",
        github.path(),
        &repository("v0.9.0", &secrets, &s3_secrets, &vars),
    );
    assert_refused(&runs, "never moves a channel backwards");
    assert!(
        !older.path().join("target/winrelease/0.9.0").exists(),
        "refused before building"
    );
    assert!(!runs.contains_key("github-release"));
    assert!(!github.path().join("v0.9.0").exists());
}

#[test]
fn without_a_store_the_previous_github_release_is_fetched_with_gh() {
    let secrets = signing_secrets();
    let github = tempfile::tempdir().unwrap();
    let (_first, runs) = release_run(
        "v1.0.0",
        github.path(),
        &repository("v1.0.0", &secrets, &[], &[]),
    );
    assert_succeeded(&runs);
    let log = &runs["release"].log;
    assert!(
        log.contains("falling back to the previous GitHub Release"),
        "{log}"
    );
    assert!(
        log.contains("no earlier GitHub Release: this release starts the chain"),
        "{log}"
    );

    let (second, runs) = release_run(
        "v1.0.1",
        github.path(),
        &repository("v1.0.1", &secrets, &[], &[]),
    );
    assert_succeeded(&runs);
    let log = &runs["release"].log;
    assert!(
        log.contains("previous release: GitHub Release v1.0.0"),
        "{log}"
    );
    assert!(
        log.contains("checked against hellosvc_1.0.0_x64.msi"),
        "{log}"
    );
    let fetched: Vec<String> = files(&second.path().join("target/winrelease/previous"))
        .into_keys()
        .collect();
    assert_eq!(
        fetched,
        [
            "hellosvc_1.0.0_x64.msi",
            "manifest.json",
            "manifest.json.minisig"
        ]
    );
    let next = github.path().join("v1.0.1");
    assert_eq!(manifest(&next)["previous"]["version"], "1.0.0");
    assert_eq!(
        manifest(&next)["previous"]["manifest_sha256"],
        sha256_hex(&github.path().join("v1.0.0/manifest.json"))
    );
    let store: PathBuf = second.path().join("target/winrelease/store");
    assert_eq!(
        files(&next),
        stored_version(&store.to_string_lossy(), Default::default(), "1.0.1")
    );

    // The channel rule holds against the GitHub Release too: 0.9.0 after 1.0.1 is refused.
    let (_older, runs) = release_run(
        "v0.9.0",
        github.path(),
        &repository("v0.9.0", &secrets, &[], &[]),
    );
    assert_refused(&runs, "channel stable is at 1.0.1");
}

#[test]
fn a_tampered_previous_github_release_is_refused_before_building() {
    let secrets = signing_secrets();
    let github = tempfile::tempdir().unwrap();
    let (_first, runs) = release_run(
        "v1.0.0",
        github.path(),
        &repository("v1.0.0", &secrets, &[], &[]),
    );
    assert_succeeded(&runs);
    // Someone with write access swaps the MSI of the GitHub Release.
    let msi = github.path().join("v1.0.0/hellosvc_1.0.0_x64.msi");
    let mut bytes = std::fs::read(&msi).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&msi, bytes).unwrap();
    let (second, runs) = release_run(
        "v1.0.1",
        github.path(),
        &repository("v1.0.1", &secrets, &[], &[]),
    );
    assert_refused(&runs, "but its signed manifest says");
    assert!(!second.path().join("target/winrelease/1.0.1").exists());
}

/// The release step stopped with exit 2 (refused by a safety rule), saying `why`.
fn assert_refused(runs: &BTreeMap<String, JobRun>, why: &str) {
    let run = &runs["release"];
    assert_eq!(
        run.failed_step,
        Some(("Release".into(), Some(2))),
        "{}",
        run.log
    );
    assert!(run.log.contains(why), "{}", run.log);
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}
