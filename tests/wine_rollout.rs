//! A staged rollout across a small fleet: four Wine prefixes are four hosts, each running the
//! Go host agent (`agent/`, cross-compiled, one poll per round driven by this test) against a
//! folder store and a status folder, with MSIs built, signed and published by the pipeline.
//!
//! v1 everywhere → `rollout start v2 --steps 25,100` → only the canary upgrades → `advance` →
//! every host on v2. Then v3, whose service cannot start on one host (a port it needs is taken
//! there): that host's upgrade fails, Windows Installer puts v2 back, the agent reports
//! "rolled back" with the reason and the msiexec log; `advance` refuses and halts; `abort`
//! sends the other canary back to v2 (a downgrade the MSI accepts only because the agent asks
//! for it). After every round every host's service answers. Then the agent refuses, and
//! reports, a pointer under another key, an expired pointer, a replayed older pointer and an
//! MSI whose hash does not match, installing nothing.
//!
//! Run: `cargo test --release -p winrelease --test wine_rollout -- --nocapture`.

#[allow(unused_imports)]
mod publish_support;
mod wine_support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use publish_support::{new_key, options, NOW};
use wine_support::fixture::{Fixture, Release};
use wine_support::prefix::{win_path, Prefix};
use wine_support::report::Report;
use wine_support::{free_port, http, require_wine, KeptOnFailure};
use winrelease::keys::ReleaseKey;
use winrelease::manifest::MsiIdentity;
use winrelease::package_msi;
use winrelease::publish::{self, FolderStore, Store};
use winrelease::rollout::{self, RolloutError, StartRequest};
use winrelease::stamp::rfc3339_utc;
use winrelease::trust::{release_trust, MsiArtifact, TrustRequest};

const TEST: &str = "wine_rollout";

/// v3's extra listener: the service's port + 1. Where it is taken, v3 cannot start.
const METRICS_GO: &str = r#"package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
)

// Test fixture (winrelease Wine rollout suite): this release also listens on listen_port+1.
// When that port is taken the service fails the way a bad config makes it fail.
var metrics net.Listener

func init() {
	for i, arg := range os.Args {
		if arg != "--config" || i+1 >= len(os.Args) {
			continue
		}
		data, err := os.ReadFile(os.Args[i+1])
		var c struct {
			ListenPort int `json:"listen_port"`
		}
		if err != nil || json.Unmarshal(data, &c) != nil || c.ListenPort == 0 {
			return
		}
		metrics, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.ListenPort+1))
		if err != nil {
			os.Args[i+1] = `C:\winrelease-e2e-metrics-port-taken\config.json`
		}
	}
}
"#;

/// One host: a prefix, its service port and its agent's config.
struct Host {
    name: String,
    prefix: Prefix,
    port: u16,
    config: PathBuf,
}

struct Fleet {
    hosts: Vec<Host>,
    agent: String,
    status: PathBuf,
    store: PathBuf,
    product: String,
}

/// Four host names, one in each quarter of the line for `product`, so a 25% step has one
/// canary and a 50% step two.
fn host_names(product: &str) -> Vec<String> {
    (0..4)
        .map(|quarter| {
            (1..500)
                .map(|i| format!("wine-host-{i}"))
                .find(|h| rollout::place(product, h) / 2500 == quarter)
                .expect("a host in every quarter")
        })
        .collect()
}

