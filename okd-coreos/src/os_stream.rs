//! The update streams of each CoreOS variant.
//!
//! * Fedora CoreOS: production `stable`, `testing`, `next`; development `testing-devel`,
//!   `next-devel`; mechanical `rawhide`, `branched`, `bodhi-updates`, `bodhi-updates-testing`.
//!   Each has a number that is the third component of its versions (`44.20260707.3.1` is a
//!   `stable` build).
//! * CentOS Stream CoreOS: `c9s`, `c10s`.
//! * RHEL CoreOS: `rhel-<major>.<minor>` (`rhel-9.6`).
//!
//! ```
//! use okd_coreos::{FcosStream, OsStream};
//!
//! let s: FcosStream = "testing-devel".parse()?;
//! assert_eq!(s.number(), 20);
//! assert_eq!(FcosStream::from_number(3), Some(FcosStream::Stable));
//! assert_eq!(
//!     FcosStream::Stable.metadata_url(),
//!     "https://builds.coreos.fedoraproject.org/streams/stable.json"
//! );
//! assert_eq!("rhel-9.6".parse::<OsStream>()?.to_string(), "rhel-9.6");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Where Fedora CoreOS publishes its stream metadata, release indexes and builds.
pub const FCOS_BUILDS_BASE_URL: &str = "https://builds.coreos.fedoraproject.org";

/// A Fedora CoreOS stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FcosStream {
    /// `stable` (number 3).
    Stable,
    /// `testing` (number 2).
    Testing,
    /// `next` (number 1).
    Next,
    /// `testing-devel` (number 20).
    TestingDevel,
    /// `next-devel` (number 10).
    NextDevel,
    /// `rawhide` (number 91).
    Rawhide,
    /// `branched` (number 92).
    Branched,
    /// `bodhi-updates-testing` (number 93).
    BodhiUpdatesTesting,
    /// `bodhi-updates` (number 94).
    BodhiUpdates,
}

impl FcosStream {
    /// Every stream.
    pub const ALL: [FcosStream; 9] = [
        FcosStream::Stable,
        FcosStream::Testing,
        FcosStream::Next,
        FcosStream::TestingDevel,
        FcosStream::NextDevel,
        FcosStream::Rawhide,
        FcosStream::Branched,
        FcosStream::BodhiUpdatesTesting,
        FcosStream::BodhiUpdates,
    ];

    /// The stream's name.
    pub fn as_str(self) -> &'static str {
        match self {
            FcosStream::Stable => "stable",
            FcosStream::Testing => "testing",
            FcosStream::Next => "next",
            FcosStream::TestingDevel => "testing-devel",
            FcosStream::NextDevel => "next-devel",
            FcosStream::Rawhide => "rawhide",
            FcosStream::Branched => "branched",
            FcosStream::BodhiUpdatesTesting => "bodhi-updates-testing",
            FcosStream::BodhiUpdates => "bodhi-updates",
        }
    }

    /// The stream number: the third component of the stream's versions.
    pub fn number(self) -> u32 {
        match self {
            FcosStream::Next => 1,
            FcosStream::Testing => 2,
            FcosStream::Stable => 3,
            FcosStream::NextDevel => 10,
            FcosStream::TestingDevel => 20,
            FcosStream::Rawhide => 91,
            FcosStream::Branched => 92,
            FcosStream::BodhiUpdatesTesting => 93,
            FcosStream::BodhiUpdates => 94,
        }
    }

    /// The stream a version's third component names.
    pub fn from_number(n: u32) -> Option<FcosStream> {
        FcosStream::ALL.into_iter().find(|s| s.number() == n)
    }

    /// True for `stable`, `testing` and `next`, the streams users run.
    pub fn is_production(self) -> bool {
        matches!(
            self,
            FcosStream::Stable | FcosStream::Testing | FcosStream::Next
        )
    }

    /// True for `testing-devel` and `next-devel`, the streams the production ones are promoted from.
    pub fn is_development(self) -> bool {
        matches!(self, FcosStream::TestingDevel | FcosStream::NextDevel)
    }

    /// URL of the stream metadata (`…/streams/stable.json`).
    pub fn metadata_url(self) -> String {
        format!("{FCOS_BUILDS_BASE_URL}/streams/{self}.json")
    }

    /// URL of the stream's release index (`…/prod/streams/stable/releases.json`).
    pub fn release_index_url(self) -> String {
        format!("{FCOS_BUILDS_BASE_URL}/prod/streams/{self}/releases.json")
    }

    /// URL of the stream's update metadata (barriers, dead ends, rollouts).
    pub fn updates_url(self) -> String {
        format!("{FCOS_BUILDS_BASE_URL}/updates/{self}.json")
    }

    /// URL of the directory holding one build's artifacts for one architecture.
    pub fn build_url(self, version: &str, arch: &str) -> String {
        format!("{FCOS_BUILDS_BASE_URL}/prod/streams/{self}/builds/{version}/{arch}/")
    }

    /// The published OS container image of the stream (`quay.io/fedora/fedora-coreos:stable`).
    pub fn container_image(self) -> String {
        format!("quay.io/fedora/fedora-coreos:{self}")
    }
}

