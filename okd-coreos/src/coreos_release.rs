//! A CoreOS build's `release.json` (written by `cosa generate-release-meta`): one OS version, its
//! ostree commit and OS container image per architecture, and its artifacts and cloud images per
//! platform. Stream metadata is generated from these documents.
//!
//! ```
//! use okd_coreos::CoreosRelease;
//!
//! let json = br#"{"release": "33.20201201.3.0", "stream": "stable", "metadata": null,
//!   "architectures": {"x86_64": {
//!     "commit": "cad80088392fe43bd3cadf0481c3267f199afa7d9f83bc03937ffdbf5ebbc6da",
//!     "media": {"aws": {"artifacts": {}, "images": {"us-east-1": {"image": "ami-037a0ba6d14ca2e05"}}}}
//! }}}"#;
//! let r = CoreosRelease::from_slice(json)?;
//! assert_eq!(r.aws_ami("x86_64", "us-east-1")?, "ami-037a0ba6d14ca2e05");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cloud::Extra;
use crate::error::{from_json, to_json_pretty};
use crate::rhcos_extensions::RhcosExtensions;
use crate::stream::{Artifact, ImageFormat, Metadata};
use crate::{Error, Sha256};

/// A `release.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreosRelease {
    /// The OS version.
    pub release: String,
    /// The stream it was released on.
    pub stream: String,
    /// Document metadata; `null` in documents that have none.
    pub metadata: Option<Metadata>,
    /// Per architecture.
    pub architectures: BTreeMap<String, ReleaseArch>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One architecture of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseArch {
    /// The ostree commit checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Sha256>,
    /// The OS container image.
    #[serde(rename = "oci-image", default, skip_serializing_if = "Option::is_none")]
    pub oci_image: Option<OciImage>,
    /// Artifacts and images per platform.
    pub media: BTreeMap<String, Media>,
    /// RHCOS/SCOS-only data.
    #[serde(
        rename = "rhel-coreos-extensions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rhel_coreos_extensions: Option<RhcosExtensions>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container image by tag and by digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OciImage {
    /// By tag (`quay.io/fedora/fedora-coreos:stable`).
    pub image: String,
    /// By digest (`quay.io/fedora/fedora-coreos@sha256:…`).
    #[serde(rename = "digest-ref")]
    pub digest_ref: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a release has for one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Artifacts per format.
    #[serde(default)]
    pub artifacts: BTreeMap<String, ImageFormat>,
    /// Per-region images (AWS, Aliyun: `image`; IBM Cloud, PowerVS: `object`, `bucket`, `url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<BTreeMap<String, RegionImage>>,
    /// The single image of GCP (`project`, `family`, `name`) or KubeVirt (`image`, `digest-ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<PlatformImage>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An image or object in one region. Which fields are set depends on the cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionImage {
    /// Image id (AWS, Aliyun).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Object name (IBM Cloud, PowerVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Bucket (IBM Cloud, PowerVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Object URL (IBM Cloud, PowerVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The single image of a platform. Which fields are set depends on the platform.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlatformImage {
    /// GCP project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// GCP image family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// GCP image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// KubeVirt image by tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// KubeVirt image by digest.
    #[serde(
        rename = "digest-ref",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub digest_ref: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CoreosRelease {
    /// Parses a `release.json`. Errors name the field that is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<CoreosRelease, Error> {
        from_json("release metadata", bytes)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        to_json_pretty("release metadata", self)
    }

    fn missing(&self, path: String) -> Error {
        Error::NotFound {
            document: "release",
            name: self.release.clone(),
            path,
        }
    }

    /// One architecture.
    pub fn arch(&self, arch: &str) -> Result<&ReleaseArch, Error> {
        self.architectures
            .get(arch)
            .ok_or_else(|| self.missing(format!("architectures.{arch}")))
    }

    /// The OS container image of an architecture.
    pub fn oci_image(&self, arch: &str) -> Result<&OciImage, Error> {
        self.arch(arch)?
            .oci_image
            .as_ref()
            .ok_or_else(|| self.missing(format!("architectures.{arch}.oci-image")))
    }

    /// The disk image of a platform and format.
    pub fn disk(&self, arch: &str, platform: &str, format: &str) -> Result<&Artifact, Error> {
        self.arch(arch)?
            .media
            .get(platform)
            .and_then(|m| m.artifacts.get(format))
            .and_then(|f| f.disk.as_ref())
            .ok_or_else(|| {
                self.missing(format!(
                    "architectures.{arch}.media.{platform}.artifacts.{format}.disk"
                ))
            })
    }

    /// The AMI of an architecture in a region.
    pub fn aws_ami(&self, arch: &str, region: &str) -> Result<&str, Error> {
        self.arch(arch)?
            .media
            .get("aws")
            .and_then(|m| m.images.as_ref())
            .and_then(|i| i.get(region))
            .and_then(|r| r.image.as_deref())
            .ok_or_else(|| {
                self.missing(format!(
                    "architectures.{arch}.media.aws.images.{region}.image"
                ))
            })
    }
}
