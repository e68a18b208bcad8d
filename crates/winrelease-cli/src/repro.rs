//! `cargo xtask repro`: builds the same commit twice, from two fresh clones in different
//! directories, at different times, with different umask, locale and time zone, signing with
//! the same (throw-away) key, and compares every artifact byte for byte.
//!
//! On a mismatch it names the file and the first differing offset, and looks inside: for an MSI
//! the compound-file streams that differ (tables by name, the summary information by property,
//! the first differing row of a table), for a zip the entries that differ and in what (local
//! header, time, mode, data). Exit status 1 on any mismatch.
//!
//! The comparison ([`compare_dirs`]) is independent of how the two folders were made, so the
//! tests feed it hand-made folders (`xtask/tests/repro.rs` includes this file).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use msi_writer::read;

/// `cargo xtask repro` options.
#[derive(Debug, clap::Args)]
pub struct ReproArgs {
    /// Keep the two clones and their releases (their paths are printed).
    #[arg(long)]
    pub keep: bool,
    /// Give each build its own empty GOCACHE: Go compiles its standard library twice (slower),
    /// so nothing a build wrote can be reused by the other.
    #[arg(long)]
    pub fresh_go_cache: bool,
}

/// How one of the two builds differs from the other.
#[derive(Debug, Clone)]
pub struct BuildConditions {
    /// Directory name of the clone (the two differ in name and length).
    pub dir_name: &'static str,
    pub umask: &'static str,
    /// `LANG` and `LC_ALL`.
    pub locale: &'static str,
    pub tz: &'static str,
}

/// The two builds' conditions.
pub const CONDITIONS: [BuildConditions; 2] = [
    BuildConditions {
        dir_name: "a",
        umask: "022",
        locale: "C",
        tz: "UTC",
    },
    BuildConditions {
        dir_name: "second-build-in-a-longer-directory",
        umask: "077",
        locale: "C.UTF-8",
        tz: "Pacific/Kiritimati",
    },
];

impl fmt::Display for BuildConditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clone …/{}/, umask {}, LANG=LC_ALL={}, TZ={}",
            self.dir_name, self.umask, self.locale, self.tz
        )
    }
}

/// Runs the check; returns the process exit code (0 identical, 1 mismatch).
pub fn run(args: ReproArgs, manifest_path: Option<&Path>) -> Result<i32> {
    let started = Instant::now();
    let (root, _) = workspace_dirs(manifest_path)?;
    let head = git_output(&root, &["rev-parse", "HEAD"])?;
    if !git_output(&root, &["status", "--porcelain"])?.is_empty() {
        eprintln!(
            "note: the work tree has uncommitted changes; repro builds the commit HEAD ({}) only",
            &head[..12.min(head.len())]
        );
    }
    let scratch = tempfile::Builder::new()
        .prefix("winrelease-repro-")
        .tempdir()
        .context("creating a scratch directory")?;

    // One throw-away key for both builds: signatures are deterministic (Ed25519), so equal
    // inputs must give equal .minisig files. Fast key derivation: the cost is not under test.
    let passphrase = format!("repro-{}", std::process::id());
    let key_dir = scratch.path().join("key");
    let paths = winrelease::keys::keygen_with_kdf(
        &key_dir,
        &winrelease::keys::Passphrase::new(passphrase.clone()),
        minisig::KdfParams::fast_for_tests(),
    )?;
    let secret_text = std::fs::read_to_string(&paths.secret)?;

    let xtask = private_copy_of_self(scratch.path())?;
    let mut version_dirs = Vec::new();
    for (i, cond) in CONDITIONS.iter().enumerate() {
        if i > 0 {
            // Different wall-clock seconds for sure (the builds also take seconds each).
            std::thread::sleep(Duration::from_millis(1100));
        }
        let clone = scratch.path().join(cond.dir_name);
        let t = Instant::now();
        clone_at(&root, &head, &clone)?;
        let gocache = if args.fresh_go_cache {
            let dir = scratch.path().join(format!("gocache-{i}"));
            std::fs::create_dir_all(&dir)?;
            Some(dir)
        } else {
            None
        };
        let version_dir = build(
            &xtask,
            &clone,
            cond,
            &secret_text,
            &passphrase,
            gocache.as_deref(),
        )
        .with_context(|| format!("build {} ({cond})", i + 1))?;
        eprintln!(
            "build {}: {cond}: {} in {:.1} s",
            i + 1,
            version_dir.display(),
            t.elapsed().as_secs_f64()
        );
        version_dirs.push(version_dir);
    }

    let findings = compare_dirs(&version_dirs[0], &version_dirs[1])?;
    let files = list_files(&version_dirs[0])?;
    if findings.is_empty() {
        for (name, bytes) in &files {
            println!("identical  {name} ({} bytes)", bytes.len());
        }
        println!(
            "reproducible: {} artifacts of commit {} byte-identical across both builds ({:.1} s)",
            files.len(),
            &head[..12.min(head.len())],
            started.elapsed().as_secs_f64()
        );
    } else {
        for (name, _) in files
            .iter()
            .filter(|(n, _)| !findings.iter().any(|f| f.file() == n.as_str()))
        {
            println!("identical  {name}");
        }
        for f in &findings {
            println!("{f}");
        }
        println!(
            "NOT reproducible: {} of the artifacts differ between build 1 ({}) and build 2 ({})",
            findings.len(),
            CONDITIONS[0],
            CONDITIONS[1]
        );
    }
    let modes = mode_differences(&version_dirs[0], &version_dirs[1])?;
    if !modes.is_empty() {
        println!(
            "note: file modes follow the builder's umask (not part of the bytes compared): {}",
            modes.join(", ")
        );
    }
    if args.keep {
        let kept = scratch.keep();
        println!("kept {}", kept.display());
    }
    Ok(if findings.is_empty() { 0 } else { 1 })
}

