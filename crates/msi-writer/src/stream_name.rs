//! Compound-file stream names as Windows Installer stores them: pairs of characters from
//! `[0-9A-Za-z._]` packed into one code point (0x3800..0x47FF), a lone one into 0x4800..0x483F,
//! any other character kept, and table streams prefixed with U+4840.
//!
//! Invariant: [`decode`] inverts [`encode`] for every name (the writer and the reader share this
//! one codec).

/// Table streams start with this code point.
const TABLE_PREFIX: char = '\u{4840}';

/// The 64 characters that pack, in their 6-bit order.
const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._";

/// The 6-bit value of a packable character.
fn six_bits(ch: char) -> Option<u32> {
    match ch {
        '0'..='9' => Some(ch as u32 - '0' as u32),
        'A'..='Z' => Some(ch as u32 - 'A' as u32 + 10),
        'a'..='z' => Some(ch as u32 - 'a' as u32 + 36),
        '.' => Some(62),
        '_' => Some(63),
        _ => None,
    }
}

/// Encodes `name`; `is_table` adds the table-stream prefix.
pub(crate) fn encode(name: &str, is_table: bool) -> String {
    let mut out = String::new();
    if is_table {
        out.push(TABLE_PREFIX);
    }
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match (
            six_bits(chars[i]),
            chars.get(i + 1).and_then(|&c| six_bits(c)),
        ) {
            (Some(first), Some(second)) => {
                out.push(char::from_u32(0x3800 + (second << 6) + first).expect("in BMP"));
                i += 2;
            }
            (Some(first), None) => {
                out.push(char::from_u32(0x4800 + first).expect("in BMP"));
                i += 1;
            }
            (None, _) => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Decodes a stored stream name: `(is a table stream, name)`.
pub fn decode(raw: &str) -> (bool, String) {
    let mut chars = raw.chars().peekable();
    let is_table = chars.peek() == Some(&TABLE_PREFIX);
    if is_table {
        chars.next();
    }
    let mut out = String::new();
    for ch in chars {
        let code = ch as u32;
        if (0x3800..0x4800).contains(&code) {
            let packed = code - 0x3800;
            out.push(ALPHABET[(packed & 0x3F) as usize] as char);
            out.push(ALPHABET[((packed >> 6) & 0x3F) as usize] as char);
        } else if (0x4800..0x4840).contains(&code) {
            out.push(ALPHABET[(code - 0x4800) as usize] as char);
        } else {
            out.push(ch);
        }
    }
    (is_table, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_documented_encoding() {
        assert_eq!(
            encode("_Columns", true),
            "\u{4840}\u{3b3f}\u{43f2}\u{4438}\u{45b1}"
        );
        assert_eq!(
            encode("_Tables", true),
            "\u{4840}\u{3f7f}\u{4164}\u{422f}\u{4836}"
        );
        assert_eq!(encode("App.exe", false), "\u{44ca}\u{47b3}\u{46e8}\u{4828}");
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "Property",
            "_StringPool",
            "_StringData",
            "AdvtExecuteSequence",
            "A.b_9",
        ] {
            assert_eq!(decode(&encode(name, true)), (true, name.to_string()));
        }
        assert_eq!(
            decode(&encode("product.cab", false)),
            (false, "product.cab".to_string())
        );
        assert_eq!(
            decode("\u{5}SummaryInformation"),
            (false, "\u{5}SummaryInformation".to_string())
        );
    }
}
