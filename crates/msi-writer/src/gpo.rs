//! Group Policy readiness: can this MSI be assigned to computers by Group Policy software
//! installation, with these transforms, as an upgrade of that previous release?
//!
//! Group Policy installs an assigned package at boot, silently (`/qn`), as the computer account,
//! from a file share; it cannot pass properties on a command line (only transforms chosen when
//! the package is assigned), cannot answer a dialog and must not reboot the machine. It
//! advertises the package first (AdvtExecuteSequence) and admins often deploy from an
//! administrative image (AdminExecuteSequence). [`check`] reports one line per requirement; a
//! package is ready when no line fails.
//!
//! The checks read the package with the `msi` crate and reuse the [lint](crate::lint) for the
//! sequence tables, so they also judge packages built by other tools (wixl, WiX).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::lint::{lint, Finding, Severity};
use crate::transform::{
    self, apply, check_value, property_changes, read_package_facts, read_tables, PackageFacts,
    Table, TransformError, TransformFile, Value,
};

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The requirement is met.
    Pass,
    /// Works, but worth a look.
    Warn,
    /// Group Policy deployment will fail or misbehave.
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One requirement and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Short id: `per-machine`, `per-user-data`, `silent`, `no-command-line`, `no-reboot`,
    /// `advertise`, `admin-image`, `lint`, `transform`, `upgrade-code`, `product-code`,
    /// `version`, `upgrade-removes-previous`, `component-ids`.
    pub id: &'static str,
    /// Pass, warn or fail.
    pub status: Status,
    /// What was checked and found (one line; problems separated by `; `).
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.id, self.message)
    }
}

/// The readiness report.
#[derive(Clone, Debug)]
pub struct Report {
    /// The package checked.
    pub msi: PathBuf,
    /// One entry per check, in a fixed order.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The check with this id (the first, for `transform`).
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.failures().count();
        if failed == 0 {
            write!(f, "ready for Group Policy: {}", self.msi.display())
        } else {
            write!(
                f,
                "NOT ready for Group Policy: {failed} check(s) failed for {}",
                self.msi.display()
            )
        }
    }
}

/// What else to check the package against.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Transforms the package will be assigned with.
    pub transforms: Vec<PathBuf>,
    /// The previous release's MSI, which this package must upgrade.
    pub previous: Option<PathBuf>,
}

