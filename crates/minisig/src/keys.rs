//! Key ids, public keys, secret keys and their file formats.

use std::fmt;
use std::str::FromStr;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::{decode_fixed, encode_base64, escape_id, Lines, COMMENT_PREFIX};
use crate::error::{Error, FileKind, FormatProblem};
use crate::kdf::{derive_stream, KdfParams};
use crate::MAX_PASSPHRASE_LEN;

/// Signature algorithm id of keys (and of legacy signatures).
pub(crate) const SIG_ALG: [u8; 2] = *b"Ed";
const KDF_SCRYPT: [u8; 2] = *b"Sc";
const KDF_NONE: [u8; 2] = [0, 0];
const CHK_BLAKE2B: [u8; 2] = *b"B2";

/// What minisign writes as the untrusted comment of secret key files, encrypted or not.
const SECRET_KEY_COMMENT: &str = "minisign encrypted secret key";

const KEY_ID_LEN: usize = 8;
const PUBLIC_KEY_LEN: usize = 32;
/// `Ed` ‖ key id ‖ public key.
const PUBLIC_KEY_STRUCT_LEN: usize = 2 + KEY_ID_LEN + PUBLIC_KEY_LEN;

// Layout of minisign's secret key structure (all offsets in bytes):
// sig_alg[2] kdf_alg[2] chk_alg[2] kdf_salt[32] opslimit[8, LE] memlimit[8, LE]
// then the part the passphrase encrypts: key id[8] ‖ seed[32] ‖ public key[32] ‖ checksum[32].
const SALT_AT: usize = 6;
const SALT_LEN: usize = 32;
const OPSLIMIT_AT: usize = SALT_AT + SALT_LEN;
const MEMLIMIT_AT: usize = OPSLIMIT_AT + 8;
const ENCRYPTED_AT: usize = MEMLIMIT_AT + 8;
const ENCRYPTED_LEN: usize = KEY_ID_LEN + 64 + 32;
const SECRET_KEY_STRUCT_LEN: usize = ENCRYPTED_AT + ENCRYPTED_LEN;
// Offsets inside the encrypted part.
const SEED_AT: usize = KEY_ID_LEN;
const KEYPAIR_PUBLIC_AT: usize = SEED_AT + 32;
const CHECKSUM_AT: usize = KEYPAIR_PUBLIC_AT + 32;

/// The 8-byte id minisign gives a key pair; every signature records the id of its key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// A key id from its bytes as stored in minisign files.
    pub fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        KeyId(bytes)
    }

    /// The bytes as stored in minisign files.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

/// Upper-case hex of the little-endian number, zero-padded to 16 digits: how minisign prints
/// key ids (`untrusted comment: minisign public key 3F2A…`).
impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A minisign public key: an Ed25519 verifying key and its key id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id)
            .field("base64", &self.to_base64())
            .finish()
    }
}

impl PublicKey {
    /// A public key from its parts.
    pub fn from_parts(key_id: KeyId, key: VerifyingKey) -> Self {
        PublicKey { key_id, key }
    }

