//! Names that become folder and file names in the release store, and the paths shown to users.
//!
//! The store is read over SMB by Group Policy (`\\server\share\<product>\<version>\x.msi`), so
//! every component must be a name Windows accepts: none of `<>:"/\|?*`, no control character,
//! no trailing dot or space, not a reserved device name (`CON`, `NUL`, `COM1`, …).

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
