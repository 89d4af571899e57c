//! `release-manifests/image-references`: the `image.openshift.io/v1` ImageStream that lists a
//! release's components.
//!
//! The types mirror openshift/api `image/v1` (and the Kubernetes `ObjectMeta` and
//! `ObjectReference` it embeds) field for field, in Go's order and with Go's `omitempty` rules, so
//! that [`ImageReferences::to_json`] writes the bytes `oc adm release new` writes: 2-space
//! indentation, `null` tag annotations and generations, `<>&` escaped, no trailing newline.
//! Parsing accepts JSON or YAML and matches field names case-insensitively, as `oc` does.
//! `metadata.managedFields` is not modelled (release payloads never carry it) and is dropped.
//!
//! ```
//! use okd_release::ImageReferences;
//!
//! let text = r#"{"kind":"ImageStream","apiVersion":"image.openshift.io/v1",
//!   "metadata":{"name":"4.19.0-okd-scos.1","creationTimestamp":"2025-06-01T10:00:00Z"},
//!   "spec":{"tags":[{"Name":"cli","from":{"kind":"DockerImage",
//!     "name":"quay.io/okd/scos-content@sha256:0123456789012345678901234567890123456789012345678901234567890123"}}]}}"#;
//! let refs = ImageReferences::parse(text.as_bytes())?;
//! assert_eq!(refs.name(), "4.19.0-okd-scos.1");
//! assert!(refs.tag("cli").unwrap().pullspec().unwrap().starts_with("quay.io/okd/scos-content@"));
//! let out = refs.to_json();
//! assert!(out.contains("\"generation\": null"));
//! assert!(!out.ends_with('\n'));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson::{self, Shape};
use crate::object_meta::{OBJECT_META, OBJECT_REFERENCE, opt_time};
pub use crate::object_meta::{ObjectMeta, ObjectReference, OwnerReference, Time};
use crate::{Error, annotations};

/// `kind` of an image-references document.
pub const KIND: &str = "ImageStream";
/// `apiVersion` of an image-references document.
pub const API_VERSION: &str = "image.openshift.io/v1";
/// `from.kind` of a tag that points at an image.
pub const DOCKER_IMAGE: &str = "DockerImage";

/// The image-references ImageStream of a release. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageReferences {
    /// `ImageStream`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `image.openshift.io/v1`.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Name (the release name), creation time and annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The tags.
    #[serde(default)]
    pub spec: ImageStreamSpec,
    /// Always `{"dockerImageRepository": ""}` in a release.
    #[serde(default)]
    pub status: ImageStreamStatus,
}

/// `ImageStreamSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamSpec {
    /// Always `{"local": false}` in a release.
    #[serde(default)]
    pub lookup_policy: ImageLookupPolicy,
    /// Deprecated repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_image_repository: String,
    /// The components, sorted by name in a release.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<TagReference>,
}

/// `ImageLookupPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageLookupPolicy {
    /// Local lookup.
    #[serde(default)]
    pub local: bool,
}

/// `TagReference`: one component.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagReference {
    /// The component name (`cluster-version-operator`).
    #[serde(default)]
    pub name: String,
    /// Build annotations copied from the image labels; `None` is written as `null`.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The image (`kind: DockerImage`, `name: <pullspec>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ObjectReference>,
    /// Reference-only tag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    /// Generation; `None` is written as `null`.
    #[serde(default)]
    pub generation: Option<i64>,
    /// Import policy, usually `{}`.
    #[serde(default)]
    pub import_policy: TagImportPolicy,
    /// Reference policy, `{"type": ""}` or `{"type": "Source"}`.
    #[serde(default)]
    pub reference_policy: TagReferencePolicy,
}

/// `TagImportPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagImportPolicy {
    /// Insecure import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Scheduled re-import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
    /// `Legacy` or `PreserveOriginal`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub import_mode: String,
}

/// `TagReferencePolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TagReferencePolicy {
    /// `""`, `Source` or `Local`.
    #[serde(rename = "type", default)]
    pub type_: String,
}

/// `ImageStreamStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStreamStatus {
    /// Always written, usually `""`.
    #[serde(default)]
    pub docker_image_repository: String,
    /// Public repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_docker_image_repository: String,
    /// Status tags (never present in a release).
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<NamedTagEventList>,
}

/// `NamedTagEventList`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamedTagEventList {
    /// Tag name.
    #[serde(default)]
    pub tag: String,
    /// Import history; `None` is written as `null`.
    #[serde(default)]
    pub items: Option<Vec<TagEvent>>,
    /// Conditions.
    #[serde(
        default,
        deserialize_with = "gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<TagEventCondition>,
}

/// `TagEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEvent {
    /// Import time; `None` is written as `null`.
    #[serde(default, with = "opt_time")]
    pub created: Option<Time>,
    /// Pullspec.
    #[serde(default)]
    pub docker_image_reference: String,
    /// Image digest.
    #[serde(default)]
    pub image: String,
    /// Generation.
    #[serde(default)]
    pub generation: i64,
}

