//! A throw-away 64-bit Wine prefix and the commands the suite runs in it.
//!
//! How Wine behaves here (Wine 8.0, Debian `wine64`), and why the code is shaped this way:
//! - The first Wine process of a wineserver session runs `wineboot`, which starts `services.exe`,
//!   which starts every auto-start service. That is Wine's "boot": [`Prefix::restart`] stops the
//!   wineserver (every Windows process dies, as at shutdown) and starts a new session.
//! - `services.exe` inherits the Unix stderr and the `WINEDEBUG` of that first process, and every
//!   Windows process (msiexec, its custom actions, the services) writes Wine's debug lines to the
//!   stderr it inherited. So every command here appends its stderr to one file, and
//!   [`Prefix::run`] returns the slice written while the command ran: that is where the `fixme`
//!   lines of the stubbed `netsh` and of `sc failure` (printed by `services.exe`) appear.
//! - Nothing is read through pipes: a process started by the command (`services.exe`, a service)
//!   would hold the pipe open forever. Standard output goes to a file too.
//! - A wineserver with no client left exits after a few seconds and takes the services with it;
//!   `wineserver -p` keeps it alive between commands.
//! - Wine truncates process exit codes to 8 bits (1603 → 67): compare with [`exit_code`].

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Debug channels kept on: the stubs whose arguments the suite asserts (`fixme:netsh`,
/// `fixme:service`), process creation (`trace:process`: the exact command line of every custom
/// action and every service start, which Wine's msiexec log does not show), and Windows
/// Installer errors (`err:msi`), which explain a failed install. Everything else is off (`-all`
/// first; it also silences the Debian wrapper's wine32 hint).
pub const WINEDEBUG: &str = "-all,fixme+netsh,fixme+service,trace+process,err+msi";

/// Wine's process exit code for a Windows exit code: the low 8 bits (1603 → 67).
pub fn exit_code(windows_code: u32) -> i32 {
    (windows_code & 0xff) as i32
}

/// `Z:\…` form of an absolute Unix path (Wine maps Z: to /).
pub fn win_path(path: &Path) -> String {
    let text = path.to_str().expect("UTF-8 path");
    assert!(text.starts_with('/'), "not an absolute path: {text}");
    format!("Z:{}", text.replace('/', "\\"))
}

/// What a command did: its (8-bit) exit code, its standard output, and the Wine debug lines
/// written by any process of the prefix while it ran.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub debug: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The `fixme:` lines of the debug output.
    pub fn fixmes(&self) -> Vec<&str> {
        fixme_lines(&self.debug)
    }

    /// Command lines of the processes started while the command ran, in order.
    pub fn processes(&self) -> Vec<String> {
        created_processes(&self.debug)
    }
}

/// The `fixme:` lines of Wine debug output, without the thread-id prefix (`0064:`).
pub fn fixme_lines(debug: &str) -> Vec<&str> {
    debug
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(':')?;
            rest.starts_with("fixme:").then_some(rest)
        })
        .collect()
}

/// Command lines of every process created, from the `trace:process:CreateProcessInternalW`
/// lines (kept on in [`WINEDEBUG`]), with Wine's `debugstr_w` escapes undone.
pub fn created_processes(debug: &str) -> Vec<String> {
    debug
        .lines()
        .filter(|line| line.contains(":trace:process:CreateProcessInternalW app "))
        .filter_map(|line| {
            let start = line.find(" cmdline L\"")? + " cmdline L\"".len();
            let end = line.rfind('"')?;
            (end >= start).then(|| unescape_debugstr(&line[start..end]))
        })
        .collect()
}

/// Undoes `debugstr_w` escaping: `\\` → `\`, `\"` → `"`, `\n` → newline, `\t` → tab.
fn unescape_debugstr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Splits a Windows command line into arguments the way `CommandLineToArgvW` and the Microsoft
/// C runtime do (what `sc.exe` and `netsh.exe` receive): whitespace separates, double quotes
/// group, `2n` backslashes before a quote are `n` backslashes, `2n+1` are `n` and a literal quote.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut backslashes = 0usize;
    for c in line.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                in_arg = true;
            }
            '"' => {
                push_backslashes(&mut current, backslashes / 2);
                if backslashes % 2 == 1 {
                    current.push('"');
                } else {
                    quoted = !quoted;
                }
                backslashes = 0;
                in_arg = true;
            }
            ' ' | '\t' if !quoted => {
                push_backslashes(&mut current, backslashes);
                backslashes = 0;
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            _ => {
                push_backslashes(&mut current, backslashes);
                backslashes = 0;
                current.push(c);
                in_arg = true;
            }
        }
    }
    push_backslashes(&mut current, backslashes);
    if in_arg {
        args.push(current);
    }
    args
}

