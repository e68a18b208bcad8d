//! Checks of the Windows service, its recovery settings and the Event Log source.
//!
//! Invariant: every name that reaches an `sc.exe` command line or a registry key has passed
//! [`check_service_name`], and every file they name is a payload file.

use crate::error::MsiError;
use crate::model::{MessageFile, ServiceAccount, ServiceSpec};
use crate::names::{check_optional_text, check_text};

use super::checks::{check_public_property_name, check_service_name, require_file};
use super::Plan;

/// Checks the service (if any), the recovery settings and the Event Log source.
pub(super) fn check_service_and_friends(plan: &Plan<'_>) -> Result<(), MsiError> {
    let pkg = plan.pkg;
    if let Some(service) = &pkg.service {
        check_service(plan, service)?;
    }
    if pkg.recovery.is_some() && pkg.service.is_none() {
        return Err(MsiError::Missing {
            what: "recovery".into(),
            needs: "a service (Package::service)".into(),
        });
    }
    check_event_log_source(plan)
}

fn check_service(plan: &Plan<'_>, service: &ServiceSpec) -> Result<(), MsiError> {
    check_service_name(&service.name)?;
    check_text("service.display_name", &service.display_name, 256)?;
    check_optional_text("service.description", &service.description, 255)?;
    check_optional_text("service.arguments", &service.arguments, 255)?;
    require_file(plan, "service.exe", &service.exe)?;
    for dependency in &service.dependencies {
        check_service_name(dependency)?;
    }
    let ServiceAccount::User {
        name,
        password_property,
    } = &service.account
    else {
        return Ok(());
    };
    check_text("service.account", name, 255)?;
    if let Some(property) = password_property {
        check_public_property_name("service.account.password_property", property)?;
        if plan.pkg.properties.iter().any(|p| &p.name == property) {
            return Err(MsiError::InvalidProperty {
                name: property.clone(),
                reason: "a password property must not have a default value in the package".into(),
            });
        }
    }
    Ok(())
}

fn check_event_log_source(plan: &Plan<'_>) -> Result<(), MsiError> {
    let Some(source) = &plan.pkg.event_log_source else {
        return Ok(());
    };
    check_service_name(&source.name).map_err(|e| match e {
        MsiError::InvalidServiceName { name, reason } => {
            MsiError::text("event_log_source.name", format!("{name:?}: {reason}"))
        }
        other => other,
    })?;
    require_file(plan, "event_log_source.file", &source.file)?;
    if let MessageFile::File { key, .. } = &source.message_file {
        require_file(plan, "event_log_source.message_file", key)?;
    }
    Ok(())
}
