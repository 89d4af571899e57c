//! Reading what a release build needs from a component image: its digest, its labels and, for an
//! operator, the files of its `/manifests` directory.
//!
//! Component pullspecs name images in registries or layouts; a [`StoreMap`] says which
//! [`Store`] holds each one. Only the manifest, the configuration and — for operator images — the
//! top layer are read (every layer for an image given as an override, as `oc` does, so that a
//! layered rebuild of an operator still contributes all its manifests).

use std::collections::BTreeMap;
use std::io::Read;

use okd_oci::{
    Access, BlobRef, Digest, ImageRef, ManifestRef, ManifestView, RawManifest, Store, StoreExt,
    StoreMap,
};

use crate::config::{ImageConfig, MAX_CONFIG_SIZE};
use crate::layer_reader::{LayerLimits, clean_entry_name, from_io, read_entry_data, read_layer};
use crate::merge::ManifestFile;
use crate::mod_time::ModTime;
use crate::platform::PlatformFilter;
use crate::{Error, annotations};

/// Platform and size limits for reading component images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectOptions {
    /// Which child of a manifest list is read (default: the only one, else linux/amd64).
    pub platform: PlatformFilter,
    /// Largest compressed layer read for manifests (default 8 GiB).
    pub max_layer_size: u64,
    /// Largest uncompressed layer read for manifests (default 32 GiB).
    pub max_unpacked_size: u64,
    /// Largest single manifest file (default 64 MiB).
    pub max_file_size: u64,
    /// Largest total of one operator's manifest files (default 512 MiB).
    pub max_manifests_size: u64,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            platform: PlatformFilter::Default,
            max_layer_size: 8 << 30,
            max_unpacked_size: 32 << 30,
            max_file_size: 64 << 20,
            max_manifests_size: 512 << 20,
        }
    }
}

/// What was read from one component image.
#[derive(Debug, Clone)]
pub(crate) struct Inspection {
    /// The pullspec by digest (of the manifest list when the image is one).
    pub pullspec: String,
    /// The digest of the image manifest read (the picked child of a manifest list).
    pub image_digest: Digest,
    /// Its configuration's labels.
    pub config: ImageConfig,
    /// True when the image carries `io.openshift.release.operator`.
    pub operator: bool,
    /// The files of `/manifests` (operators only).
    pub manifests: Vec<ManifestFile>,
}

/// The image manifest of `reference` in `repo`, picked from a list when needed, and the digest of
/// what `reference` resolved to.
pub(crate) async fn platform_manifest(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    image: &str,
    platform: &PlatformFilter,
) -> Result<(RawManifest, Digest), Error> {
    let top = store.read_manifest(repo, reference).await?;
    let top_digest = top.digest().clone();
    if top.is_index() {
        let child = platform.select(&top, image)?;
        let m = store
            .read_manifest(repo, &ManifestRef::Digest(child.digest))
            .await?;
        Ok((m, top_digest))
    } else {
        Ok((top, top_digest))
    }
}

/// The configuration of an image manifest.
pub(crate) async fn read_config(
    store: &dyn Store,
    repo: &str,
    manifest: &RawManifest,
) -> Result<(BlobRef, bytes::Bytes), Error> {
    let ManifestView::Image(view) = manifest.view()? else {
        return Err(Error::UnsupportedImage {
            image: manifest.digest().to_string(),
            reason: "a manifest list points at another list".to_string(),
        });
    };
    let config = BlobRef::from_descriptor(view.config(), manifest.digest())?;
    let data = read_config_blob(store, repo, &config).await?;
    Ok((config, data))
}

/// The configuration blob `config`; one declared larger than [`MAX_CONFIG_SIZE`] is refused before
/// it is read.
pub(crate) async fn read_config_blob(
    store: &dyn Store,
    repo: &str,
    config: &BlobRef,
) -> Result<bytes::Bytes, Error> {
    if config.size > MAX_CONFIG_SIZE {
        return Err(Error::TooLarge {
            what: format!("config {}", config.digest),
            size: config.size,
            limit: MAX_CONFIG_SIZE,
        });
    }
    Ok(store
        .get_blob(repo, &config.digest, MAX_CONFIG_SIZE)
        .await?)
}

/// The layers of an image manifest.
pub(crate) fn layers(manifest: &RawManifest) -> Result<Vec<BlobRef>, Error> {
    match manifest.view()? {
        ManifestView::Image(view) => view
            .layers()
            .iter()
            .map(|d| BlobRef::from_descriptor(d, manifest.digest()).map_err(Error::from))
            .collect(),
        ManifestView::Index(_) => Err(Error::UnsupportedImage {
            image: manifest.digest().to_string(),
            reason: "expected an image manifest".to_string(),
        }),
    }
}

