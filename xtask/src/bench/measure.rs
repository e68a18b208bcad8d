//! Timing primitives: one child process's wall time and peak resident set size, and the
//! median/min/max of repeated samples.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// What one child process did.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub wall: Duration,
    /// Peak resident set size of that process alone (`ru_maxrss` from `wait4`), in bytes.
    pub max_rss: u64,
    pub stdout: String,
}

/// Runs `cmd` to completion and measures it with `wait4(2)`, which reports the resource usage
/// of exactly the process waited for and its descendants (unlike `getrusage(RUSAGE_CHILDREN)`,
/// which keeps the maximum over every child ever reaped). Its `max_rss` is at least this
/// process's own peak at the time of the spawn (see [`run_measured`]).
///
/// Output goes to anonymous temporary files rather than pipes, so a chatty child can never
/// block on a full pipe while we sit in `wait4`. A non-zero exit is an error carrying stderr.
pub fn run_child(cmd: &mut Command) -> Result<ChildRun> {
    let mut out = tempfile::tempfile().context("creating a file for the child's stdout")?;
    let mut err = tempfile::tempfile().context("creating a file for the child's stderr")?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(err.try_clone()?));
    let program = format!("{:?}", cmd.get_program());
    let started = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let waited = wait_for(child.id() as libc::pid_t);
    let wall = started.elapsed();
    // The child is reaped; `Child`'s drop neither waits nor kills.
    drop(child);
    let (status, usage) = waited.with_context(|| format!("waiting for {program}"))?;
    let read_all = |f: &mut std::fs::File| -> Result<String> {
        let mut text = String::new();
        f.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        text.push_str(&String::from_utf8_lossy(&bytes));
        Ok(text)
    };
    let stdout = read_all(&mut out)?;
    let stderr = read_all(&mut err)?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let how = if libc::WIFEXITED(status) {
            format!("exit code {}", libc::WEXITSTATUS(status))
        } else {
            format!("signal {}", libc::WTERMSIG(status))
        };
        bail!(
            "{program} failed ({how}):\n{}{}",
            tail(&stderr, 40),
            tail(&stdout, 10)
        );
    }
    Ok(ChildRun {
        wall,
        // Linux reports ru_maxrss in KiB.
        max_rss: (usage.ru_maxrss.max(0) as u64) * 1024,
        stdout,
    })
}

/// Like [`run_child`], but the process is started by a small launcher (`xtask bench-child
/// measure`), which times it and takes its peak RSS with `wait4`.
///
/// Why: Linux carries a process's RSS high-water mark over `fork` and `exec` into the child's
/// `ru_maxrss`, so a child of this (large, long-running) bench process reports at least the
/// bench's own peak. Forked from the launcher, the measured process only inherits the
/// launcher's few megabytes. Stdout and stderr of the measured process are the launcher's.
pub fn run_measured(xtask: &Path, cmd: &Command) -> Result<ChildRun> {
    let report = tempfile::NamedTempFile::new().context("creating a report file")?;
    let mut launcher = Command::new(xtask);
    launcher
        .args(["bench-child", "measure", "--report"])
        .arg(report.path())
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        launcher.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => launcher.env(key, v),
            None => launcher.env_remove(key),
        };
    }
    let mut run = run_child(&mut launcher)?;
    let text = std::fs::read_to_string(report.path()).context("reading the launcher's report")?;
    let measured: Measured =
        serde_json::from_str(&text).with_context(|| format!("launcher report {text:?}"))?;
    run.wall = Duration::from_secs_f64(measured.wall_s);
    run.max_rss = measured.max_rss;
    Ok(run)
}

/// What the launcher writes: the measured process's wall time and peak RSS (bytes).
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Measured {
    pub wall_s: f64,
    pub max_rss: u64,
}

/// The launcher side of [`run_measured`]: runs `command` with this process's stdio, writes a
/// [`Measured`] to `report`, and returns the command's exit code.
pub fn launch(report: &Path, command: &[std::ffi::OsString]) -> Result<i32> {
    let (program, args) = command.split_first().context("no command to measure")?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {program:?}"))?;
    let (status, usage) =
        wait_for(child.id() as libc::pid_t).with_context(|| format!("waiting for {program:?}"))?;
    let wall = started.elapsed();
    std::fs::write(
        report,
        serde_json::to_string(&Measured {
            wall_s: wall.as_secs_f64(),
            max_rss: (usage.ru_maxrss.max(0) as u64) * 1024,
        })?,
    )?;
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// `wait4` on our own child `pid`: its wait status and resource usage.
fn wait_for(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own un-reaped child; `status` and `usage` are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The last `lines` lines of `text`, for error messages.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = all[start..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Repeated measurements of one quantity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Samples {
    pub unit: &'static str,
    pub values: Vec<f64>,
}

impl Samples {
    pub fn new(unit: &'static str) -> Samples {
        Samples {
            unit,
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, value: f64) {
        self.values.push(value);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// Median (mean of the two middle values for an even count); NaN when empty.
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// `median (min–max)` with the unit's usual precision.
    pub fn describe(&self) -> String {
        if self.values.is_empty() {
            return "n/a".into();
        }
        let f = |x: f64| format_value(x, self.unit);
        if self.values.len() == 1 {
            return f(self.median());
        }
        format!("{} ({}–{})", f(self.median()), f(self.min()), f(self.max()))
    }
}

/// A value with its unit, rounded for a table.
pub fn format_value(x: f64, unit: &str) -> String {
    match unit {
        "s" if x < 1.0 => format!("{:.0} ms", x * 1000.0),
        "s" => format!("{x:.2} s"),
        "MB" => format!("{x:.1} MB"),
        "GB/s" => format!("{x:.2} GB/s"),
        "bytes" => format!("{:.2} MB", x / 1e6),
        other => format!("{x:.3} {other}"),
    }
}

/// Peak resident set size of the calling process so far (`VmHWM` in /proc/self/status), bytes.
pub fn own_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut s = Samples::new("s");
        for v in [3.0, 1.0, 2.0] {
            s.push(v);
        }
        assert_eq!(s.median(), 2.0);
        s.push(10.0);
        assert_eq!(s.median(), 2.5);
        assert_eq!((s.min(), s.max()), (1.0, 10.0));
    }

    #[test]
    fn child_rss_is_that_childs_own() {
        // A child that touches ~80 MB, then a small one: the second must not report the first's peak.
        let big = run_child(Command::new("sh").args([
            "-c",
            "head -c 80000000 /dev/zero | tr '\\0' 'a' | sort >/dev/null",
        ]))
        .unwrap();
        let small = run_child(&mut Command::new("true")).unwrap();
        assert!(big.max_rss > 40_000_000, "{}", big.max_rss);
        assert!(small.max_rss < 20_000_000, "{}", small.max_rss);
    }

    #[test]
    fn failing_child_reports_its_stderr() {
        let err = run_child(Command::new("sh").args(["-c", "echo boom >&2; exit 3"])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("exit code 3") && text.contains("boom"),
            "{text}"
        );
    }
}
