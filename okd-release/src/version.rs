//! Release versions: semantic versions plus the naming families of OKD and OCP streams.
//!
//! Every release name is a semantic version (`oc adm release new` refuses anything else), but the
//! pre-release part carries meaning that tools need:
//!
//! | family | example |
//! |---|---|
//! | [`Family::Release`] | `4.19.3` |
//! | [`Family::Candidate`] | `4.16.0-ec.0`, `4.16.0-rc.3`, `4.16.0-fc.1` |
//! | [`Family::Nightly`] | `4.19.0-0.nightly-2025-01-02-030405`, `4.19.0-0.nightly-arm64-…` |
//! | [`Family::Ci`] | `4.19.0-0.ci-2025-01-02-030405` |
//! | [`Family::OkdFcos`] | `4.15.0-0.okd-2024-03-10-010116` |
//! | [`Family::OkdScosDated`] | `4.14.0-0.okd-scos-2024-01-30-032525` |
//! | [`Family::OkdScos`] | `4.19.0-okd-scos.19`, `4.22.0-okd-scos.ec.16`, `5.0.0-okd-scos.0` |
//! | [`Family::Stream`] | any other `x.y.z-0.<stream>-<YYYY-MM-DD-HHMMSS>` |
//! | [`Family::Other`] | any other semantic version (`1.0.0-test`) |
//!
//! Dated names are what the release-controller makes: `<config name>-<UTC time>`, where the
//! config name is `x.y.z-0.<stream>`. Ordering is semantic-version ordering, so two dated
//! releases of one stream order by time and `okd-scos.9 < okd-scos.10`.
//!
//! ```
//! use okd_release::{Family, ReleaseVersion};
//!
//! let v: ReleaseVersion = "4.14.0-0.okd-scos-2024-01-30-032525".parse()?;
//! assert_eq!(v.family(), Family::OkdScosDated);
//! assert_eq!(v.major_minor().to_string(), "4.14");
//! assert_eq!(v.stream_name().as_deref(), Some("4.14.0-0.okd-scos"));
//! assert_eq!(v.timestamp().unwrap().to_rfc3339(), "2024-01-30T03:25:25+00:00");
//! assert_eq!(v.to_string(), "4.14.0-0.okd-scos-2024-01-30-032525");
//!
//! let a: ReleaseVersion = "4.19.0-okd-scos.9".parse()?;
//! let b: ReleaseVersion = "4.19.0-okd-scos.10".parse()?;
//! assert!(a < b);
//! assert_eq!(b.sequence(), Some(10));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;

use crate::Error;

/// The format of the time in dated release names (`2024-01-30-032525`, UTC).
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d-%H%M%S";

/// The naming family of a release version. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// A release without pre-release part: `4.19.3`.
    Release,
    /// An engineering, release or feature candidate: `4.16.0-ec.0`, `-rc.N`, `-fc.N`.
    Candidate,
    /// An OCP nightly: `4.19.0-0.nightly-2025-01-02-030405` (also `nightly-arm64`, `nightly-multi`).
    Nightly,
    /// A CI build: `4.19.0-0.ci-2025-01-02-030405`.
    Ci,
    /// OKD on Fedora CoreOS: `4.15.0-0.okd-2024-03-10-010116`.
    OkdFcos,
    /// OKD on CentOS Stream CoreOS, dated: `4.14.0-0.okd-scos-2024-01-30-032525`.
    OkdScosDated,
    /// OKD on CentOS Stream CoreOS, numbered: `4.19.0-okd-scos.19`, `4.22.0-okd-scos.ec.16`.
    OkdScos,
    /// Another dated stream: `x.y.z-0.<stream>-<YYYY-MM-DD-HHMMSS>`.
    Stream,
    /// Any other semantic version.
    Other,
}

/// The kind of a candidate release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// Engineering candidate (`ec`).
    Engineering,
    /// Feature candidate (`fc`).
    Feature,
    /// Release candidate (`rc`).
    Release,
}

impl CandidateKind {
    /// The abbreviation used in version strings (`ec`, `fc`, `rc`).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Engineering => "ec",
            CandidateKind::Feature => "fc",
            CandidateKind::Release => "rc",
        }
    }

    fn parse(s: &str) -> Option<CandidateKind> {
        match s {
            "ec" => Some(CandidateKind::Engineering),
            "fc" => Some(CandidateKind::Feature),
            "rc" => Some(CandidateKind::Release),
            _ => None,
        }
    }
}

/// A `major.minor` pair, such as the `4.19` of a channel name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MajorMinor {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
}

