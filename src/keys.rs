//! Release keys: minisign key pairs ([`minisig`]) and the signatures they make.
//!
//! [`keygen`] writes `winrelease.pub` and an encrypted `winrelease.key`; [`load_release_key`]
//! finds the key for a release in a [`KeyEnvironment`] the caller read from its environment
//! (`WINRELEASE_SECRET_KEY`, `WINRELEASE_PASSPHRASE`, `CI`), a key file, or — only outside
//! CI — a development key generated once under `target/winrelease/dev-key/`.
//! [`ReleaseKey::sign`] signs a [`FileDigest`] with a [`Binding`] as the trusted comment.
//!
//! *Invariant:* a passphrase or secret key never reaches `Debug`, `Display`, a log, an error
//! message or a file other than the key file: secrets are held in [`zeroize::Zeroizing`]
//! buffers with redacting `Debug` impls and no `Display`. This module reads no environment
//! variable; the caller passes the values in.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use minisig::{KdfParams, KeyId, PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::binding::Binding;
use crate::digest::FileDigest;
use crate::fsio::{set_mode, IoContext, IoError};

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
/// What a signature file adds to the name of the file it signs.
pub const SIGNATURE_SUFFIX: &str = ".minisig";

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

    pub(crate) fn bytes(&self) -> &[u8] {
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
    #[error(transparent)]
    Io(#[from] IoError),
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
    fs::create_dir_all(dir).at("creating", dir)?;
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
    set_mode(&public, 0o644).at("setting permissions of", &public)?;
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
    let text = fs::read_to_string(path).at("reading the public key", path)?;
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
    let mut file = tempfile::Builder::new()
        .prefix(".winrelease-key-")
        .tempfile_in(dir)
        .at("creating a temporary file for", path)?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .at("writing", path)?;
    file.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            KeyError::KeyExists {
                path: path.to_path_buf(),
            }
        } else {
            IoError::new("writing", path, e.error).into()
        }
    })?;
    // Windows: files under the user's profile or target/ inherit owner-only ACLs from the tree.
    Ok(set_mode(path, 0o600).at("setting permissions of", path)?)
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

/// The environment values that configure signing, as plain data: the caller (the CLI) reads
/// them once and passes them in, and tests supply their own.
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
    /// From the raw values of [`ENV_SECRET_KEY`], [`ENV_PASSPHRASE`] and `CI` (`None` when a
    /// variable is unset). Empty values count as unset (GitHub Actions expands a missing secret
    /// to ""), the passphrase loses one trailing line break, and only `CI=true` means CI.
    pub fn from_variables(
        secret_key: Option<String>,
        passphrase: Option<String>,
        ci: Option<&str>,
    ) -> Self {
        let set =
            |value: Option<String>| value.map(Zeroizing::new).filter(|v| !v.trim().is_empty());
        KeyEnvironment {
            secret_key: set(secret_key),
            passphrase: set(passphrase).map(|p| Passphrase::new(strip_line_end(&p))),
            ci: ci == Some("true"),
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

    /// Whether `CI=true`.
    pub fn is_ci(&self) -> bool {
        self.ci
    }

    /// Whether [`ENV_SECRET_KEY`] holds a key (which [`load_release_key`] then uses).
    pub fn has_secret_key(&self) -> bool {
        self.secret_key.is_some()
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

    /// Signs data whose digest was computed with [`HashingWriter`](crate::digest::HashingWriter)
    /// or [`hash_file`](crate::digest::hash_file), with
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
    let bytes = Zeroizing::new(fs::read(path).at("reading the secret key", path)?);
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

/// Loads the development key from `dir`, generating it on first use, and keeps its public
/// half next to it.
fn development_key(dir: &Path) -> Result<ReleaseKey, KeyError> {
    let secret_path = dir.join(DEV_SECRET_KEY_FILE);
    let secret = match dev_secret_key(dir, &secret_path)? {
        Some(secret) => secret,
        // Another run created it meanwhile: use that one.
        None => return development_key(dir),
    };
    write_dev_public_key(dir, &secret)?;
    Ok(ReleaseKey::new(secret, KeySource::Development(secret_path)))
}

/// The development secret key at `secret_path`, generated when missing; `None` when another
/// run wrote it between the check and the write.
fn dev_secret_key(dir: &Path, secret_path: &Path) -> Result<Option<SecretKey>, KeyError> {
    if secret_path.exists() {
        let text = read_secret_text(secret_path)?;
        let secret = SecretKey::from_unencrypted_file(&text).map_err(|err| KeyError::Unusable {
            source_name: secret_path.display().to_string(),
            problem: describe_key_problem(&err),
            fix: format!(
                "delete {} and run again to get a new development key",
                dir.display()
            ),
        })?;
        return Ok(Some(secret));
    }
    fs::create_dir_all(dir).at("creating", dir)?;
    let (_, secret) = minisig::generate(&mut minisig::OsRng);
    let text = labelled_key_text(&secret.to_unencrypted_file());
    match write_new_private(secret_path, text.as_bytes()) {
        Ok(()) => Ok(Some(secret)),
        Err(KeyError::KeyExists { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Writes (or rewrites, when it differs) the development key's labelled public key file.
fn write_dev_public_key(dir: &Path, secret: &SecretKey) -> Result<(), KeyError> {
    let public_path = dir.join(DEV_PUBLIC_KEY_FILE);
    let public_text = format!(
        "untrusted comment: {DEV_KEY_LABEL}, minisign public key {}\n{}\n",
        secret.key_id(),
        secret.public_key().to_base64()
    );
    if fs::read_to_string(&public_path).ok().as_deref() == Some(public_text.as_str()) {
        return Ok(());
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".winrelease-key-")
        .tempfile_in(dir)
        .at("writing", &public_path)?;
    tmp.write_all(public_text.as_bytes())
        .at("writing", &public_path)?;
    tmp.persist(&public_path)
        .map_err(|e| IoError::new("writing", &public_path, e.error))?;
    set_mode(&public_path, 0o644).at("setting permissions of", &public_path)?;
    Ok(())
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

/// Errors of signing artifacts.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot sign {file}: {source}\nfix: shorten the product name or version (minisign limits the trusted comment to one line of 8173 bytes)")]
    Comment {
        file: String,
        #[source]
        source: minisig::Error,
    },
    #[error("internal error: the digest given for {file} is not the one its binding names")]
    DigestMismatch { file: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_empty_count_as_unset_and_only_ci_true_is_ci() {
        let env = KeyEnvironment::from_variables(Some(" \n".into()), Some("".into()), Some("1"));
        assert!(!env.has_secret_key() && env.passphrase.is_none() && !env.is_ci());
        let env =
            KeyEnvironment::from_variables(Some("k".into()), Some("pw\r\n".into()), Some("true"));
        assert!(env.has_secret_key() && env.is_ci());
        assert_eq!(env.passphrase.unwrap().bytes(), b"pw");
        assert!(!KeyEnvironment::from_variables(None, None, None).is_ci());
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