/// A port whose next port is free too (v3 listens there).
fn port_pair() -> u16 {
    loop {
        let port = free_port();
        if port < 65000 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn build_agent_exe() -> String {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("winrelease-agent.exe");
    let status = Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(&out)
        .arg("./cmd/winrelease-agent")
        .env("GOOS", "windows")
        .env("GOARCH", "amd64")
        .env("CGO_ENABLED", "0")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("agent"))
        .status()
        .expect("go build");
    assert!(status.success(), "cross-compiling the agent failed");
    win_path(&out)
}

/// Signs `release` with the trust stage (chained to `previous`) and publishes it.
fn sign_and_publish(
    fixture: &Fixture,
    release: &Release,
    previous: Option<&Path>,
    key: &ReleaseKey,
    store: &dyn Store,
    channel: Option<&str>,
) -> PathBuf {
    let dir = fixture
        .project
        .version_dir(&release.versioned.stamp.version);
    let contents = winrelease::payload::Contents::read(&fixture.project).unwrap();
    let set = contents.with(&release.exes);
    let msi = package_msi::package_msi(&fixture.project, &release.versioned, set, &dir).unwrap();
    let mut request =
        TrustRequest::new(&fixture.project, &release.versioned, &release.exes.service);
    request.msi = Some(MsiArtifact {
        path: msi.path.clone(),
        identity: MsiIdentity::new(&msi.product_code, &msi.upgrade_code, &msi.package_code)
            .unwrap(),
    });
    request.previous_manifest = previous.map(Path::to_path_buf);
    let summary = release_trust(&request, key).unwrap();
    let product = &fixture.project.config.product;
    publish::publish(&dir, store, product, channel, key, &options()).unwrap();
    summary.manifest
}

/// v1 (on the channel), v2 and v3 (in the store only), built, signed and published.
fn build_and_publish(
    fixture: &mut Fixture,
    key: &ReleaseKey,
    store: &dyn Store,
) -> (String, String, String) {
    let v1 = fixture.release("v1.0.0");
    let m1 = sign_and_publish(fixture, &v1, None, key, store, Some("stable"));
    fixture.commit("v2", |_| {});
    let v2 = fixture.release("v2.0.0");
    let m2 = sign_and_publish(fixture, &v2, Some(&m1), key, store, None);
    fixture.commit("v3: also listens on listen_port+1", |repo| {
        std::fs::write(
            repo.join("service/cmd/hellosvc/zz_e2e_metrics.go"),
            METRICS_GO,
        )
        .unwrap();
    });
    let v3 = fixture.release("v3.0.0");
    sign_and_publish(fixture, &v3, Some(&m2), key, store, None);
    (v1.version(), v2.version(), v3.version())
}

impl Fleet {
    /// Four prefixes, one per quarter of the line, each with its agent config.
    fn new(product: &str, logs: &Path, work: &Path, store: &Path, key_file: &Path) -> Fleet {
        let hosts = host_names(product)
            .into_iter()
            .map(|name| Host {
                prefix: Prefix::create(&logs.join(&name)),
                port: port_pair(),
                config: work.join(format!("{name}.json")),
                name,
            })
            .collect();
        let fleet = Fleet {
            hosts,
            agent: build_agent_exe(),
            status: work.join("status"),
            store: store.to_path_buf(),
            product: product.to_string(),
        };
        for host in &fleet.hosts {
            fleet.write_config(host, key_file, &host.config);
        }
        fleet
    }

    fn write_config(&self, host: &Host, key_file: &Path, path: &Path) {
        let config = serde_json::json!({
            "store": win_path(&self.store),
            "status_dir": win_path(&self.status),
            "state_dir": "C:\\ProgramData\\winrelease-agent",
            "host_id": host.name,
            "public_keys": [win_path(key_file)],
            "products": [{
                "product": self.product, "channel": "stable", "service_name": "hellosvc",
                "health_url": format!("http://127.0.0.1:{}/healthz", host.port),
                "properties": {"LISTEN_PORT": host.port.to_string()},
                "health_timeout_seconds": 30,
            }],
        });
        std::fs::write(path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }

    /// One poll of host `i` at `now`; its status line.
    fn poll_at(&mut self, i: usize, config: &Path, now: i64) -> serde_json::Value {
        let agent = self.agent.clone();
        let run = self.hosts[i].prefix.wine_within(
            &[
                &agent,
                "once",
                "-config",
                &win_path(config),
                "-now",
                &rfc3339_utc(now),
            ],
            Duration::from_secs(400),
        );
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("{}: agent printed nothing: {run:?}", self.hosts[i].name));
        serde_json::from_str(line).unwrap()
    }

    /// Every host polls once; then every service must answer. Returns (host, status).
    fn round(&mut self) -> Vec<serde_json::Value> {
        let statuses: Vec<_> = (0..self.hosts.len())
            .map(|i| {
                let config = self.hosts[i].config.clone();
                self.poll_at(i, &config, NOW)
            })
            .collect();
        self.versions();
        statuses
    }

    /// Each host's running version, asked over HTTP (every service must answer).
    fn versions(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|h| {
                let reply = http::get_ok(h.port, "/version", Duration::from_secs(30))
                    .unwrap_or_else(|e| panic!("{}: no running service: {e}", h.name));
                reply.json()["version"].as_str().unwrap().to_string()
            })
            .collect()
    }

    fn statuses(&self) -> Vec<rollout::HostStatus> {
        rollout::read_statuses(&self.status, &self.product, "stable")
            .unwrap()
            .hosts
    }
}

