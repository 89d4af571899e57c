//! A multi-architecture payload: the release image as a manifest list (linux/amd64 and
//! linux/arm64/v8), each child the `cluster-version-operator` image of its architecture plus
//! the same `release-manifests/` layer, as `oc adm release new --keep-manifest-list` writes it.
//!
//! The `cluster-version-operator` component becomes a manifest list too (its arm64 image is
//! built on the arm64 base layers with the same own layers), and `image-references` names it by
//! the list digest. Each release child's `io.openshift.release.base-image-digest` label names the
//! `cluster-version-operator` child of its architecture, as `oc` labels it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), testkit::payload::PayloadError> {
//! use okd_oci::{ManifestRef, MemoryStore, Store};
//! use testkit::payload::{PayloadSpec, generate_multi_arch};
//!
//! let store = MemoryStore::new();
//! let multi = generate_multi_arch(&store, &PayloadSpec::new().components(12).layer_size(512)).await?;
//! let top = store
//!     .read_manifest("okd/scos-release", &ManifestRef::Tag(multi.payload.version.clone()))
//!     .await?;
//! assert_eq!(top.digest(), &multi.list_digest);
//! assert_eq!(multi.children.len(), 2);
//! assert_eq!(multi.children[0].release_layer, multi.children[1].release_layer);
//! # Ok(()) }
//! ```

use okd_oci::{Digest, ManifestRef, RawManifest, Store};

use super::build::{self, Ctx};
use super::component::{Component, ImageFormat, PlatformImage};
use super::image::{self, Arch};
use super::release::{self, ReleaseImage};
use super::{Payload, PayloadError, PayloadSpec, generate, names};

/// A payload whose release image is a manifest list. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct MultiArchPayload {
    /// The payload; its `cluster-version-operator` component is the manifest list, its
    /// `release` the linux/amd64 child and its `release_files` those of the list.
    pub payload: Payload,
    /// Digest of the release manifest list (tagged with the version in the release repository).
    pub list_digest: Digest,
    /// Media type of the release manifest list (Docker).
    pub list_media_type: String,
    /// `<registry of the pullspec prefix>/<release repo>@<list digest>`.
    pub list_pullspec: String,
    /// The release images, linux/amd64 then linux/arm64/v8.
    pub children: Vec<ReleaseImage>,
    /// The platform of each child (`linux/amd64`, `linux/arm64/v8`).
    pub platforms: Vec<String>,
}

/// Generates the payload `spec` describes (with multi-arch images on) and then makes its
/// release image, and its `cluster-version-operator` image, manifest lists of amd64 and arm64.
pub async fn generate_multi_arch(
    store: &dyn Store,
    spec: &PayloadSpec,
) -> Result<MultiArchPayload, PayloadError> {
    let spec = spec.clone().multi_arch(true);
    let mut payload = generate(store, &spec).await?;
    let cvo = payload.component(names::CVO).cloned().ok_or_else(|| {
        PayloadError::spec("components", spec.components, "no cluster-version-operator")
    })?;
    let repo = spec.content_repo.clone();
    let ctx = Ctx {
        store,
        spec: &spec,
        version: &spec.version,
        bases: &payload.bases,
    };
    let arm =
        build::build_app_image(&ctx, names::CVO, &cvo.recipe, &cvo.labels, Arch::Arm64).await?;
    let amd_manifest = store
        .read_manifest(&repo, &ManifestRef::Digest(cvo.digest.clone()))
        .await?;
    let list = image::write_index(
        store,
        &repo,
        names::CVO,
        ImageFormat::Docker,
        &[(Arch::Amd64, &amd_manifest), (Arch::Arm64, &arm.manifest)],
    )
    .await?;
    build::tag(&ctx, names::CVO, &list).await?;

    let children_of_cvo = [
        platform_image(Arch::Amd64, &amd_manifest, &cvo),
        PlatformImage {
            os: "linux".to_string(),
            architecture: Arch::Arm64.name().to_string(),
            variant: Arch::Arm64.variant().map(str::to_string),
            digest: arm.manifest.digest().clone(),
            media_type: arm.manifest.media_type().to_string(),
            size: arm.manifest.size(),
            config: arm.config.clone(),
            layers: arm.layers.clone(),
        },
    ];
    let cvo_list = Component {
        digest: list.digest().clone(),
        media_type: list.media_type().to_string(),
        size: list.size(),
        pullspec: format!("{}@{}", spec.pullspec_prefix, list.digest()),
        platforms: children_of_cvo.to_vec(),
        ..cvo.clone()
    };
    let mut components = payload.components.clone();
    for c in &mut components {
        if c.name == names::CVO {
            *c = cvo_list.clone();
        }
    }
    let created = image::rfc3339(spec.created);
    let refs: Vec<&Component> = components.iter().collect();
    let files = release::release_files(&spec, &created, &refs)?;

    let mut children = Vec::new();
    let mut child_manifests: Vec<(Arch, RawManifest)> = Vec::new();
    for (arch, child) in [Arch::Amd64, Arch::Arm64].into_iter().zip(&children_of_cvo) {
        // The base of each release child is the cluster-version-operator child of its
        // architecture; image-references still names the list.
        let base = Component {
            digest: child.digest.clone(),
            config: child.config.clone(),
            layers: child.layers.clone(),
            ..cvo.clone()
        };
        let with_base: Vec<&Component> = components
            .iter()
            .map(|c| if c.name == names::CVO { &base } else { c })
            .collect();
        let image = release::build_release(store, &spec, &with_base, &files, spec.created).await?;
        let manifest = store
            .read_manifest(
                &spec.release_repo,
                &ManifestRef::Digest(image.digest.clone()),
            )
            .await?;
        child_manifests.push((arch, manifest));
        children.push(image);
    }
    let pairs: Vec<(Arch, &RawManifest)> = child_manifests.iter().map(|(a, m)| (*a, m)).collect();
    let release_list = image::write_index(
        store,
        &spec.release_repo,
        "release",
        ImageFormat::Docker,
        &pairs,
    )
    .await?;
    store
        .write_manifest(&spec.release_repo, &release_list, Some(&spec.version))
        .await?;

    payload.components = components;
    payload.release_files = files;
    payload.release = children[0].clone();
    let host = spec.registry_host().unwrap_or_default();
    Ok(MultiArchPayload {
        list_pullspec: format!("{host}/{}@{}", spec.release_repo, release_list.digest()),
        list_digest: release_list.digest().clone(),
        list_media_type: release_list.media_type().to_string(),
        platforms: [Arch::Amd64, Arch::Arm64]
            .iter()
            .map(|a| match a.variant() {
                Some(v) => format!("linux/{}/{v}", a.name()),
                None => format!("linux/{}", a.name()),
            })
            .collect(),
        children,
        payload,
    })
}

fn platform_image(arch: Arch, manifest: &RawManifest, c: &Component) -> PlatformImage {
    PlatformImage {
        os: "linux".to_string(),
        architecture: arch.name().to_string(),
        variant: arch.variant().map(str::to_string),
        digest: manifest.digest().clone(),
        media_type: manifest.media_type().to_string(),
        size: manifest.size(),
        config: c.config.clone(),
        layers: c.layers.clone(),
    }
}
