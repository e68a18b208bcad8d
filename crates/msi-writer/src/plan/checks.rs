//! Checks of single values shared by the rest of the plan: GUIDs, public property names, service
//! names, file versions, counts against limits, uniqueness and references to payload files.
//!
//! Invariant: a check only looks at what it is given and returns the first problem as an
//! [`MsiError`]; it never changes the model.

use crate::cp1252;
use crate::error::MsiError;
use crate::guid::Guid;
use crate::names::check_identifier;

use super::Plan;

pub(super) fn check_guid(field: &str, guid: &Guid) -> Result<(), MsiError> {
    if guid.is_nil() {
        return Err(MsiError::NilGuid {
            field: field.into(),
        });
    }
    Ok(())
}

pub(super) fn check_public_property_name(field: &str, name: &str) -> Result<(), MsiError> {
    check_identifier(field, name, 72)?;
    if name.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(MsiError::InvalidProperty {
            name: name.to_string(),
            reason: "public properties must be all upper case (Windows Installer ignores mixed-case names on the \
                     command line and in managed installs)"
                .into(),
        });
    }
    Ok(())
}

/// Service names: what the service control manager accepts, minus characters that would break
/// the generated `sc.exe` command lines.
pub(crate) fn check_service_name(name: &str) -> Result<(), MsiError> {
    let bad = |reason: &str| MsiError::InvalidServiceName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().count() > 256 {
        return Err(bad("longer than 256 characters"));
    }
    if let Some(ch) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '"') || c.is_control())
    {
        return Err(bad(&format!(
            "{ch:?} is not allowed (no '/', '\\', '\"' or control characters)"
        )));
    }
    if name.trim() != name {
        return Err(bad("leading or trailing spaces"));
    }
    if let Some(ch) = cp1252::first_unencodable(name) {
        return Err(bad(&format!("{ch:?} is outside Windows-1252")));
    }
    Ok(())
}

pub(super) fn check_version(field: &str, version: &str) -> Result<(), MsiError> {
    let parts: Vec<&str> = version.split('.').collect();
    let ok = (1..=4).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|v| v <= 65535)
        });
    if ok {
        Ok(())
    } else {
        Err(MsiError::InvalidVersion {
            value: version.to_string(),
            reason: format!("{field}: a file version is 1 to 4 numbers from 0 to 65535 separated by dots (e.g. 1.4.2.0)"),
        })
    }
}

/// Refuses `count` of `what` above `max`, saying `why` the limit exists.
pub(super) fn check_limit(
    what: impl Into<String>,
    count: u64,
    max: u64,
    why: &'static str,
) -> Result<(), MsiError> {
    if count > max {
        return Err(MsiError::LimitExceeded {
            what: what.into(),
            count,
            max,
            why,
        });
    }
    Ok(())
}

/// Refuses a second use of `key` (`is_new` is what inserting it into the set of used keys said).
pub(super) fn check_unique(is_new: bool, kind: &'static str, key: &str) -> Result<(), MsiError> {
    if is_new {
        Ok(())
    } else {
        Err(MsiError::DuplicateKey {
            kind,
            key: key.to_string(),
        })
    }
}

/// `key` must name a payload file.
pub(super) fn require_file(plan: &Plan<'_>, field: &str, key: &str) -> Result<(), MsiError> {
    if plan.file_index.contains_key(key) {
        Ok(())
    } else {
        Err(MsiError::UnknownReference {
            field: field.to_string(),
            kind: "file",
            key: key.to_string(),
        })
    }
}