/// Checks the MSI at `msi`. Fails only when `msi` itself cannot be read as a package; unreadable
/// transforms or previous packages are reported as failed checks.
pub fn check(msi: &Path, options: &Options) -> Result<Report, TransformError> {
    let facts = read_package_facts(msi)?;
    let tables = read_tables(msi, TABLES)?;
    let findings = lint(msi).map_err(|e| TransformError::Read {
        path: msi.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let pkg = Pkg {
        facts,
        tables,
        findings,
    };
    let mut checks = vec![
        pkg.per_machine(),
        pkg.per_user_data(),
        pkg.silent(),
        pkg.no_command_line(),
        pkg.no_reboot(),
        pkg.lint_rules(
            "advertise",
            &["WR-ADVT-SEQUENCE", "ICE72"],
            Some("AdvtExecuteSequence"),
            "AdvtExecuteSequence has the standard actions in order: the package can be assigned (advertised)",
        ),
        pkg.lint_rules(
            "admin-image",
            &["WR-ADMIN-SEQUENCE"],
            None,
            "AdminExecuteSequence has the standard actions in order: `msiexec /a` makes an administrative image",
        ),
        pkg.lint_errors(),
    ];
    for path in &options.transforms {
        checks.push(check_transform(msi, &pkg, path));
    }
    if let Some(previous) = &options.previous {
        checks.extend(pkg.against_previous(previous));
    }
    Ok(Report {
        msi: msi.to_path_buf(),
        checks,
    })
}

const TABLES: &[&str] = &[
    "AppSearch",
    "Component",
    "CreateFolder",
    "CustomAction",
    "Directory",
    "File",
    "IniFile",
    "InstallExecuteSequence",
    "InstallUISequence",
    "AdminExecuteSequence",
    "AdvtExecuteSequence",
    "LaunchCondition",
    "Registry",
    "RemoveRegistry",
    "ServiceControl",
    "ServiceInstall",
    "Shortcut",
    "Upgrade",
];

/// Folders that belong to the user who runs the install: under Group Policy computer
/// assignment that is the computer account (SYSTEM), so files there reach no real user.
/// (Desktop, Start menu and Programs folders are redirected to All Users when ALLUSERS=1.)
const PER_USER_FOLDERS: &[&str] = &[
    "AppDataFolder",
    "FavoritesFolder",
    "LocalAppDataFolder",
    "MyPicturesFolder",
    "NetHoodFolder",
    "PersonalFolder",
    "PrintHoodFolder",
    "RecentFolder",
    "SendToFolder",
    "TempFolder",
];

/// Public properties Windows Installer itself sets or takes from policy, which a package may
/// reference without defining them.
const INSTALLER_PROPERTIES: &[&str] = &[
    "ACTION",
    "ADDDEFAULT",
    "ADDLOCAL",
    "ADDSOURCE",
    "ADVERTISE",
    "ALLUSERS",
    "COMPADDDEFAULT",
    "COMPADDLOCAL",
    "COMPADDSOURCE",
    "COMPANYNAME",
    "DISABLEADVTSHORTCUTS",
    "DISABLEROLLBACK",
    "EXECUTEACTION",
    "EXECUTEMODE",
    "FILEADDDEFAULT",
    "FILEADDLOCAL",
    "FILEADDSOURCE",
    "INSTALLLEVEL",
    "LIMITUI",
    "LOGACTION",
    "MEDIAPACKAGEPATH",
    "NOCOMPANYNAME",
    "NOUSERNAME",
    "PATCH",
    "PIDKEY",
    "PRIMARYFOLDER",
    "PROMPTROLLBACKCOST",
    "REBOOT",
    "REBOOTPROMPT",
    "REINSTALL",
    "REINSTALLMODE",
    "REMOVE",
    "ROOTDRIVE",
    "SEQUENCE",
    "SHORTFILENAMES",
    "SOURCEDIR",
    "TARGETDIR",
    "TRANSFORMS",
    "TRANSFORMSATSOURCE",
    "TRANSFORMSSECURE",
    "UPGRADINGPRODUCTCODE",
    "USERNAME",
];

struct Pkg {
    facts: PackageFacts,
    tables: BTreeMap<String, Table>,
    findings: Vec<Finding>,
}

fn pass(id: &'static str, message: impl Into<String>) -> Check {
    Check {
        id,
        status: Status::Pass,
        message: message.into(),
    }
}

fn outcome(id: &'static str, fails: Vec<String>, warns: Vec<String>, ok: &str) -> Check {
    if !fails.is_empty() {
        let mut all = fails;
        all.extend(warns);
        Check {
            id,
            status: Status::Fail,
            message: all.join("; "),
        }
    } else if !warns.is_empty() {
        Check {
            id,
            status: Status::Warn,
            message: warns.join("; "),
        }
    } else {
        pass(id, ok)
    }
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i32> {
    match value {
        Value::Int(v) => Some(*v),
        _ => None,
    }
}

/// `[NAME]` references in a formatted string (property references only: not `[#file]`,
/// `[$component]`, `[!file]`, `[%ENV]`, `[\x]`, `[~]`).
fn property_references(formatted: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = formatted;
    while let Some(start) = rest.find('[') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find(']') else { break };
        let inner = &rest[..end];
        if !inner.is_empty()
            && inner
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            out.push(inner.to_string());
        }
        rest = &rest[end..];
    }
    out
}

/// Identifiers in a condition (outside quoted strings), without the logical operators.
fn condition_identifiers(condition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_quote = false;
    let mut word = String::new();
    for c in condition.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_quote = !in_quote;
            word.clear();
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            if word
                .chars()
                .next()
                .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
                && !matches!(
                    word.to_ascii_uppercase().as_str(),
                    "NOT" | "AND" | "OR" | "XOR" | "EQV" | "IMP"
                )
            {
                out.push(word.clone());
            }
            word.clear();
        }
    }
    out
}

/// Windows Installer treats a property as public when its name has no lower-case letter.
fn is_public(name: &str) -> bool {
    !name.chars().any(|c| c.is_ascii_lowercase()) && name.chars().any(|c| c.is_ascii_uppercase())
}

impl Pkg {
    fn rows(&self, table: &str) -> &[Vec<Value>] {
        self.tables.get(table).map_or(&[], |t| &t.rows)
    }

    fn column(&self, table: &str, column: &str) -> Option<usize> {
        self.tables
            .get(table)?
            .columns
            .iter()
            .position(|c| c.name == column)
    }

