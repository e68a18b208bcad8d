//! The real pipeline: the `.syso` in a Go main package, `go build` for windows/amd64, then the
//! executable inspected by `read_from_pe`, by the `object` crate, by GNU objdump and windres,
//! and by Wine's implementation of the Windows version API.

mod common;

use std::path::Path;

use common::{
    assert_rc_describes_sample, go_build, go_build_ok, require_tool, run_ok, sample_info,
    sample_strings, write_main_module,
};
use winversion::{
    coff_object, read_from_pe, version_resource, write_go_overlay, Error, SYSO_FILE_NAME,
};

/// Builds the tiny main package with the sample `.syso` in `dir`; returns the executable.
fn build_with_syso(dir: &Path) -> Vec<u8> {
    write_main_module(dir);
    std::fs::write(
        dir.join(SYSO_FILE_NAME),
        coff_object(&sample_info()).unwrap(),
    )
    .unwrap();
    go_build_ok(dir, &dir.join("hello.exe"), &[])
}

/// The version resource bytes of `exe`, found with the `object` crate's PE resource reader.
fn resource_via_object_crate(exe: &[u8]) -> (u16, Vec<u8>) {
    use object::pe::RT_VERSION;
    use object::read::pe::{PeFile64, ResourceDirectoryEntryData};
    use object::LittleEndian as LE;
    let file = PeFile64::parse(exe).expect("object crate parses the exe");
    let directories = file.data_directories();
    let sections = file.section_table();
    let rsrc = directories
        .resource_directory(exe, &sections)
        .unwrap()
        .expect("resource directory");
    let root = rsrc.root().unwrap();
    let version = root
        .entries
        .iter()
        .find(|e| e.name_or_id().id() == Some(RT_VERSION))
        .expect("RT_VERSION entry");
    let ResourceDirectoryEntryData::Table(names) = version.data(rsrc).unwrap() else {
        panic!("RT_VERSION is not a table")
    };
    assert_eq!(names.entries.len(), 1);
    assert_eq!(names.entries[0].name_or_id().id(), Some(1));
    let ResourceDirectoryEntryData::Table(languages) = names.entries[0].data(rsrc).unwrap() else {
        panic!("name entry is not a table")
    };
    assert_eq!(languages.entries.len(), 1);
    let language = languages.entries[0].name_or_id().id().unwrap();
    let ResourceDirectoryEntryData::Data(entry) = languages.entries[0].data(rsrc).unwrap() else {
        panic!("language entry is not data")
    };
    let rva = entry.offset_to_data.get(LE);
    let size = entry.size.get(LE);
    let bytes = sections.pe_data_at(exe, rva).expect("data in a section");
    (language, bytes[..size as usize].to_vec())
}

#[test]
fn go_links_the_resource_and_every_field_reads_back() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = build_with_syso(dir.path());
    eprintln!("hello.exe with version resource: {} bytes", exe.len());

    let parsed = read_from_pe(&exe).unwrap();
    assert_eq!(parsed.language, 0x0409);
    assert_eq!(parsed.file_version, [1, 4, 1, 7]);
    assert_eq!(parsed.file_version_string(), "1.4.1.7");
    assert_eq!(parsed.product_version, [1, 4, 1, 300]);
    assert_eq!(parsed.file_flags_mask, 0x3F);
    assert_eq!(parsed.file_flags, winversion::VS_FF_PRERELEASE);
    assert_eq!(parsed.file_os, 0x0004_0004);
    assert_eq!(parsed.file_type, 1);
    assert_eq!(parsed.file_subtype, 0);
    assert_eq!(parsed.translations, [(0x0409, 1200)]);
    assert_eq!(parsed.string_tables.len(), 1);
    assert_eq!(parsed.string_tables[0].key, "040904B0");
    for (key, value) in sample_strings() {
        assert_eq!(parsed.string(key), Some(value), "{key}");
    }
    assert_eq!(
        parsed.string_tables[0].strings.len(),
        sample_strings().len()
    );

    // An independent PE parser finds the very bytes we encoded at the relocated RVA.
    let (language, bytes) = resource_via_object_crate(&exe);
    assert_eq!(language, 0x0409);
    assert_eq!(bytes, version_resource(&sample_info()).unwrap());
}

