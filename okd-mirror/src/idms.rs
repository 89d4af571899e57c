//! ImageDigestMirrorSet (`config.openshift.io/v1`): how a cluster is told to pull by digest from
//! a mirror, and the `imageDigestSources` section of `install-config.yaml`.
//!
//! The YAML is the shape `oc adm release mirror --print-mirror-instructions=idms` prints (keys in
//! sorted order, no `creationTimestamp`, no `status`, `metadata.name: example` unless named).
//!
//! ```
//! use okd_mirror::idms::ImageDigestMirrorSet;
//! use okd_mirror::instructions::MirrorSet;
//!
//! let sets = [MirrorSet::new("quay.io/okd/scos-content", ["mirror.local/okd"])];
//! let yaml = ImageDigestMirrorSet::new("okd-mirror", &sets).to_yaml()?;
//! assert!(yaml.starts_with("apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\n"));
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::instructions::{MirrorSet, mirror_instructions, to_yaml};

/// The API version of ImageDigestMirrorSet.
pub const API_VERSION: &str = "config.openshift.io/v1";
/// The kind.
pub const KIND: &str = "ImageDigestMirrorSet";

/// An ImageDigestMirrorSet object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDigestMirrorSet {
    /// `config.openshift.io/v1`.
    pub api_version: String,
    /// `ImageDigestMirrorSet`.
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The mirrors.
    pub spec: ImageDigestMirrorSetSpec,
}

/// The metadata written: a name, and annotations when there are any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Annotations (oc-mirror's outputs carry who created them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Object name.
    pub name: String,
}

impl ObjectMeta {
    /// Metadata with only a name.
    pub fn named(name: &str) -> ObjectMeta {
        ObjectMeta {
            annotations: BTreeMap::new(),
            name: name.to_string(),
        }
    }
}

/// `spec` of an ImageDigestMirrorSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDigestMirrorSetSpec {
    /// One entry per source repository.
    pub image_digest_mirrors: Vec<ImageDigestMirrors>,
}

/// A source repository and its mirrors. Fields are declared in the sorted order the YAML uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDigestMirrors {
    /// `AllowContactingSource` (the default when absent) or `NeverContactSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_source_policy: Option<String>,
    /// Mirror repositories, in preference order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// The source repository.
    pub source: String,
}

impl From<&MirrorSet> for ImageDigestMirrors {
    fn from(s: &MirrorSet) -> Self {
        ImageDigestMirrors {
            mirror_source_policy: None,
            mirrors: s.mirrors.clone(),
            source: s.source.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstallConfigSection<'a> {
    image_digest_sources: &'a [ImageDigestMirrors],
}

impl ImageDigestMirrorSet {
    /// An object named `name` with `sets` in their order.
    pub fn new(name: &str, sets: &[MirrorSet]) -> ImageDigestMirrorSet {
        ImageDigestMirrorSet {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: ObjectMeta::named(name),
            spec: ImageDigestMirrorSetSpec {
                image_digest_mirrors: sets.iter().map(Into::into).collect(),
            },
        }
    }

    /// The object as YAML, ready for `oc apply -f`.
    pub fn to_yaml(&self) -> Result<String, Error> {
        to_yaml(self, "ImageDigestMirrorSet")
    }

    /// The `imageDigestSources:` section of `install-config.yaml` for the same mirrors.
    pub fn install_config_yaml(&self) -> Result<String, Error> {
        to_yaml(
            &InstallConfigSection {
                image_digest_sources: &self.spec.image_digest_mirrors,
            },
            "install-config imageDigestSources",
        )
    }

    /// The instructions `oc adm release mirror --print-mirror-instructions=idms` prints: the
    /// install-config section, then the object.
    pub fn instructions(&self) -> Result<String, Error> {
        Ok(mirror_instructions(
            &self.install_config_yaml()?,
            KIND,
            &self.to_yaml()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_source_policy_sorts_before_mirrors() {
        let mut idms = ImageDigestMirrorSet::new("x", &[MirrorSet::new("a/b", ["c/d"])]);
        idms.spec.image_digest_mirrors[0].mirror_source_policy = Some("NeverContactSource".into());
        let yaml = idms.to_yaml().unwrap();
        assert!(
            yaml.contains("  - mirrorSourcePolicy: NeverContactSource\n    mirrors:\n    - c/d\n    source: a/b\n"),
            "{yaml}"
        );
        let back: ImageDigestMirrorSet = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, idms);
    }
}
