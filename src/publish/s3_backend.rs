//! The S3 backend: any S3-compatible object storage, through `object_store`.
//!
//! S3 has no rename and no multi-object transaction, so atomicity rests on conditional writes:
//!
//! * A version's objects are uploaded with `If-None-Match: *` (create only), its
//!   `manifest.json` last; files larger than a part stream from disk in a multipart upload
//!   that reaches its key create-only too (see [`stream`]), so memory does not grow
//!   with the release. A version is visible, to [`Store::list_versions`] and to readers,
//!   only once its `manifest.json` exists; objects of a version prefix without one are the
//!   leftovers of an interrupted upload, removed by the next publish.
//! * Index and channel pointers are single objects replaced with `If-Match: <ETag>` (or
//!   created with `If-None-Match: *`), so a concurrent change is detected, never overwritten.
//! * The lock is an object created with `If-None-Match: *`; a stale one is taken over with
//!   `If-Match` on the ETag that was judged stale.
//!
//! Downloads stream to disk, each hashed as it arrives and refused when it is an artifact
//! whose SHA-256 is not the one the version's `manifest.json` lists.
//!
//! Requests are retried a bounded number of times within a bounded time; when the endpoint
//! stays unreachable the error says so and nothing was changed.
//!
//! `object_store` is async; a current-thread Tokio runtime owned by the store runs each call,
//! so the rest of winrelease stays synchronous.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig, UpdateVersion,
};
use zeroize::Zeroizing;

use super::crash::CrashHook;
use super::lock::LOCK_FILE;
use super::names::sort_versions;
use super::store::{Revision, SourceFile, Store, StoreError, StoredObject, VersionListing};
use crate::fsio::IoContext;
use crate::manifest::MANIFEST_FILE;

mod stream;

pub use stream::{S3Transfer, MAX_OBJECT_BYTES as MAX_S3_OBJECT_BYTES, MIN_PART_BYTES};

/// Static credentials for the S3 endpoint. `Debug` never shows the secret.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The AWS settings of the environment the publisher runs in, as the AWS tools read them;
/// the caller (xtask) reads the variables. `Debug` never shows a value.
#[derive(Clone, Default)]
pub struct S3Environment {
    /// Endpoint of an S3-compatible server: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`,
    /// else `AWS_ENDPOINT`.
    pub endpoint: Option<String>,
    /// Every `AWS_*` variable (name, value): region, credentials, session token, web identity,
    /// container credentials, … Those `object_store` knows as S3 options are applied.
    pub variables: Vec<(String, Zeroizing<String>)>,
}

impl fmt::Debug for S3Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.variables.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("S3Environment")
            .field("endpoint", &self.endpoint)
            .field("variables", &names)
            .finish()
    }
}

/// Where and how to reach an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix of the store inside the bucket (`releases`), empty for the bucket root.
    pub prefix: String,
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`); `None` for AWS.
    pub endpoint: Option<String>,
    /// Region; `None` takes `AWS_REGION`/`AWS_DEFAULT_REGION` from `environment` (else
    /// `us-east-1`).
    pub region: Option<String>,
    /// Static credentials; `None` uses the usual AWS sources (`AWS_ACCESS_KEY_ID`, … in
    /// `environment`, instance metadata).
    pub credentials: Option<S3Credentials>,
    /// The `AWS_*` variables applied before the fields above (which win).
    pub environment: Vec<(String, Zeroizing<String>)>,
    /// Retries of a failed request (connection refused, 5xx, timeouts).
    pub max_retries: usize,
    /// Longest time spent retrying one request.
    pub retry_timeout: Duration,
    /// Longest time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest time for one request.
    pub request_timeout: Duration,
}

impl S3Config {
    /// `s3://bucket/prefix` with the endpoint, credentials and region of `environment`;
    /// 3 retries within 15 s.
    pub fn new(bucket: &str, prefix: &str, environment: &S3Environment) -> S3Config {
        S3Config {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: environment.endpoint.clone(),
            region: None,
            credentials: None,
            environment: environment.variables.clone(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(120),
        }
    }

    /// Parses `s3://bucket[/prefix]`; `None` for anything else.
    pub fn parse_url(url: &str) -> Option<(String, String)> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
    }
}