#[test]
fn objdump_and_windres_read_the_executable() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = build_with_syso(dir.path());
    let exe_path = dir.path().join("hello.exe");
    let size = version_resource(&sample_info()).unwrap().len();

    if require_tool("x86_64-w64-mingw32-objdump") {
        let text = run_ok(
            "x86_64-w64-mingw32-objdump",
            &["-x".as_ref(), exe_path.as_os_str()],
        );
        assert!(text.contains("file format pei-x86-64"), "{text}");
        let rsrc = text
            .split("The .rsrc Resource Directory section:")
            .nth(1)
            .unwrap_or_else(|| panic!("objdump shows no resource directory:\n{text}"));
        assert!(rsrc.contains("Entry: ID: 0x000010"), "{rsrc}");
        assert!(rsrc.contains("Entry: ID: 0x000409"), "{rsrc}");
        assert!(rsrc.contains(&format!("Size: {size:#08x}")), "{rsrc}");
        // The leaf address is an RVA inside the image, not the object's section offset 0x58.
        assert!(
            !rsrc.contains("Leaf: Addr: 0x000058,"),
            "relocation not applied:\n{rsrc}"
        );
    }
    if require_tool("x86_64-w64-mingw32-windres") {
        let rc = run_ok(
            "x86_64-w64-mingw32-windres",
            &[
                "-J".as_ref(),
                "coff".as_ref(),
                "-O".as_ref(),
                "rc".as_ref(),
                "-i".as_ref(),
                exe_path.as_os_str(),
            ],
        );
        assert_rc_describes_sample(&rc);
    }
    drop(exe);
}

/// Wine's version.dll (through `Scripting.FileSystemObject.GetFileVersion`, which calls
/// GetFileVersionInfoW/VerQueryValueW) reports our file version; an executable without the
/// resource reports none. (Wine 8 cannot run Go >= 1.24 executables, which need
/// bcryptprimitives.dll, so the Windows API is exercised from a script instead.)
#[test]
fn wine_version_api_reports_the_file_version() {
    if !require_tool("go") || !require_tool("wine") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with");
    build_with_syso(&with);
    let without = dir.path().join("without");
    write_main_module(&without);
    go_build_ok(&without, &without.join("hello.exe"), &[]);

    let script = dir.path().join("version.js");
    std::fs::write(
        &script,
        "var fso = new ActiveXObject(\"Scripting.FileSystemObject\");\n\
         try { WScript.Echo(\"VERSION=\" + fso.GetFileVersion(WScript.Arguments(0))); }\n\
         catch (e) { WScript.Echo(\"NOVERSION \" + e.number); }\n",
    )
    .unwrap();
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("winversion-wineprefix");
    std::fs::create_dir_all(&prefix).unwrap();
    let wine_path = |p: &Path| format!("Z:{}", p.display()).replace('/', "\\");
    let ask = |exe: &Path| {
        let output = std::process::Command::new("wine")
            .args(["cscript", "//nologo"])
            .arg(wine_path(&script))
            .arg(wine_path(exe))
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .output()
            .expect("run wine");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let with_out = ask(&with.join("hello.exe"));
    assert!(
        with_out.lines().any(|l| l.trim() == "VERSION=1.4.1.7"),
        "wine output: {with_out:?}"
    );
    let without_out = ask(&without.join("hello.exe"));
    assert!(
        !without_out.contains("1.4.1.7") && !without_out.trim().is_empty(),
        "control without resource: {without_out:?}"
    );
}

#[test]
fn executable_without_syso_has_no_resources() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_main_module(dir.path());
    let exe = go_build_ok(dir.path(), &dir.path().join("plain.exe"), &[]);
    eprintln!("hello.exe without version resource: {} bytes", exe.len());
    assert!(matches!(read_from_pe(&exe), Err(Error::NoResources)));
}

#[test]
fn go_builds_are_reproducible_across_directories() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = build_with_syso(&dir.path().join("a"));
    let b = build_with_syso(&dir.path().join("elsewhere/b"));
    assert!(a == b, "two builds of the same input differ");
}

