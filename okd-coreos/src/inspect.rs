//! Inspecting an OS image: its ostree labels, which layers are the base OS and which were added
//! on top, what packages each chunk holds, and the `machine-os` version it shows.
//!
//! A CoreOS base image is an ostree commit encapsulated as OCI: `layers[0]` holds the commit,
//! `layers[1..]` are chunks of it (each annotated `ostree.components` with the packages it
//! holds), and the config label `ostree.final-diffid` names the diff_id of the last layer that
//! belongs to the commit. Every layer after that one was added by a derived build (`FROM base` +
//! `RUN`/`COPY`). This is how ostree and bootc split an image when they pull it.
//!
//! ```
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_coreos::Error> {
//! use okd_coreos::inspect::{LayerRole, inspect};
//! use okd_oci::ManifestRef;
//!
//! let info = inspect(store, "okd/node", &ManifestRef::Tag("4.19".into()), None).await?;
//! if info.is_os_image() {
//!     for layer in info.layers.iter().filter(|l| l.role == LayerRole::Derived) {
//!         println!("added: {} ({} bytes)", layer.digest, layer.size);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use okd_oci::{Digest, ManifestRef, ManifestView, RawManifest, Store, StoreExt};
use serde::Deserialize;

use crate::error::from_json;
use crate::labels::{self, ComponentList};
use crate::{Architecture, Error, OsVersion, Variant};

/// Largest image config read, in bytes. OS image configs with fifty layers of history are tens
/// of kilobytes.
pub const MAX_CONFIG_SIZE: u64 = 16 * 1024 * 1024;

/// What a layer of an OS image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerRole {
    /// The first layer: the ostree commit itself and content not assigned to a chunk.
    OstreeCommit,
    /// A chunk of the base OS commit.
    Chunk,
    /// A layer a derived build added after the base OS.
    Derived,
    /// Not known: the image has no `ostree.final-diffid` label (not an encapsulated ostree
    /// commit, or rechunked by a tool that drops the label).
    Unknown,
}

/// One layer of an inspected image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsLayer {
    /// Position in the manifest, from 0.
    pub index: usize,
    /// Digest of the layer blob.
    pub digest: Digest,
    /// Size of the layer blob.
    pub size: u64,
    /// Media type of the layer blob.
    pub media_type: String,
    /// Digest of the uncompressed layer (from the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// What the layer is.
    pub role: LayerRole,
    /// Packages the layer holds, from its `ostree.components` annotation.
    pub components: Vec<String>,
    /// All annotations of the layer descriptor.
    pub annotations: BTreeMap<String, String>,
    /// The `created_by` of the layer's history entry, when the history has one per layer.
    pub created_by: Option<String>,
}

/// The ostree and bootc labels of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OstreeLabels {
    /// `ostree.bootable` is set.
    pub bootable: bool,
    /// `containers.bootc` is set.
    pub bootc: bool,
    /// `ostree.commit`.
    pub commit: Option<String>,
    /// `ostree.final-diffid`.
    pub final_diffid: Option<Digest>,
    /// `ostree.linux`, the kernel version.
    pub linux: Option<String>,
}

/// The OS version an image shows in a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineOs {
    /// The `machine-os` entry of `io.openshift.build.versions`.
    pub version: String,
    /// The `machine-os` entry of `io.openshift.build.version-display-names`.
    pub display_name: Option<String>,
    /// The version parsed, when it is in a known scheme.
    pub parsed: Option<OsVersion>,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsImageInfo {
    /// The image, for messages.
    pub image: String,
    /// Digest of the image manifest (of the chosen platform, for an index).
    pub manifest_digest: Digest,
    /// Digest of the config blob.
    pub config_digest: Digest,
    /// `architecture` of the config.
    pub architecture: Option<String>,
    /// `os` of the config.
    pub os: Option<String>,
    /// `created` of the config, as written.
    pub created: Option<String>,
    /// All config labels.
    pub labels: BTreeMap<String, String>,
    /// The ostree/bootc labels.
    pub ostree: OstreeLabels,
    /// The layers, in manifest order.
    pub layers: Vec<OsLayer>,
    /// The `machine-os` version and display name, when labelled.
    pub machine_os: Option<MachineOs>,
}

impl OsImageInfo {
    /// True for an image ostree or bootc would boot (`ostree.bootable` or `containers.bootc`).
    pub fn is_os_image(&self) -> bool {
        self.ostree.bootable || self.ostree.bootc
    }

    /// True when layers were added after the base OS.
    pub fn is_derived(&self) -> bool {
        self.layers.iter().any(|l| l.role == LayerRole::Derived)
    }

