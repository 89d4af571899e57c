//! How a stream names its releases.
//!
//! * [`VersionScheme::Dated`]: `<stream name>-<UTC YYYY-MM-DD-HHMMSS>`, as the release-controller
//!   names the tags of an integration stream (`4.19.0-0.okd-scos-2025-06-01-120000`);
//! * [`VersionScheme::Sequence`]: `<x.y.z>-<label>.<n>`, as OKD names its published releases
//!   (`4.19.0-okd-scos.3`), `n` counting up from 1 and never reused, even after garbage
//!   collection.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use okd_streams::stream::VersionScheme;
//!
//! let at = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
//! let dated = VersionScheme::Dated;
//! assert_eq!(dated.name("4.19.0-0.okd-scos", at, 0)?, "4.19.0-0.okd-scos-2025-06-01-120000");
//!
//! let seq = VersionScheme::sequence("4.19.0", "okd-scos")?;
//! assert_eq!(seq.name("4.19.0-0.okd-scos", at, 3)?, "4.19.0-okd-scos.3");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use chrono::{DateTime, Utc};
use okd_release::TIMESTAMP_FORMAT;

use super::StreamError;

/// How release names are made. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionScheme {
    /// `<stream name>-<YYYY-MM-DD-HHMMSS>` of the creation time.
    #[default]
    Dated,
    /// `<version>-<label>.<n>`.
    Sequence {
        /// The `x.y.z` part.
        version: semver::Version,
        /// The pre-release label before the number (`okd-scos`).
        label: String,
    },
}

impl VersionScheme {
    /// A sequence scheme `<version>-<label>.<n>`; `version` must be `x.y.z` and `label` a
    /// pre-release identifier list that does not end in a number.
    pub fn sequence(version: &str, label: &str) -> Result<VersionScheme, StreamError> {
        let bad = |m: String| StreamError::invalid("", "version", m);
        let v = semver::Version::parse(version)
            .map_err(|e| bad(format!("{version:?} is not an x.y.z version: {e}")))?;
        if !v.pre.is_empty() || !v.build.is_empty() {
            return Err(bad(format!(
                "{version:?} must be a plain x.y.z version; the label comes from `label`"
            )));
        }
        let probe = format!("{v}-{label}.1");
        if label.is_empty() || semver::Version::parse(&probe).is_err() {
            return Err(bad(format!(
                "label {label:?} does not make a semantic version ({probe})"
            )));
        }
        Ok(VersionScheme::Sequence {
            version: v,
            label: label.to_string(),
        })
    }

    /// The name of a release of stream `stream` created at `created`, `sequence` being the
    /// number the stream hands out next (used by [`VersionScheme::Sequence`] only). The result
    /// is checked to be a semantic version, as a release name must be.
    pub fn name(
        &self,
        stream: &str,
        created: DateTime<Utc>,
        sequence: u64,
    ) -> Result<String, StreamError> {
        let name = match self {
            VersionScheme::Dated => format!("{stream}-{}", created.format(TIMESTAMP_FORMAT)),
            VersionScheme::Sequence { version, label } => format!("{version}-{label}.{sequence}"),
        };
        semver::Version::parse(&name).map_err(|e| {
            StreamError::invalid(
                stream,
                "version",
                format!("release name {name:?} is not a semantic version: {e}"),
            )
        })?;
        Ok(name)
    }

    /// The sequence number of `name` under this scheme, when it is one of its names.
    pub fn sequence_of(&self, name: &str) -> Option<u64> {
        match self {
            VersionScheme::Dated => None,
            VersionScheme::Sequence { version, label } => name
                .strip_prefix(&format!("{version}-{label}."))
                .and_then(|n| n.parse().ok()),
        }
    }

    /// True when names depend on the sequence counter.
    pub fn is_sequence(&self) -> bool {
        matches!(self, VersionScheme::Sequence { .. })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn dated_follows_the_controller() {
        let n = VersionScheme::Dated
            .name("4.19.0-0.okd-scos", at(), 9)
            .unwrap();
        assert_eq!(n, "4.19.0-0.okd-scos-2025-06-01-120000");
        let v: okd_release::ReleaseVersion = n.parse().unwrap();
        assert_eq!(v.timestamp(), Some(at()));
    }

    #[test]
    fn dated_needs_a_version_like_stream_name() {
        let e = VersionScheme::Dated.name("my stream", at(), 1).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }

    #[test]
    fn sequence_counts_and_parses_back() {
        let s = VersionScheme::sequence("4.19.0", "okd-scos").unwrap();
        let n = s.name("x", at(), 12).unwrap();
        assert_eq!(n, "4.19.0-okd-scos.12");
        assert_eq!(s.sequence_of(&n), Some(12));
        assert_eq!(s.sequence_of("4.19.0-okd-scos.ec.1"), None);
        assert_eq!(s.sequence_of("4.20.0-okd-scos.1"), None);
        let v: okd_release::ReleaseVersion = n.parse().unwrap();
        assert_eq!(v.family(), okd_release::Family::OkdScos);
    }

    #[test]
    fn sequence_rejects_bad_parts() {
        for (v, l) in [
            ("4.19", "okd-scos"),
            ("4.19.0-1", "okd"),
            ("4.19.0", ""),
            ("4.19.0", "a b"),
        ] {
            let e = VersionScheme::sequence(v, l).unwrap_err();
            assert!(e.to_string().contains("version"), "{v} {l}: {e}");
        }
    }
}