/// A plain overlay entry for the `.syso` is listed by the go command but not linked: its
/// internal `pack` step opens the real path. This test pins that behaviour (with content no
/// earlier build could have cached); if it starts failing, Go has learnt to overlay `.syso`
/// files and the simpler approach becomes possible.
#[test]
fn plain_syso_overlay_entry_is_not_honoured() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_main_module(&src);
    let mut info = sample_info();
    // Unique bytes: a build cache hit from an earlier identical package would skip `pack`
    // and make the overlay look like it works.
    info.file_description = format!("overlay probe {}", dir.path().display());
    let syso = dir.path().join("outside.syso");
    std::fs::write(&syso, coff_object(&info).unwrap()).unwrap();
    let overlay = dir.path().join("overlay.json");
    std::fs::write(
        &overlay,
        format!(
            "{{\"Replace\":{{\"{}\":\"{}\"}}}}",
            src.join(SYSO_FILE_NAME).display(),
            syso.display()
        ),
    )
    .unwrap();
    let output = go_build(
        &src,
        &dir.path().join("hello.exe"),
        &["-overlay", overlay.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "go build now accepts a .syso overlay entry; revisit winversion::write_go_overlay"
    );
    assert!(
        stderr.contains(SYSO_FILE_NAME) && stderr.contains("no such file or directory"),
        "unexpected failure: {stderr}"
    );
}

/// The supported overlay: go.mod and one Go file overlaid, the `.syso` in a module outside the
/// tree. The exe gets the resource and the source tree is left exactly as it was.
#[test]
fn write_go_overlay_links_the_resource_without_touching_sources() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Module root with the main package in a subdirectory, like ./cmd/hellosvc.
    let module = dir.path().join("src");
    let main_pkg = module.join("cmd/hellosvc");
    std::fs::create_dir_all(&main_pkg).unwrap();
    std::fs::write(
        module.join("go.mod"),
        "module example.com/hello\n\ngo 1.24\n",
    )
    .unwrap();
    std::fs::write(main_pkg.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    let before = snapshot(&module);

    let mut info = sample_info();
    info.file_description = format!("overlay build {}", dir.path().display());
    let overlay = write_go_overlay(
        &module,
        &main_pkg,
        &coff_object(&info).unwrap(),
        &dir.path().join("work"),
    )
    .unwrap();
    let exe = go_build_ok(
        &main_pkg,
        &dir.path().join("hellosvc.exe"),
        &["-overlay", overlay.overlay_json.to_str().unwrap()],
    );
    let parsed = read_from_pe(&exe).unwrap();
    assert_eq!(parsed.file_version, [1, 4, 1, 7]);
    assert_eq!(
        parsed.string("FileDescription"),
        Some(info.file_description.as_str())
    );
    assert_eq!(
        parsed.string("ProductVersion"),
        Some("1.4.1-dev.7+g1a2b3c4")
    );
    assert_eq!(snapshot(&module), before, "source tree changed");

    // Linux builds with the same overlay still work: the object is windows/amd64 only.
    let output = std::process::Command::new("go")
        .args(["build", "-overlay"])
        .arg(&overlay.overlay_json)
        .args(["-o"])
        .arg(dir.path().join("hellosvc-linux"))
        .arg(".")
        .current_dir(&main_pkg)
        .env("GOOS", "linux")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod -buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOPROXY", "off")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Go's linker accepts resources from one object only: a package that already carries a
/// resource `.syso` (an icon from go-winres, say) cannot take ours as well. The pipeline must
/// detect that case up front; this pins the linker's message it would otherwise surface.
#[test]
fn a_second_resource_syso_fails_the_link() {
    if !require_tool("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_main_module(dir.path());
    let syso = coff_object(&sample_info()).unwrap();
    std::fs::write(dir.path().join(SYSO_FILE_NAME), &syso).unwrap();
    std::fs::write(dir.path().join("icon_windows_amd64.syso"), &syso).unwrap();
    let output = go_build(dir.path(), &dir.path().join("hello.exe"), &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("too many .rsrc sections"), "{stderr}");
}

/// Every file under `dir` with its contents, sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}
