//! GUIDs as Windows Installer writes them (`{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper case),
//! and deterministic derivation of new ones from stable keys.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::MsiError;
use crate::model::ProductVersion;

/// A GUID (ProductCode, UpgradeCode, component GUID, PackageCode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Guid(Uuid);

impl Guid {
    /// Parses `text` (with or without braces, any case); `field` names the input in the error.
    pub fn parse(field: &str, text: &str) -> Result<Guid, MsiError> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(trimmed);
        // Only the hyphenated 8-4-4-4-12 form: it is what Windows Installer stores and what people copy.
        let hyphenated = inner.len() == 36
            && inner
                .char_indices()
                .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
        match Uuid::parse_str(inner) {
            Ok(uuid) if hyphenated => Ok(Guid(uuid)),
            _ => Err(MsiError::InvalidGuid {
                field: field.to_string(),
                value: text.to_string(),
            }),
        }
    }

    /// Wraps an existing UUID.
    pub fn from_uuid(uuid: Uuid) -> Guid {
        Guid(uuid)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// True for `{00000000-0000-0000-0000-000000000000}`.
    pub fn is_nil(&self) -> bool {
        self.0.is_nil()
    }

    /// A name-based (version 5, SHA-1) GUID inside the namespace `self`: the same namespace and
    /// name always give the same GUID, different names practically never collide.
    pub fn derive(&self, name: &str) -> Guid {
        Guid(Uuid::new_v5(&self.0, name.as_bytes()))
    }

    /// The ProductCode for one version of a product line: derived from the UpgradeCode and the
    /// three-field version, so every version gets a new ProductCode (a major upgrade) and
    /// rebuilding the same version gives the same one.
    pub fn product_code_for(upgrade_code: &Guid, version: ProductVersion) -> Guid {
        upgrade_code.derive(&format!("winrelease:product-code:{version}"))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Uuid::encode_buffer();
        let text = self.0.hyphenated().encode_upper(&mut buf);
        write!(f, "{{{text}}}")
    }
}

impl FromStr for Guid {
    type Err = MsiError;

    fn from_str(text: &str) -> Result<Guid, MsiError> {
        Guid::parse("GUID", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings_and_prints_the_msi_form() {
        let want = "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11}";
        for text in [
            "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
            "{6b0e1f4c-3c2d-4e7a-9b1f-2a5c8d9e0f11}",
            " 6b0e1f4c-3c2d-4e7a-9b1f-2a5c8d9e0f11 ",
        ] {
            assert_eq!(Guid::parse("x", text).unwrap().to_string(), want);
        }
    }

    #[test]
    fn rejects_malformed_guids() {
        for text in [
            "",
            "6B0E1F4C3C2D4E7A9B1F2A5C8D9E0F11",
            "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F1}",
            "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F1G",
            "{6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11",
        ] {
            let err = Guid::parse("upgrade_code", text).unwrap_err();
            assert!(matches!(err, MsiError::InvalidGuid { .. }), "{text:?}");
            assert!(err.to_string().starts_with("upgrade_code:"), "{err}");
        }
    }

    #[test]
    fn product_codes_are_stable_per_version_and_differ_between_versions() {
        let upgrade = Guid::parse("u", "6B0E1F4C-3C2D-4E7A-9B1F-2A5C8D9E0F11").unwrap();
        let v1 = Guid::product_code_for(&upgrade, ProductVersion(1, 2, 3));
        assert_eq!(
            v1,
            Guid::product_code_for(&upgrade, ProductVersion(1, 2, 3))
        );
        assert_ne!(
            v1,
            Guid::product_code_for(&upgrade, ProductVersion(1, 2, 4))
        );
        assert_ne!(v1, upgrade);
    }
}
