//! Scenario bookkeeping: a timing line per scenario as it ends, and a closing table
//! (scenario → pass/fail → seconds, then the Wine differences met), also printed when a scenario
//! fails.

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

#[derive(Debug)]
struct Row {
    name: String,
    passed: bool,
    seconds: f64,
}

/// Places where Wine 8.0 differs from what Windows documents, met while the scenarios ran.
#[derive(Debug, Default)]
pub struct Notes {
    notes: Vec<String>,
}

impl Notes {
    /// Records (and prints at once) a difference; the closing table lists each one once.
    pub fn wine_difference(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("WINE DIFFERENCE: {note}");
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// The scenarios run so far.
#[derive(Debug)]
pub struct Report {
    rows: Vec<Row>,
    notes: Notes,
    started: Instant,
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

impl Report {
    pub fn new() -> Report {
        Report {
            rows: Vec::new(),
            notes: Notes::default(),
            started: Instant::now(),
        }
    }

    /// Runs one scenario, prints `scenario <name>: pass|FAIL (<s> s)`, and on failure prints
    /// the table so far and re-raises the panic (later scenarios depend on this one's state).
    pub fn scenario<T>(&mut self, name: &str, body: impl FnOnce(&mut Notes) -> T) -> T {
        eprintln!("--- scenario {name}");
        let start = Instant::now();
        let notes = &mut self.notes;
        let result = panic::catch_unwind(AssertUnwindSafe(|| body(notes)));
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

    /// Prints every scenario with its result and time, the total, and the Wine differences.
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
        eprintln!(
            "| total (with builds and prefix set-up) | | {:.1} |",
            self.started.elapsed().as_secs_f64()
        );
        for note in &self.notes.notes {
            eprintln!("Wine difference: {note}");
        }
    }
}
