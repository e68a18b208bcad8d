//! `_StringPool` and `_StringData`, read side (the writer is `crate::database`): the pool starts
//! with the codepage (bit 31 set when string references are 3 bytes wide), then one
//! `(u16 byte length, u16 reference count)` pair per string id from 1; the data is the strings'
//! bytes in id order. Packages and transforms use the same layout.
//!
//! Invariant: ids are 1-based and stable: an unused entry (length and count 0) keeps its id.

use crate::cp1252;

/// The UTF-8 codepage; every other codepage is decoded as Windows-1252.
const UTF8: u32 = 65001;

/// A decoded string pool.
#[derive(Clone, Debug, Default)]
pub struct StringPool {
    codepage: u32,
    long_refs: bool,
    /// Index = string id; index 0 (null) and unused entries are `None`.
    strings: Vec<Option<String>>,
}

impl StringPool {
    /// Decodes `_StringPool` and `_StringData`; fails with a reason on inconsistent data.
    pub fn parse(pool: &[u8], data: &[u8]) -> Result<StringPool, String> {
        if pool.len() < 4 || !pool.len().is_multiple_of(4) {
            return Err(format!(
                "_StringPool has {} bytes, not a multiple of 4",
                pool.len()
            ));
        }
        let word = |i: usize| u16::from_le_bytes([pool[i * 2], pool[i * 2 + 1]]);
        let header = u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]);
        let codepage = header & 0x7FFF_FFFF;
        let decode = |bytes: &[u8]| match codepage {
            UTF8 => String::from_utf8_lossy(bytes).into_owned(),
            _ => cp1252::decode(bytes),
        };
        let count = pool.len() / 4;
        let mut strings: Vec<Option<String>> = vec![None];
        let mut offset = 0usize;
        let mut i = 1;
        while i < count {
            let (len_low, refs) = (word(i * 2), word(i * 2 + 1));
            if len_low == 0 && refs == 0 {
                strings.push(None);
                i += 1;
                continue;
            }
            let len = if len_low == 0 {
                // A string over 64 KiB: this entry's count holds the high word of the length,
                // the next entry's length field the low word.
                if i + 1 >= count {
                    return Err("_StringPool ends inside a long string entry".into());
                }
                let len = (usize::from(refs) << 16) | usize::from(word(i * 2 + 2));
                i += 2;
                len
            } else {
                i += 1;
                usize::from(len_low)
            };
            let bytes = data
                .get(offset..offset + len)
                .ok_or("_StringData is shorter than _StringPool says")?;
            strings.push(Some(decode(bytes)));
            offset += len;
        }
        Ok(StringPool {
            codepage,
            long_refs: header & 0x8000_0000 != 0,
            strings,
        })
    }

    /// The codepage of the header (0 = neutral).
    pub fn codepage(&self) -> u32 {
        self.codepage
    }

    /// True when string references are 3 bytes wide (more than 65,535 ids).
    pub fn long_refs(&self) -> bool {
        self.long_refs
    }

    /// The string with id `id` (`None` for 0, unused or unknown ids).
    pub fn get(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).and_then(|s| s.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one_and_keep_unused_entries() {
        let mut pool = 1252u32.to_le_bytes().to_vec();
        for (len, refs) in [(2u16, 1u16), (0, 0), (4, 2)] {
            pool.extend_from_slice(&len.to_le_bytes());
            pool.extend_from_slice(&refs.to_le_bytes());
        }
        let read = StringPool::parse(&pool, b"abcaf\xe9").unwrap();
        assert_eq!(read.codepage(), 1252);
        assert!(!read.long_refs());
        assert_eq!(read.get(0), None);
        assert_eq!(read.get(1), Some("ab"));
        assert_eq!(read.get(2), None);
        assert_eq!(read.get(3), Some("caf\u{e9}"));
        assert!(StringPool::parse(&pool, b"ab").is_err());
        assert!(StringPool::parse(&pool[..6], b"").is_err());
    }
}
