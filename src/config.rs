//! Release settings: `[workspace.metadata.winrelease]` in the workspace's root `Cargo.toml`.
//!
//! Read with `cargo metadata` (so cargo, not us, parses TOML and resolves the workspace root),
//! then deserialized strictly: an unknown key or a wrong type is an error that names the key
//! and the file, and a missing required key says what to add.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where in `Cargo.toml` the settings live; used in every message that points the user there.
pub const METADATA_TABLE: &str = "[workspace.metadata.winrelease]";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not run `cargo metadata` for {manifest}: {source}\nfix: run winrelease from inside a cargo workspace (or pass --manifest-path)")]
    Metadata {
        manifest: PathBuf,
        #[source]
        source: cargo_metadata::Error,
    },
    #[error("{file}: no {METADATA_TABLE} table\nfix: add one; see the README section \"Configuration\" for every key")]
    Missing { file: PathBuf },
    #[error("{file}: {METADATA_TABLE}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole release configuration, as written in `Cargo.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Product name shown in Add/Remove Programs and used for install folders.
    pub product: String,
    pub manufacturer: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub help_url: Option<String>,
    /// Stable for the product's whole life: Windows Installer finds earlier versions by it.
    pub upgrade_code: String,
    /// The Go module's directory, relative to the workspace root.
    #[serde(default = "default_service_dir")]
    pub service_dir: PathBuf,
    /// The main package to build, relative to `service_dir` (as given to `go build`).
    #[serde(default = "default_go_package")]
    pub go_package: String,
    /// The executable's base name, without `.exe`.
    pub exe_name: String,
    /// Go package whose `version`, `commit`, `commitTime` and `dirty` string variables receive the
    /// stamp through `-ldflags -X` (GoReleaser's convention: `main`).
    #[serde(default = "default_version_package")]
    pub version_package: String,
    /// Linker flags, GoReleaser's `builds[].ldflags` (templates such as `{{.Version}}`); when
    /// set they replace the `version_package` default. `-s -w -buildid=` are always added.
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// Extra `go build` flags, one argument each (`-mod=vendor`); templates allowed.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Build tags; templates allowed.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `NAME=value` variables for the `go build`; templates allowed.
    #[serde(default)]
    pub env: Vec<String>,
    pub service: ServiceConfig,
    #[serde(default)]
    pub recovery: RecoveryConfig,
    #[serde(default)]
    pub firewall: Vec<FirewallConfig>,
    /// Template of the service's default config file, relative to the workspace root.
    #[serde(default = "default_config_template")]
    pub config_template: PathBuf,
    /// Release channel a non-snapshot release is published to.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Release store (a folder or a UNC share); defaults to `target/winrelease/store`.
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// Days from the commit time until a release manifest expires.
    #[serde(default = "default_manifest_expiry_days")]
    pub manifest_expiry_days: u32,
    /// Per-site settings: public MSI properties that seed the service's config on a first
    /// install (from the msiexec command line or a transform).
    #[serde(default)]
    pub site_settings: Vec<SiteSetting>,
    /// The service exe's option that writes settings into its config file, called on a first
    /// install as `<exe> <seed_flag> "<config path>" --set key=[PROPERTY]…`. Without it, site
    /// settings cannot be seeded and `site_settings` must be empty.
    #[serde(default)]
    pub seed_flag: Option<String>,
    /// The service exe's option that makes seeding conditional: `<flag> <sha256 hex>` means
    /// "change the file only if it still is the installer's pristine default". Without it, a
    /// reinstall after an uninstall (which keeps the config) would re-seed an edited config.
    #[serde(default)]
    pub seed_pristine_flag: Option<String>,
    /// Named sites, each with its `site_settings` values: `release` makes one signed transform
    /// (`.mst`) per site for Group Policy assignment.
    #[serde(default)]
    pub sites: Vec<crate::site_transform::SiteConfig>,
    /// Optional Authenticode signing of the exe (before packaging) and the MSI (after).
    #[serde(default)]
    pub authenticode: Option<AuthenticodeSettings>,
    /// More main packages, built and installed next to the service exe ([`crate::payload`]).
    #[serde(default)]
    pub binaries: Vec<crate::payload::BinaryConfig>,
    /// Extra files and folders (globs) under the install or data folder.
    #[serde(default)]
    pub files: Vec<crate::payload::FileConfig>,
    /// Folders created on install even when empty.
    #[serde(default)]
    pub folders: Vec<crate::payload::FolderConfig>,
}

