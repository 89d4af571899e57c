//! Image configs, manifests and manifest lists as JSON, written into a store.
//!
//! Docker schema 2 manifests and lists are written the way `docker/distribution` serialises
//! them (three-space indentation), OCI manifests and indexes compactly as containers/image
//! does; configs compactly with sorted keys, as buildah does.

use std::collections::BTreeMap;

use bytes::Bytes;
use okd_oci::layer::LayerInfo;
use okd_oci::{Digest, RawManifest, Store, StoreExt, media_type};
use serde::{Deserialize, Serialize};

use super::PayloadError;
use super::component::{ConfigBlob, ImageFormat};
use super::layer::layer_media_type;

/// The run configuration of an image (`config` in the image config), in the field order of
/// Docker's and library-go's `DockerConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RunConfig {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_signal: Option<String>,
}

/// One history entry, in the field order of library-go's `DockerConfigHistory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct History {
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl History {
    pub(crate) fn layer(created: &str, by: impl Into<String>) -> History {
        History {
            created: created.to_string(),
            created_by: Some(by.into()),
            comment: None,
            empty_layer: false,
        }
    }

    pub(crate) fn empty(created: &str, by: impl Into<String>) -> History {
        History {
            empty_layer: true,
            ..History::layer(created, by)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub diff_ids: Vec<Digest>,
}

/// An image config as buildah writes it (keys sorted).
#[derive(Debug, Clone, Serialize)]
struct ImageConfig<'a> {
    architecture: &'a str,
    config: &'a RunConfig,
    created: &'a str,
    history: &'a [History],
    os: &'a str,
    rootfs: RootFs,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
}

/// A platform a manifest is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    pub(crate) fn variant(self) -> Option<&'static str> {
        match self {
            Arch::Amd64 => None,
            Arch::Arm64 => Some("v8"),
        }
    }

    /// The kernel architecture suffix (`x86_64`, `aarch64`).
    pub(crate) fn uname(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Platform {
    pub architecture: &'static str,
    pub os: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub size: u64,
    pub digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexJson<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: Vec<Descriptor>,
}

/// Serialises as Go's `json.MarshalIndent(v, "", indent)` does: serde's pretty printer with the
/// same separators, plus Go's HTML escaping of `<`, `>` and `&` (which can only occur inside
/// strings, where the escape means the same character).
pub(crate) fn go_json_indent<T: Serialize>(
    what: &str,
    value: &T,
    indent: &[u8],
) -> Result<Vec<u8>, PayloadError> {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    value.serialize(&mut ser).map_err(|e| encode_err(what, e))?;
    Ok(go_escape(buf))
}

/// Serialises compactly, as Go's `json.Marshal` does.
pub(crate) fn go_json<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, PayloadError> {
    let buf = serde_json::to_vec(value).map_err(|e| encode_err(what, e))?;
    Ok(go_escape(buf))
}

fn go_escape(buf: Vec<u8>) -> Vec<u8> {
    if !buf.iter().any(|b| matches!(b, b'<' | b'>' | b'&')) {
        return buf;
    }
    let mut out = Vec::with_capacity(buf.len() + 16);
    for b in buf {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            other => out.push(other),
        }
    }
    out
}

