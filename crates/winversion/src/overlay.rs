//! Linking the version resource with `go build -overlay`, without writing into the source tree.
//!
//! An overlay entry that maps `<pkgdir>/zz_version_windows_amd64.syso` to a file elsewhere does
//! **not** work: `go list` sees the file, but the go command's internal `pack` step opens the
//! `.syso` by its real path and fails with "no such file or directory" (it only appears to work
//! when the build cache already holds the package from an earlier build with identical bytes).
//!
//! What does work is overlaying only Go sources and `go.mod`, which the go command reads through
//! the overlay everywhere:
//!
//! * a small module outside the tree (in a directory we own) holds the `.syso` and a `doc.go`;
//! * the overlay replaces the main module's `go.mod` with a copy that `require`s that module and
//!   `replace`s it with the directory;
//! * the overlay adds one Go file to the main package that blank-imports the resource package.
//!
//! `.syso` files of every linked package reach the linker, so the resource is linked as if the
//! `.syso` were in the main package. On other `GOOS`/`GOARCH` the `_windows_amd64` suffix
//! excludes the object and the import is an empty package.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;

/// File name of the version `.syso`; the suffix restricts it to `GOOS=windows GOARCH=amd64`.
pub const SYSO_FILE_NAME: &str = "zz_version_windows_amd64.syso";
/// Import path of the resource package. `.invalid` can never resolve on the network, so a
/// missing `replace` fails loudly instead of downloading something.
pub const RESOURCE_IMPORT_PATH: &str = "winrelease.invalid/winversion";
/// Name of the Go file the overlay adds to the main package.
pub const IMPORT_FILE_NAME: &str = "zz_winversion_resource.go";

/// Files written by [`write_go_overlay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoOverlay {
    /// Pass to the go command as `-overlay <path>`.
    pub overlay_json: PathBuf,
    /// Directory of the resource module (its `go.mod`, `doc.go` and the `.syso`).
    pub resource_module_dir: PathBuf,
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn utf8(path: &Path) -> Result<&str, Error> {
    path.to_str().ok_or_else(|| Error::Overlay {
        path: path.to_path_buf(),
        problem: "is not valid UTF-8, which go.mod and the overlay JSON cannot express",
    })
}