    /// The key id signatures by this key carry.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Parses either a whole public key file (`untrusted comment: …` line, then the key line) or
    /// the bare base64 key line alone (what `minisign -P` takes). Surrounding whitespace of a bare
    /// key and a CRLF line end are ignored.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.starts_with(COMMENT_PREFIX.trim_end()) {
            Self::from_file_text(text)
        } else {
            Self::from_base64(text.trim())
        }
    }

    /// Parses a public key file: an untrusted comment line, then the base64 key line.
    pub fn from_file_text(text: &str) -> Result<Self, Error> {
        let lines = Lines::new(FileKind::PublicKey, text);
        lines.get_after_prefix(1, "the untrusted comment line", COMMENT_PREFIX)?;
        let key_line = lines.get(2, "the base64 public key line")?;
        let key = Self::decode_line(key_line, 2)?;
        lines.expect_end_after(2)?;
        Ok(key)
    }

    /// Parses the bare base64 public key (`RW…`, 56 characters).
    pub fn from_base64(line: &str) -> Result<Self, Error> {
        Self::decode_line(line, 1)
    }

    fn decode_line(line: &str, line_number: usize) -> Result<Self, Error> {
        let bytes = decode_fixed::<PUBLIC_KEY_STRUCT_LEN>(FileKind::PublicKey, line_number, line)?;
        let fail = |problem| Error::format(FileKind::PublicKey, line_number, problem);
        if bytes[..2] != SIG_ALG {
            return Err(fail(FormatProblem::UnsupportedAlgorithm {
                field: "signature algorithm",
                found: escape_id(&bytes[..2]),
                supported: "\"Ed\"",
            }));
        }
        let key_id = KeyId(bytes[2..2 + KEY_ID_LEN].try_into().expect("fixed slice"));
        let point: [u8; PUBLIC_KEY_LEN] = bytes[2 + KEY_ID_LEN..].try_into().expect("fixed slice");
        let key =
            VerifyingKey::from_bytes(&point).map_err(|_| fail(FormatProblem::InvalidPublicKey))?;
        Ok(PublicKey { key_id, key })
    }

    /// The bare base64 key line, as `minisign -P` takes it.
    pub fn to_base64(&self) -> String {
        let mut bytes = [0u8; PUBLIC_KEY_STRUCT_LEN];
        bytes[..2].copy_from_slice(&SIG_ALG);
        bytes[2..2 + KEY_ID_LEN].copy_from_slice(&self.key_id.0);
        bytes[2 + KEY_ID_LEN..].copy_from_slice(self.key.as_bytes());
        encode_base64(&bytes)
    }

    /// The public key file as `minisign -G` writes it.
    pub fn to_file_text(&self) -> String {
        format!(
            "{COMMENT_PREFIX}minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }
}

impl FromStr for PublicKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        PublicKey::parse(text)
    }
}

/// A minisign secret key: an Ed25519 signing key and its key id.
///
/// The signing key is wiped from memory when dropped (ed25519-dalek's `SigningKey` zeroizes
/// itself), and `Debug` shows only the key id.
#[derive(Clone)]
pub struct SecretKey {
    key_id: KeyId,
    signing_key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Generates a new key pair with a random key id, as `minisign -G` does.
pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> (PublicKey, SecretKey) {
    let mut key_id = [0u8; KEY_ID_LEN];
    rng.fill_bytes(&mut key_id);
    let secret = SecretKey {
        key_id: KeyId(key_id),
        signing_key: SigningKey::generate(rng),
    };
    (secret.public_key(), secret)
}

/// The decoded secret key structure; wiped on drop.
struct SecretKeyStruct(Zeroizing<[u8; SECRET_KEY_STRUCT_LEN]>);

impl SecretKeyStruct {
    fn parse(text: &str) -> Result<Self, Error> {
        let lines = Lines::new(FileKind::SecretKey, text);
        lines.get_after_prefix(1, "the untrusted comment line", COMMENT_PREFIX)?;
        let bytes = lines.decode_fixed::<SECRET_KEY_STRUCT_LEN>(2, "the base64 secret key line")?;
        lines.expect_end_after(2)?;
        let unsupported = |field, found: &[u8], supported| {
            Error::format(
                FileKind::SecretKey,
                2,
                FormatProblem::UnsupportedAlgorithm {
                    field,
                    found: escape_id(found),
                    supported,
                },
            )
        };
        if bytes[0..2] != SIG_ALG {
            return Err(unsupported("signature algorithm", &bytes[0..2], "\"Ed\""));
        }
        if bytes[4..6] != CHK_BLAKE2B {
            return Err(unsupported("checksum algorithm", &bytes[4..6], "\"B2\""));
        }
        if bytes[2..4] != KDF_SCRYPT && bytes[2..4] != KDF_NONE {
            return Err(unsupported(
                "key derivation algorithm",
                &bytes[2..4],
                "\"Sc\" (scrypt) or \"\\x00\\x00\" (unencrypted)",
            ));
        }
        Ok(SecretKeyStruct(bytes))
    }

    fn is_encrypted(&self) -> bool {
        self.0[2..4] == KDF_SCRYPT
    }

    fn kdf_limits(&self) -> (u64, u64) {
        let read = |at: usize| u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"));
        (read(OPSLIMIT_AT), read(MEMLIMIT_AT))
    }

