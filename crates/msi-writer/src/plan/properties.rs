//! Public properties: the names the writer keeps for itself and the checks of the model's
//! properties (name, uniqueness, default value against its kind).
//!
//! Invariant: a model property never takes a name the writer sets or a directory key, and its
//! default value is valid for its kind, so a transform tool can trust the recorded kinds.

use std::collections::HashSet;

use crate::error::MsiError;
use crate::model::{PropertyKind, PublicProperty};
use crate::names::check_text;

use super::checks::{check_public_property_name, check_unique};
use super::Plan;

/// Set by FindRelatedProducts to the ProductCodes of installed older or same versions.
pub(crate) const OLDER_FOUND: &str = "OLDERVERSIONFOUND";
/// Set by FindRelatedProducts to the ProductCodes of installed newer versions.
pub(crate) const NEWER_FOUND: &str = "NEWERVERSIONFOUND";
/// The newer installed version's DisplayVersion (AppSearch).
pub(crate) const NEWER_VERSION: &str = "NEWERVERSION";
/// Set by FindRelatedProducts to the newer versions a permitted downgrade removes.
pub(crate) const DOWNGRADE_FOUND: &str = "WRDOWNGRADEFOUND";

/// Properties the writer sets itself.
pub(super) const RESERVED_PROPERTIES: &[&str] = &[
    "ALLUSERS",
    "ARPNOMODIFY",
    "ARPNOREPAIR",
    "ARPHELPLINK",
    "ARPURLINFOABOUT",
    "ARPCONTACT",
    "ARPCOMMENTS",
    "ARPINSTALLLOCATION",
    "REBOOT",
    "MSIRESTARTMANAGERCONTROL",
    "TARGETDIR",
    "SOURCEDIR",
    OLDER_FOUND,
    NEWER_FOUND,
    NEWER_VERSION,
    DOWNGRADE_FOUND,
];

/// Checks every public property of the model.
pub(super) fn check_properties(plan: &Plan<'_>) -> Result<(), MsiError> {
    if let Some(name) = &plan.pkg.downgrade_property {
        check_public_property_name("downgrade_property", name)?;
        if RESERVED_PROPERTIES.contains(&name.as_str())
            || plan.pkg.properties.iter().any(|p| &p.name == name)
        {
            return Err(MsiError::ReservedName {
                kind: "property",
                key: name.clone(),
            });
        }
    }
    let directory_keys: HashSet<&str> = plan.dirs.iter().map(|d| d.key.as_str()).collect();
    let mut property_names = HashSet::new();
    for (i, property) in plan.pkg.properties.iter().enumerate() {
        let field = format!("properties[{i}]");
        check_public_property_name(&format!("{field}.name"), &property.name)?;
        if RESERVED_PROPERTIES.contains(&property.name.as_str())
            || directory_keys.contains(property.name.as_str())
        {
            return Err(MsiError::ReservedName {
                kind: "property",
                key: property.name.clone(),
            });
        }
        check_unique(
            property_names.insert(property.name.as_str()),
            "property",
            &property.name,
        )?;
        check_text(&format!("{field}.value"), &property.value, 1024)?;
        check_value(property)?;
    }
    Ok(())
}

/// The default value must be valid for the property's kind.
fn check_value(property: &PublicProperty) -> Result<(), MsiError> {
    let invalid = |reason: String| MsiError::InvalidProperty {
        name: property.name.clone(),
        reason,
    };
    match property.kind {
        PropertyKind::Text => Ok(()),
        PropertyKind::Port => match property.value.parse::<u32>() {
            Ok(0) => Err(MsiError::PortZero {
                field: format!("property {}", property.name),
            }),
            Ok(port) if port <= 65535 && !property.value.starts_with('0') => Ok(()),
            _ => Err(invalid(format!(
                "{:?} is not a port number (1 to 65535)",
                property.value
            ))),
        },
        PropertyKind::Integer => match property.value.parse::<i64>() {
            Ok(_) => Ok(()),
            Err(_) => Err(invalid(format!(
                "{:?} is not a decimal integer",
                property.value
            ))),
        },
    }
}
