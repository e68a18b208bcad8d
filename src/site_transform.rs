//! Site-transform stage: one Windows Installer transform (`.mst`) per site for a built MSI, and
//! the Group Policy readiness check that `release` runs before publishing.
//!
//! A site is a name and values for the package's site settings (`LISTEN_PORT`, `SITE_NAME`, …:
//! the public properties the MSI lists in its `WinreleaseSettings` table). Group Policy cannot
//! pass properties on a command line; an admin assigns the MSI with the site's transform
//! instead, and on the first install the seed action writes the values into the service's
//! config file, which later upgrades never overwrite. The transform format and its validation
//! flags are described in `msi_writer::transform`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use msi_writer::{gpo, transform};
use serde::Deserialize;

pub use msi_writer::gpo::{Report as GpoReport, Status as GpoStatus};
pub use msi_writer::transform::{SiteTransform, TransformScope};

/// A site of the release configuration:
///
/// ```toml
/// [[workspace.metadata.winrelease.sites]]
/// name = "berlin"
/// settings = { LISTEN_PORT = 9090, SITE_NAME = "Berlin" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// File-name-safe site name (letters, digits, `-`, `_`); part of the transform's file name.
    pub name: String,
    /// Property → value for this site (numbers may be written as TOML integers).
    pub settings: BTreeMap<String, SettingValue>,
    /// Which packages the transform applies to (`"this-package"`, the default, or
    /// `"this-and-later-versions"`).
    #[serde(default)]
    pub scope: SiteScope,
}

/// A setting's value as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// `"Berlin"`.
    Text(String),
    /// `9090`.
    Integer(i64),
}

impl std::fmt::Display for SettingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingValue::Text(text) => f.write_str(text),
            SettingValue::Integer(value) => write!(f, "{value}"),
        }
    }
}

/// [`TransformScope`] as configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteScope {
    /// Only the MSI it was made for (ProductCode, UpgradeCode, language, version).
    #[default]
    ThisPackage,
    /// That MSI and later versions of the product (UpgradeCode, language, version ≥ base).
    ThisAndLaterVersions,
}