    fn encrypted_part(&mut self) -> &mut [u8] {
        &mut self.0[ENCRYPTED_AT..]
    }

    fn xor_stream(&mut self, stream: &[u8; ENCRYPTED_LEN]) {
        for (byte, key) in self.encrypted_part().iter_mut().zip(stream) {
            *byte ^= key;
        }
    }

    /// minisign's checksum: BLAKE2b with a 32-byte output over sig_alg ‖ key id ‖ seed ‖ public key.
    fn compute_checksum(&self) -> [u8; 32] {
        let mut hasher = Blake2b::<U32>::new();
        hasher.update(&self.0[0..2]);
        hasher.update(&self.0[ENCRYPTED_AT..ENCRYPTED_AT + CHECKSUM_AT]);
        hasher.finalize().into()
    }

    fn stored_checksum(&self) -> &[u8] {
        &self.0[ENCRYPTED_AT + CHECKSUM_AT..]
    }

    /// The key, after checking that the stored public half belongs to the stored seed.
    fn into_secret_key(self) -> Result<SecretKey, Error> {
        let part = &self.0[ENCRYPTED_AT..];
        let key_id = KeyId(part[..KEY_ID_LEN].try_into().expect("fixed slice"));
        let seed = Zeroizing::new(
            <[u8; 32]>::try_from(&part[SEED_AT..KEYPAIR_PUBLIC_AT]).expect("32 bytes"),
        );
        let signing_key = SigningKey::from_bytes(&seed);
        if signing_key.verifying_key().as_bytes()[..] != part[KEYPAIR_PUBLIC_AT..CHECKSUM_AT] {
            return Err(Error::CorruptSecretKey {
                reason: "the stored public key does not belong to the stored secret key",
            });
        }
        Ok(SecretKey {
            key_id,
            signing_key,
        })
    }

    /// The structure for `key`, unencrypted, with a valid checksum.
    fn from_key(key: &SecretKey, kdf_alg: [u8; 2]) -> Self {
        let mut bytes = Zeroizing::new([0u8; SECRET_KEY_STRUCT_LEN]);
        bytes[0..2].copy_from_slice(&SIG_ALG);
        bytes[2..4].copy_from_slice(&kdf_alg);
        bytes[4..6].copy_from_slice(&CHK_BLAKE2B);
        let part = &mut bytes[ENCRYPTED_AT..];
        part[..KEY_ID_LEN].copy_from_slice(&key.key_id.0);
        let keypair = Zeroizing::new(key.signing_key.to_keypair_bytes());
        part[SEED_AT..CHECKSUM_AT].copy_from_slice(&keypair[..]);
        let mut structure = SecretKeyStruct(bytes);
        let checksum = structure.compute_checksum();
        structure.0[ENCRYPTED_AT + CHECKSUM_AT..].copy_from_slice(&checksum);
        structure
    }

    fn to_file_text(&self) -> Zeroizing<String> {
        let key_line = Zeroizing::new(encode_base64(&self.0[..]));
        // Sized up front so no partial copy of the key is left behind by a reallocation.
        let mut text = Zeroizing::new(String::with_capacity(
            COMMENT_PREFIX.len() + SECRET_KEY_COMMENT.len() + key_line.len() + 2,
        ));
        for part in [
            COMMENT_PREFIX,
            SECRET_KEY_COMMENT,
            "\n",
            key_line.as_str(),
            "\n",
        ] {
            text.push_str(part);
        }
        text
    }
}

impl SecretKey {
    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.signing_key.verifying_key(),
        }
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// Whether a secret key file is passphrase-protected (parses the file, derives nothing).
    pub fn file_is_encrypted(text: &str) -> Result<bool, Error> {
        Ok(SecretKeyStruct::parse(text)?.is_encrypted())
    }

    /// The key derivation limits stored in a secret key file, `None` when it is unencrypted
    /// (parses the file, derives nothing). Lets a caller see what loading will cost, or warn
    /// about a weakly protected key, before asking for the passphrase.
    pub fn file_kdf_params(text: &str) -> Result<Option<KdfParams>, Error> {
        let structure = SecretKeyStruct::parse(text)?;
        if !structure.is_encrypted() {
            return Ok(None);
        }
        let (opslimit, memlimit) = structure.kdf_limits();
        KdfParams::new(opslimit, memlimit).map(Some)
    }

