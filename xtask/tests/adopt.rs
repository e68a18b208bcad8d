//! A Go repository winrelease has never seen adopts it with the README's commands only
//! ("Use it for your own service"), releases, and the MSI installs under Wine.
//!
//! The repository: module `git.example.org/ops/acme-agent`, its service in `cmd/acme-agent`
//! (a hyphenated exe), a second binary `cmd/acmectl`, its version variables in
//! `internal/buildinfo` under its own names (`Version`, `Revision`, `BuildDate`, `Branch`), a
//! YAML config in `configs/`, a `static/` folder, and a folder name with a space and non-ASCII.
//!
//! The adopter's xtask compiles winrelease from this checkout; its intermediate build files are
//! kept in `target/adopt-build` (cargo's `build-dir`) so only the first run on a machine pays
//! for compiling winrelease's dependencies.
//!
//! Run: `cargo test --release -p xtask --test adopt -- --nocapture`.

#[path = "../../tests/wine_support/mod.rs"]
mod wine_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use wine_support::prefix::{win_path, Prefix, SERVICE_RUNNING};
use wine_support::{free_port, http, require_wine, KeptOnFailure};

const TEST: &str = "adopt_foreign_repository";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The README section's commands, in order (the test runs exactly these).
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = readme
        .split("## Use it for your own service")
        .nth(1)
        .expect("README has a section \"Use it for your own service\"");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section starts with a sh block");
    block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const SERVICE_GO: &str = r#"// Command acme-agent: a small Windows service that reads a YAML config.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"git.example.org/ops/acme-agent/internal/buildinfo"
	"golang.org/x/sys/windows/svc"
)

type config struct{ listen, greeting string }

func readConfig(path string) (config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return config{}, err
	}
	var c config
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), "\"")
		switch strings.TrimSpace(k) {
		case "listen":
			c.listen = v
		case "greeting":
			c.greeting = v
		}
	}
	return c, nil
}

type agent struct{ cfg config }

func (a agent) Execute(args []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	s <- svc.Status{State: svc.StartPending}
	exe, _ := os.Executable()
	mux := http.NewServeMux()
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "acme-agent %s (revision %s, built %s)", buildinfo.Version, buildinfo.Revision, buildinfo.BuildDate)
	})
	mux.HandleFunc("/config", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, a.cfg.greeting) })
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(filepath.Join(filepath.Dir(exe), "static")))))
	srv := &http.Server{Addr: a.cfg.listen, Handler: mux}
	go srv.ListenAndServe()
	s <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
loop:
	for c := range r {
		switch c.Cmd {
		case svc.Interrogate:
			s <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			break loop
		}
	}
	s <- svc.Status{State: svc.StopPending}
	srv.Close()
	return false, 0
}

func main() {
	configPath := flag.String("config", "config.yaml", "the YAML config file")
	flag.Parse()
	cfg, err := readConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Run under the service manager; started any other way, svc.Run fails at once (1063) and
	// the program says what it is. (svc.IsWindowsService is false under Wine's SCM.)
	if err := svc.Run("acme-agent", agent{cfg}); err != nil {
		fmt.Println("acme-agent", buildinfo.Version)
	}
}
"#;

/// The foreign repository, committed and tagged v1.4.0, in a folder whose name has a space and
/// non-ASCII letters.
fn foreign_repository(parent: &Path, port: u16) -> PathBuf {
    let root = parent.join("Acme Agent – Zürich");
    let go_sum = std::fs::read_to_string(workspace_root().join("service/go.sum")).unwrap();
    write(
        &root,
        "go.mod",
        "module git.example.org/ops/acme-agent\n\ngo 1.24.0\n\nrequire golang.org/x/sys v0.41.0\n",
    );
    write(&root, "go.sum", &go_sum);
    write(&root, "cmd/acme-agent/main.go", SERVICE_GO);
    write(
        &root,
        "cmd/acmectl/main.go",
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"git.example.org/ops/acme-agent/internal/buildinfo\"\n)\n\nfunc main() { fmt.Println(\"acmectl\", buildinfo.Version) }\n",
    );
    write(
        &root,
        "internal/buildinfo/buildinfo.go",
        "// Package buildinfo is set at link time.\npackage buildinfo\n\nvar (\n\tVersion   = \"dev\"\n\tRevision  = \"unknown\"\n\tBranch    string\n\tBuildDate string\n)\n",
    );
    write(
        &root,
        "configs/config.yaml",
        &format!("# acme-agent settings\nlisten: \"127.0.0.1:{port}\"\ngreeting: \"Grüezi from Zürich\"\n"),
    );
    write(&root, "static/index.html", "<h1>acme</h1>\n");
    write(&root, "static/css/site.css", "h1 { color: teal }\n");
    write(&root, "LICENSE", "MIT License\n");
    write(&root, ".gitignore", "*.log\n");
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "acme-agent"]);
    git(&root, &["tag", "v1.4.0"]);
    root
}

