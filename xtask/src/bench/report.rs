//! The bench report: targets with pass/fail, tables (Markdown), every sample (JSON), and a
//! hand-written SVG bar chart of the medians.

use std::fmt::Write as _;

use serde::Serialize;

use super::e2e::E2eResult;
use super::hashing::HashResult;
use super::measure::{format_value, Samples};
use super::msi::{PayloadResult, ToolResult};

/// Peak RSS allowance on top of the largest artifact: 64 MiB.
pub const RSS_ALLOWANCE: u64 = 64 << 20;

/// One bar of the chart: label, value, value as text.
type Bar = (String, f64, String);

/// One target line.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    /// `None` when it could not be measured (a peer missing).
    pub pass: Option<bool>,
}

impl Target {
    pub fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "SKIPPED",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub threads: usize,
    pub go: String,
    pub wixl: String,
    pub openssl: String,
    pub profile: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub reps: usize,
    pub cold_reps: usize,
    pub quick: bool,
    pub commit: Option<String>,
    pub msi: Vec<PayloadResult>,
    pub hashing: Option<HashResult>,
    pub e2e: Option<E2eResult>,
    pub cold_build: Option<super::cold_build::ColdBuild>,
    pub s3: Option<super::s3::S3Result>,
    pub targets: Vec<Target>,
    pub skipped: Vec<String>,
    pub notes: Vec<String>,
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_else(|| "not found".into())
}