    /// Loads a passphrase-protected secret key file written by `minisign -G` or
    /// [`SecretKey::to_encrypted_file`]. A wrong passphrase gives [`Error::WrongPassphrase`].
    ///
    /// Costs one scrypt derivation with the limits stored in the file (about 1 GiB of memory and
    /// a few seconds for minisign's defaults); limits beyond 2 GiB or 16 times minisign's default
    /// work are refused with [`Error::KdfParams`].
    pub fn from_encrypted_file(text: &str, passphrase: &[u8]) -> Result<Self, Error> {
        let mut structure = SecretKeyStruct::parse(text)?;
        if !structure.is_encrypted() {
            return Err(Error::KeyNotEncrypted);
        }
        let (opslimit, memlimit) = structure.kdf_limits();
        let params = KdfParams::new(opslimit, memlimit)?;
        let salt: [u8; SALT_LEN] = structure.0[SALT_AT..OPSLIMIT_AT]
            .try_into()
            .expect("fixed slice");
        let stream = derive_stream::<ENCRYPTED_LEN>(&params, passphrase, &salt)?;
        structure.xor_stream(&stream);
        if structure.compute_checksum()[..] != *structure.stored_checksum() {
            return Err(Error::WrongPassphrase);
        }
        structure.into_secret_key()
    }

    /// Loads an unencrypted secret key file, as written by `minisign -G -W` or
    /// [`SecretKey::to_unencrypted_file`].
    pub fn from_unencrypted_file(text: &str) -> Result<Self, Error> {
        let structure = SecretKeyStruct::parse(text)?;
        if structure.is_encrypted() {
            return Err(Error::PassphraseRequired);
        }
        // minisign 0.11 leaves the checksum of unencrypted keys all zero; a non-zero one must match.
        if structure.stored_checksum().iter().any(|&b| b != 0)
            && structure.compute_checksum()[..] != *structure.stored_checksum()
        {
            return Err(Error::CorruptSecretKey {
                reason: "the checksum does not match the key",
            });
        }
        structure.into_secret_key()
    }

    /// The secret key file, encrypted with `passphrase`, using the operating system's RNG for the
    /// salt. `minisign -S` opens it when given the same passphrase.
    ///
    /// The passphrase must be what minisign can read from a terminal line: not empty, at most
    /// [`MAX_PASSPHRASE_LEN`] bytes, and free of NUL, CR and LF.
    pub fn to_encrypted_file(&self, passphrase: &[u8], kdf: KdfParams) -> Result<String, Error> {
        self.to_encrypted_file_with_rng(passphrase, kdf, &mut rand_core::OsRng)
    }