    /// The layers of the base OS (commit and chunks).
    pub fn base_layers(&self) -> impl Iterator<Item = &OsLayer> {
        self.layers
            .iter()
            .filter(|l| matches!(l.role, LayerRole::OstreeCommit | LayerRole::Chunk))
    }

    /// The layers a derived build added.
    pub fn derived_layers(&self) -> impl Iterator<Item = &OsLayer> {
        self.layers.iter().filter(|l| l.role == LayerRole::Derived)
    }

    /// Every package named in a chunk annotation.
    pub fn components(&self) -> BTreeSet<&str> {
        self.layers
            .iter()
            .flat_map(|l| l.components.iter().map(String::as_str))
            .collect()
    }

    /// The OS version: `machine-os` of `io.openshift.build.versions`, else
    /// `org.opencontainers.image.version`, else the legacy `version` label.
    pub fn os_version(&self) -> Option<&str> {
        self.machine_os
            .as_ref()
            .map(|m| m.version.as_str())
            .or_else(|| {
                self.labels
                    .get(labels::OCI_IMAGE_VERSION)
                    .map(String::as_str)
            })
            .or_else(|| self.labels.get(labels::LEGACY_VERSION).map(String::as_str))
    }

    /// The built-in variant the image says it is, from its `machine-os` display name, else
    /// from the `fedora-coreos.stream` label Fedora CoreOS builds carry.
    pub fn variant(&self) -> Option<Variant> {
        self.machine_os
            .as_ref()
            .and_then(|m| m.display_name.as_deref())
            .and_then(Variant::from_display_name)
            .or_else(|| {
                self.labels
                    .contains_key("fedora-coreos.stream")
                    .then_some(Variant::Fcos)
            })
    }

    /// Fails with [`Error::NotAnOsImage`] unless [`Self::is_os_image`].
    pub fn require_os_image(&self) -> Result<(), Error> {
        if self.is_os_image() {
            Ok(())
        } else {
            Err(Error::NotAnOsImage {
                image: self.image.clone(),
                reason: format!(
                    "no {} or {} label",
                    labels::OSTREE_BOOTABLE,
                    labels::CONTAINERS_BOOTC
                ),
            })
        }
    }
}

/// The parts of an image config okd-coreos reads. Unknown fields are ignored; the config blob
/// itself is never rewritten from this.
#[derive(Debug, Deserialize)]
pub(crate) struct ConfigProbe {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: Option<ConfigSection>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<HistoryProbe>,
}

