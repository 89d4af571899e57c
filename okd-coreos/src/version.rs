//! CoreOS OS versions: parsing, printing and ordering.
//!
//! Four schemes are in use:
//!
//! | scheme | shape | example | who |
//! |---|---|---|---|
//! | [`FcosVersion`] | `X.YYYYMMDD.Z.N` (`Z.devN`, `dev.N`, or just `Z`) | `44.20260707.3.1` | Fedora CoreOS |
//! | [`OkdMachineOsVersion`] | `4XY.FF.P` | `412.36.0` | OKD/FCOS node image display version |
//! | [`CosaVersion`] | `<prefix>.YYYYMMDDHHMM-N` | `414.9.202310110807-0` | RHCOS/SCOS built from cosa manifests (≤ 4.18) |
//! | [`BaseImageVersion`] | `X.Y.YYYYMMDD-N[.dev]` | `9.0.20250510-0` | RHCOS/SCOS base images (4.19+) |
//!
//! For FCOS the `Z` component is the stream number ([`FcosStream::number`]). Printing a parsed
//! version gives back exactly the text it was parsed from.
//!
//! Versions of one scheme order by their components (dates compare as dates). Versions of
//! different schemes order by scheme, in the order of the table above, which puts the older RHCOS
//! scheme before the newer one; use [`OsVersion::date`] to compare builds across schemes by time.
//!
//! ```
//! use okd_coreos::{FcosStream, OsVersion};
//!
//! let v: OsVersion = "44.20260707.3.1".parse()?;
//! let OsVersion::Fcos(f) = &v else { unreachable!() };
//! assert_eq!(f.stream(), Some(FcosStream::Stable));
//! assert_eq!(v.to_string(), "44.20260707.3.1");
//!
//! let old: OsVersion = "418.94.202410090804-0".parse()?;
//! let new: OsVersion = "9.6.20250510-0".parse()?;
//! assert!(old < new);
//! assert!("9.6.20250510-0.dev".parse::<OsVersion>()? < new);
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, FcosStream};

/// A CoreOS OS version in any of the schemes in use. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OsVersion {
    /// Fedora CoreOS, `44.20260707.3.1`.
    Fcos(FcosVersion),
    /// The OKD/FCOS node image's display version, `412.36.0`.
    OkdMachineOs(OkdMachineOsVersion),
    /// RHCOS/SCOS from cosa manifests, `414.9.202310110807-0`.
    Cosa(CosaVersion),
    /// RHCOS/SCOS base images, `9.0.20250510-0`.
    BaseImage(BaseImageVersion),
}

/// What follows `X.YYYYMMDD.` in a Fedora CoreOS version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FcosBuild {
    /// `Z.N`: iteration `N` of a build on stream `Z`.
    Release {
        /// The stream number.
        stream: u32,
        /// The iteration.
        iteration: u32,
    },
    /// `Z.devN`: a development build on stream `Z`.
    Dev {
        /// The stream number.
        stream: u32,
        /// The development build number.
        n: u32,
    },
    /// `dev.N`: a local developer build with no stream.
    Local {
        /// The build number.
        n: u32,
    },
    /// `Z` alone: the version with its iteration cut off, as OKD's node image used to label
    /// itself (`machine-os=37.20230211.20`).
    Truncated {
        /// The stream number.
        stream: u32,
    },
}

impl FcosBuild {
    // Orders builds of one day: by stream number (a local build has none and comes first),
    // then a truncated version (a prefix of every iteration) before any iteration, then by
    // iteration with a dev build before the release build of the same number.
    fn sort_key(&self) -> (u32, Option<(u32, u8)>) {
        match *self {
            FcosBuild::Local { n } => (0, Some((n, 0))),
            FcosBuild::Truncated { stream } => (stream, None),
            FcosBuild::Dev { stream, n } => (stream, Some((n, 0))),
            FcosBuild::Release { stream, iteration } => (stream, Some((iteration, 1))),
        }
    }
}

impl PartialOrd for FcosBuild {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FcosBuild {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| self.variant_rank().cmp(&other.variant_rank()))
    }
}

impl FcosBuild {
    // Tie-breaker so that `Ord` agrees with `Eq` (a local build `dev.N` and a stream-0 dev
    // build `0.devN` have the same sort key).
    fn variant_rank(&self) -> u8 {
        match self {
            FcosBuild::Local { .. } => 0,
            FcosBuild::Truncated { .. } => 1,
            FcosBuild::Dev { .. } => 2,
            FcosBuild::Release { .. } => 3,
        }
    }
}

/// A Fedora CoreOS version `X.YYYYMMDD.Z.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FcosVersion {
    /// Fedora major version.
    pub major: u32,
    /// Date of the package set (the lockfile's generation date).
    pub date: NaiveDate,
    /// Stream number and iteration.
    pub build: FcosBuild,
}

