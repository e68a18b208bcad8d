//! The typed package model: what to install, where, and how the service, firewall and upgrades
//! behave. [`write_package`](crate::write_package) turns it into an MSI; nothing here knows about
//! Go, git or the project's configuration file.
//!
//! Keys (`FileSpec::key`, `DataDir::key`, `ExeCommand::id`) are Windows Installer identifiers and
//! should stay the same from release to release: component GUIDs, the cabinet layout and future
//! transforms refer to them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::MsiError;
use crate::guid::Guid;

/// A whole package.
#[derive(Clone, Debug)]
pub struct Package {
    /// Product identity (name, version, codes).
    pub product: Product,
    /// Where the program files go (`INSTALLDIR`).
    pub install_dir: InstallDir,
    /// Machine-wide data folders (e.g. `CommonAppDataFolder\<Product>`), addressed by key.
    pub data_dirs: Vec<DataDir>,
    /// Payload files, in the order they are put in the cabinet (File.Sequence order).
    pub files: Vec<FileSpec>,
    /// Folders created on install even when no file goes into them (e.g. `logs` under the
    /// data folder); removed on uninstall when empty.
    pub empty_dirs: Vec<DirRef>,
    /// The Windows service to register, if any.
    pub service: Option<ServiceSpec>,
    /// An Event Log source to register, if any.
    pub event_log_source: Option<EventLogSource>,
    /// Restart-on-failure settings for the service (needs `service`).
    pub recovery: Option<Recovery>,
    /// Inbound firewall rules added on install and removed on uninstall.
    pub firewall_rules: Vec<FirewallRule>,
    /// Public properties (settable on the msiexec command line or by a transform).
    pub properties: Vec<PublicProperty>,
    /// Installed programs run by deferred custom actions (e.g. seeding the first install's config).
    pub commands: Vec<ExeCommand>,
    /// Add/Remove Programs entries.
    pub arp: Arp,
    /// A public property that, set to `1` on the msiexec command line, lets this package
    /// replace a newer installed version of the product (a host agent's rollback). Without it
    /// on the command line a downgrade is refused as always; Group Policy cannot pass
    /// properties, so it always gets the refusal. `None`: downgrades are always refused.
    pub downgrade_property: Option<String>,
    /// Unix time in seconds used for every timestamp in the package (summary information, cabinet
    /// file dates); the caller passes the commit time so builds are reproducible.
    pub timestamp: u64,
}

/// Product identity.
#[derive(Clone, Debug)]
pub struct Product {
    /// ProductName (also the Summary Subject and the feature title). At most 63 characters.
    pub name: String,
    /// Manufacturer (ARP "Publisher", Summary Author).
    pub manufacturer: String,
    /// ProductVersion: major.minor.build, the fields Windows Installer compares.
    pub version: ProductVersion,
    /// ProductCode; must change with every version (see [`Guid::product_code_for`]).
    pub product_code: Guid,
    /// UpgradeCode; stays the same for the life of the product line.
    pub upgrade_code: Guid,
    /// ProductLanguage and the Summary Template language, e.g. 1033 (English, United States).
    pub language: u16,
    /// One-line description (Summary Comments, ARPCOMMENTS when `Arp::comments` is unset).
    pub description: String,
}

/// A Windows Installer product version (`major.minor.build`, each field's range is the type's).
///
/// Windows Installer ignores a fourth field when comparing versions, so the model has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductVersion(pub u8, pub u8, pub u16);

impl fmt::Display for ProductVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl FromStr for ProductVersion {
    type Err = MsiError;