fn push_backslashes(text: &mut String, count: usize) {
    for _ in 0..count {
        text.push('\\');
    }
}

/// One `msiexec` run: exit code, its `/l*v` log, and the debug lines written meanwhile.
#[derive(Debug, Clone)]
pub struct MsiRun {
    pub run: Run,
    pub log_path: PathBuf,
    pub log: String,
}

impl MsiRun {
    /// Panics unless msiexec ended with `windows_code` (compared modulo Wine's 8-bit truncation);
    /// the message shows the log's error lines.
    pub fn assert_exit(&self, windows_code: u32) {
        let expected = exit_code(windows_code);
        assert_eq!(
            self.run.code,
            Some(expected),
            "msiexec exit code {:?}, expected {windows_code} (Wine: {expected}); log {}\n{}\nWine errors:\n{}",
            self.run.code,
            self.log_path.display(),
            self.log_excerpt(),
            self.run
                .debug
                .lines()
                .filter(|l| l.contains("err:"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Log lines that usually explain a failure: errors, return value 3, notes.
    pub fn log_excerpt(&self) -> String {
        let lines: Vec<&str> = self
            .log
            .lines()
            .filter(|l| {
                l.contains("Error")
                    || l.contains("error")
                    || l.contains("Return value 3")
                    || l.contains("Note:")
                    || l.contains("failed")
            })
            .collect();
        let start = lines.len().saturating_sub(40);
        lines[start..].join("\n")
    }
}

/// The status `sc query` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// `SERVICE_RUNNING` = 4, `SERVICE_STOPPED` = 1, `SERVICE_START_PENDING` = 2, …
    pub state: u32,
    pub state_name: String,
    pub win32_exit_code: u32,
    pub service_exit_code: u32,
}

pub const SERVICE_STOPPED: u32 = 1;
pub const SERVICE_RUNNING: u32 = 4;

/// One key of `reg query` output with its values (name → (type, data)); the default value is
/// named `(Default)`.
#[derive(Debug, Clone, Default)]
pub struct RegKey {
    pub path: String,
    pub values: BTreeMap<String, (String, String)>,
}

impl RegKey {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(_, data)| data.as_str())
    }
}

/// A Wine prefix under a temporary directory, with a running (persistent) wineserver session.
/// Dropping it kills every process of the prefix and deletes it, also when a test panics.
pub struct Prefix {
    /// Holds `pfx/` (the prefix) and scratch files; deleted on drop.
    root: tempfile::TempDir,
    prefix: PathBuf,
    logs: PathBuf,
    stderr_log: PathBuf,
    commands: usize,
}

impl Prefix {
    /// Creates the prefix (`wineboot -i`), waits for it to settle (`wineserver -w`: right after
    /// `wineboot -i` a second services.exe starts, and an install racing it fails with 1060),
    /// installs the `ProcessPrng` shim and starts a persistent session. `logs` receives Wine's
    /// stderr (`wine-stderr.log`) and the msiexec logs.
    pub fn create(logs: &Path) -> Prefix {
        std::fs::create_dir_all(logs).expect("create the logs folder");
        let root = tempfile::Builder::new()
            .prefix("winrelease-wine-")
            .tempdir()
            .expect("create a temporary directory for the Wine prefix");
        let prefix = root.path().join("pfx");
        let mut this = Prefix {
            prefix,
            logs: logs.to_path_buf(),
            stderr_log: logs.join("wine-stderr.log"),
            root,
            commands: 0,
        };
        let started = Instant::now();
        let boot = this.run_program("wine", &["wineboot", "-i"], Duration::from_secs(180));
        assert!(boot.success(), "wineboot -i failed: {boot:?}");
        this.wait_server_exit();
        this.install_process_prng_shim();
        this.start_session();
        eprintln!(
            "wine prefix ready in {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            this.prefix.display()
        );
        this
    }

    /// `drive_c` of the prefix; join Windows paths below `C:\` with `/`.
    pub fn drive_c(&self) -> PathBuf {
        self.prefix.join("drive_c")
    }

    /// The Unix path of a `C:\…` path.
    pub fn c_path(&self, windows: &str) -> PathBuf {
        let rest = windows
            .strip_prefix("C:\\")
            .or_else(|| windows.strip_prefix("c:\\"))
            .unwrap_or_else(|| panic!("not a C:\\ path: {windows}"));
        let mut path = self.drive_c();
        for part in rest.split('\\').filter(|p| !p.is_empty()) {
            path.push(part);
        }
        path
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", WINEDEBUG)
            // No Mono or Gecko download prompts: the suite needs neither .NET nor HTML.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            // Headless: no X server, so no window can be waited for.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .current_dir(self.root.path());
        cmd
    }