/// A release store in an S3 bucket.
pub struct S3Store {
    client: AmazonS3,
    runtime: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
    endpoint: String,
    crash: CrashHook,
    transfer: S3Transfer,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

fn s3_error(operation: &'static str, location: String, err: &object_store::Error) -> StoreError {
    let message = error_chain(err);
    let fix = if message.contains("onnect")
        || message.contains("timed out")
        || message.contains("dns")
    {
        "check that the S3 endpoint is up and reachable (AWS_ENDPOINT_URL), then publish again; nothing was made visible in the store"
    } else if message.contains("403")
        || message.contains("AccessDenied")
        || message.contains("SignatureDoesNotMatch")
        || message.contains("InvalidAccessKeyId")
    {
        "check the S3 credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and that they may read and write the bucket"
    } else if message.contains("NoSuchBucket") {
        "create the bucket first, or correct its name in the store URL"
    } else {
        "check the endpoint, bucket and credentials; run verify on the store after fixing the cause"
    };
    StoreError::S3 {
        operation,
        location,
        message,
        fix: fix.to_string(),
    }
}

/// The error and its sources on one line; `object_store` puts the useful part (connection
/// refused, HTTP status) in the sources.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// Undoes `object_store`'s percent-encoding of a path segment.
fn decode_part(part: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn last_part(path: &ObjectPath) -> String {
    path.parts()
        .next_back()
        .map(|p| decode_part(p.as_ref()))
        .unwrap_or_default()
}

impl S3Store {
    /// Connects to the bucket of `config` (no request is made until the first operation).
    pub fn new(config: &S3Config) -> Result<S3Store, StoreError> {
        let location = format!("s3://{}/{}", config.bucket, config.prefix);
        // TLS runs on ring (see Cargo.toml): made rustls's process default on first use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new();
        // As `AmazonS3Builder::from_env` would, from the variables the caller read.
        for (name, value) in &config.environment {
            if let Ok(key) = name.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, value.as_str());
            }
        }
        builder = builder.with_bucket_name(&config.bucket);
        let mut client_options = ClientOptions::new()
            .with_connect_timeout(config.connect_timeout)
            .with_timeout(config.request_timeout);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
            if endpoint.starts_with("http://") {
                client_options = client_options.with_allow_http(true);
            }
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        if let Some(credentials) = &config.credentials {
            builder = builder
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(credentials.secret_access_key.as_str());
            if let Some(token) = &credentials.session_token {
                builder = builder.with_token(token.as_str());
            }
        }
        let client = builder
            // A multipart upload reaches its key create-only through a copy (see s3_stream).
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
            .with_client_options(client_options)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: config.max_retries,
                retry_timeout: config.retry_timeout,
            })
            .build()
            .map_err(|e| StoreError::S3 {
                operation: "configuring",
                location: location.clone(),
                message: error_chain(&e),
                fix: "check the bucket name, region and endpoint URL".into(),
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .at("starting the I/O runtime for", Path::new(&location))?;
        Ok(S3Store {
            client,
            runtime,
            bucket: config.bucket.clone(),
            prefix: config.prefix.trim_matches('/').to_string(),
            endpoint: config
                .endpoint
                .clone()
                .unwrap_or_else(|| "AWS S3".to_string()),
            crash: CrashHook::default(),
            transfer: S3Transfer::default(),
        })
    }

    /// The same store, moving files larger than `transfer.part_bytes` in parts of that size
    /// (the default is [`S3Transfer::default`]).
    pub fn with_transfer(mut self, transfer: S3Transfer) -> S3Store {
        self.transfer = transfer.normalized();
        self
    }

    /// The same store, aborting the process at the step `crash` names (tests).
    pub fn with_crash_hook(mut self, crash: CrashHook) -> S3Store {
        self.crash = crash;
        self
    }

    fn object_path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn url(&self, key: &str) -> String {
        let mut url = format!("s3://{}", self.bucket);
        for part in self.prefix.split('/').chain(key.split('/')) {
            if !part.is_empty() {
                url.push('/');
                url.push_str(part);
            }
        }
        url
    }

    fn fail(&self, operation: &'static str, key: &str, err: &object_store::Error) -> StoreError {
        s3_error(
            operation,
            format!("{} (endpoint {})", self.url(key), self.endpoint),
            err,
        )
    }

    /// Objects and sub-prefixes directly under `key/`.
    fn list_dir(&self, key: &str) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let path = if key.is_empty() && self.prefix.is_empty() {
            None
        } else if key.is_empty() {
            Some(ObjectPath::from(self.prefix.as_str()))
        } else {
            Some(self.object_path(key))
        };
        let result = self
            .runtime
            .block_on(self.client.list_with_delimiter(path.as_ref()))
            .map_err(|e| self.fail("listing", key, &e))?;
        let mut objects: Vec<String> = result
            .objects
            .iter()
            .map(|o| last_part(&o.location))
            .collect();
        let mut prefixes: Vec<String> = result.common_prefixes.iter().map(last_part).collect();
        objects.sort();
        prefixes.sort();
        Ok((objects, prefixes))
    }

    fn get(&self, key: &str, max: u64) -> Result<Option<StoredObject>, StoreError> {
        let path = self.object_path(key);
        let result = match self.runtime.block_on(self.client.get(&path)) {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.fail("reading", key, &e)),
        };
        if result.meta.size > max {
            return Err(StoreError::TooLarge {
                location: self.url(key),
                max,
            });
        }
        let modified = u64::try_from(result.meta.last_modified.timestamp())
            .ok()
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let etag = result.meta.e_tag.clone().unwrap_or_default();
        let bytes = self
            .runtime
            .block_on(result.bytes())
            .map_err(|e| self.fail("reading", key, &e))?;
        Ok(Some(StoredObject {
            bytes: bytes.to_vec(),
            revision: Revision(etag),
            modified,
        }))
    }

    /// PUT with a precondition. `Ok(false)` when the precondition failed, unless the object
    /// already holds exactly `bytes` (a retried request whose first attempt succeeded).
    fn put(&self, key: &str, bytes: &[u8], mode: PutMode) -> Result<bool, StoreError> {
        let path = self.object_path(key);
        let payload = PutPayload::from(bytes.to_vec());
        match self
            .runtime
            .block_on(self.client.put_opts(&path, payload, PutOptions::from(mode)))
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                let current = self.get(key, bytes.len() as u64 + 1).ok().flatten();
                Ok(current.is_some_and(|c| c.bytes == bytes))
            }
            Err(e) => Err(self.fail("writing", key, &e)),
        }
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.object_path(key);
        match self.runtime.block_on(self.client.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail("deleting", key, &e)),
        }
    }

    /// Removes every object under `prefix/`, staged uploads included.
    fn delete_all(&self, prefix: &str) -> Result<(), StoreError> {
        let root = self.object_path(prefix);
        let paths = self
            .runtime
            .block_on(async {
                let mut listing = self.client.list(Some(&root));
                let mut paths = Vec::new();
                while let Some(meta) = listing.next().await {
                    paths.push(meta?.location);
                }
                Ok::<_, object_store::Error>(paths)
            })
            .map_err(|e| self.fail("listing", prefix, &e))?;
        for path in paths {
            match self.runtime.block_on(self.client.delete(&path)) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail("deleting", prefix, &e)),
            }
        }
        Ok(())
    }

    /// Versions with their `manifest.json` (complete) and without (interrupted uploads).
    fn scan_versions(&self, product: &str) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let (_, prefixes) = self.list_dir(product)?;
        let mut complete = Vec::new();
        let mut partial = Vec::new();
        for name in prefixes {
            if semver::Version::parse(&name).is_err() {
                continue;
            }
            let (objects, staged) = self.list_dir(&format!("{product}/{name}"))?;
            if objects.iter().any(|object| object == MANIFEST_FILE) {
                complete.push(name);
            } else if !objects.is_empty() || !staged.is_empty() {
                partial.push(name);
            }
        }
        sort_versions(&mut complete);
        Ok((complete, partial))
    }
}

