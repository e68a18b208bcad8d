//! Line splitting, base64 and comment rules shared by the three file formats.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{CommentProblem, Error, FileKind, FormatProblem};

pub(crate) const COMMENT_PREFIX: &str = "untrusted comment: ";
pub(crate) const TRUSTED_COMMENT_PREFIX: &str = "trusted comment: ";

/// Standard alphabet with mandatory padding, like minisign's decoder. minisign does not check
/// the unused low bits of the last character, so neither do we.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The lines of a minisign file: split on `\n`, a trailing `\r` dropped from each line (minisign
/// itself ignores carriage returns, so files that went through a CRLF checkout still load).
pub(crate) struct Lines<'a> {
    file: FileKind,
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(file: FileKind, text: &'a str) -> Self {
        let mut lines: Vec<&str> = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect();
        // A final newline does not start another line, and an empty file has none.
        if text.ends_with('\n') || text.is_empty() {
            lines.pop();
        }
        Lines { file, lines }
    }

    /// Line `number` (one-based), or an error naming what it should have held.
    pub(crate) fn get(&self, number: usize, expected: &'static str) -> Result<&'a str, Error> {
        self.lines.get(number - 1).copied().ok_or_else(|| {
            Error::format(self.file, number, FormatProblem::MissingLine { expected })
        })
    }

    /// Line `number` without its mandatory `prefix`.
    pub(crate) fn get_after_prefix(
        &self,
        number: usize,
        expected: &'static str,
        prefix: &'static str,
    ) -> Result<&'a str, Error> {
        let line = self.get(number, expected)?;
        line.strip_prefix(prefix).ok_or_else(|| {
            Error::format(self.file, number, FormatProblem::MissingPrefix { prefix })
        })
    }

    /// Fails if anything but blank lines follows line `last`.
    pub(crate) fn expect_end_after(&self, last: usize) -> Result<(), Error> {
        match self
            .lines
            .iter()
            .enumerate()
            .skip(last)
            .find(|(_, line)| !line.trim().is_empty())
        {
            Some((index, _)) => Err(Error::format(
                self.file,
                index + 1,
                FormatProblem::TrailingContent,
            )),
            None => Ok(()),
        }
    }

    /// Decodes base64 line `number`, which must hold exactly `N` bytes. The buffer is wiped on
    /// drop because for secret keys it holds key material.
    pub(crate) fn decode_fixed<const N: usize>(
        &self,
        number: usize,
        expected: &'static str,
    ) -> Result<Zeroizing<[u8; N]>, Error> {
        let line = self.get(number, expected)?;
        decode_fixed(self.file, number, line)
    }
}

/// Decodes one base64 line that must hold exactly `N` bytes.
pub(crate) fn decode_fixed<const N: usize>(
    file: FileKind,
    line_number: usize,
    line: &str,
) -> Result<Zeroizing<[u8; N]>, Error> {
    let decoded = Zeroizing::new(BASE64.decode(line.as_bytes()).map_err(|err| {
        Error::format(
            file,
            line_number,
            FormatProblem::Base64 {
                reason: err.to_string(),
            },
        )
    })?);
    let mut out = Zeroizing::new([0u8; N]);
    if decoded.len() != N {
        return Err(Error::format(
            file,
            line_number,
            FormatProblem::WrongLength {
                expected: N,
                found: decoded.len(),
            },
        ));
    }
    out.copy_from_slice(&decoded);
    Ok(out)
}

/// Checks a comment against what minisign can write and read back: one line, at most `max`
/// bytes, no control characters other than tab (minisign 0.12 refuses to verify signatures whose
/// trusted comment holds any, and such characters could rewrite the terminal of whoever reads it).
pub(crate) fn check_comment(comment: &str, max: usize) -> Result<(), CommentProblem> {
    if let Some((index, _)) = comment
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\t')
    {
        return Err(CommentProblem::ControlCharacter { index });
    }
    if comment.len() > max {
        return Err(CommentProblem::TooLong {
            len: comment.len(),
            max,
        });
    }
    Ok(())
}

/// Two identifier bytes for an error message, printable whatever they are.
pub(crate) fn escape_id(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_tolerate_crlf_and_missing_final_newline() {
        let lines = Lines::new(FileKind::Signature, "a\r\nb\nc");
        assert_eq!(lines.get(1, "x").unwrap(), "a");
        assert_eq!(lines.get(2, "x").unwrap(), "b");
        assert_eq!(lines.get(3, "x").unwrap(), "c");
        assert!(lines.get(4, "x").is_err());
        lines.expect_end_after(3).unwrap();
        assert!(Lines::new(FileKind::Signature, "").get(1, "x").is_err());
    }

    #[test]
    fn trailing_content_names_its_line() {
        let lines = Lines::new(FileKind::PublicKey, "a\nb\n\n  \nzzz\n");
        let err = lines.expect_end_after(2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "public key, line 5: is unexpected; nothing may follow the last line of a minisign file"
        );
    }

    #[test]
    fn base64_requires_padding_and_exact_length() {
        let good = encode_base64(&[1, 2, 3, 4]);
        assert_eq!(good, "AQIDBA==");
        assert_eq!(
            *decode_fixed::<4>(FileKind::Signature, 2, &good).unwrap(),
            [1, 2, 3, 4]
        );
        assert!(matches!(
            decode_fixed::<4>(FileKind::Signature, 2, "AQIDBA"),
            Err(Error::Format {
                problem: FormatProblem::Base64 { .. },
                line: 2,
                ..
            })
        ));
        assert!(matches!(
            decode_fixed::<5>(FileKind::Signature, 2, &good),
            Err(Error::Format {
                problem: FormatProblem::WrongLength {
                    expected: 5,
                    found: 4
                },
                ..
            })
        ));
    }

    #[test]
    fn comments_must_be_one_printable_line() {
        check_comment("file:a.msi\tversion:1.0 – ünïcode", 100).unwrap();
        assert_eq!(
            check_comment("a\nb", 100),
            Err(CommentProblem::ControlCharacter { index: 1 })
        );
        assert_eq!(
            check_comment("ab\r", 100),
            Err(CommentProblem::ControlCharacter { index: 2 })
        );
        assert_eq!(
            check_comment("a\u{1b}[2J", 100),
            Err(CommentProblem::ControlCharacter { index: 1 })
        );
        // C1 controls are refused by minisign 0.12 too.
        assert_eq!(
            check_comment("x\u{85}", 100),
            Err(CommentProblem::ControlCharacter { index: 1 })
        );
        assert_eq!(
            check_comment("abcd", 3),
            Err(CommentProblem::TooLong { len: 4, max: 3 })
        );
    }
}
