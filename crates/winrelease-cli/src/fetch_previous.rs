//! `fetch-previous`: what a CI release needs of the release before it, when the runner has no
//! release store that outlives it. With a store configured the release reads the previous
//! release from the store itself and nothing is fetched; without one, the previous GitHub
//! Release's `manifest.json`, its signature and its MSI are downloaded with `gh` into a folder
//! for `release --previous DIR` (which verifies them with the release key before using them).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use winrelease::config::Project;
use winrelease::manifest::MANIFEST_FILE;
use winrelease::release::{self, ReleaseOptions};

use crate::edge::{self, ENV_STORE};

#[derive(clap::Args)]
pub struct FetchPreviousArgs {
    /// Folder to fetch into (emptied first; left empty when there is nothing to fetch).
    #[arg(long)]
    out: PathBuf,
    /// The tag being released: its own GitHub Release, if one exists, is not "previous".
    #[arg(long)]
    tag: Option<String>,
    /// Release store (default: WINRELEASE_STORE, else the config's `store`).
    #[arg(long)]
    store: Option<String>,
}

/// The files of a GitHub Release that `release --previous` uses.
const PATTERNS: [&str; 3] = [MANIFEST_FILE, "manifest.json.minisig", "*.msi"];

pub fn run(project: &Project, args: FetchPreviousArgs) -> Result<i32> {
    empty_folder(&args.out)?;
    let flag = edge::store_override(args.store.clone());
    if flag.is_some() || project.config.store.is_some() {
        let options = ReleaseOptions {
            store: flag,
            ..ReleaseOptions::default()
        };
        println!(
            "previous release: `release` reads it from the release store {}; nothing to fetch",
            release::store_location(project, &options)
        );
        return Ok(0);
    }
    println!(
        "no release store configured ({ENV_STORE} is unset and the config has no `store`): falling back to the previous GitHub Release"
    );
    let Some(tag) = previous_tag(&list_releases()?, args.tag.as_deref())? else {
        println!("no earlier GitHub Release: this release starts the chain");
        return Ok(0);
    };
    let mut download = vec!["release", "download", tag.as_str(), "--dir"];
    let out = args.out.to_string_lossy();
    download.push(&out);
    for pattern in PATTERNS {
        download.extend(["--pattern", pattern]);
    }
    gh(&download)?;
    if !args.out.join(MANIFEST_FILE).is_file() {
        bail!("GitHub Release {tag} has no {MANIFEST_FILE}: it was not made by winrelease\nfix: configure a release store ({ENV_STORE}) that holds the previous release, or delete the GitHub Release if it is not one");
    }
    println!(
        "previous release: GitHub Release {tag} → {}: {}",
        args.out.display(),
        file_names(&args.out)?.join(", ")
    );
    Ok(0)
}

/// `dir`, made empty (it is this command's output: a stale previous release must not linger).
fn empty_folder(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// `gh release list` as JSON: every release's tag and whether it is a draft.
fn list_releases() -> Result<serde_json::Value> {
    let out = gh(&[
        "release",
        "list",
        "--limit",
        "1000",
        "--json",
        "tagName,isDraft",
    ])?;
    serde_json::from_str(&out).context("reading the output of `gh release list --json`")
}

/// The published (non-draft) release with the highest `vX.Y.Z` version other than `current`.
fn previous_tag(releases: &serde_json::Value, current: Option<&str>) -> Result<Option<String>> {
    let Some(list) = releases.as_array() else {
        bail!("`gh release list --json` printed no list: {releases}");
    };
    let mut best: Option<(semver::Version, String)> = None;
    for entry in list {
        let tag = entry["tagName"].as_str().unwrap_or_default();
        if entry["isDraft"].as_bool() == Some(true) || Some(tag) == current {
            continue;
        }
        let Some(Ok(version)) = tag.strip_prefix('v').map(semver::Version::parse) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|(b, _)| version.cmp_precedence(b).is_gt())
        {
            best = Some((version, tag.to_string()));
        }
    }
    Ok(best.map(|(_, tag)| tag))
}

/// Runs `gh` with `args`; its stdout, or an error with its stderr.
fn gh(args: &[&str]) -> Result<String> {
    let out = Command::new("gh").args(args).output().map_err(|e| {
        anyhow::anyhow!("cannot run gh (the GitHub CLI): {e}\nfix: install gh (https://cli.github.com; GitHub's runners have it), or configure a release store ({ENV_STORE})")
    })?;
    if !out.status.success() {
        bail!(
            "`gh {}` failed ({}): {}\nfix: give the job a GH_TOKEN that may read the repository's releases (permissions: contents: read)",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn file_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::previous_tag;
    use serde_json::json;

    #[test]
    fn the_previous_tag_is_the_highest_published_version_other_than_the_one_released() {
        let releases = json!([
            {"tagName": "v1.10.0", "isDraft": false},
            {"tagName": "v1.9.0", "isDraft": false},
            {"tagName": "v2.0.0", "isDraft": true},
            {"tagName": "nightly", "isDraft": false},
            {"tagName": "v1.2.0", "isDraft": false}
        ]);
        let pick = |current| previous_tag(&releases, current).unwrap();
        assert_eq!(pick(None).as_deref(), Some("v1.10.0"));
        assert_eq!(pick(Some("v1.10.0")).as_deref(), Some("v1.9.0"));
        assert_eq!(previous_tag(&json!([]), None).unwrap(), None);
        assert!(previous_tag(&json!({"message": "x"}), None).is_err());
    }
}
