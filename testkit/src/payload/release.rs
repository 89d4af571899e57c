//! The release image: the `cluster-version-operator` image plus one `release-manifests/` layer
//! holding `image-references`, `release-metadata` and the operators' manifests, renamed and
//! substituted as `oc adm release new` does.

use std::collections::{BTreeMap, HashMap};

use okd_oci::layer::{Compression, LayerInfo};
use okd_oci::{Digest, Store, StoreExt, media_type};
use serde::{Deserialize, Serialize};

use super::component::{Component, ConfigBlob, ImageFormat};
use super::image::{self, Arch, History, ImageParts, RootFs, RunConfig};
use super::layer::{self, Entry, LayerPlan};
use super::{PayloadError, PayloadSpec, names, substitute};

/// Largest component config read back from the store.
const CONFIG_LIMIT: u64 = 4 * 1024 * 1024;

/// A file of the release image's `release-manifests/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// File name inside `release-manifests/`.
    pub name: String,
    /// Contents.
    pub content: String,
}

/// The release image of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseImage {
    /// Store repository it is in.
    pub repo: String,
    /// Its tag there (the version).
    pub tag: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Manifest media type (always Docker schema 2).
    pub media_type: String,
    /// Manifest size.
    pub size: u64,
    /// `<registry of the pullspec prefix>/<release repo>@<digest>`.
    pub pullspec: String,
    /// The config blob.
    pub config: ConfigBlob,
    /// All layers: the base image's, then the release layer.
    pub layers: Vec<LayerInfo>,
    /// The `release-manifests/` layer (the last one).
    pub release_layer: LayerInfo,
    /// Digest of the base (`cluster-version-operator`) manifest.
    pub base_digest: Digest,
    /// Config labels (`io.openshift.release`, `io.openshift.release.base-image-digest`).
    pub labels: BTreeMap<String, String>,
    /// Creation time (RFC 3339).
    pub created: String,
}

// --- image-references: openshift/api image/v1 ImageStream, in Go field order ---

#[derive(Serialize)]
struct ImageStream<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: StreamMeta<'a>,
    spec: StreamSpec<'a>,
    status: StreamStatus,
}

#[derive(Serialize)]
struct StreamMeta<'a> {
    name: &'a str,
    #[serde(rename = "creationTimestamp")]
    creation_timestamp: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct StreamSpec<'a> {
    #[serde(rename = "lookupPolicy")]
    lookup_policy: LookupPolicy,
    tags: Vec<TagReference<'a>>,
}

#[derive(Serialize)]
struct LookupPolicy {
    local: bool,
}

#[derive(Serialize)]
struct TagReference<'a> {
    name: &'a str,
    annotations: BTreeMap<&'static str, String>,
    from: ObjectReference<'a>,
    generation: Option<i64>,
    #[serde(rename = "importPolicy")]
    import_policy: Empty,
    #[serde(rename = "referencePolicy")]
    reference_policy: ReferencePolicy,
}

#[derive(Serialize)]
struct ObjectReference<'a> {
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct ReferencePolicy {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct StreamStatus {
    #[serde(rename = "dockerImageRepository")]
    docker_image_repository: &'static str,
}

/// The tag annotations `oc adm release new` copies from a component's labels.
fn tag_annotations(c: &Component) -> BTreeMap<&'static str, String> {
    let label = |k: &str| c.labels.get(k).cloned().unwrap_or_default();
    let mut a = BTreeMap::from([
        (
            "io.openshift.build.commit.id",
            label("io.openshift.build.commit.id"),
        ),
        (
            "io.openshift.build.commit.ref",
            label("io.openshift.build.commit.ref"),
        ),
        (
            "io.openshift.build.source-location",
            label("io.openshift.build.source-location"),
        ),
    ]);
    if c.labels.contains_key("io.openshift.build.versions") {
        a.insert(
            "io.openshift.build.versions",
            label("io.openshift.build.versions"),
        );
        a.insert(
            "io.openshift.build.version-display-names",
            label("io.openshift.build.version-display-names"),
        );
    }
    a
}

