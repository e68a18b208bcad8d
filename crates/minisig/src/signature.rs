//! `.minisig` signatures: making, parsing, formatting and verifying them.

use std::fmt;
use std::io::{self, Read, Write};

use blake2::{Blake2b512, Digest};
use ed25519_dalek::Signer;

use crate::encoding::{
    check_comment, encode_base64, escape_id, Lines, COMMENT_PREFIX, TRUSTED_COMMENT_PREFIX,
};
use crate::error::{CommentKind, Error, FileKind, FormatProblem};
use crate::keys::{KeyId, PublicKey, SecretKey, SIG_ALG};
use crate::{MAX_TRUSTED_COMMENT_LEN, MAX_UNTRUSTED_COMMENT_LEN};

/// Signature algorithm id of prehashed signatures (minisign's default since 0.8).
const SIG_ALG_PREHASHED: [u8; 2] = *b"ED";
/// `ED`/`Ed` ‖ key id ‖ Ed25519 signature.
const SIG_STRUCT_LEN: usize = 2 + 8 + 64;
/// Read size while hashing; minisign uses the same.
const CHUNK: usize = 64 * 1024;

/// What the signature over the data covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// `ED`: Ed25519 over the BLAKE2b-512 hash of the data. What minisign and this crate make.
    Prehashed,
    /// `Ed`: Ed25519 over the data itself (`minisign -l`). Verified here, never made.
    Legacy,
}

/// The BLAKE2b-512 hash of some data, which prehashed signatures sign.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prehash([u8; 64]);

impl Prehash {
    /// The 64 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Prehash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prehash(")?;
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

/// Incremental BLAKE2b-512 of data to sign or verify, for callers that see the data while
/// writing it (it implements [`Write`]) and want no second read.
#[derive(Clone, Default)]
pub struct DataHasher(Blake2b512);

impl DataHasher {
    /// An empty hasher.
    pub fn new() -> Self {
        DataHasher(Blake2b512::new())
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Feeds everything `reader` yields, in 64 KiB chunks.
    pub fn update_reader<R: Read>(&mut self, mut reader: R) -> io::Result<()> {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => self.update(&buffer[..n]),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// The hash of everything fed so far.
    pub fn finalize(self) -> Prehash {
        Prehash(self.0.finalize().into())
    }
}

impl Write for DataHasher {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A parsed or freshly made `.minisig` signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    untrusted_comment: String,
    algorithm: SignatureAlgorithm,
    key_id: KeyId,
    signature: [u8; 64],
    trusted_comment: String,
    global_signature: [u8; 64],
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("trusted_comment", &self.trusted_comment)
            .field("untrusted_comment", &self.untrusted_comment)
            .finish_non_exhaustive()
    }
}

/// The outcome of a successful [`verify`]: what the signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    key_id: KeyId,
    algorithm: SignatureAlgorithm,
    trusted_comment: String,
}

impl VerifiedSignature {
    /// The signed trusted comment (without the `trusted comment: ` prefix).
    pub fn trusted_comment(&self) -> &str {
        &self.trusted_comment
    }

    /// The id of the key that signed.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Whether the data was signed prehashed (`ED`) or in the legacy way (`Ed`).
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
}

impl Signature {
    /// Parses a `.minisig` file. Accepts CRLF line ends and a missing final newline, as minisign
    /// does; refuses a trusted comment that minisign 0.12 would refuse (control characters).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let lines = Lines::new(FileKind::Signature, text);
        let comment_error = |line, problem| {
            Error::format(FileKind::Signature, line, FormatProblem::Comment(problem))
        };

        let untrusted_comment =
            lines.get_after_prefix(1, "the untrusted comment line", COMMENT_PREFIX)?;
        // Only the length matters to minisign for the unsigned comment.
        if untrusted_comment.len() > MAX_UNTRUSTED_COMMENT_LEN {
            return Err(comment_error(
                1,
                crate::CommentProblem::TooLong {
                    len: untrusted_comment.len(),
                    max: MAX_UNTRUSTED_COMMENT_LEN,
                },
            ));
        }

