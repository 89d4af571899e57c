//! Loading a release image from a store: what `oc adm release info` reads.
//!
//! Only the release image's manifest, its configuration and its **last layer** are read — never
//! the component images. The layer is streamed through gzip and tar on a blocking thread, its
//! digest verified as it passes, and only `release-manifests/` is looked at: `image-references`
//! and `release-metadata` are parsed, manifest files are listed with their size and digest.
//! Every size is bounded ([`LoadOptions`]); an entry escaping `release-manifests/` (`..`) or a
//! link is refused.
//!
//! A manifest list is read through one child, chosen by [`LoadOptions::platform`] with `oc`'s
//! rules (see [`crate::platform`]); [`Release::list_children`] lists every entry of the list.
//! A release image someone added a layer to (a CA bundle appended with `oc image append`) has
//! its `release-manifests/` below the top layer. When the last layer lacks `image-references`
//! or `release-metadata`, the layers below are read in turn, top first, until both are found
//! (only for an image labelled `io.openshift.release`, so that no other image has every layer
//! read); a file of a higher layer wins over the same file below it, and a whiteout in a higher
//! layer hides it. The release then carries a warning saying how many layers were read.
//!
//! A component that image-references names by tag rather than by digest is not in
//! [`Release::components`]; the release loads with a warning naming it, as `oc adm release
//! info` shows such a release.
//!
//! ```
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_release::Error> {
//! use okd_oci::ManifestRef;
//! use okd_release::Release;
//!
//! let release = Release::load(store, "okd/scos-release", &ManifestRef::Tag("4.19.0-okd-scos.1".into())).await?;
//! println!("{} {} {}", release.name, release.digest, release.platform());
//! for (tag, c) in &release.components {
//!     println!("{tag} {}", c.pullspec);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use okd_oci::{BlobRef, Digest, ImageRef, ManifestRef, ManifestView, Store};

use crate::config::ImageConfig;
use crate::image_references::ImageReferences;
use crate::inspect::read_config_blob;
use crate::platform::{ListChild, PlatformFilter, list_children};
mod scan;

use scan::{Scan, scan_layers_top_first};

#[cfg(test)]
use crate::layer_reader::clean_entry_name;
use crate::{ComponentVersions, Error, ReleaseMetadata, ReleaseVersion, annotations};

/// The directory of the release layer that holds the payload.
pub const RELEASE_MANIFESTS: &str = "release-manifests";

/// Limits and platform choice for [`Release::load_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Which child of a manifest list is read (default: the only one, else linux/amd64).
    pub platform: PlatformFilter,
    /// Largest compressed release layer accepted (default 512 MiB).
    pub max_layer_size: u64,
    /// Largest uncompressed release layer accepted (default 2 GiB).
    pub max_unpacked_size: u64,
    /// Largest single file in `release-manifests/` accepted (default 64 MiB).
    pub max_file_size: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            platform: PlatformFilter::Default,
            max_layer_size: 512 * 1024 * 1024,
            max_unpacked_size: 2 * 1024 * 1024 * 1024,
            max_file_size: 64 * 1024 * 1024,
        }
    }
}

/// One component of a release: an image-references tag pointing at an image by digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Component {
    /// The tag name (`cluster-version-operator`).
    pub name: String,
    /// The pullspec exactly as in image-references.
    pub pullspec: String,
    /// The pullspec parsed.
    pub image: ImageRef,
    /// The image digest.
    pub digest: Digest,
    /// The tag's annotations (commit, source location, component versions).
    pub annotations: BTreeMap<String, String>,
}

impl Component {
    /// The source commit (`io.openshift.build.commit.id`), when non-empty.
    pub fn commit(&self) -> Option<&str> {
        self.annotation(annotations::BUILD_COMMIT_ID)
    }

