//! Image appending: a base image plus new layers and an edited config, written as a new image
//! without copying or rewriting the base layers.
//!
//! Release assembly (the release layer on top of the `cluster-version-operator` image) and
//! CoreOS layering are both this operation. [`Append`] reads the base manifest and config from a
//! store, adds [`NewLayer`]s (prebuilt blobs, tarballs, or directory trees through [`DirLayer`]),
//! extends `rootfs.diff_ids` and `history`, sets or removes labels and `created`, and writes the
//! result to a destination store: base layers first (nothing to do in the same repository, a
//! mount inside the same store, a streamed copy otherwise), then the new layers, the config,
//! and the manifest last.
//!
//! The output keeps the base's manifest family: a Docker schema 2 base gives a Docker schema 2
//! manifest with Docker config and layer media types (Cincinnati ignores OCI release images), an
//! OCI base an OCI manifest. Config and manifest are serialised canonically, so the same base,
//! layers, edits and creation time always give the same manifest digest. Manifest-level
//! annotations and `subject` of the base describe the base and are not carried over, unless
//! [`Append::keep_manifest_annotations`] asks for the annotations (a derived OS image keeps
//! what its base says of itself); `subject` never is.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use chrono::{DateTime, Utc};
//! use okd_oci::append::{Append, NewLayer};
//! use okd_oci::layer::{Compression, LayerWriter};
//! use okd_oci::{ManifestRef, MemoryStore, RawManifest, Store, StoreExt, media_type};
//!
//! // A base image with no layers.
//! let store = MemoryStore::new();
//! let config = bytes::Bytes::from_static(br#"{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}"#);
//! let config_digest = okd_oci::Digest::sha256_of(&config);
//! store.put_blob("okd/base", &config_digest, config.clone()).await?;
//! let base = RawManifest::new(media_type::DOCKER_MANIFEST, format!(
//!     r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[]}}"#,
//!     media_type::DOCKER_MANIFEST, media_type::DOCKER_CONFIG, config_digest, config.len()))?;
//! store.write_manifest("okd/base", &base, Some("x")).await?;
//!
//! let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
//! w.add_file("release-manifests/release-metadata", 0o644, b"{}")?;
//! let (bytes, info) = w.finish()?;
//! let created: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().expect("valid time");
//! let out = Append::new(&store, "okd/base", &ManifestRef::Tag("x".into()))
//!     .layer(NewLayer::from_bytes(bytes, info))
//!     .label("io.openshift.release", "4.19.0")
//!     .history("okd-streams release layer")
//!     .created(created)
//!     .write_to(&store, "okd/release", Some("4.19.0"))
//!     .await?;
//! assert_eq!(out.media_type(), media_type::DOCKER_MANIFEST);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod dir;
mod new_layer;
mod tar_entries;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dir::DirLayer;
pub use new_layer::NewLayer;

use crate::config::{History, format_created};
use crate::{
    BlobRef, Digest, Error, ImageConfig, ManifestRef, ManifestView, RawManifest, Store, StoreExt,
    media_type,
};

/// Largest image config read from a base image.
pub const MAX_CONFIG_SIZE: u64 = 32 * 1024 * 1024;

/// Docker's media type for an uncompressed layer.
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// Base layers checked, mounted or copied at once.
const COPY_CONCURRENCY: usize = 4;

type ConfigEdit<'a> = Box<dyn Fn(&mut ImageConfig) -> Result<(), Error> + Send + Sync + 'a>;

/// Builds a new image from a base image. See the [module docs](self).
pub struct Append<'a> {
    store: &'a dyn Store,
    repo: String,
    reference: ManifestRef,
    platform: Option<(String, String)>,
    layers: Vec<NewLayer>,
    labels: BTreeMap<String, Option<String>>,
    created_by: Option<String>,
    created: Option<DateTime<Utc>>,
    edits: Vec<ConfigEdit<'a>>,
    keep_annotations: bool,
}

impl fmt::Debug for Append<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Append")
            .field("store", &self.store.location())
            .field("repo", &self.repo)
            .field("reference", &self.reference)
            .field("platform", &self.platform)
            .field("layers", &self.layers)
            .field("labels", &self.labels)
            .field("created_by", &self.created_by)
            .field("created", &self.created)
            .field("edits", &self.edits.len())
            .finish()
    }
}