impl fmt::Display for MajorMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for MajorMinor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidVersion {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (major, minor) = s
            .split_once('.')
            .ok_or_else(|| bad("expected MAJOR.MINOR"))?;
        let num = |p: &str| -> Result<u64, Error> {
            if p.is_empty() || (p.len() > 1 && p.starts_with('0')) {
                return Err(bad("MAJOR and MINOR must be numbers without leading zeros"));
            }
            p.parse()
                .map_err(|_| bad("MAJOR and MINOR must be numbers without leading zeros"))
        };
        Ok(MajorMinor {
            major: num(major)?,
            minor: num(minor)?,
        })
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Release,
    Candidate(CandidateKind, u64),
    Dated {
        family: Family,
        stream: String,
        at: DateTime<Utc>,
    },
    OkdScos(Option<CandidateKind>, u64),
    Other,
}

/// A release version. See the [module docs](self).
///
/// Equality, hashing and ordering are those of the semantic version (build metadata included, as
/// the `semver` crate does, so that the order is total).
#[derive(Debug, Clone)]
pub struct ReleaseVersion {
    version: semver::Version,
    kind: Kind,
}

static DATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^0\.([A-Za-z0-9][A-Za-z0-9.-]*?)-([0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6})$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(ec|rc|fc)\.(0|[1-9][0-9]*)$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static OKD_SCOS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^okd-scos\.(?:(ec|rc|fc)\.)?(0|[1-9][0-9]*)$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

fn classify(input: &str, pre: &str) -> Result<Kind, Error> {
    if pre.is_empty() {
        return Ok(Kind::Release);
    }
    let number = |s: &str| -> Result<u64, Error> {
        s.parse().map_err(|_| Error::InvalidVersion {
            input: input.to_string(),
            reason: format!("sequence number {s:?} is out of range"),
        })
    };
    if let Some(c) = CANDIDATE.captures(pre) {
        let kind = CandidateKind::parse(&c[1]).unwrap_or(CandidateKind::Release);
        return Ok(Kind::Candidate(kind, number(&c[2])?));
    }
    if let Some(c) = OKD_SCOS.captures(pre) {
        let kind = c.get(1).and_then(|m| CandidateKind::parse(m.as_str()));
        return Ok(Kind::OkdScos(kind, number(&c[2])?));
    }
    if let Some(c) = DATED.captures(pre) {
        let stream = c[1].to_string();
        let at = NaiveDateTime::parse_from_str(&c[2], TIMESTAMP_FORMAT)
            .map_err(|e| Error::InvalidVersion {
                input: input.to_string(),
                reason: format!("invalid timestamp {:?}: {e}", &c[2]),
            })?
            .and_utc();
        let family = match stream.as_str() {
            "okd" => Family::OkdFcos,
            "okd-scos" => Family::OkdScosDated,
            s if s.split(['-', '.']).next() == Some("ci") => Family::Ci,
            s if s.split('-').any(|w| w == "nightly") => Family::Nightly,
            _ => Family::Stream,
        };
        return Ok(Kind::Dated { family, stream, at });
    }
    Ok(Kind::Other)
}

impl ReleaseVersion {
    /// Parses a release name. Equivalent to `s.parse()`.
    pub fn parse(s: &str) -> Result<ReleaseVersion, Error> {
        s.parse()
    }

    /// Wraps a semantic version.
    pub fn from_semver(version: semver::Version) -> Result<ReleaseVersion, Error> {
        let kind = classify(&version.to_string(), version.pre.as_str())?;
        Ok(ReleaseVersion { version, kind })
    }

    /// The dated release name the release-controller gives a release of the stream configured as
    /// `stream_name` (`4.14.0-0.okd-scos`) created at `at`: `<stream_name>-<YYYY-MM-DD-HHMMSS>`.
    ///
    /// ```
    /// # use okd_release::{Family, ReleaseVersion};
    /// use chrono::TimeZone;
    /// let at = chrono::Utc.with_ymd_and_hms(2024, 1, 30, 3, 25, 25).unwrap();
    /// let v = ReleaseVersion::dated("4.14.0-0.okd-scos", at)?;
    /// assert_eq!(v.to_string(), "4.14.0-0.okd-scos-2024-01-30-032525");
    /// assert_eq!(v.family(), Family::OkdScosDated);
    /// # Ok::<(), okd_release::Error>(())
    /// ```
    pub fn dated(stream_name: &str, at: DateTime<Utc>) -> Result<ReleaseVersion, Error> {
        format!("{stream_name}-{}", at.format(TIMESTAMP_FORMAT)).parse()
    }