    /// The source repository (`io.openshift.build.source-location`), when non-empty.
    pub fn source_location(&self) -> Option<&str> {
        self.annotation(annotations::BUILD_SOURCE_LOCATION)
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A file of `release-manifests/`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseFile {
    /// Path inside `release-manifests/`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents.
    pub digest: Digest,
}

/// A release payload as read from its image. See the [module docs](self).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Release {
    /// What was loaded, for messages (`quay.io/okd/scos-release:4.19.0-okd-scos.1`).
    pub image: String,
    /// The pullspec by digest (of the manifest list, if the image was one).
    pub pull_spec: String,
    /// Digest of the image manifest.
    pub digest: Digest,
    /// Digest of the manifest list the image manifest was picked from.
    pub list_digest: Option<Digest>,
    /// Every entry of that manifest list, in list order (empty for a single image).
    pub list_children: Vec<ListChild>,
    /// Media type of the image manifest.
    pub media_type: String,
    /// Digest of the image configuration.
    pub config_digest: Digest,
    /// Creation time, platform and labels.
    pub config: ImageConfig,
    /// The image configuration as stored.
    #[serde(skip)]
    pub raw_config: bytes::Bytes,
    /// Digest of the release layer: the last layer, or the highest one holding
    /// `release-manifests/image-references`.
    pub layer_digest: Digest,
    /// The release name: the metadata version, else the image-references name.
    pub name: String,
    /// `release-manifests/release-metadata`, when present.
    pub metadata: Option<ReleaseMetadata>,
    /// `release-manifests/image-references`.
    pub references: ImageReferences,
    /// The components by tag.
    pub components: BTreeMap<String, Component>,
    /// `.yaml`, `.yml` and `.json` files of `release-manifests/`, sorted by name.
    pub manifests: Vec<ReleaseFile>,
    /// Other files of `release-manifests/` besides image-references and release-metadata.
    pub other_files: Vec<ReleaseFile>,
    /// Component versions combined from the tags' annotations.
    pub component_versions: ComponentVersions,
    /// Which tag declared each component version.
    pub component_tags: BTreeMap<String, String>,
    /// Problems that do not prevent reading the release, sorted.
    pub warnings: Vec<String>,
}

impl Release {
    /// Loads the release image `reference` of repository `repo` with default [`LoadOptions`].
    pub async fn load(
        store: &dyn Store,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Release, Error> {
        Self::load_with(store, repo, reference, &LoadOptions::default()).await
    }

    /// Loads the release image `image` from `store`, which must be the store `image` lives in.
    pub async fn load_image(store: &dyn Store, image: &ImageRef) -> Result<Release, Error> {
        Self::load_image_with(store, image, &LoadOptions::default()).await
    }

    /// [`Release::load_image`] with explicit options (the platform read from a manifest list,
    /// the limits).
    pub async fn load_image_with(
        store: &dyn Store,
        image: &ImageRef,
        options: &LoadOptions,
    ) -> Result<Release, Error> {
        let reference = image
            .manifest_ref()
            .unwrap_or_else(|| ManifestRef::Tag("latest".to_string()));
        let mut release = Self::load_with(store, image.repository(), &reference, options).await?;
        release.image = image.to_string();
        let by_digest = image.with_digest(
            release
                .list_digest
                .clone()
                .unwrap_or(release.digest.clone()),
        );
        release.pull_spec = match by_digest {
            ImageRef::Registry(mut r) => {
                r.tag = None;
                ImageRef::Registry(r).to_string()
            }
            other => other.to_string(),
        };
        Ok(release)
    }

    /// Loads with explicit options.
    pub async fn load_with(
        store: &dyn Store,
        repo: &str,
        reference: &ManifestRef,
        options: &LoadOptions,
    ) -> Result<Release, Error> {
        let image = format!("{}/{repo}{reference}", store.location());
        let top = store.read_manifest(repo, reference).await?;
        let (manifest, list_digest, list_children) = if top.is_index() {
            let child = options.platform.select(&top, &image)?;
            let m = store
                .read_manifest(repo, &ManifestRef::Digest(child.digest))
                .await?;
            let children = list_children(&top, &image)?;
            (m, Some(top.digest().clone()), children)
        } else {
            (top, None, Vec::new())
        };
        let ManifestView::Image(view) = manifest.view()? else {
            return Err(unsupported(
                &image,
                "a manifest list points at another list",
            ));
        };
        let config_ref = BlobRef::from_descriptor(view.config(), manifest.digest())?;
        let config_bytes = read_config_blob(store, repo, &config_ref).await?;
        let config = ImageConfig::parse(&config_bytes, &format!("config {}", config_ref.digest))?;
        let layers = view
            .layers()
            .iter()
            .map(|d| BlobRef::from_descriptor(d, manifest.digest()))
            .collect::<Result<Vec<_>, _>>()?;
        // Only an image labelled as a release is worth reading below its top layer: anything
        // else would have every layer read before being refused.
        let depth = if config.label(annotations::RELEASE).is_some() {
            layers.len()
        } else {
            1
        };
        let (layer, scan) =
            scan_layers_top_first(store, repo, &layers, depth, &image, options).await?;
        let digest = manifest.digest().clone();
        let pull_spec = format!(
            "{}/{repo}@{}",
            store.location(),
            list_digest.as_ref().unwrap_or(&digest)
        );
        assemble(Assembly {
            image,
            pull_spec,
            digest,
            list_digest,
            list_children,
            media_type: manifest.media_type().to_string(),
            config_digest: config_ref.digest,
            config,
            raw_config: config_bytes,
            layer_digest: layer.digest.clone(),
            scan,
        })
    }

    /// The release name parsed as a version.
    pub fn version(&self) -> Result<ReleaseVersion, Error> {
        self.name.parse()
    }

    /// The image's creation time.
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.config.created
    }

    /// `os/arch`, or `multi (os/arch)` for an image picked from a manifest list, as `oc` shows.
    pub fn platform(&self) -> String {
        let p = format!(
            "{}/{}",
            or_unknown(&self.config.os),
            or_unknown(&self.config.architecture)
        );
        if self.list_digest.is_some() {
            format!("multi ({p})")
        } else {
            p
        }
    }

    /// The digest users pull by: the manifest list's when there is one.
    pub fn pull_digest(&self) -> &Digest {
        self.list_digest.as_ref().unwrap_or(&self.digest)
    }

