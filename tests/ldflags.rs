//! Stamping like GoReleaser, against a Go program winrelease has never seen: its version
//! variables live in `internal/buildinfo` under other names, and a pasted GoReleaser `ldflags`
//! line must land there, or be refused naming the variables that exist.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use winrelease::config::{Config, Project};
use winrelease::gobuild::{self, BuildError, BuildRequest, GoEnvironment};
use winrelease::stamp;

const MODULE: &str = "example.org/acme/widget-tool";
const DATE: &str = "2026-03-04T05:06:07Z";

const BUILDINFO_GO: &str = r#"// Package buildinfo holds what the release pipeline stamps in at link time.
package buildinfo

var (
	Version   = "dev"
	Revision  = "unknown"
	Branch    string
	BuildDate string
)

// String is the one-line version report.
func String() string {
	return "widget-tool " + Version + " (branch: " + Branch + ", revision: " + Revision + ", built: " + BuildDate + ")"
}
"#;

const MAIN_GO: &str = r#"package main

import (
	"fmt"

	"example.org/acme/widget-tool/internal/buildinfo"
)

var builtBy = "unknown"

func main() {
	fmt.Println(buildinfo.String() + " by " + builtBy)
}
"#;

/// A fresh repository with the widget-tool module, committed at [`DATE`] and tagged v2.5.0.
fn widget_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, text) in [
        ("go.mod", format!("module {MODULE}\n\ngo 1.22\n")),
        ("internal/buildinfo/buildinfo.go", BUILDINFO_GO.to_string()),
        ("cmd/widget-tool/main.go", MAIN_GO.to_string()),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    testkit::git_at(root, &["init", "-q", "-b", "main"], DATE);
    testkit::git_at(root, &["add", "."], DATE);
    testkit::git_at(root, &["commit", "-q", "-m", "widget-tool"], DATE);
    testkit::git_at(root, &["tag", "v2.5.0"], DATE);
    dir
}

/// The project of `repo` with `ldflags` in its `[workspace.metadata.winrelease]`.
fn project(repo: &Path, ldflags: &[&str]) -> Result<Project, winrelease::config::ConfigError> {
    let manifest = repo.join("Cargo.toml");
    let value = json!({
        "product": "Widget Tool",
        "manufacturer": "Acme",
        "upgrade_code": "0E5C2B7A-8D4F-4A61-9C3E-5B7D1F2A4C68",
        "service_dir": ".",
        "go_package": "./cmd/widget-tool",
        "exe_name": "widget-tool",
        "ldflags": ldflags,
        "service": {"name": "WidgetTool", "display_name": "Widget Tool", "listen_port": 9090},
    });
    Ok(Project {
        root: repo.to_path_buf(),
        manifest: manifest.clone(),
        target_dir: repo.join("target"),
        config: Config::from_value(value, &manifest)?,
    })
}

