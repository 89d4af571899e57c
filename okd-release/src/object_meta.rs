//! Kubernetes object metadata and references, as `k8s.io/apimachinery` and `k8s.io/api` encode
//! them: the parts of an ImageStream that are not specific to images.
//!
//! Field order and `omitempty` rules follow the Go types, so that documents round-trip through
//! [`crate::gojson`] byte for byte. `managedFields` is not modelled (release payloads never carry
//! it) and is dropped.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gojson::{self, Shape};
use crate::image_references::DOCKER_IMAGE;

/// A time as Kubernetes writes it: RFC 3339 in UTC with second precision.
pub type Time = DateTime<Utc>;

/// Kubernetes `ObjectMeta`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Name prefix for generated names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Deprecated self link.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub self_link: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Resource version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Generation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: i64,
    /// Creation time; omitted when unset.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// Deletion time.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// Deletion grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations (`release.openshift.io/from-release`, …).
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Owner references.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owner_references: Vec<OwnerReference>,
    /// Finalizers.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub finalizers: Vec<String>,
}

/// Kubernetes `OwnerReference`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    #[serde(default)]
    pub api_version: String,
    /// Kind of the owner.
    #[serde(default)]
    pub kind: String,
    /// Name of the owner.
    #[serde(default)]
    pub name: String,
    /// UID of the owner.
    #[serde(default)]
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner blocks deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// Kubernetes `ObjectReference`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// `DockerImage` for an image pullspec.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The pullspec.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Field path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

impl ObjectReference {
    /// `{"kind": "DockerImage", "name": pullspec}`.
    pub fn docker_image(pullspec: &str) -> ObjectReference {
        ObjectReference {
            kind: DOCKER_IMAGE.to_string(),
            name: pullspec.to_string(),
            ..ObjectReference::default()
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Kubernetes `metav1.Time` in JSON: RFC 3339, written in UTC with whole seconds, `null` when
/// unset.
pub(crate) mod opt_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| serde::de::Error::custom(format!("time {s:?}: {e}"))),
        }
    }
}

pub(crate) static OBJECT_REFERENCE: Shape = Shape::PtrStruct(&[
    ("kind", &Shape::Scalar),
    ("namespace", &Shape::Scalar),
    ("name", &Shape::Scalar),
    ("uid", &Shape::Scalar),
    ("apiVersion", &Shape::Scalar),
    ("resourceVersion", &Shape::Scalar),
    ("fieldPath", &Shape::Scalar),
]);
static OWNER_REFERENCE: Shape = Shape::Struct(&[
    ("apiVersion", &Shape::Scalar),
    ("kind", &Shape::Scalar),
    ("name", &Shape::Scalar),
    ("uid", &Shape::Scalar),
    ("controller", &Shape::Any),
    ("blockOwnerDeletion", &Shape::Any),
]);
pub(crate) static OBJECT_META: Shape = Shape::Struct(&[
    ("name", &Shape::Scalar),
    ("generateName", &Shape::Scalar),
    ("namespace", &Shape::Scalar),
    ("selfLink", &Shape::Scalar),
    ("uid", &Shape::Scalar),
    ("resourceVersion", &Shape::Scalar),
    ("generation", &Shape::Scalar),
    ("creationTimestamp", &Shape::Any),
    ("deletionTimestamp", &Shape::Any),
    ("deletionGracePeriodSeconds", &Shape::Any),
    ("labels", &Shape::Map(&Shape::Scalar)),
    ("annotations", &Shape::Map(&Shape::Scalar)),
    ("ownerReferences", &Shape::List(&OWNER_REFERENCE)),
    ("finalizers", &Shape::List(&Shape::Scalar)),
]);