    /// Parses exactly `major.minor.build` with decimal fields in range (255.255.65535).
    fn from_str(text: &str) -> Result<ProductVersion, MsiError> {
        let err = |reason: &str| MsiError::InvalidVersion {
            value: text.to_string(),
            reason: reason.to_string(),
        };
        if text.contains(['-', '+']) {
            return Err(err(
                "pre-release and build suffixes cannot be represented: Windows Installer compares only the numbers \
                 major.minor.build (e.g. map 1.4.2-rc.1 to a distinct build number)",
            ));
        }
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 {
            return Err(err(
                "write exactly three numeric fields, major.minor.build (e.g. 1.4.2)",
            ));
        }
        let mut fields = [0u32; 3];
        for (slot, part) in fields.iter_mut().zip(&parts) {
            if part.is_empty() || part.len() > 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(
                    "each field must be a decimal number (no pre-release or build suffix)",
                ));
            }
            *slot = part.parse().map_err(|_| err("field is not a number"))?;
        }
        let major = u8::try_from(fields[0]).map_err(|_| err("major must be at most 255"))?;
        let minor = u8::try_from(fields[1]).map_err(|_| err("minor must be at most 255"))?;
        let build = u16::try_from(fields[2]).map_err(|_| err("build must be at most 65535"))?;
        Ok(ProductVersion(major, minor, build))
    }
}

/// Folders that Windows Installer resolves itself and that 64-bit components may live under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KnownFolder {
    /// `C:\Program Files` (the 64-bit one).
    ProgramFiles64,
    /// `C:\ProgramData`.
    CommonAppData,
}

impl KnownFolder {
    /// The Directory table key (and property) Windows Installer uses for this folder.
    pub fn directory_key(self) -> &'static str {
        match self {
            KnownFolder::ProgramFiles64 => "ProgramFiles64Folder",
            KnownFolder::CommonAppData => "CommonAppDataFolder",
        }
    }
}

/// The program directory.
#[derive(Clone, Debug)]
pub struct InstallDir {
    /// The folder it lives under.
    pub under: KnownFolder,
    /// Folder names below `under`, e.g. `["Hello Service"]` (at least one).
    pub path: Vec<String>,
    /// The public property and Directory key naming it (`INSTALLDIR`); overridable at install time.
    pub property: String,
}

/// A data folder outside the program directory, e.g. `CommonAppDataFolder\Hello Service`.
#[derive(Clone, Debug)]
pub struct DataDir {
    /// Directory key (identifier, e.g. `DATADIR`); files refer to it with [`DirRef::data`].
    pub key: String,
    /// The folder it lives under.
    pub under: KnownFolder,
    /// Folder names below `under` (at least one).
    pub path: Vec<String>,
    /// Create the folder on install even when no file is installed into it.
    pub create: bool,
}

/// Which directory a file is installed into.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirRef {
    /// The base directory.
    pub base: DirBase,
    /// Sub-folder names below the base (may be empty).
    pub sub: Vec<String>,
}

/// A base directory for [`DirRef`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DirBase {
    /// The program directory (`InstallDir`).
    Install,
    /// The data directory with this key.
    Data(String),
}

impl DirRef {
    /// The program directory itself.
    pub fn install() -> DirRef {
        DirRef {
            base: DirBase::Install,
            sub: Vec::new(),
        }
    }

    /// A folder below the program directory, e.g. `["share", "docs"]`.
    pub fn install_sub<S: Into<String>>(sub: impl IntoIterator<Item = S>) -> DirRef {
        DirRef {
            base: DirBase::Install,
            sub: sub.into_iter().map(Into::into).collect(),
        }
    }

    /// The data directory with key `key`.
    pub fn data(key: impl Into<String>) -> DirRef {
        DirRef {
            base: DirBase::Data(key.into()),
            sub: Vec::new(),
        }
    }
}

/// Where a payload file's bytes come from.
#[derive(Clone)]
pub enum Source {
    /// In-memory content (e.g. a rendered default config).
    Bytes(Vec<u8>),
    /// A file on disk, read while the cabinet is built.
    Path(PathBuf),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Source::Path(path) => f.debug_tuple("Path").field(path).finish(),
        }
    }
}