fn start(store: &dyn Store, product: &str, version: &str, steps: &[u8], key: &ReleaseKey) {
    let request = StartRequest {
        version: version.into(),
        steps: steps.to_vec(),
        max_failures: 0,
    };
    rollout::start(store, product, "stable", &request, key, &options()).unwrap();
}

#[test]
fn wine_fleet_rollout() {
    if !require_wine(TEST) || testkit::require_tool_or("go", "install Go").is_none() {
        return;
    }
    let logs = KeptOnFailure::new(TEST);
    let mut report = Report::new();
    let mut fixture = Fixture::new();
    let (key, _) = new_key();
    let work = tempfile::tempdir().unwrap();
    let store_dir = work.path().join("store");
    let store = FolderStore::new(&store_dir);
    let product = fixture.project.config.product.clone();

    std::fs::create_dir_all(&store_dir).unwrap();
    let (v1, v2, v3) = report.scenario(
        "0 build, sign and publish v1, v2, v3; cross-compile the agent",
        |_| build_and_publish(&mut fixture, &key, &store),
    );
    let key_file = work.path().join("winrelease.pub");
    std::fs::write(&key_file, key.public_key().to_file_text()).unwrap();
    let mut fleet = report.scenario("1 four Wine prefixes as hosts", |_| {
        Fleet::new(&product, logs.path(), work.path(), &store_dir, &key_file)
    });

    report.scenario("2 v1 everywhere", |_| {
        let statuses = fleet.round();
        assert!(
            statuses.iter().all(|s| s["state"] == "healthy"),
            "{statuses:#?}"
        );
        assert_eq!(
            fleet.versions(),
            [v1.as_str(), v1.as_str(), v1.as_str(), v1.as_str()]
        );
    });
    let v1_pointer = std::fs::read(store_dir.join(&product).join("channels/stable.json")).unwrap();

    report.scenario(
        "3 rollout start v2 --steps 25,100: only the canary upgrades",
        |_| {
            start(&store, &product, &v2, &[25, 100], &key);
            let statuses = fleet.round();
            assert!(
                statuses.iter().all(|s| s["state"] == "healthy"),
                "{statuses:#?}"
            );
            assert_eq!(
                fleet.versions(),
                [v2.as_str(), v1.as_str(), v1.as_str(), v1.as_str()]
            );
        },
    );

    report.scenario("4 advance: every host on v2", |_| {
        let hosts = fleet.statuses();
        rollout::advance(&store, &product, "stable", &hosts, &key, &options()).unwrap();
        fleet.round();
        assert_eq!(
            fleet.versions(),
            [v2.as_str(), v2.as_str(), v2.as_str(), v2.as_str()]
        );
    });

    let _taken = TcpListener::bind(("127.0.0.1", fleet.hosts[1].port + 1)).unwrap();
    report.scenario(
        "5 rollout v3 --steps 50,100; its port is taken on the second canary",
        |notes| {
            start(&store, &product, &v3, &[50, 100], &key);
            let statuses = fleet.round();
            assert_eq!(
                fleet.versions(),
                [v3.as_str(), v2.as_str(), v2.as_str(), v2.as_str()]
            );
            let failed = &statuses[1];
            assert_eq!(failed["state"], "rolled_back", "{failed:#}");
            let error = failed["error"].as_str().unwrap();
            assert!(error.contains("msiexec exit code"), "{failed:#}");
            if error.contains("the agent reinstalled 2.0.0") {
                notes.wine_difference(
                    "the failed v3 upgrade left no product (Wine runs RemoveExistingProducts \
                     outside the transaction), so the agent reinstalled v2 itself; on Windows the \
                     installer's own rollback keeps v2 and the agent only reports it",
                );
            } else {
                assert!(
                    error.contains("Windows Installer rolled back to 2.0.0"),
                    "{failed:#}"
                );
            }
            assert!(
                !failed["log_tail"].as_str().unwrap().is_empty(),
                "{failed:#}"
            );
            eprintln!(
                "{}: {}\n{}",
                fleet.hosts[1].name, failed["error"], failed["log_tail"]
            );
        },
    );

    report.scenario("6 advance refuses and halts, naming the host", |_| {
        let hosts = fleet.statuses();
        let err =
            rollout::advance(&store, &product, "stable", &hosts, &key, &options()).unwrap_err();
        assert!(matches!(err, RolloutError::GateClosed { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("{}: failed: 3.0.0", fleet.hosts[1].name)),
            "{err}"
        );
        fleet.round();
        assert_eq!(
            fleet.versions(),
            [v3.as_str(), v2.as_str(), v2.as_str(), v2.as_str()],
            "a halted rollout moves nobody"
        );
    });

    report.scenario(
        "7 abort: the canary goes back to v2 (downgrade asked by the agent)",
        |_| {
            rollout::abort(&store, &product, "stable", &key, &options()).unwrap();
            let statuses = fleet.round();
            assert!(
                statuses.iter().all(|s| s["state"] == "healthy"),
                "{statuses:#?}"
            );
            assert_eq!(
                fleet.versions(),
                [v2.as_str(), v2.as_str(), v2.as_str(), v2.as_str()]
            );
        },
    );

    report.scenario("8 refusals install nothing", |_| {
        refusals(&mut fleet, &store, &key, &key_file, &v1_pointer, &v2)
    });
    report.print_table();
}

/// Another key, an expired pointer, a replayed pointer, a changed MSI: each refused and
/// reported, the host still on `v2`.
fn refusals(
    fleet: &mut Fleet,
    store: &dyn Store,
    key: &ReleaseKey,
    key_file: &Path,
    v1_pointer: &[u8],
    v2: &str,
) {
    let pointer_path = fleet
        .store
        .join(&fleet.product)
        .join("channels/stable.json");
    let config = fleet.hosts[0].config.clone();
    let (other, _) = new_key();
    let other_file = key_file.with_file_name("other.pub");
    std::fs::write(&other_file, other.public_key().to_file_text()).unwrap();
    let stranger = config.with_file_name("stranger.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &stranger,
        text.replace(
            &win_path(key_file).replace('\\', "\\\\"),
            &win_path(&other_file).replace('\\', "\\\\"),
        ),
    )
    .unwrap();
    let expect = |status: serde_json::Value, because: &str| {
        assert_eq!(status["state"], "refused", "{status:#}");
        assert!(
            status["error"].as_str().unwrap().contains(because),
            "{because}: {status:#}"
        );
    };
    expect(fleet.poll_at(0, &stranger, NOW), "is not pinned");
    expect(fleet.poll_at(0, &config, NOW + 400 * 86_400), "expired at");
    let current = std::fs::read(&pointer_path).unwrap();
    std::fs::write(&pointer_path, v1_pointer).unwrap();
    expect(
        fleet.poll_at(0, &config, NOW),
        "but this host has seen sequence",
    );
    std::fs::write(&pointer_path, current).unwrap();
    // A genuine rollout of v3 again, then its MSI is changed in the store.
    start(store, &fleet.product, "3.0.0", &[50, 100], key);
    let msi = fleet
        .store
        .join(&fleet.product)
        .join("3.0.0")
        .join("hellosvc_3.0.0_x64.msi");
    let mut bytes = std::fs::read(&msi).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&msi, bytes).unwrap();
    expect(fleet.poll_at(0, &config, NOW), "the manifest says");
    assert_eq!(fleet.versions()[0], v2);
}