    /// The numbered OKD/SCOS release `x.y.z-okd-scos.N`.
    pub fn okd_scos(major: u64, minor: u64, patch: u64, sequence: u64) -> ReleaseVersion {
        let mut version = semver::Version::new(major, minor, patch);
        // "okd-scos.N" is always a valid pre-release.
        version.pre = semver::Prerelease::new(&format!("okd-scos.{sequence}"))
            .unwrap_or(semver::Prerelease::EMPTY);
        ReleaseVersion {
            version,
            kind: Kind::OkdScos(None, sequence),
        }
    }

    /// The semantic version.
    pub fn semver(&self) -> &semver::Version {
        &self.version
    }

    /// The naming family.
    pub fn family(&self) -> Family {
        match &self.kind {
            Kind::Release => Family::Release,
            Kind::Candidate(..) => Family::Candidate,
            Kind::Dated { family, .. } => *family,
            Kind::OkdScos(..) => Family::OkdScos,
            Kind::Other => Family::Other,
        }
    }

    /// Major version.
    pub fn major(&self) -> u64 {
        self.version.major
    }

    /// Minor version.
    pub fn minor(&self) -> u64 {
        self.version.minor
    }

    /// Patch version.
    pub fn patch(&self) -> u64 {
        self.version.patch
    }

    /// `major.minor`.
    pub fn major_minor(&self) -> MajorMinor {
        MajorMinor {
            major: self.version.major,
            minor: self.version.minor,
        }
    }

    /// The creation time of a dated release (UTC), `None` for other families.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Dated { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The stream of a dated release (`nightly`, `okd-scos`, `nightly-arm64`).
    pub fn stream(&self) -> Option<&str> {
        match &self.kind {
            Kind::Dated { stream, .. } => Some(stream),
            _ => None,
        }
    }

    /// The release-controller stream name of a dated release: the version without its time
    /// (`4.14.0-0.okd-scos`).
    pub fn stream_name(&self) -> Option<String> {
        match &self.kind {
            Kind::Dated { stream, .. } => Some(format!(
                "{}.{}.{}-0.{stream}",
                self.version.major, self.version.minor, self.version.patch
            )),
            _ => None,
        }
    }

    /// The sequence number of a candidate (`ec.3` → 3) or numbered OKD/SCOS release
    /// (`okd-scos.19` → 19, `okd-scos.ec.16` → 16).
    pub fn sequence(&self) -> Option<u64> {
        match &self.kind {
            Kind::Candidate(_, n) | Kind::OkdScos(_, n) => Some(*n),
            _ => None,
        }
    }

    /// The candidate kind of `-ec.N`/`-rc.N`/`-fc.N` and `-okd-scos.ec.N` versions.
    pub fn candidate(&self) -> Option<CandidateKind> {
        match &self.kind {
            Kind::Candidate(k, _) => Some(*k),
            Kind::OkdScos(k, _) => *k,
            _ => None,
        }
    }

    /// True for a version with a pre-release part (anything but [`Family::Release`]).
    pub fn is_prerelease(&self) -> bool {
        !self.version.pre.is_empty()
    }

    /// The same version without build metadata, as `oc` normalises component versions.
    pub fn without_build(&self) -> ReleaseVersion {
        let mut v = self.clone();
        v.version.build = semver::BuildMetadata::EMPTY;
        v
    }
}

impl FromStr for ReleaseVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let version = semver::Version::parse(s).map_err(|e| Error::InvalidVersion {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        let kind = classify(s, version.pre.as_str())?;
        Ok(ReleaseVersion { version, kind })
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.version.fmt(f)
    }
}

impl PartialEq for ReleaseVersion {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

impl Eq for ReleaseVersion {}

impl Hash for ReleaseVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.version.hash(state)
    }
}

impl PartialOrd for ReleaseVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ReleaseVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version.cmp(&other.version)
    }
}

