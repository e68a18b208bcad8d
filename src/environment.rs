//! The world outside the process, as one value: what the CLI edge (`xtask/src/edge.rs`) read from
//! the environment variables and the clock, passed down to the stages.
//!
//! *Invariant:* the library reads no environment variable and no clock; every such value
//! arrives through an [`Environment`] built at the edge (or by a test). A variable's value is
//! never printed by Debug (it may be a secret).

use std::collections::BTreeMap;
use std::fmt;

use crate::gobuild::GoEnvironment;
use crate::keys::{KeyEnvironment, Passphrase};
use crate::publish::PublishEnvironment;

/// Everything the pipeline needs from outside the process.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The wall clock when the command started, Unix seconds. Used only for decisions (is a
    /// manifest born expired, is a pointer still valid), never written into an artifact.
    pub now: i64,
    /// The signing key and its passphrase from the environment, and whether `CI=true` (then a
    /// missing signing key is an error, not the development key).
    pub keys: KeyEnvironment,
    /// [`crate::authenticode::ENV_AUTHENTICODE_PASSPHRASE`], when set.
    pub authenticode_passphrase: Option<Passphrase>,
    /// What the Go build sees of the environment.
    pub go_env: GoEnvironment,
    /// AWS settings, host name, temporary folder and clock for the release store.
    pub publish: PublishEnvironment,
}

/// A set of environment variables (name → value), as the edge read them. Debug lists the
/// names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables(BTreeMap<String, String>);

impl Variables {
    /// The value of `name`, if it is set (an empty value is set).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl FromIterator<(String, String)> for Variables {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Variables(iter.into_iter().collect())
    }
}

impl fmt::Debug for Variables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_never_values() {
        let vars: Variables = [("TOKEN".to_string(), "s3cr3t".to_string())]
            .into_iter()
            .collect();
        let shown = format!("{vars:?}");
        assert!(
            shown.contains("TOKEN") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert_eq!(vars.get("TOKEN"), Some("s3cr3t"));
        assert_eq!(vars.get("OTHER"), None);
    }
}
