//! The release command's plan/execute split, through the library: the plan reads the store,
//! execute does not touch it before publishing.

use std::path::Path;

use winrelease::config::Project;
use winrelease::environment::Environment;
use winrelease::release::{self, Progress, ReleaseOptions, Stage};

#[allow(unused_imports)]
mod publish_support;

/// Records every stage event, in order.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl Progress for Recorder {
    fn start(&mut self, stage: Stage) {
        self.events.push(format!("start {}", stage.name()));
    }
    fn finish(&mut self, stage: Stage, detail: &str) {
        self.events
            .push(format!("finish {}: {detail}", stage.name()));
    }
}

fn workspace_copy() -> tempfile::TempDir {
    testkit::copy_of_repository(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// An environment as a developer's machine has it: no CI, no key (the development key).
fn developer_machine() -> Environment {
    Environment {
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
        keys: Default::default(),
        authenticode_passphrase: None,
        go_env: Default::default(),
        publish: publish_support::test_env(),
    }
}

fn options(store: &Path) -> ReleaseOptions {
    ReleaseOptions {
        store: Some(store.display().to_string()),
        ..ReleaseOptions::default()
    }
}

fn release_tag(repo: &Path, tag: &str) {
    std::fs::write(repo.join("service/NOTES.txt"), tag).unwrap();
    testkit::git(repo, &["add", "-A"]);
    testkit::git(repo, &["commit", "-q", "-m", tag]);
    testkit::git(repo, &["tag", tag]);
}

#[test]
fn execute_reads_the_store_only_when_it_publishes() {
    if testkit::require_tool_or("go", "install Go: https://go.dev/dl/").is_none() {
        return;
    }
    let repo = workspace_copy();
    let store_parent = tempfile::tempdir().unwrap();
    let store = store_parent.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let env = developer_machine();

    release_tag(repo.path(), "v1.0.0");
    let project = Project::load(Some(&repo.path().join("Cargo.toml"))).unwrap();
    let plan = release::plan(&project, &env, &options(&store)).unwrap();
    assert_eq!(plan.store_view.channel_version, None, "an empty store");
    release::execute(&project, &env, plan, &mut Recorder::default()).unwrap();

    release_tag(repo.path(), "v1.0.1");
    let plan = release::plan(&project, &env, &options(&store)).unwrap();
    assert_eq!(plan.store_view.channel_version.as_deref(), Some("1.0.0"));
    assert_eq!(plan.store_view.previous_version.as_deref(), Some("1.0.0"));
    assert!(
        plan.store_view.previous_msi.is_some(),
        "the plan holds the previous MSI"
    );

    // The store vanishes after planning: every stage before publishing still runs (the Group
    // Policy check against the previous MSI included), and only publishing notices.
    std::fs::rename(&store, store_parent.path().join("elsewhere")).unwrap();
    std::fs::write(&store, "not a store").unwrap();
    let mut progress = Recorder::default();
    let err = release::execute(&project, &env, plan, &mut progress).unwrap_err();
    assert_eq!(err.exit_code(), 5, "{err}");
    let events = progress.events;
    let publish_at = events.iter().position(|e| e == "start publish");
    assert_eq!(publish_at, Some(events.len() - 1), "{events:#?}");
    for stage in ["build", "msi", "gpo", "sign", "verify"] {
        assert!(
            events
                .iter()
                .any(|e| e.starts_with(&format!("finish {stage}"))),
            "{stage} ran before publishing: {events:#?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e.contains("checked against hellosvc_1.0.0_x64.msi")),
        "{events:#?}"
    );
}

#[test]
fn a_release_older_than_its_channel_is_refused_by_the_plan() {
    if testkit::require_tool_or("go", "install Go: https://go.dev/dl/").is_none() {
        return;
    }
    let repo = workspace_copy();
    let store = tempfile::tempdir().unwrap();
    let env = developer_machine();
    release_tag(repo.path(), "v2.0.0");
    let project = Project::load(Some(&repo.path().join("Cargo.toml"))).unwrap();
    let plan = release::plan(&project, &env, &options(store.path())).unwrap();
    release::execute(&project, &env, plan, &mut Recorder::default()).unwrap();

    release_tag(repo.path(), "v1.9.0");
    let err = release::plan(&project, &env, &options(store.path())).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(
        err.to_string().contains("never moves a channel backwards"),
        "{err}"
    );
    assert!(!repo.path().join("target/winrelease/1.9.0").exists());
}