/// Runs one README command in `repo` as a developer would: `cargo xtask …` of this checkout
/// for `init`, the adopter's own `cargo xtask …` after it; `cd` and `git` as they are.
fn run_readme_command(line: &str, cwd: &mut PathBuf, repo: &Path) -> Output {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let repo_path = repo.display().to_string();
    let words: Vec<String> = rejoin_quoted(words)
        .into_iter()
        .map(|w| w.replace("~/src/acme-agent", &repo_path))
        .collect();
    match words[0].as_str() {
        "cd" => {
            *cwd = PathBuf::from(&words[1]);
            Command::new("true").output().unwrap()
        }
        "cargo" if words.get(2).map(String::as_str) == Some("init") => {
            Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(&words[2..])
                .current_dir(workspace_root())
                .output()
                .unwrap()
        }
        "cargo" => {
            let build_dir = workspace_root().join("target").join("adopt-build");
            Command::new("cargo")
                .args(&words[1..])
                .current_dir(&*cwd)
                .env("CARGO_BUILD_BUILD_DIR", build_dir)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CI") // a developer's machine: the development key signs snapshots
                .output()
                .unwrap()
        }
        program => Command::new(program)
            .args(&words[1..])
            .current_dir(&*cwd)
            .output()
            .unwrap(),
    }
}

/// `git commit -m "a b"` split on spaces → the quoted words joined again.
fn rejoin_quoted(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for word in words {
        match open.take() {
            Some(mut acc) => {
                acc.push(' ');
                acc.push_str(&word);
                if acc.ends_with('"') {
                    out.push(acc.trim_matches('"').to_string());
                } else {
                    open = Some(acc);
                }
            }
            None if word.starts_with('"') && !(word.len() > 1 && word.ends_with('"')) => {
                open = Some(word)
            }
            None => out.push(word.trim_matches('"').to_string()),
        }
    }
    out
}

fn release_dir(repo: &Path) -> PathBuf {
    let out = repo.join("target").join("winrelease");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    assert_eq!(dirs.len(), 1, "one release in {}: {dirs:?}", out.display());
    let name = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("1.4.1-dev.1+g") && !name.contains("dirty"),
        "the adopted repository's first release is {name}: the tree must be clean after `cargo xtask` ran"
    );
    dirs[0].clone()
}

#[test]
fn adopt_foreign_repository() {
    for tool in ["go", "git", "minisign", "sha256sum"] {
        if testkit::require_tool(tool).is_none() {
            return;
        }
    }
    let wine = require_wine(TEST);
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let repo = foreign_repository(work.path(), port);
    let mut cwd = workspace_root();
    let commands = readme_commands();
    assert!(commands.len() >= 3, "{commands:?}");
    for line in &commands {
        let out = run_readme_command(line, &mut cwd, &repo);
        assert!(out.status.success(), "`{line}` failed:\n{}", text(&out));
        eprintln!(
            "$ {line}\n{}",
            text(&out).lines().take(30).collect::<Vec<_>>().join("\n")
        );
    }
    check_adopted_config(&repo);
    let dir = release_dir(&repo);
    check_signatures(&repo, &dir);
    check_zip(&dir);
    check_broken_yaml_is_refused(&repo);
    if wine {
        install_and_run(&dir, port);
    }
}

/// What `init` wrote, read back by cargo.
fn check_adopted_config(repo: &Path) {
    let toml = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    for needle in [
        "exe_name = \"acme-agent\"",
        "go_package = \"./cmd/acme-agent\"",
        "-X git.example.org/ops/acme-agent/internal/buildinfo.Version={{.Version}}",
        "buildinfo.Revision={{.FullCommit}}",
        "config_template = \"configs/config.yaml\"",
        "exe_name = \"acmectl\"",
        "src = \"static\"",
    ] {
        assert!(toml.contains(needle), "{needle} not in\n{toml}");
    }
    // A second init leaves everything alone and says so.
    let again = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["init", "--into"])
        .arg(repo)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("left alone  Cargo.toml"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("Cargo.toml")).unwrap(),
        toml
    );
}

