//! Writing the release image: the release layer, and the base image with that layer appended.
//!
//! This is what `oc adm release new` does after the payload is assembled: the
//! `release-manifests/` tar (Go's tar layout, see [`crate::gotar`]) is gzip'd and appended to the
//! base (`cluster-version-operator`) image without copying or rewriting the base layers; the
//! configuration is edited as `oc` edits it (labels replaced by `io.openshift.release` and
//! `io.openshift.release.base-image-digest`, history reset, `created` set) and a Docker schema 2
//! manifest is written, its base layer descriptors (media types included) as the base image has
//! them. Base layers are mounted or copied into the destination repository only
//! when it lacks them.
//!
//! Appending is done here rather than through a generic image-append facility so that the
//! configuration is written exactly as `oc` writes it (library-go's `DockerImageConfig`, see
//! [`crate::docker_config`]).

use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use okd_oci::{BlobRef, Digest, ManifestRef, RawManifest, Store, StoreExt, media_type};
use serde::Serialize;

use crate::docker_config::{DockerConfig, DockerImageConfig, History, RootFs};
use crate::inspect::{layers, platform_manifest, read_config};
use crate::merge::PayloadFile;
use crate::platform::PlatformFilter;
use crate::{Error, RELEASE_MANIFESTS, annotations, gojson, gotar};

/// The comment of the release image's history entry.
pub const HISTORY_COMMENT: &str = "Release image for OpenShift";

/// A finished release layer.
#[derive(Clone, PartialEq, Eq)]
pub struct ReleaseLayer {
    /// The gzip'd tar.
    pub bytes: Bytes,
    /// Its digest.
    pub digest: Digest,
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
}

impl std::fmt::Debug for ReleaseLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseLayer")
            .field("digest", &self.digest)
            .field("diff_id", &self.diff_id)
            .field("size", &self.bytes.len())
            .finish()
    }
}

impl ReleaseLayer {
    /// Size of the gzip'd tar.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Writes the release layer as `oc` orders it: the `release-manifests` directory,
/// `image-references`, `release-metadata` (all dated `newest`), then the operator files with their
/// own dates. Blocking (compression): call it on a blocking thread.
pub fn write_release_layer(
    image_references: &[u8],
    release_metadata: &[u8],
    files: &[PayloadFile],
    newest: i64,
) -> Result<ReleaseLayer, Error> {
    let io_err = |e: std::io::Error| Error::Layer {
        what: "release layer".to_string(),
        reason: e.to_string(),
    };
    let mut w = gotar::GoTarWriter::new(Vec::new());
    w.append_dir(RELEASE_MANIFESTS, 0o777, newest)
        .map_err(io_err)?;
    w.append_file(
        &format!("{RELEASE_MANIFESTS}/image-references"),
        0o444,
        newest,
        image_references,
    )
    .map_err(io_err)?;
    w.append_file(
        &format!("{RELEASE_MANIFESTS}/release-metadata"),
        0o444,
        newest,
        release_metadata,
    )
    .map_err(io_err)?;
    for f in files {
        w.append_file(
            &format!("{RELEASE_MANIFESTS}/{}", f.name),
            0o444,
            f.mtime,
            &f.data,
        )
        .map_err(io_err)?;
    }
    let tar = w.finish().map_err(io_err)?;
    let diff_id = Digest::sha256_of(&tar);
    let mut gz = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(tar.len() / 4),
        flate2::Compression::default(),
    );
    gz.write_all(&tar).map_err(io_err)?;
    let bytes = gz.finish().map_err(io_err)?;
    Ok(ReleaseLayer {
        digest: Digest::sha256_of(&bytes),
        diff_id,
        bytes: Bytes::from(bytes),
    })
}

/// The base image a release is appended to.
#[derive(Debug, Clone)]
pub(crate) struct BaseImage {
    /// Repository in the source store.
    pub repo: String,
    /// Digest of the platform image manifest (the `base-image-digest` label).
    pub digest: Digest,
    /// Its layers.
    pub layers: Vec<BlobRef>,
    /// Its configuration.
    pub config: DockerImageConfig,
}

