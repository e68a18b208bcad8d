//! Minimal HTTP/1.0 client over `std::net::TcpStream`: enough to read the service's `/healthz`,
//! `/version` and `/config` on 127.0.0.1 without adding a dependency.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response: status code and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }
}

/// One GET of `path` on 127.0.0.1:`port`, with `timeout` for connect, write and read each.
pub fn get(port: u16, path: &str, timeout: Duration) -> std::io::Result<Response> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ),
        )
    })
}

fn parse(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    Some(Response {
        status,
        body: body.to_string(),
    })
}

/// GETs `path` until it answers 200 or `within` has passed; the error says what was seen last.
pub fn get_ok(port: u16, path: &str, within: Duration) -> Result<Response, String> {
    let deadline = Instant::now() + within;
    loop {
        let last = match get(port, path, Duration::from_secs(2)) {
            Ok(r) if r.status == 200 => return Ok(r),
            Ok(r) => format!("HTTP {}: {:?}", r.status, r.body),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "GET http://127.0.0.1:{port}{path} did not answer 200 within {within:?}; last: {last}"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until nothing accepts connections on the port (the service is gone), or `within` passes.
pub fn wait_closed(port: u16, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "127.0.0.1:{port} still accepts connections after {within:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
