//! The service's default config file: the template named by `config_template`, its
//! `{{placeholders}}` rendered from the release configuration, and the result checked with a
//! real parser for its format (JSON, YAML, TOML; INI by its simple grammar). A service may have
//! no config file at all (`config_template = ""`).
//!
//! The rendered file is a value of its own ([`DefaultConfig`]) that the MSI and the zip both
//! take, so the template is read and checked once per release.
//!
//! *Invariant:* a config that ships is one its format's parser accepts; a broken one is refused
//! with the file, line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The format of a config file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigFormat {
    Json,
    Yaml,
    Toml,
    Ini,
    /// Any other extension: shipped as it is, unchecked.
    Text,
}

impl ConfigFormat {
    /// `.json`, `.yaml`/`.yml`, `.toml`, `.ini`/`.cfg`/`.conf`; anything else is [`Text`].
    ///
    /// [`Text`]: ConfigFormat::Text
    pub fn from_path(path: &Path) -> ConfigFormat {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "json" => ConfigFormat::Json,
            "yaml" | "yml" => ConfigFormat::Yaml,
            "toml" => ConfigFormat::Toml,
            "ini" | "cfg" | "conf" => ConfigFormat::Ini,
            _ => ConfigFormat::Text,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConfigFormat::Json => "JSON",
            ConfigFormat::Yaml => "YAML",
            ConfigFormat::Toml => "TOML",
            ConfigFormat::Ini => "INI",
            ConfigFormat::Text => "text",
        }
    }
}

/// Where in a file a problem is (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FormatProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// What is wrong with a template's placeholders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("line {line}: unknown placeholder {{{{{name}}}}}\nfix: use one of: {known}")]
    Unknown {
        line: usize,
        name: String,
        known: String,
    },
    #[error("line {line}: `{{{{` is not closed by `}}}}`\nfix: close the placeholder, e.g. {{{{listen_port}}}}")]
    Unclosed { line: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceConfigError {
    #[error("config template {path}: {source}\nfix: create it, or set `config_template` in [workspace.metadata.winrelease] to the service's config file (\"\" for a service without one)")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config template {path}: {problem}")]
    Template {
        path: PathBuf,
        problem: TemplateError,
    },
    #[error("config template {path}: after rendering, the default config is not valid {format} ({problem})\nfix: correct the template; placeholders are replaced verbatim (e.g. {{{{listen_port}}}} by 8080)", format = format.name())]
    Invalid {
        path: PathBuf,
        format: ConfigFormat,
        problem: FormatProblem,
    },
}

/// The rendered default config, ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultConfig {
    /// The template it was rendered from.
    pub template: PathBuf,
    /// The installed file's name (the template's: `config.yaml`).
    pub file_name: String,
    pub format: ConfigFormat,
    pub text: String,
}

/// Reads, renders and checks the project's default config; `None` when the service has none
/// (`config_template = ""`).
pub fn default_config(
    root: &Path,
    config: &Config,
) -> Result<Option<DefaultConfig>, ServiceConfigError> {
    if config.config_template.as_os_str().is_empty() {
        return Ok(None);
    }
    let template = root.join(&config.config_template);
    render_default_config(&template, &template_values(config)).map(Some)
}

/// Reads the template at `template`, renders it with `values` and checks it with its format's
/// parser.
pub fn render_default_config(
    template: &Path,
    values: &BTreeMap<String, String>,
) -> Result<DefaultConfig, ServiceConfigError> {
    let text = std::fs::read_to_string(template).map_err(|source| ServiceConfigError::Read {
        path: template.to_path_buf(),
        source,
    })?;
    let text = render_template(&text, values).map_err(|problem| ServiceConfigError::Template {
        path: template.to_path_buf(),
        problem,
    })?;
    let format = ConfigFormat::from_path(template);
    check_format(format, &text).map_err(|problem| ServiceConfigError::Invalid {
        path: template.to_path_buf(),
        format,
        problem,
    })?;
    let file_name = template
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(DefaultConfig {
        template: template.to_path_buf(),
        file_name,
        format,
        text,
    })
}

/// The values a config template may use, from the release configuration: `service_name`,
/// `product`, and `listen_port` when the service has one.
pub fn template_values(config: &Config) -> BTreeMap<String, String> {
    let mut values = BTreeMap::from([
        ("service_name".to_string(), config.service.name.clone()),
        ("product".to_string(), config.product.clone()),
    ]);
    if let Some(port) = config.service.listen_port {
        values.insert("listen_port".to_string(), port.to_string());
    }
    values
}

/// Replaces every `{{name}}` (spaces inside the braces allowed) with `values[name]`. An unknown
/// name or an unclosed `{{` is an error, so a typo never ships as literal text.
pub fn render_template(
    template: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let line_of = |rest: &str| line_of_offset(template, template.len() - rest.len());
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed {
                line: line_of(&rest[start..]),
            });
        };
        let name = after[..end].trim();
        let value = values.get(name).ok_or_else(|| TemplateError::Unknown {
            line: line_of(&rest[start..]),
            name: name.to_string(),
            known: values
                .keys()
                .map(|k| format!("{{{{{k}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// (line, column), 1-based, of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (
        line_of_offset(text, offset),
        text[line_start..offset].chars().count() + 1,
    )
}

/// Parses `text` as `format` and reports the first problem.
pub fn check_format(format: ConfigFormat, text: &str) -> Result<(), FormatProblem> {
    match format {
        ConfigFormat::Json => check_json(text),
        ConfigFormat::Yaml => check_yaml(text),
        ConfigFormat::Toml => check_toml(text),
        ConfigFormat::Ini => check_ini(text),
        ConfigFormat::Text => Ok(()),
    }
}

fn check_json(text: &str) -> Result<(), FormatProblem> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(drop)
        .map_err(|e| FormatProblem {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })
}

/// serde_json and toml append " at line L column C" to their messages; the problem carries it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn check_yaml(text: &str) -> Result<(), FormatProblem> {
    yaml_rust2::YamlLoader::load_from_str(text)
        .map(drop)
        .map_err(|e| FormatProblem {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })
}