impl FcosVersion {
    /// The stream number (`3` for stable), unless this is a local developer build.
    pub fn stream_number(&self) -> Option<u32> {
        match self.build {
            FcosBuild::Release { stream, .. }
            | FcosBuild::Dev { stream, .. }
            | FcosBuild::Truncated { stream } => Some(stream),
            FcosBuild::Local { .. } => None,
        }
    }

    /// The stream the version was built for, when its number is a known one.
    pub fn stream(&self) -> Option<FcosStream> {
        self.stream_number().and_then(FcosStream::from_number)
    }

    /// The iteration of a release build.
    pub fn iteration(&self) -> Option<u32> {
        match self.build {
            FcosBuild::Release { iteration, .. } => Some(iteration),
            _ => None,
        }
    }

    /// True for `Z.devN` and `dev.N` builds.
    pub fn is_dev(&self) -> bool {
        matches!(self.build, FcosBuild::Dev { .. } | FcosBuild::Local { .. })
    }
}

impl fmt::Display for FcosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.", self.major, self.date.format("%Y%m%d"))?;
        match self.build {
            FcosBuild::Release { stream, iteration } => write!(f, "{stream}.{iteration}"),
            FcosBuild::Dev { stream, n } => write!(f, "{stream}.dev{n}"),
            FcosBuild::Local { n } => write!(f, "dev.{n}"),
            FcosBuild::Truncated { stream } => write!(f, "{stream}"),
        }
    }
}

/// The display version of OKD's FCOS-based node image, `4XY.FF.P` (`412.36.0` is OKD 4.12 on
/// Fedora 36).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OkdMachineOsVersion {
    /// OpenShift major and minor written together (`412`).
    pub openshift: u32,
    /// Fedora major version.
    pub fedora: u32,
    /// Patch number.
    pub patch: u32,
}

impl OkdMachineOsVersion {
    /// OpenShift `(major, minor)`: the first digit and the rest of [`Self::openshift`].
    pub fn openshift_version(&self) -> (u32, u32) {
        split_openshift(self.openshift)
    }
}

impl fmt::Display for OkdMachineOsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.openshift, self.fedora, self.patch)
    }
}

/// An RHCOS/SCOS version from the cosa-manifest era, `<prefix>.YYYYMMDDHHMM-N`.
///
/// The prefix is one or two numbers: `414.9` (OKD 4.14 on CentOS Stream 9), `410.84`
/// (OpenShift 4.10 on RHEL 8.4), `47.34` (OKD 4.7 on Fedora 34), `9.4` or `9` (a pure base OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CosaVersion {
    /// First prefix number (`414`).
    pub prefix_major: u32,
    /// Second prefix number (`9`, `92`), when there is one.
    pub prefix_minor: Option<u32>,
    /// Build time (minute resolution).
    pub timestamp: NaiveDateTime,
    /// Build number of that minute.
    pub build: u32,
}

impl CosaVersion {
    /// OpenShift `(major, minor)` when the prefix starts with one (`414` → 4.14, `47` → 4.7).
    pub fn openshift_version(&self) -> Option<(u32, u32)> {
        (self.prefix_minor.is_some() && self.prefix_major >= 40)
            .then(|| split_openshift(self.prefix_major))
    }

    /// Enterprise Linux `(major, minor)` the build is based on: `9` → (9, None), `92` → (9, Some(2)),
    /// `84` → (8, Some(4)); for a pure base OS `9.4` → (9, Some(4)). `None` when the second number
    /// is a Fedora release (`47.34`).
    pub fn el_version(&self) -> Option<(u32, Option<u32>)> {
        match (self.openshift_version(), self.prefix_minor) {
            (None, minor) => Some((self.prefix_major, minor)),
            (Some(_), Some(el)) if el < 10 => Some((el, None)),
            (Some(_), Some(el)) if (80..100).contains(&el) => Some((el / 10, Some(el % 10))),
            _ => None,
        }
    }
}

impl fmt::Display for CosaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.", self.prefix_major)?;
        if let Some(minor) = self.prefix_minor {
            write!(f, "{minor}.")?;
        }
        write!(f, "{}-{}", self.timestamp.format("%Y%m%d%H%M"), self.build)
    }
}

/// An RHCOS/SCOS base-image version, `X.Y.YYYYMMDD-N[.dev]` (`9.0` is CentOS Stream 9, `9.6` is
/// RHEL 9.6, `10.0` CentOS Stream 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BaseImageVersion {
    /// EL major version.
    pub major: u32,
    /// EL minor version (`0` for CentOS Stream).
    pub minor: u32,
    /// Build date.
    pub date: NaiveDate,
    /// Build number of that day.
    pub build: u32,
    /// True for a `.dev` build.
    pub dev: bool,
}

