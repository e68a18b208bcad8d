//! Stamp: version metadata read from git.
//!
//! Rules (also in the README):
//! - HEAD exactly on a clean `vMAJOR.MINOR.PATCH[-pre]` tag → that version.
//! - Otherwise the next patch's `dev` pre-release, which sorts after the tag and before the next
//!   patch: `v1.4.0` + 7 commits → `1.4.1-dev.7+g1a2b3c4`; a dirty tree adds `.dirty` to the build
//!   metadata (`1.4.1-dev.0+g1a2b3c4.dirty` when HEAD is the tag itself). After a pre-release tag
//!   `v1.5.0-rc.1` the dev version is `1.5.0-rc.1.dev.N`, which SemVer orders correctly but which
//!   has no MSI ProductVersion (see `version.rs`): build such commits from a tag.
//! - No SemVer tag reachable → as if `v0.0.0` were on the root: `0.0.1-dev.N+g…`, N = commits.
//! - Tags that start with `v` but are not SemVer (`v1.2`, `v1.2.3.4`) are ignored and listed
//!   in `Stamp::warnings`.
//! - Detached HEAD works like any other HEAD.
//! - A shallow clone is accepted only when HEAD itself carries the tag (distance is then known
//!   to be 0); otherwise it is an error telling the user to fetch full history.

use std::path::Path;

use git2::{Repository, StatusOptions};
use semver::{BuildMetadata, Prerelease, Version};

use crate::version::{self, MsiVersion, UnmappableVersion};

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error(
        "{path} is not inside a git repository\nfix: run from a clone of the service's repository"
    )]
    NotARepository {
        path: String,
        #[source]
        source: git2::Error,
    },
    #[error("the repository has no commits yet\nfix: commit the service before releasing it")]
    NoCommits,
    #[error("this is a shallow clone and HEAD is not tagged, so the nearest tag and the distance to it are unknown\nfix: fetch full history: `git fetch --unshallow --tags`, or in GitHub Actions `actions/checkout` with `fetch-depth: 0`")]
    Shallow,
    #[error("reading git: {0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Unmappable(#[from] UnmappableVersion),
}

/// Version metadata for one build, all derived from git.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stamp {
    /// The SemVer version this build is released as.
    pub version: Version,
    /// The tag the version is derived from (`None` when no SemVer tag is reachable).
    pub tag: Option<String>,
    /// Commits between the tag and HEAD.
    pub distance: u32,
    /// Full hex SHA-1 of HEAD.
    pub commit: String,
    /// Committer time of HEAD, seconds since the Unix epoch; the only clock any artifact sees.
    pub commit_time: i64,
    /// Tracked or untracked changes (ignored files excepted) in the work tree.
    pub dirty: bool,
    /// Things the user should know that do not stop the build.
    pub warnings: Vec<String>,
}

impl Stamp {
    /// True when this is a release build: HEAD is exactly on a tag and the tree is clean.
    pub fn is_exact_tag(&self) -> bool {
        self.tag.is_some() && self.distance == 0 && !self.dirty
    }

    /// Abbreviated commit, as `git describe` prints it.
    pub fn short_commit(&self) -> &str {
        &self.commit[..7.min(self.commit.len())]
    }

    /// Commit time as RFC 3339 UTC (`2026-11-25T16:02:42Z`).
    pub fn commit_time_rfc3339(&self) -> String {
        rfc3339_utc(self.commit_time)
    }
}

/// The stamp plus the MSI ProductVersion it maps to: all that later stages know of the version.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub stamp: Stamp,
    pub msi_version: MsiVersion,
}

/// Reads the stamp of the repository that contains `path` and maps it to an MSI version.
pub fn versioned(path: &Path) -> Result<Versioned, StampError> {
    let stamp = stamp(path)?;
    let msi_version = version::msi_version(&stamp.version)?;
    Ok(Versioned { stamp, msi_version })
}