fn check_toml(text: &str) -> Result<(), FormatProblem> {
    text.parse::<toml::Table>().map(drop).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| position(text, span.start));
        FormatProblem {
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// Windows INI: blank lines, `;` or `#` comments, `[section]` headers, and `key=value` lines.
fn check_ini(text: &str) -> Result<(), FormatProblem> {
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let problem = |message: &str| FormatProblem {
            line: index + 1,
            column: raw.len() - raw.trim_start().len() + 1,
            message: message.to_string(),
        };
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            match header.strip_suffix(']') {
                Some(name) if !name.trim().is_empty() => continue,
                Some(_) => return Err(problem("empty section name `[]`")),
                None => return Err(problem("section header is not closed by `]`")),
            }
        }
        match line.split_once('=') {
            Some((key, _)) if !key.trim().is_empty() => {}
            Some(_) => return Err(problem("a `=` with no key before it")),
            None => {
                return Err(problem(
                    "expected `key = value`, a `[section]` or a `;` comment",
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(format: ConfigFormat, text: &str) -> FormatProblem {
        check_format(format, text).expect_err("a broken file")
    }

    #[test]
    fn each_format_accepts_a_good_file() {
        let good = [
            (ConfigFormat::Json, "{\"listen_port\": 8080}\n"),
            (
                ConfigFormat::Yaml,
                "listen: \":8080\"\nlog:\n  level: info\n  files: [a, b]\n",
            ),
            (
                ConfigFormat::Toml,
                "[server]\nlisten_port = 8080\nname = \"x\"\n",
            ),
            (
                ConfigFormat::Ini,
                "; comment\n[server]\nport=8080\nname = a b\n\n# other\n[log]\nlevel=info\n",
            ),
            (ConfigFormat::Text, "anything { at all\n"),
        ];
        for (format, text) in good {
            check_format(format, text).unwrap_or_else(|p| panic!("{format:?}: {p}"));
        }
    }

    #[test]
    fn a_broken_yaml_file_is_refused_with_its_line_and_column() {
        let p = problem(ConfigFormat::Yaml, "server:\n  port: 8080\n bad: [1, 2\n");
        assert_eq!(p.line, 3, "{p}");
        assert!(p.column >= 1, "{p}");
    }

    #[test]
    fn a_broken_json_file_is_refused_with_its_line_and_column() {
        let p = problem(ConfigFormat::Json, "{\n  \"a\": 1,\n  \"b\" 2\n}\n");
        assert_eq!((p.line, p.column), (3, 7), "{p}");
        assert!(!p.message.contains(" at line "), "{p}");
    }

    #[test]
    fn a_broken_toml_file_is_refused_with_its_line_and_column() {
        let p = problem(ConfigFormat::Toml, "[server]\nport = 8080\nname = \n");
        assert_eq!(p.line, 3, "{p}");
    }

    #[test]
    fn a_broken_ini_file_is_refused_with_its_line() {
        let p = problem(ConfigFormat::Ini, "[server]\nport=1\n  [log\n");
        assert_eq!((p.line, p.column), (3, 3), "{p}");
        let p = problem(ConfigFormat::Ini, "[server]\njust words\n");
        assert_eq!(p.line, 2, "{p}");
    }

    #[test]
    fn formats_come_from_the_extension() {
        for (name, format) in [
            ("config.JSON", ConfigFormat::Json),
            ("c.yml", ConfigFormat::Yaml),
            ("c.yaml", ConfigFormat::Yaml),
            ("c.toml", ConfigFormat::Toml),
            ("c.ini", ConfigFormat::Ini),
            ("c.conf", ConfigFormat::Ini),
            ("c.properties", ConfigFormat::Text),
            ("README", ConfigFormat::Text),
        ] {
            assert_eq!(ConfigFormat::from_path(Path::new(name)), format, "{name}");
        }
    }

    #[test]
    fn placeholders_are_rendered_and_unknown_ones_refused() {
        let values = BTreeMap::from([("listen_port".to_string(), "8080".to_string())]);
        assert_eq!(
            render_template("port: {{ listen_port }}\n", &values).unwrap(),
            "port: 8080\n"
        );
        let err = render_template("a\nport: {{listen_prot}}\n", &values).unwrap_err();
        assert_eq!(
            err,
            TemplateError::Unknown {
                line: 2,
                name: "listen_prot".into(),
                known: "{{listen_port}}".into()
            }
        );
        assert_eq!(
            render_template("x {{listen_port", &values).unwrap_err(),
            TemplateError::Unclosed { line: 1 }
        );
    }
}