impl From<SiteScope> for TransformScope {
    fn from(scope: SiteScope) -> TransformScope {
        match scope {
            SiteScope::ThisPackage => TransformScope::ThisPackage,
            SiteScope::ThisAndLaterVersions => TransformScope::ThisAndLaterVersions,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteTransformError {
    #[error(transparent)]
    Transform(#[from] transform::TransformError),
    #[error("site {name:?}: {reason}")]
    InvalidSite { name: String, reason: String },
    #[error("--set {arg:?}: expected NAME=VALUE (e.g. LISTEN_PORT=9090)")]
    BadSetting { arg: String },
    #[error("site {site:?}: {source}")]
    Site {
        site: String,
        #[source]
        source: transform::TransformError,
    },
    #[error("{msi} is not ready for Group Policy:\n{report}")]
    NotReady { msi: PathBuf, report: String },
}

/// A transform written for a site.
#[derive(Debug, Clone)]
pub struct BuiltTransform {
    /// The site's name.
    pub site: String,
    /// Where it was written.
    pub path: PathBuf,
    /// File size in bytes.
    pub size: u64,
    /// What it changes.
    pub transform: SiteTransform,
}

/// `hellosvc_1.2.3_x64.msi` + `berlin` → `hellosvc_1.2.3_x64_berlin.mst`.
pub fn transform_file_name(msi: &Path, site: &str) -> String {
    let stem = msi
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    format!("{stem}_{site}.mst")
}

/// Splits a command-line `NAME=VALUE` at the first `=`.
pub fn parse_setting(arg: &str) -> Result<(String, String), SiteTransformError> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(SiteTransformError::BadSetting {
            arg: arg.to_string(),
        }),
    }
}

/// Checks site names: 1 to 64 letters, digits, `-` or `_`, starting with a letter or digit,
/// unique ignoring case (they become file names on case-insensitive file systems).
pub fn check_sites(sites: &[SiteConfig]) -> Result<(), SiteTransformError> {
    let mut seen = BTreeMap::new();
    for site in sites {
        let name = &site.name;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(SiteTransformError::InvalidSite {
                name: name.clone(),
                reason: "a site name is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (it becomes part of a file name)".into(),
            });
        }
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name.clone()) {
            return Err(SiteTransformError::InvalidSite {
                name: name.clone(),
                reason: format!(
                    "same file name as site {first:?} (names are compared ignoring case)"
                ),
            });
        }
        if site.settings.is_empty() {
            return Err(SiteTransformError::InvalidSite {
                name: name.clone(),
                reason: "no settings: give at least one, e.g. settings = { LISTEN_PORT = 9090 }"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Writes one transform of `msi` with `settings` to `out` (the `transform` command).
pub fn write_transform(
    msi: &Path,
    settings: &[(String, String)],
    scope: TransformScope,
    out: &Path,
) -> Result<SiteTransform, SiteTransformError> {
    let options = transform::TransformOptions { scope };
    Ok(transform::write_transform(msi, settings, &options, out)?)
}

/// Writes one transform per site next to the MSI (`<msi stem>_<site>.mst` in `out_dir`). Every
/// site is made in memory before the first file is written, so a bad site writes nothing.
pub fn build_site_transforms(
    msi: &Path,
    sites: &[SiteConfig],
    out_dir: &Path,
) -> Result<Vec<BuiltTransform>, SiteTransformError> {
    check_sites(sites)?;
    let mut made = Vec::new();
    for site in sites {
        let settings: Vec<(String, String)> = site
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let options = transform::TransformOptions {
            scope: site.scope.into(),
        };
        let transform = transform::make_transform(msi, &settings, &options).map_err(|source| {
            SiteTransformError::Site {
                site: site.name.clone(),
                source,
            }
        })?;
        made.push((site, transform));
    }
    let mut built = Vec::new();
    for (site, transform) in made {
        let path = out_dir.join(transform_file_name(msi, &site.name));
        write_bytes(&path, &transform.bytes).map_err(|source| SiteTransformError::Site {
            site: site.name.clone(),
            source: transform::TransformError::Write {
                path: path.clone(),
                source,
            },
        })?;
        built.push(BuiltTransform {
            site: site.name.clone(),
            size: transform.bytes.len() as u64,
            path,
            transform,
        });
    }
    Ok(built)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".winrelease-")
        .suffix(".mst.tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The Group Policy readiness report for `msi` with `transforms`, against `previous` (the
/// previous release's MSI) when given.
pub fn gpo_check(
    msi: &Path,
    transforms: &[PathBuf],
    previous: Option<&Path>,
) -> Result<GpoReport, SiteTransformError> {
    let options = gpo::Options {
        transforms: transforms.to_vec(),
        previous: previous.map(Path::to_path_buf),
    };
    Ok(gpo::check(msi, &options)?)
}

/// What the release stage made and checked.
#[derive(Debug, Clone)]
pub struct SiteStage {
    /// One transform per configured site.
    pub transforms: Vec<BuiltTransform>,
    /// The readiness report (every check passed or warned).
    pub report: GpoReport,
}

/// The release stage: site transforms for `msi` into `out_dir`, then the readiness check with
/// them and the previous release's MSI. Fails with the whole report when a check fails; the
/// transforms are removed again then, so a failed stage leaves no half-checked artifacts.
pub fn release_stage(
    msi: &Path,
    sites: &[SiteConfig],
    previous: Option<&Path>,
    out_dir: &Path,
) -> Result<SiteStage, SiteTransformError> {
    let transforms = build_site_transforms(msi, sites, out_dir)?;
    let paths: Vec<PathBuf> = transforms.iter().map(|t| t.path.clone()).collect();
    let report = match gpo_check(msi, &paths, previous) {
        Ok(report) => report,
        Err(e) => {
            remove_all(&paths);
            return Err(e);
        }
    };
    if !report.is_ready() {
        remove_all(&paths);
        return Err(SiteTransformError::NotReady {
            msi: msi.to_path_buf(),
            report: report.to_string(),
        });
    }
    Ok(SiteStage { transforms, report })
}

fn remove_all(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> SiteConfig {
        SiteConfig {
            name: name.into(),
            settings: BTreeMap::from([("LISTEN_PORT".into(), SettingValue::Integer(9090))]),
            scope: SiteScope::default(),
        }
    }

    #[test]
    fn sites_deserialize_from_the_workspace_metadata() {
        let value = serde_json::json!([
            { "name": "berlin", "settings": { "LISTEN_PORT": 9090, "SITE_NAME": "Berlin" } },
            { "name": "lab", "settings": { "SITE_NAME": "lab" }, "scope": "this-and-later-versions" }
        ]);
        let sites: Vec<SiteConfig> = serde_json::from_value(value).unwrap();
        assert_eq!(sites[0].settings["LISTEN_PORT"].to_string(), "9090");
        assert_eq!(sites[0].settings["SITE_NAME"].to_string(), "Berlin");
        assert_eq!(sites[0].scope, SiteScope::ThisPackage);
        assert_eq!(sites[1].scope, SiteScope::ThisAndLaterVersions);
        let unknown = serde_json::json!([{ "name": "x", "settings": {}, "port": 1 }]);
        assert!(serde_json::from_value::<Vec<SiteConfig>>(unknown).is_err());
    }

    #[test]
    fn site_names_become_safe_file_names() {
        assert!(check_sites(&[site("berlin"), site("lab-2"), site("HQ_1")]).is_ok());
        for bad in ["", "-x", "a b", "../x", "x.y", &"n".repeat(65)] {
            let err = check_sites(&[site(bad)]).unwrap_err().to_string();
            assert!(err.contains("a site name is"), "{bad:?}: {err}");
        }
        let err = check_sites(&[site("Berlin"), site("berlin")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("same file name as site \"Berlin\""), "{err}");
        let mut empty = site("empty");
        empty.settings.clear();
        assert!(check_sites(&[empty])
            .unwrap_err()
            .to_string()
            .contains("no settings"));
        assert_eq!(
            transform_file_name(Path::new("out/hellosvc_1.2.3_x64.msi"), "berlin"),
            "hellosvc_1.2.3_x64_berlin.mst"
        );
    }

    #[test]
    fn settings_parse_at_the_first_equals_sign() {
        assert_eq!(
            parse_setting("SITE_NAME=a=b").unwrap(),
            ("SITE_NAME".to_string(), "a=b".to_string())
        );
        assert_eq!(
            parse_setting("SITE_NAME=").unwrap(),
            ("SITE_NAME".to_string(), String::new())
        );
        assert!(parse_setting("LISTEN_PORT").is_err());
        assert!(parse_setting("=9090").is_err());
    }
}