/// Where the code-signing certificate is. Its passphrase never goes in Cargo.toml: it comes from
/// the `WINRELEASE_AUTHENTICODE_PASSPHRASE` environment variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticodeSettings {
    /// Certificate chain (PEM or DER, leaf first), with `key`; relative to the workspace root.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// Private key of `certificate` (PEM or DER, optionally encrypted).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Or a PKCS#12 file holding both.
    #[serde(default)]
    pub pkcs12: Option<PathBuf>,
    /// RFC 3161 timestamp server; with one, signed files differ on every run (the token holds
    /// the server's time), without one they are reproducible.
    #[serde(default)]
    pub timestamp_url: Option<String>,
}

/// A public property that seeds one key of the service's config on a first install.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSetting {
    /// MSI property name, upper case (`LISTEN_PORT`).
    pub property: String,
    /// The config key it sets (`listen_port`).
    pub config_key: String,
    /// What values are valid.
    #[serde(default)]
    pub kind: SiteSettingKind,
    /// Default value; `{{listen_port}}`-style placeholders of the config template are allowed.
    pub default: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteSettingKind {
    #[default]
    Text,
    Port,
    Integer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Windows service name (the SCM key); also the Event Log source.
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// Command-line arguments the service manager passes; a Windows Installer formatted string
    /// (`[DATADIR]` is the product's ProgramData folder, `[INSTALLDIR]` the program folder).
    #[serde(default = "default_service_arguments")]
    pub arguments: String,
    /// Account the service runs as; `LocalSystem` unless set.
    #[serde(default = "default_account")]
    pub account: String,
    /// TCP port the service listens on by default, if it has one: `{{listen_port}}` in the
    /// config template and in site settings' defaults.
    #[serde(default)]
    pub listen_port: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Delay before the service manager restarts a failed service.
    #[serde(default = "default_restart_delay_ms")]
    pub restart_delay_ms: u32,
    /// Seconds without failure after which the failure count resets.
    #[serde(default = "default_reset_period_s")]
    pub reset_period_s: u32,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            restart_delay_ms: default_restart_delay_ms(),
            reset_period_s: default_reset_period_s(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallConfig {
    pub name: String,
    pub protocol: FirewallProtocol,
    pub ports: Vec<u16>,
    #[serde(default = "default_profiles")]
    pub profiles: Vec<FirewallProfile>,
    /// Whether a failure to add the rule aborts (and rolls back) the install.
    #[serde(default = "default_true")]
    pub abort_on_failure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallProtocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallProfile {
    Domain,
    Private,
    Public,
}

fn default_service_dir() -> PathBuf {
    PathBuf::from("service")
}
fn default_go_package() -> String {
    ".".into()
}
fn default_version_package() -> String {
    "main".into()
}
fn default_config_template() -> PathBuf {
    PathBuf::from("templates/config.json")
}
fn default_channel() -> String {
    "stable".into()
}
fn default_service_arguments() -> String {
    "--service".into()
}
fn default_manifest_expiry_days() -> u32 {
    180
}
fn default_account() -> String {
    "LocalSystem".into()
}
fn default_restart_delay_ms() -> u32 {
    60_000
}
fn default_reset_period_s() -> u32 {
    86_400
}
fn default_profiles() -> Vec<FirewallProfile> {
    vec![FirewallProfile::Domain, FirewallProfile::Private]
}
fn default_true() -> bool {
    true
}

/// The configuration plus where it came from.
#[derive(Debug, Clone)]
pub struct Project {
    /// The workspace root: the directory of the root `Cargo.toml`.
    pub root: PathBuf,
    /// The root `Cargo.toml`, named in every configuration message.
    pub manifest: PathBuf,
    /// cargo's target directory (artifacts go under `<target>/winrelease/`).
    pub target_dir: PathBuf,
    pub config: Config,
}

impl Project {
    /// Loads the workspace around `manifest_path` (or the current directory's workspace).
    pub fn load(manifest_path: Option<&Path>) -> Result<Project, ConfigError> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
        }
        let metadata = cmd.exec().map_err(|source| ConfigError::Metadata {
            manifest: manifest_path
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("Cargo.toml")),
            source,
        })?;
        let root = PathBuf::from(metadata.workspace_root.as_std_path());
        let manifest = root.join("Cargo.toml");
        let value = metadata
            .workspace_metadata
            .get("winrelease")
            .cloned()
            .ok_or_else(|| ConfigError::Missing {
                file: manifest.clone(),
            })?;
        let config = Config::from_value(value, &manifest)?;
        Ok(Project {
            root,
            manifest,
            target_dir: metadata.target_directory.into_std_path_buf(),
            config,
        })
    }

    /// Absolute path of the Go module.
    pub fn service_dir(&self) -> PathBuf {
        self.root.join(&self.config.service_dir)
    }

    /// Where every generated artifact goes: `<target>/winrelease`.
    pub fn out_dir(&self) -> PathBuf {
        self.target_dir.join("winrelease")
    }

    /// `<target>/winrelease/<version>/`: every artifact of one version.
    pub fn version_dir(&self, version: &semver::Version) -> PathBuf {
        self.out_dir().join(version.to_string())
    }
}

