//! Staged rollouts on a real store (releases signed by the trust stage): the signed pointer
//! carries the rollout, `advance` is gated on the hosts' status files (as the agent writes
//! them), `halt` and `abort` are new signed pointers with higher sequences, and pointers
//! without a rollout keep their bytes.

#[allow(unused_imports)]
mod publish_support;

use std::fs;
use std::path::Path;

use publish_support::*;
use winrelease::publish::{FolderStore, RolloutState, Store};
use winrelease::rollout::{self, Advanced, RolloutError, StartRequest};

fn request(version: &str, steps: &[u8], max_failures: u32) -> StartRequest {
    StartRequest {
        version: version.into(),
        steps: steps.to_vec(),
        max_failures,
    }
}

/// A status file as the agent writes it.
fn report(dir: &Path, host: &str, version: &str, state: &str, failed: Option<&str>) {
    let folder = dir.join(PRODUCT);
    fs::create_dir_all(&folder).unwrap();
    let status = serde_json::json!({
        "schema_version": 1, "product": PRODUCT, "channel": "stable", "host": host,
        "place": rollout::place(PRODUCT, host), "version": version, "target": version,
        "state": state, "health": if state == "healthy" { "ok" } else { "service hellosvc is not running" },
        "sequence": 2, "when": "2026-04-13T05:06:07Z",
        "failed_version": failed.unwrap_or(""),
        "failed_reason": if failed.is_some() { "not healthy within 30s: service hellosvc is not running" } else { "" },
    });
    fs::write(folder.join(format!("{host}.json")), status.to_string()).unwrap();
}

/// Host names inside and outside a `percent` step.
fn hosts_around(percent: u8) -> (Vec<String>, Vec<String>) {
    (1..40)
        .map(|i| format!("host-{i}"))
        .partition(|h| rollout::in_step(rollout::place(PRODUCT, h), percent))
}

fn store_at_1_0_0(fx: &Fixture) -> (tempfile::TempDir, FolderStore) {
    let root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(root.path());
    fx.publish(&store, "1.0.0", Some("stable")).unwrap();
    fx.publish(&store, "1.1.0", None).unwrap();
    (root, store)
}

#[test]
fn pointers_without_a_rollout_keep_their_bytes() {
    let fx = Fixture::new();
    let (root, store) = store_at_1_0_0(&fx);
    let text = fs::read_to_string(root.path().join(PRODUCT).join("channels/stable.json")).unwrap();
    assert!(!text.contains("rollout"), "{text}");
    assert!(read_pointer(&store, "stable").unwrap().rollout.is_none());
}

#[test]
fn start_signs_a_rollout_and_refuses_what_makes_no_sense() {
    let fx = Fixture::new();
    let (_root, store) = store_at_1_0_0(&fx);
    for steps in [&[25u8, 50][..], &[50, 25, 100], &[0, 100], &[]] {
        let err = rollout::start(
            &store,
            PRODUCT,
            "stable",
            &request("1.1.0", steps, 0),
            &fx.key,
            &options(),
        )
        .unwrap_err();
        assert!(matches!(err, RolloutError::BadSteps(_)), "{steps:?}: {err}");
    }
    let err = rollout::start(
        &store,
        PRODUCT,
        "stable",
        &request("1.0.0", &[25, 100], 0),
        &fx.key,
        &options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("is not newer"), "{err}");

    let change = rollout::start(
        &store,
        PRODUCT,
        "stable",
        &request("1.1.0", &[25, 100], 1),
        &fx.key,
        &options(),
    )
    .unwrap();
    assert_eq!((change.sequence, change.to.as_str()), (2, "1.1.0"));
    let pointer = read_pointer(&store, "stable").unwrap();
    let r = pointer.rollout.unwrap();
    assert_eq!(
        (r.previous.as_str(), r.percent, r.max_failures, r.state),
        ("1.0.0", 25, 1, RolloutState::Active)
    );
    assert_eq!(
        r.previous_manifest_sha256,
        read_index(&store).entry("1.0.0").unwrap().manifest_sha256
    );
    fx.assert_valid(&store);

    let err = rollout::start(
        &store,
        PRODUCT,
        "stable",
        &request("1.1.0", &[25, 100], 0),
        &fx.key,
        &options(),
    )
    .unwrap_err();
    assert!(
        matches!(err, RolloutError::AlreadyRunning { percent: 25, .. }),
        "{err}"
    );
}

