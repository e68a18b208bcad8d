//! Stamping real repositories made with the `git` CLI, as a user's clone would be.

use std::path::Path;

use winrelease::stamp::{stamp, StampError};

fn git(dir: &Path, args: &[&str]) -> String {
    testkit::git_at(dir, args, "2026-01-02T03:04:05Z")
}

fn repo_with_commits(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for i in 0..n {
        commit(dir.path(), i);
    }
    dir
}

fn commit(dir: &Path, i: usize) {
    std::fs::write(dir.join("file.txt"), format!("{i}\n")).unwrap();
    git(dir, &["add", "file.txt"]);
    git(dir, &["commit", "-q", "-m", &format!("commit {i}")]);
}

#[test]
fn exactly_on_a_clean_tag_is_that_version() {
    let repo = repo_with_commits(2);
    git(repo.path(), &["tag", "v1.2.3"]);
    let s = stamp(repo.path()).unwrap();
    assert_eq!(s.version.to_string(), "1.2.3");
    assert_eq!(s.tag.as_deref(), Some("v1.2.3"));
    assert_eq!(s.distance, 0);
    assert!(!s.dirty && s.is_exact_tag());
    assert_eq!(s.commit, git(repo.path(), &["rev-parse", "HEAD"]));
    assert_eq!(s.commit_time_rfc3339(), "2026-01-02T03:04:05Z");
}

#[test]
fn annotated_tags_count_too() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "-a", "-m", "release", "v2.0.0"]);
    assert_eq!(stamp(repo.path()).unwrap().version.to_string(), "2.0.0");
}

#[test]
fn commits_after_a_tag_give_the_next_patch_dev_prerelease() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v1.4.0"]);
    for i in 1..=7 {
        commit(repo.path(), i);
    }
    let s = stamp(repo.path()).unwrap();
    let short = &git(repo.path(), &["rev-parse", "HEAD"])[..7];
    assert_eq!(s.version.to_string(), format!("1.4.1-dev.7+g{short}"));
    assert_eq!(s.distance, 7);
    assert!(!s.is_exact_tag());
}

#[test]
fn the_nearest_tag_wins() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v1.0.0"]);
    commit(repo.path(), 1);
    git(repo.path(), &["tag", "v1.1.0"]);
    commit(repo.path(), 2);
    let s = stamp(repo.path()).unwrap();
    assert_eq!(s.tag.as_deref(), Some("v1.1.0"));
    assert!(s.version.to_string().starts_with("1.1.1-dev.1+g"));
}

#[test]
fn a_dirty_tree_is_flagged_even_on_a_tag() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v1.2.3"]);
    std::fs::write(repo.path().join("file.txt"), "edited\n").unwrap();
    let s = stamp(repo.path()).unwrap();
    assert!(s.dirty);
    assert!(!s.is_exact_tag());
    assert!(
        s.version.to_string().starts_with("1.2.4-dev.0+g"),
        "{}",
        s.version
    );
    assert!(s.version.to_string().ends_with(".dirty"));
}

#[test]
fn an_untracked_file_makes_the_tree_dirty_but_an_ignored_one_does_not() {
    let repo = repo_with_commits(1);
    std::fs::write(repo.path().join(".gitignore"), "target/\n").unwrap();
    git(repo.path(), &["add", ".gitignore"]);
    git(repo.path(), &["commit", "-q", "-m", "ignore"]);
    git(repo.path(), &["tag", "v1.0.0"]);
    std::fs::create_dir(repo.path().join("target")).unwrap();
    std::fs::write(repo.path().join("target/x"), "build output").unwrap();
    assert!(!stamp(repo.path()).unwrap().dirty);
    std::fs::write(repo.path().join("new.txt"), "x").unwrap();
    assert!(stamp(repo.path()).unwrap().dirty);
}

#[test]
fn no_tag_means_a_dev_version_of_0_0_1() {
    let repo = repo_with_commits(3);
    let s = stamp(repo.path()).unwrap();
    assert_eq!(s.tag, None);
    assert_eq!(s.distance, 3);
    assert!(
        s.version.to_string().starts_with("0.0.1-dev.3+g"),
        "{}",
        s.version
    );
}

#[test]
fn a_tag_that_is_not_semver_is_ignored_with_a_warning() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v1.0.0"]);
    commit(repo.path(), 1);
    git(repo.path(), &["tag", "v1.2"]);
    let s = stamp(repo.path()).unwrap();
    assert_eq!(s.tag.as_deref(), Some("v1.0.0"));
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("`v1.2` (it is on HEAD) is not vMAJOR.MINOR.PATCH"),
        "{:?}",
        s.warnings
    );
}

#[test]
fn a_detached_head_is_stamped_like_any_commit() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v3.1.4"]);
    commit(repo.path(), 1);
    let tagged = git(repo.path(), &["rev-parse", "v3.1.4"]);
    git(repo.path(), &["checkout", "-q", "--detach", &tagged]);
    assert_eq!(stamp(repo.path()).unwrap().version.to_string(), "3.1.4");
}

#[test]
fn a_prerelease_tag_is_its_own_version() {
    let repo = repo_with_commits(1);
    git(repo.path(), &["tag", "v1.5.0-rc.1"]);
    assert_eq!(
        stamp(repo.path()).unwrap().version.to_string(),
        "1.5.0-rc.1"
    );
}

#[test]
fn a_shallow_clone_without_a_tag_on_head_says_to_fetch_history() {
    let origin = repo_with_commits(2);
    git(origin.path(), &["tag", "v1.0.0", "HEAD~1"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "c"]);
    let err = stamp(&clone.path().join("c")).unwrap_err();
    assert!(matches!(err, StampError::Shallow), "{err}");
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
}

#[test]
fn a_shallow_clone_of_a_tagged_head_is_fine() {
    let origin = repo_with_commits(2);
    git(origin.path(), &["tag", "v1.0.0"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(
        clone.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "v1.0.0", &url, "c",
        ],
    );
    assert_eq!(
        stamp(&clone.path().join("c")).unwrap().version.to_string(),
        "1.0.0"
    );
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = stamp(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("not inside a git repository"),
        "{err}"
    );
}

#[test]
fn an_empty_repository_is_a_clear_error() {
    let dir = repo_with_commits(0);
    assert!(matches!(
        stamp(dir.path()).unwrap_err(),
        StampError::NoCommits
    ));
}