/// Stock `sha256sum -c` and `minisign -V` verify every file of the release.
fn check_signatures(repo: &Path, dir: &Path) {
    let sums = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(sums.status.success(), "{}", text(&sums));
    let listed = String::from_utf8_lossy(&sums.stdout);
    for name in [
        "acme-agent_1.4.1",
        "acmectl_1.4.1",
        "_x64.msi",
        "_windows_amd64.zip",
    ] {
        assert!(listed.contains(name), "{name} not in\n{listed}");
    }
    let pubkey = repo.join("target/winrelease/dev-key/winrelease-dev.pub");
    let mut signed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(file) = path.to_str().and_then(|p| p.strip_suffix(".minisig")) else {
            continue;
        };
        let out = Command::new("minisign")
            .args(["-V", "-q", "-m", file, "-p"])
            .arg(&pubkey)
            .output()
            .unwrap();
        assert!(out.status.success(), "minisign -V {file}: {}", text(&out));
        signed += 1;
    }
    assert!(signed >= 6, "only {signed} signatures verified");
}

/// The zip holds the same files the MSI installs.
fn check_zip(dir: &Path) {
    let zip = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .unwrap();
    let archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    for name in [
        "acme-agent.exe",
        "acmectl.exe",
        "config.yaml",
        "static/index.html",
        "static/css/site.css",
        "LICENSE.txt",
        "README.txt",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
}

/// A broken YAML config stops the release before anything is built, naming line and column.
fn check_broken_yaml_is_refused(repo: &Path) {
    let config = repo.join("configs/config.yaml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, "listen: [unclosed\ngreeting: x\n").unwrap();
    let before = std::fs::read_dir(repo.join("target/winrelease"))
        .unwrap()
        .count();
    let out = Command::new("cargo")
        .args(["xtask", "release", "--snapshot"])
        .current_dir(repo)
        .env(
            "CARGO_BUILD_BUILD_DIR",
            workspace_root().join("target/adopt-build"),
        )
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CI")
        .output()
        .unwrap();
    std::fs::write(&config, good).unwrap();
    let message = text(&out);
    assert!(!out.status.success(), "{message}");
    assert!(message.contains("configs/config.yaml"), "{message}");
    assert!(message.contains("not valid YAML"), "{message}");
    assert!(message.contains("line 2, column 9"), "{message}");
    let after = std::fs::read_dir(repo.join("target/winrelease"))
        .unwrap()
        .count();
    assert_eq!(before, after, "a refused release left a folder behind");
}

/// The MSI under Wine: the service runs, prints the stamped version, reads its YAML config from
/// the data folder; the second binary and the static folder are in place.
fn install_and_run(dir: &Path, port: u16) {
    let logs = KeptOnFailure::new(TEST);
    let mut prefix = Prefix::create(logs.path());
    let msi = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "msi"))
        .unwrap();
    let run = prefix.msiexec(&["/i", &win_path(&msi)], "install");
    run.assert_exit(0);
    prefix.wait_service_state("acme-agent", SERVICE_RUNNING, Duration::from_secs(30));
    let version = http::get_ok(port, "/version", Duration::from_secs(30)).unwrap();
    assert!(
        version.body.starts_with("acme-agent 1.4.1-") && !version.body.contains("unknown"),
        "{}",
        version.body
    );
    let greeting = http::get_ok(port, "/config", Duration::from_secs(10)).unwrap();
    assert_eq!(greeting.body, "Grüezi from Zürich");
    // (Go's file server answers /index.html with a redirect to the folder.)
    let page = http::get_ok(port, "/static/css/site.css", Duration::from_secs(10)).unwrap();
    assert_eq!(page.body, "h1 { color: teal }\n");
    for path in [
        r"C:\Program Files\acme-agent\acmectl.exe",
        r"C:\Program Files\acme-agent\static\index.html",
        r"C:\ProgramData\acme-agent\config.yaml",
    ] {
        assert!(prefix.c_path(path).is_file(), "{path} not installed");
    }
}