/// `TagEventCondition`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEventCondition {
    /// Condition type.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Transition time; `None` is written as `null`.
    #[serde(default, with = "opt_time")]
    pub last_transition_time: Option<Time>,
    /// Reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Generation.
    #[serde(default)]
    pub generation: i64,
}

static TAG_REFERENCE: Shape = Shape::Struct(&[
    ("name", &Shape::Scalar),
    ("annotations", &Shape::Map(&Shape::Scalar)),
    ("from", &OBJECT_REFERENCE),
    ("reference", &Shape::Scalar),
    ("generation", &Shape::Any),
    (
        "importPolicy",
        &Shape::Struct(&[
            ("insecure", &Shape::Scalar),
            ("scheduled", &Shape::Scalar),
            ("importMode", &Shape::Scalar),
        ]),
    ),
    (
        "referencePolicy",
        &Shape::Struct(&[("type", &Shape::Scalar)]),
    ),
]);
static TAG_EVENT: Shape = Shape::Struct(&[
    ("created", &Shape::Any),
    ("dockerImageReference", &Shape::Scalar),
    ("image", &Shape::Scalar),
    ("generation", &Shape::Scalar),
]);
static TAG_EVENT_CONDITION: Shape = Shape::Struct(&[
    ("type", &Shape::Scalar),
    ("status", &Shape::Scalar),
    ("lastTransitionTime", &Shape::Any),
    ("reason", &Shape::Scalar),
    ("message", &Shape::Scalar),
    ("generation", &Shape::Scalar),
]);
static IMAGE_STREAM: Shape = Shape::Struct(&[
    ("kind", &Shape::Scalar),
    ("apiVersion", &Shape::Scalar),
    ("metadata", &OBJECT_META),
    (
        "spec",
        &Shape::Struct(&[
            ("lookupPolicy", &Shape::Struct(&[("local", &Shape::Scalar)])),
            ("dockerImageRepository", &Shape::Scalar),
            ("tags", &Shape::List(&TAG_REFERENCE)),
        ]),
    ),
    (
        "status",
        &Shape::Struct(&[
            ("dockerImageRepository", &Shape::Scalar),
            ("publicDockerImageRepository", &Shape::Scalar),
            (
                "tags",
                &Shape::List(&Shape::Struct(&[
                    ("tag", &Shape::Scalar),
                    ("items", &Shape::List(&TAG_EVENT)),
                    ("conditions", &Shape::List(&TAG_EVENT_CONDITION)),
                ])),
            ),
        ]),
    ),
]);

impl ImageReferences {
    /// An empty image-references for release `name` created at `created` (truncated to seconds
    /// when written), with `kind`, `apiVersion` and the fields a release always has.
    pub fn new(name: &str, created: Time) -> ImageReferences {
        ImageReferences {
            kind: KIND.to_string(),
            api_version: API_VERSION.to_string(),
            metadata: ObjectMeta {
                name: name.to_string(),
                creation_timestamp: Some(created),
                ..ObjectMeta::default()
            },
            ..ImageReferences::default()
        }
    }

    /// Parses a release's image-references (JSON or YAML) as `oc` does and checks that it is an
    /// `image.openshift.io/v1` `ImageStream`.
    pub fn parse(data: &[u8]) -> Result<ImageReferences, Error> {
        Self::parse_named(data, "image-references")
    }

    /// [`parse`](Self::parse), naming the document `file` in errors.
    pub fn parse_named(data: &[u8], file: &str) -> Result<ImageReferences, Error> {
        let is = Self::parse_any(data, file)?;
        if is.kind != KIND || is.api_version != API_VERSION {
            return Err(Error::WrongKind {
                file: file.to_string(),
                expected: "an image.openshift.io/v1 ImageStream",
                reason: format!("kind {:?}, apiVersion {:?}", is.kind, is.api_version),
            });
        }
        Ok(is)
    }

    /// Parses without checking `kind` and `apiVersion`.
    pub fn parse_any(data: &[u8], file: &str) -> Result<ImageReferences, Error> {
        // JSON is YAML, but the JSON parser gives better messages for the common case.
        gojson::from_slice_go(data, &IMAGE_STREAM, false)
            .or_else(|json_err| {
                gojson::from_slice_go(data, &IMAGE_STREAM, true).map_err(|_| json_err)
            })
            .map_err(|reason| Error::document(file, reason))
    }

    /// The bytes `oc` writes for this document (`json.MarshalIndent`, no trailing newline).
    pub fn to_json(&self) -> String {
        // Every field is a string, integer, bool or map of strings: serialisation cannot fail.
        gojson::to_string_indent(self).unwrap_or_else(|e| unreachable!("image-references: {e}"))
    }

    /// The release name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The creation time (`metadata.creationTimestamp`).
    pub fn created(&self) -> Option<Time> {
        self.metadata.creation_timestamp
    }

