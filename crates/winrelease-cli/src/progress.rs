//! Stage progress for `release`: a live spinner per stage with elapsed time on a terminal,
//! plain lines when output is not a terminal or in CI (logs stay readable), nothing with --json.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use winrelease::release::{Progress, Stage};

/// Draws stages and times them (the library reads no clock; the timings are measured here).
pub struct StageProgress {
    view: View,
    started: Option<Instant>,
    /// Wall time of each finished stage, in order.
    pub timings: Vec<(Stage, Duration)>,
}

enum View {
    Live {
        bar: Option<ProgressBar>,
        verbose: bool,
    },
    Plain {
        verbose: bool,
    },
    Silent,
}

impl StageProgress {
    pub fn for_terminal(verbose: bool, json: bool) -> StageProgress {
        let ci = crate::edge::var("CI").is_some_and(|v| v == "true" || v == "1");
        let view = if json {
            View::Silent
        } else if std::io::stderr().is_terminal() && !ci {
            View::Live { bar: None, verbose }
        } else {
            View::Plain { verbose }
        };
        StageProgress {
            view,
            started: None,
            timings: Vec::new(),
        }
    }
}

impl Progress for StageProgress {
    fn start(&mut self, stage: Stage) {
        self.started = Some(Instant::now());
        match &mut self.view {
            View::Live { bar, .. } => {
                let b = ProgressBar::new_spinner();
                b.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:>7} {msg} {elapsed}")
                        .expect("static template"),
                );
                b.set_prefix(stage.name());
                b.set_message("…");
                b.enable_steady_tick(Duration::from_millis(100));
                *bar = Some(b);
            }
            View::Plain { .. } => eprintln!("{:>7}: started", stage.name()),
            View::Silent => {}
        }
    }

    fn finish(&mut self, stage: Stage, detail: &str) {
        let elapsed = self.started.take().map_or(Duration::ZERO, |s| s.elapsed());
        self.timings.push((stage, elapsed));
        let line = format!(
            "{:>7}: {detail} [{:.2}s]",
            stage.name(),
            elapsed.as_secs_f64()
        );
        match &mut self.view {
            View::Live { bar, .. } => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("✓{line}");
            }
            View::Plain { .. } => eprintln!("{line}"),
            View::Silent => {}
        }
    }

    fn command(&mut self, stage: Stage, line: &str) {
        match &self.view {
            View::Live { verbose: true, .. } | View::Plain { verbose: true } => {
                eprintln!("{:>7}  $ {line}", stage.name())
            }
            _ => {}
        }
    }
}
