//! Sign stage: release keys, SHA-256 checksums, `SHA256SUMS`, and minisign signatures whose
//! trusted comment binds each file to one product, version and file name.
//!
//! * Keys are minisign key pairs ([`minisig`]). [`keygen`] writes `winrelease.pub` and an
//!   encrypted `winrelease.key`; [`load_release_key`] finds the key for a release: the
//!   `WINRELEASE_SECRET_KEY` environment variable (CI), a key file, or — only outside CI — a
//!   development key generated once under `target/winrelease/dev-key/`.
//! * Digests are computed in one pass over the bytes, SHA-256 for `SHA256SUMS` and the manifest
//!   together with the BLAKE2b-512 prehash minisign signs, either while a file is written
//!   ([`HashingWriter`]) or by streaming an existing file ([`hash_file`]).
//! * Every signature's trusted comment is a [`Binding`]:
//!   `winrelease product=<p> version=<v> file=<name> sha256=<hex>`. The comment is covered by
//!   minisign's global signature, so a valid signature cannot be moved to another file name,
//!   version or product without the verifier noticing.
//!
//! Secrets (passphrases, secret key text) are held in [`zeroize::Zeroizing`] buffers, have
//! redacting `Debug` impls, no `Display`, and never appear in an error message.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use minisig::{KdfParams, KeyId, Prehash, PublicKey, SecretKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// File name of the public key [`keygen`] writes.
pub const PUBLIC_KEY_FILE: &str = "winrelease.pub";
/// File name of the encrypted secret key [`keygen`] writes.
pub const SECRET_KEY_FILE: &str = "winrelease.key";
/// Environment variable holding the secret key file's text, or base64 of it (for CI secrets).
pub const ENV_SECRET_KEY: &str = "WINRELEASE_SECRET_KEY";
/// Environment variable holding the secret key's passphrase.
pub const ENV_PASSPHRASE: &str = "WINRELEASE_PASSPHRASE";
/// Sub-directory of `target/winrelease/` that holds the development key.
pub const DEV_KEY_DIR: &str = "dev-key";
/// Public half of the development key, inside [`DEV_KEY_DIR`].
pub const DEV_PUBLIC_KEY_FILE: &str = "winrelease-dev.pub";
/// Secret half of the development key (unencrypted), inside [`DEV_KEY_DIR`].
pub const DEV_SECRET_KEY_FILE: &str = "winrelease-dev.key";
/// Label on every development key file and on every signature made with it.
pub const DEV_KEY_LABEL: &str = "DEVELOPMENT KEY - not for production";
/// Name of the checksum file, in the format `sha256sum -c` reads.
pub const SHA256SUMS_FILE: &str = "SHA256SUMS";
/// What a signature file adds to the name of the file it signs.
pub const SIGNATURE_SUFFIX: &str = ".minisig";
/// First word of every trusted comment winrelease writes.
pub const BINDING_PREFIX: &str = "winrelease";

/// The signature file name for `file_name`: `<file_name>.minisig`, as `minisign -V` expects.
pub fn signature_file_name(file_name: &str) -> String {
    format!("{file_name}{SIGNATURE_SUFFIX}")
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// A secret key passphrase. Wiped from memory on drop; `Debug` prints `Passphrase(<redacted>)`
/// and there is deliberately no `Display`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase (typed at a prompt or read from [`ENV_PASSPHRASE`]).
    pub fn new(passphrase: String) -> Self {
        Passphrase(Zeroizing::new(passphrase))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Where a release key came from; shown to the user, never holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The [`ENV_SECRET_KEY`] environment variable.
    Environment,
    /// A secret key file given by path.
    File(PathBuf),
    /// The development key under `target/winrelease/dev-key/`.
    Development(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Environment => write!(f, "environment variable {ENV_SECRET_KEY}"),
            KeySource::File(path) => write!(f, "{}", path.display()),
            KeySource::Development(path) => write!(f, "{} ({DEV_KEY_LABEL})", path.display()),
        }
    }
}

/// Errors of key generation and key loading. No variant holds a passphrase or key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path} already exists; winrelease never overwrites a key\nfix: move the existing key pair away, or generate into another directory")]
    KeyExists { path: PathBuf },
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{source_name}: {problem}\nfix: {fix}")]
    Unusable {
        /// Where the key came from (a path or the variable's name).
        source_name: String,
        /// What is wrong, without any byte of the key.
        problem: String,
        fix: String,
    },
    #[error("the secret key from {source_name} is encrypted and no passphrase was given\nfix: set {ENV_PASSPHRASE} (in CI: from a secret) or enter the passphrase when asked")]
    PassphraseRequired { source_name: String },
    #[error("wrong passphrase for the secret key from {source_name}\nfix: check {ENV_PASSPHRASE}; it must be the passphrase given to `cargo xtask keygen`")]
    WrongPassphrase { source_name: String },
    #[error("{path} is inside the git work tree {work_tree} and not ignored by git, so the secret key could be committed\nfix: generate the key outside the repository (e.g. in ~/.winrelease), or add the file to .gitignore first")]
    InGitWorkTree { path: PathBuf, work_tree: PathBuf },
    #[error("no signing key is configured and CI=true, so the development key is not used\nfix: store the text of winrelease.key (or `base64 -w0 winrelease.key`) in a CI secret and expose it as {ENV_SECRET_KEY}, with its passphrase as {ENV_PASSPHRASE}; e.g. in GitHub Actions:\n  env:\n    {ENV_SECRET_KEY}: ${{{{ secrets.{ENV_SECRET_KEY} }}}}\n    {ENV_PASSPHRASE}: ${{{{ secrets.{ENV_PASSPHRASE} }}}}\n(create a key pair once with `cargo xtask keygen`)")]
    MissingInCi,
}

