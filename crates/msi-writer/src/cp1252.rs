//! Windows-1252 encoding, the codepage of every package this crate writes.
//!
//! Windows Installer stores database strings and summary information in one ANSI codepage; UTF-8
//! (65001) packages are accepted by libmsi and Wine but refused by Windows itself, so we write 1252
//! and refuse text that it cannot hold instead of corrupting it.

/// The codepage number written into the string pool and the summary information stream.
pub const CODEPAGE: u16 = 1252;

/// Unicode code points of the bytes 0x80..=0x9F in Windows-1252 (`None` = unassigned byte).
const HIGH_TABLE: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

/// Encodes one character, or `None` when Windows-1252 has no byte for it.
pub fn encode_char(ch: char) -> Option<u8> {
    let code = ch as u32;
    if code < 0x80 || (0xA0..=0xFF).contains(&code) {
        return Some(code as u8);
    }
    HIGH_TABLE
        .iter()
        .position(|&c| c == Some(ch))
        .map(|index| 0x80 + index as u8)
}

/// Returns the first character of `text` that Windows-1252 cannot encode.
pub fn first_unencodable(text: &str) -> Option<char> {
    text.chars().find(|&ch| encode_char(ch).is_none())
}

/// Encodes `text`; callers validate first, so an unencodable character is an internal error.
pub fn encode(text: &str) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        out.push(encode_char(ch).ok_or(ch)?);
    }
    Ok(out)
}

/// Decodes Windows-1252 bytes (unassigned bytes become U+FFFD).
pub fn decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH_TABLE[(b - 0x80) as usize].unwrap_or('\u{FFFD}'),
            _ => b as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_assigned_byte() {
        for b in 0u8..=255 {
            let text = decode(&[b]);
            if text == "\u{FFFD}" {
                continue;
            }
            assert_eq!(encode(&text).unwrap(), vec![b], "byte {b:#x}");
        }
    }

    #[test]
    fn western_text_encodes_and_other_scripts_do_not() {
        assert_eq!(encode("Café € ™").unwrap(), b"Caf\xe9 \x80 \x99");
        assert_eq!(first_unencodable("Hello Service"), None);
        assert_eq!(first_unencodable("Dienst für Grüße"), None);
        assert_eq!(first_unencodable("サービス"), Some('サ'));
        assert_eq!(first_unencodable("Zażółć"), Some('ż'));
    }
}
