//! Verifying a whole store: every version like a release folder, the index against the
//! versions, every channel pointer against the index and the clock.
//!
//! *Invariant:* problems are reported as checks, never fixed; `Err` only when the store
//! cannot be read at all.

use std::collections::BTreeMap;
use std::fmt;

use minisig::PublicKey;

use super::docs::{channel_file, channel_key, index_key, ChannelPointer, Index, IndexEntry};
use super::docs::{INDEX_FILE, MAX_DOC_BYTES};
use super::environment::PublishEnvironment;
use super::error::PublishError;
use super::lock::{LockInfo, LOCK_FILE};
use super::names::check_product;
use super::pointers::{open_index, open_pointer};
use super::store::{Store, StoredObject, VersionListing};
use super::store_version::verify_store_version;
use crate::config::check_channel_name;
use crate::stamp::rfc3339_utc;

/// The outcome of one store check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreCheckStatus {
    Ok,
    /// Not a failure: the store is valid, but something deserves attention (an expired old
    /// version, leftovers of an interrupted publish, a version missing from the index).
    Warning,
    Failed,
}

/// One line of a store verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCheck {
    pub status: StoreCheckStatus,
    /// What was checked (`Hello Service 1.2.3`, `Hello Service channels/stable.json`).
    pub subject: String,
    pub detail: String,
}

impl fmt::Display for StoreCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            StoreCheckStatus::Ok => "ok  ",
            StoreCheckStatus::Warning => "warn",
            StoreCheckStatus::Failed => "FAIL",
        };
        write!(f, "{status} {}: {}", self.subject, self.detail)
    }
}

/// Everything [`verify_store`] checked.
#[derive(Debug, Clone)]
pub struct StoreReport {
    pub store: String,
    pub checks: Vec<StoreCheck>,
}

impl StoreReport {
    /// True when no check failed (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &StoreCheck> {
        self.checks
            .iter()
            .filter(|c| c.status == StoreCheckStatus::Failed)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &StoreCheck> {
        self.checks
            .iter()
            .filter(|c| c.status == StoreCheckStatus::Warning)
    }
}

impl fmt::Display for StoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.failures().count();
        let warned = self.warnings().count();
        if failed == 0 {
            write!(f, "store {} is valid ({warned} warnings)", self.store)
        } else {
            write!(
                f,
                "store {} is NOT valid: {failed} failed checks, {warned} warnings",
                self.store
            )
        }
    }
}

struct Checks {
    checks: Vec<StoreCheck>,
}

impl Checks {
    fn push(&mut self, status: StoreCheckStatus, subject: String, detail: String) {
        self.checks.push(StoreCheck {
            status,
            subject,
            detail,
        });
    }
}

/// Verifies every version, the index and every channel pointer of `product` (of every
/// product when `None`) with `public_key` at `now`. Problems are reported in the
/// [`StoreReport`]; `Err` only when the store cannot be read at all. S3 versions are
/// downloaded into a scratch folder in `env.temp_dir`.
pub fn verify_store(
    store: &dyn Store,
    product: Option<&str>,
    public_key: &PublicKey,
    now: i64,
    env: &PublishEnvironment,
) -> Result<StoreReport, PublishError> {
    let products = match product {
        Some(product) => {
            check_product(product)?;
            vec![product.to_string()]
        }
        None => store.list_products()?,
    };
    let mut checks = Checks { checks: Vec::new() };
    if products.is_empty() {
        checks.push(
            StoreCheckStatus::Warning,
            store.location(),
            "the store holds no product".into(),
        );
    }
    for product in &products {
        let mut verifier = ProductVerifier {
            store,
            product,
            public_key,
            now,
            checks: &mut checks,
        };
        verifier.run(env)?;
    }
    Ok(StoreReport {
        store: store.location(),
        checks: checks.checks,
    })
}

/// A version that verified: its manifest's SHA-256, whether a channel may point to it
/// (unexpired), and the entry the index should have.
struct GoodVersion {
    manifest_sha256: String,
    usable: bool,
    entry: IndexEntry,
}

/// The checks of one product.
struct ProductVerifier<'a> {
    store: &'a dyn Store,
    product: &'a str,
    public_key: &'a PublicKey,
    now: i64,
    checks: &'a mut Checks,
}

