//! GoReleaser-style templates for the build's `ldflags`, `flags`, `tags` and `env`:
//! `{{.Version}}`, `{{ .ShortCommit }}`, `{{.Env.NAME}}`, so a GoReleaser user pastes their line.
//!
//! Only field references are understood (with Go's `{{-`/`-}}` whitespace trimming and
//! `{{/* comments */}}`); functions, pipelines and conditionals are refused, not half-rendered.
//! Every value comes from the [`Stamp`] (the commit), the project and the environment the edge
//! read: the wall clock never reaches a template (`{{.Date}}` is the commit date).
//!
//! *Invariant:* a template either renders completely or fails naming the field; an unknown
//! field is found by [`parse`] alone, before anything is built.

use std::fmt;

use crate::environment::Variables;
use crate::stamp::Stamp;

/// Fields a template may name, as GoReleaser spells them, each with what it renders to.
pub const FIELDS: &[(&str, &str)] = &[
    ("ProjectName", "the exe name (`exe_name`)"),
    (
        "Version",
        "the version released, without a leading v (1.4.1-dev.7+g1a2b3c4)",
    ),
    (
        "Tag",
        "the nearest tag, with its v (v1.4.0; v0.0.0 when there is none)",
    ),
    (
        "Commit",
        "the full commit hash (as GoReleaser, the same as FullCommit)",
    ),
    ("FullCommit", "the full commit hash"),
    ("ShortCommit", "the abbreviated commit hash (7 characters)"),
    ("CommitDate", "the commit time, RFC 3339 UTC"),
    ("CommitTimestamp", "the commit time, Unix seconds"),
    (
        "Date",
        "the commit time, RFC 3339 UTC (no wall clock: builds are reproducible)",
    ),
    ("Timestamp", "the commit time, Unix seconds (no wall clock)"),
    ("IsGitDirty", "true or false"),
    ("IsGitClean", "true or false"),
    ("GitTreeState", "clean or dirty"),
    ("Major", "the version's major number"),
    ("Minor", "the version's minor number"),
    ("Patch", "the version's patch number"),
    (
        "Prerelease",
        "the version's pre-release part (dev.7), empty for a release",
    ),
    ("RawVersion", "Major.Minor.Patch"),
    ("Os", "windows"),
    ("Arch", "amd64"),
];

/// GoReleaser fields winrelease deliberately does not offer, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("Branch", "the same commit must build the same bytes on every branch; pass a branch name with {{.Env.NAME}} if you need one"),
    ("Now", "a reproducible build sees no wall clock; use {{.CommitDate}}"),
    ("PreviousTag", "winrelease does not compute it; use {{.Tag}}"),
    ("IsSnapshot", "winrelease has no snapshot mode; a build off a tag has a dev version ({{.Prerelease}})"),
];

/// Why a template cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` with no `}}` after it.
    #[error("malformed template: `{{{{` at character {at} has no closing `}}}}`")]
    Unclosed { at: usize },
    /// A field winrelease does not know; `suggestion` is the closest known one.
    #[error("unknown template field {{{{.{name}}}}}{}", unknown_fix(suggestion.as_deref()))]
    Unknown {
        name: String,
        suggestion: Option<String>,
    },
    /// A GoReleaser field winrelease does not offer.
    #[error("template field {{{{.{name}}}}} is not supported: {reason}")]
    Refused { name: String, reason: String },
    /// Anything but a field reference.
    #[error("unsupported template action {{{{{action}}}}}: only fields such as {{{{.Version}}}} and {{{{.Env.NAME}}}} are rendered (no functions, pipelines or conditionals)")]
    Unsupported { action: String },
    /// `{{.Env.NAME}}` with `NAME` not in the environment.
    #[error("{{{{.Env.{name}}}}}: the environment variable {name} is not set\nfix: set {name} in the environment of the build, or remove it from the template")]
    MissingEnv { name: String },
}

fn unknown_fix(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {{{{.{s}}}}}?"),
        None => {
            let names: Vec<String> = FIELDS
                .iter()
                .map(|(n, _)| format!("{{{{.{n}}}}}"))
                .collect();
            format!(
                "\nfix: use one of {}, or {{{{.Env.NAME}}}} (README \"Stamping\")",
                names.join(", ")
            )
        }
    }
}

