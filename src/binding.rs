//! The trusted comment every winrelease signature carries:
//! `winrelease product=<p> version=<v> file=<name> sha256=<hex>`.
//!
//! The comment is covered by minisign's global signature, so a valid signature cannot be moved
//! to another file name, version or product without the verifier noticing.
//!
//! *Invariant:* one binding has exactly one comment text: [`Binding::parse`] accepts only what
//! [`Binding::to_comment`] writes (canonical percent-escapes, fixed field order).

use crate::digest::Sha256Digest;

/// First word of every trusted comment winrelease writes.
pub const BINDING_PREFIX: &str = "winrelease";

/// What a signature's trusted comment binds a file to:
/// `winrelease product=<p> version=<v> file=<name> sha256=<hex>`.
///
/// Values are percent-encoded where they contain `%`, `=`, whitespace or control characters
/// (`Hello Service` → `Hello%20Service`), so the comment stays one space-separated line that
/// `minisign -V` prints as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub product: String,
    pub version: String,
    pub file: String,
    pub sha256: Sha256Digest,
}

impl Binding {
    /// The trusted comment text.
    pub fn to_comment(&self) -> String {
        format!(
            "{BINDING_PREFIX} product={} version={} file={} sha256={}",
            encode_value(&self.product),
            encode_value(&self.version),
            encode_value(&self.file),
            self.sha256
        )
    }

    /// Parses a trusted comment written by [`Binding::to_comment`]; anything else (other
    /// fields, other order, bad escapes, a comment from another tool) is refused.
    pub fn parse(comment: &str) -> Result<Binding, String> {
        let mut words = comment.split(' ');
        if words.next() != Some(BINDING_PREFIX) {
            return Err(format!(
                "does not start with `{BINDING_PREFIX} ` (not a winrelease signature)"
            ));
        }
        let mut field = |key: &str| -> Result<String, String> {
            let word = words
                .next()
                .ok_or_else(|| format!("ends before the `{key}=` field"))?;
            let value = word
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or_else(|| format!("has `{word}` where `{key}=…` belongs"))?;
            decode_value(value).ok_or_else(|| format!("has a badly escaped `{key}` value"))
        };
        let product = field("product")?;
        let version = field("version")?;
        let file = field("file")?;
        let sha256 = field("sha256")?;
        if words.next().is_some() {
            return Err("has extra fields after `sha256=`".into());
        }
        let sha256 = Sha256Digest::from_hex(&sha256).ok_or_else(|| {
            "has a `sha256` value that is not 64 lowercase hex digits".to_string()
        })?;
        Ok(Binding {
            product,
            version,
            file,
            sha256,
        })
    }
}

fn needs_escape(c: char) -> bool {
    c == '%' || c == '=' || c.is_whitespace() || c.is_control()
}

fn encode_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Inverse of [`encode_value`]; `None` unless `value` is exactly what it would write.
fn decode_value(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = upper_hex_value(*bytes.get(i + 1)?)?;
            let lo = upper_hex_value(*bytes.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (encode_value(&decoded) == value).then_some(decoded)
}

fn upper_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_round_trips_and_escapes_separators() {
        let binding = Binding {
            product: "Hello Service 100%".into(),
            version: "1.4.1-dev.7+g1a2b3c4".into(),
            file: "a=b\tc.exe".into(),
            sha256: Sha256Digest([0xab; 32]),
        };
        let comment = binding.to_comment();
        assert_eq!(
            comment,
            format!(
                "winrelease product=Hello%20Service%20100%25 version=1.4.1-dev.7+g1a2b3c4 \
                 file=a%3Db%09c.exe sha256={}",
                "ab".repeat(32)
            )
        );
        assert_eq!(Binding::parse(&comment).unwrap(), binding);
    }

    #[test]
    fn binding_parse_refuses_other_shapes() {
        let good = Binding {
            product: "P".into(),
            version: "1.0.0".into(),
            file: "f".into(),
            sha256: Sha256Digest([0; 32]),
        }
        .to_comment();
        for bad in [
            "timestamp:1 file:f".to_string(),
            good.replace("version=", "versio="),
            format!("{good} extra=1"),
            good.replace("product=P", "product=%2"),
            good.replace("product=P", "product=%41"), // 'A' needs no escape: not canonical
            good.replace("product=P", "product=%c3%a9"), // lowercase hex
            good.replace(&"0".repeat(64), &"0".repeat(63)),
            good.replace(" file=f", ""),
        ] {
            assert!(Binding::parse(&bad).is_err(), "{bad}");
        }
    }
}