/// Reads the base image `reference` of `repo`.
pub(crate) async fn read_base(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    pullspec: &str,
    platform: &PlatformFilter,
) -> Result<BaseImage, Error> {
    let (manifest, _) = platform_manifest(store, repo, reference, pullspec, platform).await?;
    let (_, data) = read_config(store, repo, &manifest).await?;
    let config = DockerImageConfig::parse(&data).map_err(|e| match e {
        Error::InvalidDocument { reason, .. } => Error::InvalidDocument {
            file: format!("config of base image {pullspec}"),
            reason,
        },
        other => other,
    })?;
    let layers = layers(&manifest)?;
    let diff_ids = config.rootfs.as_ref().map_or(0, |r| r.diff_ids.len());
    if diff_ids != layers.len() {
        return Err(Error::UnsupportedImage {
            image: pullspec.to_string(),
            reason: format!(
                "its config lists {diff_ids} layer diff_ids for {} layers",
                layers.len()
            ),
        });
    }
    Ok(BaseImage {
        repo: repo.to_string(),
        digest: manifest.digest().clone(),
        layers,
        config,
    })
}

/// The release image configuration: the base configuration edited as `oc` does.
pub(crate) fn release_config(
    base: &BaseImage,
    name: &str,
    created: DateTime<Utc>,
    layer: &ReleaseLayer,
) -> DockerImageConfig {
    let created = Some(created.fixed_offset());
    let mut c = base.config.clone();
    if c.os.is_empty() {
        c.os = "linux".to_string();
    }
    if c.architecture.is_empty() {
        c.architecture = "amd64".to_string();
    }
    c.container = String::new();
    c.parent = String::new();
    c.created = created;
    c.container_config = DockerConfig::default();
    let runtime = c.config.get_or_insert_with(DockerConfig::default);
    runtime.labels = [
        (annotations::RELEASE.to_string(), name.to_string()),
        (
            annotations::RELEASE_BASE_IMAGE_DIGEST.to_string(),
            base.digest.to_string(),
        ),
    ]
    .into();
    c.history = vec![History {
        created,
        comment: HISTORY_COMMENT.to_string(),
        ..History::default()
    }];
    let rootfs = c.rootfs.get_or_insert_with(|| RootFs {
        type_: "layers".to_string(),
        diff_ids: Vec::new(),
    });
    rootfs.diff_ids.push(layer.diff_id.to_string());
    let layer_count = base.layers.len() + 1;
    while c.history.len() < layer_count {
        c.history.push(History {
            created,
            ..History::default()
        });
    }
    let sizes: u64 = base.layers.iter().map(|l| l.size).sum::<u64>() + layer.size();
    c.size = i64::try_from(sizes).unwrap_or(i64::MAX);
    c
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    media_type: &'a str,
    size: u64,
    digest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Schema2<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

/// The Docker schema 2 manifest as distribution writes it (`json.MarshalIndent`, three spaces).
/// The base layers keep their media types, as `oc` keeps the base image's descriptors: an OCI
/// base (gzip, zstd or plain tar layers) stays OCI-typed inside the Docker manifest, since the
/// type describes bytes that are not rewritten.
pub(crate) fn schema2_manifest(
    config: &[u8],
    base_layers: &[BlobRef],
    layer: &ReleaseLayer,
) -> Result<RawManifest, Error> {
    let mut layers: Vec<Descriptor<'_>> = base_layers
        .iter()
        .map(|l| Descriptor {
            media_type: &l.media_type,
            size: l.size,
            digest: l.digest.to_string(),
        })
        .collect();
    layers.push(Descriptor {
        media_type: media_type::DOCKER_LAYER_GZIP,
        size: layer.size(),
        digest: layer.digest.to_string(),
    });
    let m = Schema2 {
        schema_version: 2,
        media_type: media_type::DOCKER_MANIFEST,
        config: Descriptor {
            media_type: media_type::DOCKER_CONFIG,
            size: config.len() as u64,
            digest: Digest::sha256_of(config).to_string(),
        },
        layers,
    };
    let text =
        gojson::to_string_indent_with(&m, b"   ").unwrap_or_else(|e| unreachable!("manifest: {e}"));
    Ok(RawManifest::new(
        media_type::DOCKER_MANIFEST,
        text.into_bytes(),
    )?)
}

/// The parts of a release image that are new.
#[derive(Debug, Clone)]
pub(crate) struct NewParts<'a> {
    /// The release layer.
    pub layer: &'a ReleaseLayer,
    /// The configuration blob.
    pub config: &'a [u8],
    /// The manifest.
    pub manifest: &'a RawManifest,
}

