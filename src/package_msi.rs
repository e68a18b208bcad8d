//! Package stage: the project's configuration and the built exe → a per-machine x64 MSI.
//!
//! This module only translates; `msi-writer` knows Windows Installer and nothing of Go or git.
//! What the translation decides:
//! - the exe goes to `ProgramFiles64Folder\<product>` (`INSTALLDIR`), its File.Version read from
//!   the VERSIONINFO the build stage stamped into it;
//! - the default config, rendered from the template, goes to `CommonAppDataFolder\<product>`
//!   (`DATADIR`) as a never-overwritten, permanent component, so an admin's edits survive
//!   upgrades and uninstalls;
//! - each `site_settings` entry becomes a public property and, on a first install only, the exe
//!   is run with `seed_flag` to write the properties' values into that config;
//! - the ProductCode is derived from the UpgradeCode and the version: a new one per version
//!   (major upgrades), the same one for a rebuild of the same version.

use std::path::{Path, PathBuf};

use msi_writer as mw;

use crate::config::{Config, FirewallProfile, FirewallProtocol, Project, SiteSettingKind};
use crate::gobuild::BuiltExe;
use crate::service_config;
use crate::stamp::Versioned;

/// Directory key of the product's ProgramData folder, usable as `[DATADIR]` in arguments.
pub const DATA_DIR_KEY: &str = "DATADIR";

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the exe {path} has no usable VERSIONINFO ({source}); Windows Installer needs a file version to replace it on upgrades\nfix: build it with `cargo xtask build`, which stamps one")]
    ExeVersion {
        path: PathBuf,
        #[source]
        source: winversion::Error,
    },
    #[error("config template {path}: {message}")]
    Template { path: PathBuf, message: String },
    #[error("{0}")]
    Msi(#[from] mw::MsiError),
    #[error("the MSI {path} fails its lint:\n{findings}")]
    Lint { path: PathBuf, findings: String },
}

/// The written MSI and its identity.
#[derive(Debug, Clone)]
pub struct BuiltMsi {
    pub path: PathBuf,
    pub size: u64,
    pub product_code: String,
    pub upgrade_code: String,
    pub package_code: String,
    pub report: mw::PackageReport,
}

/// `<exe>_<version>_x64.msi`.
pub fn msi_file_name(exe_name: &str, version: &semver::Version) -> String {
    format!("{exe_name}_{version}_x64.msi")
}

/// The package model for this project and build; nothing is written.
pub fn package_model(
    project: &Project,
    versioned: &Versioned,
    exe: &BuiltExe,
) -> Result<mw::Package, PackageError> {
    let config = &project.config;
    let exe_version = exe_file_version(&exe.path)?;
    let template = ConfigTemplate::load(project)?;
    let default_config = template.render(&template.text)?;
    let exe_key = format!("{}.exe", config.exe_name);
    let (properties, seed_args) = site_properties(config, &template)?;
    let commands = seed_commands(
        config,
        &exe_key,
        &template.file_name,
        &default_config,
        seed_args,
    );
    let product = product(config, versioned)?;
    Ok(mw::Package {
        install_dir: mw::InstallDir {
            under: mw::KnownFolder::ProgramFiles64,
            path: vec![config.product.clone()],
            property: "INSTALLDIR".into(),
        },
        data_dirs: vec![mw::DataDir {
            key: DATA_DIR_KEY.into(),
            under: mw::KnownFolder::CommonAppData,
            path: vec![config.product.clone()],
            create: true,
        }],
        files: vec![
            mw::FileSpec {
                key: exe_key.clone(),
                name: exe_key.clone(),
                dir: mw::DirRef::install(),
                source: mw::Source::Path(exe.path.clone()),
                version: Some(exe_version),
                never_overwrite: false,
                permanent: false,
            },
            mw::FileSpec {
                key: template.file_name.clone(),
                name: template.file_name.clone(),
                dir: mw::DirRef::data(DATA_DIR_KEY),
                source: mw::Source::Bytes(default_config.into_bytes()),
                version: None,
                never_overwrite: true,
                permanent: true,
            },
        ],
        service: Some(service_spec(config, &exe_key)),
        event_log_source: Some(mw::EventLogSource {
            name: config.service.name.clone(),
            file: exe_key.clone(),
            message_file: mw::MessageFile::EventCreate,
        }),
        recovery: Some(mw::Recovery {
            restart_delay_ms: config.recovery.restart_delay_ms,
            reset_period_s: config.recovery.reset_period_s,
            on_non_crash_failures: true,
        }),
        firewall_rules: firewall_rules(config, &exe_key),
        properties,
        commands,
        arp: arp(config),
        // The host agent (agent/) passes it to roll back; people and Group Policy cannot.
        downgrade_property: Some("WINRELEASE_ALLOW_DOWNGRADE".into()),
        timestamp: u64::try_from(versioned.stamp.commit_time).unwrap_or(0),
        product,
    })
}

