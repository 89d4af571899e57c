//! The simple-signing claim ("atomic container signature") a release signature carries.

use serde::{Deserialize, Serialize};

/// The only value of `critical.type` the cluster-version-operator accepts.
pub const CLAIM_TYPE: &str = "atomic container signature";

/// The JSON claim inside a release signature.
///
/// It has exactly the fields the cluster-version-operator's decoder knows; that decoder refuses
/// unknown fields, so a claim with one more field would make every cluster refuse the signature.
/// Parsing refuses unknown fields the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// What the signature vouches for.
    pub critical: Critical,
    /// Informative fields.
    #[serde(default)]
    pub optional: Optional,
}

/// The `critical` section: type, image digest and identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Critical {
    /// Always [`CLAIM_TYPE`].
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The signed manifest digest.
    #[serde(default)]
    pub image: ClaimImage,
    /// The reference the image was signed under.
    #[serde(default)]
    pub identity: ClaimIdentity,
}

/// `critical.image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimImage {
    /// `docker-manifest-digest`, e.g. `sha256:…`.
    #[serde(rename = "docker-manifest-digest", default)]
    pub docker_manifest_digest: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimIdentity {
    /// `docker-reference`: the image reference, by tag or digest, as it was signed.
    #[serde(rename = "docker-reference", default)]
    pub docker_reference: String,
}

/// The `optional` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optional {
    /// Which tool made the signature.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub creator: String,
    /// When, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timestamp: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Claim {
    /// A claim that `identity` names the manifest with `digest`, made now by okd-streams.
    pub fn new(digest: &okd_oci::Digest, identity: &str) -> Self {
        Claim {
            critical: Critical {
                kind: CLAIM_TYPE.to_owned(),
                image: ClaimImage {
                    docker_manifest_digest: digest.to_string(),
                },
                identity: ClaimIdentity {
                    docker_reference: identity.to_owned(),
                },
            },
            optional: Optional {
                creator: format!("okd-streams {}", env!("CARGO_PKG_VERSION")),
                timestamp: chrono::Utc::now().timestamp(),
            },
        }
    }

    /// Parses a claim the way the cluster-version-operator does: unknown fields are an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The claim as compact JSON, the bytes that get signed.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The identity (`critical.identity.docker-reference`).
    pub fn identity(&self) -> &str {
        &self.critical.identity.docker_reference
    }

    /// The signed digest (`critical.image.docker-manifest-digest`).
    pub fn digest(&self) -> &str {
        &self.critical.image.docker_manifest_digest
    }
}
