//! A temporary git repository holding a copy of the workspace's example service (`service/`) and
//! config template (`templates/`), released through the real pipeline: the workspace's own
//! `[workspace.metadata.winrelease]` configuration, with the project root pointed at the
//! temporary repository and artifacts written to a temporary target directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use winrelease::config::Project;
use winrelease::gobuild::BuiltExes;
use winrelease::payload::Contents;
use winrelease::stamp::{self, Versioned};
use winrelease::{gobuild, package_msi};

/// The temporary repository and the project that builds from it.
pub struct Fixture {
    dir: tempfile::TempDir,
    pub project: Project,
    commits: u32,
}

/// One tagged version, built by the pipeline.
#[derive(Debug, Clone)]
pub struct Release {
    pub tag: String,
    pub versioned: Versioned,
    pub exes: BuiltExes,
}

/// A release's MSI, as the pipeline's MSI stage built it.
#[derive(Debug, Clone)]
pub struct Msi {
    pub path: PathBuf,
    /// `{XXXXXXXX-…}`, upper case: the form Windows Installer writes in the registry.
    pub product_code: String,
}

/// `{UPPER-CASE}` form of a GUID written with or without braces, in any case.
pub fn braced_guid(text: &str) -> String {
    let bare = text.trim().trim_start_matches('{').trim_end_matches('}');
    format!("{{{}}}", bare.to_ascii_uppercase())
}

impl Release {
    /// The SemVer version without the `v` (what `/version` reports).
    pub fn version(&self) -> String {
        self.versioned.stamp.version.to_string()
    }
}

impl Fixture {
    /// Copies `service/` and `templates/` of the workspace into a new repository and commits
    /// them.
    pub fn new() -> Fixture {
        let mut project = Project::load(None).expect("load the workspace's winrelease config");
        let workspace = project.root.clone();
        let dir = tempfile::Builder::new()
            .prefix("winrelease-wine-fixture-")
            .tempdir()
            .expect("create the fixture directory");
        let repo = dir.path().join("repo");
        for sub in ["service", "templates"] {
            copy_dir(&workspace.join(sub), &repo.join(sub));
        }
        project.root = repo;
        project.target_dir = dir.path().join("target");
        let mut fixture = Fixture {
            dir,
            project,
            commits: 0,
        };
        fixture.git(&["init", "-q", "-b", "main"]);
        fixture.commit("example service", |_| {});
        fixture
    }

    /// The repository's work tree.
    pub fn repo(&self) -> &Path {
        &self.project.root
    }

    /// Applies `change` to the work tree and commits everything (commit dates are fixed and
    /// increasing, so stamps are reproducible).
    pub fn commit(&mut self, message: &str, change: impl FnOnce(&Path)) {
        change(self.repo());
        self.commits += 1;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Tags HEAD `tag` and builds it with the pipeline; asserts the stamp is the clean tag.
    pub fn release(&mut self, tag: &str) -> Release {
        self.git(&["tag", tag]);
        let versioned = stamp::versioned(&self.project.root).expect("stamp the fixture repository");
        assert_eq!(
            format!("v{}", versioned.stamp.version),
            tag,
            "stamp of the fixture repository at {tag}: {:?}",
            versioned.stamp
        );
        assert!(
            !versioned.stamp.dirty,
            "fixture repository is dirty at {tag}"
        );
        let started = Instant::now();
        let exes = gobuild::build_project(&self.project, &versioned, &Default::default())
            .unwrap_or_else(|e| panic!("pipeline build of {tag} failed: {e}"));
        eprintln!(
            "built {tag}: {} ({} bytes) in {:.1} s",
            exes.service.path.display(),
            exes.service.size,
            started.elapsed().as_secs_f64()
        );
        Release {
            tag: tag.to_string(),
            versioned,
            exes,
        }
    }

    /// Runs the pipeline's MSI stage for `release`.
    pub fn package(&self, release: &Release) -> Msi {
        let started = Instant::now();
        let contents = Contents::read(&self.project).expect("the fixture's config and files");
        let built = package_msi::package_msi(
            &self.project,
            &release.versioned,
            contents.with(&release.exes),
            &self.project.version_dir(&release.versioned.stamp.version),
        )
        .unwrap_or_else(|e| panic!("pipeline MSI stage for {} failed: {e}", release.tag));
        eprintln!(
            "packaged {}: {} ({} bytes) in {:.1} s",
            release.tag,
            built.path.display(),
            built.size,
            started.elapsed().as_secs_f64()
        );
        Msi {
            path: built.path.clone(),
            product_code: braced_guid(&built.product_code.to_string()),
        }
    }

    fn git(&self, args: &[&str]) {
        // One day per commit from a fixed start: the stamp's commit time feeds the exe.
        let date = format!("2026-01-{:02}T12:00:00Z", 1 + self.commits.min(27));
        testkit::git_at(self.repo(), args, &date);
    }
}

/// Copies a directory tree, leaving out generated `.syso` resources (the build writes its own).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() && !entry.file_name().to_string_lossy().ends_with(".syso") {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}
