//! Runs a GitHub Actions workflow's jobs the way a fresh runner would, without GitHub: each
//! `run:` step in bash with the job's environment (every `${{ … }}` the workflow uses resolved
//! from the test's repository variables and secrets; an unknown expression fails the test),
//! `actions/upload-artifact` / `download-artifact` as a copy through a folder, and the other
//! `uses:` steps (checkout, toolchains, caches) as what the test machine already has.
//!
//! Stand-ins on PATH: `cargo xtask …` runs the xtask binary under test (any other `cargo`
//! command runs the real cargo), and `gh` serves GitHub Releases from a folder
//! (`<github>/<tag>/<files>`): `release list --json`, `release download --pattern`, `release
//! create`. Every `gh` call is logged to `<github>/gh.log`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A workflow file of `repo`, parsed.
pub fn workflow(repo: &Path, name: &str) -> Yaml {
    let path = repo.join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .remove(0)
}

/// `jobs.<job>.steps`.
pub fn steps<'w>(workflow: &'w Yaml, job: &str) -> &'w [Yaml] {
    workflow["jobs"][job]["steps"]
        .as_vec()
        .unwrap_or_else(|| panic!("job {job} has no steps"))
}

/// The string values of a mapping (`env:`), by key.
pub fn mapping(yaml: &Yaml) -> BTreeMap<String, String> {
    yaml.as_hash()
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("{other:?} is not a scalar"),
                    };
                    (k.as_str().unwrap().to_string(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What GitHub would know when running the workflow for a tag.
pub struct Repository {
    pub tag: String,
    pub vars: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

impl Repository {
    /// `${{ expr }}` as GitHub evaluates the expressions these workflows use (a missing
    /// variable or secret is the empty string).
    fn evaluate(&self, expr: &str) -> String {
        if let Some(name) = expr.strip_prefix("vars.") {
            return self.vars.get(name).cloned().unwrap_or_default();
        }
        if let Some(name) = expr.strip_prefix("secrets.") {
            return self.secrets.get(name).cloned().unwrap_or_default();
        }
        match expr {
            "github.ref_name" => self.tag.clone(),
            "github.repository" => "example/hellosvc".into(),
            "github.token" => "stand-in-token".into(),
            _ => panic!("the workflow uses ${{{{ {expr} }}}}, which this runner cannot evaluate: teach it or simplify the workflow"),
        }
    }

    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed ${{ }}") + start;
            out.push_str(&self.evaluate(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// One job's outcome: the combined output of its steps, and the step that failed.
pub struct JobRun {
    pub log: String,
    pub failed_step: Option<(String, Option<i32>)>,
}

/// A fresh runner for one workflow run: stand-ins, an artifact folder, a fake GitHub.
pub struct Runner {
    pub repo: PathBuf,
    pub github: PathBuf,
    dir: tempfile::TempDir,
}

impl Runner {
    /// A runner that checks out `repo`; `github` holds the repository's GitHub Releases
    /// (shared between runs, as GitHub is).
    pub fn new(repo: &Path, github: &Path) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(github).unwrap();
        write_script(&bin.join("cargo"), CARGO_STAND_IN);
        write_script(&bin.join("gh"), GH_STAND_IN);
        Runner {
            repo: repo.to_path_buf(),
            github: github.to_path_buf(),
            dir,
        }
    }

    /// Runs every job of `workflow` in order (a job whose `needs` failed is skipped, as on
    /// GitHub); returns each job's run by name.
    pub fn run(&self, workflow: &Yaml, repository: &Repository) -> BTreeMap<String, JobRun> {
        let mut runs = BTreeMap::new();
        for (name, job) in workflow["jobs"].as_hash().unwrap() {
            let name = name.as_str().unwrap().to_string();
            let needs: Vec<&str> = match &job["needs"] {
                Yaml::String(s) => vec![s.as_str()],
                Yaml::Array(a) => a.iter().filter_map(Yaml::as_str).collect(),
                _ => Vec::new(),
            };
            let blocked = needs.iter().any(|n: &&str| {
                runs.get(*n)
                    .is_none_or(|r: &JobRun| r.failed_step.is_some())
            });
            if blocked {
                continue;
            }
            let run = self.run_job(workflow, &name, repository);
            runs.insert(name, run);
        }
        runs
    }

    fn run_job(&self, workflow: &Yaml, job: &str, repository: &Repository) -> JobRun {
        // A job that checks the repository out works in it; another starts in an empty folder.
        let checks_out = steps(workflow, job).iter().any(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        });
        let workdir = if checks_out {
            self.repo.clone()
        } else {
            let dir = self.dir.path().join("work").join(job);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        };
        let mut env = mapping(&workflow["env"]);
        env.extend(mapping(&workflow["jobs"][job]["env"]));
        let mut log = String::new();
        for step in steps(workflow, job) {
            let mut step_env = env.clone();
            step_env.extend(mapping(&step["env"]));
            let step_env: BTreeMap<String, String> = step_env
                .into_iter()
                .map(|(k, v)| (k, repository.expand(&v)))
                .collect();
            let name = step["name"]
                .as_str()
                .or(step["uses"].as_str())
                .unwrap_or("run")
                .to_string();
            log.push_str(&format!("== {job}: {name}\n"));
            let outcome = match (step["uses"].as_str(), step["run"].as_str()) {
                (Some(uses), _) => {
                    self.uses(uses, &step["with"], &workdir);
                    Ok(())
                }
                (None, Some(script)) => {
                    self.run_step(&repository.expand(script), &step_env, &workdir, &mut log)
                }
                _ => panic!("step {name} of {job} neither uses an action nor runs a command"),
            };
            if let Err(code) = outcome {
                return JobRun {
                    log,
                    failed_step: Some((name, code)),
                };
            }
        }
        JobRun {
            log,
            failed_step: None,
        }
    }

    fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    /// The actions that move files between jobs; any other action is the machine's setup.
    fn uses(&self, uses: &str, with: &Yaml, workdir: &Path) {
        let with = mapping(with);
        let name = with.get("name").cloned().unwrap_or_default();
        let store = self.artifacts().join(&name);
        if uses.starts_with("actions/upload-artifact@") {
            copy_files(&workdir.join(&with["path"]), &store);
            let empty = std::fs::read_dir(&store).unwrap().next().is_none();
            assert!(
                !(empty && with.get("if-no-files-found").map(String::as_str) == Some("error")),
                "upload-artifact {name}: no files"
            );
        } else if uses.starts_with("actions/download-artifact@") {
            copy_files(&store, &workdir.join(&with["path"]));
        }
    }

    fn run_step(
        &self,
        script: &str,
        env: &BTreeMap<String, String>,
        workdir: &Path,
        log: &mut String,
    ) -> Result<(), Option<i32>> {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(workdir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("CARGO", env!("CARGO"))
            .env("WINRELEASE_TEST_XTASK", env!("CARGO_BIN_EXE_xtask"))
            .env("FAKE_GITHUB", &self.github)
            .envs(go_environment())
            .envs(env)
            .output()
            .unwrap();
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(())
        } else {
            Err(out.status.code())
        }
    }
}

/// The Go variables of this machine, so the runner's `go build` finds its toolchain and caches.
fn go_environment() -> Vec<(String, String)> {
    [
        "GOPATH",
        "GOCACHE",
        "GOMODCACHE",
        "GOROOT",
        "GOPROXY",
        "GOTOOLCHAIN",
        "TMPDIR",
    ]
    .iter()
    .filter_map(|n| Some((n.to_string(), std::env::var(n).ok()?)))
    .collect()
}

fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `cargo xtask …` is the binary under test (the alias would build it first).
const CARGO_STAND_IN: &str = r#"#!/usr/bin/env bash
if [[ "${1:-}" == xtask ]]; then shift; exec "$WINRELEASE_TEST_XTASK" "$@"; fi
exec "$CARGO" "$@"
"#;

/// GitHub Releases in "$FAKE_GITHUB/<tag>/".
const GH_STAND_IN: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "gh $*" >>"$FAKE_GITHUB/gh.log"
[[ "${1:-} ${2:-}" == "release list" ]] && {
  sep=""; printf '['
  for d in "$FAKE_GITHUB"/*/; do
    [[ -d "$d" ]] || continue
    printf '%s{"tagName":"%s","isDraft":false}' "$sep" "$(basename "$d")"; sep=","
  done
  printf ']\n'; exit 0
}
[[ "${1:-} ${2:-}" == "release download" ]] && {
  tag="$3"; shift 3; dir=.; patterns=()
  while (($#)); do
    case "$1" in
      --dir) dir="$2"; shift 2 ;;
      --pattern) patterns+=("$2"); shift 2 ;;
      *) echo "stand-in gh: unexpected $1" >&2; exit 2 ;;
    esac
  done
  [[ -d "$FAKE_GITHUB/$tag" ]] || { echo "release not found" >&2; exit 1; }
  mkdir -p "$dir"
  for f in "$FAKE_GITHUB/$tag"/*; do
    name="$(basename "$f")"
    for p in "${patterns[@]}"; do
      # shellcheck disable=SC2053
      if [[ "$name" == $p ]]; then cp "$f" "$dir/"; break; fi
    done
  done
  exit 0
}
[[ "${1:-} ${2:-}" == "release create" ]] && {
  tag="$3"; shift 3; files=()
  while (($#)); do
    case "$1" in
      --verify-tag) shift ;;
      --title|--notes) shift 2 ;;
      *) files+=("$1"); shift ;;
    esac
  done
  [[ ! -e "$FAKE_GITHUB/$tag" ]] || { echo "a release with tag $tag already exists" >&2; exit 1; }
  mkdir -p "$FAKE_GITHUB/$tag"
  cp "${files[@]}" "$FAKE_GITHUB/$tag/"
  exit 0
}
echo "stand-in gh: unsupported: $*" >&2
exit 2
"#;
