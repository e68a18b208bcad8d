//! The summary information of a package or transform, as typed accessors over the property set
//! that `crate::summary` decodes (next to its encoder).
//!
//! Invariant: accessors never fail; a missing or mistyped property reads as `None` or empty.

use std::collections::BTreeMap;

pub use crate::summary::{property_name, PropertyValue};

/// PIDSI ids Windows Installer uses.
#[allow(missing_docs)]
pub mod pid {
    pub const CODEPAGE: u32 = 1;
    pub const TITLE: u32 = 2;
    pub const TEMPLATE: u32 = 7;
    pub const LAST_SAVED_BY: u32 = 8;
    pub const REVISION_NUMBER: u32 = 9;
    pub const CREATE_TIME: u32 = 12;
    pub const LAST_SAVE_TIME: u32 = 13;
    pub const PAGE_COUNT: u32 = 14;
    pub const WORD_COUNT: u32 = 15;
    pub const CHARACTER_COUNT: u32 = 16;
}

/// Decoded summary information.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SummaryInfo {
    properties: BTreeMap<u32, PropertyValue>,
}

impl SummaryInfo {
    /// Decodes a `\x05SummaryInformation` stream; fails with a reason.
    pub fn decode(bytes: &[u8]) -> Result<SummaryInfo, String> {
        crate::summary::decode_property_set(bytes).map(|properties| SummaryInfo { properties })
    }

    /// Every property by id.
    pub fn properties(&self) -> &BTreeMap<u32, PropertyValue> {
        &self.properties
    }

    /// A text property (empty when missing or not text).
    pub fn text(&self, pid: u32) -> String {
        match self.properties.get(&pid) {
            Some(PropertyValue::Text(text)) => text.clone(),
            _ => String::new(),
        }
    }

    /// An integer property.
    pub fn int(&self, pid: u32) -> Option<i32> {
        match self.properties.get(&pid) {
            Some(PropertyValue::Int(value)) => Some(*value),
            _ => None,
        }
    }

    /// A FILETIME property (raw 100 ns ticks).
    pub fn filetime(&self, pid: u32) -> Option<u64> {
        match self.properties.get(&pid) {
            Some(PropertyValue::FileTime(ticks)) => Some(*ticks),
            _ => None,
        }
    }

    /// The Codepage property, when present.
    pub fn codepage(&self) -> Option<u32> {
        self.int(pid::CODEPAGE).map(|c| u32::from(c as u16))
    }

    /// The Template's platform (before `;`), `None` when empty or missing.
    pub fn platform(&self) -> Option<String> {
        let template = self.properties.get(&pid::TEMPLATE)?;
        let PropertyValue::Text(template) = template else {
            return None;
        };
        let platform = template.split(';').next().unwrap_or_default();
        (!platform.is_empty()).then(|| platform.to_string())
    }

    /// The Template's languages (after `;`, comma-separated; unparsable ones left out).
    pub fn languages(&self) -> Vec<u16> {
        let template = self.text(pid::TEMPLATE);
        match template.split_once(';') {
            Some((_, languages)) => languages
                .split(',')
                .filter_map(|l| l.parse().ok())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The Revision Number as a GUID (braces optional), when it is one.
    pub fn revision_guid(&self) -> Option<uuid::Uuid> {
        let text = self.text(pid::REVISION_NUMBER);
        uuid::Uuid::parse_str(text.trim_start_matches('{').trim_end_matches('}')).ok()
    }
}