fn go_env(vars: &[(&str, &str)]) -> GoEnvironment {
    GoEnvironment {
        inputs: Vec::new(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn have_go() -> bool {
    testkit::require_tool_or("go", "install Go: https://go.dev/dl/").is_some()
}

/// What is left in the project's version folder (nothing, after a refusal).
fn left_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn goreleaser_line(variable_suffix: &str) -> String {
    let bi = format!("{MODULE}/internal/buildinfo");
    format!(
        "-s -w -X {bi}.Version{variable_suffix}={{{{.Version}}}} -X {bi}.Revision={{{{.FullCommit}}}} -X '{bi}.Branch={{{{.Env.WIDGET_BRANCH}}}}' -X {bi}.BuildDate={{{{.Date}}}}"
    )
}

#[test]
fn a_pasted_goreleaser_ldflags_line_stamps_the_internal_package() {
    if !have_go() {
        return;
    }
    let repo = widget_repository();
    let line = goreleaser_line("");
    let project = project(repo.path(), &[&line, "-X main.builtBy=winrelease"]).unwrap();
    let versioned = stamp::versioned(repo.path()).unwrap();
    let env = go_env(&[("WIDGET_BRANCH", "release/2.5")]);
    let exe = gobuild::build_project(&project, &versioned, &env)
        .unwrap()
        .service;
    assert_eq!(
        exe.path.file_name().unwrap(),
        "widget-tool_2.5.0_windows_amd64.exe"
    );
    let commit = &versioned.stamp.commit;
    let expected = format!(
        "widget-tool 2.5.0 (branch: release/2.5, revision: {commit}, built: {DATE}) by winrelease"
    );

    // The Windows exe carries the values; the same invocation built for this host prints them.
    let bytes = std::fs::read(&exe.path).unwrap();
    for value in [commit.as_str(), "release/2.5", DATE, "winrelease"] {
        assert!(
            bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "{value} not in the exe"
        );
    }
    let module_dir = project.service_dir();
    let out = project.version_dir(&versioned.stamp.version);
    let binary = gobuild::Binary::all(&project)[0];
    let request = BuildRequest::for_project(&project, &versioned, binary, &module_dir, &out, &env);
    let host_exe = repo.path().join("widget-tool-host");
    let built = request
        .invocation()
        .unwrap()
        .command(&module_dir, "build")
        .env("GOOS", std::env::consts::OS)
        .env("GOARCH", host_goarch())
        .arg("-o")
        .arg(&host_exe)
        .arg("./cmd/widget-tool")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let printed = Command::new(&host_exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), expected);
}

fn host_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[test]
fn an_x_target_that_does_not_exist_is_refused_naming_the_real_variables() {
    if !have_go() {
        return;
    }
    let repo = widget_repository();
    let typo = goreleaser_line("").replace("buildinfo.Version=", "buildinfo.Verison=");
    let by_import_path = format!("-X {MODULE}/cmd/widget-tool.builtBy=winrelease");
    let project = project(repo.path(), &[&typo, &by_import_path]).unwrap();
    let versioned = stamp::versioned(repo.path()).unwrap();
    let env = go_env(&[("WIDGET_BRANCH", "main")]);
    let err = gobuild::build_project(&project, &versioned, &env).unwrap_err();
    assert!(matches!(err, BuildError::StampNotLanded(_)), "{err:?}");
    let message = err.to_string();
    let needles: [String; 9] = [
        format!("-X {MODULE}/internal/buildinfo.Verison has no effect: package {MODULE}/internal/buildinfo declares no variable `Verison`"),
        format!("-X {MODULE}/cmd/widget-tool.builtBy has no effect: the main package's variables are written `main.builtBy`"),
        format!("the linked packages of {MODULE} declare these string variables:"),
        format!("  {MODULE}/internal/buildinfo.Version\n"),
        format!("  {MODULE}/internal/buildinfo.Revision\n"),
        format!("  {MODULE}/internal/buildinfo.Branch\n"),
        format!("  {MODULE}/internal/buildinfo.BuildDate\n"),
        "  main.builtBy\n".to_string(),
        format!("fix: change `ldflags` in [workspace.metadata.winrelease] to -X {MODULE}/internal/buildinfo.Version=…"),
    ];
    for needle in &needles {
        assert!(
            message.contains(needle),
            "missing {needle:?} in:\n{message}"
        );
    }
    let out = project.version_dir(&versioned.stamp.version);
    assert!(left_in(&out).is_empty(), "left behind: {:?}", left_in(&out));
}

#[test]
fn unknown_fields_and_missing_variables_are_refused_before_building() {
    let repo = widget_repository();
    let err = project(repo.path(), &["-X main.version={{.Verison}}"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: [workspace.metadata.winrelease]: key `ldflags[0]`: unknown template field {{{{.Verison}}}}; did you mean {{{{.Version}}}}?",
            repo.path().join("Cargo.toml").display()
        )
    );

    if !have_go() {
        return;
    }
    let line = goreleaser_line("");
    let project = project(repo.path(), &[&line]).unwrap();
    let versioned = stamp::versioned(repo.path()).unwrap();
    let err = gobuild::build_project(&project, &versioned, &go_env(&[])).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("[workspace.metadata.winrelease] key `ldflags[0]`: {{.Env.WIDGET_BRANCH}}: the environment variable WIDGET_BRANCH is not set\nfix: set WIDGET_BRANCH"),
        "{message}"
    );
    assert!(
        !project.out_dir().exists(),
        "nothing is written before the templates render"
    );
}
