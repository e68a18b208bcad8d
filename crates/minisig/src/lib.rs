//! Ed25519 keys and signatures in [minisign](https://jedisct1.github.io/minisign/)'s file formats.
//!
//! Signatures made here verify with the stock `minisign -V` command, and signatures, public keys
//! and secret keys made by the `minisign` CLI load here. Only the minisign formats are spoken:
//!
//! * public key: `untrusted comment: …` line, then base64(`Ed` ‖ key id (8) ‖ Ed25519 public key (32));
//! * secret key: `untrusted comment: …` line, then base64 of minisign's 158-byte secret key
//!   structure, either encrypted with a passphrase (scrypt, as libsodium's
//!   `crypto_pwhash_scryptsalsa208sha256`) or unencrypted (`minisign -G -W`);
//! * signature (`.minisig`): untrusted comment, base64(`ED` ‖ key id ‖ signature over the
//!   BLAKE2b-512 hash of the data), `trusted comment: …`, and a global signature over the data
//!   signature followed by the trusted comment, which makes the trusted comment tamper-evident.
//!
//! Compatibility notes, checked against minisign 0.11 (Debian) and its source:
//!
//! * Key ids print as minisign prints them: the little-endian u64 in upper-case hex.
//! * Comments are single lines of printable UTF-8 (tabs allowed). minisign 0.12 refuses to verify
//!   trusted comments with control characters, and minisign's line buffers bound their length
//!   ([`MAX_TRUSTED_COMMENT_LEN`], [`MAX_UNTRUSTED_COMMENT_LEN`]).
//! * `minisign -G -W` (0.11) leaves the checksum of unencrypted keys all zero; such keys load
//!   here (the public half is still checked against the seed). Keys written here always carry
//!   a checksum.
//! * minisign reads passphrases one line at a time from its terminal or standard input, so a
//!   passphrase must not contain CR, LF or NUL and is at most [`MAX_PASSPHRASE_LEN`] bytes.
//! * Key files are read before they can be authenticated, so the scrypt limits they hold are
//!   capped (2 GiB of memory, 16 times minisign's default work) instead of trusted.
//!
//! ```
//! let (public_key, secret_key) = minisig::generate(&mut minisig::OsRng);
//! let data = b"release artifact bytes";
//! let signature = secret_key
//!     .sign(&data[..], "file:hello.msi\tversion:1.2.3", "signature from winrelease")
//!     .unwrap();
//! let text = signature.to_text(); // what goes into hello.msi.minisig
//!
//! let parsed = minisig::Signature::parse(&text).unwrap();
//! let verified = minisig::verify(&public_key, &parsed, &data[..]).unwrap();
//! assert_eq!(verified.trusted_comment(), "file:hello.msi\tversion:1.2.3");
//! ```

mod encoding;
mod error;
mod kdf;
mod keys;
mod signature;

pub use error::{CommentKind, CommentProblem, Error, FileKind, FormatProblem};
pub use kdf::{KdfParams, ScryptCost};
pub use keys::{generate, KeyId, PublicKey, SecretKey};
pub use signature::{
    verify, verify_prehash, DataHasher, Prehash, Signature, SignatureAlgorithm, VerifiedSignature,
};

/// The password-hash parameters minisign itself uses; see [`KdfParams::minisign_default`].
pub use kdf::{MINISIGN_DEFAULT_MEMLIMIT, MINISIGN_DEFAULT_OPSLIMIT};
/// The `rand_core` version this crate's RNG parameters are written against.
pub use rand_core;
/// The operating system's random number generator, the usual argument to [`generate`].
pub use rand_core::OsRng;

/// Longest trusted comment, in bytes, that `minisign -V` can read back (its line buffer is
/// 8192 bytes including the `trusted comment: ` prefix and the newline).
pub const MAX_TRUSTED_COMMENT_LEN: usize = 8173;
/// Longest untrusted comment, in bytes, that minisign can read back (its line buffer is 1024
/// bytes including the `untrusted comment: ` prefix and the newline).
pub const MAX_UNTRUSTED_COMMENT_LEN: usize = 1003;
/// Longest passphrase minisign can read from its terminal or standard input.
pub const MAX_PASSPHRASE_LEN: usize = 1023;