    /// As [`SecretKey::to_encrypted_file`], with the salt drawn from `rng`.
    pub fn to_encrypted_file_with_rng<R: CryptoRng + RngCore>(
        &self,
        passphrase: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<String, Error> {
        check_passphrase(passphrase)?;
        let mut structure = SecretKeyStruct::from_key(self, KDF_SCRYPT);
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        structure.0[SALT_AT..OPSLIMIT_AT].copy_from_slice(&salt);
        structure.0[OPSLIMIT_AT..MEMLIMIT_AT].copy_from_slice(&kdf.opslimit().to_le_bytes());
        structure.0[MEMLIMIT_AT..ENCRYPTED_AT].copy_from_slice(&kdf.memlimit().to_le_bytes());
        let stream = derive_stream::<ENCRYPTED_LEN>(&kdf, passphrase, &salt)?;
        structure.xor_stream(&stream);
        // Encrypted: no longer secret, so the text may leave its wiping wrapper.
        Ok(structure.to_file_text().as_str().to_owned())
    }

    /// The secret key file without encryption (`minisign -G -W` format). Anyone who reads it can
    /// sign; the text is wiped from memory when the returned value is dropped.
    pub fn to_unencrypted_file(&self) -> Zeroizing<String> {
        SecretKeyStruct::from_key(self, KDF_NONE).to_file_text()
    }
}

fn check_passphrase(passphrase: &[u8]) -> Result<(), Error> {
    let reason = if passphrase.is_empty() {
        "it is empty; use to_unencrypted_file for a key without a passphrase"
    } else if passphrase.len() > MAX_PASSPHRASE_LEN {
        "it is longer than the 1023 bytes minisign reads"
    } else if passphrase
        .iter()
        .any(|b| matches!(b, b'\0' | b'\r' | b'\n'))
    {
        "it contains a NUL, CR or LF byte, which minisign cannot read from its input"
    } else {
        return Ok(());
    };
    Err(Error::UnusablePassphrase { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    const PASSPHRASE: &[u8] = b"correct horse battery staple";

    #[test]
    fn key_id_prints_like_minisign() {
        // minisign prints the little-endian u64 in upper-case hex.
        let id = KeyId::from_bytes([0x68, 0x2d, 0xc8, 0xba, 0x61, 0x6c, 0x9e, 0xa1]);
        assert_eq!(id.to_string(), "A19E6C61BAC82D68");
        assert_eq!(
            KeyId::from_bytes([1, 0, 0, 0, 0, 0, 0, 0]).to_string(),
            "0000000000000001"
        );
    }

    #[test]
    fn parses_a_public_key_file_written_by_minisign() {
        // Written by `minisign -G -W` (minisign 0.11).
        let file = "untrusted comment: minisign public key A19E6C61BAC82D68\n\
                    RWRoLci6YWyeoTvTrT6iK9dnGPe+YNVAgGdBeKdnhRdKcs+YOff2jXJ0\n";
        let key = PublicKey::parse(file).unwrap();
        assert_eq!(key.key_id().to_string(), "A19E6C61BAC82D68");
        assert_eq!(key.to_file_text(), file);
        let bare =
            PublicKey::parse("  RWRoLci6YWyeoTvTrT6iK9dnGPe+YNVAgGdBeKdnhRdKcs+YOff2jXJ0\r\n")
                .unwrap();
        assert_eq!(bare, key);
    }

    #[test]
    fn loads_an_unencrypted_key_written_by_minisign() {
        // The matching secret key of the test above; minisign 0.11 leaves its checksum zero.
        let file = "untrusted comment: minisign encrypted secret key\n\
            RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAaC3IumFsnqHUsqhTo8h2\
            OeEfdreSWZVfeLfxz1stHDVuOIkE5ewKlTvTrT6iK9dnGPe+YNVAgGdBeKdnhRdKcs+YOff2jXJ0AAAAAAAAAAAAAAAA\
            AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        assert!(!SecretKey::file_is_encrypted(file).unwrap());
        assert_eq!(SecretKey::file_kdf_params(file).unwrap(), None);
        let key = SecretKey::from_unencrypted_file(file).unwrap();
        assert_eq!(
            key.public_key().to_base64(),
            "RWRoLci6YWyeoTvTrT6iK9dnGPe+YNVAgGdBeKdnhRdKcs+YOff2jXJ0"
        );
        assert!(matches!(
            SecretKey::from_encrypted_file(file, PASSPHRASE),
            Err(Error::KeyNotEncrypted)
        ));
    }

    #[test]
    fn encrypted_round_trip_and_wrong_passphrase() {
        let (public, secret) = generate(&mut OsRng);
        let file = secret
            .to_encrypted_file(PASSPHRASE, KdfParams::fast_for_tests())
            .unwrap();
        assert!(SecretKey::file_is_encrypted(&file).unwrap());
        assert_eq!(
            SecretKey::file_kdf_params(&file).unwrap(),
            Some(KdfParams::fast_for_tests())
        );
        let loaded = SecretKey::from_encrypted_file(&file, PASSPHRASE).unwrap();
        assert_eq!(loaded.public_key(), public);
        let err =
            SecretKey::from_encrypted_file(&file, b"correct horse battery stapler").unwrap_err();
        assert!(matches!(err, Error::WrongPassphrase), "{err}");
        assert!(matches!(
            SecretKey::from_unencrypted_file(&file),
            Err(Error::PassphraseRequired)
        ));
    }

    #[test]
    fn unencrypted_round_trip_carries_a_checksum() {
        let (public, secret) = generate(&mut OsRng);
        let file = secret.to_unencrypted_file();
        assert_eq!(
            SecretKey::from_unencrypted_file(&file)
                .unwrap()
                .public_key(),
            public
        );
        // Flip one bit of the seed: the checksum (and the public half) no longer match.
        let structure = SecretKeyStruct::parse(&file).unwrap();
        let mut bytes = *structure.0;
        bytes[ENCRYPTED_AT + SEED_AT] ^= 1;
        let tampered = format!("{COMMENT_PREFIX}x\n{}\n", encode_base64(&bytes));
        let err = SecretKey::from_unencrypted_file(&tampered).unwrap_err();
        assert!(matches!(err, Error::CorruptSecretKey { .. }), "{err}");
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let (_, secret) = generate(&mut OsRng);
        let seed_hex: String = secret
            .signing_key
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let debug = format!("{secret:?}");
        assert!(debug.contains(&secret.key_id().to_string()));
        assert!(!debug.to_lowercase().contains(&seed_hex[..16]), "{debug}");
        assert!(!debug.contains(&format!("{:?}", &secret.signing_key.to_bytes()[..4])));

        let file = secret
            .to_encrypted_file(PASSPHRASE, KdfParams::fast_for_tests())
            .unwrap();
        let wrong = b"hunter2-but-longer";
        let err = SecretKey::from_encrypted_file(&file, wrong).unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        for bad in [&b""[..], b"line\nbreak", b"nul\0byte"] {
            let err = secret
                .to_encrypted_file(bad, KdfParams::fast_for_tests())
                .unwrap_err();
            assert!(matches!(err, Error::UnusablePassphrase { .. }), "{err}");
            assert!(!err.to_string().contains("break") && !err.to_string().contains("byte\0"));
        }
    }

    #[test]
    fn structural_errors_name_file_line_and_problem() {
        let (_, secret) = generate(&mut OsRng);
        let file = secret.to_unencrypted_file();
        let b64 = file.lines().nth(1).unwrap();

        let err = SecretKey::from_unencrypted_file(b64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret key file, line 1: must start with \"untrusted comment: \""
        );
        let err = SecretKey::from_unencrypted_file("untrusted comment: x\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("secret key file, line 2: missing"),
            "{err}"
        );
        let err =
            SecretKey::from_unencrypted_file(&format!("untrusted comment: x\n{}\n", &b64[4..]))
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("secret key file, line 2: decodes to 155 bytes, but 158"),
            "{err}"
        );

        let mut bytes = *SecretKeyStruct::parse(&file).unwrap().0;
        bytes[2..4].copy_from_slice(b"Ar");
        let err = SecretKey::from_unencrypted_file(&format!(
            "untrusted comment: x\n{}\n",
            encode_base64(&bytes)
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret key file, line 2: uses unsupported key derivation algorithm \"Ar\" \
             (supported: \"Sc\" (scrypt) or \"\\x00\\x00\" (unencrypted))"
        );

        let err = PublicKey::parse("RWRoLci6YWyeoTvTrT6iK9dnGPe+YNVAgGdBeKdnhRdKcs+YOff2jXJ")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("public key, line 1: is not valid base64"),
            "{err}"
        );
    }

    #[test]
    fn hostile_kdf_limits_in_a_file_are_refused() {
        let (_, secret) = generate(&mut OsRng);
        let file = secret
            .to_encrypted_file(PASSPHRASE, KdfParams::fast_for_tests())
            .unwrap();
        let mut bytes = *SecretKeyStruct::parse(&file).unwrap().0;
        bytes[MEMLIMIT_AT..ENCRYPTED_AT].copy_from_slice(&u64::MAX.to_le_bytes());
        bytes[OPSLIMIT_AT..MEMLIMIT_AT].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = SecretKey::from_encrypted_file(
            &format!("untrusted comment: x\n{}\n", encode_base64(&bytes)),
            PASSPHRASE,
        )
        .unwrap_err();
        assert!(matches!(err, Error::KdfParams { .. }), "{err}");
    }
}