    /// `(row, value)` of `column` for every row of `table`.
    fn cells<'a>(&'a self, table: &str, column: &str) -> Vec<(&'a [Value], &'a Value)> {
        match self.column(table, column) {
            Some(i) => self
                .rows(table)
                .iter()
                .map(|r| (r.as_slice(), &r[i]))
                .collect(),
            None => Vec::new(),
        }
    }

    fn property(&self, name: &str) -> Option<&str> {
        self.facts.properties.get(name).map(String::as_str)
    }

    fn sequence_actions(&self, table: &str) -> BTreeMap<String, Option<String>> {
        let condition = self.column(table, "Condition");
        self.rows(table)
            .iter()
            .filter_map(|r| {
                let action = text(&r[0])?.to_string();
                let cond = condition.and_then(|i| text(&r[i]).map(str::to_string));
                Some((action, cond))
            })
            .collect()
    }

    fn custom_action_types(&self) -> BTreeMap<String, i32> {
        self.cells("CustomAction", "Type")
            .into_iter()
            .filter_map(|(row, t)| Some((text(&row[0])?.to_string(), int(t)?)))
            .collect()
    }

    fn per_machine(&self) -> Check {
        let mut fails = Vec::new();
        let mut warns = Vec::new();
        match self.property("ALLUSERS") {
            Some("1") => {}
            Some("2") => fails.push(
                "ALLUSERS=2 lets Windows Installer choose per-user or per-machine; Group Policy computer assignment needs ALLUSERS=1".to_string(),
            ),
            other => fails.push(format!(
                "ALLUSERS is {}: without ALLUSERS=1 the package installs per-user, for the computer account only",
                other.map_or("unset".to_string(), |v| format!("{v:?}"))
            )),
        }
        if self.property("MSIINSTALLPERUSER") == Some("1") {
            fails.push("MSIINSTALLPERUSER=1 makes the install per-user".into());
        }
        let template_ok = self.facts.platform.eq_ignore_ascii_case("x64");
        if !template_ok {
            warns.push(format!(
                "Template platform is {:?}, not x64",
                self.facts.platform
            ));
        }
        outcome(
            "per-machine",
            fails,
            warns,
            "ALLUSERS=1, x64: installs for the whole machine",
        )
    }

    fn directory_chains(&self) -> BTreeMap<String, Vec<String>> {
        let parents: BTreeMap<String, Option<String>> = self
            .rows("Directory")
            .iter()
            .filter_map(|r| {
                Some((
                    text(&r[0])?.to_string(),
                    r.get(1).and_then(text).map(str::to_string),
                ))
            })
            .collect();
        parents
            .keys()
            .map(|key| {
                let mut chain = vec![key.clone()];
                let mut current = key.clone();
                while let Some(Some(parent)) = parents.get(&current) {
                    if chain.contains(parent) || chain.len() > 64 {
                        break;
                    }
                    chain.push(parent.clone());
                    current = parent.clone();
                }
                (key.clone(), chain)
            })
            .collect()
    }

    fn per_user_data(&self) -> Check {
        let mut fails = Vec::new();
        for table in ["Registry", "RemoveRegistry"] {
            let root = self.column(table, "Root");
            let key = self.column(table, "Key");
            for row in self.rows(table) {
                let Some(r) = root.and_then(|i| int(&row[i])) else {
                    continue;
                };
                if r == 1 {
                    fails.push(format!(
                        "{table} {} writes HKEY_CURRENT_USER\\{} (the computer account's hive under Group Policy)",
                        text(&row[0]).unwrap_or("?"),
                        key.and_then(|i| text(&row[i])).unwrap_or("")
                    ));
                }
            }
        }
        let chains = self.directory_chains();
        let per_user = |dir: &str| -> Option<&str> {
            chains
                .get(dir)?
                .iter()
                .find(|d| PER_USER_FOLDERS.contains(&d.as_str()))
                .map(String::as_str)
        };
        for (table, column) in [
            ("Component", "Directory_"),
            ("CreateFolder", "Directory_"),
            ("Shortcut", "Directory_"),
            ("IniFile", "DirProperty"),
        ] {
            for (row, dir) in self.cells(table, column) {
                if let Some(folder) = text(dir).and_then(per_user) {
                    fails.push(format!(
                        "{table} {} installs under {folder}, a per-user folder (the computer account's profile under Group Policy)",
                        text(&row[0]).unwrap_or("?")
                    ));
                }
            }
        }
        fails.sort();
        fails.dedup();
        outcome(
            "per-user-data",
            fails,
            Vec::new(),
            "no HKEY_CURRENT_USER registry, no files or folders in per-user profile folders",
        )
    }

    fn silent(&self) -> Check {
        let mut fails = Vec::new();
        let mut warns = Vec::new();
        let ui = self.sequence_actions("InstallUISequence");
        let execute = self.sequence_actions("InstallExecuteSequence");
        let types = self.custom_action_types();
        // Under /qn (and Group Policy) the UI sequence does not run: whatever it sets must also
        // happen in the execute sequence.
        const PROPERTY_SETTERS: &[&str] = &[
            "AppSearch",
            "CCPSearch",
            "FindRelatedProducts",
            "LaunchConditions",
            "RMCCPSearch",
        ];
        for action in ui.keys() {
            let sets_state =
                PROPERTY_SETTERS.contains(&action.as_str()) || types.contains_key(action);
            if sets_state && !execute.contains_key(action) {
                fails.push(format!(
                    "{action} runs only in InstallUISequence, which /qn and Group Policy skip"
                ));
            }
        }
        for row in self.rows("LaunchCondition") {
            let condition = text(&row[0]).unwrap_or_default();
            if condition_identifiers(condition)
                .iter()
                .any(|i| i == "UILevel")
            {
                fails.push(format!(
                    "LaunchCondition {condition:?} depends on UILevel: a silent install may be refused"
                ));
            }
        }
        for (action, condition) in &execute {
            let is_error = types.get(action).is_some_and(|t| t & 0x3F == 19);
            if is_error
                && condition
                    .as_deref()
                    .is_some_and(|c| condition_identifiers(c).iter().any(|i| i == "UILevel"))
            {
                fails.push(format!(
                    "error action {action} is conditioned on UILevel: a silent install may be refused"
                ));
            }
        }
        if self.tables.contains_key("InstallUISequence") && !ui.contains_key("ExecuteAction") {
            warns.push("InstallUISequence has no ExecuteAction".into());
        }
        outcome(
            "silent",
            fails,
            warns,
            "installs with /qn: nothing needed from dialogs, the UI sequence sets nothing the install needs",
        )
    }

    /// Properties something in the package defines (Property table, directories, searches,
    /// upgrade detection, set-property custom actions).
    fn defined_properties(&self) -> BTreeSet<String> {
        let mut defined: BTreeSet<String> = self.facts.properties.keys().cloned().collect();
        for (table, column) in [
            ("Directory", "Directory"),
            ("AppSearch", "Property"),
            ("Upgrade", "ActionProperty"),
        ] {
            for (_, value) in self.cells(table, column) {
                if let Some(name) = text(value) {
                    defined.insert(name.to_string());
                }
            }
        }
        for (row, kind) in self.cells("CustomAction", "Type") {
            if int(kind).is_some_and(|t| t & 0x3F == 51 || t & 0x3F == 35) {
                if let Some(source) = self
                    .column("CustomAction", "Source")
                    .and_then(|i| text(&row[i]))
                {
                    defined.insert(source.to_string());
                }
            }
        }
        defined
    }

    fn no_command_line(&self) -> Check {
        let mut fails = Vec::new();
        let defined = self.defined_properties();
        let needs_value = |name: &str| {
            is_public(name)
                && !defined.contains(name)
                && !INSTALLER_PROPERTIES.contains(&name)
                && !name.starts_with("ARP")
                && !name.starts_with("MSI")
        };
        let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, columns) in [
            ("CustomAction", &["Target"][..]),
            (
                "ServiceInstall",
                &["Name", "DisplayName", "StartName", "Password", "Arguments"][..],
            ),
            ("ServiceControl", &["Name", "Arguments"][..]),
            ("Registry", &["Key", "Name", "Value"][..]),
            ("IniFile", &["FileName", "Section", "Key", "Value"][..]),
        ] {
            for column in columns {
                for (row, value) in self.cells(table, column) {
                    for name in text(value).map(property_references).unwrap_or_default() {
                        if needs_value(&name) {
                            needed
                                .entry(name)
                                .or_default()
                                .insert(format!("{table} {}", text(&row[0]).unwrap_or("?")));
                        }
                    }
                }
            }
        }
        for row in self.rows("LaunchCondition") {
            let condition = text(&row[0]).unwrap_or_default();
            for name in condition_identifiers(condition) {
                if needs_value(&name) {
                    needed
                        .entry(name)
                        .or_default()
                        .insert(format!("LaunchCondition {condition:?}"));
                }
            }
        }
        for (name, users) in needed {
            fails.push(format!(
                "{name} has no default but {} uses it: it would have to come from the msiexec command line, which Group Policy cannot pass (give it a default in the Property table)",
                users.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        for setting in self.facts.settings.iter().flatten() {
            if setting.default.is_empty() {
                fails.push(format!("site setting {} has no default", setting.property));
            } else if let Err(reason) = check_value(setting.kind, &setting.default) {
                fails.push(format!(
                    "site setting {} default {:?}: {reason}",
                    setting.property, setting.default
                ));
            }
        }
        let settings = self
            .facts
            .settings
            .iter()
            .flatten()
            .map(|s| format!("{}={}", s.property, s.default))
            .collect::<Vec<_>>();
        let ok = if settings.is_empty() {
            "every property the package uses has a default".to_string()
        } else {
            format!(
                "every property the package uses has a default (site settings {})",
                settings.join(", ")
            )
        };
        outcome("no-command-line", fails, Vec::new(), &ok)
    }

    fn no_reboot(&self) -> Check {
        let mut fails = Vec::new();
        for table in [
            "InstallExecuteSequence",
            "AdminExecuteSequence",
            "AdvtExecuteSequence",
        ] {
            let actions = self.sequence_actions(table);
            for action in ["ScheduleReboot", "ForceReboot"] {
                if actions.contains_key(action) {
                    fails.push(format!("{table} schedules {action}"));
                }
            }
        }
        if self.property("REBOOT") != Some("ReallySuppress") {
            fails.push(format!(
                "REBOOT is {}: set REBOOT=ReallySuppress so a file in use never restarts the computer during a boot-time install",
                self.property("REBOOT").map_or("unset".to_string(), |v| format!("{v:?}"))
            ));
        }
        if !matches!(
            self.property("MSIRESTARTMANAGERCONTROL"),
            Some("Disable") | Some("DisableShutdown")
        ) {
            fails.push(format!(
                "MSIRESTARTMANAGERCONTROL is {}: set Disable so Restart Manager does not stop applications or ask for a restart",
                self.property("MSIRESTARTMANAGERCONTROL")
                    .map_or("unset".to_string(), |v| format!("{v:?}"))
            ));
        }
        // A running service holds its exe: without a stop before the files are replaced, an
        // upgrade needs a reboot.
        let events: BTreeMap<String, i32> = self
            .cells("ServiceControl", "Event")
            .into_iter()
            .filter_map(|(row, event)| {
                let name = self
                    .column("ServiceControl", "Name")
                    .and_then(|i| text(&row[i]))?;
                Some((name.to_string(), int(event)?))
            })
            .fold(BTreeMap::new(), |mut acc, (name, event)| {
                *acc.entry(name).or_insert(0) |= event;
                acc
            });
        for (_, name) in self.cells("ServiceInstall", "Name") {
            let Some(name) = text(name) else { continue };
            if events.get(name).copied().unwrap_or(0) & 0x2 == 0 {
                fails.push(format!(
                    "service {name} is not stopped before its files are replaced (ServiceControl event 0x2): an upgrade would need a reboot"
                ));
            }
        }
        outcome(
            "no-reboot",
            fails,
            Vec::new(),
            "REBOOT=ReallySuppress, MSIRESTARTMANAGERCONTROL=Disable, no ScheduleReboot/ForceReboot, services stopped before files are replaced",
        )
    }

    fn lint_rules(&self, id: &'static str, rules: &[&str], table: Option<&str>, ok: &str) -> Check {
        let fails: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter(|f| {
                rules.contains(&f.rule)
                    && table.is_none_or(|t| f.table.as_deref() == Some(t) || f.rule != "ICE72")
            })
            .map(ToString::to_string)
            .collect();
        outcome(id, fails, Vec::new(), ok)
    }

    fn lint_errors(&self) -> Check {
        let errors: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let warnings = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        if errors.is_empty() {
            pass("lint", format!("no lint errors ({warnings} warning(s))"))
        } else {
            let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
            let more = errors.len().saturating_sub(shown.len());
            Check {
                id: "lint",
                status: Status::Fail,
                message: format!(
                    "{} lint error(s): {}{}",
                    errors.len(),
                    shown.join("; "),
                    if more > 0 {
                        format!("; and {more} more")
                    } else {
                        String::new()
                    }
                ),
            }
        }
    }

    fn against_previous(&self, previous: &Path) -> Vec<Check> {
        let fail = |id: &'static str, message: String| Check {
            id,
            status: Status::Fail,
            message,
        };
        let old = match read_package_facts(previous) {
            Ok(facts) => facts,
            Err(e) => return vec![fail("upgrade-code", format!("previous release: {e}"))],
        };
        let new = &self.facts;
        let mut checks = Vec::new();
        checks.push(if old.upgrade_code.eq_ignore_ascii_case(&new.upgrade_code) && !new.upgrade_code.is_empty() {
            pass("upgrade-code", format!("same UpgradeCode {} as {}", new.upgrade_code, previous.display()))
        } else {
            fail("upgrade-code", format!(
                "UpgradeCode {} differs from the previous release's {}: Windows Installer sees another product and installs both side by side",
                new.upgrade_code, old.upgrade_code
            ))
        });
        checks.push(if !old.product_code.eq_ignore_ascii_case(&new.product_code) {
            pass("product-code", format!("new ProductCode {} (previous {})", new.product_code, old.product_code))
        } else {
            fail("product-code", format!(
                "ProductCode {} is the previous release's: a changed package with the same ProductCode is refused (1638) or needs a minor-upgrade reinstall that Group Policy does not do",
                new.product_code
            ))
        });
        let version = |v: &str| -> Option<(u32, u32, u32)> {
            let mut fields = v.split('.').map(|f| f.parse::<u32>().ok());
            Some((
                fields.next()??,
                fields.next()??,
                fields.next().unwrap_or(Some(0))?,
            ))
        };
        checks.push(match (version(&old.product_version), version(&new.product_version)) {
            (Some(o), Some(n)) if n > o => pass(
                "version",
                format!("{} > {} (major.minor.build)", new.product_version, old.product_version),
            ),
            (Some(_), Some(_)) => fail("version", format!(
                "ProductVersion {} is not higher than the previous {} in its first three fields (Windows Installer ignores the fourth): the upgrade would not replace it",
                new.product_version, old.product_version
            )),
            _ => fail("version", format!(
                "cannot compare ProductVersion {:?} with the previous {:?}",
                new.product_version, old.product_version
            )),
        });
        checks.push(self.removes_previous(&old));
        checks.push(
            match read_tables(previous, &["Component", "Directory", "File", "Registry"]) {
                Ok(old_tables) => self.component_ids(&old_tables, previous),
                Err(e) => fail("component-ids", format!("previous release: {e}")),
            },
        );
        checks
    }

    /// An Upgrade row of this package finds the previous version and removes it.
    fn removes_previous(&self, old: &PackageFacts) -> Check {
        let col = |name: &str| self.column("Upgrade", name);
        let parse = |v: &str| -> Vec<u32> {
            v.split('.')
                .take(3)
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        };
        let old_version = parse(&old.product_version);
        let finds = self.rows("Upgrade").iter().any(|row| {
            let get = |name: &str| col(name).map(|i| &row[i]);
            let code = get("UpgradeCode").and_then(text).unwrap_or_default();
            let attributes = get("Attributes").and_then(int).unwrap_or(0);
            let min = get("VersionMin").and_then(text);
            let max = get("VersionMax").and_then(text);
            let above_min = min.is_none_or(|m| {
                let m = parse(m);
                old_version > m || (old_version == m && attributes & 0x100 != 0)
            });
            let below_max = max.is_none_or(|m| {
                let m = parse(m);
                old_version < m || (old_version == m && attributes & 0x200 != 0)
            });
            code.eq_ignore_ascii_case(&old.upgrade_code)
                && attributes & 0x2 == 0
                && above_min
                && below_max
        });
        let scheduled = self
            .sequence_actions("InstallExecuteSequence")
            .contains_key("RemoveExistingProducts");
        if finds && scheduled {
            pass(
                "upgrade-removes-previous",
                format!(
                    "an Upgrade row finds version {} and RemoveExistingProducts removes it",
                    old.product_version
                ),
            )
        } else {
            Check {
                id: "upgrade-removes-previous",
                status: Status::Fail,
                message: if finds {
                    "RemoveExistingProducts is not sequenced: the previous version would stay installed".into()
                } else {
                    format!(
                        "no Upgrade row (UpgradeCode {}, not detect-only) covers version {}: the previous version would stay installed",
                        old.upgrade_code, old.product_version
                    )
                },
            }
        }
    }

    fn component_ids(&self, old_tables: &BTreeMap<String, Table>, previous: &Path) -> Check {
        let new_paths = key_paths(&self.tables);
        let old_paths = key_paths(old_tables);
        let mut fails = Vec::new();
        let old_by_guid: BTreeMap<&str, &str> = old_paths
            .iter()
            .map(|(p, g)| (g.as_str(), p.as_str()))
            .collect();
        for (path, guid) in &new_paths {
            match old_paths.get(path) {
                Some(old) if !old.eq_ignore_ascii_case(guid) => fails.push(format!(
                    "{path}: component GUID {old} became {guid} (the same resource must keep its component GUID)"
                )),
                _ => {}
            }
            if let Some(old_path) = old_by_guid.get(guid.as_str()) {
                if *old_path != path.as_str() {
                    fails.push(format!(
                        "component GUID {guid} moved from {old_path} to {path} (a component GUID must keep its key path)"
                    ));
                }
            }
        }
        let same = new_paths
            .keys()
            .filter(|p| old_paths.contains_key(*p))
            .count();
        outcome(
            "component-ids",
            fails,
            Vec::new(),
            &format!(
                "{same} key path(s) shared with {} keep their component GUIDs ({} added, {} removed)",
                previous.display(),
                new_paths.len() - same,
                old_paths.len() - same
            ),
        )
    }
}

