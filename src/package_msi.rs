//! Package stage: the project's configuration and the built exe → a per-machine x64 MSI.
//!
//! This module only translates; `msi-writer` knows Windows Installer and nothing of Go or git.
//! What the translation decides:
//! - every exe goes to `ProgramFiles64Folder\<product>` (`INSTALLDIR`), its File.Version read
//!   from the VERSIONINFO the build stage stamped into it; the first is the service;
//! - the default config ([`DefaultConfig`]), when the service has one, goes to
//!   `CommonAppDataFolder\<product>` (`DATADIR`) as a never-overwritten, permanent component, so
//!   an admin's edits survive upgrades and uninstalls;
//! - the extra files and empty folders of the [`crate::payload`] go where it says, `keep` ones
//!   never overwritten and permanent like the config;
//! - File and Component keys are derived from the installed names
//!   ([`mw::derive_identifier`]): any name people choose works, and keys stay the same from
//!   release to release;
//! - each `site_settings` entry becomes a public property and, on a first install only, the exe
//!   is run with `seed_flag` to write the properties' values into that config;
//! - the ProductCode is derived from the UpgradeCode and the version: a new one per version
//!   (major upgrades), the same one for a rebuild of the same version.

use std::path::{Path, PathBuf};

use msi_writer as mw;

use crate::config::{Config, FirewallProfile, FirewallProtocol, Project, SiteSettingKind};
use crate::gobuild::BuiltExe;
use crate::payload::{FileSet, Location};
use crate::service_config::{self, DefaultConfig};
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

/// The package model for this project and its file set; nothing is written.
pub fn package_model(
    project: &Project,
    versioned: &Versioned,
    set: FileSet<'_>,
) -> Result<mw::Package, PackageError> {
    let config = &project.config;
    let exe_key = exe_key(&set.exes.service);
    let (properties, seed_args) = site_properties(project)?;
    let commands = match set.config {
        Some(default_config) => seed_commands(config, &exe_key, default_config, seed_args),
        None => Vec::new(),
    };
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
        files: files(set)?,
        empty_dirs: set
            .payload
            .folders
            .iter()
            .map(|f| dir_ref(f.location, &f.path))
            .collect(),
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

/// The File and Component key of an exe: its installed name, made an identifier if needed.
fn exe_key(exe: &BuiltExe) -> String {
    mw::derive_identifier(&format!("{}.exe", exe.exe_name), 72)
}

/// The payload files: every exe in the program folder, the default config (never overwritten,
/// permanent) in the data folder, then the extra files where the configuration puts them.
fn files(set: FileSet<'_>) -> Result<Vec<mw::FileSpec>, PackageError> {
    let mut files = Vec::new();
    for exe in set.exes.all() {
        files.push(mw::FileSpec {
            key: exe_key(exe),
            name: format!("{}.exe", exe.exe_name),
            dir: mw::DirRef::install(),
            source: mw::Source::Path(exe.path.clone()),
            version: Some(exe_file_version(&exe.path)?),
            never_overwrite: false,
            permanent: false,
        });
    }
    if let Some(config) = set.config {
        files.push(mw::FileSpec {
            key: mw::derive_identifier(&config.file_name, 72),
            name: config.file_name.clone(),
            dir: mw::DirRef::data(DATA_DIR_KEY),
            source: mw::Source::Bytes(config.text.clone().into_bytes()),
            version: None,
            never_overwrite: true,
            permanent: true,
        });
    }
    for file in &set.payload.files {
        let place = format!("{}.{}", file.location.name(), file.relative_path());
        files.push(mw::FileSpec {
            key: mw::derive_identifier(&place, 72),
            name: file.name.clone(),
            dir: dir_ref(file.location, &file.dir),
            source: mw::Source::Path(file.source.clone()),
            version: None,
            never_overwrite: file.keep,
            permanent: file.keep,
        });
    }
    Ok(files)
}

/// The MSI folder of a payload location and the folders below it.
fn dir_ref(location: Location, sub: &[String]) -> mw::DirRef {
    mw::DirRef {
        base: match location {
            Location::Install => mw::DirBase::Install,
            Location::Data => mw::DirBase::Data(DATA_DIR_KEY.into()),
        },
        sub: sub.to_vec(),
    }
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

/// One public property per `site_settings` entry (its default rendered like the config
/// template), and the seed arguments that write each into the config (`--set "key=[PROPERTY]"`).
fn site_properties(
    project: &Project,
) -> Result<(Vec<mw::PublicProperty>, Vec<String>), PackageError> {
    let config = &project.config;
    let values = service_config::template_values(config);
    let mut properties = Vec::new();
    let mut seed_args = Vec::new();
    for (i, setting) in config.site_settings.iter().enumerate() {
        let value = service_config::render_template(&setting.default, &values).map_err(|e| {
            PackageError::Template {
                path: project.manifest.clone(),
                message: format!("site_settings[{i}].default: {e}"),
            }
        })?;
        properties.push(mw::PublicProperty {
            name: setting.property.clone(),
            value,
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
    default_config: &DefaultConfig,
    mut seed_args: Vec<String>,
) -> Vec<mw::ExeCommand> {
    let config_name = &default_config.file_name;
    // The seed runs on every first install of the product, including a reinstall after an
    // uninstall that kept an edited config; the pristine guard leaves such a config alone.
    if let (Some(flag), false) = (&config.seed_pristine_flag, seed_args.is_empty()) {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(default_config.text.as_bytes());
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
    set: FileSet<'_>,
    out_dir: &Path,
) -> Result<BuiltMsi, PackageError> {
    let model = package_model(project, versioned, set)?;
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