/// The release `image-references` (components sorted by name), as `oc` writes it.
pub(crate) fn image_references(
    spec: &PayloadSpec,
    created: &str,
    components: &[&Component],
) -> Result<String, PayloadError> {
    let mut sorted: Vec<&&Component> = components.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let stream = match semver::Version::parse(&spec.version) {
        Ok(v) => format!("origin/scos-{}.{}", v.major, v.minor),
        Err(_) => "origin/scos".to_string(),
    };
    let doc = ImageStream {
        kind: "ImageStream",
        api_version: "image.openshift.io/v1",
        metadata: StreamMeta {
            name: &spec.version,
            creation_timestamp: created,
            annotations: BTreeMap::from([("release.openshift.io/from-image-stream", stream)]),
        },
        spec: StreamSpec {
            lookup_policy: LookupPolicy { local: false },
            tags: sorted
                .iter()
                .map(|c| TagReference {
                    name: &c.name,
                    annotations: tag_annotations(c),
                    from: ObjectReference {
                        kind: "DockerImage",
                        name: &c.pullspec,
                    },
                    generation: None,
                    import_policy: Empty {},
                    reference_policy: ReferencePolicy { kind: "" },
                })
                .collect(),
        },
        status: StreamStatus {
            docker_image_repository: "",
        },
    };
    let bytes = image::go_json_indent("image-references", &doc, b"  ")?;
    String::from_utf8(bytes).map_err(|e| PayloadError::Encode {
        what: "image-references".to_string(),
        reason: e.to_string(),
    })
}

#[derive(Serialize)]
struct CincinnatiMetadata<'a> {
    kind: &'static str,
    version: &'a str,
    previous: Vec<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: &'a BTreeMap<String, String>,
}

/// The `release-metadata` document, `previous` sorted as Go's `sort.Strings` sorts.
pub(crate) fn release_metadata(spec: &PayloadSpec) -> Result<String, PayloadError> {
    let mut previous: Vec<&str> = spec.previous.iter().map(String::as_str).collect();
    previous.sort_unstable();
    previous.dedup();
    let metadata = spec.metadata_or_default();
    let doc = CincinnatiMetadata {
        kind: "cincinnati-metadata-v0",
        version: &spec.version,
        previous,
        metadata: &metadata,
    };
    let bytes = image::go_json_indent("release-metadata", &doc, b"  ")?;
    String::from_utf8(bytes).map_err(|e| PayloadError::Encode {
        what: "release-metadata".to_string(),
        reason: e.to_string(),
    })
}

/// Every file of `release-manifests/`, in the order `oc` writes them: `image-references`,
/// `release-metadata`, then each operator (sorted by tag) with its files in name order, renamed
/// `0000_50_<tag>_<file>` unless already `0000_`-prefixed and substituted.
pub(crate) fn release_files(
    spec: &PayloadSpec,
    created: &str,
    components: &[&Component],
) -> Result<Vec<ReleaseFile>, PayloadError> {
    let mut out = vec![
        ReleaseFile {
            name: "image-references".to_string(),
            content: image_references(spec, created, components)?,
        },
        ReleaseFile {
            name: "release-metadata".to_string(),
            content: release_metadata(spec)?,
        },
    ];
    let by_name: HashMap<&str, &Component> =
        components.iter().map(|c| (c.name.as_str(), *c)).collect();
    let mut operators: Vec<&Component> = components
        .iter()
        .copied()
        .filter(|c| c.is_operator)
        .collect();
    operators.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for op in operators {
        let mapper = substitute::Mapper::for_operator(spec, op, &by_name)?;
        for file in &op.manifests {
            let mut name = if file.name.starts_with("0000_") {
                file.name.clone()
            } else {
                format!("0000_50_{}_{}", op.name, file.name)
            };
            if let Some(count) = seen.get(&name).copied() {
                seen.insert(name.clone(), count + 1);
                let (stem, ext) = match name.rfind('.') {
                    Some(i) => name.split_at(i),
                    None => (name.as_str(), ""),
                };
                name = format!("{stem}_{}{ext}", count + 1);
            }
            seen.insert(name.clone(), 1);
            out.push(ReleaseFile {
                name,
                content: mapper.apply(&file.name, &file.content)?,
            });
        }
    }
    out.extend(
        spec.release_manifests
            .iter()
            .map(|(name, content)| ReleaseFile {
                name: name.clone(),
                content: content.clone(),
            }),
    );
    Ok(out)
}

#[derive(Deserialize)]
struct BaseConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    config: RunConfig,
}

#[derive(Serialize)]
struct ReleaseConfig<'a> {
    id: &'static str,
    created: &'a str,
    container_config: Empty,
    config: &'a RunConfig,
    architecture: &'a str,
    size: u64,
    rootfs: RootFs,
    history: Vec<History>,
    os: &'a str,
}