/// One entry of a config's `history`.
#[derive(Debug, Deserialize)]
pub(crate) struct HistoryProbe {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConfigSection {
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RootFs {
    pub diff_ids: Vec<Digest>,
}

/// Reads the image manifest `reference` names in `repo`; for an index, the manifest of `arch`
/// (or its only manifest when `arch` is `None`).
pub async fn image_manifest(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    arch: Option<Architecture>,
) -> Result<RawManifest, Error> {
    let image = format!("{}/{repo}{reference}", store.location());
    let manifest = store.read_manifest(repo, reference).await?;
    let ManifestView::Index(index) = manifest.view()? else {
        return Ok(manifest);
    };
    let entries: Vec<(String, Digest)> = index
        .manifests()
        .iter()
        .map(|d| {
            let arch = d
                .platform()
                .as_ref()
                .map(|p| p.architecture().to_string())
                .unwrap_or_default();
            okd_oci::BlobRef::from_descriptor(d, manifest.digest()).map(|b| (arch, b.digest))
        })
        .collect::<Result<_, _>>()?;
    let available = || {
        entries
            .iter()
            .map(|(a, _)| if a.is_empty() { "?" } else { a.as_str() })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match arch {
        Some(a) => entries
            .iter()
            .find(|(x, _)| x == a.oci_name())
            .ok_or_else(|| Error::ArchitectureNotInIndex {
                image: image.clone(),
                architecture: a.oci_name().to_string(),
                available: available(),
            })?,
        None if entries.len() == 1 => &entries[0],
        None => {
            return Err(Error::NeedsArchitecture {
                image,
                available: available(),
            });
        }
    };
    Ok(store
        .read_manifest(repo, &ManifestRef::Digest(chosen.1.clone()))
        .await?)
}

/// Reads and inspects an image. See the [module docs](self).
pub async fn inspect(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    arch: Option<Architecture>,
) -> Result<OsImageInfo, Error> {
    let manifest = image_manifest(store, repo, reference, arch).await?;
    let config_digest = config_digest(&manifest)?;
    let config = store
        .get_blob(repo, &config_digest, MAX_CONFIG_SIZE)
        .await?;
    inspect_parts(
        &format!("{}/{repo}{reference}", store.location()),
        &manifest,
        &config,
    )
}

pub(crate) fn config_digest(manifest: &RawManifest) -> Result<Digest, Error> {
    match manifest.view()? {
        ManifestView::Image(m) => {
            Ok(okd_oci::BlobRef::from_descriptor(m.config(), manifest.digest())?.digest)
        }
        ManifestView::Index(_) => Err(okd_oci::Error::InvalidManifest {
            digest: manifest.digest().clone(),
            reason: "an index where an image manifest was expected".to_string(),
        }
        .into()),
    }
}

/// Inspects an image from its manifest and config bytes, without a store. `image` names it in
/// errors.
pub fn inspect_parts(
    image: &str,
    manifest: &RawManifest,
    config: &[u8],
) -> Result<OsImageInfo, Error> {
    let ManifestView::Image(m) = manifest.view()? else {
        return Err(Error::InconsistentOsImage {
            image: image.to_string(),
            reason: "an index where an image manifest was expected".to_string(),
        });
    };
    let config_digest = okd_oci::BlobRef::from_descriptor(m.config(), manifest.digest())?.digest;
    let probe: ConfigProbe = from_json(&format!("image config {config_digest}"), config)?;
    let labels = probe.config.and_then(|c| c.labels).unwrap_or_default();
    let inconsistent = |reason: String| Error::InconsistentOsImage {
        image: image.to_string(),
        reason,
    };

    let final_diffid = labels
        .get(labels::OSTREE_FINAL_DIFFID)
        .map(|v| {
            v.parse::<Digest>()
                .map_err(|e| inconsistent(format!("label {}: {e}", labels::OSTREE_FINAL_DIFFID)))
        })
        .transpose()?;
    let ostree = OstreeLabels {
        bootable: labels.contains_key(labels::OSTREE_BOOTABLE),
        bootc: labels.contains_key(labels::CONTAINERS_BOOTC),
        commit: labels.get(labels::OSTREE_COMMIT).cloned(),
        final_diffid,
        linux: labels.get(labels::OSTREE_LINUX).cloned(),
    };

    let diff_ids = &probe.rootfs.diff_ids;
    if diff_ids.len() != m.layers().len() {
        return Err(inconsistent(format!(
            "the manifest has {} layers but the config lists {} diff_ids",
            m.layers().len(),
            diff_ids.len()
        )));
    }
    let last_base = match &ostree.final_diffid {
        Some(d) => Some(diff_ids.iter().position(|x| x == d).ok_or_else(|| {
            inconsistent(format!(
                "{} {d} is not among the config's diff_ids",
                labels::OSTREE_FINAL_DIFFID
            ))
        })?),
        None => None,
    };

    // History entries of empty layers (ENV, LABEL) have no layer; the others are one a layer.
    let history: Vec<Option<String>> = probe
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone())
        .collect();
    let history_fits = history.len() == diff_ids.len();
    let mut layers = Vec::with_capacity(diff_ids.len());
    for (index, (desc, diff_id)) in m.layers().iter().zip(diff_ids).enumerate() {
        let blob = okd_oci::BlobRef::from_descriptor(desc, manifest.digest())?;
        let annotations: BTreeMap<String, String> = desc
            .annotations()
            .as_ref()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let components = annotations
            .get(labels::OSTREE_COMPONENTS)
            .map(|c| {
                c.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let role = match last_base {
            None => LayerRole::Unknown,
            Some(_) if index == 0 => LayerRole::OstreeCommit,
            Some(last) if index <= last => LayerRole::Chunk,
            Some(_) => LayerRole::Derived,
        };
        layers.push(OsLayer {
            index,
            digest: blob.digest,
            size: blob.size,
            media_type: blob.media_type,
            diff_id: diff_id.clone(),
            role,
            components,
            annotations,
            created_by: if history_fits {
                history[index].clone()
            } else {
                None
            },
        });
    }

    let machine_os = match labels.get(labels::BUILD_VERSIONS) {
        Some(v) => ComponentList::parse_label(labels::BUILD_VERSIONS, v)?
            .get(labels::MACHINE_OS)
            .map(|version| -> Result<MachineOs, Error> {
                let display_name = match labels.get(labels::BUILD_VERSION_DISPLAY_NAMES) {
                    Some(d) => ComponentList::parse_label(labels::BUILD_VERSION_DISPLAY_NAMES, d)?
                        .get(labels::MACHINE_OS)
                        .map(str::to_string),
                    None => None,
                };
                Ok(MachineOs {
                    version: version.to_string(),
                    display_name,
                    parsed: version.parse().ok(),
                })
            })
            .transpose()?,
        None => None,
    };

    Ok(OsImageInfo {
        image: image.to_string(),
        manifest_digest: manifest.digest().clone(),
        config_digest,
        architecture: probe.architecture,
        os: probe.os,
        created: probe.created,
        labels,
        ostree,
        layers,
        machine_os,
    })
}
