//! Deterministic Windows Installer (MSI) package writer with a small typed model, and an MSI lint.
//!
//! [`write_package`] turns a [`Package`] (product, directories, files, one Windows service,
//! Event Log source, recovery actions, firewall rules, public properties, commands) into a
//! per-machine x64 MSI; [`lint`] checks any MSI against the rules below and classic ICE checks.
//! The crate never runs a process and knows nothing about Go, git or the project configuration.
//!
//! # Reading
//! [`read`] is the crate's one MSI reader, for packages (.msi) and transforms (.mst): the lint,
//! [`gpo`] (Group Policy readiness), [`transform`] (making, reading and applying site
//! transforms) and `cargo xtask repro` all read through it. Each format concept is decoded next
//! to its encoder: stream names in `stream_name`, the summary information in `summary`, the
//! string pool layout documented in `database` and read in [`read::string_pool`].
//!
//! # What the package looks like
//! - Summary information: codepage 1252, Template `x64;<language>`, Page Count 200 (no MSI 5.0
//!   tables are used), Word Count 2 (long names, compressed), Security 2, Creating Application
//!   `winrelease`, create/save times from [`Package::timestamp`], Revision Number (PackageCode)
//!   derived from a SHA-256 of every other stream, so it changes whenever the content does.
//! - Database codepage 1252; text outside Windows-1252 is refused with
//!   [`MsiError::NotWindows1252`] rather than mangled.
//! - One feature, one component per file (64-bit, key path = the file), component GUIDs derived
//!   from the UpgradeCode and the file's target path, so they stay stable across releases.
//! - One MSZIP cabinet embedded as the stream `product.cab`, files named by File key in
//!   File.Sequence order.
//! - Major upgrades: Upgrade rows detect older-or-same versions (`OLDERVERSIONFOUND`, removed by
//!   RemoveExistingProducts at 1501, inside the install transaction) and newer versions
//!   (`NEWERVERSIONFOUND`, detect only); a LaunchCondition refuses the downgrade with a message
//!   naming the installed newer version (read from its Add/Remove Programs entry by AppSearch)
//!   and this package's version. Installing the same version again: with the ProductCode derived
//!   from UpgradeCode + version ([`Guid::product_code_for`]) it is the same product, so Windows
//!   Installer runs it in maintenance mode (identical package: nothing to do, success) or refuses
//!   it as "another version of this product is already installed" (1638) when the package
//!   differs; a repair is `msiexec /fvomus`. A same-version package with a different ProductCode
//!   replaces the installed one (the older-versions row includes its maximum).
//! - Service: ServiceInstall (own process, start type and error control from the model, "vital"
//!   so that a failed registration fails the install), ServiceControl (stop on install and
//!   uninstall, delete on uninstall, start on install if asked, wait as asked).
//! - Recovery and firewall rules: deferred, no-impersonate custom actions running `sc.exe` and
//!   `netsh.exe` from `[System64Folder]` (table below). Microsoft documents the MSI 5.0
//!   MsiServiceConfigFailureActions table as not working as expected, so recovery is set the way
//!   services.msc and WiX's util:ServiceConfig do it, through the service control manager, after
//!   InstallServices. Each firewall add has a rollback delete scheduled before it; each uninstall
//!   delete has a rollback re-add before it. In a major upgrade the old product's removal (at
//!   RemoveExistingProducts, early in the same script) deletes its rules and the new product adds
//!   its own afterwards, first deleting any stale rule of the same name so rules never pile up;
//!   if the upgrade fails, rollback removes the new rule and re-adds the old one.
//! - First-install commands run an installed exe (type 18) after InstallFiles and before
//!   InstallServices, only when no older version was found and the product was not installed.
//! - Group Policy: ALLUSERS=1, REBOOT=ReallySuppress, MSIRESTARTMANAGERCONTROL=Disable, no UI
//!   needed, AdminExecuteSequence/AdminUISequence and AdvtExecuteSequence with the standard
//!   actions (AdvtUISequence is not written: Windows Installer does not use it), and
//!   SecureCustomProperties listing every public property. The table `WinreleaseSettings` lists
//!   the site-settable properties and their value kinds for transform tooling.
//! - The compound file is written in one pass with contiguous chains (the `cfb` module), FAT
//!   first, zero timestamps and the MSI root CLSID, so osslsigncode can sign it and two builds
//!   of the same model are byte-identical.
//!
//! # Custom actions (InstallExecuteSequence)
//!
//! | Action | Type | Seq | Condition | Does |
//! |---|---|---|---|---|
//! | `WrSetArpInstallLocation` | 51 | 1001 | | ARPINSTALLLOCATION = `[INSTALLDIR]` |
//! | *commands* (`ExeCommand::id`) | 3090 (18+0x400+0x800), +0x40 if ignoring the exit code | 5050+i | `$exe=3 AND NOT Installed AND NOT OLDERVERSIONFOUND` (first install) or `$exe=3` | run the installed exe |
//! | `WrServiceRecovery` | 3106 (34+0x400+0x800) | 5810 | `$exe=3` | `sc.exe failure <svc> reset= N actions= restart/ms/restart/ms/restart/ms` |
//! | `WrServiceRecoveryFlag` | 3170 (+0x40) | 5811 | `$exe=3` | `sc.exe failureflag <svc> 1` (optional) |
//! | `WrFirewallUndo<n>` | 3426 (rollback 0x100, ignore 0x40) | 5820+3i | `$exe=3` | rollback: delete rule |
//! | `WrFirewallClean<n>` | 3170 | 5821+3i | `$exe=3` | delete a stale rule of that name |
//! | `WrFirewallAdd<n>` | 3106, or 3170 when not aborting | 5822+3i | `$exe=3` | `netsh advfirewall firewall add rule ...` |
//! | `WrFirewallRestore<n>` | 3426 | 2010+2i | `$exe=2` | rollback of uninstall: re-add rule |
//! | `WrFirewallRemove<n>` | 3170 | 2011+2i | `$exe=2` | delete rule on uninstall |
//!
//! `$exe` is the component of the rule's program (or the service exe); `=3` means it is being
//! installed (install, upgrade, repair), `=2` that it is being removed. Standard actions use the
//! sequence numbers Microsoft suggests (FindRelatedProducts 25 so LaunchConditions at 100 can
//! refuse a downgrade; InstallInitialize 1500; RemoveExistingProducts 1501; InstallServices 5800;
//! StartServices 5900; InstallFinalize 6600).

