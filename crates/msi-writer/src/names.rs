//! Name rules: identifiers, Windows long file names, deterministic 8.3 short names, and escaping
//! literal text for Windows Installer formatted strings.

use sha2::{Digest, Sha256};

use crate::cp1252;
use crate::error::MsiError;

/// Checks a Windows Installer identifier (`[A-Za-z_][A-Za-z0-9_.]*`, at most `max` characters).
pub(crate) fn check_identifier(field: &str, value: &str, max: usize) -> Result<(), MsiError> {
    let mut chars = value.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && value.len() <= max;
    if ok {
        Ok(())
    } else {
        Err(MsiError::InvalidIdentifier {
            field: field.to_string(),
            value: value.to_string(),
            max,
        })
    }
}

/// A Windows Installer identifier for any name people choose (`my-svc.exe`, `Mon service.exe`,
/// `服务.exe`): the name itself when it already is one that starts with a letter, else its
/// characters outside `[A-Za-z0-9_.]` replaced by `_`, prefixed with `K` when it does not start
/// with a letter, and suffixed with a hash of the original name, so two names
/// that differ only in such characters never share an identifier. At most `max` characters
/// (at least 20); the same name always gives the same identifier.
pub fn derive_identifier(name: &str, max: usize) -> String {
    let max = max.max(20);
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && check_identifier("", name, max).is_ok();
    if plain {
        return name.to_string();
    }
    let mut body: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        body.insert(0, 'K');
    }
    let digest = Sha256::digest(name.as_bytes());
    let suffix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    body.truncate(max - suffix.len() - 1);
    format!("{body}_{suffix}")
}

/// Checks that `value` is non-empty, has no control characters and fits Windows-1252.
pub(crate) fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), MsiError> {
    if value.trim().is_empty() {
        return Err(MsiError::text(field, "must not be empty"));
    }
    check_optional_text(field, value, max_chars)
}

/// Like [`check_text`] but allows the empty string.
pub(crate) fn check_optional_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<(), MsiError> {
    if let Some(ch) = cp1252::first_unencodable(value) {
        return Err(MsiError::NotWindows1252 {
            field: field.to_string(),
            value: value.to_string(),
            ch,
        });
    }
    if let Some(ch) = value.chars().find(|c| c.is_control()) {
        return Err(MsiError::text(
            field,
            format!("contains the control character {ch:?}"),
        ));
    }
    let len = value.chars().count();
    if len > max_chars {
        return Err(MsiError::text(
            field,
            format!("is {len} characters long; at most {max_chars} fit"),
        ));
    }
    Ok(())
}

const RESERVED_DEVICE_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks a long file or folder name as Windows (and the MSI Filename type) accepts it.
pub(crate) fn check_long_name(field: &str, name: &str) -> Result<(), MsiError> {
    let bad = |reason: &str| MsiError::InvalidFileName {
        field: field.to_string(),
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name == "." || name == ".." {
        return Err(bad("'.' and '..' are not names"));
    }
    if let Some(ch) = name
        .chars()
        .find(|c| "\\/:*?\"<>|".contains(*c) || c.is_control())
    {
        return Err(bad(&format!("{ch:?} is not allowed in Windows file names")));
    }
    if name.ends_with(' ') || name.ends_with('.') || name.starts_with(' ') {
        return Err(bad(
            "Windows strips leading spaces and trailing spaces or dots",
        ));
    }
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    if RESERVED_DEVICE_NAMES.contains(&stem.as_str()) {
        return Err(bad("reserved device name"));
    }
    if name.chars().count() > 255 {
        return Err(bad("longer than 255 characters"));
    }
    if let Some(ch) = cp1252::first_unencodable(name) {
        return Err(MsiError::NotWindows1252 {
            field: field.to_string(),
            value: name.to_string(),
            ch,
        });
    }
    Ok(())
}

fn is_short_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'()-@^_`{}~".contains(c)
}

/// True when `name` is itself a valid 8.3 short name (then the Filename column holds it alone).
pub(crate) fn is_short_name(name: &str) -> bool {
    let (stem, ext) = match name.split_once('.') {
        Some((stem, ext)) => (stem, Some(ext)),
        None => (name, None),
    };
    let stem_ok = (1..=8).contains(&stem.len()) && stem.chars().all(is_short_char);
    let ext_ok = ext.is_none_or(|e| (1..=3).contains(&e.len()) && e.chars().all(is_short_char));
    stem_ok && ext_ok
}