impl ProductVerifier<'_> {
    /// Reads in the reverse of the order a publish writes (versions, then the index, then
    /// pointers): pointers, the index, then the versions. A publish running meanwhile then
    /// never makes a document seem to name a missing version: what a document names was
    /// complete before the document was written, so it is in the listing read after it.
    fn run(&mut self, env: &PublishEnvironment) -> Result<(), PublishError> {
        let pointers = self.read_pointers()?;
        let index = self.store.read(&index_key(self.product), MAX_DOC_BYTES)?;
        let listing = self.store.list_versions(self.product)?;
        self.leftovers_and_lock(&listing)?;
        let scratch = env.scratch_dir()?;
        let good = self.versions(&listing, scratch.path());
        self.index(index, &listing, &good)?;
        self.channels(pointers, &listing, &good);
        Ok(())
    }

    /// Every channel's pointer as stored now (`None`: removed while listing).
    fn read_pointers(&self) -> Result<Vec<(String, Option<StoredObject>)>, PublishError> {
        let mut pointers = Vec::new();
        for channel in self.store.list_channels(self.product)? {
            let object = match check_channel_name(&channel) {
                Ok(()) => self
                    .store
                    .read(&channel_key(self.product, &channel), MAX_DOC_BYTES)?,
                Err(_) => None,
            };
            pointers.push((channel, object));
        }
        Ok(pointers)
    }

    fn push(&mut self, status: StoreCheckStatus, what: &str, detail: String) {
        self.checks
            .push(status, format!("{} {what}", self.product), detail);
    }

    /// Leftovers of interrupted publishes and a held lock are warnings.
    fn leftovers_and_lock(&mut self, listing: &VersionListing) -> Result<(), PublishError> {
        for leftover in &listing.leftovers {
            self.push(
                StoreCheckStatus::Warning,
                leftover,
                "leftover of an interrupted publish; invisible to clients, removed by the next publish"
                    .into(),
            );
        }
        if let Some(lock) = self.store.lock_read(self.product)? {
            let holder = serde_json::from_slice::<LockInfo>(&lock.bytes)
                .map(|info| info.to_string())
                .unwrap_or_else(|_| "unreadable".into());
            self.push(
                StoreCheckStatus::Warning,
                LOCK_FILE,
                format!("a publish is running or crashed ({holder})"),
            );
        }
        Ok(())
    }

    /// Verifies every complete version; returns those that verified.
    fn versions(
        &mut self,
        listing: &VersionListing,
        scratch: &std::path::Path,
    ) -> BTreeMap<String, GoodVersion> {
        let mut good = BTreeMap::new();
        for version in &listing.complete {
            let found = verify_store_version(
                self.store,
                self.product,
                version,
                self.public_key,
                self.now,
                scratch,
            );
            let found = match found {
                Ok(found) => found,
                Err(reason) => {
                    self.push(StoreCheckStatus::Failed, version, reason);
                    continue;
                }
            };
            if found.expired {
                self.push(
                    StoreCheckStatus::Warning,
                    version,
                    format!(
                        "intact ({} checks), but expired at {}: clients refuse it and no channel may point to it",
                        found.lines, found.manifest.expires
                    ),
                );
            } else {
                self.push(
                    StoreCheckStatus::Ok,
                    version,
                    format!(
                        "{} checks passed, manifest sha256 {}",
                        found.lines, found.manifest_sha256
                    ),
                );
            }
            let version_good = GoodVersion {
                manifest_sha256: found.manifest_sha256.to_hex(),
                usable: !found.expired,
                entry: found.index_entry(),
            };
            good.insert(version.clone(), version_good);
        }
        good
    }

    /// The index must verify and list only versions in the store, with their manifests.
    fn index(
        &mut self,
        index: Option<StoredObject>,
        listing: &VersionListing,
        good: &BTreeMap<String, GoodVersion>,
    ) -> Result<(), PublishError> {
        let index = match index {
            None if listing.complete.is_empty() => return Ok(()),
            None => {
                self.push(
                    StoreCheckStatus::Warning,
                    INDEX_FILE,
                    "missing (an interrupted first publish); the next publish writes it".into(),
                );
                return Ok(());
            }
            Some(object) => match open_index(&object.bytes, self.product, self.public_key) {
                Ok(index) => index,
                Err(reason) => {
                    self.push(StoreCheckStatus::Failed, INDEX_FILE, reason);
                    return Ok(());
                }
            },
        };
        let problems = index_problems(&index, listing, good);
        if problems.is_empty() {
            self.push(
                StoreCheckStatus::Ok,
                INDEX_FILE,
                format!(
                    "signature valid, sequence {}, {} versions, all present with matching manifests",
                    index.sequence,
                    index.versions.len()
                ),
            );
        } else {
            self.push(StoreCheckStatus::Failed, INDEX_FILE, problems.join("; "));
        }
        for version in &listing.complete {
            if index.entry(version).is_none() {
                self.push(
                    StoreCheckStatus::Warning,
                    INDEX_FILE,
                    format!("does not list {version} (an interrupted publish); the next publish adds it"),
                );
            }
        }
        Ok(())
    }

    /// Every pointer must verify and point to a good, unexpired version, and be unexpired.
    fn channels(
        &mut self,
        pointers: Vec<(String, Option<StoredObject>)>,
        listing: &VersionListing,
        good: &BTreeMap<String, GoodVersion>,
    ) {
        for (channel, object) in pointers {
            let what = channel_file(&channel);
            if let Err(reason) = check_channel_name(&channel) {
                self.push(StoreCheckStatus::Failed, &what, reason);
                continue;
            }
            let Some(object) = object else {
                continue; // removed meanwhile
            };
            let checked = open_pointer(&object.bytes, self.product, &channel, self.public_key)
                .and_then(
                    |pointer| match pointer_problem(&pointer, listing, good, self.now) {
                        Some(problem) => Err(problem),
                        None => Ok(pointer_summary(&pointer)),
                    },
                );
            match checked {
                Ok(line) => self.push(StoreCheckStatus::Ok, &what, line),
                Err(reason) => self.push(StoreCheckStatus::Failed, &what, reason),
            }
        }
    }
}