impl serde::Serialize for ReleaseVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ReleaseVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ReleaseVersion {
        s.parse().unwrap()
    }

    #[test]
    fn families() {
        let cases = [
            ("4.19.3", Family::Release),
            ("5.0.0", Family::Release),
            ("4.16.0-ec.0", Family::Candidate),
            ("4.16.0-rc.3", Family::Candidate),
            ("4.16.0-fc.1", Family::Candidate),
            ("4.19.0-0.nightly-2025-01-02-030405", Family::Nightly),
            ("4.19.0-0.nightly-arm64-2025-01-02-030405", Family::Nightly),
            ("4.19.0-0.nightly-multi-2025-01-02-030405", Family::Nightly),
            (
                "4.20.0-0.konflux-nightly-2025-06-01-000000",
                Family::Nightly,
            ),
            ("4.19.0-0.ci-2025-01-02-030405", Family::Ci),
            ("4.15.0-0.okd-2024-03-10-010116", Family::OkdFcos),
            ("4.14.0-0.okd-scos-2024-01-30-032525", Family::OkdScosDated),
            ("4.19.0-okd-scos.19", Family::OkdScos),
            ("4.22.0-okd-scos.ec.16", Family::OkdScos),
            ("5.0.0-okd-scos.0", Family::OkdScos),
            (
                "4.17.0-0.okd-scos.testing-2024-09-01-101010",
                Family::Stream,
            ),
            ("1.0.0-test", Family::Other),
            ("0.0.1-2024-01-02-030405", Family::Other),
            ("4.0.0-0.1", Family::Other),
            ("4.16.0-ec.0+build.5", Family::Candidate),
        ];
        for (s, family) in cases {
            let parsed = v(s);
            assert_eq!(parsed.family(), family, "{s}");
            assert_eq!(parsed.to_string(), s);
        }
    }

    #[test]
    fn accessors() {
        let n = v("4.19.0-0.nightly-2025-01-02-030405");
        assert_eq!(n.stream(), Some("nightly"));
        assert_eq!(n.stream_name().as_deref(), Some("4.19.0-0.nightly"));
        assert_eq!(
            n.timestamp().unwrap().format(TIMESTAMP_FORMAT).to_string(),
            "2025-01-02-030405"
        );
        assert_eq!(n.sequence(), None);
        let ec = v("4.22.0-okd-scos.ec.16");
        assert_eq!(ec.sequence(), Some(16));
        assert_eq!(ec.candidate(), Some(CandidateKind::Engineering));
        assert_eq!(
            ec.major_minor(),
            MajorMinor {
                major: 4,
                minor: 22
            }
        );
        assert_eq!(ec.timestamp(), None);
        let rc = v("4.16.0-rc.3");
        assert_eq!(rc.candidate(), Some(CandidateKind::Release));
        assert_eq!(rc.sequence(), Some(3));
        assert!(!v("4.19.3").is_prerelease());
        assert_eq!(
            v("4.16.0-ec.0+b").without_build().to_string(),
            "4.16.0-ec.0"
        );
        assert_eq!(
            ReleaseVersion::okd_scos(4, 19, 0, 19),
            v("4.19.0-okd-scos.19")
        );
    }

    #[test]
    fn errors_name_the_input() {
        for bad in [
            "4.19",
            "v4.19.0",
            "4.19.0-",
            "04.19.0",
            "4.19.0-0.nightly-2025-13-02-030405",
            "4.19.0-okd-scos.01",
            "",
        ] {
            let err = bad.parse::<ReleaseVersion>().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidVersion { input, .. } if input == bad),
                "{err}"
            );
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn ordering_is_semver() {
        let mut versions: Vec<ReleaseVersion> = [
            "4.19.0-okd-scos.10",
            "4.19.0",
            "4.19.0-okd-scos.9",
            "4.19.0-ec.2",
            "4.18.5",
            "4.19.0-rc.0",
            "4.19.0-0.nightly-2025-01-02-030405",
            "4.19.0-0.nightly-2024-12-31-235959",
        ]
        .iter()
        .map(|s| v(s))
        .collect();
        versions.sort();
        let sorted: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            sorted,
            [
                "4.18.5",
                "4.19.0-0.nightly-2024-12-31-235959",
                "4.19.0-0.nightly-2025-01-02-030405",
                "4.19.0-ec.2",
                "4.19.0-okd-scos.9",
                "4.19.0-okd-scos.10",
                "4.19.0-rc.0",
                "4.19.0",
            ]
        );
    }

    #[test]
    fn major_minor_parses() {
        assert_eq!("4.19".parse::<MajorMinor>().unwrap().to_string(), "4.19");
        assert!("4".parse::<MajorMinor>().is_err());
        assert!("4.09".parse::<MajorMinor>().is_err());
    }

    #[test]
    fn serde_is_a_string() {
        let x = v("4.19.0-okd-scos.19");
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, "\"4.19.0-okd-scos.19\"");
        assert_eq!(serde_json::from_str::<ReleaseVersion>(&json).unwrap(), x);
        assert!(serde_json::from_str::<ReleaseVersion>("\"x\"").is_err());
    }
}
