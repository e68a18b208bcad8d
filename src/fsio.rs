//! File-system helpers every stage shares: one I/O error that names what was being done and to
//! which path, and one way to set Unix permission bits.
//!
//! *Invariant:* every I/O failure a user sees names the operation and the path
//! (`"writing the MSI /path/x.msi: No space left on device"`), in this one shape.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An I/O failure with the operation ("writing the manifest") and the path it was done to.
#[derive(Debug)]
pub struct IoError {
    /// What was being done, as a gerund phrase: "reading", "creating the staging folder".
    pub context: &'static str,
    /// The file or folder it was done to (empty when there is none).
    pub path: PathBuf,
    pub source: io::Error,
}

impl IoError {
    pub fn new(context: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        IoError {
            context,
            path: path.into(),
            source,
        }
    }

    /// The underlying error's kind (e.g. to tell "not found" from other failures).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            write!(f, "{}: {}", self.context, self.source)
        } else {
            write!(
                f,
                "{} {}: {}",
                self.context,
                self.path.display(),
                self.source
            )
        }
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Attaches the operation and path to an `io::Result`.
pub trait IoContext<T> {
    /// `fs::write(&p, b).at("writing the manifest", &p)?`
    fn at(self, context: &'static str, path: &Path) -> Result<T, IoError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, context: &'static str, path: &Path) -> Result<T, IoError> {
        self.map_err(|source| IoError::new(context, path, source))
    }
}

/// Sets a file's or folder's Unix permission bits (`0o644`, `0o600`, `0o755`); a no-op where
/// the platform has none.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Sets the permission bits of an open file (same as [`set_mode`], without a second lookup).
pub fn set_file_mode(file: &std::fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_operation_and_the_path() {
        let err = std::fs::read("/nonexistent/winrelease/x").at(
            "reading the manifest",
            Path::new("/nonexistent/winrelease/x"),
        );
        let text = err.unwrap_err().to_string();
        assert!(
            text.starts_with("reading the manifest /nonexistent/winrelease/x: "),
            "{text}"
        );
    }

    #[test]
    fn without_a_path_says_only_the_operation() {
        let err = IoError::new("creating a scratch folder", "", io::Error::other("boom"));
        assert_eq!(err.to_string(), "creating a scratch folder: boom");
    }
}
