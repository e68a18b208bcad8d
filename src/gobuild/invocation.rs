//! The `go` command line of a build: the user's `ldflags`, `flags`, `tags` and `env` rendered
//! from their templates, around the flags that keep the build reproducible.
//!
//! *Invariant:* whatever is configured, `-s -w -buildid=`, `-trimpath`, `-buildvcs=false`,
//! `CGO_ENABLED=0`, `SOURCE_DATE_EPOCH` and a cleared `GOFLAGS` are in force (they come after
//! the user's, so they win), and nothing here runs a process.

use std::path::Path;
use std::process::Command;

use crate::config::METADATA_TABLE;
use crate::environment::Variables;
use crate::gotemplate::{self, TemplateData};
use crate::stamp::Stamp;

/// How the exe is stamped and built, as configured (`ldflags`, `flags`, `tags`, `env` in
/// [`METADATA_TABLE`]), each entry a GoReleaser template.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stamping<'a> {
    /// Linker flags, joined with spaces; empty: `-X` of the `version_package`'s `version`,
    /// `commit`, `commitTime` and `dirty`.
    pub ldflags: &'a [String],
    /// Extra `go build` flags, one argument each (`-mod=vendor`).
    pub flags: &'a [String],
    /// Build tags.
    pub tags: &'a [String],
    /// `NAME=value` for the `go` process.
    pub env: &'a [String],
}

/// Variables the build always sets itself; `CGO_ENABLED` may be repeated as `0`.
const FIXED_ENV: &[&str] = &[
    "GOOS",
    "GOARCH",
    "GOFLAGS",
    "SOURCE_DATE_EPOCH",
    "CGO_ENABLED",
];

/// A configuration entry that cannot work: `key` (`flags[1]`) and why, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{METADATA_TABLE} key `{key}`: {message}")]
pub struct StampingError {
    pub key: String,
    pub message: String,
}

