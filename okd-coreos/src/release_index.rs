//! A stream's release index (`prod/streams/<stream>/releases.json`): every release of the stream,
//! oldest first, with its ostree commit and OS container image per architecture and the URL of
//! its `release.json`.
//!
//! ```
//! use okd_coreos::ReleaseIndex;
//!
//! let json = br#"{"note": "internal", "stream": "stable",
//!   "metadata": {"last-modified": "2021-01-05T10:15:52Z"},
//!   "releases": [
//!     {"version": "31.20200108.3.0", "metadata": "https://example.org/31.20200108.3.0/release.json"},
//!     {"version": "31.20200113.3.1", "metadata": "https://example.org/31.20200113.3.1/release.json"}
//!   ]}"#;
//! let index = ReleaseIndex::from_slice(json)?;
//! assert_eq!(index.latest()?.map(|r| r.version.as_str()), Some("31.20200113.3.1"));
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::cloud::Extra;
use crate::error::{from_json, to_json_pretty};
use crate::stream::Metadata;
use crate::{Error, OsVersion, Sha256};

/// A release index document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseIndex {
    /// A note to readers (Fedora CoreOS asks that only its own tooling use the index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The releases, oldest first.
    pub releases: Vec<IndexRelease>,
    /// Document metadata.
    pub metadata: Metadata,
    /// The stream's name.
    pub stream: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One release in an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexRelease {
    /// Ostree commits per architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<IndexCommit>>,
    /// OS container images per architecture.
    #[serde(
        rename = "oci-images",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oci_images: Option<Vec<IndexOciImage>>,
    /// The OS version.
    pub version: String,
    /// URL of the release's `release.json`.
    pub metadata: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An ostree commit of one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexCommit {
    /// The architecture (RPM name).
    pub architecture: String,
    /// The commit checksum.
    pub checksum: Sha256,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An OS container image of one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexOciImage {
    /// The architecture (RPM name).
    pub architecture: String,
    /// By tag.
    pub image: String,
    /// By digest.
    #[serde(rename = "digest-ref")]
    pub digest_ref: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ReleaseIndex {
    /// Parses a release index. Errors name the field that is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<ReleaseIndex, Error> {
        from_json("release index", bytes)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        to_json_pretty("release index", self)
    }

    /// The release with `version`.
    pub fn find(&self, version: &str) -> Result<&IndexRelease, Error> {
        self.releases
            .iter()
            .find(|r| r.version == version)
            .ok_or_else(|| Error::NotFound {
                document: "release index",
                name: self.stream.clone(),
                path: format!("releases[version={version}]"),
            })
    }

    /// The newest release by [`OsVersion`] order, or `None` for an empty index. Fails on a
    /// version that does not parse, naming it.
    pub fn latest(&self) -> Result<Option<&IndexRelease>, Error> {
        let mut best: Option<(OsVersion, &IndexRelease)> = None;
        for r in &self.releases {
            let v = r.os_version()?;
            if best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, r));
            }
        }
        Ok(best.map(|(_, r)| r))
    }
}

impl IndexRelease {
    /// The version, parsed.
    pub fn os_version(&self) -> Result<OsVersion, Error> {
        self.version.parse()
    }

    /// The ostree commit of an architecture.
    pub fn commit(&self, arch: &str) -> Option<&Sha256> {
        self.commits
            .iter()
            .flatten()
            .find(|c| c.architecture == arch)
            .map(|c| &c.checksum)
    }

    /// The OS container image of an architecture.
    pub fn oci_image(&self, arch: &str) -> Option<&IndexOciImage> {
        self.oci_images
            .iter()
            .flatten()
            .find(|c| c.architecture == arch)
    }
}