/// A deterministic 8.3 name for `long` within the folder identified by `scope`: eight base-32
/// characters of a hash, plus the first three usable characters of the extension. `attempt`
/// perturbs the hash when a name is taken.
pub(crate) fn generated_short_name(scope: &str, long: &str, attempt: u32) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(long.to_uppercase().as_bytes());
    hasher.update([0]);
    hasher.update(attempt.to_le_bytes());
    let digest = hasher.finalize();
    let stem: String = digest[..8]
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    let ext: String = long
        .rsplit_once('.')
        .map(|(_, ext)| ext.chars().filter(|c| is_short_char(*c)).take(3).collect())
        .unwrap_or_default();
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{}", ext.to_ascii_lowercase())
    }
}

/// Escapes literal text for a formatted column, so `[`, `]`, `{` and `}` stay literal.
pub(crate) fn escape_formatted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '[' => out.push_str("[\\[]"),
            ']' => out.push_str("[\\]]"),
            '{' => out.push_str("[\\{]"),
            '}' => out.push_str("[\\}]"),
            _ => out.push(ch),
        }
    }
    out
}

/// Windows-style case folding for comparing names (the file system compares upper-cased names).
pub(crate) fn fold(name: &str) -> String {
    name.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(check_identifier("k", "hellosvc.exe", 72).is_ok());
        assert!(check_identifier("k", "_x", 72).is_ok());
        for bad in ["", "1abc", ".x", "a-b", "a b", "ä"] {
            assert!(check_identifier("k", bad, 72).is_err(), "{bad:?}");
        }
        assert!(check_identifier("k", &"a".repeat(73), 72).is_err());
    }

    #[test]
    fn derived_identifiers_are_valid_stable_and_distinct() {
        assert_eq!(derive_identifier("hellosvc.exe", 72), "hellosvc.exe");
        let names = [
            "my-svc.exe",
            "my_svc.exe",
            "my svc.exe",
            "7zip.exe",
            "服务.exe",
            "Ünïcode.exe",
            "_x",
        ];
        let ids: Vec<String> = names.iter().map(|n| derive_identifier(n, 72)).collect();
        for (name, id) in names.iter().zip(&ids) {
            check_identifier("k", id, 72).unwrap();
            assert!(id.starts_with(|c: char| c.is_ascii_alphabetic()), "{id}");
            assert_eq!(&derive_identifier(name, 72), id);
        }
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(derive_identifier(&"é".repeat(200), 40).len() <= 40);
    }

    #[test]
    fn long_names() {
        for good in [
            "hellosvc.exe",
            "Hello Service",
            "config.json",
            "a.b.c",
            "Ünïcode-1252.txt",
        ] {
            check_long_name("n", good).unwrap();
        }
        for bad in [
            "",
            "a/b",
            "a\\b",
            "con",
            "COM1.txt",
            "x:y",
            "trailing.",
            "trailing ",
            "tab\t",
            "日本.txt",
            "a?",
        ] {
            assert!(check_long_name("n", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_names() {
        assert!(is_short_name("hellosvc.exe"));
        assert!(is_short_name("README"));
        assert!(!is_short_name("config.json"));
        assert!(!is_short_name("Hello Service"));
        assert!(!is_short_name("a.b.c"));
        let short = generated_short_name("INSTALLDIR", "config.json", 0);
        assert_eq!(short, generated_short_name("INSTALLDIR", "CONFIG.JSON", 0));
        assert_ne!(short, generated_short_name("INSTALLDIR", "config.json", 1));
        assert!(is_short_name(&short), "{short}");
        assert!(short.ends_with(".jso"));
        assert!(is_short_name(&generated_short_name(
            "D",
            "Hello Service",
            0
        )));
    }

    #[test]
    fn formatted_escaping() {
        assert_eq!(escape_formatted("a[b]{c}"), r"a[\[]b[\]][\{]c[\}]");
        assert_eq!(escape_formatted("plain"), "plain");
    }
}