/// One payload file. Each file is its own component, with the file as key path.
#[derive(Clone, Debug)]
pub struct FileSpec {
    /// Stable identifier (File and Component key, name inside the cabinet), e.g. `hellosvc.exe`;
    /// starts with a letter.
    pub key: String,
    /// Long file name on the target, e.g. `hellosvc.exe`.
    pub name: String,
    /// Target directory.
    pub dir: DirRef,
    /// Content.
    pub source: Source,
    /// File version from the executable's VERSIONINFO (`a.b.c.d`), supplied by the caller;
    /// `None` for unversioned files. Windows Installer's file-versioning rules use it on upgrades.
    pub version: Option<String>,
    /// Never overwrite an existing file (component attribute NeverOverwrite): an admin's edits win.
    pub never_overwrite: bool,
    /// Keep the file on uninstall (component attribute Permanent).
    pub permanent: bool,
}

/// The Windows service registered by the package.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Service (key) name, e.g. `HelloSvc`.
    pub name: String,
    /// Display name shown in services.msc.
    pub display_name: String,
    /// Description shown in services.msc.
    pub description: String,
    /// Account the service runs as.
    pub account: ServiceAccount,
    /// Command-line arguments (a Windows Installer formatted string), e.g. `--service`.
    pub arguments: String,
    /// Start type.
    pub start: StartType,
    /// What Windows does when the service fails to start at boot.
    pub error_control: ErrorControl,
    /// Key of the executable file (must be in `Package::files`).
    pub exe: String,
    /// Start the service at the end of install (ServiceControl start-on-install).
    pub start_on_install: bool,
    /// Make the installer wait for start/stop/delete to complete (ServiceControl Wait = 1).
    pub wait: bool,
    /// Services this one depends on (service names).
    pub dependencies: Vec<String>,
}

/// A service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceAccount {
    /// `LocalSystem` (StartName left empty).
    LocalSystem,
    /// `NT AUTHORITY\LocalService`.
    LocalService,
    /// `NT AUTHORITY\NetworkService`.
    NetworkService,
    /// A named account (e.g. `DOMAIN\svc-hello` or a managed service account `DOMAIN\gmsa$`);
    /// the password, if any, comes from a hidden public property at install time.
    User {
        /// Account name.
        name: String,
        /// Public property holding the password (hidden from logs), or `None` for accounts without one.
        password_property: Option<String>,
    },
}

impl ServiceAccount {
    /// Maps an account name from configuration: `LocalSystem` (or empty), `LocalService`,
    /// `NetworkService` (also with an `NT AUTHORITY\` prefix, any case); anything else is a
    /// named account without a password property.
    pub fn from_name(name: &str) -> ServiceAccount {
        let trimmed = name.trim();
        let bare = trimmed
            .rsplit_once('\\')
            .filter(|(domain, _)| domain.eq_ignore_ascii_case("NT AUTHORITY") || *domain == ".")
            .map_or(trimmed, |(_, account)| account);
        match bare.to_ascii_lowercase().as_str() {
            "" | "localsystem" | "system" => ServiceAccount::LocalSystem,
            "localservice" | "local service" => ServiceAccount::LocalService,
            "networkservice" | "network service" => ServiceAccount::NetworkService,
            _ => ServiceAccount::User {
                name: trimmed.to_string(),
                password_property: None,
            },
        }
    }
}

/// Service start type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartType {
    /// Started at boot (SERVICE_AUTO_START).
    Auto,
    /// Started on demand (SERVICE_DEMAND_START).
    Demand,
    /// Disabled.
    Disabled,
}

/// Service error control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorControl {
    /// Log and continue (SERVICE_ERROR_IGNORE).
    Ignore,
    /// Log, show a message, continue (SERVICE_ERROR_NORMAL).
    Normal,
    /// Log and reboot with the last known good configuration (SERVICE_ERROR_CRITICAL).
    Critical,
}