/// The workspace root and its target directory, without reading the release configuration:
/// `bench` and `repro` build clones of HEAD, whose configuration may differ from the work tree's.
pub fn workspace_dirs(manifest_path: Option<&Path>) -> Result<(PathBuf, PathBuf)> {
    // The workspace cargo finds from here (or `--manifest-path`): the adopter's repository when
    // its xtask runs this, winrelease's own when ours does.
    let mut cargo = Command::new("cargo");
    cargo.args(["metadata", "--no-deps", "--format-version", "1"]);
    if let Some(m) = manifest_path {
        cargo.arg("--manifest-path").arg(m);
    }
    let out = cargo.output().context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")?;
    let dir = |key: &str| {
        metadata[key]
            .as_str()
            .map(PathBuf::from)
            .with_context(|| format!("cargo metadata gave no {key}"))
    };
    Ok((dir("workspace_root")?, dir("target_directory")?))
}

/// A copy of this executable in `dir`, for the child processes to run: `target/release/xtask`
/// may be rebuilt (replaced) by another cargo command while a long run is under way.
pub fn private_copy_of_self(dir: &Path) -> Result<PathBuf> {
    let me = std::env::current_exe().context("finding this executable")?;
    let copy = dir.join("xtask-under-test");
    std::fs::copy(&me, &copy)
        .with_context(|| format!("copying {} to {}", me.display(), copy.display()))?;
    Ok(copy)
}

/// Files whose permission bits differ between the two folders: `name 644 vs 600`.
fn mode_differences(a: &Path, b: &Path) -> Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    for name in list_files(a)?.keys() {
        let mode =
            |dir: &Path| std::fs::metadata(dir.join(name)).map(|m| m.permissions().mode() & 0o777);
        if let (Ok(ma), Ok(mb)) = (mode(a), mode(b)) {
            if ma != mb {
                out.push(format!("{name} {ma:o} vs {mb:o}"));
            }
        }
    }
    Ok(out)
}

fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A fresh, independent clone of `root` with `commit` checked out.
fn clone_at(root: &Path, commit: &str, dir: &Path) -> Result<()> {
    let status = Command::new("git")
        .args(["clone", "-q", "--no-hardlinks"])
        .arg(root)
        .arg(dir)
        .status()
        .context("running git clone")?;
    if !status.success() {
        bail!("git clone {} {} failed", root.display(), dir.display());
    }
    git_output(dir, &["checkout", "-q", "--detach", commit])?;
    Ok(())
}