/// Says what is wrong with a key without repeating any of its bytes: base64 decoder messages
/// name the offending character, which would be a character of the secret.
fn describe_key_problem(err: &minisig::Error) -> String {
    match err {
        minisig::Error::Format {
            line,
            problem: minisig::FormatProblem::Base64 { .. },
            ..
        } => format!("line {line} is not valid base64"),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// keygen
// ---------------------------------------------------------------------------------------------

/// The two files [`keygen`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPaths {
    /// `winrelease.pub`, minisign public key format; publish it, commit it, give it to admins.
    pub public: PathBuf,
    /// `winrelease.key`, minisign encrypted secret key format, mode 0600.
    pub secret: PathBuf,
    /// The key id minisign prints, as it appears in every signature.
    pub key_id: KeyId,
}

/// Generates a release key pair in `dir` (created if missing): `winrelease.pub` and
/// `winrelease.key`, the secret key encrypted with `passphrase` using minisign's default
/// key derivation (scrypt, 1 GiB, a few seconds). Refuses to overwrite either file.
pub fn keygen(dir: &Path, passphrase: &Passphrase) -> Result<KeyPaths, KeyError> {
    keygen_with_kdf(dir, passphrase, KdfParams::minisign_default())
}

/// [`keygen`] with explicit key derivation cost ([`KdfParams::fast_for_tests`] in tests).
pub fn keygen_with_kdf(
    dir: &Path,
    passphrase: &Passphrase,
    kdf: KdfParams,
) -> Result<KeyPaths, KeyError> {
    let public = dir.join(PUBLIC_KEY_FILE);
    let secret = dir.join(SECRET_KEY_FILE);
    for path in [&secret, &public] {
        if path.exists() {
            return Err(KeyError::KeyExists { path: path.clone() });
        }
    }
    let created = !dir.exists();
    fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        context: "creating",
        path: dir.to_path_buf(),
        source,
    })?;
    if let Err(err) = check_not_tracked_by_git(&secret) {
        if created {
            let _ = fs::remove_dir(dir);
        }
        return Err(err);
    }
    let (public_key, secret_key) = minisig::generate(&mut minisig::OsRng);
    let secret_text = Zeroizing::new(
        secret_key
            .to_encrypted_file(passphrase.bytes(), kdf)
            .map_err(|err| KeyError::Unusable {
                source_name: "the passphrase".into(),
                problem: describe_key_problem(&err),
                fix: "choose a passphrase of 1-1023 bytes without line breaks".into(),
            })?,
    );
    write_new_private(&secret, secret_text.as_bytes())?;
    if let Err(err) = write_new_private(&public, public_key.to_file_text().as_bytes()) {
        let _ = fs::remove_file(&secret);
        return Err(err);
    }
    set_mode(&public, 0o644)?;
    Ok(KeyPaths {
        public,
        secret,
        key_id: public_key.key_id(),
    })
}

/// Refuses a secret key path that git would pick up: inside a work tree and not ignored.
fn check_not_tracked_by_git(secret: &Path) -> Result<(), KeyError> {
    let Some(dir) = secret.parent().and_then(|d| d.canonicalize().ok()) else {
        return Ok(());
    };
    let Ok(repo) = git2::Repository::discover(&dir) else {
        return Ok(());
    };
    let Some(work_tree) = repo.workdir().and_then(|w| w.canonicalize().ok()) else {
        return Ok(()); // a bare repository has no work tree to commit from
    };
    let candidate = dir.join(SECRET_KEY_FILE);
    let Ok(relative) = candidate.strip_prefix(&work_tree) else {
        return Ok(());
    };
    if repo.is_path_ignored(relative).unwrap_or(false) {
        return Ok(());
    }
    Err(KeyError::InGitWorkTree {
        path: secret.to_path_buf(),
        work_tree,
    })
}

/// Reads a public key file (`winrelease.pub`, or any minisign public key file or bare base64
/// key line), for `cargo xtask verify --pubkey FILE`.
pub fn load_public_key(path: &Path) -> Result<PublicKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
        context: "reading the public key",
        path: path.to_path_buf(),
        source,
    })?;
    PublicKey::parse(&text).map_err(|err| KeyError::Unusable {
        source_name: path.display().to_string(),
        problem: err.to_string(),
        fix: "give the winrelease.pub written by `cargo xtask keygen` (or a `minisign -G` public key)"
            .into(),
    })
}