/// An Event Log source (`HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<name>`).
#[derive(Clone, Debug)]
pub struct EventLogSource {
    /// Source name (usually the service name).
    pub name: String,
    /// Key of the file whose component owns the registry entries (installed and removed with it).
    pub file: String,
    /// The message file that formats events.
    pub message_file: MessageFile,
}

/// Event message file of an Event Log source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageFile {
    /// `%SystemRoot%\System32\EventCreate.exe`, whose generic messages take any text (what Go's
    /// `golang.org/x/sys/windows/svc/eventlog` uses); types supported: error, warning, information.
    EventCreate,
    /// An installed file with a message table resource (file key), and its supported types mask.
    File {
        /// File key.
        key: String,
        /// TypesSupported bit mask (1 error, 2 warning, 4 information, ...).
        types_supported: u32,
    },
}

/// Restart-on-failure settings applied with `sc.exe failure` after the service is installed:
/// restart after the first, second and subsequent failures (the three slots services.msc shows;
/// Windows repeats the last one for every later failure until the reset period has passed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Delay before each restart, in milliseconds.
    pub restart_delay_ms: u32,
    /// Seconds without failure after which the failure count resets.
    pub reset_period_s: u32,
    /// Also run the actions when the service stops with a non-zero exit code rather than
    /// crashing (`sc.exe failureflag <name> 1`).
    pub on_non_crash_failures: bool,
}

/// An inbound allow rule of Windows Defender Firewall, managed with `netsh advfirewall`.
#[derive(Clone, Debug)]
pub struct FirewallRule {
    /// Rule name (unique among the package's rules; it is how the rule is deleted again).
    pub name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Local ports (at least one, none 0).
    pub ports: Vec<u16>,
    /// Key of the program file the rule is limited to (and whose component it follows), or
    /// `None` to allow the ports for any program; then the rule follows the first file's component.
    pub program: Option<String>,
    /// Profiles; empty means all.
    pub profiles: Vec<FirewallProfile>,
    /// Abort (and roll back) the install when adding the rule fails; otherwise ignore the failure.
    pub abort_on_failure: bool,
}

/// Transport protocol of a firewall rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl FromStr for Protocol {
    type Err = MsiError;

    /// `tcp` or `udp`, any case.
    fn from_str(text: &str) -> Result<Protocol, MsiError> {
        match text.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(MsiError::text(
                "firewall protocol",
                format!("{text:?} is neither \"tcp\" nor \"udp\""),
            )),
        }
    }
}

/// Firewall profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FirewallProfile {
    /// Domain networks.
    Domain,
    /// Private networks.
    Private,
    /// Public networks.
    Public,
}

impl FromStr for FirewallProfile {
    type Err = MsiError;

    /// `domain`, `private` or `public`, any case.
    fn from_str(text: &str) -> Result<FirewallProfile, MsiError> {
        match text.to_ascii_lowercase().as_str() {
            "domain" => Ok(FirewallProfile::Domain),
            "private" => Ok(FirewallProfile::Private),
            "public" => Ok(FirewallProfile::Public),
            _ => Err(MsiError::text(
                "firewall profile",
                format!("{text:?} is not one of \"domain\", \"private\", \"public\""),
            )),
        }
    }
}

/// A public property: default value in the Property table, overridable on the msiexec command line
/// or by a transform.
#[derive(Clone, Debug)]
pub struct PublicProperty {
    /// Name, all upper case (Windows Installer only passes upper-case properties to the server side).
    pub name: String,
    /// Default value (non-empty).
    pub value: String,
    /// What values are valid; checked here for the default and recorded for transform tooling.
    pub kind: PropertyKind,
    /// Listed in the `WinreleaseSettings` table as a per-site setting that transforms may change.
    pub site_settable: bool,
}

/// Value kind of a public property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyKind {
    /// Any non-empty text.
    Text,
    /// A TCP/UDP port, 1 to 65535.
    Port,
    /// A decimal integer.
    Integer,
}

