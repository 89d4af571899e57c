//! `release-manifests/release-metadata`: the Cincinnati metadata of a release.
//!
//! `oc adm release new` writes `json.MarshalIndent` of
//! `{kind, version, previous, next (omitempty), metadata (omitempty)}`: `previous` is always
//! present and sorted as strings (`4.16.10` before `4.16.9`), `next` likewise but left out when
//! empty, and `metadata` is any JSON object (its numbers printed as Go prints floats).
//! [`ReleaseMetadata::to_json`] writes the same bytes.
//!
//! ```
//! use okd_release::ReleaseMetadata;
//!
//! let mut m = ReleaseMetadata::new("4.16.15");
//! m.set_previous(["4.16.9", "4.15.18", "4.16.10"])?;
//! m.metadata.insert("url".into(), "https://access.redhat.com/errata/RHSA-2024:7174".into());
//! assert_eq!(m.previous(), ["4.15.18", "4.16.10", "4.16.9"]);
//! assert_eq!(
//!     m.to_json(),
//!     "{\n  \"kind\": \"cincinnati-metadata-v0\",\n  \"version\": \"4.16.15\",\n  \"previous\": [\n    \"4.15.18\",\n    \"4.16.10\",\n    \"4.16.9\"\n  ],\n  \"metadata\": {\n    \"url\": \"https://access.redhat.com/errata/RHSA-2024:7174\"\n  }\n}"
//! );
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::gojson::{self, Shape};
use crate::{Error, annotations};

/// The only `kind` the cluster-version operator accepts.
pub const KIND: &str = "cincinnati-metadata-v0";

/// Cincinnati release metadata. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReleaseMetadata {
    /// `cincinnati-metadata-v0`.
    #[serde(default)]
    pub kind: String,
    /// The release version (the release name, normalised as a semantic version).
    #[serde(default)]
    pub version: String,
    /// Versions that can upgrade to this one. `None` (written `null`) only for documents that
    /// lacked the field; `oc` always writes a list.
    #[serde(default)]
    pub previous: Option<Vec<String>>,
    /// Versions this one can upgrade to; left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Vec<String>>,
    /// Free-form metadata (`url`, `release.openshift.io/architecture`,
    /// `io.openshift.upgrades.graph.release.channels`); left out when empty.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metadata: BTreeMap<String, Value>,
}

static SHAPE: Shape = Shape::Struct(&[
    ("kind", &Shape::Scalar),
    ("version", &Shape::Scalar),
    ("previous", &Shape::List(&Shape::Scalar)),
    ("next", &Shape::List(&Shape::Scalar)),
    ("metadata", &Shape::Map(&Shape::Any)),
]);

fn normalise(list: &[String], field: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(list.len());
    for s in list.iter().filter(|s| !s.is_empty()) {
        let v = semver::Version::parse(s).map_err(|e| Error::InvalidVersion {
            input: s.clone(),
            reason: format!("in {field}: {e}"),
        })?;
        out.push(v.to_string());
    }
    out.sort();
    Ok(out)
}

