//! This package as an upgrade of the previous release: same UpgradeCode, new ProductCode,
//! higher version, an Upgrade row that removes the previous version, stable component GUIDs.

use std::collections::BTreeMap;
use std::path::Path;

use super::{outcome, pass, Check, Pkg, Status};
use crate::read::{Table, Value};
use crate::transform::{read_package_facts, read_tables, PackageFacts};

impl Pkg {
    pub(super) fn against_previous(&self, previous: &Path) -> Vec<Check> {
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
            let code = get("UpgradeCode")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let attributes = get("Attributes").and_then(Value::as_int).unwrap_or(0);
            let min = get("VersionMin").and_then(Value::as_str);
            let max = get("VersionMax").and_then(Value::as_str);
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
            .sequence("InstallExecuteSequence")
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
            let key = r[0].as_str()?.to_string();
            let parent = r.get(1).and_then(Value::as_str).map(str::to_string);
            let default = r.get(2).and_then(Value::as_str).unwrap_or(".");
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
                let name = r[i].as_str()?;
                Some((
                    r[0].as_str()?.to_string(),
                    name.rsplit('|').next().unwrap_or(name).to_string(),
                ))
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let registry: BTreeMap<String, String> = rows("Registry")
        .iter()
        .filter_map(|r| {
            let root = r.get(1)?.as_int()?;
            let key = r.get(2)?.as_str()?;
            let name = r.get(3).and_then(Value::as_str).unwrap_or("(default)");
            Some((
                r[0].as_str()?.to_string(),
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
        let Some(guid) = row[guid_col].as_str() else {
            continue;
        };
        let dir = row[dir_col].as_str().unwrap_or_default();
        let path = match row[key_col].as_str() {
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
