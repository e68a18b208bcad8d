//! Names that become folder and file names in the release store, and the paths shown to users.
//!
//! The store is read over SMB by Group Policy (`\\server\share\<product>\<version>\x.msi`), so
//! every component must be a name Windows accepts: none of `<>:"/\|?*`, no control character,
//! no trailing dot or space, not a reserved device name (`CON`, `NUL`, `COM1`, …).
//!
//! *Invariant:* every product, version, channel and artifact name is checked here before it
//! becomes part of a store path.

use std::cmp::Ordering;

use super::error::PublishError;
use crate::config::check_channel_name;

/// Checks that `name` can be one component of a Windows path (and of an S3 key). `Err` says
/// what is wrong.
pub fn check_windows_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes".into());
    }
    if name == "." || name == ".." {
        return Err("is `.` or `..`".into());
    }
    if let Some(c) = name.chars().find(|c| "<>:\"/\\|?*".contains(*c)) {
        return Err(format!(
            "contains `{c}`, which Windows does not allow in file names"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err("ends with a dot or a space, which Windows strips from file names".into());
    }
    if name.starts_with(' ') {
        return Err("starts with a space".into());
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit());
    if reserved {
        return Err(format!("is the reserved Windows device name `{stem}`"));
    }
    Ok(())
}

/// Joins `parts` to `root` as the user wrote it, with the separator the root already uses:
/// `\\server\share` + `Hello Service` gives `\\server\share\Hello Service`, `/srv/store` gives
/// `/srv/store/Hello Service`.
pub(crate) fn display_join(root: &str, parts: &[&str]) -> String {
    let separator = if root.contains('\\') && !root.contains('/') {
        '\\'
    } else if root.contains('/') {
        '/'
    } else {
        std::path::MAIN_SEPARATOR
    };
    let trimmed = root.trim_end_matches(['/', '\\']);
    let mut out = trimmed.to_string();
    for part in parts {
        out.push(separator);
        out.push_str(part);
    }
    out
}

/// Checks that `product` can be a folder of the store.
pub(crate) fn check_product(product: &str) -> Result<(), PublishError> {
    check_windows_name(product).map_err(|reason| PublishError::BadName {
        what: "product",
        name: product.to_string(),
        reason,
        fix: "the product name is a folder of the store (and of a UNC path); change `product` in the configuration",
    })?;
    if product.starts_with('.') {
        return Err(PublishError::BadName {
            what: "product",
            name: product.to_string(),
            reason: "starts with `.`, which marks the store's own hidden files".into(),
            fix: "change `product` in the configuration",
        });
    }
    Ok(())
}

/// Checks that `channel` is a channel name (it becomes `channels/<channel>.json`).
pub(crate) fn check_channel(channel: &str) -> Result<(), PublishError> {
    check_channel_name(channel).map_err(PublishError::BadChannel)
}

/// Checks that `version` is SemVer and can be a folder of the store.
pub(crate) fn check_version_name(version: &str) -> Result<semver::Version, PublishError> {
    let bad = |reason: String| PublishError::BadName {
        what: "version",
        name: version.to_string(),
        reason,
        fix: "versions are SemVer and folder names of the store; tag a plain SemVer version",
    };
    check_windows_name(version).map_err(bad)?;
    semver::Version::parse(version).map_err(|e| bad(format!("is not SemVer ({e})")))
}

/// Checks that an artifact's file name can be a file of the store.
pub(crate) fn check_artifact_name(name: &str) -> Result<(), PublishError> {
    check_windows_name(name).map_err(|reason| PublishError::BadName {
        what: "artifact",
        name: name.to_string(),
        reason,
        fix: "artifact names become file names on the share; rename the exe or MSI in the configuration",
    })
}

/// SemVer precedence of two version names (by text when one is not SemVer).
pub(crate) fn precedence(a: &str, b: &str) -> Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp_precedence(&y),
        _ => a.cmp(b),
    }
}

/// Sorts version names by SemVer precedence (then by text, so the order is total).
pub(crate) fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| precedence(a, b).then_with(|| a.cmp(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names() {
        for good in [
            "Hello Service",
            "1.2.3-rc.1+g1a2b3c4",
            "hellosvc_1.2.3_x64.msi",
            "a",
        ] {
            assert_eq!(check_windows_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a<b",
            "a>b",
            "a:b",
            "a\"b",
            "a/b",
            "a\\b",
            "a|b",
            "a?b",
            "a*b",
            "a\tb",
            "trailing.",
            "trailing ",
            " leading",
            "CON",
            "con.txt",
            "Nul",
            "COM1",
            "lpt9.msi",
        ] {
            assert!(check_windows_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_windows_name("COM10"), Ok(()));
        assert_eq!(check_windows_name("CONSOLE"), Ok(()));
    }

    #[test]
    fn display_paths_keep_the_root_style() {
        assert_eq!(
            display_join(r"\\server\share\", &["Hello Service", "1.2.3", "x.msi"]),
            r"\\server\share\Hello Service\1.2.3\x.msi"
        );
        assert_eq!(
            display_join("/srv/store", &["Hello Service", "1.2.3"]),
            "/srv/store/Hello Service/1.2.3"
        );
        assert_eq!(display_join("/", &["p"]), "/p");
    }
}