impl Report {
    pub fn new(reps: usize, cold_reps: usize, quick: bool) -> Report {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let sha_ni = std::fs::read_to_string("/proc/cpuinfo")
            .map(|t| t.split_whitespace().any(|w| w == "sha_ni"))
            .unwrap_or(false);
        Report {
            machine: Machine {
                cpu: format!("{cpu}{}", if sha_ni { " (SHA-NI)" } else { " (no SHA-NI)" }),
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                go: command_line("go", &["env", "GOVERSION"]),
                wixl: command_line("wixl", &["--version"]),
                openssl: command_line("openssl", &["version"]),
                profile: "release (the `cargo xtask` alias runs `run --package xtask --release`)",
            },
            reps,
            cold_reps,
            quick,
            commit: None,
            msi: Vec::new(),
            hashing: None,
            e2e: None,
            cold_build: None,
            s3: None,
            targets: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Evaluates every target from the measurements present.
    pub fn finish(&mut self) {
        let mut t = Vec::new();
        for p in &self.msi {
            let ours = &p.ours;
            for (peer, factor, label) in [
                (&p.wixl, 0.5, "≤ 0.5× wixl's time"),
                (&p.gomsi, 1.0, "faster than go-msi"),
            ] {
                t.push(time_target(&p.payload, ours, peer, factor, label));
            }
            for peer in [&p.wixl, &p.gomsi] {
                t.push(size_target(&p.payload, ours, peer));
            }
        }
        if let Some(h) = &self.hashing {
            let ours = h.pipeline.median();
            let ceiling = h.openssl.median();
            t.push(Target {
                name: "hashing throughput (sign::hash_file: SHA-256 + BLAKE2b-512 in one pass)"
                    .into(),
                goal: "≥ 0.9× `openssl speed -evp sha256` (SHA-NI ceiling)".into(),
                measured: if ceiling.is_nan() {
                    format!("{ours:.2} GB/s; ceiling not measured")
                } else {
                    format!("{ours:.2} GB/s = {:.2}× {ceiling:.2} GB/s", ours / ceiling)
                },
                pass: (!ceiling.is_nan()).then_some(ours >= 0.9 * ceiling),
            });
            let code = h.sha256_l1.median();
            t.push(Target {
                name: "SHA-256 code alone (sha2) on the ceiling's terms: one 16 KiB block in L1"
                    .into(),
                goal: "≥ 0.9× `openssl speed -evp sha256`".into(),
                measured: format!("{code:.2} GB/s = {}", ratio(code, ceiling)),
                pass: (!ceiling.is_nan()).then_some(code >= 0.9 * ceiling),
            });
        }
        if let Some(e) = &self.e2e {
            let rel = e.release_cold.median();
            let go = e.go_build_cold.median();
            let overhead = (rel - go) / go;
            t.push(Target {
                name: "release overhead over a bare `go build`, cold".into(),
                goal: "≤ 25 %".into(),
                measured: format!(
                    "{} vs {} = {:+.1} %",
                    format_value(rel, "s"),
                    format_value(go, "s"),
                    overhead * 100.0
                ),
                pass: Some(overhead <= 0.25),
            });
            let warm = e.release_warm.median();
            t.push(Target {
                name: "warm re-release (nothing changed)".into(),
                goal: "≤ 1.5 s".into(),
                measured: format_value(warm, "s"),
                pass: Some(warm <= 1.5),
            });
        }
        if let Some(big) = self.msi.iter().find(|p| p.files > 1000) {
            let limit = RSS_ALLOWANCE + big.ours.msi_bytes;
            t.push(Target {
                name: format!("peak RSS of the MSI stage process, {}", big.payload),
                goal: format!(
                    "≤ 64 MiB + largest artifact ({}) = {}",
                    mb(big.ours.msi_bytes),
                    mb(limit)
                ),
                measured: mb(big.ours.peak_rss),
                pass: Some(big.ours.peak_rss <= limit),
            });
        }
        if let Some(c) = &self.cold_build {
            t.push(Target {
                name: format!("cold xtask build: {}", c.command),
                goal: "≤ 120 s".into(),
                measured: format!("{:.0} s, {} crates", c.wall_s, c.units),
                pass: Some(c.wall_s <= 120.0),
            });
        }
        if let Some(s) = &self.s3 {
            t.extend(s.targets());
        }
        self.targets = t;
    }

    pub fn markdown(&self) -> String {
        let mut m = String::new();
        let w = &mut m;
        let _ = writeln!(w, "# cargo xtask bench\n");
        let _ = writeln!(
            w,
            "Machine: {}, {} threads; {}; {}; {}. Build: {}.",
            self.machine.cpu,
            self.machine.threads,
            self.machine.go,
            format_args!("wixl {}", self.machine.wixl),
            self.machine.openssl,
            self.machine.profile
        );
        let _ = writeln!(
            w,
            "Repetitions: {} (cold end-to-end: {}){}; values are medians with (min–max). Commit: {}.\n",
            self.reps,
            self.cold_reps,
            if self.quick { ", --quick" } else { "" },
            self.commit.as_deref().unwrap_or("n/a")
        );
        let _ = writeln!(w, "## Targets\n");
        let _ = writeln!(w, "| Target | Goal | Measured | Result |");
        let _ = writeln!(w, "|---|---|---|---|");
        for t in &self.targets {
            let _ = writeln!(
                w,
                "| {} | {} | {} | **{}** |",
                t.name,
                t.goal,
                t.measured,
                t.verdict()
            );
        }
        let passed = self.targets.iter().filter(|t| t.pass == Some(true)).count();
        let failed = self
            .targets
            .iter()
            .filter(|t| t.pass == Some(false))
            .count();
        let _ = writeln!(
            w,
            "\n{passed} passed, {failed} failed, {} skipped.\n",
            self.targets.len() - passed - failed
        );

        if !self.msi.is_empty() {
            let _ = writeln!(w, "## MSI stage vs wixl and go-msi\n");
            let _ = writeln!(
                w,
                "| Payload | Tool | Time | Time ratio (tool / ours) | MSI size | Size ratio (ours / tool) | Peak RSS | File rows |"
            );
            let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
            for p in &self.msi {
                let payload = format!("{} ({})", p.payload, mb(p.payload_bytes));
                for tool in [&p.ours, &p.wixl, &p.gomsi] {
                    if let Some(reason) = &tool.skipped {
                        let _ = writeln!(
                            w,
                            "| {payload} | {} | skipped ({}) | | | | | |",
                            tool.tool,
                            short_reason(reason)
                        );
                        continue;
                    }
                    let is_ours = std::ptr::eq(tool, &p.ours);
                    let _ = writeln!(
                        w,
                        "| {payload} | {} | {} | {} | {} | {} | {} | {} |",
                        tool.tool,
                        tool.time.describe(),
                        if is_ours {
                            "1".into()
                        } else {
                            format!("{:.2}×", tool.time.median() / p.ours.time.median())
                        },
                        mb(tool.msi_bytes),
                        if is_ours {
                            "1".into()
                        } else {
                            format!("{:.3}", p.ours.msi_bytes as f64 / tool.msi_bytes as f64)
                        },
                        mb(tool.peak_rss),
                        tool.file_rows.map_or("?".into(), |n| n.to_string())
                    );
                }
            }
            let _ = writeln!(w);
            for p in &self.msi {
                let _ = writeln!(
                    w,
                    "- {}: our time is the MSI stage inside its process (model, write, lint); the whole process took {}.{}",
                    p.payload,
                    p.ours.process_time.describe(),
                    if p.ours_write.values.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " Write {} + lint {}.",
                            p.ours_write.describe(),
                            p.ours_lint.describe()
                        )
                    }
                );
                if !p.not_expressed.is_empty() {
                    let _ = writeln!(
                        w,
                        "  Our package also carries what both peers' packages leave out: {}.",
                        p.not_expressed.join(", ")
                    );
                }
                for (tool, lacks) in [("wixl", &p.wixl_lacks), ("go-msi", &p.gomsi_lacks)] {
                    if !lacks.is_empty() {
                        let _ =
                            writeln!(w, "  The {tool} package also lacks: {}.", lacks.join(", "));
                    }
                }
            }
            let _ = writeln!(w, "- Peers' times are their whole process (wixl reads the generated .wxs; go-msi reads a JSON spec of the same model). Peak RSS: ours is VmHWM of the child process; peers' from wait4(2), taken by a small launcher process so the bench's own memory does not count.\n");
        }

        if let Some(h) = &self.hashing {
            let _ = writeln!(w, "## Hashing ({} MiB, page-cached)\n", h.bytes >> 20);
            let _ = writeln!(w, "| Hasher | Throughput |");
            let _ = writeln!(w, "|---|---|");
            let rows: [(&str, &Samples); 7] = [
                (
                    "winrelease sign::hash_file (SHA-256 + BLAKE2b-512, one pass, file)",
                    &h.pipeline,
                ),
                (
                    "SHA-256 alone (sha2 0.10, 512 MiB in memory)",
                    &h.sha256_only,
                ),
                (
                    "SHA-256 alone (sha2 0.10, one 16 KiB block repeated, as openssl speed does)",
                    &h.sha256_l1,
                ),
                (
                    "BLAKE2b-512 alone (minisign prehash, 512 MiB in memory)",
                    &h.blake2b_only,
                ),
                ("sha256sum (file)", &h.sha256sum),
                ("openssl dgst -sha256 (file)", &h.openssl_dgst),
                (
                    "openssl speed -evp sha256 -bytes 16384 (ceiling)",
                    &h.openssl,
                ),
            ];
            for (name, s) in rows {
                let _ = writeln!(w, "| {name} | {} |", s.describe());
            }
            let _ = writeln!(
                w,
                "\nThe ceiling hashes one 16 KiB block again and again (it stays in L1 cache); hashing a \
                 large file also streams it through memory: `openssl dgst` on the same file reaches {} \
                 of `openssl speed`, and sha2 on the ceiling's terms reaches {} of it. The pipeline's \
                 pass computes SHA-256 and BLAKE2b-512 (minisign's prehash) of each 2 MiB chunk on two \
                 threads, so at best it runs at the slower of the two; on two cores shared with the \
                 reader it lands between that and 1/(1/sha256 + 1/blake2b).",
                ratio(h.openssl_dgst.median(), h.openssl.median()),
                ratio(h.sha256_l1.median(), h.openssl.median()),
            );
            if let Some(r) = &h.openssl_skipped {
                let _ = writeln!(w, "\nopenssl: {}", one_line(r));
            }
            let _ = writeln!(w);
        }

        if let Some(e) = &self.e2e {
            let _ = writeln!(
                w,
                "## End to end: `cargo xtask release --snapshot` vs `go build`\n"
            );
            let _ = writeln!(w, "| Run | Time |");
            let _ = writeln!(w, "|---|---|");
            for (name, s) in [
                (
                    "release, cold (empty GOCACHE, no target/winrelease)",
                    &e.release_cold,
                ),
                ("bare go build, cold (empty GOCACHE)", &e.go_build_cold),
                ("release, warm (nothing changed)", &e.release_warm),
                ("bare go build, warm", &e.go_build_warm),
                (
                    "plan --snapshot (start-up, cargo metadata, git stamp)",
                    &e.plan_warm,
                ),
            ] {
                let _ = writeln!(w, "| {name} | {} |", s.describe());
            }
            for (label, stages) in [("cold", &e.cold_stages), ("warm", &e.warm_stages)] {
                let parts: Vec<String> = stages
                    .iter()
                    .map(|(k, v)| format!("{k} {}", format_value(v.median(), "s")))
                    .collect();
                let _ = writeln!(
                    w,
                    "\nStages of the {label} release (medians): {}.",
                    parts.join(", ")
                );
            }
            if !e.sign_parts.is_empty() {
                let parts: Vec<String> = e
                    .sign_parts
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.describe()))
                    .collect();
                let sizes: Vec<String> = e
                    .zip_sizes
                    .iter()
                    .map(|(k, v)| format!("{k} {}", mb(*v)))
                    .collect();
                let _ = writeln!(
                    w,
                    "\nThe sign stage's pieces, timed alone on the release's exe: {}. Zip size: {}.",
                    parts.join("; "),
                    sizes.join(", ")
                );
            }
            let _ = writeln!(
                w,
                "\nLargest artifact: {} ({}). Peak RSS of the release process tree (any one process: xtask or a Go toolchain process it runs): cold {}, warm {}.\n",
                e.largest_artifact.0,
                mb(e.largest_artifact.1),
                mb(e.release_tree_peak_rss_cold),
                mb(e.release_tree_peak_rss_warm)
            );
        }
        if let Some(s) = &self.s3 {
            s.markdown(w);
        }
        if !self.skipped.is_empty() || !self.notes.is_empty() {
            let _ = writeln!(w, "## Notes\n");
            for s in &self.skipped {
                let _ = writeln!(w, "- SKIPPED {}", one_line(s));
            }
            for n in &self.notes {
                let _ = writeln!(w, "- {n}");
            }
        }
        m
    }

    /// Grouped horizontal bars, each group scaled to its own largest value.
    pub fn svg(&self) -> String {
        let mut groups: Vec<(String, Vec<Bar>)> = Vec::new();
        for p in &self.msi {
            let bars = [&p.ours, &p.wixl, &p.gomsi]
                .iter()
                .filter(|t| t.skipped.is_none())
                .map(|t| {
                    (
                        t.tool.clone(),
                        t.time.median(),
                        format_value(t.time.median(), "s"),
                    )
                })
                .collect();
            groups.push((format!("MSI build time: {}", p.payload), bars));
            let bars = [&p.ours, &p.wixl, &p.gomsi]
                .iter()
                .filter(|t| t.skipped.is_none())
                .map(|t| (t.tool.clone(), t.msi_bytes as f64, mb(t.msi_bytes)))
                .collect();
            groups.push((format!("MSI size: {}", p.payload), bars));
        }
        if let Some(h) = &self.hashing {
            let mut bars = vec![
                ("winrelease hash_file".to_string(), h.pipeline.median()),
                ("SHA-256 alone (sha2)".to_string(), h.sha256_only.median()),
                ("BLAKE2b alone".to_string(), h.blake2b_only.median()),
                ("sha256sum".to_string(), h.sha256sum.median()),
            ];
            if !h.openssl.values.is_empty() {
                bars.push(("openssl (ceiling)".to_string(), h.openssl.median()));
            }
            groups.push((
                "Hashing throughput (higher is better)".into(),
                bars.into_iter()
                    .map(|(n, v)| (n, v, format_value(v, "GB/s")))
                    .collect(),
            ));
        }
        if let Some(e) = &self.e2e {
            let bars = [
                ("release, cold", e.release_cold.median()),
                ("go build, cold", e.go_build_cold.median()),
                ("release, warm", e.release_warm.median()),
                ("go build, warm", e.go_build_warm.median()),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_string(), v, format_value(v, "s")))
            .collect();
            groups.push(("End to end".into(), bars));
        }
        let (width, label_w, bar_w, row_h) = (900.0, 260.0, 520.0, 22.0);
        let rows: usize = groups.iter().map(|(_, b)| b.len() + 2).sum();
        let height = 40.0 + rows as f64 * row_h;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="10" y="24" font-size="16" font-weight="bold">cargo xtask bench (medians; each group scaled to its largest bar)</text>"#
        );
        let mut y = 40.0;
        for (title, bars) in &groups {
            y += row_h;
            let _ = writeln!(
                s,
                r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
                y - 6.0,
                super::wxs::attr(title)
            );
            let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max);
            for (name, value, label) in bars {
                let len = if max > 0.0 && value.is_finite() {
                    value / max * bar_w
                } else {
                    0.0
                };
                let color = if name.starts_with("winrelease") || name.starts_with("release") {
                    "#2b6cb0"
                } else {
                    "#a0aec0"
                };
                let _ = writeln!(
                    s,
                    r#"<text x="20" y="{:.1}">{}</text><rect x="{label_w}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                    y + 14.0,
                    super::wxs::attr(name),
                    y + 3.0,
                    row_h - 6.0,
                    label_w + len + 6.0,
                    y + 14.0,
                    super::wxs::attr(label)
                );
                y += row_h;
            }
            y += row_h / 2.0;
        }
        let _ = writeln!(s, "</svg>");
        s
    }
}