impl BaseImageVersion {
    // A dev build orders before the release build of the same number.
    fn sort_key(&self) -> (u32, u32, NaiveDate, u32, bool) {
        (self.major, self.minor, self.date, self.build, !self.dev)
    }
}

impl PartialOrd for BaseImageVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BaseImageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl fmt::Display for BaseImageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}-{}",
            self.major,
            self.minor,
            self.date.format("%Y%m%d"),
            self.build
        )?;
        if self.dev {
            f.write_str(".dev")?;
        }
        Ok(())
    }
}

impl OsVersion {
    /// The build (or package set) date, for comparing builds of different schemes by time.
    /// `None` for [`OkdMachineOsVersion`], which has no date.
    pub fn date(&self) -> Option<NaiveDate> {
        match self {
            OsVersion::Fcos(v) => Some(v.date),
            OsVersion::OkdMachineOs(_) => None,
            OsVersion::Cosa(v) => Some(v.timestamp.date()),
            OsVersion::BaseImage(v) => Some(v.date),
        }
    }

    /// True for development builds.
    pub fn is_dev(&self) -> bool {
        match self {
            OsVersion::Fcos(v) => v.is_dev(),
            OsVersion::BaseImage(v) => v.dev,
            OsVersion::OkdMachineOs(_) | OsVersion::Cosa(_) => false,
        }
    }

    /// The version as a release lists it among its component versions, which must be semantic
    /// versions: a Fedora CoreOS release `X.YYYYMMDD.Z.N` has four numbers, so OKD labelled its
    /// node image with the iteration cut off (`37.20230211.20`); every other version is
    /// returned unchanged.
    pub fn to_component_version(&self) -> OsVersion {
        match self {
            OsVersion::Fcos(FcosVersion {
                major,
                date,
                build: FcosBuild::Release { stream, .. },
            }) => OsVersion::Fcos(FcosVersion {
                major: *major,
                date: *date,
                build: FcosBuild::Truncated { stream: *stream },
            }),
            other => other.clone(),
        }
    }

    /// The name of the scheme (`fcos`, `okd-machine-os`, `cosa`, `base-image`), for messages.
    pub fn scheme(&self) -> &'static str {
        match self {
            OsVersion::Fcos(_) => "fcos",
            OsVersion::OkdMachineOs(_) => "okd-machine-os",
            OsVersion::Cosa(_) => "cosa",
            OsVersion::BaseImage(_) => "base-image",
        }
    }
}

impl fmt::Display for OsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OsVersion::Fcos(v) => v.fmt(f),
            OsVersion::OkdMachineOs(v) => v.fmt(f),
            OsVersion::Cosa(v) => v.fmt(f),
            OsVersion::BaseImage(v) => v.fmt(f),
        }
    }
}

fn split_openshift(n: u32) -> (u32, u32) {
    // `414` is 4.14 and `47` is 4.7: the first digit is the major version.
    let digits = n.checked_ilog10().unwrap_or(0);
    let scale = 10u32.pow(digits);
    (n / scale, n % scale)
}

/// Parses a decimal number with no sign and no leading zero, so that printing it gives back the
/// same text.
pub(crate) fn parse_number(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    (s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| NaiveDate::parse_from_str(s, "%Y%m%d").ok())
        .flatten()
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M").ok())
        .flatten()
}

impl FromStr for FcosVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::InvalidOsVersion {
            input: s.to_string(),
            reason: format!("not a Fedora CoreOS version X.YYYYMMDD.Z.N: {reason}"),
        };
        let parts: Vec<&str> = s.split('.').collect();
        if !(3..=4).contains(&parts.len()) {
            return Err(bad("expected 3 or 4 dot-separated parts"));
        }
        let major =
            parse_number(parts[0]).ok_or_else(|| bad("the major version is not a number"))?;
        let date =
            parse_date(parts[1]).ok_or_else(|| bad("the second part is not a YYYYMMDD date"))?;
        let stream = parse_number(parts[2]);
        let build = match (stream, parts.get(3)) {
            (Some(stream), None) => FcosBuild::Truncated { stream },
            (Some(stream), Some(last)) => match last.strip_prefix("dev") {
                Some(n) => FcosBuild::Dev {
                    stream,
                    n: parse_number(n)
                        .ok_or_else(|| bad("the dev build number is not a number"))?,
                },
                None => FcosBuild::Release {
                    stream,
                    iteration: parse_number(last)
                        .ok_or_else(|| bad("the iteration is not a number"))?,
                },
            },
            (None, Some(last)) if parts[2] == "dev" => FcosBuild::Local {
                n: parse_number(last).ok_or_else(|| bad("the dev build number is not a number"))?,
            },
            _ => return Err(bad("the stream number is not a number")),
        };
        Ok(FcosVersion { major, date, build })
    }
}

