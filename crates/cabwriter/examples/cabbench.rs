//! Compares cabwriter (1 thread, all threads) with the `cab` crate on ~100 MB of mixed
//! data (text-like, random, zeros, structured binary) read from files, as the MSI stage
//! does. Build optimized:
//!
//! ```text
//! cargo run --release -p cabwriter --example cabbench -- [--mb 100] [--reps 3] [--add FILE]...
//! ```
//!
//! `--add FILE` appends real files (e.g. an exe) to the generated payload.
//! Prints throughput in MB/s of uncompressed input, cabinet sizes, and whether
//! `cabextract -t` accepts each cabinet.

use cabwriter::{write_cabinet, CabEntry, CabOptions, Compression, Source};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut total_mb = 100u64;
    let mut reps = 3usize;
    let mut extra: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mb" => total_mb = args.next().ok_or("--mb needs a value")?.parse()?,
            "--reps" => reps = args.next().ok_or("--reps needs a value")?.parse()?,
            "--add" => extra.push(args.next().ok_or("--add needs a path")?.into()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = tempfile::tempdir()?;
    let mut entries = generate_payload(dir.path(), total_mb << 20)?;
    for (i, path) in extra.iter().enumerate() {
        entries.push(CabEntry::new(
            format!("extra{i}"),
            Source::Path(path.clone()),
        ));
    }
    let total: u64 = entries
        .iter()
        .map(|e| match &e.source {
            Source::Path(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Bytes(b) => b.len() as u64,
        })
        .sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "payload: {} files, {:.1} MB; {} repetitions, median shown; machine threads: {threads}",
        entries.len(),
        total as f64 / 1e6,
        reps
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>12} {:>7}  cabextract -t",
        "writer", "median s", "min s", "max s", "MB/s", "size", "ratio"
    );

    let cabextract = which("cabextract");
    let mut results = Vec::new();
    for (label, level, t) in [
        ("cabwriter MSZIP-5, 1 thread", 5, 1),
        ("cabwriter MSZIP-5, all threads", 5, threads),
        ("cabwriter MSZIP-6, all threads", 6, threads),
        ("cabwriter MSZIP-9, all threads", 9, threads),
    ] {
        let out = dir.path().join(format!("ours-{level}-{t}.cab"));
        let opts = CabOptions {
            compression: Compression::MsZip { level },
            threads: t,
            max_folder_uncompressed: None,
        };
        let times = time_reps(reps, || {
            let file = std::fs::File::create(&out)?;
            write_cabinet(&entries, &opts, BufWriter::new(file)).map_err(io::Error::other)?;
            Ok(())
        })?;
        results.push(report(label, &times, total, &out, cabextract));
    }
    println!(
        "peak RSS after cabwriter runs (whole process): {} (payload is read from files)",
        peak_rss().unwrap_or_else(|| "unknown".into())
    );

    let out = dir.path().join("cab-crate.cab");
    let times = time_reps(reps, || write_with_cab_crate(&entries, &out))?;
    results.push(report(
        "cab crate 0.6 (miniz best, 1 thread)",
        &times,
        total,
        &out,
        cabextract,
    ));
    let base = results.last().copied().expect("cab crate result");

    // gcab is what wixl builds its cabinets with (zlib, one thread).
    if which("gcab") {
        let out = dir.path().join("gcab.cab");
        let times = time_reps(reps, || {
            let _ = std::fs::remove_file(&out);
            let mut cmd = Command::new("gcab");
            cmd.arg("-c").arg("-z").arg("-n").arg(&out);
            for e in &entries {
                if let Source::Path(p) = &e.source {
                    cmd.arg(p);
                }
            }
            let status = cmd.status()?;
            if status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!("gcab failed: {status}")))
            }
        })?;
        let gcab = report(
            "gcab -c -z (zlib, 1 thread)",
            &times,
            total,
            &out,
            cabextract,
        );
        println!(
            "the cab crate: {:.2}x gcab's speed, {:.2}% of its size",
            gcab.1 / base.1,
            100.0 * base.2 as f64 / gcab.2 as f64
        );
        for (label, secs, size) in &results[..results.len() - 1] {
            println!(
                "{label}: {:.2}x gcab's speed, {:.2}% of its size",
                gcab.1 / secs,
                100.0 * *size as f64 / gcab.2 as f64
            );
        }
    }
    for (label, secs, size) in &results[..results.len() - 1] {
        println!(
            "{label}: {:.2}x the cab crate's speed, {:.2}% of its size",
            base.1 / secs,
            100.0 * *size as f64 / base.2 as f64
        );
    }
    Ok(())
}