impl Stamping<'_> {
    /// Checks what can be checked without a stamp: every template parses, no flag or variable
    /// fights the ones the build sets itself.
    pub fn check(&self) -> Result<(), StampingError> {
        for (key, entries) in self.lists() {
            for (i, entry) in entries.iter().enumerate() {
                let error = |message: String| StampingError {
                    key: format!("{key}[{i}]"),
                    message,
                };
                gotemplate::parse(entry).map_err(|e| error(e.to_string()))?;
                match key {
                    "flags" => check_flag(entry).map_err(error)?,
                    "tags" => check_tag(entry).map_err(error)?,
                    "env" => check_env(entry).map_err(error)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn lists(&self) -> [(&'static str, &[String]); 4] {
        [
            ("ldflags", self.ldflags),
            ("flags", self.flags),
            ("tags", self.tags),
            ("env", self.env),
        ]
    }
}

fn check_flag(flag: &str) -> Result<(), String> {
    let name = flag.trim_start_matches('-');
    let name = name.split('=').next().unwrap_or(name);
    let key = match name {
        "ldflags" => "ldflags",
        "tags" => "tags",
        "o" => return Err("winrelease chooses the output file; remove `-o`".into()),
        _ if !flag.starts_with('-') => {
            return Err(format!(
                "{flag:?} is not a flag; `flags` holds `go build` flags (\"-mod=vendor\"), one per entry"
            ))
        }
        _ => return Ok(()),
    };
    Err(format!("set -{name} with the `{key}` key, not in `flags`"))
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() || tag.contains(|c: char| c == ',' || c.is_whitespace()) {
        return Err(format!(
            "{tag:?}: one build tag per entry, without commas or spaces"
        ));
    }
    Ok(())
}

fn check_env(entry: &str) -> Result<(), String> {
    let Some((name, value)) = entry.split_once('=') else {
        return Err(format!("{entry:?} is not NAME=value"));
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("{name:?} is not a variable name"));
    }
    if FIXED_ENV.contains(&name) && !(name == "CGO_ENABLED" && value == "0") {
        return Err(format!(
            "{name} is set by winrelease for every build (GOOS=windows GOARCH=amd64 CGO_ENABLED=0, SOURCE_DATE_EPOCH=<commit time>, GOFLAGS cleared)\nfix: remove it from `env`"
        ));
    }
    Ok(())
}

/// One `-X importpath.name=value` of the rendered linker flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XFlag {
    /// `importpath.name` (`main.version` for the main package).
    pub variable: String,
    pub value: String,
}

impl XFlag {
    /// The package path and the variable's name.
    pub fn split(&self) -> Option<(&str, &str)> {
        self.variable.rsplit_once('.')
    }
}

/// A `go` invocation for one build: environment, flags, and what it stamps.
#[derive(Debug, Clone)]
pub struct GoInvocation {
    /// Set on the `go` process, in order (later wins); `GOFLAGS` is removed.
    pub env: Vec<(String, String)>,
    /// Build flags, ending in `-ldflags=…`.
    pub flags: Vec<String>,
    /// The rendered linker flags.
    pub ldflags: String,
    /// Every `-X` in [`Self::ldflags`].
    pub stamps: Vec<XFlag>,
}

/// What [`invocation`] renders from.
#[derive(Debug, Clone, Copy)]
pub struct InvocationInputs<'a> {
    pub stamping: Stamping<'a>,
    /// The package of the default `-X` flags.
    pub version_package: &'a str,
    pub stamp: &'a Stamp,
    /// `{{.ProjectName}}`.
    pub exe_name: &'a str,
    /// `{{.Env.NAME}}`.
    pub vars: &'a Variables,
}

/// Renders the configured templates into a `go` invocation for windows/amd64.
pub fn invocation(inputs: &InvocationInputs) -> Result<GoInvocation, StampingError> {
    let s = &inputs.stamping;
    s.check()?;
    let data = TemplateData {
        stamp: inputs.stamp,
        project_name: inputs.exe_name,
        env: inputs.vars,
    };
    let render = |key: &str, entries: &[String]| -> Result<Vec<String>, StampingError> {
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                gotemplate::render(entry, &data).map_err(|e| StampingError {
                    key: format!("{key}[{i}]"),
                    message: e.to_string(),
                })
            })
            .collect()
    };
    let ldflags = if s.ldflags.is_empty() {
        let vp = inputs.version_package;
        let default = format!("-s -w -buildid= -X {vp}.version={{{{.Version}}}} -X {vp}.commit={{{{.Commit}}}} -X {vp}.commitTime={{{{.CommitDate}}}} -X {vp}.dirty={{{{.IsGitDirty}}}}");
        render("version_package", &[default])?.remove(0)
    } else {
        format!(
            "{} -s -w -buildid=",
            render("ldflags", s.ldflags)?.join(" ")
        )
    };
    let mut env: Vec<(String, String)> = render("env", s.env)?
        .into_iter()
        .map(|e| {
            let (name, value) = e.split_once('=').expect("checked: NAME=value");
            (name.to_string(), value.to_string())
        })
        .collect();
    env.extend(
        [
            ("GOOS", "windows".to_string()),
            ("GOARCH", "amd64".to_string()),
            ("CGO_ENABLED", "0".to_string()),
            ("SOURCE_DATE_EPOCH", inputs.stamp.commit_time.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let mut flags = render("flags", s.flags)?;
    flags.extend(["-trimpath".to_string(), "-buildvcs=false".to_string()]);
    let tags = render("tags", s.tags)?;
    if !tags.is_empty() {
        flags.push(format!("-tags={}", tags.join(",")));
    }
    flags.push(format!("-ldflags={ldflags}"));
    Ok(GoInvocation {
        env,
        flags,
        stamps: x_flags(&ldflags),
        ldflags,
    })
}

impl GoInvocation {
    /// `go <subcommand> <flags>` in `module_dir` with this environment (add `-o` and the package).
    pub fn command(&self, module_dir: &Path, subcommand: &str) -> Command {
        let mut cmd = Command::new("go");
        cmd.current_dir(module_dir)
            .arg(subcommand)
            .args(&self.flags)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // Flags from the environment would make the build depend on the machine.
            .env_remove("GOFLAGS");
        cmd
    }

    /// The build as a shell line, for `-v` output: the fixed variables first.
    pub fn command_line(&self, out: &Path, package: &str) -> String {
        let n = self.env.len();
        let (user, fixed) = self.env.split_at(n.saturating_sub(4));
        let vars: Vec<String> = fixed
            .iter()
            .chain(user)
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        let flags: Vec<String> = self.flags.iter().map(|f| shell_quote(f)).collect();
        format!(
            "{} go build {} -o {} {package}",
            vars.join(" "),
            flags.join(" "),
            out.display()
        )
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Splits like Go's `cmd/internal/quoted.Split`, which is how `go build` reads `-ldflags`:
/// on spaces, a field may be wrapped whole in single or double quotes.
pub fn split_quoted(s: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let first = rest.chars().next().expect("not empty");
        if first == '\'' || first == '"' {
            if let Some(end) = rest[1..].find(first) {
                fields.push(rest[1..1 + end].to_string());
                rest = rest[end + 2..].trim_start();
                continue;
            }
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    fields
}

/// Every `-X name=value` (also `-X=name=value`, `--X …`) in linker flags.
pub fn x_flags(ldflags: &str) -> Vec<XFlag> {
    let fields = split_quoted(ldflags);
    let mut out = Vec::new();
    let mut i = 0;
    while i < fields.len() {
        let flag = fields[i]
            .strip_prefix("--")
            .or_else(|| fields[i].strip_prefix('-'));
        let arg = match flag {
            Some("X") => {
                i += 1;
                fields.get(i).cloned()
            }
            Some(f) => f.strip_prefix("X=").map(str::to_string),
            None => None,
        };
        if let Some((variable, value)) = arg.as_deref().and_then(|a| a.split_once('=')) {
            out.push(XFlag {
                variable: variable.to_string(),
                value: value.to_string(),
            });
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            version: semver::Version::parse("1.2.3").unwrap(),
            tag: Some("v1.2.3".into()),
            distance: 0,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            commit_time: 1_772_600_767,
            dirty: false,
            warnings: vec![],
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn invoke(stamping: Stamping) -> Result<GoInvocation, StampingError> {
        let vars: Variables = [("WHO".to_string(), "ci".to_string())]
            .into_iter()
            .collect();
        invocation(&InvocationInputs {
            stamping,
            version_package: "main",
            stamp: &stamp(),
            exe_name: "widget-tool",
            vars: &vars,
        })
    }

    #[test]
    fn without_ldflags_the_version_package_gets_the_four_variables() {
        let inv = invoke(Stamping::default()).unwrap();
        assert_eq!(
            inv.ldflags,
            "-s -w -buildid= -X main.version=1.2.3 -X main.commit=0123456789abcdef0123456789abcdef01234567 -X main.commitTime=2026-03-04T05:06:07Z -X main.dirty=false"
        );
        assert_eq!(
            inv.flags,
            strings(&[
                "-trimpath",
                "-buildvcs=false",
                &format!("-ldflags={}", inv.ldflags)
            ])
        );
        assert_eq!(inv.stamps.len(), 4);
        assert_eq!(
            inv.stamps[3],
            XFlag {
                variable: "main.dirty".into(),
                value: "false".into()
            }
        );
    }

    #[test]
    fn configured_flags_come_before_the_reproducibility_flags() {
        let (ldflags, flags, tags, env) = (
            strings(&[
                "-s -w -X 'main.by={{.Env.WHO}} at {{.ShortCommit}}'",
                "-X=main.v={{.Version}}",
            ]),
            strings(&["-mod=vendor"]),
            strings(&["netgo", "osusergo"]),
            strings(&["GOPRIVATE=example.org/*", "CGO_ENABLED=0"]),
        );
        let inv = invoke(Stamping {
            ldflags: &ldflags,
            flags: &flags,
            tags: &tags,
            env: &env,
        })
        .unwrap();
        assert_eq!(
            inv.ldflags,
            "-s -w -X 'main.by=ci at 0123456' -X=main.v=1.2.3 -s -w -buildid="
        );
        assert_eq!(
            &inv.flags[..4],
            strings(&[
                "-mod=vendor",
                "-trimpath",
                "-buildvcs=false",
                "-tags=netgo,osusergo"
            ])
        );
        assert_eq!(inv.env[0], ("GOPRIVATE".into(), "example.org/*".into()));
        assert_eq!(inv.env.last().unwrap().0, "SOURCE_DATE_EPOCH");
        let vars: Vec<_> = inv
            .stamps
            .iter()
            .map(|x| (x.variable.as_str(), x.value.as_str()))
            .collect();
        assert_eq!(vars, [("main.by", "ci at 0123456"), ("main.v", "1.2.3")]);
        let line = inv.command_line(Path::new("/out/x.exe"), "./cmd/x");
        assert!(line.starts_with("GOOS=windows GOARCH=amd64 CGO_ENABLED=0 SOURCE_DATE_EPOCH=1772600767 GOPRIVATE='example.org/*' CGO_ENABLED=0 go build -mod=vendor"), "{line}");
    }

    #[test]
    fn conflicting_entries_are_refused_naming_the_key() {
        let bad = |flags: &[&str], env: &[&str], tags: &[&str]| {
            let (f, e, t) = (strings(flags), strings(env), strings(tags));
            Stamping {
                flags: &f,
                env: &e,
                tags: &t,
                ..Default::default()
            }
            .check()
            .unwrap_err()
        };
        let e = bad(&["-trimpath", "-ldflags=-s"], &[], &[]);
        assert_eq!(e.key, "flags[1]");
        assert!(e.message.contains("`ldflags` key"), "{e}");
        assert!(bad(&["-o", "x"], &[], &[]).message.contains("-o"));
        assert!(bad(&["vendor"], &[], &[]).message.contains("not a flag"));
        let e = bad(&[], &["GOOS=linux"], &[]);
        assert!(
            e.to_string().starts_with(
                "[workspace.metadata.winrelease] key `env[0]`: GOOS is set by winrelease"
            ),
            "{e}"
        );
        assert!(bad(&[], &["CGO_ENABLED=1"], &[])
            .message
            .contains("CGO_ENABLED"));
        assert!(bad(&[], &["NOEQUALS"], &[]).message.contains("NAME=value"));
        assert!(bad(&[], &[], &["a,b"]).message.contains("one build tag"));
    }

    #[test]
    fn a_missing_variable_names_the_key_and_the_variable() {
        let ldflags = strings(&["-X main.v={{.Version}}", "-X main.b={{.Env.NOPE}}"]);
        let e = invoke(Stamping {
            ldflags: &ldflags,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "ldflags[1]");
        assert!(e.message.contains("NOPE is not set"), "{e}");
    }

    #[test]
    fn ldflags_split_as_go_splits_them() {
        assert_eq!(
            split_quoted(r#" -X "main.a=x y"  -X 'b=c' d'e f "#),
            strings(&["-X", "main.a=x y", "-X", "b=c", "d'e", "f"])
        );
        let xs = x_flags(r#"-s --X a.b=1 -X=e.f=3 -Xnot=4"#);
        let vars: Vec<_> = xs.iter().map(|x| x.variable.as_str()).collect();
        assert_eq!(vars, ["a.b", "e.f"]);
    }
}