/// A field a template refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// One of [`FIELDS`].
    Named(&'static str),
    /// `{{.Env.NAME}}`.
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A parsed template: literal text and field references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Parses `text`, checking every field name.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut text_part = String::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let before = &rest[..open];
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            at: text[..text.len() - rest.len() + open].chars().count(),
        })?;
        let mut action = &after[..close];
        let mut before = if trim_next {
            before.trim_start()
        } else {
            before
        };
        // Go's trim markers need a space: `{{- x}}` trims, `{{-3}}` is the number -3.
        if let Some(a) = action.strip_prefix("- ") {
            before = before.trim_end();
            action = a;
        }
        trim_next = false;
        if let Some(a) = action.strip_suffix(" -") {
            trim_next = true;
            action = a;
        }
        text_part.push_str(before);
        if let Some(field) = parse_action(action.trim())? {
            if !text_part.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text_part)));
            }
            parts.push(Part::Field(field));
        }
        rest = &after[close + 2..];
    }
    text_part.push_str(if trim_next { rest.trim_start() } else { rest });
    if !text_part.is_empty() {
        parts.push(Part::Text(text_part));
    }
    Ok(Template { parts })
}

/// The field an action names, `None` for a comment.
fn parse_action(action: &str) -> Result<Option<Field>, TemplateError> {
    if action.starts_with("/*") && action.ends_with("*/") {
        return Ok(None);
    }
    let unsupported = || TemplateError::Unsupported {
        action: action.to_string(),
    };
    let path = action.strip_prefix('.').ok_or_else(unsupported)?;
    let is_identifier = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if let Some(name) = path.strip_prefix("Env.") {
        return if is_identifier(name) {
            Ok(Some(Field::Env(name.to_string())))
        } else {
            Err(unsupported())
        };
    }
    if !is_identifier(path) {
        return Err(unsupported());
    }
    if let Some((name, _)) = FIELDS.iter().find(|(n, _)| *n == path) {
        return Ok(Some(Field::Named(name)));
    }
    if let Some((name, reason)) = REFUSED.iter().find(|(n, _)| *n == path) {
        return Err(TemplateError::Refused {
            name: name.to_string(),
            reason: reason.to_string(),
        });
    }
    Err(TemplateError::Unknown {
        name: path.to_string(),
        suggestion: closest(path),
    })
}

/// The known field closest to `name` (same letters in another case, or at most two edits away).
fn closest(name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    FIELDS
        .iter()
        .map(|(n, _)| (edit_distance(&lower, &n.to_lowercase()), *n))
        .filter(|(d, n)| *d <= 2 && *d < n.len() / 2 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_string())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`Verison` is one swap from `Version`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// What the fields render to: the stamp, the project's name and the environment.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    pub stamp: &'a Stamp,
    /// `{{.ProjectName}}`.
    pub project_name: &'a str,
    /// The variables `{{.Env.NAME}}` reads.
    pub env: &'a Variables,
}

impl TemplateData<'_> {
    fn value(&self, field: &Field) -> Result<String, TemplateError> {
        match field {
            Field::Env(name) => self
                .env
                .get(name)
                .map(str::to_string)
                .ok_or_else(|| TemplateError::MissingEnv { name: name.clone() }),
            Field::Named(name) => Ok(self.named(name)),
        }
    }

    fn named(&self, name: &str) -> String {
        let stamp = self.stamp;
        let v = &stamp.version;
        match name {
            "ProjectName" => self.project_name.to_string(),
            "Version" => v.to_string(),
            "Tag" => stamp.tag.clone().unwrap_or_else(|| "v0.0.0".into()),
            "Commit" | "FullCommit" => stamp.commit.clone(),
            "ShortCommit" => stamp.short_commit().to_string(),
            "CommitDate" | "Date" => stamp.commit_time_rfc3339(),
            "CommitTimestamp" | "Timestamp" => stamp.commit_time.to_string(),
            "IsGitDirty" => stamp.dirty.to_string(),
            "IsGitClean" => (!stamp.dirty).to_string(),
            "GitTreeState" => if stamp.dirty { "dirty" } else { "clean" }.to_string(),
            "Major" => v.major.to_string(),
            "Minor" => v.minor.to_string(),
            "Patch" => v.patch.to_string(),
            "Prerelease" => v.pre.to_string(),
            "RawVersion" => format!("{}.{}.{}", v.major, v.minor, v.patch),
            "Os" => "windows".into(),
            "Arch" => "amd64".into(),
            other => unreachable!("field {other} is in FIELDS but has no value"),
        }
    }
}

impl Template {
    /// The template with every field replaced by its value.
    pub fn render(&self, data: &TemplateData) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(&data.value(field)?),
            }
        }
        Ok(out)
    }
}

