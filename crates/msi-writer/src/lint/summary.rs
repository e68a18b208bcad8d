//! Summary-information rules (WR-CODEPAGE, WR-TEMPLATE, WR-PACKAGECODE).

use super::Linter;
use crate::read::summary::pid;

/// A codepage as the lint reads it: neutral (0) and missing codepages count as UTF-8, as they
/// always have here (the lint first read packages with the `msi` crate, whose default is UTF-8).
fn as_read(codepage: Option<u32>) -> u32 {
    match codepage {
        None | Some(0) => 65001,
        Some(codepage) => codepage,
    }
}

impl Linter {
    /// The summary-information rules: codepages, Template, Page and Word Count, PackageCode.
    pub(super) fn summary(&mut self) {
        self.codepages();
        self.template();
    }

    /// WR-CODEPAGE: database and summary information in codepage 1252.
    fn codepages(&mut self) {
        const T: &str = "Summary";
        let codepage = as_read(Some(self.pkg.codepage()));
        if codepage == 65001 {
            self.error(
                "WR-CODEPAGE",
                "_StringPool",
                None,
                "database codepage is UTF-8 (65001), which Windows Installer rejects; use 1252",
            );
        } else if codepage != 1252 {
            self.warn(
                "WR-CODEPAGE",
                "_StringPool",
                None,
                format!("database codepage is {codepage}, not 1252"),
            );
        }
        let summary_codepage = as_read(self.pkg.summary().codepage());
        if summary_codepage == 65001 {
            self.error(
                "WR-CODEPAGE",
                T,
                None,
                "summary information codepage is UTF-8 (65001); use 1252",
            );
        } else if summary_codepage != 1252 {
            self.warn(
                "WR-CODEPAGE",
                T,
                None,
                format!("summary information codepage is {summary_codepage}, not 1252"),
            );
        }
    }

    /// WR-TEMPLATE and WR-PACKAGECODE: what the summary says about platform, schema, source
    /// image and PackageCode.
    fn template(&mut self) {
        const T: &str = "Summary";
        let info = self.pkg.summary();
        let arch = info.platform();
        let languages = info.languages();
        let page_count = info.int(pid::PAGE_COUNT);
        let word_count = info.int(pid::WORD_COUNT);
        let uuid = info.revision_guid();
        match arch.as_deref() {
            Some("x64") => {}
            other => self.error(
                "WR-TEMPLATE",
                T,
                None,
                format!(
                    "Template platform is {:?}; a per-machine x64 package needs \"x64;<language>\"",
                    other.unwrap_or("")
                ),
            ),
        }
        if languages.is_empty() {
            self.error(
                "WR-TEMPLATE",
                T,
                None,
                "Template names no language (e.g. \"x64;1033\")",
            );
        }
        let needs_500 = [
            "MsiServiceConfig",
            "MsiServiceConfigFailureActions",
            "MsiLockPermissionsEx",
        ]
        .iter()
        .any(|t| self.pkg.has_table(t));
        let minimum = if needs_500 { 500 } else { 200 };
        match page_count {
            Some(count) if count >= minimum => {}
            other => self.error(
                "WR-TEMPLATE",
                T,
                None,
                format!(
                    "Page Count (schema) is {}; x64 packages need at least 200, and 500 when MSI 5.0 tables are used",
                    other.map_or("missing".to_string(), |c| c.to_string())
                ),
            ),
        }
        match word_count {
            Some(words) if words & 1 != 0 => self.warn(
                "WR-TEMPLATE",
                T,
                None,
                "Word Count says short file names only; long names are expected",
            ),
            Some(_) => {}
            None => self.error(
                "WR-TEMPLATE",
                T,
                None,
                "Word Count (source image type) is missing",
            ),
        }
        if uuid.is_none() {
            self.error(
                "WR-PACKAGECODE",
                T,
                None,
                "Revision Number (PackageCode) is missing or not a GUID",
            );
        }
    }
}