/// Writes a file that must not exist yet, owner-only from its first byte on (tempfile creates
/// with 0600 on Unix), complete or not at all.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io_err = |context, source| KeyError::Io {
        context,
        path: path.to_path_buf(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix(".winrelease-key-")
        .tempfile_in(dir)
        .map_err(|e| io_err("creating a temporary file for", e))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| io_err("writing", e))?;
    file.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            KeyError::KeyExists {
                path: path.to_path_buf(),
            }
        } else {
            io_err("writing", e.error)
        }
    })?;
    set_mode(path, 0o600)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| KeyError::Io {
        context: "setting permissions of",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), KeyError> {
    // Windows: files under the user's profile or target/ inherit owner-only ACLs from the tree.
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Loading the release key
// ---------------------------------------------------------------------------------------------

/// How the caller (the CLI) asks for a key.
#[derive(Debug, Clone)]
pub struct KeySettings {
    /// A secret key file (`--key FILE`); used when [`ENV_SECRET_KEY`] is not set.
    pub key_file: Option<PathBuf>,
    /// A passphrase obtained by the caller (e.g. a prompt); takes precedence over
    /// [`ENV_PASSPHRASE`].
    pub passphrase: Option<Passphrase>,
    /// Where the development key lives: `target/winrelease/dev-key`.
    pub dev_key_dir: PathBuf,
}

impl KeySettings {
    /// No key file, no passphrase, the development key under `<out_dir>/dev-key`
    /// (`out_dir` = `Project::out_dir()`, i.e. `target/winrelease`).
    pub fn new(out_dir: &Path) -> Self {
        KeySettings {
            key_file: None,
            passphrase: None,
            dev_key_dir: out_dir.join(DEV_KEY_DIR),
        }
    }
}

/// The environment variables that configure signing, read once so tests can supply their own.
#[derive(Clone, Default)]
pub struct KeyEnvironment {
    secret_key: Option<Zeroizing<String>>,
    passphrase: Option<Passphrase>,
    ci: bool,
}

impl fmt::Debug for KeyEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEnvironment")
            .field("secret_key_set", &self.secret_key.is_some())
            .field("passphrase_set", &self.passphrase.is_some())
            .field("ci", &self.ci)
            .finish()
    }
}

impl KeyEnvironment {
    /// Reads [`ENV_SECRET_KEY`], [`ENV_PASSPHRASE`] and `CI` from the process environment.
    /// Empty values count as unset (GitHub Actions expands a missing secret to "").
    pub fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(Zeroizing::new)
                .filter(|v| !v.trim().is_empty())
        };
        let passphrase = var(ENV_PASSPHRASE).map(|p| Passphrase::new(strip_line_end(&p)));
        KeyEnvironment {
            secret_key: var(ENV_SECRET_KEY),
            passphrase,
            ci: std::env::var("CI").as_deref() == Ok("true"),
        }
    }

    /// An environment given explicitly: the secret key text (file text or base64 of it), the
    /// passphrase, and whether `CI=true`.
    pub fn new(secret_key: Option<String>, passphrase: Option<Passphrase>, ci: bool) -> Self {
        KeyEnvironment {
            secret_key: secret_key.map(Zeroizing::new),
            passphrase,
            ci,
        }
    }

    /// Whether a secret key was given ([`ENV_SECRET_KEY`]).
    pub fn has_secret_key(&self) -> bool {
        self.secret_key.is_some()
    }

    /// Whether `CI=true`.
    pub fn is_ci(&self) -> bool {
        self.ci
    }
}

/// A secret copied into a CI variable often gains a trailing newline; the passphrase itself
/// cannot contain one (minisign reads it as a line), so it is dropped.
fn strip_line_end(text: &str) -> String {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
        .to_owned()
}

/// The key a release is signed with.
#[derive(Clone)]
pub struct ReleaseKey {
    secret: SecretKey,
    source: KeySource,
}

impl fmt::Debug for ReleaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReleaseKey")
            .field("key_id", &self.secret.key_id())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ReleaseKey {
    /// A release key from an already loaded secret key.
    pub fn new(secret: SecretKey, source: KeySource) -> Self {
        ReleaseKey { secret, source }
    }

    /// The public key that verifies this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        self.secret.public_key()
    }

    /// The key id recorded in every signature.
    pub fn key_id(&self) -> KeyId {
        self.secret.key_id()
    }

    /// Where the key came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// True for the development key: the CLI must say that the release is not trustworthy.
    pub fn is_development(&self) -> bool {
        matches!(self.source, KeySource::Development(_))
    }

    /// Signs data whose digest was computed with [`HashingWriter`] or [`hash_file`], with
    /// `binding` as the trusted comment.
    pub fn sign(&self, digest: &FileDigest, binding: &Binding) -> Result<Signed, SignError> {
        if digest.sha256 != binding.sha256 {
            return Err(SignError::DigestMismatch {
                file: binding.file.clone(),
            });
        }
        let untrusted = if self.is_development() {
            format!("signed by winrelease with the {DEV_KEY_LABEL}")
        } else {
            format!("signed by winrelease, key {}", self.key_id())
        };
        let signature = self
            .secret
            .sign_prehash(&digest.prehash, &binding.to_comment(), &untrusted)
            .map_err(|source| SignError::Comment {
                file: binding.file.clone(),
                source,
            })?;
        Ok(Signed {
            text: signature.to_text(),
        })
    }
}

