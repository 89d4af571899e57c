//! The ImageSetConfiguration of oc-mirror v2 (`mirror.openshift.io/v2alpha1`), as wire types.
//!
//! Field names and shapes follow oc-mirror's `v2alpha1` API. What okd-streams cannot mirror
//! (operator catalogs, Helm charts, sample images, sparse platform lists, the KubeVirt
//! container) is refused by [`ImageSetConfiguration::parse`] with the section named, never
//! ignored: a disconnected site must not discover at install time that half its image set was
//! left behind.
//!
//! ```
//! use okd_mirror::imageset::ImageSetConfiguration;
//!
//! let isc = ImageSetConfiguration::parse(br#"
//! apiVersion: mirror.openshift.io/v2alpha1
//! kind: ImageSetConfiguration
//! mirror:
//!   platform:
//!     channels:
//!     - name: 4-scos-stable
//!       type: okd
//!       minVersion: 4.19.0-okd-scos.1
//!       maxVersion: 4.19.0-okd-scos.2
//!   additionalImages:
//!   - name: quay.io/okd/tools:latest
//! "#, "isc.yaml")?;
//! assert_eq!(isc.mirror.platform.channels[0].name, "4-scos-stable");
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;

/// The `apiVersion` read.
pub const API_VERSION: &str = "mirror.openshift.io/v2alpha1";
/// The `kind` read.
pub const KIND: &str = "ImageSetConfiguration";
/// The architecture of a platform section that names none, as oc-mirror defaults it.
pub const DEFAULT_ARCHITECTURE: &str = "amd64";

/// An ImageSetConfiguration document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSetConfiguration {
    /// `mirror.openshift.io/v2alpha1`.
    pub api_version: String,
    /// `ImageSetConfiguration`.
    pub kind: String,
    /// Object metadata, kept as written (oc-mirror does not read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// What to mirror.
    #[serde(default)]
    pub mirror: Mirror,
    /// The size of one archive chunk, in GiB (oc-mirror's unit); 0 when not set.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub archive_size: u64,
}

/// `mirror`: the content of the image set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mirror {
    /// Release payloads.
    #[serde(default)]
    pub platform: Platform,
    /// Operator catalogs (refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<serde_json::Value>,
    /// Images mirrored on their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_images: Vec<AdditionalImage>,
    /// Helm charts (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<serde_json::Value>,
    /// Images never mirrored: unanchored regular expressions over source and destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_images: Vec<BlockedImage>,
    /// Sample images (refused; oc-mirror does not implement them either).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<serde_json::Value>,
}

/// `mirror.platform`: which releases.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Platform {
    /// Also write the upgrade graph of the mirrored releases.
    #[serde(default)]
    pub graph: bool,
    /// Release channels resolved against an upgrade graph.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ReleaseChannel>,
    /// Payload architectures (`amd64`, `arm64`, …, `multi`); `amd64` when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// Sparse platform filters (refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<serde_json::Value>,
    /// One release image by tag or digest, mirrored without a graph.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub release: String,
    /// Extract the KubeVirt container image (refused).
    #[serde(default)]
    pub kube_virt_container: bool,
}

/// Which graph a channel is read from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PlatformType {
    /// OpenShift's update service (oc-mirror's default).
    #[default]
    Ocp,
    /// OKD's release controller graph.
    Okd,
}

/// One release channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseChannel {
    /// The channel (`4-scos-stable`, `stable-4.19`).
    pub name: String,
    /// Which graph.
    #[serde(default, rename = "type")]
    pub type_: PlatformType,
    /// The lowest version; the channel's first when not set (its newest for heads only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// The highest version; the channel's newest when not set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_version: String,
    /// Only the releases on the shortest upgrade path from min to max.
    #[serde(default)]
    pub shortest_path: bool,
    /// Every release of the channel instead of its head.
    #[serde(default)]
    pub full: bool,
}

/// An image mirrored on its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdditionalImage {
    /// The image, by tag or digest.
    pub name: String,
    /// The destination path instead of the source's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_repo: String,
    /// The destination tag instead of the source's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_tag: String,
    /// Sparse platform filters (refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<serde_json::Value>,
}

