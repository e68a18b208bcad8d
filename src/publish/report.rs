//! What [`super::publish`], [`super::promote`] and [`super::rollback`] report, and how it
//! reads on a terminal.

use std::fmt;

use crate::verify::CheckLine;

/// What happened to the version folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionOutcome {
    /// Copied into the store.
    Published { files: usize },
    /// The store already had the version with identical bytes; nothing was copied.
    AlreadyPresent,
}

/// A channel pointer write (or the decision that none was needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelChange {
    pub channel: String,
    /// The version before, if the channel existed.
    pub from: Option<String>,
    pub to: String,
    /// The pointer's sequence number now.
    pub sequence: u64,
    /// False when the channel already pointed there (nothing written).
    pub changed: bool,
    /// A rollback pointer was written.
    pub rollback: bool,
    /// The pointer's expiry (RFC 3339).
    pub expires: String,
    /// Where the pointer is.
    pub path: String,
}

impl fmt::Display for ChannelChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self.from.as_deref().unwrap_or("(new channel)");
        if !self.changed {
            write!(
                f,
                "channel {} already at {} (sequence {}), unchanged",
                self.channel, self.to, self.sequence
            )
        } else if self.rollback {
            write!(
                f,
                "channel {} rolled back {from} -> {} (sequence {}, expires {})",
                self.channel, self.to, self.sequence, self.expires
            )
        } else {
            write!(
                f,
                "channel {}: {from} -> {} (sequence {}, expires {})",
                self.channel, self.to, self.sequence, self.expires
            )
        }
    }
}

/// An MSI in the store, for a Group Policy software installation package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpoPackage {
    pub version: String,
    /// The MSI's path as Group Policy should reference it (a UNC path when the store was given
    /// as one).
    pub msi_path: String,
}

/// What [`publish`] did.
#[derive(Debug, Clone)]
pub struct PublishReport {
    pub product: String,
    pub version: String,
    /// The store, as given.
    pub store: String,
    /// The version's folder in the store.
    pub version_path: String,
    /// SHA-256 of the published `manifest.json`.
    pub manifest_sha256: String,
    /// The checks the release folder passed before anything was written.
    pub verified: Vec<CheckLine>,
    pub outcome: VersionOutcome,
    /// The index's sequence number after the publish.
    pub index_sequence: u64,
    /// Whether the index was rewritten.
    pub index_changed: bool,
    /// Complete versions an interrupted publish had left out of the index, verified and
    /// added now.
    pub adopted: Vec<String>,
    pub channel: Option<ChannelChange>,
    /// The new MSI, to deploy with Group Policy.
    pub msi: Option<GpoPackage>,
    /// The package this one upgrades (mark it in the GPO's Upgrades tab).
    pub upgrades: Option<GpoPackage>,
    /// Leftovers of interrupted publishes that were removed.
    pub cleaned: Vec<String>,
    /// Why a stale lock was broken, if one was.
    pub broke_stale_lock: Option<String>,
}

impl fmt::Display for PublishReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "release {} {} verified ({} checks)",
            self.product,
            self.version,
            self.verified.len()
        )?;
        match &self.outcome {
            VersionOutcome::Published { files } => {
                writeln!(f, "published {files} files to {}", self.version_path)?
            }
            VersionOutcome::AlreadyPresent => writeln!(
                f,
                "{} is already in the store with identical bytes; nothing copied",
                self.version
            )?,
        }
        if self.index_changed {
            writeln!(f, "index.json updated (sequence {})", self.index_sequence)?;
        } else {
            writeln!(
                f,
                "index.json already lists {} (sequence {})",
                self.version, self.index_sequence
            )?;
        }
        for version in &self.adopted {
            writeln!(
                f,
                "added {version} to the index (left out by an interrupted publish; verified)"
            )?;
        }
        if let Some(channel) = &self.channel {
            writeln!(f, "{channel}")?;
        }
        for leftover in &self.cleaned {
            writeln!(f, "removed leftover of an interrupted publish: {leftover}")?;
        }
        if let Some(reason) = &self.broke_stale_lock {
            writeln!(f, "broke a stale lock ({reason})")?;
        }
        match &self.msi {
            Some(msi) => {
                writeln!(f, "Group Policy package: {}", msi.msi_path)?;
                if let Some(old) = &self.upgrades {
                    writeln!(
                        f,
                        "  upgrades the package of {}: {} (add it on the new package's Upgrades tab)",
                        old.version, old.msi_path
                    )?;
                }
            }
            None => writeln!(f, "no MSI in this release (nothing for Group Policy)")?,
        }
        Ok(())
    }
}