/// A finished `.minisig` file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signature file's content.
    pub text: String,
}

/// Finds the key to sign a release with, in this order:
/// 1. [`ENV_SECRET_KEY`] (secret key file text or base64 of it), passphrase from
///    `settings.passphrase` or [`ENV_PASSPHRASE`] when the key is encrypted;
/// 2. `settings.key_file`, same passphrase rules;
/// 3. unless `CI=true`: the development key in `settings.dev_key_dir`, generated on first use
///    (unencrypted, labelled [`DEV_KEY_LABEL`]); under `CI=true` a missing key is
///    [`KeyError::MissingInCi`].
pub fn load_release_key(
    settings: &KeySettings,
    env: &KeyEnvironment,
) -> Result<ReleaseKey, KeyError> {
    let passphrase = settings.passphrase.as_ref().or(env.passphrase.as_ref());
    if let Some(value) = &env.secret_key {
        let text = env_key_text(value)?;
        let secret = open_secret_key(&text, passphrase, ENV_SECRET_KEY)?;
        return Ok(ReleaseKey::new(secret, KeySource::Environment));
    }
    if let Some(path) = &settings.key_file {
        let text = read_secret_text(path)?;
        let secret = open_secret_key(&text, passphrase, &path.display().to_string())?;
        return Ok(ReleaseKey::new(secret, KeySource::File(path.clone())));
    }
    if env.ci {
        return Err(KeyError::MissingInCi);
    }
    development_key(&settings.dev_key_dir)
}

/// The text of a secret key file from the environment variable: the text itself, or base64.
fn env_key_text(value: &str) -> Result<Zeroizing<String>, KeyError> {
    let trimmed = value.trim();
    if trimmed.starts_with("untrusted comment:") {
        return Ok(Zeroizing::new(format!("{trimmed}\n")));
    }
    let compact: Zeroizing<String> =
        Zeroizing::new(trimmed.chars().filter(|c| !c.is_whitespace()).collect());
    let unusable = || KeyError::Unusable {
        source_name: ENV_SECRET_KEY.into(),
        problem: "is neither the text of a minisign secret key file nor base64 of one".into(),
        fix: "set it to the content of winrelease.key, or to `base64 -w0 winrelease.key`".into(),
    };
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| unusable())?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| unusable())?;
    if !text.trim_start().starts_with("untrusted comment:") {
        return Err(unusable());
    }
    Ok(Zeroizing::new(text.to_owned()))
}

fn read_secret_text(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|source| KeyError::Io {
        context: "reading the secret key",
        path: path.to_path_buf(),
        source,
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(KeyError::Unusable {
            source_name: path.display().to_string(),
            problem: "is not a text file, so not a minisign secret key".into(),
            fix: "point to the winrelease.key written by `cargo xtask keygen` (or `minisign -G`)"
                .into(),
        }),
    }
}

fn open_secret_key(
    text: &str,
    passphrase: Option<&Passphrase>,
    source_name: &str,
) -> Result<SecretKey, KeyError> {
    let unusable = |err: &minisig::Error| KeyError::Unusable {
        source_name: source_name.to_owned(),
        problem: describe_key_problem(err),
        fix: "use the winrelease.key written by `cargo xtask keygen` (or `minisign -G`)".into(),
    };
    let encrypted = SecretKey::file_is_encrypted(text).map_err(|e| unusable(&e))?;
    if !encrypted {
        return SecretKey::from_unencrypted_file(text).map_err(|e| unusable(&e));
    }
    let Some(passphrase) = passphrase else {
        return Err(KeyError::PassphraseRequired {
            source_name: source_name.to_owned(),
        });
    };
    SecretKey::from_encrypted_file(text, passphrase.bytes()).map_err(|err| match err {
        minisig::Error::WrongPassphrase => KeyError::WrongPassphrase {
            source_name: source_name.to_owned(),
        },
        other => unusable(&other),
    })
}