/// Component key path (a readable, case-folded target) → component GUID, for components with a
/// GUID.
fn key_paths(tables: &BTreeMap<String, Table>) -> BTreeMap<String, String> {
    let rows = |t: &str| tables.get(t).map_or(&[][..], |t| &t.rows[..]);
    let col = |t: &str, c: &str| {
        tables
            .get(t)
            .and_then(|t| t.columns.iter().position(|x| x.name == c))
    };
    let dirs: BTreeMap<String, (Option<String>, String)> = rows("Directory")
        .iter()
        .filter_map(|r| {
            let key = text(&r[0])?.to_string();
            let parent = r.get(1).and_then(text).map(str::to_string);
            let default = r.get(2).and_then(text).unwrap_or(".");
            // DefaultDir: "[target][:source]", each "[short|]long"; "." = the parent itself.
            let target = default.split(':').next().unwrap_or(".");
            let long = target.rsplit('|').next().unwrap_or(target).to_string();
            Some((key, (parent, long)))
        })
        .collect();
    // Standard folders (children of the root) are named by their property, the rest by their
    // long target names, so the path means the same in packages from different tools.
    let dir_path = |start: &str| -> String {
        let mut parts = Vec::new();
        let mut key = start.to_string();
        for _ in 0..64 {
            let Some((parent, name)) = dirs.get(&key) else {
                parts.push(key);
                break;
            };
            match parent {
                None => {
                    parts.push(key);
                    break;
                }
                Some(p) if dirs.get(p).is_some_and(|(pp, _)| pp.is_none()) => {
                    parts.push(key);
                    break;
                }
                Some(p) => {
                    if name != "." {
                        parts.push(name.clone());
                    }
                    key = p.clone();
                }
            }
        }
        parts.reverse();
        parts.join("\\")
    };
    let files: BTreeMap<String, String> = match (col("File", "FileName"), tables.get("File")) {
        (Some(i), Some(_)) => rows("File")
            .iter()
            .filter_map(|r| {
                let name = text(&r[i])?;
                Some((
                    text(&r[0])?.to_string(),
                    name.rsplit('|').next().unwrap_or(name).to_string(),
                ))
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let registry: BTreeMap<String, String> = rows("Registry")
        .iter()
        .filter_map(|r| {
            let root = int(r.get(1)?)?;
            let key = text(r.get(2)?)?;
            let name = r.get(3).and_then(text).unwrap_or("(default)");
            Some((
                text(&r[0])?.to_string(),
                format!("registry {root}\\{key}\\{name}"),
            ))
        })
        .collect();
    let mut out = BTreeMap::new();
    let (Some(guid_col), Some(dir_col), Some(key_col)) = (
        col("Component", "ComponentId"),
        col("Component", "Directory_"),
        col("Component", "KeyPath"),
    ) else {
        return out;
    };
    for row in rows("Component") {
        let Some(guid) = text(&row[guid_col]) else {
            continue;
        };
        let dir = text(&row[dir_col]).unwrap_or_default();
        let path = match text(&row[key_col]) {
            None => format!("folder {}", dir_path(dir)),
            Some(key) => match (files.get(key), registry.get(key)) {
                (Some(file), _) => {
                    // A file's directory is its component's.
                    format!("file {}\\{}", dir_path(dir), file)
                }
                (None, Some(reg)) => reg.clone(),
                (None, None) => format!("keypath {key}"),
            },
        };
        out.insert(path.to_lowercase(), guid.to_string());
    }
    out
}

fn check_transform(msi: &Path, pkg: &Pkg, path: &Path) -> Check {
    let id = "transform";
    let name = path.display();
    let fail = |message: String| Check {
        id,
        status: Status::Fail,
        message,
    };
    let file = match TransformFile::read(path) {
        Ok(file) => file,
        Err(e) => return fail(e.to_string()),
    };
    let applied = match apply(msi, &file) {
        Ok(applied) => applied,
        Err(e) => return fail(format!("{name}: {e}")),
    };
    let mut fails: Vec<String> = Vec::new();
    if !applied.refusals.is_empty() {
        fails.push(format!(
            "Windows Installer would refuse it: {}",
            applied.refusals.join("; ")
        ));
    }
    let mut warns = Vec::new();
    for problem in &applied.problems {
        if problem.suppressed {
            warns.push(format!(
                "{} (error suppressed by the transform): {}",
                problem.table, problem.message
            ));
        } else {
            fails.push(format!("{}: {}", problem.table, problem.message));
        }
    }
    let changed = property_changes(&applied);
    let settings: BTreeMap<&str, _> = pkg
        .facts
        .settings
        .iter()
        .flatten()
        .map(|s| (s.property.as_str(), s.kind))
        .collect();
    for (property, value) in &changed {
        match settings.get(property.as_str()) {
            Some(kind) => {
                if let Err(reason) = check_value(*kind, value) {
                    fails.push(format!("{property}={value:?}: {reason}"));
                }
            }
            None => warns.push(format!(
                "changes {property}, which the package does not declare site-settable"
            )),
        }
    }
    // What the transform must not undo.
    if let Some(properties) = applied.tables.get("Property") {
        let after = |name: &str| {
            properties
                .get(&[Value::Str(name.to_string())], "Value")
                .and_then(text)
                .map(str::to_string)
        };
        if pkg.property("ALLUSERS") == Some("1") && after("ALLUSERS").as_deref() != Some("1") {
            fails.push("sets ALLUSERS to something other than 1: no longer per-machine".into());
        }
        if pkg.property("REBOOT") == Some("ReallySuppress")
            && after("REBOOT").as_deref() != Some("ReallySuppress")
        {
            fails
                .push("changes REBOOT=ReallySuppress: the install may restart the computer".into());
        }
    }
    let other_tables: BTreeSet<&str> = applied
        .changes
        .iter()
        .map(|c| c.table.as_str())
        .filter(|t| *t != "Property")
        .collect();
    if !other_tables.is_empty() {
        warns.push(format!(
            "also changes {}",
            other_tables.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let sets = changed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let scope = if file.summary.validation & transform::validate::PRODUCT != 0 {
        "this package only"
    } else {
        "this product line"
    };
    let ok = format!("{name} applies cleanly ({scope}): sets {sets}");
    let mut check = outcome(id, fails, warns, &ok);
    if check.status != Status::Pass {
        check.message = format!("{name}: {}", check.message);
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_references_skip_files_components_and_environment() {
        assert_eq!(
            property_references(
                r#"--config "[DATADIR]config.json" [#exe] [$comp] [%PATH] [LISTEN_PORT] [\[]"#
            ),
            vec!["DATADIR".to_string(), "LISTEN_PORT".to_string()]
        );
    }

    #[test]
    fn condition_identifiers_skip_quoted_text_and_operators() {
        assert_eq!(
            condition_identifiers(r#"NOT Installed AND (UILevel > 3 OR ACCEPT = "NOT YES")"#),
            vec!["Installed", "UILevel", "ACCEPT"]
        );
        assert!(is_public("ACCEPT"));
        assert!(!is_public("Installed"));
        assert!(!is_public("_1"));
    }
}