impl PropertyKind {
    /// The name recorded in the `WinreleaseSettings` table.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyKind::Text => "text",
            PropertyKind::Port => "port",
            PropertyKind::Integer => "integer",
        }
    }
}

/// An installed program run by a deferred, no-impersonate custom action (as LocalSystem), after
/// the files are installed and before services start.
#[derive(Clone, Debug)]
pub struct ExeCommand {
    /// Custom action name (identifier), e.g. `SeedConfig`.
    pub id: String,
    /// Key of the installed executable to run.
    pub file: String,
    /// Arguments, a formatted string, e.g.
    /// `--seed-config "[DATADIR]config.json" --set listen_port=[LISTEN_PORT]`.
    pub arguments: String,
    /// When it runs.
    pub when: CommandWhen,
    /// Ignore the exit code (otherwise a non-zero exit rolls the install back).
    pub ignore_exit_code: bool,
}

/// When an [`ExeCommand`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandWhen {
    /// Only on a first install: not on upgrades, repairs, or uninstall.
    FirstInstall,
    /// On every install, upgrade and repair of the file's component, never on uninstall.
    EveryInstall,
}

/// Add/Remove Programs entries.
#[derive(Clone, Debug, Default)]
pub struct Arp {
    /// Hide "Change" (ARPNOMODIFY=1).
    pub no_modify: bool,
    /// Hide "Repair" (ARPNOREPAIR=1).
    pub no_repair: bool,
    /// Support link (ARPHELPLINK).
    pub help_link: Option<String>,
    /// Product web page (ARPURLINFOABOUT).
    pub about_link: Option<String>,
    /// Support contact (ARPCONTACT).
    pub contact: Option<String>,
    /// Comments (ARPCOMMENTS); defaults to the product description.
    pub comments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_versions_parse_strictly() {
        assert_eq!(
            "1.2.3".parse::<ProductVersion>().unwrap(),
            ProductVersion(1, 2, 3)
        );
        assert_eq!(
            "255.255.65535".parse::<ProductVersion>().unwrap(),
            ProductVersion(255, 255, 65535)
        );
        for bad in [
            "1.2",
            "1.2.3.4",
            "1.2.3-rc.1",
            "256.0.0",
            "0.256.0",
            "0.0.65536",
            "1..3",
            "v1.2.3",
            "1.2.+3",
        ] {
            let err = bad.parse::<ProductVersion>().unwrap_err();
            assert!(
                matches!(err, MsiError::InvalidVersion { .. }),
                "{bad}: {err}"
            );
        }
        assert_eq!(ProductVersion(1, 0, 7).to_string(), "1.0.7");
        assert!(ProductVersion(1, 10, 0) > ProductVersion(1, 9, 300));
    }

    #[test]
    fn config_names_map_to_typed_values() {
        assert_eq!(
            ServiceAccount::from_name("LocalSystem"),
            ServiceAccount::LocalSystem
        );
        assert_eq!(ServiceAccount::from_name(""), ServiceAccount::LocalSystem);
        assert_eq!(
            ServiceAccount::from_name("NT AUTHORITY\\NetworkService"),
            ServiceAccount::NetworkService
        );
        assert_eq!(
            ServiceAccount::from_name("localservice"),
            ServiceAccount::LocalService
        );
        assert_eq!(
            ServiceAccount::from_name("CORP\\svc-hello"),
            ServiceAccount::User {
                name: "CORP\\svc-hello".into(),
                password_property: None
            }
        );
        assert_eq!("TCP".parse::<Protocol>().unwrap(), Protocol::Tcp);
        assert!("icmp".parse::<Protocol>().is_err());
        assert_eq!(
            "Private".parse::<FirewallProfile>().unwrap(),
            FirewallProfile::Private
        );
        assert!("work".parse::<FirewallProfile>().is_err());
    }
}
