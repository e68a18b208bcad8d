//! Scenario bookkeeping: a timing line per scenario as it ends, and a closing table
//! (scenario → pass/fail → seconds), also printed when a scenario fails.

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

#[derive(Debug)]
struct Row {
    name: String,
    passed: bool,
    seconds: f64,
}

/// The scenarios run so far.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    started: Option<Instant>,
}

impl Report {
    pub fn new() -> Report {
        Report {
            rows: Vec::new(),
            started: Some(Instant::now()),
        }
    }

    /// Runs one scenario, prints `scenario <name>: pass|FAIL (<s> s)`, and on failure prints
    /// the table so far and re-raises the panic (later scenarios depend on this one's state).
    pub fn scenario<T>(&mut self, name: &str, body: impl FnOnce() -> T) -> T {
        eprintln!("--- scenario {name}");
        let start = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(body));
        let seconds = start.elapsed().as_secs_f64();
        let passed = result.is_ok();
        eprintln!(
            "scenario {name}: {} ({seconds:.1} s)",
            if passed { "pass" } else { "FAIL" }
        );
        self.rows.push(Row {
            name: name.to_string(),
            passed,
            seconds,
        });
        match result {
            Ok(value) => value,
            Err(payload) => {
                self.print_table();
                panic::resume_unwind(payload)
            }
        }
    }

    /// Prints every scenario with its result and time, and the total.
    pub fn print_table(&self) {
        eprintln!("\n| scenario | result | seconds |\n|---|---|---|");
        for row in &self.rows {
            eprintln!(
                "| {} | {} | {:.1} |",
                row.name,
                if row.passed { "pass" } else { "FAIL" },
                row.seconds
            );
        }
        if let Some(started) = self.started {
            eprintln!(
                "| total (with builds and prefix set-up) | | {:.1} |",
                started.elapsed().as_secs_f64()
            );
        }
    }
}