impl FromStr for OkdMachineOsVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::InvalidOsVersion {
            input: s.to_string(),
            reason: format!("not an OKD machine-os version 4XY.FF.P: {reason}"),
        };
        let parts: Vec<&str> = s.split('.').collect();
        let [openshift, fedora, patch] = parts[..] else {
            return Err(bad("expected 3 dot-separated numbers"));
        };
        let openshift = parse_number(openshift)
            .filter(|n| *n >= 100)
            .ok_or_else(|| bad("the first part is not an OpenShift version like 412"))?;
        let fedora =
            parse_number(fedora).ok_or_else(|| bad("the Fedora version is not a number"))?;
        let patch = parse_number(patch).ok_or_else(|| bad("the patch is not a number"))?;
        Ok(OkdMachineOsVersion {
            openshift,
            fedora,
            patch,
        })
    }
}

impl FromStr for CosaVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::InvalidOsVersion {
            input: s.to_string(),
            reason: format!("not an RHCOS/SCOS version <prefix>.YYYYMMDDHHMM-N: {reason}"),
        };
        let (left, build) = s
            .rsplit_once('-')
            .ok_or_else(|| bad("no -N build number"))?;
        let build = parse_number(build).ok_or_else(|| bad("the build number is not a number"))?;
        let parts: Vec<&str> = left.split('.').collect();
        let (prefix, stamp) = match parts[..] {
            [a, stamp] => ((a, None), stamp),
            [a, b, stamp] => ((a, Some(b)), stamp),
            _ => {
                return Err(bad(
                    "expected one or two prefix numbers before the timestamp",
                ));
            }
        };
        let timestamp =
            parse_timestamp(stamp).ok_or_else(|| bad("the timestamp is not YYYYMMDDHHMM"))?;
        let prefix_major =
            parse_number(prefix.0).ok_or_else(|| bad("the prefix is not a number"))?;
        let prefix_minor = prefix
            .1
            .map(|m| parse_number(m).ok_or_else(|| bad("the prefix is not a number")))
            .transpose()?;
        Ok(CosaVersion {
            prefix_major,
            prefix_minor,
            timestamp,
            build,
        })
    }
}

impl FromStr for BaseImageVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::InvalidOsVersion {
            input: s.to_string(),
            reason: format!("not an RHCOS/SCOS version X.Y.YYYYMMDD-N[.dev]: {reason}"),
        };
        let (left, tail) = s.split_once('-').ok_or_else(|| bad("no -N build number"))?;
        let (build, dev) = match tail.strip_suffix(".dev") {
            Some(b) => (b, true),
            None => (tail, false),
        };
        let build = parse_number(build).ok_or_else(|| bad("the build number is not a number"))?;
        let parts: Vec<&str> = left.split('.').collect();
        let [major, minor, date] = parts[..] else {
            return Err(bad("expected X.Y.YYYYMMDD before the build number"));
        };
        Ok(BaseImageVersion {
            major: parse_number(major).ok_or_else(|| bad("the major version is not a number"))?,
            minor: parse_number(minor).ok_or_else(|| bad("the minor version is not a number"))?,
            date: parse_date(date).ok_or_else(|| bad("the date is not YYYYMMDD"))?,
            build,
            dev,
        })
    }
}

impl FromStr for OsVersion {
    type Err = Error;

    /// Recognises the scheme from the shape of the text: a `-` means RHCOS/SCOS (a 12-digit
    /// timestamp is the cosa scheme, an 8-digit date the base-image scheme); otherwise an 8-digit
    /// second part means Fedora CoreOS, and three plain numbers the OKD machine-os scheme.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(Error::InvalidOsVersion {
                input: String::new(),
                reason: "empty".to_string(),
            });
        }
        if let Some((left, _)) = s.split_once('-') {
            let last = left.rsplit('.').next().unwrap_or_default();
            return if last.len() == 12 {
                s.parse().map(OsVersion::Cosa)
            } else {
                s.parse().map(OsVersion::BaseImage)
            };
        }
        let second = s.split('.').nth(1).unwrap_or_default();
        if second.len() == 8 {
            s.parse().map(OsVersion::Fcos)
        } else if s.split('.').count() == 3 {
            s.parse().map(OsVersion::OkdMachineOs)
        } else {
            Err(Error::InvalidOsVersion {
                input: s.to_string(),
                reason: "matches none of X.YYYYMMDD.Z.N (FCOS), <prefix>.YYYYMMDDHHMM-N or \
                         X.Y.YYYYMMDD-N (RHCOS/SCOS), 4XY.FF.P (OKD machine-os)"
                    .to_string(),
            })
        }
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

string_serde!(
    OsVersion,
    FcosVersion,
    OkdMachineOsVersion,
    CosaVersion,
    BaseImageVersion
);