/// The exe's file version from the VERSIONINFO the build stage stamped into it.
fn exe_file_version(exe: &Path) -> Result<String, PackageError> {
    let bytes = std::fs::read(exe).map_err(|source| PackageError::Read {
        path: exe.to_path_buf(),
        source,
    })?;
    let info = winversion::read_from_pe(&bytes).map_err(|source| PackageError::ExeVersion {
        path: exe.to_path_buf(),
        source,
    })?;
    Ok(info.file_version_string())
}

/// The project's default config template and the values its placeholders take.
struct ConfigTemplate {
    path: PathBuf,
    /// The installed file's name (`config.json`).
    file_name: String,
    text: String,
    values: std::collections::BTreeMap<String, String>,
}

impl ConfigTemplate {
    fn load(project: &Project) -> Result<ConfigTemplate, PackageError> {
        let path = project.root.join(&project.config.config_template);
        let text = std::fs::read_to_string(&path).map_err(|source| PackageError::Read {
            path: path.clone(),
            source,
        })?;
        let file_name = path.file_name().map_or_else(
            || "config.json".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(ConfigTemplate {
            values: service_config::template_values(&project.config),
            path,
            file_name,
            text,
        })
    }

    /// Renders `text` (the template itself, or a setting's default) with the project's values.
    fn render(&self, text: &str) -> Result<String, PackageError> {
        service_config::render_template(text, &self.values).map_err(|e| PackageError::Template {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }
}

/// The MSI's product identity: name, publisher, version, codes derived from the UpgradeCode.
fn product(config: &Config, versioned: &Versioned) -> Result<mw::Product, PackageError> {
    let upgrade_code = mw::Guid::parse("upgrade_code", &config.upgrade_code)?;
    let v = versioned.msi_version;
    let version = mw::ProductVersion(v.major, v.minor, v.build);
    Ok(mw::Product {
        name: config.product.clone(),
        manufacturer: config.manufacturer.clone(),
        version,
        product_code: mw::Guid::product_code_for(&upgrade_code, version),
        upgrade_code,
        language: 1033,
        description: config.description.clone(),
    })
}

/// One public property per `site_settings` entry, and the seed arguments that write each into
/// the config (`--set "key=[PROPERTY]"`).
fn site_properties(
    config: &Config,
    template: &ConfigTemplate,
) -> Result<(Vec<mw::PublicProperty>, Vec<String>), PackageError> {
    let mut properties = Vec::new();
    let mut seed_args = Vec::new();
    for setting in &config.site_settings {
        properties.push(mw::PublicProperty {
            name: setting.property.clone(),
            value: template.render(&setting.default)?,
            kind: match setting.kind {
                SiteSettingKind::Text => mw::PropertyKind::Text,
                SiteSettingKind::Port => mw::PropertyKind::Port,
                SiteSettingKind::Integer => mw::PropertyKind::Integer,
            },
            site_settable: true,
        });
        seed_args.push(format!(
            "--set \"{}=[{}]\"",
            setting.config_key, setting.property
        ));
    }
    Ok((properties, seed_args))
}

/// The first-install command that seeds the config with the site's values, when the service
/// has a seed flag and there is something to seed.
fn seed_commands(
    config: &Config,
    exe_key: &str,
    config_name: &str,
    default_config: &str,
    mut seed_args: Vec<String>,
) -> Vec<mw::ExeCommand> {
    // The seed runs on every first install of the product, including a reinstall after an
    // uninstall that kept an edited config; the pristine guard leaves such a config alone.
    if let (Some(flag), false) = (&config.seed_pristine_flag, seed_args.is_empty()) {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(default_config.as_bytes());
        seed_args.insert(0, format!("{flag} {digest:x}"));
    }
    match (&config.seed_flag, seed_args.is_empty()) {
        (Some(flag), false) => vec![mw::ExeCommand {
            id: "SeedConfig".into(),
            file: exe_key.to_string(),
            arguments: format!(
                "{flag} \"[{DATA_DIR_KEY}]{config_name}\" {}",
                seed_args.join(" ")
            ),
            when: mw::CommandWhen::FirstInstall,
            ignore_exit_code: false,
        }],
        _ => Vec::new(),
    }
}

/// The Windows service the exe runs as.
fn service_spec(config: &Config, exe_key: &str) -> mw::ServiceSpec {
    mw::ServiceSpec {
        name: config.service.name.clone(),
        display_name: config.service.display_name.clone(),
        description: config.service.description.clone(),
        account: mw::ServiceAccount::from_name(&config.service.account),
        arguments: config.service.arguments.clone(),
        start: mw::StartType::Auto,
        error_control: mw::ErrorControl::Normal,
        exe: exe_key.to_string(),
        start_on_install: true,
        wait: true,
        dependencies: Vec::new(),
    }
}

/// Inbound firewall rules for the service exe.
fn firewall_rules(config: &Config, exe_key: &str) -> Vec<mw::FirewallRule> {
    config
        .firewall
        .iter()
        .map(|rule| mw::FirewallRule {
            name: rule.name.clone(),
            protocol: match rule.protocol {
                FirewallProtocol::Tcp => mw::Protocol::Tcp,
                FirewallProtocol::Udp => mw::Protocol::Udp,
            },
            ports: rule.ports.clone(),
            program: Some(exe_key.to_string()),
            profiles: rule
                .profiles
                .iter()
                .map(|p| match p {
                    FirewallProfile::Domain => mw::FirewallProfile::Domain,
                    FirewallProfile::Private => mw::FirewallProfile::Private,
                    FirewallProfile::Public => mw::FirewallProfile::Public,
                })
                .collect(),
            abort_on_failure: rule.abort_on_failure,
        })
        .collect()
}

/// Add/Remove Programs entries.
fn arp(config: &Config) -> mw::Arp {
    mw::Arp {
        no_modify: true,
        no_repair: false,
        help_link: config.help_url.clone(),
        about_link: config.help_url.clone(),
        contact: None,
        comments: (!config.description.is_empty()).then(|| config.description.clone()),
    }
}

/// Writes the MSI into `out_dir` and lints it; a package that fails the lint is removed.
pub fn package_msi(
    project: &Project,
    versioned: &Versioned,
    exe: &BuiltExe,
    out_dir: &Path,
) -> Result<BuiltMsi, PackageError> {
    let model = package_model(project, versioned, exe)?;
    let path = out_dir.join(msi_file_name(
        &project.config.exe_name,
        &versioned.stamp.version,
    ));
    let report = mw::write_package(&model, &path)?;
    let errors: Vec<String> = mw::lint(&path)?
        .into_iter()
        .filter(|f| f.severity == mw::Severity::Error)
        .map(|f| f.to_string())
        .collect();
    if !errors.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Err(PackageError::Lint {
            path,
            findings: errors.join("\n"),
        });
    }
    Ok(BuiltMsi {
        size: report.msi_bytes,
        product_code: report.product_code.to_string(),
        upgrade_code: model.product.upgrade_code.to_string(),
        package_code: report.package_code.to_string(),
        path,
        report,
    })
}
