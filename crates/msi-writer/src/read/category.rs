//! Column categories of `_Validation` (the MSI "column data types"): their names and the checks
//! the lint runs on string values.
//!
//! Invariant: [`Category::parse`] accepts every name [`Category::name`] gives, and the checks are
//! the ones the `msi` crate makes (the lint judged packages through it before this reader), so
//! findings do not depend on which reader runs.

/// A string column's category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the names are the documented category names
pub enum Category {
    Text,
    UpperCase,
    LowerCase,
    Integer,
    DoubleInteger,
    Number,
    TimeDate,
    Identifier,
    Property,
    Filename,
    WildCardFilename,
    Path,
    Paths,
    AnyPath,
    DefaultDir,
    RegPath,
    Formatted,
    FormattedSddlText,
    Template,
    Condition,
    Guid,
    Version,
    Language,
    Binary,
    CustomSource,
    Cabinet,
    Shortcut,
}

/// Every category with its `_Validation.Category` name.
const NAMES: [(Category, &str); 27] = [
    (Category::AnyPath, "AnyPath"),
    (Category::Binary, "Binary"),
    (Category::Cabinet, "Cabinet"),
    (Category::Condition, "Condition"),
    (Category::CustomSource, "CustomSource"),
    (Category::DefaultDir, "DefaultDir"),
    (Category::DoubleInteger, "DoubleInteger"),
    (Category::Number, "Number"),
    (Category::Filename, "Filename"),
    (Category::Formatted, "Formatted"),
    (Category::FormattedSddlText, "FormattedSDDLText"),
    (Category::Guid, "GUID"),
    (Category::Identifier, "Identifier"),
    (Category::Integer, "Integer"),
    (Category::Language, "Language"),
    (Category::LowerCase, "LowerCase"),
    (Category::Path, "Path"),
    (Category::Paths, "Paths"),
    (Category::Property, "Property"),
    (Category::RegPath, "RegPath"),
    (Category::Shortcut, "Shortcut"),
    (Category::Template, "Template"),
    (Category::Text, "Text"),
    (Category::TimeDate, "TimeDate"),
    (Category::UpperCase, "UpperCase"),
    (Category::Version, "Version"),
    (Category::WildCardFilename, "WildCardFilename"),
];

impl Category {
    /// The category named `name` (also the spellings `Guid` and `FormattedSddlText`).
    pub fn parse(name: &str) -> Option<Category> {
        match name {
            "Guid" => Some(Category::Guid),
            "FormattedSddlText" => Some(Category::FormattedSddlText),
            _ => NAMES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c),
        }
    }

    /// The documented name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .expect("every category is named")
    }

    /// True when `text` is a valid value of this category. Categories without a check here
    /// (paths, formatted text, conditions, ...) accept everything.
    pub fn validate(self, text: &str) -> bool {
        match self {
            Category::UpperCase => !text.chars().any(|c| c.is_ascii_lowercase()),
            Category::LowerCase => !text.chars().any(|c| c.is_ascii_uppercase()),
            Category::Integer => text.parse::<i16>().is_ok(),
            Category::DoubleInteger | Category::Number => text.parse::<i32>().is_ok(),
            Category::Identifier => is_identifier(text),
            Category::Property => is_identifier(text.strip_prefix('%').unwrap_or(text)),
            Category::Guid => is_guid(text),
            Category::Version => {
                text.split('.').count() <= 4 && text.split('.').all(|p| p.parse::<u16>().is_ok())
            }
            Category::Language => text.split(',').all(|p| p.parse::<u16>().is_ok()),
            Category::Cabinet => is_cabinet(text),
            _ => true,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Letters, digits, `_` and `.`, starting with a letter or `_`.
fn is_identifier(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// An upper-case, hyphenated GUID in braces.
pub(crate) fn is_guid(text: &str) -> bool {
    text.len() == 38
        && text.starts_with('{')
        && text.ends_with('}')
        && !text.chars().any(|c| c.is_ascii_lowercase())
        && text
            .get(1..37)
            .is_some_and(|inner| uuid::Uuid::parse_str(inner).is_ok())
}

/// `#stream` (an identifier) or an 8.3 file name.
fn is_cabinet(text: &str) -> bool {
    if let Some(stream) = text.strip_prefix('#') {
        return is_identifier(stream);
    }
    let mut parts: Vec<&str> = text.rsplitn(2, '.').collect();
    parts.reverse();
    !parts[0].is_empty() && parts[0].len() <= 8 && (parts.len() < 2 || parts[1].len() <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (category, name) in NAMES {
            assert_eq!(Category::parse(name), Some(category));
            assert_eq!(category.name(), name);
        }
        assert_eq!(Category::parse("Guid"), Some(Category::Guid));
        assert_eq!(Category::parse("Nonsense"), None);
    }

    #[test]
    fn checks_follow_the_documented_formats() {
        assert!(Category::Guid.validate("{34AB5C53-9B30-4E14-AEF0-2C1C7BA826C0}"));
        assert!(!Category::Guid.validate("{34ab5c53-9b30-4e14-aef0-2c1c7ba826c0}"));
        assert!(!Category::Guid.validate("{34AB5C539B304E14AEF02C1C7BA826C0}"));
        assert!(Category::Identifier.validate("_99.Bottles"));
        assert!(!Category::Identifier.validate("3.14159"));
        assert!(Category::Property.validate("%HelloWorld"));
        assert!(!Category::Property.validate("%"));
        assert!(Category::Version.validate("1.22.3.444"));
        assert!(!Category::Version.validate("1.2.3.4.5"));
        assert!(Category::Language.validate("1083,2107"));
        assert!(!Category::Language.validate("1083,"));
        assert!(Category::Cabinet.validate("#HelloWorld"));
        assert!(!Category::Cabinet.validate("longfilename.long"));
        assert!(Category::Integer.validate("-47"));
        assert!(!Category::Integer.validate("40000"));
    }
}
