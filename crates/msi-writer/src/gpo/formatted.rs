//! What formatted strings and conditions refer to: property references and identifiers.
//!
//! Invariant: these are lexical scans; they never evaluate a condition.

/// `[NAME]` references in a formatted string (property references only: not `[#file]`,
/// `[$component]`, `[!file]`, `[%ENV]`, `[\x]`, `[~]`).
pub(super) fn property_references(formatted: &str) -> Vec<String> {
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
pub(super) fn condition_identifiers(condition: &str) -> Vec<String> {
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
pub(super) fn is_public(name: &str) -> bool {
    !name.chars().any(|c| c.is_ascii_lowercase()) && name.chars().any(|c| c.is_ascii_uppercase())
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
