//! Stage progress for `release`: a live spinner per stage with elapsed time on a terminal,
//! plain lines when output is not a terminal or in CI (logs stay readable), nothing with --json.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use winrelease::release::{Progress, Stage};

pub enum StageProgress {
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
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        if json {
            StageProgress::Silent
        } else if std::io::stderr().is_terminal() && !ci {
            StageProgress::Live { bar: None, verbose }
        } else {
            StageProgress::Plain { verbose }
        }
    }
}

impl Progress for StageProgress {
    fn start(&mut self, stage: Stage) {
        match self {
            StageProgress::Live { bar, .. } => {
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
            StageProgress::Plain { .. } => eprintln!("{:>7}: started", stage.name()),
            StageProgress::Silent => {}
        }
    }

    fn finish(&mut self, stage: Stage, elapsed: Duration, detail: &str) {
        let line = format!(
            "{:>7}: {detail} [{:.2}s]",
            stage.name(),
            elapsed.as_secs_f64()
        );
        match self {
            StageProgress::Live { bar, .. } => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("✓{line}");
            }
            StageProgress::Plain { .. } => eprintln!("{line}"),
            StageProgress::Silent => {}
        }
    }

    fn command(&mut self, stage: Stage, line: &str) {
        match self {
            StageProgress::Live { verbose: true, .. } | StageProgress::Plain { verbose: true } => {
                eprintln!("{:>7}  $ {line}", stage.name())
            }
            _ => {}
        }
    }
}