/// Loads the development key from `dir`, generating it on first use.
fn development_key(dir: &Path) -> Result<ReleaseKey, KeyError> {
    let secret_path = dir.join(DEV_SECRET_KEY_FILE);
    let public_path = dir.join(DEV_PUBLIC_KEY_FILE);
    let secret = if secret_path.exists() {
        let text = read_secret_text(&secret_path)?;
        SecretKey::from_unencrypted_file(&text).map_err(|err| KeyError::Unusable {
            source_name: secret_path.display().to_string(),
            problem: describe_key_problem(&err),
            fix: format!(
                "delete {} and run again to get a new development key",
                dir.display()
            ),
        })?
    } else {
        fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            context: "creating",
            path: dir.to_path_buf(),
            source,
        })?;
        let (_, secret) = minisig::generate(&mut minisig::OsRng);
        let text = labelled_key_text(&secret.to_unencrypted_file());
        match write_new_private(&secret_path, text.as_bytes()) {
            Ok(()) => secret,
            // Another run created it meanwhile: use that one.
            Err(KeyError::KeyExists { .. }) => return development_key(dir),
            Err(err) => return Err(err),
        }
    };
    let public_text = format!(
        "untrusted comment: {DEV_KEY_LABEL}, minisign public key {}\n{}\n",
        secret.key_id(),
        secret.public_key().to_base64()
    );
    if fs::read_to_string(&public_path).ok().as_deref() != Some(public_text.as_str()) {
        let mut tmp = tempfile::Builder::new()
            .prefix(".winrelease-key-")
            .tempfile_in(dir)
            .map_err(|source| KeyError::Io {
                context: "writing",
                path: public_path.clone(),
                source,
            })?;
        tmp.write_all(public_text.as_bytes())
            .map_err(|source| KeyError::Io {
                context: "writing",
                path: public_path.clone(),
                source,
            })?;
        tmp.persist(&public_path).map_err(|e| KeyError::Io {
            context: "writing",
            path: public_path.clone(),
            source: e.error,
        })?;
        set_mode(&public_path, 0o644)?;
    }
    Ok(ReleaseKey::new(secret, KeySource::Development(secret_path)))
}

/// The unencrypted key file with its untrusted comment replaced by the development label (the
/// comment line is not covered by the key's checksum).
fn labelled_key_text(text: &str) -> Zeroizing<String> {
    let key_line = text.lines().nth(1).unwrap_or_default();
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 64));
    out.push_str("untrusted comment: ");
    out.push_str(DEV_KEY_LABEL);
    out.push_str(" (unencrypted)\n");
    out.push_str(key_line);
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/// A SHA-256 digest; displayed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// SHA-256 of a byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, as `sha256sum` prints it.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses exactly 64 lowercase hex digits (the only form winrelease writes).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Sha256Digest(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// Size, SHA-256 and the BLAKE2b-512 prehash minisign signs, from one pass over the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: Sha256Digest,
    pub prehash: Prehash,
}

/// A writer that hashes everything written through it: wrap the file an artifact is written
/// to, and the digest is ready when the artifact is, without reading it back.
pub struct HashingWriter<W: Write> {
    inner: W,
    state: DigestState,
}

#[derive(Default)]
struct DigestState {
    size: u64,
    sha256: Sha256,
    blake2b: minisig::DataHasher,
}

impl DigestState {
    fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha256.update(bytes);
        self.blake2b.update(bytes);
    }

    /// Like `update`, but SHA-256 and BLAKE2b-512 run on two threads: each alone streams at
    /// about 1 GB/s here, one after the other at half that. Worth it for large chunks only.
    fn update_in_parallel(&mut self, bytes: &[u8]) {
        if bytes.len() < PARALLEL_HASH_MIN {
            return self.update(bytes);
        }
        self.size += bytes.len() as u64;
        let (sha256, blake2b) = (&mut self.sha256, &mut self.blake2b);
        std::thread::scope(|scope| {
            scope.spawn(|| blake2b.update(bytes));
            sha256.update(bytes);
        });
    }

    fn finish(self) -> FileDigest {
        FileDigest {
            size: self.size,
            sha256: Sha256Digest(self.sha256.finalize().into()),
            prehash: self.blake2b.finalize(),
        }
    }
}