    fn debug_len(&self) -> u64 {
        std::fs::metadata(&self.stderr_log)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn debug_since(&self, offset: u64) -> String {
        let bytes = std::fs::read(&self.stderr_log).unwrap_or_default();
        let start = (offset as usize).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// Runs `program args…` with the prefix's environment, stdout to a file, stderr appended to
    /// the shared debug log; kills it and panics after `timeout`.
    fn run_program(&mut self, program: &str, args: &[&str], timeout: Duration) -> Run {
        self.commands += 1;
        let stdout_path = self
            .root
            .path()
            .join(format!("stdout-{}.txt", self.commands));
        let stdout = File::create(&stdout_path).expect("create stdout file");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_log)
            .expect("open the Wine stderr log");
        let offset = self.debug_len();
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let status = wait_with_timeout(&mut child, timeout).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {timeout:?}")
        });
        let stdout = std::fs::read(&stdout_path).unwrap_or_default();
        let _ = std::fs::remove_file(&stdout_path);
        Run {
            code: status.code(),
            stdout: decode_text(&stdout),
            debug: self.debug_since(offset),
        }
    }

    /// `wine PROGRAM ARGS…` inside the prefix.
    pub fn wine(&mut self, args: &[&str]) -> Run {
        self.run_program("wine", args, Duration::from_secs(60))
    }

    /// `wine PROGRAM ARGS…` with a longer deadline (an agent's poll installs and waits).
    pub fn wine_within(&mut self, args: &[&str], timeout: Duration) -> Run {
        self.run_program("wine", args, timeout)
    }

    fn wineserver(&mut self, args: &[&str]) -> Run {
        self.run_program("wineserver", args, Duration::from_secs(60))
    }

    /// `wineserver -w`: returns once the prefix's wineserver (and so every process) has exited.
    fn wait_server_exit(&mut self) {
        self.wineserver(&["-w"]);
    }

    /// Starts a session: a persistent wineserver, then one Wine process so that `wineboot` runs
    /// and `services.exe` starts the auto-start services (as Windows does at boot).
    pub fn start_session(&mut self) {
        let persistent = self.wineserver(&["-p"]);
        assert!(persistent.success(), "wineserver -p failed: {persistent:?}");
        let boot = self.wine(&["cmd", "/c", "exit"]);
        assert!(
            boot.success(),
            "first process of the session failed: {boot:?}"
        );
    }

    /// Kills every process of the prefix (`wineserver -k`) and waits until the server is gone.
    pub fn stop_session(&mut self) {
        self.wineserver(&["-k"]);
        self.wait_server_exit();
    }

    /// A reboot: every Windows process dies, then a new session starts and `services.exe`
    /// starts the auto-start services again.
    pub fn restart(&mut self) {
        self.stop_session();
        self.start_session();
    }