    /// The component called `tag`.
    pub fn component(&self, tag: &str) -> Option<&Component> {
        self.components.get(tag)
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

fn unsupported(image: &str, reason: impl Into<String>) -> Error {
    Error::UnsupportedImage {
        image: image.to_string(),
        reason: reason.into(),
    }
}

/// The path below `release-manifests/` of a (cleaned) entry name, or `None` for entries
/// elsewhere.
pub(crate) fn release_path(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(RELEASE_MANIFESTS)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

struct Assembly {
    image: String,
    pull_spec: String,
    digest: Digest,
    list_digest: Option<Digest>,
    list_children: Vec<ListChild>,
    media_type: String,
    config_digest: Digest,
    config: ImageConfig,
    raw_config: bytes::Bytes,
    layer_digest: Digest,
    scan: Scan,
}

fn assemble(a: Assembly) -> Result<Release, Error> {
    let scan = a.scan;
    if !scan.saw_directory {
        return Err(Error::NotARelease {
            image: a.image,
            file: String::new(),
        });
    }
    let refs_data = scan.image_references.ok_or_else(|| Error::NotARelease {
        image: a.image.clone(),
        file: "image-references".to_string(),
    })?;
    let references = ImageReferences::parse_named(
        &refs_data,
        &format!("{RELEASE_MANIFESTS}/image-references of {}", a.image),
    )?;
    let metadata = scan
        .release_metadata
        .map(|data| {
            ReleaseMetadata::parse_named(
                &data,
                &format!("{RELEASE_MANIFESTS}/release-metadata of {}", a.image),
            )
        })
        .transpose()?;

    let mut warnings = Vec::new();
    if scan.depth > 0 {
        warnings.push(format!(
            "{RELEASE_MANIFESTS}/ was read from the top {} layers of the image, down to {}: layers were added above the release layer",
            scan.depth + 1,
            a.layer_digest
        ));
    }
    let mut components = BTreeMap::new();
    for tag in references.tags() {
        let Some(pullspec) = tag.pullspec() else {
            warnings.push(format!("tag {:?} does not point to an image", tag.name));
            continue;
        };
        let image: ImageRef =
            pullspec
                .parse()
                .map_err(|e: okd_oci::Error| Error::InvalidPullspec {
                    tag: tag.name.clone(),
                    pullspec: pullspec.to_string(),
                    reason: e.to_string(),
                })?;
        let Some(digest) = image.digest().cloned() else {
            // `oc` reads such a release too; mirroring it is what fails.
            warnings.push(format!(
                "tag {:?} does not point to a digest: {pullspec}",
                tag.name
            ));
            continue;
        };
        components.insert(
            tag.name.clone(),
            Component {
                name: tag.name.clone(),
                pullspec: pullspec.to_string(),
                image,
                digest,
                annotations: tag.annotations.clone().unwrap_or_default(),
            },
        );
    }

    let (component_versions, component_tags, version_warnings) =
        ComponentVersions::of_release(&references);
    warnings.extend(version_warnings);
    match &metadata {
        None => warnings.push("the release has no release-metadata".to_string()),
        Some(m) => {
            if m.kind != crate::metadata::KIND {
                warnings.push(format!(
                    "release-metadata has kind {:?}, not {:?}",
                    m.kind,
                    crate::metadata::KIND
                ));
            }
            if m.version != references.name() {
                warnings.push(format!(
                    "release-metadata version {:?} differs from the image-references name {:?}",
                    m.version,
                    references.name()
                ));
            }
            if let Err(keys) = m.string_metadata() {
                warnings.push(format!(
                    "release-metadata values that are not strings: {}",
                    keys.join(", ")
                ));
            }
        }
    }
    let name = metadata
        .as_ref()
        .map(|m| m.version.clone())
        .unwrap_or_else(|| references.name().to_string());
    if let Some(label) = a.config.label(annotations::RELEASE)
        && label != name
    {
        warnings.push(format!(
            "the {} label {label:?} differs from the release name {name:?}",
            annotations::RELEASE
        ));
    }
    warnings.sort();
    Ok(Release {
        image: a.image,
        pull_spec: a.pull_spec,
        digest: a.digest,
        list_digest: a.list_digest,
        list_children: a.list_children,
        media_type: a.media_type,
        config_digest: a.config_digest,
        config: a.config,
        raw_config: a.raw_config,
        layer_digest: a.layer_digest,
        name,
        metadata,
        references,
        components,
        manifests: scan.manifests,
        other_files: scan.others,
        component_versions,
        component_tags,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_paths() {
        assert_eq!(release_path("release-manifests"), Some(""));
        assert_eq!(
            release_path(clean_entry_name("./release-manifests/")),
            Some("")
        );
        assert_eq!(
            release_path(clean_entry_name("/release-manifests/a.yaml")),
            Some("a.yaml")
        );
        assert_eq!(release_path("release-manifestsx/a"), None);
        assert_eq!(release_path("manifests/a"), None);
    }
}