impl fmt::Display for FcosStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FcosStream {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FcosStream::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::UnknownStream {
                variant: "fcos",
                input: s.to_string(),
                known: FcosStream::ALL.map(FcosStream::as_str).join(", "),
            })
    }
}

/// A CentOS Stream CoreOS stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScosStream {
    /// `c9s`: CentOS Stream 9 (OKD 4.12–4.19+).
    C9s,
    /// `c10s`: CentOS Stream 10 (OKD 4.20+/5.0).
    C10s,
}

impl ScosStream {
    /// Every stream.
    pub const ALL: [ScosStream; 2] = [ScosStream::C9s, ScosStream::C10s];

    /// The stream's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScosStream::C9s => "c9s",
            ScosStream::C10s => "c10s",
        }
    }

    /// The CentOS Stream major version.
    pub fn el_major(self) -> u32 {
        match self {
            ScosStream::C9s => 9,
            ScosStream::C10s => 10,
        }
    }

    /// The base image the OpenShift node layer is built on for this stream.
    pub fn base_image(self) -> &'static str {
        match self {
            ScosStream::C9s => "quay.io/openshift-release-dev/ocp-v4.0-art-dev:c9s-coreos",
            ScosStream::C10s => "registry.ci.openshift.org/coreos/stream-coreos-base:10",
        }
    }
}

impl fmt::Display for ScosStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScosStream {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScosStream::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::UnknownStream {
                variant: "scos",
                input: s.to_string(),
                known: ScosStream::ALL.map(ScosStream::as_str).join(", "),
            })
    }
}

/// A RHEL CoreOS stream, `rhel-<major>.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RhelStream {
    /// RHEL major version.
    pub major: u32,
    /// RHEL minor version.
    pub minor: u32,
}

impl RhelStream {
    /// `rhel-<major>.<minor>`.
    pub fn new(major: u32, minor: u32) -> RhelStream {
        RhelStream { major, minor }
    }

    /// The CI base image the OpenShift node layer is built on
    /// (`registry.ci.openshift.org/coreos/rhel-coreos-base:9.8`).
    pub fn base_image(self) -> String {
        format!(
            "registry.ci.openshift.org/coreos/rhel-coreos-base:{}.{}",
            self.major, self.minor
        )
    }
}

impl fmt::Display for RhelStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rhel-{}.{}", self.major, self.minor)
    }
}

impl FromStr for RhelStream {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::UnknownStream {
            variant: "rhcos",
            input: s.to_string(),
            known: "rhel-<major>.<minor>, e.g. rhel-9.6".to_string(),
        };
        let (major, minor) = s
            .strip_prefix("rhel-")
            .and_then(|v| v.split_once('.'))
            .ok_or_else(bad)?;
        let num = |p: &str| {
            crate::version::parse_number(p)
                .filter(|_| !p.is_empty())
                .ok_or_else(bad)
        };
        Ok(RhelStream {
            major: num(major)?,
            minor: num(minor)?,
        })
    }
}