/// What is wrong with the index's entries, by entry.
fn index_problems(
    index: &Index,
    listing: &VersionListing,
    good: &BTreeMap<String, GoodVersion>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in &index.versions {
        if !listing.complete.contains(&entry.version) {
            problems.push(format!(
                "lists {}, which is not in the store",
                entry.version
            ));
        } else if let Some(found) = good.get(&entry.version) {
            let (sha, expected) = (&found.manifest_sha256, &found.entry);
            if *sha != entry.manifest_sha256 {
                problems.push(format!(
                    "lists {} with manifest sha256 {}, but the stored manifest has {sha}",
                    entry.version, entry.manifest_sha256
                ));
            } else if entry != expected {
                problems.push(format!(
                    "lists {} with msi {:?} and expiry {}, but its manifest says {:?} and {}",
                    entry.version, entry.msi, entry.expires, expected.msi, expected.expires
                ));
            }
        }
    }
    problems
}

/// What is wrong with a verified pointer, if anything.
fn pointer_problem(
    pointer: &ChannelPointer,
    listing: &VersionListing,
    good: &BTreeMap<String, GoodVersion>,
    now: i64,
) -> Option<String> {
    match good.get(&pointer.version) {
        _ if !listing.complete.contains(&pointer.version) => Some(format!(
            "points to {}, which is not in the store",
            pointer.version
        )),
        None => Some(format!(
            "points to {}, which does not verify",
            pointer.version
        )),
        Some(found) if found.manifest_sha256 != pointer.manifest_sha256 => Some(format!(
            "points to {} with manifest sha256 {}, but the stored manifest has {}",
            pointer.version, pointer.manifest_sha256, found.manifest_sha256
        )),
        Some(found) if !found.usable => Some(format!(
            "points to {}, whose manifest has expired",
            pointer.version
        )),
        Some(_) if pointer.expires_unix().is_none_or(|e| now >= e) => Some(format!(
            "expired at {} (it is now {}); promote again to renew it",
            pointer.expires,
            rfc3339_utc(now)
        )),
        Some(_) => None,
    }
}

/// The line of a pointer that passed.
fn pointer_summary(pointer: &ChannelPointer) -> String {
    let rollback = pointer
        .rollback_from
        .as_ref()
        .map(|from| format!(", rolled back from {from}"))
        .unwrap_or_default();
    format!(
        "signature valid, {} (sequence {}{rollback}), expires {}",
        pointer.version, pointer.sequence, pointer.expires
    )
}
