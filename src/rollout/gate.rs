//! The health gate of `rollout advance`: every host of the current step must report the
//! target healthy, and no more than `max_failures` of them may have failed it.

use serde::Serialize;

use super::placement::in_step;
use super::status::HostStatus;
use crate::publish::{ChannelPointer, PointerRollout};

/// A host that keeps the rollout from moving, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReason {
    pub host: String,
    pub reason: String,
}

/// What the gate found for the current step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GateReport {
    /// Hosts of the step that report the target healthy.
    pub healthy: Vec<String>,
    /// Hosts of the step that failed the target (rolled back, install failed).
    pub failures: Vec<HostReason>,
    /// Hosts of the step that have not (yet) reported the target healthy.
    pub waiting: Vec<HostReason>,
    pub max_failures: u32,
}

impl GateReport {
    /// Whether the rollout may take its next step.
    pub fn passes(&self) -> bool {
        self.waiting.is_empty()
            && !self.healthy.is_empty()
            && self.failures.len() <= self.max_failures as usize
    }

    /// Every reason the gate is closed, one per line.
    pub fn reasons(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.healthy.is_empty() && self.failures.is_empty() && self.waiting.is_empty() {
            lines.push("no host of the current step has reported".to_string());
        }
        if self.failures.len() > self.max_failures as usize {
            lines.push(format!(
                "{} host(s) failed the health gate, more than --max-failures {}",
                self.failures.len(),
                self.max_failures
            ));
        }
        for f in &self.failures {
            lines.push(format!("{}: failed: {}", f.host, f.reason));
        }
        for w in &self.waiting {
            lines.push(format!(
                "{}: not healthy on the target: {}",
                w.host, w.reason
            ));
        }
        lines
    }
}

/// Judges the hosts of `pointer`'s current step (its rollout's percent) by their reports.
pub fn judge(
    pointer: &ChannelPointer,
    rollout: &PointerRollout,
    hosts: &[HostStatus],
) -> GateReport {
    let target = &pointer.version;
    let mut report = GateReport {
        max_failures: rollout.max_failures,
        ..GateReport::default()
    };
    for host in hosts.iter().filter(|h| in_step(h.place, rollout.percent)) {
        let name = host.host.clone();
        if &host.failed_version == target {
            report.failures.push(HostReason {
                host: name,
                reason: format!(
                    "{target} {} (now on {})",
                    host.failed_reason,
                    or_none(&host.version)
                ),
            });
        } else if &host.version == target && host.state == "healthy" {
            report.healthy.push(name);
        } else {
            let detail = if host.error.is_empty() {
                &host.health
            } else {
                &host.error
            };
            report.waiting.push(HostReason {
                host: name,
                reason: format!(
                    "on {}, state {}, {detail} (reported {})",
                    or_none(&host.version),
                    host.state,
                    host.when
                ),
            });
        }
    }
    report
}

fn or_none(version: &str) -> &str {
    if version.is_empty() {
        "nothing"
    } else {
        version
    }
}