/// Reads component `tag` at `pullspec`. A pullspec by tag is resolved to a digest.
pub(crate) async fn inspect(
    stores: &StoreMap,
    tag: &str,
    pullspec: &str,
    all_layers: bool,
    options: &InspectOptions,
) -> Result<Inspection, Error> {
    let image: ImageRef = pullspec
        .parse()
        .map_err(|e: okd_oci::Error| Error::InvalidPullspec {
            tag: tag.to_string(),
            pullspec: pullspec.to_string(),
            reason: e.to_string(),
        })?;
    let found = stores.resolve(&image, Access::Read).await?;
    let (store, repo) = (found.store.as_ref(), found.repository);
    let reference = image.manifest_ref().ok_or_else(|| Error::InvalidPullspec {
        tag: tag.to_string(),
        pullspec: pullspec.to_string(),
        reason: "no tag or digest".to_string(),
    })?;
    let (manifest, resolved) =
        platform_manifest(store, &repo, &reference, pullspec, &options.platform).await?;
    let by_digest = match (&image, image.digest()) {
        (_, Some(_)) => pullspec.to_string(),
        (ImageRef::Registry(r), None) => format!("{}/{}@{resolved}", r.registry, r.repository),
        (ImageRef::Layout(_), None) => image.with_digest(resolved.clone()).to_string(),
    };
    let (config_ref, config_bytes) = read_config(store, &repo, &manifest).await?;
    let config = ImageConfig::parse(
        &config_bytes,
        &format!("config {} of {pullspec}", config_ref.digest),
    )?;
    let operator = config
        .label(annotations::RELEASE_OPERATOR)
        .is_some_and(|v| !v.is_empty());
    let mut manifests = Vec::new();
    if operator {
        let all = layers(&manifest)?;
        let selected: &[BlobRef] = if all_layers {
            &all
        } else {
            all.last().map(std::slice::from_ref).unwrap_or(&[])
        };
        let mut files: BTreeMap<String, ManifestFile> = BTreeMap::new();
        for layer in selected {
            let limits = LayerLimits {
                compressed: options.max_layer_size,
                unpacked: options.max_unpacked_size,
            };
            let (max_file, max_total) = (options.max_file_size, options.max_manifests_size);
            let what = format!("{pullspec} layer {}", layer.digest);
            let found = read_layer(store, &repo, layer, pullspec, limits, move |stream| {
                manifests_in_layer(stream, &what, max_file, max_total)
            })
            .await?;
            for change in found {
                match change {
                    LayerChange::File(f) => {
                        files.insert(f.name.clone(), f);
                    }
                    LayerChange::Whiteout(name) if all_layers => {
                        files.remove(&name);
                    }
                    LayerChange::Opaque if all_layers => files.clear(),
                    _ => {}
                }
            }
        }
        manifests = files.into_values().collect();
    }
    Ok(Inspection {
        pullspec: by_digest,
        image_digest: manifest.digest().clone(),
        config,
        operator,
        manifests,
    })
}

enum LayerChange {
    File(ManifestFile),
    Whiteout(String),
    Opaque,
}

/// The regular files directly in `manifests/` of one layer, and its whiteouts there.
fn manifests_in_layer(
    stream: &mut dyn Read,
    what: &str,
    max_file: u64,
    max_total: u64,
) -> Result<Vec<LayerChange>, Error> {
    let mut archive = tar::Archive::new(stream);
    let mut out = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(|e| from_io(e, what))? {
        let mut entry = entry.map_err(|e| from_io(e, what))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(name) = clean_entry_name(&raw).strip_prefix("manifests/") else {
            continue;
        };
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            continue;
        }
        if name == ".wh..wh..opq" {
            out.push(LayerChange::Opaque);
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            out.push(LayerChange::Whiteout(hidden.to_string()));
            continue;
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let size = entry.header().size().map_err(|e| from_io(e, what))?;
        total += size;
        if size > max_file {
            return Err(Error::TooLarge {
                what: format!("manifests/{name} in {what}"),
                size,
                limit: max_file,
            });
        }
        if total > max_total {
            return Err(Error::TooLarge {
                what: format!("manifests/ up to {name} in {what}"),
                size: total,
                limit: max_total,
            });
        }
        let mtime = entry_mtime(&mut entry, &raw, what)?;
        let data = read_entry_data(&mut entry, size, &raw, what)?;
        out.push(LayerChange::File(ManifestFile {
            name: name.to_string(),
            data,
            mtime,
        }));
    }
    Ok(out)
}

/// An entry's time as Go's tar reader gives it (and `oc` keeps it on the file it extracts): the
/// last PAX `mtime` record, nanoseconds and all, when there is one, else the header's seconds.
/// A PAX time Go cannot parse fails the layer, as it fails `oc`.
fn entry_mtime<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw: &str,
    what: &str,
) -> Result<ModTime, Error> {
    let mut pax_mtime = None;
    if let Some(records) = entry.pax_extensions().map_err(|e| from_io(e, what))? {
        for record in records {
            let record = record.map_err(|e| from_io(e, what))?;
            if record.key_bytes() == b"mtime" {
                pax_mtime = Some(String::from_utf8_lossy(record.value_bytes()).into_owned());
            }
        }
    }
    match pax_mtime {
        Some(value) => ModTime::parse_pax(&value).ok_or_else(|| Error::Layer {
            what: what.to_string(),
            reason: format!("entry {raw:?} has PAX mtime {value:?}, which is not a time"),
        }),
        None => {
            let secs = entry.header().mtime().map_err(|e| from_io(e, what))?;
            Ok(ModTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX)))
        }
    }
}