/// Whether the output is a Docker schema 2 or an OCI image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Docker,
    Oci,
}

/// A descriptor as written in the new manifest: the usual three fields first, anything else a
/// base descriptor carried (`urls`, `annotations`) kept after them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DescriptorOut {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize)]
struct ManifestOut {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: DescriptorOut,
    layers: Vec<DescriptorOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

/// What is written, computed before anything is.
struct Plan {
    manifest: RawManifest,
    config: bytes::Bytes,
    config_digest: Digest,
    base_layers: Vec<BlobRef>,
}

impl<'a> Append<'a> {
    /// Starts from the image `reference` in repository `repo` of `store`.
    pub fn new(store: &'a dyn Store, repo: &str, reference: &ManifestRef) -> Append<'a> {
        Append {
            store,
            repo: repo.to_string(),
            reference: reference.clone(),
            platform: None,
            layers: Vec::new(),
            labels: BTreeMap::new(),
            created_by: None,
            created: None,
            edits: Vec::new(),
            keep_annotations: false,
        }
    }

    /// Keeps the base manifest's `annotations` in the new manifest (OCI manifests; a Docker
    /// schema 2 manifest has none).
    pub fn keep_manifest_annotations(mut self) -> Append<'a> {
        self.keep_annotations = true;
        self
    }

    /// When the base is an index or manifest list, uses its image for `os`/`architecture`
    /// (`linux`, `amd64`). Without it an index base is refused.
    pub fn platform(mut self, os: &str, architecture: &str) -> Append<'a> {
        self.platform = Some((os.to_string(), architecture.to_string()));
        self
    }