/// Reads the stamp of the repository that contains `path`.
pub fn stamp(path: &Path) -> Result<Stamp, StampError> {
    let repo = Repository::discover(path).map_err(|source| StampError::NotARepository {
        path: path.display().to_string(),
        source,
    })?;
    let head = match repo.head() {
        Ok(head) => head.peel_to_commit()?,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => return Err(StampError::NoCommits),
        Err(e) => return Err(e.into()),
    };
    let head_id = head.id();
    let mut warnings = Vec::new();

    // Every SemVer tag with the commit it points at, sorted so that the scan below is stable.
    let mut tags: Vec<(String, Version, git2::Oid)> = Vec::new();
    for name in repo.tag_names(Some("v*"))?.iter().flatten().flatten() {
        let Ok(reference) = repo.find_reference(&format!("refs/tags/{name}")) else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        match Version::parse(&name[1..]) {
            Ok(v) if v.build.is_empty() => tags.push((name.to_string(), v, commit.id())),
            _ => {
                let at_head = if commit.id() == head_id {
                    " (it is on HEAD)"
                } else {
                    ""
                };
                warnings.push(format!(
                    "tag `{name}`{at_head} is not vMAJOR.MINOR.PATCH[-PRERELEASE] and is ignored"
                ))
            }
        }
    }
    tags.sort_by(|a, b| b.1.cmp(&a.1));

    // Nearest reachable tag: smallest distance, then highest version.
    let mut nearest: Option<(String, Version, u32)> = None;
    for (name, version, oid) in &tags {
        if *oid != head_id && !repo.graph_descendant_of(head_id, *oid)? {
            continue;
        }
        if repo.is_shallow() && *oid != head_id {
            continue;
        }
        let distance = count_commits(&repo, head_id, Some(*oid))?;
        if nearest.as_ref().is_none_or(|(_, _, d)| distance < *d) {
            nearest = Some((name.clone(), version.clone(), distance));
        }
    }
    if repo.is_shallow() && nearest.as_ref().is_none_or(|(_, _, d)| *d != 0) {
        return Err(StampError::Shallow);
    }

    let dirty = is_dirty(&repo)?;
    let commit = head_id.to_string();
    let short = &commit[..7];
    let (tag, distance, version) = match nearest {
        Some((name, v, 0)) if !dirty => (Some(name), 0, v),
        Some((name, v, distance)) => {
            let dev = dev_version(&v, distance, short, dirty);
            (Some(name), distance, dev)
        }
        None => {
            let distance = count_commits(&repo, head_id, None)?;
            (
                None,
                distance,
                dev_version(&Version::new(0, 0, 0), distance, short, dirty),
            )
        }
    };
    Ok(Stamp {
        version,
        tag,
        distance,
        commit,
        commit_time: head.time().seconds(),
        dirty,
        warnings,
    })
}

/// The version of a build `distance` commits after `base`.
fn dev_version(base: &Version, distance: u32, short: &str, dirty: bool) -> Version {
    let mut v = base.clone();
    if base.pre.is_empty() {
        v.patch += 1;
        v.pre = Prerelease::new(&format!("dev.{distance}")).expect("valid identifier");
    } else {
        v.pre = Prerelease::new(&format!("{}.dev.{distance}", base.pre)).expect("valid identifier");
    }
    let build = if dirty {
        format!("g{short}.dirty")
    } else {
        format!("g{short}")
    };
    v.build = BuildMetadata::new(&build).expect("valid identifier");
    v
}

/// Commits reachable from `head` and not from `base` (all of them when `base` is `None`).
fn count_commits(
    repo: &Repository,
    head: git2::Oid,
    base: Option<git2::Oid>,
) -> Result<u32, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.push(head)?;
    if let Some(base) = base {
        walk.hide(base)?;
    }
    let mut n = 0u32;
    for oid in walk {
        oid?;
        n += 1;
    }
    Ok(n)
}

fn is_dirty(repo: &Repository) -> Result<bool, git2::Error> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    Ok(!repo.statuses(Some(&mut options))?.is_empty())
}

/// Formats Unix seconds as RFC 3339 UTC without pulling in a date crate (civil-from-days).
pub fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_622_562), "2026-11-25T16:02:42Z");
    }

    #[test]
    fn dev_versions_sort_after_the_tag_and_before_the_next_patch() {
        let tag = Version::parse("1.4.0").unwrap();
        let dev = dev_version(&tag, 7, "1a2b3c4", false);
        assert_eq!(dev.to_string(), "1.4.1-dev.7+g1a2b3c4");
        assert!(tag < dev && dev < Version::parse("1.4.1").unwrap());
        let rc = Version::parse("1.5.0-rc.1").unwrap();
        let dev = dev_version(&rc, 3, "1a2b3c4", true);
        assert_eq!(dev.to_string(), "1.5.0-rc.1.dev.3+g1a2b3c4.dirty");
        assert!(rc < dev && dev < Version::parse("1.5.0-rc.2").unwrap());
    }
}
