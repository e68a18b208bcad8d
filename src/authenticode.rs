//! Optional Authenticode signatures on the exe and the MSI, made with `osslsigncode`.
//!
//! [`AuthenticodeConfig::from_project`] turns the `[authenticode]` table and a passphrase the
//! caller read (from [`ENV_AUTHENTICODE_PASSPHRASE`]) into settings; [`sign`] signs a file with
//! the commit time as the signing time, so without a timestamp server signed files stay
//! reproducible; [`verify`] checks a signature against a CA file.
//!
//! *Invariant:* a passphrase never reaches a command line, an error or a log: it travels to
//! osslsigncode in an owner-only file inside a private scratch folder that is deleted after the
//! run, and [`Passphrase`]'s `Debug` is redacted.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Project;
use crate::fsio::{set_file_mode, IoContext, IoError};
use crate::keys::Passphrase;

/// Environment variable holding the Authenticode key's passphrase (read by the CLI).
pub const ENV_AUTHENTICODE_PASSPHRASE: &str = "WINRELEASE_AUTHENTICODE_PASSPHRASE";

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

impl AuthenticodeConfig {
    /// The settings for `project`'s `[authenticode]` table (paths relative to the workspace
    /// root; description and URL from the product), or `None` when it has none. `passphrase`
    /// unlocks the key or PKCS#12 file (the CLI reads it from [`ENV_AUTHENTICODE_PASSPHRASE`]).
    pub fn from_project(project: &Project, passphrase: Option<Passphrase>) -> Option<Self> {
        let settings = project.config.authenticode.as_ref()?;
        let path = |p: &PathBuf| project.root.join(p);
        let identity = match (&settings.pkcs12, &settings.certificate, &settings.key) {
            (Some(file), _, _) => AuthenticodeIdentity::Pkcs12 {
                file: path(file),
                passphrase,
            },
            (None, Some(certs), Some(key)) => AuthenticodeIdentity::CertAndKey {
                certs: path(certs),
                key: path(key),
                passphrase,
            },
            _ => return None, // refused by config validation
        };
        Some(AuthenticodeConfig {
            identity,
            description: project.config.product.clone(),
            url: project.config.help_url.clone(),
            timestamp_url: settings.timestamp_url.clone(),
        })
    }
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
    #[error(transparent)]
    Io(#[from] IoError),
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
pub fn sign(
    input: &Path,
    output: &Path,
    config: &AuthenticodeConfig,
    signing_time: i64,
) -> Result<(), AuthenticodeError> {
    let out_dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".winrelease-authenticode-")
        .tempdir_in(out_dir)
        .at("creating a scratch folder in", out_dir)?;
    let file_name = output.file_name().unwrap_or(std::ffi::OsStr::new("signed"));
    let partial = scratch.path().join(file_name);

    let mut command = Command::new("osslsigncode");
    command.arg("sign");
    let passphrase = identity_args(&mut command, &config.identity);
    if let Some(passphrase) = passphrase {
        let pass_file = write_pass_file(scratch.path(), passphrase)?;
        command.arg("-readpass").arg(pass_file);
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
    Ok(fs::rename(&partial, output).at("moving the signed file to", output)?)
}

/// Adds the certificate and key arguments for `identity`; returns its passphrase, if any.
fn identity_args<'a>(
    command: &mut Command,
    identity: &'a AuthenticodeIdentity,
) -> Option<&'a Passphrase> {
    match identity {
        AuthenticodeIdentity::CertAndKey {
            certs,
            key,
            passphrase,
        } => {
            command.arg("-certs").arg(certs).arg("-key").arg(key);
            passphrase.as_ref()
        }
        AuthenticodeIdentity::Pkcs12 { file, passphrase } => {
            command.arg("-pkcs12").arg(file);
            passphrase.as_ref()
        }
    }
}

/// Writes the passphrase to `pass` inside the 0700 scratch folder, itself 0600; it is deleted
/// with the folder.
fn write_pass_file(scratch: &Path, passphrase: &Passphrase) -> Result<PathBuf, IoError> {
    let pass_file = scratch.join("pass");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pass_file)
        .at("writing", &pass_file)?;
    set_file_mode(&file, 0o600).at("protecting", &pass_file)?;
    file.write_all(passphrase.bytes())
        .at("writing", &pass_file)?;
    Ok(pass_file)
}

/// Checks an Authenticode signature with `osslsigncode verify`, trusting the certificates in
/// `ca_file`. Returns osslsigncode's report.
pub fn verify(path: &Path, ca_file: &Path) -> Result<String, AuthenticodeError> {
    let mut command = Command::new("osslsigncode");
    command
        .arg("verify")
        .arg("-CAfile")
        .arg(ca_file)
        .arg("-in")
        .arg(path);
    run_osslsigncode(command, "verify", path)
}

fn run_osslsigncode(
    mut command: Command,
    action: &'static str,
    path: &Path,
) -> Result<String, AuthenticodeError> {
    let output = command.output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            AuthenticodeError::ToolMissing
        } else {
            IoError::new("running osslsigncode for", path, e).into()
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