fn report(
    label: &'static str,
    times: &[Duration],
    total: u64,
    out: &Path,
    cabextract: bool,
) -> (&'static str, f64, u64) {
    let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let check = if cabextract {
        let ok = Command::new("cabextract")
            .arg("-t")
            .arg("-q")
            .arg(out)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            "ok"
        } else {
            "REJECTED"
        }
    } else {
        "(not installed)"
    };
    println!(
        "{label:<34} {median:>9.3} {:>9.3} {:>9.3} {:>9.1} {size:>12} {:>6.2}%  {check}",
        secs[0],
        secs[secs.len() - 1],
        total as f64 / 1e6 / median,
        100.0 * size as f64 / total as f64
    );
    (label, median, size)
}

fn time_reps(reps: usize, mut f: impl FnMut() -> io::Result<()>) -> io::Result<Vec<Duration>> {
    (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f()?;
            Ok(start.elapsed())
        })
        .collect()
}

fn write_with_cab_crate(entries: &[CabEntry], out: &Path) -> io::Result<()> {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for e in entries {
        folder.add_file(e.name.clone());
    }
    let mut writer = builder.build(std::fs::File::create(out)?)?;
    let mut index = 0;
    while let Some(mut file_writer) = writer.next_file()? {
        match &entries[index].source {
            Source::Path(p) => {
                io::copy(&mut std::fs::File::open(p)?, &mut file_writer)?;
            }
            Source::Bytes(b) => file_writer.write_all(b)?,
        }
        index += 1;
    }
    writer.finish()?.flush()
}

/// Writes ~`total` bytes of mixed files under `dir`, deterministic, 1 MiB at a time.
fn generate_payload(dir: &Path, total: u64) -> io::Result<Vec<CabEntry>> {
    // Shares of the payload: text-like 45 %, structured binary 15 %, random 25 %, zeros 15 %.
    let kinds: [(&str, u64); 4] = [("text", 45), ("struct", 15), ("random", 25), ("zeros", 15)];
    let mut entries = Vec::new();
    let mut rng = XorShift(0x5EED_CAB5);
    for (kind, share) in kinds {
        let mut budget = total * share / 100;
        let mut n = 0;
        while budget > 0 {
            // File sizes from 1 KiB to ~8 MiB, skewed towards small files.
            let size = (1024u64 << (rng.next() % 14)).min(budget);
            budget -= size;
            let name = format!("{kind}{n:04}.dat");
            let path = dir.join(&name);
            let mut w = BufWriter::new(std::fs::File::create(&path)?);
            let mut left = size as usize;
            while left > 0 {
                let chunk = left.min(1 << 20);
                w.write_all(&make_chunk(kind, chunk, &mut rng))?;
                left -= chunk;
            }
            w.flush()?;
            entries.push(CabEntry::new(name, Source::Path(path)));
            n += 1;
        }
    }
    Ok(entries)
}

fn make_chunk(kind: &str, len: usize, rng: &mut XorShift) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "service",
        "install",
        "the",
        "of",
        "windows",
        "release",
        "config",
        "port",
        "listen",
        "error",
        "cabinet",
        "folder",
        "value",
        "a",
        "to",
        "and",
        "msi",
        "component",
        "upgrade",
        "firewall",
        "rule",
        "timeout",
        "log",
        "path",
        "request",
        "handler",
        "func",
        "return",
        "if",
        "err",
        "nil",
        "string",
        "int",
        "struct",
        "package",
        "import",
        "{",
        "}",
        "(",
        ")",
    ];
    let mut out = Vec::with_capacity(len + 64);
    match kind {
        "text" => {
            while out.len() < len {
                let r = rng.next();
                out.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
                out.push(match r >> 60 {
                    0 => b'\n',
                    1 => b'.',
                    _ => b' ',
                });
                if r >> 56 == 7 {
                    out.extend_from_slice(format!("{}", r >> 40).as_bytes());
                }
            }
        }
        "struct" => {
            // Records of a counter, small integers and an occasional random word,
            // roughly like tables and relocation data in executables.
            let mut counter = rng.next() as u32;
            while out.len() < len {
                counter = counter.wrapping_add(1 + (rng.next() % 4) as u32);
                out.extend_from_slice(&counter.to_le_bytes());
                out.extend_from_slice(&((rng.next() % 300) as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
                if rng.next().is_multiple_of(4) {
                    out.extend_from_slice(&rng.next().to_le_bytes());
                }
            }
        }
        "random" => {
            while out.len() < len {
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
        }
        _ => out.resize(len, 0),
    }
    out.truncate(len);
    out
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}