fn time_target(
    payload: &str,
    ours: &ToolResult,
    peer: &ToolResult,
    factor: f64,
    label: &str,
) -> Target {
    let name = format!("MSI time, {payload}: {label}");
    if let Some(reason) = &peer.skipped {
        return Target {
            name,
            goal: label.into(),
            measured: format!("{} not run ({})", peer.tool, short_reason(reason)),
            pass: None,
        };
    }
    let ratio = ours.time.median() / peer.time.median();
    Target {
        name,
        goal: label.into(),
        measured: format!(
            "{} vs {} = {:.2}×",
            format_value(ours.time.median(), "s"),
            format_value(peer.time.median(), "s"),
            ratio
        ),
        pass: Some(if factor < 1.0 {
            ratio <= factor
        } else {
            ratio < factor
        }),
    }
}

fn size_target(payload: &str, ours: &ToolResult, peer: &ToolResult) -> Target {
    let name = format!("MSI size, {payload}: no larger than {}'s", peer.tool);
    if let Some(reason) = &peer.skipped {
        return Target {
            name,
            goal: "ours ≤ peer".into(),
            measured: format!("{} not run ({})", peer.tool, short_reason(reason)),
            pass: None,
        };
    }
    Target {
        name,
        goal: "ours ≤ peer".into(),
        measured: format!(
            "{} vs {} = {:.3}",
            mb(ours.msi_bytes),
            mb(peer.msi_bytes),
            ours.msi_bytes as f64 / peer.msi_bytes as f64
        ),
        pass: Some(ours.msi_bytes <= peer.msi_bytes),
    }
}

fn ratio(x: f64, y: f64) -> String {
    if x.is_finite() && y.is_finite() && y > 0.0 {
        format!("{:.2}×", x / y)
    } else {
        "n/a".into()
    }
}

/// Bytes as MB (10^6) with enough precision to compare packages of similar size.
pub fn mb(bytes: u64) -> String {
    if bytes < 10_000_000 {
        format!("{:.3} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

/// A skip reason short enough for a table cell; the full text is under Notes.
fn short_reason(reason: &str) -> String {
    let text = one_line(reason);
    if text.chars().count() <= 90 {
        return text;
    }
    format!("{}…, see Notes", text.chars().take(80).collect::<String>())
}

/// First line of a message, pipes escaped for a Markdown table cell.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
