//! Error types. No variant carries a passphrase or key material.

use std::fmt;

use crate::keys::KeyId;

/// Which kind of minisign file a format error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A public key file (or a bare public key line).
    PublicKey,
    /// A secret key file.
    SecretKey,
    /// A `.minisig` signature file.
    Signature,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::PublicKey => "public key",
            FileKind::SecretKey => "secret key file",
            FileKind::Signature => "signature file",
        })
    }
}

/// Which of the two comments of a signature a comment error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// The signed `trusted comment:` line.
    Trusted,
    /// The unsigned `untrusted comment:` line.
    Untrusted,
}

impl fmt::Display for CommentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommentKind::Trusted => "trusted",
            CommentKind::Untrusted => "untrusted",
        })
    }
}

/// What is wrong with a comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentProblem {
    /// Longer than minisign's line buffer can hold.
    #[error("is {len} bytes long, but minisign reads at most {max}; shorten it")]
    TooLong {
        /// Length of the comment in bytes.
        len: usize,
        /// Largest accepted length in bytes.
        max: usize,
    },
    /// Contains a line break or another control character (tab is allowed).
    #[error(
        "contains a line break or control character at byte {index}; \
         a comment must be one line of printable text (tabs are allowed)"
    )]
    ControlCharacter {
        /// Byte offset of the offending character.
        index: usize,
    },
}

/// What is wrong with one line of a minisign file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatProblem {
    /// The file ends before this line.
    #[error("missing; the file ends early (expected {expected})")]
    MissingLine {
        /// What the line should have held.
        expected: &'static str,
    },
    /// The line lacks its mandatory prefix.
    #[error("must start with {prefix:?}")]
    MissingPrefix {
        /// The required prefix.
        prefix: &'static str,
    },
    /// The line is not valid padded standard base64.
    #[error("is not valid base64 ({reason})")]
    Base64 {
        /// The decoder's explanation.
        reason: String,
    },
    /// The base64 decodes to the wrong number of bytes.
    #[error(
        "decodes to {found} bytes, but {expected} are expected; is this the right kind of file?"
    )]
    WrongLength {
        /// Number of bytes the structure must have.
        expected: usize,
        /// Number of bytes found.
        found: usize,
    },
    /// An algorithm identifier this crate (and minisign) does not know.
    #[error("uses unsupported {field} {found} (supported: {supported})")]
    UnsupportedAlgorithm {
        /// Which identifier: signature, key derivation or checksum algorithm.
        field: &'static str,
        /// The two identifier bytes found, escaped.
        found: String,
        /// The identifiers that are understood.
        supported: &'static str,
    },
    /// The 32 public key bytes are not a valid Ed25519 point.
    #[error("holds an invalid Ed25519 public key (not a curve point)")]
    InvalidPublicKey,
    /// A comment on this line is unusable.
    #[error("comment {0}")]
    Comment(CommentProblem),
    /// Non-blank content follows the last expected line.
    #[error("is unexpected; nothing may follow the last line of a minisign file")]
    TrailingContent,
}

/// Everything that can go wrong when reading, writing, signing or verifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A minisign file could not be parsed.
    #[error("{file}, line {line}: {problem}")]
    Format {
        /// Which kind of file.
        file: FileKind,
        /// One-based line number.
        line: usize,
        /// What is wrong with that line.
        problem: FormatProblem,
    },
    /// A comment given for signing is unusable.
    #[error("{which} comment {problem}")]
    InvalidComment {
        /// Which comment.
        which: CommentKind,
        /// What is wrong with it.
        problem: CommentProblem,
    },
    /// The passphrase does not decrypt the secret key (its checksum does not match).
    #[error("wrong passphrase for this secret key (the decrypted key's checksum does not match)")]
    WrongPassphrase,
    /// A passphrase was given for a secret key file that is stored unencrypted.
    #[error(
        "the secret key file is not encrypted (made with `minisign -G -W`?); \
         load it with SecretKey::from_unencrypted_file, or encrypt it with `minisign -C`"
    )]
    KeyNotEncrypted,
    /// An encrypted secret key file was loaded without a passphrase.
    #[error("the secret key file is encrypted; a passphrase is needed to load it")]
    PassphraseRequired,
    /// The passphrase cannot be used to encrypt a key minisign can open.
    #[error("unusable passphrase: {reason}")]
    UnusablePassphrase {
        /// Why (never the passphrase itself).
        reason: &'static str,
    },
    /// The secret key decoded, but its content is inconsistent.
    #[error("secret key file is corrupt: {reason}")]
    CorruptSecretKey {
        /// What is inconsistent.
        reason: &'static str,
    },
    /// scrypt limits that libsodium would refuse, or that cost more than this crate allows.
    #[error(
        "key derivation parameters opslimit={opslimit} memlimit={memlimit} are unusable: {reason}"
    )]
    KdfParams {
        /// The opslimit from the file or the caller.
        opslimit: u64,
        /// The memlimit from the file or the caller.
        memlimit: u64,
        /// Why they are refused.
        reason: String,
    },
    /// The signature names another key than the public key given.
    #[error(
        "the signature was made by key {signature_key_id}, but the public key is {public_key_id}: \
         it was signed by another key, or the wrong public key was given"
    )]
    KeyIdMismatch {
        /// Key id recorded in the signature.
        signature_key_id: KeyId,
        /// Key id of the public key used for verification.
        public_key_id: KeyId,
    },
    /// The signature over the data is invalid: the data changed since it was signed.
    #[error(
        "signature verification failed: the data does not match its signature \
         (the file was changed, truncated or swapped)"
    )]
    BadSignature,
    /// The data signature is valid, but the global signature over the trusted comment is not.
    #[error("trusted comment verification failed: the trusted comment was edited after signing")]
    BadGlobalSignature,
    /// A legacy (non-prehashed) signature needs the data itself, not its BLAKE2b-512 hash.
    #[error("legacy (non-prehashed, `minisign -l`) signature: verify it with `verify` and the data itself")]
    LegacyNeedsData,
    /// Reading the data to sign or verify failed.
    #[error("reading the data failed: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn format(file: FileKind, line: usize, problem: FormatProblem) -> Self {
        Error::Format {
            file,
            line,
            problem,
        }
    }
}
