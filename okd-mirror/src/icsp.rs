//! ImageContentSourcePolicy (`operator.openshift.io/v1alpha1`), the predecessor of
//! ImageDigestMirrorSet that older clusters need, and the `imageContentSources` section of
//! `install-config.yaml`.
//!
//! The YAML is the shape `oc adm release mirror --print-mirror-instructions=icsp` prints.
//!
//! ```
//! use okd_mirror::icsp::ImageContentSourcePolicy;
//! use okd_mirror::instructions::MirrorSet;
//!
//! let sets = [MirrorSet::new("quay.io/okd/scos-content", ["mirror.local/okd"])];
//! let yaml = ImageContentSourcePolicy::new("example", &sets).to_yaml()?;
//! assert!(yaml.contains("repositoryDigestMirrors:\n  - mirrors:\n    - mirror.local/okd\n"));
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::idms::ObjectMeta;
use crate::instructions::{MirrorSet, mirror_instructions, to_yaml};

/// The API version of ImageContentSourcePolicy.
pub const API_VERSION: &str = "operator.openshift.io/v1alpha1";
/// The kind.
pub const KIND: &str = "ImageContentSourcePolicy";

/// An ImageContentSourcePolicy object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageContentSourcePolicy {
    /// `operator.openshift.io/v1alpha1`.
    pub api_version: String,
    /// `ImageContentSourcePolicy`.
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The mirrors.
    pub spec: ImageContentSourcePolicySpec,
}

/// `spec` of an ImageContentSourcePolicy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageContentSourcePolicySpec {
    /// One entry per source repository.
    pub repository_digest_mirrors: Vec<RepositoryDigestMirrors>,
}

/// A source repository and its mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryDigestMirrors {
    /// Mirror repositories, in preference order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// The source repository.
    pub source: String,
}

impl From<&MirrorSet> for RepositoryDigestMirrors {
    fn from(s: &MirrorSet) -> Self {
        RepositoryDigestMirrors {
            mirrors: s.mirrors.clone(),
            source: s.source.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstallConfigSection<'a> {
    image_content_sources: &'a [RepositoryDigestMirrors],
}

impl ImageContentSourcePolicy {
    /// An object named `name` with `sets` in their order.
    pub fn new(name: &str, sets: &[MirrorSet]) -> ImageContentSourcePolicy {
        ImageContentSourcePolicy {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: ObjectMeta::named(name),
            spec: ImageContentSourcePolicySpec {
                repository_digest_mirrors: sets.iter().map(Into::into).collect(),
            },
        }
    }

    /// The object as YAML, ready for `oc apply -f`.
    pub fn to_yaml(&self) -> Result<String, Error> {
        to_yaml(self, "ImageContentSourcePolicy")
    }

    /// The `imageContentSources:` section of `install-config.yaml` for the same mirrors.
    pub fn install_config_yaml(&self) -> Result<String, Error> {
        to_yaml(
            &InstallConfigSection {
                image_content_sources: &self.spec.repository_digest_mirrors,
            },
            "install-config imageContentSources",
        )
    }

    /// The instructions `oc adm release mirror --print-mirror-instructions=icsp` prints.
    pub fn instructions(&self) -> Result<String, Error> {
        Ok(mirror_instructions(
            &self.install_config_yaml()?,
            KIND,
            &self.to_yaml()?,
        ))
    }
}