impl ReleaseMetadata {
    /// Metadata for `version` with an empty `previous` list.
    pub fn new(version: &str) -> ReleaseMetadata {
        ReleaseMetadata {
            kind: KIND.to_string(),
            version: version.to_string(),
            previous: Some(Vec::new()),
            next: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Parses a release-metadata document as `oc` does (`encoding/json`: field names match
    /// case-insensitively, numbers in `metadata` become floats). The kind is not checked here;
    /// see [`validate`](Self::validate).
    pub fn parse(data: &[u8]) -> Result<ReleaseMetadata, Error> {
        Self::parse_named(data, "release-metadata")
    }

    /// [`parse`](Self::parse), naming the document `file` in errors.
    pub fn parse_named(data: &[u8], file: &str) -> Result<ReleaseMetadata, Error> {
        let mut m: ReleaseMetadata = gojson::from_slice_go(data, &SHAPE, false)
            .map_err(|reason| Error::document(file, reason))?;
        m.metadata = std::mem::take(&mut m.metadata)
            .into_iter()
            .map(|(k, v)| (k, gojson::floats_as_go(v)))
            .collect();
        Ok(m)
    }

    /// Checks what the cluster-version operator checks: the kind, and that `version` is a
    /// semantic version. Cincinnati additionally requires string metadata values; see
    /// [`string_metadata`](Self::string_metadata).
    pub fn validate(&self) -> Result<(), Error> {
        if self.kind != KIND {
            return Err(Error::WrongKind {
                file: "release-metadata".to_string(),
                expected: "cincinnati-metadata-v0",
                reason: format!("kind {:?}", self.kind),
            });
        }
        semver::Version::parse(&self.version).map_err(|e| Error::InvalidVersion {
            input: self.version.clone(),
            reason: e.to_string(),
        })?;
        Ok(())
    }

    /// The bytes `oc` writes for this document (`json.MarshalIndent`, no trailing newline).
    pub fn to_json(&self) -> String {
        gojson::to_string_indent(self).unwrap_or_else(|e| unreachable!("release-metadata: {e}"))
    }

    /// The `previous` versions (empty when absent).
    pub fn previous(&self) -> &[String] {
        self.previous.as_deref().unwrap_or(&[])
    }

    /// The `next` versions (empty when absent).
    pub fn next(&self) -> &[String] {
        self.next.as_deref().unwrap_or(&[])
    }

    /// Sets `previous` as `oc adm release new --previous` does: empty entries dropped, each
    /// parsed and normalised as a semantic version, sorted as strings.
    pub fn set_previous<I, S>(&mut self, versions: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = versions.into_iter().map(Into::into).collect();
        self.previous = Some(normalise(&list, "previous")?);
        Ok(())
    }

    /// Sets `next` like [`set_previous`](Self::set_previous); an empty list is left out.
    pub fn set_next<I, S>(&mut self, versions: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = versions.into_iter().map(Into::into).collect();
        let next = normalise(&list, "next")?;
        self.next = (!next.is_empty()).then_some(next);
        Ok(())
    }

    /// True when `version` is in `previous`: a release with this metadata can be reached by an
    /// upgrade from `version`.
    pub fn upgrades_from(&self, version: &str) -> bool {
        self.previous().iter().any(|p| p == version)
    }

    /// The metadata as strings, as Cincinnati's graph-builder requires; the keys whose values
    /// are not strings are returned as the error.
    pub fn string_metadata(&self) -> Result<BTreeMap<String, String>, Vec<String>> {
        let mut out = BTreeMap::new();
        let mut bad = Vec::new();
        for (k, v) in &self.metadata {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                _ => bad.push(k.clone()),
            }
        }
        if bad.is_empty() { Ok(out) } else { Err(bad) }
    }

    /// The errata URL (`url`).
    pub fn url(&self) -> Option<&str> {
        self.metadata.get(annotations::METADATA_URL)?.as_str()
    }

    /// True when `release.openshift.io/architecture` is `multi`.
    pub fn is_multi_arch(&self) -> bool {
        self.metadata
            .get(annotations::METADATA_ARCHITECTURE)
            .and_then(Value::as_str)
            == Some("multi")
    }

    /// The channels of `io.openshift.upgrades.graph.release.channels`, in the order listed.
    pub fn channels(&self) -> Vec<&str> {
        self.metadata
            .get(annotations::METADATA_CHANNELS)
            .and_then(Value::as_str)
            .map(split_channels)
            .unwrap_or_default()
    }
}

/// The channels of a comma-separated [`annotations::METADATA_CHANNELS`] value, in the order
/// listed, blanks dropped.
pub(crate) fn split_channels(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_previous_round_trips_as_null() {
        let m =
            ReleaseMetadata::parse(br#"{"kind":"cincinnati-metadata-v0","version":"1.0.0-test"}"#)
                .unwrap();
        assert_eq!(m.previous, None);
        assert_eq!(
            m.to_json(),
            "{\n  \"kind\": \"cincinnati-metadata-v0\",\n  \"version\": \"1.0.0-test\",\n  \"previous\": null\n}"
        );
    }

    #[test]
    fn next_is_written_when_set() {
        let mut m = ReleaseMetadata::new("4.19.0");
        m.set_next(["4.19.1", ""]).unwrap();
        assert!(m.to_json().contains("\"next\": [\n    \"4.19.1\"\n  ]"));
        m.set_next(Vec::<String>::new()).unwrap();
        assert!(!m.to_json().contains("next"));
    }

    #[test]
    fn invalid_previous_names_the_version() {
        let mut m = ReleaseMetadata::new("4.19.0");
        let err = m.set_previous(["4.18"]).unwrap_err();
        assert!(err.to_string().contains("\"4.18\""), "{err}");
    }

    #[test]
    fn numbers_and_html_like_go() {
        let m = ReleaseMetadata::parse(
            br#"{"Kind":"cincinnati-metadata-v0","VERSION":"4.1.0","previous":[],"metadata":{"n":1.0,"u":"a&b"}}"#,
        )
        .unwrap();
        assert_eq!(
            m.to_json(),
            "{\n  \"kind\": \"cincinnati-metadata-v0\",\n  \"version\": \"4.1.0\",\n  \"previous\": [],\n  \"metadata\": {\n    \"n\": 1,\n    \"u\": \"a\\u0026b\"\n  }\n}"
        );
        assert_eq!(m.string_metadata().unwrap_err(), ["n"]);
    }

    #[test]
    fn validate_checks_kind_and_version() {
        let mut m = ReleaseMetadata::new("4.19.0");
        assert!(m.validate().is_ok());
        m.kind = "other".into();
        assert!(matches!(m.validate(), Err(Error::WrongKind { .. })));
        let m = ReleaseMetadata::new("not-semver");
        assert!(matches!(m.validate(), Err(Error::InvalidVersion { .. })));
    }
}
