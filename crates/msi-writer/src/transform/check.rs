//! Site setting values: what a transform may set a property of each kind to.
//!
//! Invariant: a value that passes [`check_value`] is safe to substitute into the quoted
//! command-line argument it is passed in, and encodable in the package's codepage.

use crate::cp1252;
use crate::model::PropertyKind;

/// Checks `value` against `kind`: a port is 1 to 65535 in plain decimal; an integer is plain
/// decimal (optional `-`) fitting 64 bits; text is non-empty, Windows-1252, without control
/// characters, and without `"` or a trailing `\`, which would break the quoted command line the
/// value is substituted into (`--set "key=[PROPERTY]"`). Returns the reason on failure.
pub fn check_value(kind: PropertyKind, value: &str) -> Result<(), String> {
    let plain_digits =
        |digits: &str| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match kind {
        PropertyKind::Port => {
            let ok = plain_digits(value)
                && !value.starts_with('0')
                && value
                    .parse::<u32>()
                    .is_ok_and(|port| (1..=65535).contains(&port));
            if !ok {
                return Err("not a port number: give a plain decimal port from 1 to 65535".into());
            }
        }
        PropertyKind::Integer => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            if !plain_digits(digits) || value.parse::<i64>().is_err() {
                return Err(
                    "not an integer: give plain decimal digits, optionally after '-' (64-bit range)"
                        .into(),
                );
            }
        }
        PropertyKind::Text => {
            if value.is_empty() {
                return Err("empty: a text setting needs a value (the package default applies when the setting is left out)".into());
            }
            if let Some(ch) = value.chars().find(|c| c.is_control()) {
                return Err(format!(
                    "contains the control character {ch:?}; use printable text on one line"
                ));
            }
            if value.contains('"') {
                return Err("contains '\"', which would end the quoted argument the value is passed in; leave it out".into());
            }
            if value.ends_with('\\') {
                return Err("ends with '\\', which would escape the closing quote of the argument the value is passed in; remove the trailing backslash".into());
            }
        }
    }
    if let Some(ch) = cp1252::first_unencodable(value) {
        return Err(format!(
            "contains {ch:?}, which Windows-1252 (the package's codepage) cannot hold; use Western European characters"
        ));
    }
    if value.len() > 0xFFFF {
        return Err("longer than 65,535 bytes, the longest string a transform holds".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_kind() {
        use PropertyKind::*;
        for ok in ["1", "80", "8080", "65535"] {
            assert!(check_value(Port, ok).is_ok(), "{ok}");
        }
        for bad in ["0", "65536", "", "+80", "080", "80 ", "port", "-1"] {
            assert!(check_value(Port, bad).is_err(), "{bad:?}");
        }
        for ok in ["0", "-5", "9223372036854775807"] {
            assert!(check_value(Integer, ok).is_ok(), "{ok}");
        }
        for bad in ["", "+5", "1.5", "9223372036854775808", "- 1", "0x10"] {
            assert!(check_value(Integer, bad).is_err(), "{bad:?}");
        }
        for ok in ["berlin", "Zürich Süd", "a b c", "C:\\data"] {
            assert!(check_value(Text, ok).is_ok(), "{ok}");
        }
        for bad in ["", "a\nb", "tab\there", "say \"hi\"", "C:\\data\\", "東京"] {
            assert!(check_value(Text, bad).is_err(), "{bad:?}");
        }
    }
}