    /// Adds a layer on top (layers are stacked in the order they are added).
    pub fn layer(mut self, layer: NewLayer) -> Append<'a> {
        self.layers.push(layer);
        self
    }

    /// Adds several layers on top.
    pub fn layers(mut self, layers: impl IntoIterator<Item = NewLayer>) -> Append<'a> {
        self.layers.extend(layers);
        self
    }

    /// Sets a label (`config.Labels`).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Append<'a> {
        self.labels.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes a label the base has.
    pub fn remove_label(mut self, key: impl Into<String>) -> Append<'a> {
        self.labels.insert(key.into(), None);
        self
    }

    /// The `created_by` of the history entry of each new layer that has none of its own
    /// ([`NewLayer::created_by`]).
    pub fn history(mut self, created_by: impl Into<String>) -> Append<'a> {
        self.created_by = Some(created_by.into());
        self
    }

    /// The image's creation time, also used for the new history entries. Fix it to get a
    /// reproducible digest; without it the current time is used, as `docker build` does.
    pub fn created(mut self, created: DateTime<Utc>) -> Append<'a> {
        self.created = Some(created);
        self
    }

    /// Any other change to the config (environment, entrypoint, a vendor field), applied after
    /// labels and layers.
    pub fn edit_config(
        mut self,
        edit: impl Fn(&mut ImageConfig) -> Result<(), Error> + Send + Sync + 'a,
    ) -> Append<'a> {
        self.edits.push(Box::new(edit));
        self
    }

    /// Writes the new image to repository `repo` of `dest` (which may be the base's store),
    /// tagging it when `tag` is given, and returns its manifest.
    pub async fn write_to(
        &self,
        dest: &dyn Store,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<RawManifest, Error> {
        let plan = self.plan().await?;
        self.ensure_base_layers(dest, repo, &plan.base_layers)
            .await?;
        for layer in &self.layers {
            let info = layer.info();
            let data = layer.stream().await?;
            dest.write_blob(repo, &info.digest, info.size, data).await?;
        }
        dest.put_blob(repo, &plan.config_digest, plan.config)
            .await?;
        dest.write_manifest(repo, &plan.manifest, tag).await?;
        Ok(plan.manifest)
    }

    fn what(&self) -> String {
        format!("{}/{}{}", self.store.location(), self.repo, self.reference)
    }

    /// The base image manifest, picking the platform's image out of an index.
    async fn base_manifest(&self) -> Result<RawManifest, Error> {
        let m = self
            .store
            .read_manifest(&self.repo, &self.reference)
            .await?;
        if !m.is_index() {
            return Ok(m);
        }
        let not_image = |m: &RawManifest| Error::NotAnImage {
            what: self.what(),
            media_type: m.media_type().to_string(),
        };
        let Some((os, arch)) = &self.platform else {
            return Err(not_image(&m));
        };
        let ManifestView::Index(index) = m.view()? else {
            return Err(not_image(&m));
        };
        let child = index
            .manifests()
            .iter()
            .find(|d| {
                d.platform().as_ref().is_some_and(|p| {
                    p.os().to_string() == *os && p.architecture().to_string() == *arch
                })
            })
            .ok_or_else(|| Error::PlatformNotFound {
                what: self.what(),
                platform: format!("{os}/{arch}"),
            })?;
        let digest = BlobRef::from_descriptor(child, m.digest())?.digest;
        let child = self
            .store
            .read_manifest(&self.repo, &ManifestRef::Digest(digest))
            .await?;
        if child.is_index() {
            return Err(not_image(&child));
        }
        Ok(child)
    }

    async fn plan(&self) -> Result<Plan, Error> {
        let base = self.base_manifest().await?;
        let family = match base.media_type() {
            media_type::DOCKER_MANIFEST => Family::Docker,
            _ => Family::Oci,
        };
        let invalid = |reason: String| Error::InvalidManifest {
            digest: base.digest().clone(),
            reason,
        };
        #[derive(Deserialize)]
        struct BaseDoc {
            config: DescriptorOut,
            #[serde(default)]
            layers: Vec<DescriptorOut>,
            #[serde(default)]
            annotations: Option<BTreeMap<String, String>>,
        }
        let doc: BaseDoc =
            serde_json::from_slice(base.bytes()).map_err(|e| invalid(e.to_string()))?;
        let refs = base.references()?;
        let (config_ref, base_layers) = match refs.split_first() {
            Some((c, l)) => (c.clone(), l.to_vec()),
            None => return Err(invalid("no config descriptor".to_string())),
        };

        let raw = self
            .store
            .get_blob(&self.repo, &config_ref.digest, MAX_CONFIG_SIZE)
            .await?;
        let mut config = ImageConfig::from_bytes(&raw, &config_ref.digest)?;
        let diff_ids = config.diff_ids()?;
        if diff_ids.len() != base_layers.len() {
            return Err(Error::InvalidConfig {
                digest: config_ref.digest.clone(),
                reason: format!(
                    "{} rootfs.diff_ids for the {} layers of {}",
                    diff_ids.len(),
                    base_layers.len(),
                    self.what()
                ),
            });
        }
        let created = format_created(self.created.unwrap_or_else(Utc::now));
        config
            .value_mut()
            .insert("created".to_string(), Value::String(created.clone()));
        for (key, value) in &self.labels {
            match value {
                Some(v) => config.set_label(key.clone(), v.clone()),
                None => drop(config.remove_label(key)),
            }
        }
        let mut new_layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let info = layer.info();
            config.push_layer(
                &info.diff_id,
                History {
                    created: Some(created.clone()),
                    created_by: layer
                        .history_created_by()
                        .or(self.created_by.as_deref())
                        .map(str::to_string),
                    comment: layer.history_comment().map(str::to_string),
                    ..History::default()
                },
            );
            new_layers.push(DescriptorOut {
                media_type: layer_media_type(family, &info.media_type, &info.digest)?.to_string(),
                digest: info.digest.to_string(),
                size: info.size,
                rest: BTreeMap::new(),
            });
        }
        for edit in &self.edits {
            edit(&mut config)?;
        }
        let config_bytes = bytes::Bytes::from(config.to_bytes());
        let config_digest = Digest::sha256_of(&config_bytes);

        let manifest_type = match family {
            Family::Docker => media_type::DOCKER_MANIFEST,
            Family::Oci => media_type::OCI_MANIFEST,
        };
        let mut layers: Vec<DescriptorOut> = doc.layers.into_iter().map(canonical).collect();
        layers.extend(new_layers);
        let out = ManifestOut {
            schema_version: 2,
            media_type: manifest_type,
            config: DescriptorOut {
                media_type: doc.config.media_type,
                digest: config_digest.to_string(),
                size: config_bytes.len() as u64,
                rest: BTreeMap::new(),
            },
            layers,
            annotations: doc
                .annotations
                .filter(|a| self.keep_annotations && family == Family::Oci && !a.is_empty()),
        };
        // Plain structs, strings and JSON values always serialise.
        let bytes =
            serde_json::to_vec(&out).unwrap_or_else(|e| unreachable!("manifest serialises: {e}"));
        Ok(Plan {
            manifest: RawManifest::new(manifest_type, bytes)?,
            config: config_bytes,
            config_digest,
            base_layers,
        })
    }

    /// Makes every base layer present in `dest`/`repo` without rewriting it: nothing to do in the
    /// base's own repository, a mount within the same store, else a streamed copy of what the
    /// destination lacks.
    async fn ensure_base_layers(
        &self,
        dest: &dyn Store,
        repo: &str,
        layers: &[BlobRef],
    ) -> Result<(), Error> {
        let same_store =
            std::ptr::addr_eq(self.store as *const dyn Store, dest as *const dyn Store);
        if same_store && repo == self.repo {
            return Ok(());
        }
        let mut seen = BTreeSet::new();
        let unique: Vec<&BlobRef> = layers.iter().filter(|l| seen.insert(&l.digest)).collect();
        futures::stream::iter(unique)
            .map(Ok)
            .try_for_each_concurrent(COPY_CONCURRENCY, |layer| async move {
                if same_store {
                    if dest.mount_blob(repo, &self.repo, &layer.digest).await? {
                        return Ok(());
                    }
                } else if dest.blob_size(repo, &layer.digest).await?.is_some() {
                    return Ok(());
                }
                // Hashed by the destination as it verifies the write, not on the way.
                let blob = self
                    .store
                    .read_blob_unverified(&self.repo, &layer.digest)
                    .await?;
                dest.write_blob(repo, &layer.digest, layer.size, blob.stream)
                    .await
                    .map(drop)
            })
            .await
    }
}

