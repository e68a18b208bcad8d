//! The Go host agent (`agent/`) against what the Rust side really signs: releases made by the
//! trust stage, published and promoted through the store, pointers with a rollout. The agent
//! runs as a separate program (`winrelease-agent verify`: every check of a poll, installing
//! nothing) and must accept what is genuine and refuse, naming why, a pointer signed by
//! another key, an expired pointer, a replayed older pointer and an MSI whose hash does not
//! match. Same formats, one implementation on each side, no drift.

#[allow(unused_imports)]
mod publish_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use publish_support::*;
use winrelease::publish::FolderStore;
use winrelease::rollout::{self, StartRequest};
use winrelease::stamp::rfc3339_utc;

/// The agent, built once per test binary; `None` (skip) without Go outside CI.
fn agent_binary() -> Option<&'static Path> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            testkit::require_tool_or("go", "install Go: https://go.dev/dl/")?;
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("winrelease-agent");
            let status = Command::new("go")
                .args(["build", "-o"])
                .arg(&out)
                .arg("./cmd/winrelease-agent")
                .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("agent"))
                .status()
                .expect("running go build");
            assert!(status.success(), "go build of the agent failed");
            Some(out)
        })
        .as_deref()
}

/// One host's agent: its config, state and status folders.
struct Host {
    dir: tempfile::TempDir,
    binary: &'static Path,
}

/// What one `verify` run reported for the product.
#[derive(Debug)]
struct Report {
    exit_ok: bool,
    status: serde_json::Value,
}

impl Host {
    fn new(
        binary: &'static Path,
        store: &Path,
        public_key: &minisig::PublicKey,
        host_id: &str,
    ) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("winrelease.pub");
        fs::write(&key_file, public_key.to_file_text()).unwrap();
        let config = serde_json::json!({
            "store": store,
            "status_dir": dir.path().join("status"),
            "state_dir": dir.path().join("state"),
            "host_id": host_id,
            "public_keys": [key_file],
            "products": [{"product": PRODUCT, "channel": "stable", "service_name": "hellosvc"}],
        });
        fs::write(dir.path().join("agent.json"), config.to_string()).unwrap();
        Host { dir, binary }
    }

    fn verify_at(&self, now: i64) -> Report {
        let output = Command::new(self.binary)
            .args(["verify", "-config"])
            .arg(self.dir.path().join("agent.json"))
            .args(["-now", &rfc3339_utc(now)])
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let status: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "agent printed {stdout:?} ({e}); stderr {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        // The status file the operator reads says the same.
        let file = self
            .dir
            .path()
            .join("status")
            .join(PRODUCT)
            .join(format!("{}.json", status["host"].as_str().unwrap()));
        let on_disk: serde_json::Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        assert_eq!(on_disk["state"], status["state"]);
        Report {
            exit_ok: output.status.success(),
            status,
        }
    }

    fn verify(&self) -> Report {
        self.verify_at(NOW)
    }

    /// MSIs the agent has under their final name in its cache (only verified ones get there).
    fn cached_msis(&self) -> Vec<String> {
        let mut found = Vec::new();
        let cache = self.dir.path().join("state").join(PRODUCT).join("cache");
        for version in fs::read_dir(&cache).into_iter().flatten() {
            for file in fs::read_dir(version.unwrap().path()).unwrap() {
                let name = file.unwrap().file_name().to_string_lossy().into_owned();
                if name.ends_with(".msi") {
                    found.push(name);
                }
            }
        }
        found.sort();
        found
    }
}

fn accepted(report: &Report, target: &str) {
    assert!(report.exit_ok, "{report:?}");
    assert_eq!(report.status["state"], "verified", "{report:?}");
    assert_eq!(report.status["target"], target, "{report:?}");
}

fn refused(report: &Report, because: &str) {
    assert!(!report.exit_ok, "{report:?}");
    assert_eq!(report.status["state"], "refused", "{report:?}");
    let error = report.status["error"].as_str().unwrap();
    assert!(error.contains(because), "expected {because:?} in {error:?}");
}

fn pointer_file(store: &Path) -> PathBuf {
    store.join(PRODUCT).join("channels").join("stable.json")
}

#[test]
fn the_agent_accepts_what_the_pipeline_signs_and_refuses_forgeries() {
    let Some(binary) = agent_binary() else { return };
    let fx = Fixture::new();
    let root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(root.path());
    fx.publish(&store, "1.0.0", Some("stable")).unwrap();
    let host = Host::new(binary, root.path(), &fx.key.public_key(), "host-a");
    accepted(&host.verify(), "1.0.0");
    assert_eq!(host.cached_msis(), ["hellosvc_1.0.0_x64.msi"]);

    let first_pointer = fs::read(pointer_file(root.path())).unwrap();
    fx.publish(&store, "1.1.0", Some("stable")).unwrap();
    accepted(&host.verify(), "1.1.0");

    // A replayed older pointer (sequence 1 after 2): refused, the highest is kept on the host.
    fs::write(pointer_file(root.path()), &first_pointer).unwrap();
    refused(
        &host.verify(),
        "has sequence 1, but this host has seen sequence 2",
    );
    refused(&host.verify(), "replayed");

    // Genuine again, but later than the pointer's expiry (the manifest's, 180 days).
    fx.publish(&store, "1.2.0", Some("stable")).unwrap();
    refused(&host.verify_at(NOW + 400 * DAY), "expired at");

    // Pinned to another key: the genuine store is refused.
    let (other_key, _) = new_key();
    let stranger = Host::new(binary, root.path(), &other_key.public_key(), "host-b");
    refused(&stranger.verify(), "is not pinned");

    // An MSI replaced in the store: the hash does not match, nothing reaches the cache.
    let msi = root
        .path()
        .join(PRODUCT)
        .join("1.2.0")
        .join("hellosvc_1.2.0_x64.msi");
    let mut bytes = fs::read(&msi).unwrap();
    bytes[10] ^= 1;
    fs::write(&msi, bytes).unwrap();
    let fresh = Host::new(binary, root.path(), &fx.key.public_key(), "host-c");
    refused(&fresh.verify(), "the manifest says");
    assert!(fresh.cached_msis().is_empty(), "{:?}", fresh.cached_msis());
}

#[test]
fn the_agent_follows_a_signed_rollout_by_its_place_in_line() {
    let Some(binary) = agent_binary() else { return };
    let fx = Fixture::new();
    let root = tempfile::tempdir().unwrap();
    let store = FolderStore::new(root.path());
    fx.publish(&store, "1.0.0", Some("stable")).unwrap();
    fx.publish(&store, "1.1.0", None).unwrap();
    let start = StartRequest {
        version: "1.1.0".into(),
        steps: vec![25, 100],
        max_failures: 0,
    };
    rollout::start(&store, PRODUCT, "stable", &start, &fx.key, &options()).unwrap();
    let pointer = read_pointer(&store, "stable").unwrap();
    assert_eq!(pointer.rollout.as_ref().unwrap().percent, 25);

    let (mut inside, mut outside) = (0, 0);
    for name in ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"] {
        let want = if rollout::in_step(rollout::place(PRODUCT, name), 25) {
            inside += 1;
            "1.1.0"
        } else {
            outside += 1;
            "1.0.0"
        };
        let host = Host::new(binary, root.path(), &fx.key.public_key(), name);
        let report = host.verify();
        accepted(&report, want);
        // The agent computes the same place in line as the Rust side.
        assert_eq!(
            report.status["place"],
            rollout::place(PRODUCT, name),
            "{name}"
        );
    }
    assert!(
        inside > 0 && outside > 0,
        "{inside} inside, {outside} outside"
    );
}