        let structure = lines.decode_fixed::<SIG_STRUCT_LEN>(2, "the base64 signature line")?;
        let algorithm = match [structure[0], structure[1]] {
            SIG_ALG_PREHASHED => SignatureAlgorithm::Prehashed,
            SIG_ALG => SignatureAlgorithm::Legacy,
            _ => {
                return Err(Error::format(
                    FileKind::Signature,
                    2,
                    FormatProblem::UnsupportedAlgorithm {
                        field: "signature algorithm",
                        found: escape_id(&structure[..2]),
                        supported: "\"ED\" (prehashed) or \"Ed\" (legacy)",
                    },
                ))
            }
        };

        let trusted_comment =
            lines.get_after_prefix(3, "the trusted comment line", TRUSTED_COMMENT_PREFIX)?;
        check_comment(trusted_comment, MAX_TRUSTED_COMMENT_LEN)
            .map_err(|problem| comment_error(3, problem))?;

        let global_signature = lines.decode_fixed::<64>(4, "the base64 global signature line")?;
        lines.expect_end_after(4)?;

        Ok(Signature {
            untrusted_comment: untrusted_comment.to_owned(),
            algorithm,
            key_id: KeyId::from_bytes(structure[2..10].try_into().expect("fixed slice")),
            signature: structure[10..].try_into().expect("fixed slice"),
            trusted_comment: trusted_comment.to_owned(),
            global_signature: *global_signature,
        })
    }

    /// The `.minisig` file text, exactly as `minisign -S` lays it out.
    pub fn to_text(&self) -> String {
        let mut structure = [0u8; SIG_STRUCT_LEN];
        structure[..2].copy_from_slice(match self.algorithm {
            SignatureAlgorithm::Prehashed => &SIG_ALG_PREHASHED,
            SignatureAlgorithm::Legacy => &SIG_ALG,
        });
        structure[2..10].copy_from_slice(self.key_id.as_bytes());
        structure[10..].copy_from_slice(&self.signature);
        format!(
            "{COMMENT_PREFIX}{}\n{}\n{TRUSTED_COMMENT_PREFIX}{}\n{}\n",
            self.untrusted_comment,
            encode_base64(&structure),
            self.trusted_comment,
            encode_base64(&self.global_signature)
        )
    }

    /// The id of the key that made the signature (unverified until [`verify`] succeeds).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Prehashed or legacy.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The trusted comment as written in the file (unverified until [`verify`] succeeds).
    pub fn trusted_comment(&self) -> &str {
        &self.trusted_comment
    }

