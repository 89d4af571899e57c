//! ImageTagMirrorSet (`config.openshift.io/v1`): how a cluster is told to pull images it names
//! by tag from a mirror — what oc-mirror writes to `itms-oc-mirror.yaml` for additional images
//! mirrored by tag.
//!
//! ```
//! use okd_mirror::itms::ImageTagMirrorSet;
//! use okd_mirror::instructions::MirrorSet;
//!
//! let sets = [MirrorSet::new("quay.io/okd/tools", ["mirror.local/okd/tools"])];
//! let yaml = ImageTagMirrorSet::new("itms-generic-0", &sets).to_yaml()?;
//! assert!(yaml.contains("kind: ImageTagMirrorSet\n"));
//! assert!(yaml.contains("imageTagMirrors:\n  - mirrors:\n    - mirror.local/okd/tools\n    source: quay.io/okd/tools\n"));
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::idms::{ImageDigestMirrors, ObjectMeta};
use crate::instructions::{MirrorSet, to_yaml};

/// The kind.
pub const KIND: &str = "ImageTagMirrorSet";

/// An ImageTagMirrorSet object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTagMirrorSet {
    /// `config.openshift.io/v1`.
    pub api_version: String,
    /// `ImageTagMirrorSet`.
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The mirrors.
    pub spec: ImageTagMirrorSetSpec,
}

/// `spec` of an ImageTagMirrorSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTagMirrorSetSpec {
    /// One entry per source; the entry's shape is the digest mirror's (`mirrors`,
    /// `mirrorSourcePolicy`, `source`).
    pub image_tag_mirrors: Vec<ImageDigestMirrors>,
}

impl ImageTagMirrorSet {
    /// An object named `name` with `sets` in their order.
    pub fn new(name: &str, sets: &[MirrorSet]) -> ImageTagMirrorSet {
        ImageTagMirrorSet {
            api_version: crate::idms::API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: ObjectMeta::named(name),
            spec: ImageTagMirrorSetSpec {
                image_tag_mirrors: sets.iter().map(Into::into).collect(),
            },
        }
    }

    /// The object as YAML.
    pub fn to_yaml(&self) -> Result<String, Error> {
        to_yaml(self, KIND)
    }
}