impl Store for S3Store {
    fn location(&self) -> String {
        self.url("")
    }

    fn display_path(&self, parts: &[&str]) -> String {
        self.url(&parts.join("/"))
    }

    fn crash_hook(&self) -> &CrashHook {
        &self.crash
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        self.list_dir("").map(|_| ())
    }

    fn list_products(&self) -> Result<Vec<String>, StoreError> {
        let (_, prefixes) = self.list_dir("")?;
        Ok(prefixes
            .into_iter()
            .filter(|name| !name.starts_with('.'))
            .collect())
    }

    fn list_versions(&self, product: &str) -> Result<VersionListing, StoreError> {
        let (complete, partial) = self.scan_versions(product)?;
        Ok(VersionListing {
            complete,
            leftovers: partial
                .into_iter()
                .map(|v| format!("{v}/ (upload without {MANIFEST_FILE})"))
                .collect(),
        })
    }

    fn list_channels(&self, product: &str) -> Result<Vec<String>, StoreError> {
        let (objects, _) = self.list_dir(&format!("{product}/channels"))?;
        Ok(objects
            .into_iter()
            .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
            .collect())
    }

    fn read(&self, key: &str, max: u64) -> Result<Option<StoredObject>, StoreError> {
        self.get(key, max)
    }

    fn replace(
        &self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Revision>,
        _step: &str,
    ) -> Result<(), StoreError> {
        let mode = match expected {
            None => PutMode::Create,
            Some(revision) => PutMode::Update(UpdateVersion {
                e_tag: Some(revision.0.clone()),
                version: None,
            }),
        };
        if self.put(key, bytes, mode)? {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                location: self.url(key),
            })
        }
    }

    fn create_version(
        &self,
        product: &str,
        version: &str,
        files: &[SourceFile],
    ) -> Result<(), StoreError> {
        let prefix = format!("{product}/{version}");
        let (objects, _) = self.list_dir(&prefix)?;
        if objects.iter().any(|name| name == MANIFEST_FILE) {
            return Err(StoreError::AlreadyExists {
                location: self.url(&prefix),
            });
        }
        // Objects without a manifest are an interrupted upload (we hold the lock): start over.
        self.delete_all(&prefix)?;
        // The manifest goes last: its arrival is what makes the version visible.
        let (last, rest): (Vec<&SourceFile>, Vec<&SourceFile>) =
            files.iter().partition(|f| f.name == MANIFEST_FILE);
        for file in rest.iter().chain(last.iter()) {
            if file.name == MANIFEST_FILE {
                self.crash.reach("staged");
            }
            if !self.upload(&prefix, file)? {
                return Err(StoreError::Conflict {
                    location: self.url(&format!("{prefix}/{}", file.name)),
                });
            }
            if file.name != MANIFEST_FILE {
                self.crash.reach("file-copied");
            }
        }
        Ok(())
    }

    fn fetch_version(
        &self,
        product: &str,
        version: &str,
        scratch: &Path,
    ) -> Result<PathBuf, StoreError> {
        let prefix = format!("{product}/{version}");
        let dir = scratch.join(version);
        fs::create_dir_all(&dir).at("creating", &dir)?;
        let (objects, _) = self.list_dir(&prefix)?;
        let expected = self.fetch_manifest(&prefix, &dir)?;
        for name in objects {
            if name == MANIFEST_FILE || crate::digest::check_file_name(&name).is_err() {
                continue; // not a file winrelease writes; verification reports what is missing
            }
            let key = format!("{prefix}/{name}");
            self.download_checked(&key, &dir.join(&name), expected.get(&name))?;
        }
        Ok(dir)
    }

    fn clean_leftovers(
        &self,
        product: &str,
        // The S3 lock is one conditional PUT: no lock files to judge.
        _abandoned: &dyn Fn(&StoredObject) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let (_, partial) = self.scan_versions(product)?;
        let mut removed = Vec::new();
        for version in partial {
            self.delete_all(&format!("{product}/{version}"))?;
            removed.push(format!("{version}/ (upload without {MANIFEST_FILE})"));
        }
        Ok(removed)
    }

    fn lock_create(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        self.put(&format!("{product}/{LOCK_FILE}"), bytes, PutMode::Create)
    }

    fn lock_read(&self, product: &str) -> Result<Option<StoredObject>, StoreError> {
        self.get(&format!("{product}/{LOCK_FILE}"), 64 * 1024)
    }

    fn lock_break(
        &self,
        product: &str,
        stale: &StoredObject,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        self.put(
            &format!("{product}/{LOCK_FILE}"),
            bytes,
            PutMode::Update(UpdateVersion {
                e_tag: Some(stale.revision.0.clone()),
                version: None,
            }),
        )
    }

    fn lock_release(&self, product: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let key = format!("{product}/{LOCK_FILE}");
        match self.get(&key, 64 * 1024)? {
            Some(current) if current.bytes == bytes => {
                self.delete(&key)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_parts() {
        assert_eq!(
            S3Config::parse_url("s3://bucket/a/b/"),
            Some(("bucket".into(), "a/b".into()))
        );
        assert_eq!(
            S3Config::parse_url("s3://bucket"),
            Some(("bucket".into(), "".into()))
        );
        assert_eq!(S3Config::parse_url("s3:///x"), None);
        assert_eq!(S3Config::parse_url("/srv/store"), None);
        assert_eq!(decode_part("Hello%20Service%7E"), "Hello Service~");
        assert_eq!(decode_part("100%"), "100%");
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let credentials = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Zeroizing::new("s3cr3t-value".into()),
            session_token: None,
        };
        let text = format!("{credentials:?}");
        assert!(
            text.contains("AKIDEXAMPLE") && !text.contains("s3cr3t"),
            "{text}"
        );
    }
}
