//! The go-msi peer: a small Go program (`gomsi/main.go`, embedded in this binary) that the
//! bench builds at run time, downloading go.digitalxero.dev/go-msi through the Go module proxy
//! (`GOPROXY` as configured, checksums from `GOSUMDB`). Nothing of the library is kept in the
//! repository. When the module cannot be fetched, the peer is skipped with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use msi_writer::{DirBase, Package};
use serde_json::{json, Value};

use super::measure::tail;

const GO_MOD: &str = include_str!("gomsi/go.mod");
const GO_SUM: &str = include_str!("gomsi/go.sum");
const MAIN_GO: &str = include_str!("gomsi/main.go");
/// The module the program needs (named in skip messages).
pub const MODULE: &str = "go.digitalxero.dev/go-msi";

/// The JSON spec `main.go` reads: the same model wixl's `.wxs` is generated from.
pub fn spec(pkg: &Package, sources: &BTreeMap<String, PathBuf>) -> Value {
    let p = &pkg.product;
    let mut roots = vec![json!({
        "known": pkg.install_dir.under.directory_key(),
        "path": pkg.install_dir.path,
        "id": pkg.install_dir.property,
    })];
    for d in &pkg.data_dirs {
        roots.push(json!({"known": d.under.directory_key(), "path": d.path, "id": d.key}));
    }
    let files: Vec<Value> = pkg
        .files
        .iter()
        .map(|f| {
            let root = match &f.dir.base {
                DirBase::Install => pkg.install_dir.property.clone(),
                DirBase::Data(key) => key.clone(),
            };
            json!({
                "key": f.key,
                "component_guid": p.upgrade_code.derive(&format!("bench:component:{}", f.key)).to_string(),
                "name": f.name,
                "root": root,
                "sub": f.dir.sub,
                "source": sources.get(&f.key),
                // go-msi v0.2.0's own ICE03 takes File.Version for a File foreign key (companion
                // file) and fails the build on any version string; see `lacks`.
                "version": "",
                // go-msi v0.2.0's ICE45 takes 0x4000 (NeverOverwrite, Windows Installer 4.0)
                // for a reserved bit and fails the build; see `lacks`.
                "never_overwrite": false,
                "permanent": f.permanent,
            })
        })
        .collect();
    json!({
        "product": {
            "name": p.name,
            "manufacturer": p.manufacturer,
            "version": format!("{}.{}.{}", p.version.0, p.version.1, p.version.2),
            "product_code": p.product_code.to_string(),
            "upgrade_code": p.upgrade_code.to_string(),
        },
        "roots": roots,
        "files": files,
        "service": pkg.service.as_ref().map(|s| json!({
            "name": s.name,
            "display_name": s.display_name,
            "description": s.description,
            "arguments": s.arguments,
            "exe": s.exe,
            "wait": s.wait,
        })),
        "properties": pkg.properties.iter().map(|p| json!({"name": p.name, "value": p.value})).collect::<Vec<_>>(),
    })
}

/// What the go-msi package lacks compared with ours (beyond what neither peer carries).
pub fn lacks(pkg: &Package) -> Vec<String> {
    let mut out = Vec::new();
    if pkg.files.iter().any(|f| f.version.is_some()) {
        out.push(
            "File.Version (go-msi v0.2.0 fails its own ICE03 on any version string: it checks the column as a File foreign key)"
                .into(),
        );
    }
    if pkg.files.iter().any(|f| f.never_overwrite) {
        out.push(
            "the NeverOverwrite component attribute (go-msi v0.2.0's ICE45 rejects 0x4000 as a reserved bit)"
                .into(),
        );
    }
    out
}

/// Environment variable naming local source folders to use instead of the proxy, for machines
/// whose proxy does not serve the module: `module=/path[,module=/path]` (becomes `replace`
/// directives in the scratch copy's go.mod; the report says so).
pub const ENV_REPLACE: &str = "WINRELEASE_BENCH_GO_REPLACE";

/// The `module=path` pairs of [`ENV_REPLACE`].
pub fn local_replacements() -> Vec<(String, String)> {
    std::env::var(ENV_REPLACE)
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (m, p) = pair.split_once('=')?;
            Some((m.trim().to_string(), p.trim().to_string()))
        })
        .filter(|(m, p)| !m.is_empty() && !p.is_empty())
        .collect()
}

/// Writes the program into `dir`, fetches go-msi through the module proxy and builds it.
/// `Err` carries the reason to print when the peer has to be skipped.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    if !super::msi::which("go") {
        return Err("`go` is not on PATH".into());
    }
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("writing {name}: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut go_mod = GO_MOD.to_string();
    for (module, path) in local_replacements() {
        go_mod.push_str(&format!("\nreplace {module} => {path}\n"));
    }
    write("go.mod", &go_mod)?;
    write("go.sum", GO_SUM)?;
    write("main.go", MAIN_GO)?;
    let go = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("go")
            .args(args)
            .current_dir(dir)
            // Module mode may add the go.sum lines of what it downloads (checked against the
            // checksum database); the copy in `dir` is scratch, the committed files stay as they are.
            .env("GOFLAGS", "-mod=mod")
            .env("GOWORK", "off")
            .output()
            .map_err(|e| format!("running go: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`go {}` failed: {}",
                args.join(" "),
                tail(&String::from_utf8_lossy(&out.stderr), 1).trim()
            ))
        }
    };
    if !local_replacements().iter().any(|(m, _)| m == MODULE) {
        go(&["mod", "download", MODULE]).map_err(|e| {
            format!("{MODULE} could not be fetched through the Go module proxy ({e})")
        })?;
    }
    let bin = dir.join("gomsi-bench");
    go(&["build", "-o", "gomsi-bench", "."])?;
    Ok(bin)
}