    /// The unsigned comment; anyone can change it without breaking the signature.
    pub fn untrusted_comment(&self) -> &str {
        &self.untrusted_comment
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn sig_and_comment(signature: &[u8; 64], trusted_comment: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(64 + trusted_comment.len());
    message.extend_from_slice(signature);
    message.extend_from_slice(trusted_comment.as_bytes());
    message
}

impl SecretKey {
    /// Signs everything `data` yields (streamed through BLAKE2b-512, never held in memory) and
    /// returns the `.minisig` signature. The trusted comment is signed too; the untrusted one is
    /// not. Both must be one line of printable text (tabs allowed) of at most
    /// [`MAX_TRUSTED_COMMENT_LEN`] and [`MAX_UNTRUSTED_COMMENT_LEN`] bytes.
    pub fn sign<R: Read>(
        &self,
        data: R,
        trusted_comment: &str,
        untrusted_comment: &str,
    ) -> Result<Signature, Error> {
        check_comments(trusted_comment, untrusted_comment)?;
        let mut hasher = DataHasher::new();
        hasher.update_reader(data)?;
        self.sign_prehash(&hasher.finalize(), trusted_comment, untrusted_comment)
    }

    /// Signs data whose BLAKE2b-512 hash the caller computed with [`DataHasher`].
    pub fn sign_prehash(
        &self,
        prehash: &Prehash,
        trusted_comment: &str,
        untrusted_comment: &str,
    ) -> Result<Signature, Error> {
        check_comments(trusted_comment, untrusted_comment)?;
        let signature = self.signing_key().sign(prehash.as_bytes()).to_bytes();
        let global_signature = self
            .signing_key()
            .sign(&sig_and_comment(&signature, trusted_comment))
            .to_bytes();
        Ok(Signature {
            untrusted_comment: untrusted_comment.to_owned(),
            algorithm: SignatureAlgorithm::Prehashed,
            key_id: self.key_id(),
            signature,
            trusted_comment: trusted_comment.to_owned(),
            global_signature,
        })
    }
}

fn check_comments(trusted_comment: &str, untrusted_comment: &str) -> Result<(), Error> {
    check_comment(trusted_comment, MAX_TRUSTED_COMMENT_LEN).map_err(|problem| {
        Error::InvalidComment {
            which: CommentKind::Trusted,
            problem,
        }
    })?;
    check_comment(untrusted_comment, MAX_UNTRUSTED_COMMENT_LEN).map_err(|problem| {
        Error::InvalidComment {
            which: CommentKind::Untrusted,
            problem,
        }
    })
}

/// Verifies `signature` for the data `data` yields, as `minisign -V` does: the key id must be the
/// public key's ([`Error::KeyIdMismatch`]), the signature must match the data
/// ([`Error::BadSignature`]), and the global signature must match the trusted comment
/// ([`Error::BadGlobalSignature`]). Prehashed signatures stream the data; legacy (`minisign -l`)
/// signatures need it all in memory, as in minisign.
pub fn verify<R: Read>(
    public_key: &PublicKey,
    signature: &Signature,
    mut data: R,
) -> Result<VerifiedSignature, Error> {
    check_key_id(public_key, signature)?;
    match signature.algorithm {
        SignatureAlgorithm::Prehashed => {
            let mut hasher = DataHasher::new();
            hasher.update_reader(data)?;
            verify_prehash(public_key, signature, &hasher.finalize())
        }
        SignatureAlgorithm::Legacy => {
            let mut message = Vec::new();
            data.read_to_end(&mut message)?;
            verify_signed_message(public_key, signature, &message)
        }
    }
}

/// Verifies a prehashed signature against a BLAKE2b-512 hash computed with [`DataHasher`].
/// Legacy signatures give [`Error::LegacyNeedsData`].
pub fn verify_prehash(
    public_key: &PublicKey,
    signature: &Signature,
    prehash: &Prehash,
) -> Result<VerifiedSignature, Error> {
    check_key_id(public_key, signature)?;
    if signature.algorithm == SignatureAlgorithm::Legacy {
        return Err(Error::LegacyNeedsData);
    }
    verify_signed_message(public_key, signature, prehash.as_bytes())
}

fn check_key_id(public_key: &PublicKey, signature: &Signature) -> Result<(), Error> {
    if signature.key_id != public_key.key_id() {
        return Err(Error::KeyIdMismatch {
            signature_key_id: signature.key_id,
            public_key_id: public_key.key_id(),
        });
    }
    Ok(())
}

/// Checks both signatures; `message` is what the data signature covers.
fn verify_signed_message(
    public_key: &PublicKey,
    signature: &Signature,
    message: &[u8],
) -> Result<VerifiedSignature, Error> {
    let key = public_key.verifying_key();
    // Strict verification refuses weak keys and non-canonical signatures, as libsodium does.
    key.verify_strict(
        message,
        &ed25519_dalek::Signature::from_bytes(&signature.signature),
    )
    .map_err(|_| Error::BadSignature)?;
    key.verify_strict(
        &sig_and_comment(&signature.signature, &signature.trusted_comment),
        &ed25519_dalek::Signature::from_bytes(&signature.global_signature),
    )
    .map_err(|_| Error::BadGlobalSignature)?;
    Ok(VerifiedSignature {
        key_id: signature.key_id,
        algorithm: signature.algorithm,
        trusted_comment: signature.trusted_comment.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;
    use rand_core::OsRng;

    #[test]
    fn blake2b512_of_empty_input_is_the_reference_value() {
        // BLAKE2b-512("") from RFC 7693's reference implementation.
        let hash = DataHasher::new().finalize();
        assert_eq!(
            &hash.as_bytes()[..8],
            &[0x78, 0x6a, 0x02, 0xf7, 0x42, 0x01, 0x59, 0x03]
        );
    }

    #[test]
    fn sign_then_verify_round_trips_through_text() {
        let (public, secret) = generate(&mut OsRng);
        let data = vec![7u8; 200_000];
        let signature = secret
            .sign(&data[..], "file:x.msi\tversion:1.0.0", "made by a test")
            .unwrap();
        let text = signature.to_text();
        assert!(
            text.starts_with("untrusted comment: made by a test\nRU"),
            "{text}"
        );
        assert!(text.contains("\ntrusted comment: file:x.msi\tversion:1.0.0\n"));
        assert_eq!(text.lines().count(), 4);
        let parsed = Signature::parse(&text).unwrap();
        assert_eq!(parsed, signature);
        let verified = verify(&public, &parsed, &data[..]).unwrap();
        assert_eq!(verified.trusted_comment(), "file:x.msi\tversion:1.0.0");
        assert_eq!(verified.key_id(), public.key_id());
        assert_eq!(verified.algorithm(), SignatureAlgorithm::Prehashed);
        // CRLF line ends (a Windows checkout) verify the same.
        let crlf = Signature::parse(&text.replace('\n', "\r\n")).unwrap();
        verify(&public, &crlf, &data[..]).unwrap();
    }

    #[test]
    fn signatures_are_deterministic() {
        let (_, secret) = generate(&mut OsRng);
        let a = secret.sign(&b"same"[..], "t", "u").unwrap().to_text();
        let b = secret.sign(&b"same"[..], "t", "u").unwrap().to_text();
        assert_eq!(a, b);
    }

    #[test]
    fn prehash_api_matches_streaming_api() {
        let (public, secret) = generate(&mut OsRng);
        let mut hasher = DataHasher::new();
        hasher.write_all(b"part one, ").unwrap();
        hasher.write_all(b"part two").unwrap();
        let signature = secret.sign_prehash(&hasher.finalize(), "t", "u").unwrap();
        verify(&public, &signature, &b"part one, part two"[..]).unwrap();
    }

    #[test]
    fn comments_are_checked_before_signing() {
        let (_, secret) = generate(&mut OsRng);
        let err = secret.sign(&b""[..], "two\nlines", "u").unwrap_err();
        assert_eq!(
            err.to_string(),
            "trusted comment contains a line break or control character at byte 3; \
             a comment must be one line of printable text (tabs are allowed)"
        );
        let long = "x".repeat(MAX_TRUSTED_COMMENT_LEN + 1);
        assert!(matches!(
            secret.sign(&b""[..], &long, "u"),
            Err(Error::InvalidComment {
                which: CommentKind::Trusted,
                ..
            })
        ));
        let long = "x".repeat(MAX_UNTRUSTED_COMMENT_LEN + 1);
        assert!(matches!(
            secret.sign(&b""[..], "t", &long),
            Err(Error::InvalidComment {
                which: CommentKind::Untrusted,
                ..
            })
        ));
    }

    #[test]
    fn legacy_signatures_verify_and_tampering_is_named() {
        // Build a legacy (`Ed`) signature by hand: Ed25519 over the data itself.
        let (public, secret) = generate(&mut OsRng);
        let data = b"legacy data";
        let sig = secret.signing_key().sign(data).to_bytes();
        let global = secret
            .signing_key()
            .sign(&sig_and_comment(&sig, "old style"))
            .to_bytes();
        let legacy = Signature {
            untrusted_comment: "u".into(),
            algorithm: SignatureAlgorithm::Legacy,
            key_id: secret.key_id(),
            signature: sig,
            trusted_comment: "old style".into(),
            global_signature: global,
        };
        let parsed = Signature::parse(&legacy.to_text()).unwrap();
        assert_eq!(parsed.algorithm(), SignatureAlgorithm::Legacy);
        let verified = verify(&public, &parsed, &data[..]).unwrap();
        assert_eq!(verified.algorithm(), SignatureAlgorithm::Legacy);
        assert!(matches!(
            verify(&public, &parsed, &b"legacy dat4"[..]),
            Err(Error::BadSignature)
        ));
        let mut hasher = DataHasher::new();
        hasher.update(data);
        assert!(matches!(
            verify_prehash(&public, &parsed, &hasher.finalize()),
            Err(Error::LegacyNeedsData)
        ));
    }
}