#![warn(missing_docs)]

mod cabinet;
mod cfb;
mod cp1252;
mod database;
mod error;
pub mod gpo;
mod guid;
mod lint;
pub mod model;
mod names;
mod plan;
pub mod read;
mod schema;
mod stream_name;
mod summary;
mod tables;
pub mod transform;
mod write;

pub use error::MsiError;
pub use guid::Guid;
pub use lint::{lint, Finding, Severity};
pub use model::*;
pub use names::derive_identifier;
pub use write::{validate, write_package, PackageReport};

/// Names of the properties the writer sets for upgrade detection (useful to tooling such as a
/// transform generator or a Group Policy readiness check).
pub mod properties {
    /// Set by FindRelatedProducts to the ProductCodes of installed older or same versions.
    pub const OLDER_VERSION_FOUND: &str = crate::plan::OLDER_FOUND;
    /// Set by FindRelatedProducts to the ProductCodes of installed newer versions.
    pub const NEWER_VERSION_FOUND: &str = crate::plan::NEWER_FOUND;
    /// The newer installed version's DisplayVersion, shown in the downgrade refusal.
    pub const NEWER_VERSION: &str = crate::plan::NEWER_VERSION;
    /// The table listing site-settable public properties and their kinds.
    pub const SETTINGS_TABLE: &str = "WinreleaseSettings";
}