impl Config {
    /// The build's stamping settings (`ldflags`, `flags`, `tags`, `env`).
    pub fn stamping(&self) -> crate::gobuild::Stamping<'_> {
        crate::gobuild::Stamping {
            ldflags: &self.ldflags,
            flags: &self.flags,
            tags: &self.tags,
            env: &self.env,
        }
    }

    /// Deserializes and validates the `winrelease` table. `file` only names the source in errors.
    pub fn from_value(value: serde_json::Value, file: &Path) -> Result<Config, ConfigError> {
        let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
            let key = err.path().to_string();
            let message = err.inner().to_string();
            // serde reports a missing field at its parent's path; name the full key instead.
            let (key, message) = match message.strip_prefix("missing field `") {
                Some(rest) => {
                    let field = rest.trim_end_matches('`');
                    let full = if key == "." {
                        field.to_string()
                    } else {
                        format!("{key}.{field}")
                    };
                    let message =
                        format!("is required but missing\nfix: add `{field} = …` to the table");
                    (full, message)
                }
                None => (key, message),
            };
            ConfigError::Invalid {
                file: file.to_path_buf(),
                key,
                message,
            }
        })?;
        config.validate(file)?;
        Ok(config)
    }

    fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.to_string(),
            message,
        };
        for (key, value) in [
            ("product", &self.product),
            ("manufacturer", &self.manufacturer),
            ("exe_name", &self.exe_name),
            ("service.name", &self.service.name),
            ("service.display_name", &self.service.display_name),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(key, "must not be empty".into()));
            }
        }
        parse_guid(&self.upgrade_code).map_err(|message| invalid("upgrade_code", message))?;
        crate::payload::check_exe_name(&self.exe_name).map_err(|m| invalid("exe_name", m))?;
        crate::payload::check_config(&self.binaries, &self.files, &self.folders)
            .map_err(|(key, m)| invalid(&key, m))?;
        let mut exe_names = vec![self.exe_name.to_lowercase()];
        for (i, binary) in self.binaries.iter().enumerate() {
            let name = binary.exe_name.to_lowercase();
            if exe_names.contains(&name) {
                return Err(invalid(
                    &format!("binaries[{i}].exe_name"),
                    format!(
                        "{:?} is already the name of another exe; give each binary its own",
                        binary.exe_name
                    ),
                ));
            }
            exe_names.push(name);
        }
        check_service_name(&self.service.name).map_err(|m| invalid("service.name", m))?;
        if self.service.listen_port == Some(0) {
            return Err(invalid(
                "service.listen_port",
                "port 0 is not a fixed port; choose 1-65535".into(),
            ));
        }
        for (i, rule) in self.firewall.iter().enumerate() {
            let key = format!("firewall[{i}]");
            if rule.name.trim().is_empty() || rule.name.contains('"') {
                return Err(invalid(
                    &format!("{key}.name"),
                    "must be non-empty and contain no double quote".into(),
                ));
            }
            if rule.ports.is_empty() || rule.ports.contains(&0) {
                return Err(invalid(
                    &format!("{key}.ports"),
                    "list one or more ports in 1-65535 (port 0 is not allowed)".into(),
                ));
            }
            if rule.profiles.is_empty() {
                return Err(invalid(
                    &format!("{key}.profiles"),
                    "list at least one of \"domain\", \"private\", \"public\"".into(),
                ));
            }
        }
        check_channel_name(&self.channel).map_err(|m| invalid("channel", m))?;
        self.stamping()
            .check()
            .map_err(|e| invalid(&e.key, e.message))?;
        if let Some(a) = &self.authenticode {
            let pair = a.certificate.is_some() && a.key.is_some();
            if pair == a.pkcs12.is_some() || (a.certificate.is_some() != a.key.is_some()) {
                return Err(invalid(
                    "authenticode",
                    "give either `certificate` and `key`, or `pkcs12`".into(),
                ));
            }
        }
        if !self.site_settings.is_empty() && self.config_template.as_os_str().is_empty() {
            return Err(invalid(
                "site_settings",
                "seed the service's config file, and this service has none (`config_template = \"\"`)\nfix: name its config template, or remove `site_settings`".into(),
            ));
        }
        if !self.site_settings.is_empty() && self.seed_flag.is_none() {
            return Err(invalid(
                "site_settings",
                "needs `seed_flag`: the service option that writes settings into its config (e.g. \"--seed-config\")".into(),
            ));
        }
        for (i, setting) in self.site_settings.iter().enumerate() {
            let ok = !setting.property.is_empty()
                && setting
                    .property
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && setting
                    .property
                    .starts_with(|c: char| c.is_ascii_uppercase());
            if !ok {
                return Err(invalid(
                    &format!("site_settings[{i}].property"),
                    format!("{:?} must be an upper-case identifier (A-Z, 0-9, _), as Windows Installer passes only upper-case properties to the installing service", setting.property),
                ));
            }
        }
        Ok(())
    }
}