/// A stream of any variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OsStream {
    /// A Fedora CoreOS stream.
    Fcos(FcosStream),
    /// A CentOS Stream CoreOS stream.
    Scos(ScosStream),
    /// A RHEL CoreOS stream.
    Rhcos(RhelStream),
    /// A stream of a user-defined variant.
    Custom(String),
}

impl OsStream {
    /// The stream's name as it appears in stream metadata.
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for OsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OsStream::Fcos(s) => s.fmt(f),
            OsStream::Scos(s) => s.fmt(f),
            OsStream::Rhcos(s) => s.fmt(f),
            OsStream::Custom(s) => f.write_str(s),
        }
    }
}

impl FromStr for OsStream {
    type Err = Error;

    /// Recognises the FCOS, SCOS and RHCOS stream names; anything else is an error (use
    /// [`OsStream::Custom`] for a stream of your own).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(x) = s.parse() {
            return Ok(OsStream::Fcos(x));
        }
        if let Ok(x) = s.parse() {
            return Ok(OsStream::Scos(x));
        }
        if s.starts_with("rhel-") {
            return s.parse().map(OsStream::Rhcos);
        }
        Err(Error::UnknownStream {
            variant: "CoreOS",
            input: s.to_string(),
            known: format!(
                "{}, {}, rhel-<major>.<minor>",
                FcosStream::ALL.map(FcosStream::as_str).join(", "),
                ScosStream::ALL.map(ScosStream::as_str).join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcos_numbers_are_those_of_versionary() {
        let table = [
            ("next", 1),
            ("testing", 2),
            ("stable", 3),
            ("next-devel", 10),
            ("testing-devel", 20),
            ("rawhide", 91),
            ("branched", 92),
            ("bodhi-updates-testing", 93),
            ("bodhi-updates", 94),
        ];
        for (name, n) in table {
            let s: FcosStream = name.parse().unwrap();
            assert_eq!(s.number(), n, "{name}");
            assert_eq!(FcosStream::from_number(n), Some(s));
            assert_eq!(s.to_string(), name);
        }
        assert_eq!(FcosStream::from_number(4), None);
    }

    #[test]
    fn urls() {
        let s = FcosStream::Testing;
        assert_eq!(
            s.release_index_url(),
            "https://builds.coreos.fedoraproject.org/prod/streams/testing/releases.json"
        );
        assert_eq!(
            s.build_url("44.20260707.2.0", "x86_64"),
            "https://builds.coreos.fedoraproject.org/prod/streams/testing/builds/44.20260707.2.0/x86_64/"
        );
        assert_eq!(
            FcosStream::NextDevel.container_image(),
            "quay.io/fedora/fedora-coreos:next-devel"
        );
    }

    #[test]
    fn rhel_streams() {
        let s: RhelStream = "rhel-10.2".parse().unwrap();
        assert_eq!(s, RhelStream::new(10, 2));
        assert_eq!(
            s.base_image(),
            "registry.ci.openshift.org/coreos/rhel-coreos-base:10.2"
        );
        for bad in ["rhel-9", "rhel-.6", "rhel-9.x", "rhel9.6", "rhel-09.6"] {
            let e = bad.parse::<RhelStream>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn any_stream() {
        assert_eq!(
            "c10s".parse::<OsStream>().unwrap(),
            OsStream::Scos(ScosStream::C10s)
        );
        assert_eq!(
            "stable".parse::<OsStream>().unwrap(),
            OsStream::Fcos(FcosStream::Stable)
        );
        let e = "c8s".parse::<OsStream>().unwrap_err();
        assert!(e.to_string().contains("\"c8s\""), "{e}");
    }
}
