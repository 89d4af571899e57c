//! A stream's update metadata (`updates/<stream>.json`): the input of the Fedora CoreOS update
//! graph, marking releases as barriers (every older node must update through them), dead ends
//! (no update away from them) or rolling out (a share of the fleet growing over time).
//!
//! ```
//! use okd_coreos::Updates;
//!
//! let json = br#"{"stream": "stable", "metadata": {"last-modified": "2026-07-21T14:07:12Z"},
//!   "releases": [
//!     {"version": "32.20200615.3.0", "metadata": {"barrier": {"reason": "https://example.org/484"}}},
//!     {"version": "44.20260707.3.1", "metadata": {"rollout": {
//!        "duration_minutes": 2880, "start_epoch": 1784728800, "start_percentage": 0.0}}}
//!   ]}"#;
//! let u = Updates::from_slice(json)?;
//! assert_eq!(u.barriers().map(|r| r.version.as_str()).collect::<Vec<_>>(), ["32.20200615.3.0"]);
//! assert_eq!(u.find("44.20260707.3.1").and_then(|r| r.metadata.rollout.as_ref()).map(|r| r.start_epoch), Some(1784728800));
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::cloud::Extra;
use crate::error::{from_json, to_json_pretty};
use crate::stream::Metadata;

/// An update metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Updates {
    /// The stream's name.
    pub stream: String,
    /// Document metadata.
    pub metadata: Metadata,
    /// Releases with update hints.
    pub releases: Vec<UpdateRelease>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Update hints for one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRelease {
    /// The OS version.
    pub version: String,
    /// The hints.
    pub metadata: UpdateMetadata,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The hints of one release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateMetadata {
    /// Every older release must update to this one before going further.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barrier: Option<Reason>,
    /// No update leads away from this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadend: Option<Reason>,
    /// The release is being rolled out gradually.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a release is a barrier or a dead end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Usually the URL of a tracker issue.
    pub reason: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A gradual rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// When the rollout starts, in seconds since the Unix epoch.
    pub start_epoch: i64,
    /// The share of the fleet (0.0–1.0) offered the update at the start.
    pub start_percentage: f64,
    /// How long the rollout takes to reach the whole fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u64>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Updates {
    /// Parses an update metadata document. Errors name the field that is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<Updates, Error> {
        from_json("update metadata", bytes)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        to_json_pretty("update metadata", self)
    }

    /// The hints of one release.
    pub fn find(&self, version: &str) -> Option<&UpdateRelease> {
        self.releases.iter().find(|r| r.version == version)
    }

    /// Releases that are barriers.
    pub fn barriers(&self) -> impl Iterator<Item = &UpdateRelease> {
        self.releases
            .iter()
            .filter(|r| r.metadata.barrier.is_some())
    }

    /// Releases that are dead ends.
    pub fn deadends(&self) -> impl Iterator<Item = &UpdateRelease> {
        self.releases
            .iter()
            .filter(|r| r.metadata.deadend.is_some())
    }
}