/// One `release --snapshot` of `clone` under `cond`; returns the version folder it wrote.
fn build(
    xtask: &Path,
    clone: &Path,
    cond: &BuildConditions,
    secret_key: &str,
    passphrase: &str,
    gocache: Option<&Path>,
) -> Result<PathBuf> {
    // umask is per process and inherited: set it in a shell that then becomes xtask.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask {} && exec \"$0\" \"$@\"", cond.umask))
        .arg(xtask)
        .arg("--manifest-path")
        .arg(clone.join("Cargo.toml"))
        .args(["release", "--snapshot", "--json"])
        .current_dir(clone)
        .env("CARGO_TARGET_DIR", clone.join("target"))
        .env("LANG", cond.locale)
        .env("LC_ALL", cond.locale)
        .env("TZ", cond.tz)
        .env(winrelease::keys::ENV_SECRET_KEY, secret_key)
        .env(winrelease::keys::ENV_PASSPHRASE, passphrase)
        // The pipeline must not depend on these; make sure neither build sees them.
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("GOFLAGS");
    if let Some(cache) = gocache {
        cmd.env("GOCACHE", cache);
    }
    let out = cmd.output().context("running xtask release")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "release failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        );
    }
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("release --json printed {stdout:?}"))?;
    let dir = json
        .get("version_dir")
        .and_then(|v| v.as_str())
        .context("release --json has no version_dir")?;
    Ok(PathBuf::from(dir))
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/// Which of the two folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// One artifact that is not the same in both folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The file exists in one folder only.
    OnlyIn { side: Side, file: String },
    /// The file exists in both and differs.
    Differs {
        file: String,
        size_a: u64,
        size_b: u64,
        /// First byte offset at which the two differ (the shorter length if one is a prefix).
        offset: u64,
        /// What differs inside, when the format is known: MSI streams and tables, zip entries.
        inside: Vec<String>,
    },
}

impl Finding {
    /// The artifact's file name.
    pub fn file(&self) -> &str {
        match self {
            Finding::OnlyIn { file, .. } | Finding::Differs { file, .. } => file,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::OnlyIn { side, file } => {
                write!(f, "MISMATCH   {file}: only in build {side:?}")
            }
            Finding::Differs {
                file,
                size_a,
                size_b,
                offset,
                inside,
            } => {
                write!(
                    f,
                    "MISMATCH   {file}: {size_a} vs {size_b} bytes, first difference at offset {offset} (0x{offset:x})"
                )?;
                for line in inside {
                    write!(f, "\n             {line}")?;
                }
                Ok(())
            }
        }
    }
}