/// Parses and renders `text` in one step.
pub fn render(text: &str, data: &TemplateData) -> Result<String, TemplateError> {
    parse(text)?.render(data)
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Named(name) => write!(f, "{{{{.{name}}}}}"),
            Field::Env(name) => write!(f, "{{{{.Env.{name}}}}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(dirty: bool) -> Stamp {
        Stamp {
            version: semver::Version::parse("1.4.1-dev.7+g1a2b3c4").unwrap(),
            tag: Some("v1.4.0".into()),
            distance: 7,
            commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
            commit_time: 1_795_622_562,
            dirty,
            warnings: vec![],
        }
    }

    fn rendered(text: &str) -> Result<String, TemplateError> {
        let env: Variables = [("BUILDER".to_string(), "ci-7".to_string())]
            .into_iter()
            .collect();
        let stamp = stamp(false);
        let data = TemplateData {
            stamp: &stamp,
            project_name: "widget-tool",
            env: &env,
        };
        render(text, &data)
    }

    #[test]
    fn a_goreleaser_ldflags_line_renders_with_the_stamp() {
        let line = "-s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.Date}} -X main.builtBy=goreleaser";
        assert_eq!(
            rendered(line).unwrap(),
            "-s -w -X main.version=1.4.1-dev.7+g1a2b3c4 -X main.commit=1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d -X main.date=2026-11-25T16:02:42Z -X main.builtBy=goreleaser"
        );
    }

    #[test]
    fn every_field_has_goreleasers_meaning() {
        let r = |t: &str| rendered(t).unwrap();
        assert_eq!(r("{{.Tag}}"), "v1.4.0");
        assert_eq!(r("{{.ShortCommit}}"), "1a2b3c4");
        assert_eq!(r("{{.FullCommit}}"), r("{{.Commit}}"));
        assert_eq!(
            r("{{.CommitTimestamp}}/{{.Timestamp}}"),
            "1795622562/1795622562"
        );
        assert_eq!(r("{{.CommitDate}}"), r("{{.Date}}"));
        assert_eq!(
            r("{{.IsGitDirty}} {{.IsGitClean}} {{.GitTreeState}}"),
            "false true clean"
        );
        assert_eq!(
            r("{{.Major}}.{{.Minor}}.{{.Patch}}-{{.Prerelease}}"),
            "1.4.1-dev.7"
        );
        assert_eq!(
            r("{{.RawVersion}} {{.Os}}/{{.Arch}}"),
            "1.4.1 windows/amd64"
        );
        assert_eq!(
            r("{{.ProjectName}} by {{.Env.BUILDER}}"),
            "widget-tool by ci-7"
        );
        for (name, _) in FIELDS {
            assert!(rendered(&format!("{{{{.{name}}}}}")).is_ok(), "{name}");
        }
    }

    #[test]
    fn spaces_trim_markers_and_comments_are_go_template_syntax() {
        assert_eq!(
            rendered("v={{ .Version }}").unwrap(),
            "v=1.4.1-dev.7+g1a2b3c4"
        );
        assert_eq!(rendered("a  {{- .Major -}}  b").unwrap(), "a1b");
        assert_eq!(rendered("x{{/* note */}}y").unwrap(), "xy");
        assert_eq!(rendered("no fields }} here").unwrap(), "no fields }} here");
    }

    #[test]
    fn a_typo_is_named_with_the_closest_field() {
        let e = parse("-X main.version={{.Verison}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown template field {{.Verison}}; did you mean {{.Version}}?"
        );
        let e = parse("{{.shortcommit}}").unwrap_err().to_string();
        assert!(e.contains("did you mean {{.ShortCommit}}?"), "{e}");
        let e = parse("{{.Flavour}}").unwrap_err().to_string();
        assert!(
            e.contains("unknown template field {{.Flavour}}\nfix: use one of {{.ProjectName}}"),
            "{e}"
        );
    }

    #[test]
    fn malformed_and_unsupported_templates_are_refused() {
        let e = parse("-X main.v={{.Version").unwrap_err();
        assert_eq!(e, TemplateError::Unclosed { at: 10 });
        assert!(e.to_string().contains("has no closing `}}`"), "{e}");
        for bad in [
            "{{ replace .Version \"v\" \"\" }}",
            "{{if .IsGitDirty}}x{{end}}",
            "{{.Env.}}",
            "{{}}",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(e, TemplateError::Unsupported { .. }), "{bad}: {e}");
        }
        let e = parse("{{.Branch}}").unwrap_err().to_string();
        assert!(
            e.contains("not supported") && e.contains("{{.Env.NAME}}"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_environment_variable_is_named() {
        let e = rendered("{{.Env.NOT_THERE}}").unwrap_err();
        assert_eq!(
            e,
            TemplateError::MissingEnv {
                name: "NOT_THERE".into()
            }
        );
        assert!(e.to_string().contains("NOT_THERE is not set"), "{e}");
    }

    #[test]
    fn a_dirty_tree_and_an_untagged_history_render_as_goreleaser_would() {
        let mut s = stamp(true);
        s.tag = None;
        let env = Variables::default();
        let data = TemplateData {
            stamp: &s,
            project_name: "x",
            env: &env,
        };
        assert_eq!(
            render("{{.Tag}} {{.IsGitDirty}} {{.GitTreeState}}", &data).unwrap(),
            "v0.0.0 true dirty"
        );
    }
}
