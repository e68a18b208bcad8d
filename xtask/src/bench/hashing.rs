//! Hashing throughput: the pipeline's digest pass against `sha256sum` and against OpenSSL's
//! SHA-256 speed on this CPU (SHA-NI where present), the practical ceiling.
//!
//! The pipeline hashes every artifact once with [`winrelease::digest::hash_file`], which feeds
//! each chunk to SHA-256 (for SHA256SUMS and the manifest) and BLAKE2b-512 (minisign's prehash)
//! in one pass over the bytes. Both halves are also timed alone on the same bytes in memory, so
//! a miss can be attributed.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use winrelease::digest;

use super::measure::{run_child, Samples};

#[derive(Debug, Clone, Serialize)]
pub struct HashResult {
    pub bytes: u64,
    /// `digest::hash_file` on a file in the page cache: SHA-256 + BLAKE2b-512, one pass (GB/s).
    pub pipeline: Samples,
    /// SHA-256 alone (sha2 crate, as linked into winrelease) on the same bytes in memory.
    pub sha256_only: Samples,
    /// BLAKE2b-512 alone (minisig's prehash) on the same bytes in memory.
    pub blake2b_only: Samples,
    /// SHA-256 alone (sha2) over one 16 KiB buffer hashed repeatedly: the ceiling's own terms
    /// (data in L1 cache), to tell the implementation's speed from the cost of streaming.
    pub sha256_l1: Samples,
    pub sha256sum: Samples,
    /// `openssl dgst -sha256` on the same page-cached file: OpenSSL's SHA-NI code streaming.
    pub openssl_dgst: Samples,
    /// `openssl speed -evp sha256 -bytes 16384`: the ceiling.
    pub openssl: Samples,
    pub openssl_skipped: Option<String>,
}

/// Deterministic incompressible bytes (content does not change SHA-256's speed, but a file of
/// zeros could be sparse on disk).
fn fill(buf: &mut [u8]) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

pub fn run(work: &Path, size: u64, reps: usize) -> Result<HashResult> {
    std::fs::create_dir_all(work)?;
    let mut buf = vec![0u8; size as usize];
    fill(&mut buf);
    let path = work.join("hash-input.bin");
    {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    // Page-cache the file so every tool reads memory, not disk.
    let _ = std::fs::read(&path)?;
    let gbps = |secs: f64| size as f64 / secs / 1e9;
    let mut r = HashResult {
        bytes: size,
        pipeline: Samples::new("GB/s"),
        sha256_only: Samples::new("GB/s"),
        blake2b_only: Samples::new("GB/s"),
        sha256_l1: Samples::new("GB/s"),
        sha256sum: Samples::new("GB/s"),
        openssl_dgst: Samples::new("GB/s"),
        openssl: Samples::new("GB/s"),
        openssl_skipped: None,
    };
    let expected = digest::Sha256Digest::of(&buf).to_hex();
    for rep in 0..reps {
        eprint!("\r  hashing: repetition {}/{reps}   ", rep + 1);
        let t = Instant::now();
        let digest = digest::hash_file(&path)?;
        r.pipeline.push(gbps(t.elapsed().as_secs_f64()));
        if digest.sha256.to_hex() != expected {
            bail!("hash_file and Sha256Digest::of disagree");
        }

        let t = Instant::now();
        std::hint::black_box(digest::Sha256Digest::of(std::hint::black_box(&buf)));
        r.sha256_only.push(gbps(t.elapsed().as_secs_f64()));

        let t = Instant::now();
        let mut h = minisig::DataHasher::new();
        h.update(std::hint::black_box(&buf));
        std::hint::black_box(h.finalize());
        r.blake2b_only.push(gbps(t.elapsed().as_secs_f64()));

        let block = &buf[..16 * 1024];
        let rounds = (size as usize / block.len()).max(1);
        let t = Instant::now();
        let mut h = Sha256::new();
        for _ in 0..rounds {
            h.update(std::hint::black_box(block));
        }
        std::hint::black_box(h.finalize());
        r.sha256_l1
            .push((rounds * block.len()) as f64 / t.elapsed().as_secs_f64() / 1e9);

        if r.openssl_skipped.is_none() {
            match run_child(Command::new("openssl").args(["dgst", "-sha256"]).arg(&path)) {
                Ok(run) if run.stdout.contains(&expected) => {
                    r.openssl_dgst.push(gbps(run.wall.as_secs_f64()))
                }
                Ok(run) => bail!("openssl dgst disagrees: {}", run.stdout),
                Err(e) => r.openssl_skipped = Some(format!("{e:#}")),
            }
        }

        let run = run_child(Command::new("sha256sum").arg(&path)).context("sha256sum")?;
        if !run.stdout.starts_with(&expected) {
            bail!("sha256sum disagrees: {}", run.stdout);
        }
        r.sha256sum.push(gbps(run.wall.as_secs_f64()));

        if r.openssl_skipped.is_none() {
            match openssl_speed() {
                Ok(v) => r.openssl.push(v),
                Err(e) => r.openssl_skipped = Some(format!("{e:#}")),
            }
        }
    }
    eprintln!();
    drop(buf);
    let _ = std::fs::remove_file(&path);
    Ok(r)
}

/// OpenSSL's SHA-256 throughput on 16 KiB blocks, GB/s (`-mr` machine-readable output).
fn openssl_speed() -> Result<f64> {
    let run = run_child(Command::new("openssl").args([
        "speed", "-mr", "-evp", "sha256", "-bytes", "16384", "-seconds", "2",
    ]))
    .context("openssl speed (Debian: openssl)")?;
    parse_openssl_mr(&run.stdout).context("no +F line for sha256 in `openssl speed -mr` output")
}

/// Parses `+F:<n>:sha256:<bytes per second>` (one column per block size; ours is the only one).
pub fn parse_openssl_mr(text: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let mut parts = line.strip_prefix("+F:")?.split(':');
        let _index = parts.next()?;
        let name = parts.next()?;
        if !name.eq_ignore_ascii_case("sha256") {
            return None;
        }
        let bytes_per_s: f64 = parts.next()?.trim().parse().ok()?;
        Some(bytes_per_s / 1e9)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn openssl_machine_readable_line_is_parsed() {
        let out =
            "+DTP:16384:sha256:2\n+R:51017:sha256:2.00\n+H:16384\n+F:25:sha256:1672684131.34\n";
        let v = super::parse_openssl_mr(out).unwrap();
        assert!((v - 1.672684).abs() < 1e-5, "{v}");
        assert_eq!(super::parse_openssl_mr("+H:16384\n"), None);
    }
}