/// Every regular file under `dir` (recursively), by path relative to `dir` with `/`.
fn list_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            if e.file_type()?.is_dir() {
                walk(base, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(base)
                    .expect("walked below base")
                    .to_string_lossy()
                    .replace('\\', "/");
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                out.insert(rel, bytes);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Compares two release folders file by file; empty when they are byte-identical.
pub fn compare_dirs(a: &Path, b: &Path) -> Result<Vec<Finding>> {
    let fa = list_files(a)?;
    let fb = list_files(b)?;
    let mut findings = Vec::new();
    for name in fa.keys().filter(|n| !fb.contains_key(*n)) {
        findings.push(Finding::OnlyIn {
            side: Side::A,
            file: name.clone(),
        });
    }
    for name in fb.keys().filter(|n| !fa.contains_key(*n)) {
        findings.push(Finding::OnlyIn {
            side: Side::B,
            file: name.clone(),
        });
    }
    for (name, bytes_a) in &fa {
        if let Some(bytes_b) = fb.get(name) {
            if let Some(f) = compare_files(name, bytes_a, bytes_b) {
                findings.push(f);
            }
        }
    }
    Ok(findings)
}

/// `None` when equal; otherwise where they first differ and, for known formats, what inside.
pub fn compare_files(name: &str, a: &[u8], b: &[u8]) -> Option<Finding> {
    let offset = first_difference(a, b)?;
    let lower = name.to_ascii_lowercase();
    let inside = if lower.ends_with(".msi") {
        msi_differences(a, b)
    } else if lower.ends_with(".zip") {
        zip_differences(a, b)
    } else {
        text_context(a, b, offset)
    };
    Some(Finding::Differs {
        file: name.to_string(),
        size_a: a.len() as u64,
        size_b: b.len() as u64,
        offset: offset as u64,
        inside,
    })
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

/// For text files (SHA256SUMS, manifest.json, .minisig): the line that differs.
fn text_context(a: &[u8], b: &[u8], offset: usize) -> Vec<String> {
    let (Ok(ta), Ok(tb)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return Vec::new();
    };
    let line_no = ta[..offset.min(ta.len())].matches('\n').count();
    let la = ta.lines().nth(line_no).unwrap_or("");
    let lb = tb.lines().nth(line_no).unwrap_or("");
    let clip = |s: &str| -> String {
        if s.chars().count() > 160 {
            format!("{}…", s.chars().take(160).collect::<String>())
        } else {
            s.to_string()
        }
    };
    vec![
        format!("line {}:", line_no + 1),
        format!("  A: {}", clip(la)),
        format!("  B: {}", clip(lb)),
    ]
}

// --- MSI --------------------------------------------------------------------------------------

/// Stream name as a person reads it: MSI packs table and stream names into CJK code points
/// (two base-64 characters per code point, tables prefixed with U+4840).
pub fn decode_stream_name(raw: &str) -> String {
    let (table, name) = read::decode_stream_name(raw);
    let out: String = name
        .chars()
        .map(|c| match c.is_control() {
            true => format!("\\x{:02x}", c as u32),
            false => c.to_string(),
        })
        .collect();
    if table {
        format!("table {out}")
    } else {
        match out.as_str() {
            "\\x05SummaryInformation" => "summary information (\\x05SummaryInformation)".into(),
            "\\x05DigitalSignature" => "Authenticode signature (\\x05DigitalSignature)".into(),
            _ => format!("stream {out}"),
        }
    }
}

/// Every stream of a compound file, by raw name (the whole path for nested storages).
fn cfb_streams(bytes: &[u8]) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    read::Storage::from_bytes(bytes.to_vec())?.read_all()
}

fn msi_differences(a: &[u8], b: &[u8]) -> Vec<String> {
    let (sa, sb) = match (cfb_streams(a), cfb_streams(b)) {
        (Ok(sa), Ok(sb)) => (sa, sb),
        (Err(e), _) | (_, Err(e)) => return vec![format!("not readable as a compound file: {e}")],
    };
    let mut out = Vec::new();
    let mut changed_tables = Vec::new();
    for (name, da) in &sa {
        let readable = decode_stream_name(name);
        match sb.get(name) {
            None => out.push(format!("{readable}: only in A")),
            Some(db) => {
                if let Some(off) = first_difference(da, db) {
                    let mut line = format!(
                        "{readable}: differs ({} vs {} bytes, first at stream offset {off})",
                        da.len(),
                        db.len()
                    );
                    if name == "\u{5}SummaryInformation" {
                        let props = summary_differences(da, db);
                        if !props.is_empty() {
                            line.push_str(&format!("; properties: {}", props.join(", ")));
                        }
                    }
                    if let Some(table) = readable.strip_prefix("table ") {
                        changed_tables.push(table.to_string());
                    }
                    out.push(line);
                }
            }
        }
    }
    for name in sb.keys().filter(|n| !sa.contains_key(*n)) {
        out.push(format!("{}: only in B", decode_stream_name(name)));
    }
    if out.is_empty() {
        out.push(
            "every stream is identical: the difference is in the compound-file layout (headers, FAT, directory)"
                .into(),
        );
    }
    for table in changed_tables {
        if let Some(line) = table_row_difference(a, b, &table) {
            out.push(line);
        }
    }
    out
}

/// Names of the summary-information properties (PIDSI_*) whose values differ.
fn summary_differences(a: &[u8], b: &[u8]) -> Vec<String> {
    let (Ok(pa), Ok(pb)) = (read::SummaryInfo::decode(a), read::SummaryInfo::decode(b)) else {
        return vec!["(property set not parsable)".into()];
    };
    let (pa, pb) = (pa.properties(), pb.properties());
    let mut pids: Vec<u32> = pa.keys().chain(pb.keys()).copied().collect();
    pids.sort_unstable();
    pids.dedup();
    pids.into_iter()
        .filter(|pid| pa.get(pid) != pb.get(pid))
        .map(|pid| format!("{} (PID {pid})", read::property_name(pid)))
        .collect()
}

/// A table read through `msi_writer::read`: column names, primary-key column indices, rows as
/// text.
type TableRows = (Vec<String>, Vec<usize>, Vec<Vec<String>>);

/// The first row of `table` that differs, read through `msi_writer::read`.
fn table_row_difference(a: &[u8], b: &[u8], table: &str) -> Option<String> {
    let rows = |bytes: &[u8]| -> Option<TableRows> {
        let t = read::Package::from_bytes(bytes.to_vec())
            .ok()?
            .table(table)
            .ok()??;
        let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let keys = (0..t.columns.len()).filter(|&i| t.columns[i].key).collect();
        let rows = t
            .rows
            .iter()
            .map(|row| row.iter().map(ToString::to_string).collect())
            .collect();
        Some((columns, keys, rows))
    };
    let (columns, keys, ra) = rows(a)?;
    let (_, _, rb) = rows(b)?;
    let key_of = |row: &Vec<String>| -> String {
        keys.iter()
            .map(|&k| row.get(k).cloned().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let differing =
        ra.iter().zip(&rb).filter(|(x, y)| x != y).count() + ra.len().abs_diff(rb.len());
    if differing == 0 {
        return Some(format!(
            "table {table}: same rows through the MSI reader (the difference is in the encoding, e.g. string pool order)"
        ));
    }
    let (i, (x, y)) = ra.iter().zip(&rb).enumerate().find(|(_, (x, y))| x != y)?;
    let cols: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|(c, _)| x.get(*c) != y.get(*c))
        .map(|(c, name)| {
            format!(
                "{name} {} vs {}",
                x.get(c).map_or("", String::as_str),
                y.get(c).map_or("", String::as_str)
            )
        })
        .collect();
    Some(format!(
        "table {table}: {differing} row(s) differ; first: row {} (key {}): {}",
        i + 1,
        key_of(x),
        cols.join("; ")
    ))
}

// --- zip --------------------------------------------------------------------------------------

fn zip_differences(a: &[u8], b: &[u8]) -> Vec<String> {
    struct Entry {
        name: String,
        header_start: u64,
        end: u64,
        modified: String,
        mode: Option<u32>,
        crc: u32,
        raw: Vec<u8>,
    }
    fn entries(bytes: &[u8]) -> zip::result::ZipResult<Vec<Entry>> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
        let mut out = Vec::new();
        for i in 0..archive.len() {
            let f = archive.by_index_raw(i)?;
            let start = f.header_start();
            let end = f.data_start().unwrap_or(start) + f.compressed_size();
            out.push(Entry {
                name: f.name()?.to_string(),
                header_start: start,
                end,
                modified: f
                    .last_modified()
                    .map_or_else(|| "none".into(), |d| format!("{d:?}")),
                mode: f.unix_mode(),
                crc: f.crc32(),
                raw: bytes
                    .get(start as usize..end as usize)
                    .unwrap_or_default()
                    .to_vec(),
            });
        }
        Ok(out)
    }
    let (ea, eb) = match (entries(a), entries(b)) {
        (Ok(ea), Ok(eb)) => (ea, eb),
        (Err(e), _) | (_, Err(e)) => return vec![format!("not readable as a zip: {e}")],
    };
    let mut out = Vec::new();
    if let Some(off) = first_difference(a, b) {
        let at = ea
            .iter()
            .find(|e| (e.header_start..e.end).contains(&(off as u64)))
            .map_or_else(
                || "the central directory".to_string(),
                |e| format!("entry {}", e.name),
            );
        out.push(format!("first difference is inside {at}"));
    }
    let names_a: Vec<&str> = ea.iter().map(|e| e.name.as_str()).collect();
    let names_b: Vec<&str> = eb.iter().map(|e| e.name.as_str()).collect();
    if names_a != names_b {
        out.push(format!("entry lists differ: {names_a:?} vs {names_b:?}"));
    }
    for x in &ea {
        let Some(y) = eb.iter().find(|y| y.name == x.name) else {
            continue;
        };
        let mut what = Vec::new();
        if x.crc != y.crc {
            what.push("content (CRC-32)".to_string());
        }
        if x.modified != y.modified {
            what.push(format!("time {} vs {}", x.modified, y.modified));
        }
        if x.mode != y.mode {
            what.push(format!("mode {:?} vs {:?}", x.mode, y.mode));
        }
        if what.is_empty() && x.raw != y.raw {
            what.push("local header or compressed bytes".into());
        }
        if !what.is_empty() {
            out.push(format!("entry {}: {}", x.name, what.join(", ")));
        }
    }
    out
}
