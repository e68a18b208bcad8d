//! The S3 test server (moto, started by `.ci/s3-server`) as the S3 tests find it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StoreSpec;

pub struct S3Env {
    pub endpoint: String,
    pub bucket: String,
}

/// The test server, or `None` (skip) when none is configured outside CI.
pub fn s3_env() -> Option<S3Env> {
    let Some(endpoint) = std::env::var("WINRELEASE_TEST_S3_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("WINRELEASE_TEST_S3_ENDPOINT is required under CI=true: start the server with `eval \"$(.ci/s3-server start)\"`");
        }
        eprintln!("skipping: WINRELEASE_TEST_S3_ENDPOINT is not set (start one with `eval \"$(.ci/s3-server start)\"`)");
        return None;
    };
    let bucket = std::env::var("WINRELEASE_TEST_S3_BUCKET")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "winrelease-test".into());
    create_bucket(&endpoint, &bucket);
    Some(S3Env { endpoint, bucket })
}

/// Creates the bucket with a plain HTTP PUT (moto accepts unsigned requests); an existing
/// bucket is fine.
fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint
        .strip_prefix("http://")
        .expect("the test endpoint is plain http on 127.0.0.1")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(host)
        .unwrap_or_else(|e| panic!("cannot reach the S3 test server at {endpoint}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap_or("");
    assert!(
        status == "200" || status == "409",
        "creating bucket {bucket}: {response}"
    );
}

/// A fresh, empty store: a new prefix in the test bucket.
pub fn fresh(env: &S3Env, name: &str) -> StoreSpec {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    StoreSpec::S3 {
        endpoint: env.endpoint.clone(),
        bucket: env.bucket.clone(),
        prefix: format!("tests/{name}-{}-{nanos}", std::process::id()),
    }
}