    /// Builds `bcryptprimitives.dll` (one forwarded export, `ProcessPrng` →
    /// `advapi32.SystemFunction036`) from the committed `.def` with the mingw linker, and puts
    /// it in the prefix's `system32`. Go ≥ 1.22 executables import `ProcessPrng`, which Wine 8.0
    /// lacks: without the shim they die at start.
    fn install_process_prng_shim(&self) {
        // Read next to this file, so every crate's tests that include the module find it.
        let def = self.root.path().join("bcryptprimitives.def");
        std::fs::write(&def, include_str!("bcryptprimitives.def")).expect("write the .def");
        let dll = self.root.path().join("bcryptprimitives.dll");
        let output = Command::new("x86_64-w64-mingw32-ld")
            // `-e 0`: no entry point; the DLL has no code, only the export table.
            .args(["--dll", "-e", "0", "-o"])
            .arg(&dll)
            .arg(&def)
            .output()
            .expect("run x86_64-w64-mingw32-ld");
        assert!(
            output.status.success(),
            "linking the ProcessPrng shim failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let system32 = self.drive_c().join("windows").join("system32");
        std::fs::copy(&dll, system32.join("bcryptprimitives.dll"))
            .expect("copy the shim into system32");
    }

    /// `msiexec ARGS… /qn /l*v <logs>/<log_name>.log` (the package and properties come in
    /// `args`, e.g. `["/i", &win_path(msi), "LISTEN_PORT=18080"]`).
    pub fn msiexec(&mut self, args: &[&str], log_name: &str) -> MsiRun {
        let log_path = self.logs.join(format!("{log_name}.log"));
        let _ = std::fs::remove_file(&log_path);
        let log_arg = win_path(&log_path);
        let mut all: Vec<&str> = vec!["msiexec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["/qn", "/l*v", &log_arg]);
        let run = self.run_program("wine", &all, Duration::from_secs(120));
        let log = std::fs::read(&log_path)
            .map(|bytes| decode_text(&bytes))
            .unwrap_or_default();
        // Keep the debug lines next to the log, so a failure can be read in one folder.
        let _ = std::fs::write(
            self.logs.join(format!("{log_name}.wine-debug.txt")),
            &run.debug,
        );
        MsiRun { run, log_path, log }
    }

    /// `sc query NAME`; `None` when the service does not exist.
    pub fn service_status(&mut self, name: &str) -> Option<ServiceStatus> {
        let run = self.wine(&["sc", "query", name]);
        if !run.success() {
            return None;
        }
        parse_sc_query(&run.stdout)
    }

    /// Polls `sc query` until the service is in `state`, or panics after `within` with the last
    /// status seen.
    pub fn wait_service_state(
        &mut self,
        name: &str,
        state: u32,
        within: Duration,
    ) -> ServiceStatus {
        let deadline = Instant::now() + within;
        loop {
            let status = self.service_status(name);
            if let Some(s) = &status {
                if s.state == state {
                    return s.clone();
                }
            }
            if Instant::now() >= deadline {
                panic!("service {name} not in state {state} within {within:?}; last status: {status:?}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `reg query KEY [/s] /reg:64` (the 64-bit view, where a per-machine x64 package writes);
    /// `None` when the key does not exist.
    pub fn reg_query(&mut self, key: &str, recursive: bool) -> Option<Vec<RegKey>> {
        let mut args = vec!["reg", "query", key];
        if recursive {
            args.push("/s");
        }
        args.push("/reg:64");
        let run = self.wine(&args);
        if !run.success() {
            return None;
        }
        Some(parse_reg_query(&run.stdout))
    }

    /// One key's values (not its subkeys); `None` when the key does not exist.
    pub fn reg_key(&mut self, key: &str) -> Option<RegKey> {
        // Without `/s` the output starts with the key itself; subkeys follow as bare paths.
        self.reg_query(key, false)?.into_iter().next()
    }

    /// Add/Remove Programs entries (64-bit `Uninstall` keys) whose `DisplayName` is `name`.
    pub fn arp_entries(&mut self, name: &str) -> Vec<RegKey> {
        self.reg_query(
            "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
            true,
        )
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.get("DisplayName") == Some(name))
        .collect()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        // Every Windows process of the prefix (services included) dies with its wineserver.
        let _ = self
            .command("wineserver")
            .arg("-k")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self
            .command("wineserver")
            .arg("-w")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // `root` (the prefix and scratch files) is deleted when the TempDir field drops.
    }
}

fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child process") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Text from a Windows tool: UTF-16LE when it has a BOM or looks like it, else UTF-8 (lossy);
/// CRLF becomes LF.
pub fn decode_text(bytes: &[u8]) -> String {
    let utf16 =
        bytes.starts_with(&[0xff, 0xfe]) || (bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0);
    let text = if utf16 {
        let body = bytes.strip_prefix(&[0xff, 0xfe]).unwrap_or(bytes);
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    text.replace("\r\n", "\n")
}

/// Parses `sc query` output (`STATE : 4  RUNNING`, `WIN32_EXIT_CODE : 0 (0x0)`, …).
pub fn parse_sc_query(text: &str) -> Option<ServiceStatus> {
    let field = |name: &str| -> Option<&str> {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim())
        })
    };
    let number = |value: &str| -> Option<u32> { value.split_whitespace().next()?.parse().ok() };
    let state_field = field("STATE")?;
    Some(ServiceStatus {
        state: number(state_field)?,
        state_name: state_field
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string(),
        win32_exit_code: field("WIN32_EXIT_CODE").and_then(number).unwrap_or(0),
        service_exit_code: field("SERVICE_EXIT_CODE").and_then(number).unwrap_or(0),
    })
}

/// Parses `reg query` output: a key path line, then `    NAME    TYPE    DATA` lines.
pub fn parse_reg_query(text: &str) -> Vec<RegKey> {
    let mut keys: Vec<RegKey> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(value_line) = line.strip_prefix("    ") {
            let mut parts = value_line.splitn(3, "    ");
            let name = parts.next().unwrap_or_default().to_string();
            let kind = parts.next().unwrap_or_default().trim().to_string();
            let data = parts.next().unwrap_or_default().to_string();
            if let Some(key) = keys.last_mut() {
                key.values.insert(name, (kind, data));
            }
        } else {
            keys.push(RegKey {
                path: line.trim().to_string(),
                values: BTreeMap::new(),
            });
        }
    }
    keys
}
