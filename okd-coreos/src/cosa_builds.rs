//! The `builds/builds.json` index coreos-assembler keeps in a work directory and build bucket:
//! build ids, newest first, with the architectures each was built for.
//!
//! ```
//! use okd_coreos::CosaBuilds;
//!
//! let json = br#"{"schema-version": "1.0.0",
//!   "builds": [{"id": "40.20240425.dev.1", "arches": ["x86_64"]}]}"#;
//! let b = CosaBuilds::from_slice(json)?;
//! assert_eq!(b.latest().map(|b| b.id.as_str()), Some("40.20240425.dev.1"));
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::cloud::Extra;
use crate::error::{from_json, to_json_pretty};
use crate::{Error, Timestamp};

/// A `builds.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosaBuilds {
    /// Schema version; the major version must be 1.
    #[serde(rename = "schema-version")]
    pub schema_version: String,
    /// Builds, newest first.
    pub builds: Vec<CosaBuild>,
    /// When the index last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Named tags pointing at builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<serde_json::Value>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosaBuild {
    /// The build id (the OS version).
    pub id: String,
    /// Architectures built.
    pub arches: Vec<String>,
    /// What the pruner already removed.
    #[serde(
        rename = "policy-cleanup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub policy_cleanup: Option<PolicyCleanup>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Cleanups already applied to a build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyCleanup {
    /// Cloud uploads were removed.
    #[serde(
        rename = "cloud-uploads",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_uploads: Option<bool>,
    /// Images were removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<bool>,
    /// Images kept despite the image cleanup.
    #[serde(
        rename = "images-kept",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub images_kept: Option<Vec<String>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CosaBuilds {
    /// Parses a `builds.json`, refusing a schema major version other than 1.
    pub fn from_slice(bytes: &[u8]) -> Result<CosaBuilds, Error> {
        let b: CosaBuilds = from_json("builds.json", bytes)?;
        if b.schema_version.split('.').next() != Some("1") {
            return Err(Error::Json {
                document: "builds.json".to_string(),
                path: "schema-version".to_string(),
                message: format!(
                    "unsupported schema version {:?} (major version 1 expected)",
                    b.schema_version
                ),
            });
        }
        Ok(b)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        to_json_pretty("builds.json", self)
    }

    /// The newest build.
    pub fn latest(&self) -> Option<&CosaBuild> {
        self.builds.first()
    }
}
