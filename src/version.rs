//! SemVer → Windows Installer ProductVersion.
//!
//! Windows Installer compares only `major.minor.build` (limits 255.255.65535) and ignores a
//! fourth field, so every version we ship must get a distinct three-field value that sorts
//! exactly like its SemVer. The mapping (also in the README):
//!
//! | SemVer                        | MSI ProductVersion                         |
//! |-------------------------------|--------------------------------------------|
//! | `M.m.p` (release)             | `M.m.(p*256 + 255)`                        |
//! | `M.m.p-alpha.N`, N < 16       | `M.m.(p*256 + N)`                          |
//! | `M.m.p-beta.N`, N < 16        | `M.m.(p*256 + 16 + N)`                     |
//! | `M.m.p-dev.N`, N < 192        | `M.m.(p*256 + 32 + N)`                     |
//! | `M.m.p-rc.N`, N < 31          | `M.m.(p*256 + 224 + N)`                    |
//!
//! with `M, m, p < 256`. The label order alpha < beta < dev < rc is SemVer's own (identifiers
//! compare as ASCII), so the mapping is strictly monotonic: `a < b` in SemVer precedence implies
//! `msi(a) < msi(b)` (property-tested below). Build metadata (`+g1a2b3c4`) does not take part
//! in SemVer precedence and is ignored. Anything else (other labels, more identifiers such as
//! `rc.1.dev.3`, numbers past the limits) is refused with the reason, because it would either
//! collide with a neighbour or sort wrongly, and Windows Installer would then refuse an upgrade
//! or let a downgrade through.

use std::fmt;

/// A Windows Installer ProductVersion (`major.minor.build`; the fourth field is never used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsiVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
}

impl fmt::Display for MsiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

