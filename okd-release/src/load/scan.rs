//! Reading `release-manifests/` out of a release image's layers, top first.

use std::io::Read;

use okd_oci::{BlobRef, Digest, Store};

use super::{LoadOptions, RELEASE_MANIFESTS, ReleaseFile, release_path};
use crate::Error;
use crate::layer_reader::{
    LayerLimits, clean_entry_name, from_io, go_entries, read_entry_data, read_layer,
};

/// What the release layer held.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub(super) saw_directory: bool,
    pub(super) image_references: Option<Vec<u8>>,
    pub(super) release_metadata: Option<Vec<u8>>,
    pub(super) manifests: Vec<ReleaseFile>,
    pub(super) others: Vec<ReleaseFile>,
    /// Names below `release-manifests/` a whiteout of this layer hides in lower layers.
    pub(super) whiteouts: Vec<String>,
    /// `release-manifests/` of lower layers is hidden whole (an opaque whiteout).
    pub(super) opaque: bool,
    /// How many layers below the top one were read for the payload.
    pub(super) depth: usize,
}

impl Scan {
    /// Adds what the layer below held: only what this (higher) scan neither has nor hides.
    fn merge_lower(&mut self, lower: Scan) {
        if self.opaque {
            return;
        }
        let hidden = |name: &str, have: &[ReleaseFile], whiteouts: &[String]| {
            have.iter().any(|f| f.name == name) || whiteouts.iter().any(|w| w == name)
        };
        self.saw_directory |= lower.saw_directory;
        if self.image_references.is_none()
            && !self.whiteouts.iter().any(|w| w == "image-references")
        {
            self.image_references = lower.image_references;
        }
        if self.release_metadata.is_none()
            && !self.whiteouts.iter().any(|w| w == "release-metadata")
        {
            self.release_metadata = lower.release_metadata;
        }
        for f in lower.manifests {
            if !hidden(&f.name, &self.manifests, &self.whiteouts) {
                self.manifests.push(f);
            }
        }
        for f in lower.others {
            if !hidden(&f.name, &self.others, &self.whiteouts) {
                self.others.push(f);
            }
        }
        self.whiteouts.extend(lower.whiteouts);
        self.opaque = lower.opaque;
        self.manifests.sort_by(|a, b| a.name.cmp(&b.name));
        self.others.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Reads at most `max_layers` layers top first, down to the first by which both
/// `release-manifests/image-references` and `release-metadata` were found (only the last one,
/// for a release nobody added a layer to). Returns the lowest layer read and what the layers
/// read held together.
pub(super) async fn scan_layers_top_first<'l>(
    store: &dyn Store,
    repo: &str,
    layers: &'l [BlobRef],
    max_layers: usize,
    image: &str,
    options: &LoadOptions,
) -> Result<(&'l BlobRef, Scan), Error> {
    let top = layers.last().ok_or_else(|| Error::NotARelease {
        image: image.to_string(),
        file: String::new(),
    })?;
    let mut merged: Option<(&BlobRef, Scan)> = None;
    for (depth, layer) in layers.iter().rev().take(max_layers.max(1)).enumerate() {
        let scan = scan_release_layer(store, repo, layer, image, options).await?;
        let mut all = match merged.take() {
            None => scan,
            Some((_, mut higher)) => {
                higher.merge_lower(scan);
                higher
            }
        };
        all.depth = depth;
        let complete = all.image_references.is_some() && all.release_metadata.is_some();
        if complete || all.opaque {
            return Ok((layer, all));
        }
        merged = Some((layer, all));
    }
    match merged {
        Some((layer, all)) if all.image_references.is_some() => Ok((layer, all)),
        // No layer holds image-references: the top one is what `oc` reads and reports on.
        Some((_, all)) => Ok((top, Scan { depth: 0, ..all })),
        None => Ok((top, Scan::default())),
    }
}

async fn scan_release_layer(
    store: &dyn Store,
    repo: &str,
    layer: &BlobRef,
    image: &str,
    options: &LoadOptions,
) -> Result<Scan, Error> {
    let limits = LayerLimits {
        compressed: options.max_layer_size,
        unpacked: options.max_unpacked_size,
    };
    let image_name = image.to_string();
    let what = format!("release layer {}", layer.digest);
    let options = options.clone();
    read_layer(store, repo, layer, image, limits, move |stream| {
        scan_tar(stream, &image_name, &what, &options)
    })
    .await
}

fn scan_tar(
    stream: &mut dyn Read,
    image: &str,
    what: &str,
    options: &LoadOptions,
) -> Result<Scan, Error> {
    let mut scan = Scan::default();
    go_entries(stream, what, |entry| {
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = release_path(clean_entry_name(&raw_name)) else {
            return Ok(true);
        };
        let unsafe_entry = |reason: &str| Error::UnsafeEntry {
            image: image.to_string(),
            entry: raw_name.clone(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(unsafe_entry("the path escapes release-manifests/"));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(unsafe_entry("links are not allowed in release-manifests/"));
        }
        if kind.is_dir() {
            scan.saw_directory = true;
            return Ok(true);
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(unsafe_entry(
                "only regular files and directories are allowed",
            ));
        }
        if parts.is_empty() {
            return Err(unsafe_entry("release-manifests must be a directory"));
        }
        scan.saw_directory = true;
        let name = parts.join("/");
        if let Some(hidden) = parts.last().and_then(|p| p.strip_prefix(".wh.")) {
            // A whiteout marker, not content: it hides a file of the layers below.
            if hidden == ".wh..opq" && parts.len() == 1 {
                scan.opaque = true;
            } else {
                let mut hidden_path = parts[..parts.len() - 1].to_vec();
                hidden_path.push(hidden);
                scan.whiteouts.push(hidden_path.join("/"));
            }
            return Ok(true);
        }
        let size = entry.header().size().map_err(|e| from_io(e, what))?;
        if size > options.max_file_size {
            return Err(Error::TooLarge {
                what: format!("{RELEASE_MANIFESTS}/{name} in {image}"),
                size,
                limit: options.max_file_size,
            });
        }
        let data = read_entry_data(entry, size, &raw_name, what)?;
        let file = ReleaseFile {
            name: name.clone(),
            size: data.len() as u64,
            digest: Digest::sha256_of(&data),
        };
        match name.as_str() {
            "image-references" => scan.image_references = Some(data),
            "release-metadata" => scan.release_metadata = Some(data),
            n if [".yaml", ".yml", ".json"].iter().any(|e| n.ends_with(e)) => {
                scan.manifests.retain(|f| f.name != name);
                scan.manifests.push(file);
            }
            _ => {
                scan.others.retain(|f| f.name != name);
                scan.others.push(file);
            }
        }
        Ok(true)
    })?;
    scan.manifests.sort_by(|a, b| a.name.cmp(&b.name));
    scan.others.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scan)
}