#[test]
fn advance_widens_only_when_every_host_of_the_step_is_healthy() {
    let fx = Fixture::new();
    let (_root, store) = store_at_1_0_0(&fx);
    let status = tempfile::tempdir().unwrap();
    rollout::start(
        &store,
        PRODUCT,
        "stable",
        &request("1.1.0", &[25, 100], 0),
        &fx.key,
        &options(),
    )
    .unwrap();
    let (inside, outside) = hosts_around(25);
    let advance = |store: &dyn Store| {
        let hosts = rollout::read_statuses(status.path(), PRODUCT, "stable")
            .unwrap()
            .hosts;
        rollout::advance(store, PRODUCT, "stable", &hosts, &fx.key, &options())
    };

    // No host has reported: halted, and it says so.
    let err = advance(&store).unwrap_err();
    assert!(
        err.to_string()
            .contains("no host of the current step has reported"),
        "{err}"
    );
    assert_eq!(
        read_pointer(&store, "stable")
            .unwrap()
            .rollout
            .unwrap()
            .state,
        RolloutState::Halted
    );

    // One canary still on 1.0.0: named, still halted.
    for h in &outside {
        report(status.path(), h, "1.0.0", "healthy", None);
    }
    report(status.path(), &inside[0], "1.1.0", "healthy", None);
    report(status.path(), &inside[1], "1.0.0", "healthy", None);
    let err = advance(&store).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "{}: not healthy on the target: on 1.0.0",
            inside[1]
        )),
        "{err}"
    );
    assert!(!err.contains(&inside[0]), "{err}");

    for h in &inside {
        report(status.path(), h, "1.1.0", "healthy", None);
    }
    let before = read_pointer(&store, "stable").unwrap().sequence;
    match advance(&store).unwrap() {
        Advanced::Step(change, 100) => assert_eq!(change.sequence, before + 1),
        other => panic!("{other:?}"),
    }
    let r = read_pointer(&store, "stable").unwrap().rollout.unwrap();
    assert_eq!((r.percent, r.state), (100, RolloutState::Active));

    for h in inside.iter().chain(&outside) {
        report(status.path(), h, "1.1.0", "healthy", None);
    }
    assert!(matches!(advance(&store).unwrap(), Advanced::Finished(_)));
    let pointer = read_pointer(&store, "stable").unwrap();
    assert_eq!(
        (pointer.version.as_str(), pointer.rollout.is_none()),
        ("1.1.0", true)
    );
    fx.assert_valid(&store);
}

#[test]
fn a_failed_canary_halts_the_rollout_and_abort_signs_the_way_back() {
    let fx = Fixture::new();
    let (_root, store) = store_at_1_0_0(&fx);
    let status = tempfile::tempdir().unwrap();
    rollout::start(
        &store,
        PRODUCT,
        "stable",
        &request("1.1.0", &[25, 100], 0),
        &fx.key,
        &options(),
    )
    .unwrap();
    let (inside, _) = hosts_around(25);
    report(status.path(), &inside[0], "1.0.0", "healthy", Some("1.1.0"));
    for h in &inside[1..] {
        report(status.path(), h, "1.1.0", "healthy", None);
    }
    let hosts = rollout::read_statuses(status.path(), PRODUCT, "stable")
        .unwrap()
        .hosts;
    let err = rollout::advance(&store, PRODUCT, "stable", &hosts, &fx.key, &options()).unwrap_err();
    let RolloutError::GateClosed { reasons, gate, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(gate.failures.len(), 1);
    assert!(
        reasons[0].contains("1 host(s) failed the health gate, more than --max-failures 0"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with(&format!(
            "{}: failed: 1.1.0 not healthy within 30s",
            inside[0]
        )),
        "{reasons:?}"
    );
    assert_eq!(
        read_pointer(&store, "stable")
            .unwrap()
            .rollout
            .unwrap()
            .state,
        RolloutState::Halted
    );

    let halted = read_pointer(&store, "stable").unwrap().sequence;
    let change = rollout::halt(&store, PRODUCT, "stable", &fx.key, &options()).unwrap();
    assert!(
        !change.changed && change.sequence == halted,
        "halting a halted rollout writes nothing"
    );

    let change = rollout::abort(&store, PRODUCT, "stable", &fx.key, &options()).unwrap();
    assert_eq!(
        (change.sequence, change.to.as_str(), change.rollback),
        (halted + 1, "1.0.0", true)
    );
    let pointer = read_pointer(&store, "stable").unwrap();
    assert_eq!(pointer.rollback_from.as_deref(), Some("1.1.0"));
    assert!(pointer.rollout.is_none());
    let err = rollout::halt(&store, PRODUCT, "stable", &fx.key, &options()).unwrap_err();
    assert!(matches!(err, RolloutError::NoRollout { .. }), "{err}");
    fx.assert_valid(&store);
}

#[test]
fn status_files_that_lie_or_break_are_listed_not_trusted() {
    let status = tempfile::tempdir().unwrap();
    report(status.path(), "web-01", "1.0.0", "healthy", None);
    report(status.path(), "web-02", "1.1.0", "healthy", None);
    let folder = status.path().join(PRODUCT);
    fs::write(folder.join("broken.json"), "{not json").unwrap();
    let liar = fs::read_to_string(folder.join("web-01.json"))
        .unwrap()
        .replace("\"host\":\"web-01\"", "\"host\":\"web-09\"");
    fs::write(folder.join("web-09.json"), liar).unwrap();
    fs::write(folder.join(".tmp-123"), "partial").unwrap();
    let found = rollout::read_statuses(status.path(), PRODUCT, "stable").unwrap();
    let hosts: Vec<&str> = found.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    assert_eq!(found.unreadable.len(), 2, "{:?}", found.unreadable);
    assert!(found
        .unreadable
        .iter()
        .any(|(_, why)| why.contains("says host web-09 has place")));
    assert_eq!(found.version_counts().get("1.1.0"), Some(&1));
    assert!(
        rollout::read_statuses(&status.path().join("none"), PRODUCT, "stable")
            .unwrap()
            .hosts
            .is_empty()
    );
}
