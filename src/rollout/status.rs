//! The hosts' reports: `<status dir>/<product>/<host>.json`, written by the agent
//! (`agent/internal/agent/state.go`, `Status`) and read here for `rollout status` and the
//! `advance` gate. Hosts write only their own file; nothing here writes one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsio::{IoContext, IoError};

/// Largest status file read; real ones are a few KiB (with a log tail).
const MAX_STATUS_BYTES: u64 = 1 << 20;

/// One host's last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStatus {
    pub schema_version: u32,
    pub product: String,
    pub channel: String,
    pub host: String,
    /// Its place in line as the agent computed it (checked against [`super::place`]).
    pub place: u32,
    /// The version running now (empty: nothing installed by the agent yet).
    pub version: String,
    /// The version the pointer asked this host for.
    #[serde(default)]
    pub target: String,
    /// `healthy`, `unhealthy`, `rolled_back`, `install_failed`, `refused`, `error`, `verified`.
    pub state: String,
    pub health: String,
    /// The sequence of the pointer the host acted on.
    pub sequence: u64,
    /// When the host wrote this (RFC 3339 UTC, the host's clock).
    pub when: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub log_tail: String,
    /// A version that failed its health gate on this host, and why.
    #[serde(default)]
    pub failed_version: String,
    #[serde(default)]
    pub failed_reason: String,
}

/// Every report found for a product, and the files that could not be read as one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusReport {
    /// Sorted by place in line, then host.
    pub hosts: Vec<HostStatus>,
    pub unreadable: Vec<(PathBuf, String)>,
}

impl StatusReport {
    /// How many hosts run each version (`""` for hosts with nothing installed).
    pub fn version_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for host in &self.hosts {
            *counts.entry(host.version.clone()).or_insert(0) += 1;
        }
        counts
    }
}

/// Reads `<dir>/<product>/*.json` for `channel`. A missing folder is an empty report; a file
/// that is not a status of this product and channel is listed as unreadable, with why.
pub fn read_statuses(dir: &Path, product: &str, channel: &str) -> Result<StatusReport, IoError> {
    let folder = dir.join(product);
    let mut report = StatusReport::default();
    let entries = match fs::read_dir(&folder) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        other => other.at("reading the status folder", &folder)?,
    };
    for entry in entries {
        let path = entry.at("reading the status folder", &folder)?.path();
        let is_status = path.extension().is_some_and(|e| e == "json")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !is_status {
            continue;
        }
        match read_one(&path, product) {
            Ok(status) if status.channel == channel => report.hosts.push(status),
            Ok(_) => {}
            Err(reason) => report.unreadable.push((path, reason)),
        }
    }
    report
        .hosts
        .sort_by(|a, b| (a.place, &a.host).cmp(&(b.place, &b.host)));
    report.unreadable.sort();
    Ok(report)
}

fn read_one(path: &Path, product: &str) -> Result<HostStatus, String> {
    let size = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_STATUS_BYTES {
        return Err(format!("is {size} bytes, more than a status can be"));
    }
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let status: HostStatus =
        serde_json::from_slice(&bytes).map_err(|e| format!("is not a host status ({e})"))?;
    if status.schema_version != 1 || status.product != product {
        return Err(format!(
            "is a status of {:?} (schema {}), not of {product:?}",
            status.product, status.schema_version
        ));
    }
    if status.place != super::place(product, &status.host) {
        return Err(format!(
            "says host {} has place {}, but its place is {}",
            status.host,
            status.place,
            super::place(product, &status.host)
        ));
    }
    Ok(status)
}