/// Parses a GUID written as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, with or without braces.
pub fn parse_guid(text: &str) -> Result<uuid::Uuid, String> {
    let bare = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    if bare.len() != 36 {
        return Err(format!(
            "{text:?} is not a GUID; write it as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX (generate one once with `uuidgen` and never change it)"
        ));
    }
    uuid::Uuid::parse_str(bare).map_err(|e| {
        format!("{text:?} is not a GUID ({e}); write it as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX")
    })
}

/// Windows service names: 1-256 characters, no `/` or `\`, no control characters. We also refuse
/// spaces and quotes, which break the unquoted command lines of `sc.exe` custom actions.
pub fn check_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 256 {
        return Err("must be 1-256 characters".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '"') || c.is_control())
    {
        return Err(format!(
            "{name:?} contains {bad:?}; the Service Control Manager refuses '/' and '\\' in service names, and '\"' cannot be quoted on sc.exe's command line"
        ));
    }
    if name.trim() != name {
        return Err(format!("{name:?} starts or ends with a space"));
    }
    Ok(())
}

/// Channel names become file names on a share: keep them to a safe, portable set.
pub fn check_channel_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid channel name; use 1-64 lowercase letters, digits or '-' (e.g. \"stable\", \"beta\")"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> serde_json::Value {
        json!({
            "product": "Hello Service",
            "manufacturer": "Example Corp",
            "upgrade_code": "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
            "exe_name": "hellosvc",
            "service": {"name": "HelloSvc", "display_name": "Hello Service", "listen_port": 8080}
        })
    }

    fn error_of(value: serde_json::Value) -> String {
        Config::from_value(value, Path::new("/repo/Cargo.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = Config::from_value(minimal(), Path::new("Cargo.toml")).unwrap();
        assert_eq!(c.service.account, "LocalSystem");
        assert_eq!(c.service_dir, PathBuf::from("service"));
        assert_eq!(c.version_package, "main");
        assert_eq!(c.channel, "stable");
        assert_eq!(c.recovery.restart_delay_ms, 60_000);
        assert!(c.firewall.is_empty());
        assert!(
            c.ldflags.is_empty() && c.flags.is_empty() && c.tags.is_empty() && c.env.is_empty()
        );
    }

    #[test]
    fn stamping_templates_are_checked_when_the_config_is_read() {
        let mut v = minimal();
        v["ldflags"] = json!(["-s -w", "-X main.version={{.Verison}}"]);
        let e = error_of(v);
        assert!(
            e.ends_with(
                "key `ldflags[1]`: unknown template field {{.Verison}}; did you mean {{.Version}}?"
            ),
            "{e}"
        );
        assert!(e.contains("/repo/Cargo.toml"), "{e}");
        let mut v = minimal();
        v["tags"] = json!(["netgo", "{{.Version"]);
        assert!(error_of(v).contains("key `tags[1]`: malformed template"));
        let mut v = minimal();
        v["env"] = json!(["GOARCH=arm64"]);
        assert!(error_of(v).contains("key `env[0]`: GOARCH is set by winrelease"));
        let mut v = minimal();
        v["ldflags"] = json!("-s -w");
        let e = error_of(v);
        assert!(e.contains("key `ldflags`: invalid type: string"), "{e}");
        let mut v = minimal();
        v["flags"] = json!(["-mod=vendor"]);
        v["ldflags"] = json!(["-X main.version={{ .Version }} -X main.by={{.Env.USER}}"]);
        assert!(Config::from_value(v, Path::new("Cargo.toml")).is_ok());
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let mut v = minimal();
        v["service"]["listen_prot"] = json!(1);
        let e = error_of(v);
        assert!(e.contains("/repo/Cargo.toml"), "{e}");
        assert!(e.contains("service"), "{e}");
        assert!(e.contains("unknown field `listen_prot`"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let mut v = minimal();
        v["service"]["listen_port"] = json!("8080");
        let e = error_of(v);
        assert!(e.contains("key `service.listen_port`"), "{e}");
        assert!(e.contains("invalid type"), "{e}");
    }

    #[test]
    fn missing_required_key_says_what_to_add() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("upgrade_code");
        let e = error_of(v);
        assert!(e.contains("key `upgrade_code`"), "{e}");
        assert!(e.contains("add `upgrade_code = …`"), "{e}");
        let mut v = minimal();
        v["service"].as_object_mut().unwrap().remove("name");
        let e = error_of(v);
        assert!(e.contains("key `service.name`"), "{e}");
    }

    #[test]
    fn invalid_values_are_refused_with_the_fix() {
        let mut v = minimal();
        v["upgrade_code"] = json!("not-a-guid");
        assert!(error_of(v).contains("is not a GUID"));
        let mut v = minimal();
        v["service"]["listen_port"] = json!(0);
        assert!(error_of(v).contains("port 0"));
        let mut v = minimal();
        v["service"]["name"] = json!("Hello/Svc");
        assert!(error_of(v).contains("refuses '/'"));
        let mut v = minimal();
        v["service"]["name"] = json!("Hello Svc-2 · Zürich");
        v["exe_name"] = json!("hello-svc 2");
        Config::from_value(v, Path::new("Cargo.toml")).expect("names as people write them");
        let mut v = minimal();
        v["binaries"] = json!([{"go_package": "./cmd/x", "exe_name": "HelloSvc"}]);
        v["exe_name"] = json!("hellosvc");
        assert!(error_of(v).contains("already the name of another exe"));
        let mut v = minimal();
        v["config_template"] = json!("");
        v["seed_flag"] = json!("--seed");
        v["site_settings"] = json!([{"property": "P", "config_key": "p", "default": "1"}]);
        assert!(error_of(v).contains("this service has none"));
        let mut v = minimal();
        v["exe_name"] = json!("hello.exe");
        assert!(error_of(v).contains("must not end in .exe"));
        let mut v = minimal();
        v["channel"] = json!("Stable/1");
        assert!(error_of(v).contains("not a valid channel name"));
        let mut v = minimal();
        v["firewall"] = json!([{"name": "x", "protocol": "tcp", "ports": [0]}]);
        assert!(error_of(v).contains("key `firewall[0].ports`"));
        let mut v = minimal();
        v["firewall"] = json!([{"name": "x", "protocol": "icmp", "ports": [1]}]);
        assert!(error_of(v).contains("firewall[0].protocol"));
    }

    #[test]
    fn guid_accepts_braces_and_refuses_garbage() {
        assert!(parse_guid("{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}").is_ok());
        assert!(parse_guid("6B0E1F4C3C2D4E7A9B1F2A5C8D9E0F11").is_err());
        assert!(parse_guid("6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0FZZ").is_err());
    }
}