/// Quotes `s` as a Go interpreted string literal (valid in go.mod and in Go source).
fn go_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\x{:02x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Quotes `s` as a JSON string.
fn json_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Writes everything `go build -overlay` needs to link `syso` into the main package at
/// `main_package_dir` of the module rooted at `module_dir`, without touching either directory.
///
/// `out_dir` (created if missing) receives the resource module, the replacement `go.mod`, the
/// added Go file and `overlay.json`. Paths are made absolute (without resolving symlinks) because
/// the go command matches overlay entries by absolute path; run `go build` with a working
/// directory inside `module_dir` as spelled here.
///
/// Fails if the main package already has a file named [`IMPORT_FILE_NAME`] (the overlay would
/// hide it). Builds that vendor dependencies need `-mod=mod`, since the resource module is not
/// in `vendor/modules.txt`.
pub fn write_go_overlay(
    module_dir: &Path,
    main_package_dir: &Path,
    syso: &[u8],
    out_dir: &Path,
) -> Result<GoOverlay, Error> {
    let absolute = |p: &Path| std::path::absolute(p).map_err(io_error("resolve", p));
    let module_dir = absolute(module_dir)?;
    let main_package_dir = absolute(main_package_dir)?;
    let out_dir = absolute(out_dir)?;

    let go_mod_path = module_dir.join("go.mod");
    let go_mod = std::fs::read_to_string(&go_mod_path).map_err(io_error("read", &go_mod_path))?;
    let import_file_path = main_package_dir.join(IMPORT_FILE_NAME);
    if import_file_path.exists() {
        return Err(Error::Overlay {
            path: import_file_path,
            problem: "already exists; the overlay would hide it, rename it",
        });
    }

    let resource_module_dir = out_dir.join("resource");
    std::fs::create_dir_all(&resource_module_dir)
        .map_err(io_error("create directory", &resource_module_dir))?;
    let write = |path: PathBuf, bytes: &[u8]| -> Result<PathBuf, Error> {
        std::fs::write(&path, bytes).map_err(io_error("write", &path))?;
        Ok(path)
    };
    write(resource_module_dir.join(SYSO_FILE_NAME), syso)?;
    write(
        resource_module_dir.join("go.mod"),
        format!("module {RESOURCE_IMPORT_PATH}\n\ngo 1.21\n").as_bytes(),
    )?;
    write(
        resource_module_dir.join("doc.go"),
        b"// Package winversion only carries the Windows version resource (.syso) for the linker.\n\
          package winversion\n",
    )?;

    let mut overlay_go_mod = go_mod;
    if !overlay_go_mod.ends_with('\n') {
        overlay_go_mod.push('\n');
    }
    let _ = write!(
        overlay_go_mod,
        "\n// Added by winversion through go build -overlay; not in the source tree.\n\
         require {RESOURCE_IMPORT_PATH} v0.0.0\n\n\
         replace {RESOURCE_IMPORT_PATH} => {}\n",
        go_quote(utf8(&resource_module_dir)?)
    );
    let overlay_go_mod_path = write(out_dir.join("go.mod.overlay"), overlay_go_mod.as_bytes())?;
    let import_go_path = write(
        out_dir.join(IMPORT_FILE_NAME),
        format!(
            "// Added by winversion through go build -overlay; links the version resource.\n\
             package main\n\nimport _ {}\n",
            go_quote(RESOURCE_IMPORT_PATH)
        )
        .as_bytes(),
    )?;

    let overlay = format!(
        "{{\"Replace\":{{\n  {}: {},\n  {}: {}\n}}}}\n",
        json_quote(utf8(&go_mod_path)?),
        json_quote(utf8(&overlay_go_mod_path)?),
        json_quote(utf8(&import_file_path)?),
        json_quote(utf8(&import_go_path)?),
    );
    let overlay_json = write(out_dir.join("overlay.json"), overlay.as_bytes())?;
    Ok(GoOverlay {
        overlay_json,
        resource_module_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_go_and_json_require() {
        assert_eq!(go_quote(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
        assert_eq!(json_quote("a\\b\"c\u{1}"), r#""a\\b\"c\u0001""#);
    }

    #[test]
    fn refuses_to_hide_an_existing_file_and_leaves_sources_alone() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("src");
        std::fs::create_dir_all(&module).unwrap();
        std::fs::write(module.join("go.mod"), "module example.com/x\n\ngo 1.24").unwrap();
        std::fs::write(module.join(IMPORT_FILE_NAME), "package main\n").unwrap();
        let err = write_go_overlay(&module, &module, b"obj", &dir.path().join("out")).unwrap_err();
        assert!(matches!(err, Error::Overlay { .. }), "{err}");

        std::fs::remove_file(module.join(IMPORT_FILE_NAME)).unwrap();
        let out = write_go_overlay(&module, &module, b"obj", &dir.path().join("out")).unwrap();
        let go_mod = std::fs::read_to_string(dir.path().join("out/go.mod.overlay")).unwrap();
        assert!(
            go_mod.starts_with("module example.com/x\n\ngo 1.24\n"),
            "{go_mod}"
        );
        assert!(go_mod.contains("require winrelease.invalid/winversion v0.0.0\n"));
        assert!(go_mod.contains(&format!(
            "replace winrelease.invalid/winversion => {}",
            go_quote(out.resource_module_dir.to_str().unwrap())
        )));
        assert_eq!(
            std::fs::read(out.resource_module_dir.join(SYSO_FILE_NAME)).unwrap(),
            b"obj"
        );
        let mut names: Vec<_> = std::fs::read_dir(&module)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["go.mod"], "source tree unchanged");
        assert_eq!(
            std::fs::read_to_string(module.join("go.mod")).unwrap(),
            "module example.com/x\n\ngo 1.24"
        );
    }

    #[test]
    fn missing_go_mod_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            write_go_overlay(dir.path(), dir.path(), b"", &dir.path().join("out")).unwrap_err();
        assert!(err.to_string().contains("go.mod"), "{err}");
    }
}