/// Writes the release image into `to_repo` of `to`: base layers (skipped when present, mounted
/// from `from` when it is the same store, copied otherwise), then the release layer and the
/// configuration, then the manifest, tagged last.
pub(crate) async fn push(
    from: &dyn Store,
    base: &BaseImage,
    parts: NewParts<'_>,
    to: &dyn Store,
    to_repo: &str,
    tag: Option<&str>,
) -> Result<(), Error> {
    for l in &base.layers {
        okd_oci::copy::copy_blob(from, &base.repo, to, to_repo, &l.digest, l.size).await?;
    }
    to.put_blob(to_repo, &parts.layer.digest, parts.layer.bytes.clone())
        .await?;
    let config_digest = Digest::sha256_of(parts.config);
    to.put_blob(
        to_repo,
        &config_digest,
        Bytes::copy_from_slice(parts.config),
    )
    .await?;
    to.write_manifest(to_repo, parts.manifest, tag).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(media_type: &str, n: u8) -> BlobRef {
        BlobRef {
            digest: Digest::sha256_of(&[n]),
            size: u64::from(n),
            media_type: media_type.to_string(),
        }
    }

    #[test]
    fn manifest_is_docker_schema2_as_distribution_writes_it() {
        let layer = write_release_layer(b"{}", b"{}", &[], 0).unwrap();
        let m = schema2_manifest(
            b"{}",
            &[
                blob(media_type::DOCKER_LAYER_GZIP, 1),
                blob(media_type::DOCKER_LAYER_GZIP, 2),
            ],
            &layer,
        )
        .unwrap();
        let text = String::from_utf8(m.bytes().to_vec()).unwrap();
        let expected = format!(
            "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{}\",\n   \"config\": {{\n      \"mediaType\": \"{}\",\n      \"size\": 2,\n      \"digest\": \"{}\"\n   }},\n   \"layers\": [\n",
            media_type::DOCKER_MANIFEST,
            media_type::DOCKER_CONFIG,
            Digest::sha256_of(b"{}")
        );
        assert!(text.starts_with(&expected), "{text}");
        assert_eq!(
            text.matches(media_type::DOCKER_LAYER_GZIP).count(),
            3,
            "{text}"
        );
    }

    #[test]
    fn oci_base_layer_media_types_are_kept_as_oc_keeps_them() {
        let layer = write_release_layer(b"{}", b"{}", &[], 0).unwrap();
        let base = [
            blob(media_type::OCI_LAYER_GZIP, 1),
            blob(media_type::OCI_LAYER_ZSTD, 2),
            blob(media_type::OCI_LAYER_TAR, 3),
        ];
        let m = schema2_manifest(b"{}", &base, &layer).unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_MANIFEST);
        let v: serde_json::Value = serde_json::from_slice(m.bytes()).unwrap();
        let types: Vec<&str> = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["mediaType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                media_type::OCI_LAYER_GZIP,
                media_type::OCI_LAYER_ZSTD,
                media_type::OCI_LAYER_TAR,
                media_type::DOCKER_LAYER_GZIP,
            ]
        );
        assert_eq!(v["config"]["mediaType"], media_type::DOCKER_CONFIG);
    }
}