/// A base descriptor with the keys of its extra fields sorted, for stable output.
fn canonical(mut d: DescriptorOut) -> DescriptorOut {
    for v in d.rest.values_mut() {
        v.sort_all_objects();
    }
    d
}

/// The media type a new layer gets in a manifest of `family`.
fn layer_media_type<'m>(family: Family, given: &'m str, digest: &Digest) -> Result<&'m str, Error> {
    let gzip = given == media_type::OCI_LAYER_GZIP || given == media_type::DOCKER_LAYER_GZIP;
    let tar = given == media_type::OCI_LAYER_TAR || given == DOCKER_LAYER_TAR;
    match family {
        Family::Docker if gzip => Ok(media_type::DOCKER_LAYER_GZIP),
        Family::Docker if tar => Ok(DOCKER_LAYER_TAR),
        Family::Docker => Err(Error::UnsupportedMediaType {
            what: format!("layer {digest} of a Docker schema 2 image"),
            media_type: given.to_string(),
        }),
        Family::Oci if gzip => Ok(media_type::OCI_LAYER_GZIP),
        Family::Oci if tar => Ok(media_type::OCI_LAYER_TAR),
        Family::Oci => Ok(given),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_images_get_docker_layer_types() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            layer_media_type(Family::Docker, media_type::OCI_LAYER_GZIP, &d).expect("must succeed"),
            media_type::DOCKER_LAYER_GZIP
        );
        assert_eq!(
            layer_media_type(Family::Oci, media_type::DOCKER_LAYER_GZIP, &d).expect("must succeed"),
            media_type::OCI_LAYER_GZIP
        );
        let err = layer_media_type(Family::Docker, media_type::OCI_LAYER_ZSTD, &d)
            .expect_err("must fail");
        assert!(err.to_string().contains(&d.to_string()), "{err}");
    }
}