/// An image pattern never mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedImage {
    /// An unanchored regular expression.
    pub name: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ImageSetConfiguration {
    /// Parses and checks a configuration read from `origin` (named in errors).
    pub fn parse(data: &[u8], origin: &str) -> Result<ImageSetConfiguration, Error> {
        let invalid = |reason: String| Error::InvalidImageSet {
            origin: origin.to_string(),
            reason,
        };
        let isc: ImageSetConfiguration =
            serde_yaml_ng::from_slice(data).map_err(|e| invalid(e.to_string()))?;
        if isc.api_version != API_VERSION || isc.kind != KIND {
            return Err(invalid(format!(
                "apiVersion {:?} kind {:?}: expected {API_VERSION} {KIND}",
                isc.api_version, isc.kind
            )));
        }
        if let Some(section) = isc.unsupported_section() {
            return Err(invalid(format!(
                "{section} is not supported by okd-streams; remove it (or mirror it with oc-mirror)"
            )));
        }
        isc.check_channels().map_err(invalid)?;
        Ok(isc)
    }

    /// The first section okd-streams cannot mirror, by its path in the document.
    fn unsupported_section(&self) -> Option<String> {
        let m = &self.mirror;
        let p = &m.platform;
        let named = [
            (!m.operators.is_empty(), "mirror.operators"),
            (m.helm.is_some(), "mirror.helm"),
            (!m.samples.is_empty(), "mirror.samples"),
            (!p.platforms.is_empty(), "mirror.platform.platforms"),
            (p.kube_virt_container, "mirror.platform.kubeVirtContainer"),
        ];
        if let Some((_, section)) = named.iter().find(|(present, _)| *present) {
            return Some(section.to_string());
        }
        m.additional_images
            .iter()
            .position(|a| !a.platforms.is_empty())
            .map(|i| format!("mirror.additionalImages[{i}].platforms"))
    }

    /// Duplicate channels and versions that do not parse, as oc-mirror's validation finds them.
    fn check_channels(&self) -> Result<(), String> {
        let channels = &self.mirror.platform.channels;
        for (i, c) in channels.iter().enumerate() {
            if channels[..i].iter().any(|o| o.name == c.name) {
                return Err(format!(
                    "release channel {:?}: duplicate found in configuration",
                    c.name
                ));
            }
            for (field, v) in [
                ("minVersion", &c.min_version),
                ("maxVersion", &c.max_version),
            ] {
                if !v.is_empty() && v.parse::<okd_release::ReleaseVersion>().is_err() {
                    return Err(format!(
                        "release channel {:?}: {field} {v:?} is not a semantic version",
                        c.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The payload architectures to mirror: the configured ones, or `amd64`.
    pub fn architectures(&self) -> Vec<String> {
        if self.mirror.platform.architectures.is_empty() {
            vec![DEFAULT_ARCHITECTURE.to_string()]
        } else {
            self.mirror.platform.architectures.clone()
        }
    }

    /// `archiveSize` in bytes, when set.
    pub fn archive_size_bytes(&self) -> Option<u64> {
        (self.archive_size > 0).then(|| self.archive_size.saturating_mul(1 << 30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ImageSetConfiguration, Error> {
        let doc = format!("apiVersion: {API_VERSION}\nkind: {KIND}\n{body}");
        ImageSetConfiguration::parse(doc.as_bytes(), "isc.yaml")
    }

    #[test]
    fn unsupported_sections_are_named() {
        for (body, section) in [
            (
                "mirror:\n  operators:\n  - catalog: x\n",
                "mirror.operators",
            ),
            ("mirror:\n  helm:\n    repositories: []\n", "mirror.helm"),
            (
                "mirror:\n  platform:\n    platforms:\n    - {os: linux, architecture: arm64}\n",
                "mirror.platform.platforms",
            ),
            (
                "mirror:\n  additionalImages:\n  - name: a/b:c\n    platforms: [{os: linux, architecture: amd64}]\n",
                "mirror.additionalImages[0].platforms",
            ),
        ] {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(section) && err.contains("isc.yaml"), "{err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err = parse("mirror:\n  platfrom: {}\n").unwrap_err().to_string();
        assert!(err.contains("platfrom"), "{err}");
    }

    #[test]
    fn wrong_kind_duplicate_channels_and_bad_versions_are_refused() {
        let doc = "apiVersion: mirror.openshift.io/v1alpha2\nkind: ImageSetConfiguration\n";
        assert!(ImageSetConfiguration::parse(doc.as_bytes(), "x").is_err());
        let dup = "mirror:\n  platform:\n    channels:\n    - name: a\n    - name: a\n";
        assert!(parse(dup).unwrap_err().to_string().contains("duplicate"));
        let bad = "mirror:\n  platform:\n    channels:\n    - name: a\n      minVersion: four\n";
        assert!(parse(bad).unwrap_err().to_string().contains("minVersion"));
    }

    #[test]
    fn defaults_match_oc_mirror() {
        let isc =
            parse("archiveSize: 4\nmirror:\n  platform:\n    channels:\n    - name: c\n").unwrap();
        assert_eq!(isc.architectures(), ["amd64"]);
        assert_eq!(isc.mirror.platform.channels[0].type_, PlatformType::Ocp);
        assert_eq!(isc.archive_size_bytes(), Some(4 << 30));
        assert!(!isc.mirror.platform.channels[0].full);
    }
}