fn encode_err(what: &str, e: serde_json::Error) -> PayloadError {
    PayloadError::Encode {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// An image to write: its layers (already in the store), config and annotations.
#[derive(Debug)]
pub(crate) struct ImageParts<'a> {
    pub what: &'a str,
    pub format: ImageFormat,
    pub arch: Arch,
    pub created: &'a str,
    pub run: &'a RunConfig,
    pub history: &'a [History],
    pub layers: &'a [LayerInfo],
    /// Per-layer annotations (OCI only).
    pub layer_annotations: &'a [Option<BTreeMap<String, String>>],
    /// Manifest annotations (OCI only).
    pub annotations: &'a BTreeMap<String, String>,
}

/// A written image.
#[derive(Debug, Clone)]
pub(crate) struct WrittenImage {
    pub manifest: RawManifest,
    pub config: ConfigBlob,
    /// The layers with the media types of this manifest.
    pub layers: Vec<LayerInfo>,
}

/// Writes the config blob and the manifest (untagged) of an image into `repo`.
pub(crate) async fn write_image(
    store: &dyn Store,
    repo: &str,
    parts: &ImageParts<'_>,
) -> Result<WrittenImage, PayloadError> {
    let config = ImageConfig {
        architecture: parts.arch.name(),
        config: parts.run,
        created: parts.created,
        history: parts.history,
        os: "linux",
        rootfs: RootFs {
            kind: "layers",
            diff_ids: parts.layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        variant: parts.arch.variant(),
    };
    let config_bytes = go_json(&format!("config of {}", parts.what), &config)?;
    let (manifest_type, config_type) = match parts.format {
        ImageFormat::Docker => (media_type::DOCKER_MANIFEST, media_type::DOCKER_CONFIG),
        ImageFormat::Oci => (media_type::OCI_MANIFEST, media_type::OCI_CONFIG),
    };
    write_manifest_for_config(store, repo, parts, manifest_type, config_type, config_bytes).await
}

/// Writes `config_bytes` as the config of an image made of `parts.layers`.
pub(crate) async fn write_manifest_for_config(
    store: &dyn Store,
    repo: &str,
    parts: &ImageParts<'_>,
    manifest_type: &str,
    config_type: &str,
    config_bytes: Vec<u8>,
) -> Result<WrittenImage, PayloadError> {
    let config_digest = Digest::sha256_of(&config_bytes);
    let config = ConfigBlob {
        digest: config_digest.clone(),
        size: config_bytes.len() as u64,
        media_type: config_type.to_string(),
    };
    store
        .put_blob(repo, &config_digest, Bytes::from(config_bytes))
        .await?;
    let layers: Vec<LayerInfo> = parts
        .layers
        .iter()
        .map(|l| LayerInfo {
            media_type: layer_media_type(parts.format, l),
            ..l.clone()
        })
        .collect();
    let oci = parts.format == ImageFormat::Oci;
    let empty = BTreeMap::new();
    let doc = ManifestJson {
        schema_version: 2,
        media_type: manifest_type,
        config: Descriptor {
            media_type: config.media_type.clone(),
            size: config.size,
            digest: config.digest.clone(),
            annotations: None,
            platform: None,
        },
        layers: layers
            .iter()
            .enumerate()
            .map(|(i, l)| Descriptor {
                media_type: l.media_type.clone(),
                size: l.size,
                digest: l.digest.clone(),
                annotations: if oci {
                    parts.layer_annotations.get(i).cloned().flatten()
                } else {
                    None
                },
                platform: None,
            })
            .collect(),
        annotations: if oci { parts.annotations } else { &empty },
    };
    let what = format!("manifest of {}", parts.what);
    let bytes = match parts.format {
        ImageFormat::Docker => go_json_indent(&what, &doc, b"   ")?,
        ImageFormat::Oci => go_json(&what, &doc)?,
    };
    let manifest = RawManifest::new(manifest_type, bytes)?;
    store.write_manifest(repo, &manifest, None).await?;
    Ok(WrittenImage {
        manifest,
        config,
        layers,
    })
}

/// Writes a manifest list (Docker) or index (OCI) of the given platform manifests.
pub(crate) async fn write_index(
    store: &dyn Store,
    repo: &str,
    what: &str,
    format: ImageFormat,
    children: &[(Arch, &RawManifest)],
) -> Result<RawManifest, PayloadError> {
    let list_type = match format {
        ImageFormat::Docker => media_type::DOCKER_MANIFEST_LIST,
        ImageFormat::Oci => media_type::OCI_INDEX,
    };
    let doc = IndexJson {
        schema_version: 2,
        media_type: list_type,
        manifests: children
            .iter()
            .map(|(arch, m)| Descriptor {
                media_type: m.media_type().to_string(),
                size: m.size(),
                digest: m.digest().clone(),
                annotations: None,
                platform: Some(Platform {
                    architecture: arch.name(),
                    os: "linux",
                    variant: arch.variant(),
                }),
            })
            .collect(),
    };
    let what = format!("manifest list of {what}");
    let bytes = match format {
        ImageFormat::Docker => go_json_indent(&what, &doc, b"   ")?,
        ImageFormat::Oci => go_json(&what, &doc)?,
    };
    let list = RawManifest::new(list_type, bytes)?;
    store.write_manifest(repo, &list, None).await?;
    Ok(list)
}

/// RFC 3339 in UTC with seconds, as Go's `time.RFC3339` prints UTC times.
pub(crate) fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