    /// The tags.
    pub fn tags(&self) -> &[TagReference] {
        &self.spec.tags
    }

    /// The tag called `name`.
    pub fn tag(&self, name: &str) -> Option<&TagReference> {
        self.spec.tags.iter().find(|t| t.name == name)
    }

    /// The tag called `name`, mutably.
    pub fn tag_mut(&mut self, name: &str) -> Option<&mut TagReference> {
        self.spec.tags.iter_mut().find(|t| t.name == name)
    }

    /// Sorts the tags by name, as `oc` does before writing.
    pub fn sort_tags(&mut self) {
        self.spec.tags.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Replaces the pullspec of tag `name`, or adds the tag, the way an `oc adm release new`
    /// `name=pullspec` override does: annotations reset to `io.openshift.release.override: "true"`.
    pub fn set_override(&mut self, name: &str, pullspec: &str) {
        let from = Some(ObjectReference::docker_image(pullspec));
        let annotations = Some(BTreeMap::from([(
            annotations::RELEASE_OVERRIDE.to_string(),
            "true".to_string(),
        )]));
        match self.tag_mut(name) {
            Some(tag) => {
                tag.from = from;
                tag.annotations = annotations;
            }
            None => self.spec.tags.push(TagReference {
                name: name.to_string(),
                annotations,
                from,
                ..TagReference::default()
            }),
        }
    }
}

impl TagReference {
    /// A tag pointing at `pullspec`.
    pub fn new(name: &str, pullspec: &str) -> TagReference {
        TagReference {
            name: name.to_string(),
            from: Some(ObjectReference::docker_image(pullspec)),
            ..TagReference::default()
        }
    }

    /// The pullspec when the tag points at an image (`from.kind: DockerImage`).
    pub fn pullspec(&self) -> Option<&str> {
        self.from
            .as_ref()
            .filter(|f| f.kind == DOCKER_IMAGE)
            .map(|f| f.name.as_str())
    }

    /// An annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// Sets an annotation, creating the map when needed.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
    }

    /// The source commit (`io.openshift.build.commit.id`), when set and non-empty.
    pub fn commit(&self) -> Option<&str> {
        self.annotation(annotations::BUILD_COMMIT_ID)
            .filter(|s| !s.is_empty())
    }

    /// The source repository (`io.openshift.build.source-location`), when set and non-empty.
    pub fn source_location(&self) -> Option<&str> {
        self.annotation(annotations::BUILD_SOURCE_LOCATION)
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_document_gets_go_defaults() {
        let is = ImageReferences::parse(br#"{"kind":"ImageStream","apiVersion":"image.openshift.io/v1","metadata":{"name":"x"}}"#).unwrap();
        assert_eq!(
            is.to_json(),
            "{\n  \"kind\": \"ImageStream\",\n  \"apiVersion\": \"image.openshift.io/v1\",\n  \"metadata\": {\n    \"name\": \"x\"\n  },\n  \"spec\": {\n    \"lookupPolicy\": {\n      \"local\": false\n    }\n  },\n  \"status\": {\n    \"dockerImageRepository\": \"\"\n  }\n}"
        );
    }

    #[test]
    fn wrong_kind_is_refused() {
        let err = ImageReferences::parse(br#"{"kind":"ConfigMap","apiVersion":"v1"}"#).unwrap_err();
        assert!(matches!(err, Error::WrongKind { .. }), "{err}");
        assert!(err.to_string().contains("ConfigMap"), "{err}");
    }

    #[test]
    fn truncated_json_is_an_error_naming_the_file() {
        let err = ImageReferences::parse_named(
            br#"{"kind":"ImageStream","#,
            "release-manifests/image-references",
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidDocument { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("release-manifests/image-references"),
            "{err}"
        );
    }

    #[test]
    fn reads_operator_yaml_with_capitalised_keys() {
        let doc = b"kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - Name: cli\n    From:\n      Kind: DockerImage\n      Name: quay.io/x/y:cli\n";
        let is = ImageReferences::parse(doc).unwrap();
        assert_eq!(is.tags()[0].name, "cli");
        assert_eq!(is.tags()[0].pullspec(), Some("quay.io/x/y:cli"));
    }

    #[test]
    fn override_resets_annotations() {
        let mut is = ImageReferences::new("4.19.0", chrono::Utc::now());
        let mut tag = TagReference::new("cli", "quay.io/a/b@sha256:00");
        tag.set_annotation(annotations::BUILD_COMMIT_ID, "abc");
        is.spec.tags.push(tag);
        is.set_override("cli", "quay.io/c/d@sha256:11");
        is.set_override("new", "quay.io/e/f@sha256:22");
        let cli = is.tag("cli").unwrap();
        assert_eq!(cli.pullspec(), Some("quay.io/c/d@sha256:11"));
        assert_eq!(cli.commit(), None);
        assert_eq!(cli.annotation(annotations::RELEASE_OVERRIDE), Some("true"));
        assert!(is.tag("new").is_some());
    }
}