impl<W: Write> HashingWriter<W> {
    /// Starts hashing what is written to `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            state: DigestState::default(),
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.state.size
    }

    /// Stops hashing; returns the writer (not flushed) and the digest of everything written.
    pub fn finish(self) -> (W, FileDigest) {
        (self.inner, self.state.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        // Only what the inner writer accepted is part of the file.
        self.state.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Smallest chunk hashed on two threads (below it, a thread costs more than it saves).
const PARALLEL_HASH_MIN: usize = 256 * 1024;

/// Digest of everything `reader` yields, streamed in 2 MiB chunks, the two hashes computed
/// side by side.
pub fn hash_reader<R: Read>(mut reader: R) -> io::Result<FileDigest> {
    let mut state = DigestState::default();
    let mut buffer = vec![0u8; 2 * 1024 * 1024];
    loop {
        match read_full(&mut reader, &mut buffer) {
            Ok(0) => return Ok(state.finish()),
            Ok(n) => state.update_in_parallel(&buffer[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Reads until `buffer` is full or the reader ends; returns how much was read.
fn read_full<R: Read>(reader: &mut R, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Digest of a file written by someone else (the exe by `go build`, the MSI by `msi-writer`),
/// streamed once.
pub fn hash_file(path: &Path) -> Result<FileDigest, SignError> {
    let file = fs::File::open(path).map_err(|source| SignError::Io {
        context: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    hash_reader(io::BufReader::new(file)).map_err(|source| SignError::Io {
        context: "reading",
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// SHA256SUMS
// ---------------------------------------------------------------------------------------------

/// The `SHA256SUMS` text for `entries`: `<hex>  <name>\n` per file, sorted by name (byte order),
/// which `sha256sum -c SHA256SUMS` checks. Names must be plain file names: no path separator,
/// backslash or line break (GNU sha256sum would escape those).
pub fn sha256sums_text(entries: &[(String, Sha256Digest)]) -> Result<String, SignError> {
    let mut sorted: Vec<&(String, Sha256Digest)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::new();
    for pair in sorted.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(SignError::BadFileName {
                name: pair[0].0.clone(),
                reason: "appears twice",
            });
        }
    }
    for (name, digest) in sorted {
        check_file_name(name).map_err(|reason| SignError::BadFileName {
            name: name.clone(),
            reason,
        })?;
        text.push_str(&format!("{digest}  {name}\n"));
    }
    Ok(text)
}

/// Parses a `SHA256SUMS` file in exactly the form [`sha256sums_text`] writes (text mode, two
/// spaces, sorted, unique, trailing newline). Returns `(name, digest)` pairs in file order.
pub fn parse_sha256sums(text: &str) -> Result<Vec<(String, Sha256Digest)>, String> {
    if text.is_empty() {
        return Err("is empty".into());
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err("does not end with a newline".into());
    };
    let mut entries: Vec<(String, Sha256Digest)> = Vec::new();
    for (index, line) in body.split('\n').enumerate() {
        let number = index + 1;
        let (hex, name) = line
            .split_once("  ")
            .ok_or_else(|| format!("line {number} is not `<sha256>  <file name>`"))?;
        let digest = Sha256Digest::from_hex(hex)
            .ok_or_else(|| format!("line {number} does not start with 64 lowercase hex digits"))?;
        check_file_name(name).map_err(|reason| format!("line {number}: file name {reason}"))?;
        if let Some((previous, _)) = entries.last() {
            if previous.as_bytes() >= name.as_bytes() {
                return Err(format!(
                    "line {number}: `{name}` is out of order or repeated"
                ));
            }
        }
        entries.push((name.to_owned(), digest));
    }
    Ok(entries)
}

/// Checks that `name` is a plain file name safe to join to a release folder and to list in
/// `SHA256SUMS`. Returns the reason when it is not.
pub fn check_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return Err("is `.` or `..`");
    }
    if name.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("contains a control character");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err("starts or ends with a space");
    }
    if name.contains(':') {
        return Err("contains `:` (not allowed in Windows file names)");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Trusted comment binding
// ---------------------------------------------------------------------------------------------

/// What a signature's trusted comment binds a file to:
/// `winrelease product=<p> version=<v> file=<name> sha256=<hex>`.
///
/// Values are percent-encoded where they contain `%`, `=`, whitespace or control characters
/// (`Hello Service` → `Hello%20Service`), so the comment stays one space-separated line that
/// `minisign -V` prints as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub product: String,
    pub version: String,
    pub file: String,
    pub sha256: Sha256Digest,
}

impl Binding {
    /// The trusted comment text.
    pub fn to_comment(&self) -> String {
        format!(
            "{BINDING_PREFIX} product={} version={} file={} sha256={}",
            encode_value(&self.product),
            encode_value(&self.version),
            encode_value(&self.file),
            self.sha256
        )
    }

    /// Parses a trusted comment written by [`Binding::to_comment`]; anything else (other
    /// fields, other order, bad escapes, a comment from another tool) is refused.
    pub fn parse(comment: &str) -> Result<Binding, String> {
        let mut words = comment.split(' ');
        if words.next() != Some(BINDING_PREFIX) {
            return Err(format!(
                "does not start with `{BINDING_PREFIX} ` (not a winrelease signature)"
            ));
        }
        let mut field = |key: &str| -> Result<String, String> {
            let word = words
                .next()
                .ok_or_else(|| format!("ends before the `{key}=` field"))?;
            let value = word
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or_else(|| format!("has `{word}` where `{key}=…` belongs"))?;
            decode_value(value).ok_or_else(|| format!("has a badly escaped `{key}` value"))
        };
        let product = field("product")?;
        let version = field("version")?;
        let file = field("file")?;
        let sha256 = field("sha256")?;
        if words.next().is_some() {
            return Err("has extra fields after `sha256=`".into());
        }
        let sha256 = Sha256Digest::from_hex(&sha256).ok_or_else(|| {
            "has a `sha256` value that is not 64 lowercase hex digits".to_string()
        })?;
        Ok(Binding {
            product,
            version,
            file,
            sha256,
        })
    }
}

fn needs_escape(c: char) -> bool {
    c == '%' || c == '=' || c.is_whitespace() || c.is_control()
}

fn encode_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Inverse of [`encode_value`]; `None` unless `value` is exactly what it would write.
fn decode_value(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = upper_hex_value(*bytes.get(i + 1)?)?;
            let lo = upper_hex_value(*bytes.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (encode_value(&decoded) == value).then_some(decoded)
}

fn upper_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Errors of hashing and signing artifacts.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot sign {file}: {source}\nfix: shorten the product name or version (minisign limits the trusted comment to one line of 8173 bytes)")]
    Comment {
        file: String,
        #[source]
        source: minisig::Error,
    },
    #[error("internal error: the digest given for {file} is not the one its binding names")]
    DigestMismatch { file: String },
    #[error("artifact name {name:?} {reason}\nfix: artifact names are plain file names without separators or line breaks")]
    BadFileName { name: String, reason: &'static str },
}

// ---------------------------------------------------------------------------------------------
// Authenticode (optional stage)
// ---------------------------------------------------------------------------------------------

/// The certificate and key an Authenticode signature is made with.
#[derive(Debug, Clone)]
pub enum AuthenticodeIdentity {
    /// A certificate chain file (PEM or DER, leaf first) and its private key file (PEM or DER,
    /// optionally encrypted with `passphrase`).
    CertAndKey {
        certs: PathBuf,
        key: PathBuf,
        passphrase: Option<Passphrase>,
    },
    /// A PKCS#12 (`.pfx`/`.p12`) file holding certificate chain and key.
    Pkcs12 {
        file: PathBuf,
        passphrase: Option<Passphrase>,
    },
}

/// Settings of the optional Authenticode stage (`osslsigncode sign`).
#[derive(Debug, Clone)]
pub struct AuthenticodeConfig {
    pub identity: AuthenticodeIdentity,
    /// Description Windows shows in the UAC prompt (`-n`), normally the product name.
    pub description: String,
    /// URL shown with the description (`-i`).
    pub url: Option<String>,
    /// RFC 3161 timestamp server (`-ts`). With one, signatures stay valid after the
    /// certificate expires, but the signed bytes change on every run (the token holds the
    /// server's time); without one, the signed file is reproducible.
    pub timestamp_url: Option<String>,
}

/// Errors of the Authenticode stage. Never contains a passphrase.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticodeError {
    #[error("`osslsigncode` was not found on PATH\nfix: install it (Debian/Ubuntu: `apt-get install osslsigncode`), or remove the Authenticode certificate from the configuration")]
    ToolMissing,
    #[error("osslsigncode {action} {path} failed (exit {status}):\n{output}")]
    Failed {
        action: &'static str,
        path: PathBuf,
        status: String,
        output: String,
    },
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Signs a PE file (exe) or an MSI with Authenticode via `osslsigncode`, writing the signed
/// file to `output` (which may be `input`; written to a temporary name and renamed).
///
/// The signing time is `signing_time` (Unix seconds; pass the commit time), so without a
/// timestamp server the same input, certificate and key give the same signed bytes (RSA
/// PKCS#1 v1.5 signatures are deterministic). Signing an exe changes the PE checksum field and
/// the security data directory entry, pads the file with zeros to a multiple of 8 bytes, and
/// appends the certificate table; `osslsigncode remove-signature` undoes all of it except the
/// checksum and the padding, so the unsigned build stays comparable byte for byte. Signing an
/// MSI adds a `\u{5}DigitalSignature` stream to the compound file.
///
/// Passphrases reach osslsigncode through a private temporary file (`-readpass`), never the
/// command line, which other users could read from the process list.
pub fn authenticode_sign(
    input: &Path,
    output: &Path,
    config: &AuthenticodeConfig,
    signing_time: i64,
) -> Result<(), AuthenticodeError> {
    let out_dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io_err = |context: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| AuthenticodeError::Io {
            context,
            path,
            source,
        }
    };
    let scratch = tempfile::Builder::new()
        .prefix(".winrelease-authenticode-")
        .tempdir_in(out_dir)
        .map_err(io_err("creating a scratch folder in", out_dir))?;
    let file_name = output.file_name().unwrap_or(std::ffi::OsStr::new("signed"));
    let partial = scratch.path().join(file_name);

    let mut command = std::process::Command::new("osslsigncode");
    command.arg("sign");
    let passphrase = match &config.identity {
        AuthenticodeIdentity::CertAndKey {
            certs,
            key,
            passphrase,
        } => {
            command.arg("-certs").arg(certs).arg("-key").arg(key);
            passphrase
        }
        AuthenticodeIdentity::Pkcs12 { file, passphrase } => {
            command.arg("-pkcs12").arg(file);
            passphrase
        }
    };
    if let Some(passphrase) = passphrase {
        // Inside the 0700 scratch folder and itself 0600; deleted when `scratch` is dropped.
        let pass_file = scratch.path().join("pass");
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&pass_file)
            .map_err(io_err("writing", &pass_file))?;
        set_file_private(&pass_file).map_err(io_err("protecting", &pass_file))?;
        file.write_all(passphrase.bytes())
            .map_err(io_err("writing", &pass_file))?;
        command.arg("-readpass").arg(&pass_file);
    }
    command
        .args(["-h", "sha256", "-n", &config.description])
        .arg("-time")
        .arg(signing_time.to_string());
    if let Some(url) = &config.url {
        command.arg("-i").arg(url);
    }
    if let Some(ts) = &config.timestamp_url {
        command.arg("-ts").arg(ts);
    }
    command.arg("-in").arg(input).arg("-out").arg(&partial);
    run_osslsigncode(command, "sign", input)?;
    fs::rename(&partial, output).map_err(io_err("moving the signed file to", output))
}

/// Checks an Authenticode signature with `osslsigncode verify`, trusting the certificates in
/// `ca_file`. Returns osslsigncode's report.
pub fn authenticode_verify(path: &Path, ca_file: &Path) -> Result<String, AuthenticodeError> {
    let mut command = std::process::Command::new("osslsigncode");
    command
        .arg("verify")
        .arg("-CAfile")
        .arg(ca_file)
        .arg("-in")
        .arg(path);
    run_osslsigncode(command, "verify", path)
}

fn run_osslsigncode(
    mut command: std::process::Command,
    action: &'static str,
    path: &Path,
) -> Result<String, AuthenticodeError> {
    let output = command.output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            AuthenticodeError::ToolMissing
        } else {
            AuthenticodeError::Io {
                context: "running osslsigncode for",
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(text)
    } else {
        Err(AuthenticodeError::Failed {
            action,
            path: path.to_path_buf(),
            status: output
                .status
                .code()
                .map_or("signal".to_string(), |c| c.to_string()),
            output: text.trim_end().to_string(),
        })
    }
}

#[cfg(unix)]
fn set_file_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_file_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_round_trips_and_escapes_separators() {
        let binding = Binding {
            product: "Hello Service 100%".into(),
            version: "1.4.1-dev.7+g1a2b3c4".into(),
            file: "a=b\tc.exe".into(),
            sha256: Sha256Digest([0xab; 32]),
        };
        let comment = binding.to_comment();
        assert_eq!(
            comment,
            format!(
                "winrelease product=Hello%20Service%20100%25 version=1.4.1-dev.7+g1a2b3c4 \
                 file=a%3Db%09c.exe sha256={}",
                "ab".repeat(32)
            )
        );
        assert_eq!(Binding::parse(&comment).unwrap(), binding);
    }

    #[test]
    fn binding_parse_refuses_other_shapes() {
        let good = Binding {
            product: "P".into(),
            version: "1.0.0".into(),
            file: "f".into(),
            sha256: Sha256Digest([0; 32]),
        }
        .to_comment();
        for bad in [
            "timestamp:1 file:f".to_string(),
            good.replace("version=", "versio="),
            format!("{good} extra=1"),
            good.replace("product=P", "product=%2"),
            good.replace("product=P", "product=%41"), // 'A' needs no escape: not canonical
            good.replace("product=P", "product=%c3%a9"), // lowercase hex
            good.replace(&"0".repeat(64), &"0".repeat(63)),
            good.replace(" file=f", ""),
        ] {
            assert!(Binding::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sums_are_sorted_and_parse_back() {
        let a = Sha256Digest::of(b"a");
        let b = Sha256Digest::of(b"b");
        let text = sha256sums_text(&[("b.zip".into(), b), ("a.exe".into(), a)]).unwrap();
        assert_eq!(text, format!("{a}  a.exe\n{b}  b.zip\n"));
        assert_eq!(
            parse_sha256sums(&text).unwrap(),
            vec![("a.exe".to_string(), a), ("b.zip".to_string(), b)]
        );
        assert!(parse_sha256sums(&format!("{b}  b.zip\n{a}  a.exe\n")).is_err());
        assert!(parse_sha256sums(&format!("{a} *a.exe\n")).is_err());
        assert!(sha256sums_text(&[("x/y".into(), a)]).is_err());
        assert!(sha256sums_text(&[("x".into(), a), ("x".into(), b)]).is_err());
    }

    #[test]
    fn hashing_writer_matches_one_shot_digest() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = HashingWriter::new(Vec::new());
        for chunk in data.chunks(7777) {
            writer.write_all(chunk).unwrap();
        }
        let (bytes, digest) = writer.finish();
        assert_eq!(bytes, data);
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.sha256, Sha256Digest::of(&data));
        assert_eq!(digest, hash_reader(&data[..]).unwrap());
        let mut blake = minisig::DataHasher::new();
        blake.update(&data);
        assert_eq!(digest.prehash, blake.finalize());
    }

    #[test]
    fn env_key_accepts_text_and_base64_and_hides_garbage() {
        let (_, secret) = minisig::generate(&mut minisig::OsRng);
        let text = secret.to_unencrypted_file();
        let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        for value in [text.to_string(), b64.clone(), format!("  {b64}\n")] {
            let env = KeyEnvironment::new(Some(value), None, true);
            let key = load_release_key(&KeySettings::new(Path::new("/nonexistent")), &env).unwrap();
            assert_eq!(key.key_id(), secret.key_id());
            assert_eq!(key.source(), &KeySource::Environment);
        }
        let env = KeyEnvironment::new(Some("s3cr3t-garbage".into()), None, true);
        let err = load_release_key(&KeySettings::new(Path::new("/nonexistent")), &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(ENV_SECRET_KEY), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