/// Builds the release image from the `cluster-version-operator` component and the release
/// files, writes it into the release repository and tags it with the version.
pub(crate) async fn build_release(
    store: &dyn Store,
    spec: &PayloadSpec,
    components: &[&Component],
    files: &[ReleaseFile],
    created_at: i64,
) -> Result<ReleaseImage, PayloadError> {
    let cvo = components
        .iter()
        .find(|c| c.name == names::CVO)
        .ok_or_else(|| {
            PayloadError::spec(
                "components",
                components.len(),
                "no cluster-version-operator",
            )
        })?;
    let created = image::rfc3339(created_at);
    // Like oc, entries are dated at the newest operator manifest.
    let newest = components
        .iter()
        .filter(|c| c.is_operator)
        .map(|c| c.recipe.created)
        .max()
        .unwrap_or(created_at);
    let mut entries = vec![Entry::Dir("release-manifests".to_string(), 0o777)];
    entries.extend(files.iter().map(|f| {
        Entry::File(
            format!("release-manifests/{}", f.name),
            0o444,
            f.content.clone().into_bytes(),
        )
    }));
    let repo = &spec.release_repo;
    let release_layer = layer::build_and_write(
        store,
        repo,
        LayerPlan {
            what: "release-manifests".to_string(),
            entries,
            mtime: newest.max(0) as u64,
            compression: Compression::Gzip,
        },
    )
    .await?;
    for l in &cvo.layers {
        layer::ensure_blob(store, repo, &spec.content_repo, &l.digest).await?;
    }
    let base_bytes = store
        .get_blob(&spec.content_repo, &cvo.config.digest, CONFIG_LIMIT)
        .await?;
    let base: BaseConfig =
        serde_json::from_slice(&base_bytes).map_err(|e| okd_oci::Error::InvalidConfig {
            digest: cvo.config.digest.clone(),
            reason: e.to_string(),
        })?;
    let labels = BTreeMap::from([
        ("io.openshift.release".to_string(), spec.version.clone()),
        (
            "io.openshift.release.base-image-digest".to_string(),
            cvo.digest.to_string(),
        ),
    ]);
    let run = RunConfig {
        labels: labels.clone(),
        ..base.config
    };
    let mut layers: Vec<LayerInfo> = cvo.layers.clone();
    layers.push(LayerInfo {
        media_type: media_type::DOCKER_LAYER_GZIP.to_string(),
        ..release_layer.clone()
    });
    let mut history = vec![History {
        created: created.clone(),
        created_by: None,
        comment: Some("Release image for OpenShift".to_string()),
        empty_layer: false,
    }];
    while history.len() < layers.len() {
        history.push(History {
            created: created.clone(),
            created_by: None,
            comment: None,
            empty_layer: false,
        });
    }
    let arch = if base.architecture.is_empty() {
        "amd64".to_string()
    } else {
        base.architecture
    };
    let os = if base.os.is_empty() {
        "linux".to_string()
    } else {
        base.os
    };
    let config = ReleaseConfig {
        id: "",
        created: &created,
        container_config: Empty {},
        config: &run,
        architecture: &arch,
        size: layers.iter().map(|l| l.size).sum(),
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        history,
        os: &os,
    };
    let config_bytes = image::go_json("release image config", &config)?;
    let written = image::write_manifest_for_config(
        store,
        repo,
        &ImageParts {
            what: "release image",
            format: ImageFormat::Docker,
            arch: Arch::Amd64,
            created: &created,
            run: &run,
            history: &[],
            layers: &layers,
            layer_annotations: &[],
            annotations: &BTreeMap::new(),
        },
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_CONFIG,
        config_bytes,
    )
    .await?;
    store
        .write_manifest(repo, &written.manifest, Some(&spec.version))
        .await?;
    let host = spec.registry_host().unwrap_or_default();
    let digest = written.manifest.digest().clone();
    Ok(ReleaseImage {
        repo: repo.clone(),
        tag: spec.version.clone(),
        pullspec: format!("{host}/{repo}@{digest}"),
        digest,
        media_type: written.manifest.media_type().to_string(),
        size: written.manifest.size(),
        config: written.config,
        layers: written.layers,
        release_layer: LayerInfo {
            media_type: media_type::DOCKER_LAYER_GZIP.to_string(),
            ..release_layer
        },
        base_digest: cvo.digest.clone(),
        labels,
        created,
    })
}
