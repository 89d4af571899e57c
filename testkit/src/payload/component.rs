//! What a generated component image is: [`Component`] and the types it is made of.

use std::collections::BTreeMap;

use okd_oci::Digest;
use okd_oci::layer::LayerInfo;

use super::plan::Recipe;

/// The kind of a component image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    /// An ordinary image.
    Image,
    /// An operator image: label `io.openshift.release.operator=true` and a top layer holding
    /// `manifests/` (YAML manifests and the operator's own `image-references`).
    Operator,
    /// The OS image (`stream-coreos`): an ostree-chunked bootable container.
    Os,
    /// The OS extensions image (`stream-coreos-extensions`).
    OsExtensions,
}

/// The manifest format family of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// Docker image manifest v2 schema 2 (manifest list for multi-arch).
    Docker,
    /// OCI image manifest (index for multi-arch).
    Oci,
}

/// The config blob of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigBlob {
    /// Digest of the config JSON.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// One platform image of a multi-arch component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformImage {
    /// `linux`.
    pub os: String,
    /// `amd64` or `arm64`.
    pub architecture: String,
    /// `v8` for arm64.
    pub variant: Option<String>,
    /// Digest of the platform manifest.
    pub digest: Digest,
    /// Media type of the platform manifest.
    pub media_type: String,
    /// Size of the platform manifest.
    pub size: u64,
    /// The config blob.
    pub config: ConfigBlob,
    /// The layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

/// A file of an operator's `manifests/` directory, as the operator image carries it (with
/// placeholders, before `oc adm release new` substitutes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// File name inside `manifests/`.
    pub name: String,
    /// Contents.
    pub content: String,
}

/// A component image of a payload: one `image-references` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Tag name in `image-references` (`machine-config-operator`, `component-061`).
    pub name: String,
    /// Kind of image.
    pub kind: ComponentKind,
    /// True for operator images (kind [`ComponentKind::Operator`]).
    pub is_operator: bool,
    /// Format family.
    pub format: ImageFormat,
    /// Digest `image-references` points at: the manifest, or the manifest list/index of a
    /// multi-arch component.
    pub digest: Digest,
    /// Media type of that manifest or list.
    pub media_type: String,
    /// Size of that manifest or list.
    pub size: u64,
    /// `<pullspec prefix>@<digest>`, as in `image-references`.
    pub pullspec: String,
    /// `io.openshift.build.commit.id`.
    pub commit: String,
    /// `io.openshift.build.commit.ref`.
    pub commit_ref: String,
    /// `io.openshift.build.source-location` (`https://github.com/openshift/<repo>`).
    pub source_location: String,
    /// Build time (RFC 3339), the config's `created`.
    pub created: String,
    /// Config labels (of the amd64 image for a multi-arch component).
    pub labels: BTreeMap<String, String>,
    /// The config blob (of the amd64 image for a multi-arch component).
    pub config: ConfigBlob,
    /// Layers, bottom first (of the amd64 image for a multi-arch component).
    pub layers: Vec<LayerInfo>,
    /// The platform images of a multi-arch component; empty otherwise.
    pub platforms: Vec<PlatformImage>,
    /// For operators, the files of the top layer's `manifests/` except `image-references`,
    /// in file name order.
    pub manifests: Vec<ManifestFile>,
    /// For operators, the operator's own `manifests/image-references` (YAML ImageStream).
    pub image_references: Option<String>,
    /// For operators, the tags that file names, itself first.
    pub references: Vec<String>,
    pub(crate) recipe: Recipe,
}

impl Component {
    /// The component versions this image declares (`io.openshift.build.versions`), e.g.
    /// `machine-os` or `kubernetes`.
    pub fn versions(&self) -> &BTreeMap<String, String> {
        &self.recipe.versions
    }

    /// True for a multi-arch component stored as a manifest list or index.
    pub fn is_multi_arch(&self) -> bool {
        !self.platforms.is_empty()
    }

    /// Every blob (configs and layers, of every platform) with its size.
    pub fn blobs(&self) -> Vec<(Digest, u64)> {
        let mut out = Vec::new();
        if self.platforms.is_empty() {
            out.push((self.config.digest.clone(), self.config.size));
            out.extend(self.layers.iter().map(|l| (l.digest.clone(), l.size)));
        } else {
            for p in &self.platforms {
                out.push((p.config.digest.clone(), p.config.size));
                out.extend(p.layers.iter().map(|l| (l.digest.clone(), l.size)));
            }
        }
        out
    }
}