impl MsiVersion {
    /// The four-part form used for a file's VERSIONINFO (`FILEVERSION`).
    pub fn as_quad(&self) -> [u16; 4] {
        [self.major as u16, self.minor as u16, self.build, 0]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {version} has no MSI ProductVersion: {reason}")]
pub struct UnmappableVersion {
    pub version: String,
    pub reason: String,
}

/// Pre-release labels we accept, in SemVer order, with the first slot and slot count of each
/// inside a patch's block of 256 build numbers. Slot 255 is the release itself.
const LABELS: [(&str, u16, u16); 4] = [
    ("alpha", 0, 16),
    ("beta", 16, 16),
    ("dev", 32, 192),
    ("rc", 224, 31),
];
const RELEASE_SLOT: u16 = 255;

/// Maps a SemVer version to its MSI ProductVersion, or says why it cannot.
pub fn msi_version(v: &semver::Version) -> Result<MsiVersion, UnmappableVersion> {
    let refuse = |reason: String| UnmappableVersion {
        version: v.to_string(),
        reason,
    };
    let major = u8::try_from(v.major)
        .map_err(|_| refuse(format!("major {} must be below 256", v.major)))?;
    let minor = u8::try_from(v.minor)
        .map_err(|_| refuse(format!("minor {} must be below 256", v.minor)))?;
    if v.patch > 255 {
        return Err(refuse(format!(
            "patch {} must be below 256 (the MSI build field also encodes pre-releases)",
            v.patch
        )));
    }
    let slot = if v.pre.is_empty() {
        RELEASE_SLOT
    } else {
        pre_release_slot(v.pre.as_str()).map_err(refuse)?
    };
    Ok(MsiVersion {
        major,
        minor,
        build: v.patch as u16 * 256 + slot,
    })
}

fn pre_release_slot(pre: &str) -> Result<u16, String> {
    let accepted =
        "accepted pre-releases are alpha.N and beta.N (N < 16), dev.N (N < 192) and rc.N (N < 31)";
    let mut parts = pre.split('.');
    let (label, number) = match (parts.next(), parts.next(), parts.next()) {
        (Some(label), Some(number), None) => (label, number),
        _ => {
            return Err(format!(
                "pre-release `{pre}` is not LABEL.NUMBER; {accepted}"
            ))
        }
    };
    let Some(&(_, first, count)) = LABELS.iter().find(|(name, _, _)| *name == label) else {
        return Err(format!(
            "pre-release label `{label}` is unknown; {accepted}"
        ));
    };
    let n: u16 = number
        .parse()
        .ok()
        .filter(|n| *n < count)
        .ok_or_else(|| format!("`{label}.{number}` is out of range; {accepted}"))?;
    Ok(first + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msi(s: &str) -> Result<MsiVersion, UnmappableVersion> {
        msi_version(&semver::Version::parse(s).unwrap())
    }

    #[test]
    fn releases_and_prereleases_map_as_documented() {
        assert_eq!(msi("1.2.3").unwrap().to_string(), "1.2.1023");
        assert_eq!(msi("1.2.3-alpha.0").unwrap().to_string(), "1.2.768");
        assert_eq!(msi("1.2.3-beta.2").unwrap().to_string(), "1.2.786");
        assert_eq!(msi("1.4.1-dev.7+g1a2b3c4").unwrap().to_string(), "1.4.295");
        assert_eq!(msi("1.2.3-rc.30").unwrap().to_string(), "1.2.1022");
        assert_eq!(msi("255.255.255").unwrap().to_string(), "255.255.65535");
        assert_eq!(msi("0.0.0-alpha.0").unwrap().to_string(), "0.0.0");
    }

    #[test]
    fn limits_are_refused_with_the_reason() {
        assert!(msi("256.0.0").unwrap_err().reason.contains("major 256"));
        assert!(msi("1.256.0").unwrap_err().reason.contains("minor 256"));
        assert!(msi("1.2.256").unwrap_err().reason.contains("patch 256"));
        assert!(msi("1.2.3-dev.192")
            .unwrap_err()
            .reason
            .contains("out of range"));
        assert!(msi("1.2.3-rc.31")
            .unwrap_err()
            .reason
            .contains("out of range"));
        assert!(msi("1.2.3-nightly.1")
            .unwrap_err()
            .reason
            .contains("unknown"));
        assert!(msi("1.2.3-rc.1.dev.4")
            .unwrap_err()
            .reason
            .contains("LABEL.NUMBER"));
        assert!(msi("1.2.3-rc").unwrap_err().reason.contains("LABEL.NUMBER"));
        assert!(msi("1.2.3-rc.x")
            .unwrap_err()
            .reason
            .contains("out of range"));
        assert!(
            semver::Version::parse("1.2.3-rc.01").is_err(),
            "SemVer itself forbids leading zeros"
        );
    }

    #[test]
    fn dev_build_sorts_between_its_tag_and_the_next_patch() {
        let tag = msi("1.4.0").unwrap();
        let dev = msi("1.4.1-dev.7").unwrap();
        let next = msi("1.4.1").unwrap();
        assert!(tag < dev && dev < next);
    }

    fn accepted_version() -> impl Strategy<Value = semver::Version> {
        let pre = prop_oneof![
            Just(String::new()),
            (0u16..16).prop_map(|n| format!("alpha.{n}")),
            (0u16..16).prop_map(|n| format!("beta.{n}")),
            (0u16..192).prop_map(|n| format!("dev.{n}")),
            (0u16..31).prop_map(|n| format!("rc.{n}")),
        ];
        (0u64..256, 0u64..256, 0u64..256, pre).prop_map(|(a, b, c, pre)| {
            let mut v = semver::Version::new(a, b, c);
            if !pre.is_empty() {
                v.pre = semver::Prerelease::new(&pre).unwrap();
            }
            v
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn mapping_is_strictly_monotonic(a in accepted_version(), b in accepted_version()) {
            let (ma, mb) = (msi_version(&a).unwrap(), msi_version(&b).unwrap());
            prop_assert_eq!(a.cmp_precedence(&b), ma.cmp(&mb), "{} vs {} -> {} vs {}", a, b, ma, mb);
        }

        #[test]
        fn neighbours_in_one_patch_stay_ordered(p in 0u64..256, n in 0u16..190) {
            let dev = |n: u16| semver::Version::parse(&format!("1.0.{p}-dev.{n}")).unwrap();
            prop_assert!(msi_version(&dev(n)).unwrap() < msi_version(&dev(n + 1)).unwrap());
        }
    }
}
