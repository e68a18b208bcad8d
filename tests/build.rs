//! The build stage against the bundled example service: version stamping into the exe and
//! byte-for-byte reproducibility across clones.

use std::path::{Path, PathBuf};

use winrelease::gobuild::{self, BuildRequest, BuiltExe};
use winrelease::{stamp, version};

fn example_service() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("service")
}

fn git(dir: &Path, args: &[&str], date: &str) {
    testkit::git_at(dir, args, date);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with(".syso") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A repository holding the example service, committed and tagged `tag`.
fn origin_with_tag(tag: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&example_service(), &dir.path().join("service"));
    git(
        dir.path(),
        &["init", "-q", "-b", "main"],
        "2026-03-04T05:06:07Z",
    );
    git(dir.path(), &["add", "."], "2026-03-04T05:06:07Z");
    git(
        dir.path(),
        &["commit", "-q", "-m", "service"],
        "2026-03-04T05:06:07Z",
    );
    git(dir.path(), &["tag", tag], "2026-03-04T05:06:07Z");
    dir
}

fn build_in(repo: &Path, out_dir: &Path) -> BuiltExe {
    try_build_in(repo, out_dir).unwrap()
}

fn try_build_in(repo: &Path, out_dir: &Path) -> Result<BuiltExe, gobuild::BuildError> {
    let stamp = stamp::stamp(repo).unwrap();
    let msi_version = version::msi_version(&stamp.version).unwrap();
    let module_dir = repo.join("service");
    gobuild::build(&BuildRequest {
        module_dir: &module_dir,
        package: "./cmd/hellosvc",
        version_package: "main",
        stamping: Default::default(),
        exe_name: "hellosvc",
        stamp: &stamp,
        msi_version,
        product: "Hello Service",
        manufacturer: "Example Corp",
        description: "An example Go service",
        out_dir,
        go_env: &Default::default(),
    })
}

fn have_go() -> bool {
    testkit::require_tool_or("go", "install Go: https://go.dev/dl/").is_some()
}

#[test]
fn a_tagged_commit_builds_an_exe_that_reports_its_version() {
    if !have_go() {
        return;
    }
    let origin = origin_with_tag("v1.2.3");
    let out = tempfile::tempdir().unwrap();
    let exe = build_in(origin.path(), out.path());
    assert_eq!(
        exe.path.file_name().unwrap(),
        "hellosvc_1.2.3_windows_amd64.exe"
    );
    let bytes = std::fs::read(&exe.path).unwrap();
    // PE32+ for x86-64: "MZ", then at e_lfanew "PE\0\0" with machine 0x8664 and magic 0x20b.
    assert_eq!(&bytes[..2], b"MZ");
    let pe = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&bytes[pe..pe + 4], b"PE\0\0");
    assert_eq!(u16::from_le_bytes([bytes[pe + 4], bytes[pe + 5]]), 0x8664);
    assert_eq!(u16::from_le_bytes([bytes[pe + 24], bytes[pe + 25]]), 0x20b);

    let info = winversion::read_from_pe(&bytes).unwrap();
    assert_eq!(
        info.file_version,
        [1, 2, 1023, 0],
        "FileVersion is the MSI version"
    );
    assert_eq!(info.string("ProductVersion"), Some("1.2.3"));
    assert_eq!(info.string("CompanyName"), Some("Example Corp"));
    assert_eq!(info.string("ProductName"), Some("Hello Service"));
    assert_eq!(info.string("OriginalFilename"), Some("hellosvc.exe"));

    // What /version reports is injected with -X: the values are in the binary's data.
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let commit = stamp::stamp(origin.path()).unwrap().commit;
    assert!(contains(&commit), "commit {commit} not injected");
    assert!(contains("2026-03-04T05:06:07Z"), "commit time not injected");
}

#[test]
fn two_clones_in_different_places_build_identical_exes() {
    if !have_go() {
        return;
    }
    let origin = origin_with_tag("v0.3.0");
    let url = format!("file://{}", origin.path().display());
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::Builder::new()
        .prefix("another-place")
        .tempdir()
        .unwrap();
    git(
        a.path(),
        &["clone", "-q", &url, "clone-a"],
        "2026-03-04T05:06:07Z",
    );
    git(
        b.path(),
        &["clone", "-q", &url, "somewhere-else"],
        "2026-03-04T05:06:07Z",
    );
    let exe_a = build_in(&a.path().join("clone-a"), &a.path().join("out"));
    // A later wall-clock time must not matter: only the commit time reaches the build.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let exe_b = build_in(&b.path().join("somewhere-else"), &b.path().join("dist"));
    let (bytes_a, bytes_b) = (
        std::fs::read(&exe_a.path).unwrap(),
        std::fs::read(&exe_b.path).unwrap(),
    );
    assert_eq!(bytes_a.len(), bytes_b.len());
    assert!(bytes_a == bytes_b, "the two builds differ");
    // Nothing of the local paths leaks in.
    let haystack = String::from_utf8_lossy(&bytes_a);
    assert!(!haystack.contains(&*a.path().to_string_lossy()));
    assert!(!haystack.contains("another-place"));
}

#[test]
fn a_failing_go_build_reports_go_output_and_leaves_no_exe() {
    if !have_go() {
        return;
    }
    let origin = origin_with_tag("v1.0.0");
    let main_go = origin.path().join("service/cmd/hellosvc/main.go");
    let mut text = std::fs::read_to_string(&main_go).unwrap();
    text.push_str("\nfunc broken() { undefinedThing() }\n");
    std::fs::write(&main_go, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = try_build_in(origin.path(), out.path()).unwrap_err();
    assert!(err.to_string().contains("undefinedThing"), "{err}");
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_go_mod_asking_for_a_newer_go_is_refused_clearly() {
    if !have_go() {
        return;
    }
    let origin = origin_with_tag("v1.0.0");
    let go_mod = origin.path().join("service/go.mod");
    let text = std::fs::read_to_string(&go_mod).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("go ") {
                "go 1.99.0".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&go_mod, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = try_build_in(origin.path(), out.path()).unwrap_err();
    assert!(err.to_string().contains("asks for go 1.99.0"), "{err}");
}

#[test]
fn an_unchanged_build_is_reused_and_a_changed_one_is_not() {
    if !have_go() {
        return;
    }
    let origin = origin_with_tag("v1.1.0");
    let out = tempfile::tempdir().unwrap();
    let version_dir = out.path().join("1.1.0");
    let first = build_in(origin.path(), &version_dir);
    assert!(
        first.command_line.starts_with("GOOS=windows"),
        "{}",
        first.command_line
    );
    let second = build_in(origin.path(), &version_dir);
    assert!(
        second.command_line.contains("reused"),
        "{}",
        second.command_line
    );
    assert_eq!(
        std::fs::read(&first.path).unwrap(),
        std::fs::read(&second.path).unwrap()
    );

    // A tampered exe is rebuilt, not trusted.
    std::fs::write(&first.path, b"not an exe").unwrap();
    let third = build_in(origin.path(), &version_dir);
    assert!(
        third.command_line.starts_with("GOOS=windows"),
        "{}",
        third.command_line
    );
    // So is one whose sources changed.
    let main_go = origin.path().join("service/cmd/hellosvc/main.go");
    let text = std::fs::read_to_string(&main_go).unwrap();
    std::fs::write(&main_go, format!("{text}\n// changed\n")).unwrap();
    let fourth = build_in(origin.path(), &version_dir);
    assert!(
        fourth.command_line.starts_with("GOOS=windows"),
        "{}",
        fourth.command_line
    );
}
