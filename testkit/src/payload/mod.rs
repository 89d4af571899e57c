//! Synthetic OKD release payloads, generated into any [`Store`].
//!
//! [`generate`] writes a realistic OKD/SCOS payload: by default 190 component images in one
//! content repository (the first ones named after real OKD components such as
//! `machine-config-operator`, `hyperkube` or `stream-coreos`, the rest `component-NNN`), about a
//! third of them operators with a top-layer `manifests/` directory, the ostree-chunked OS image
//! with its `machine-os` labels, one multi-arch manifest list, a mix of Docker schema 2 and OCI
//! manifests, and the release image (the `cluster-version-operator` image plus a
//! `release-manifests/` layer holding `image-references`, `release-metadata` and the operators'
//! renamed and substituted manifests, as `oc adm release new` writes them).
//!
//! Everything is derived from the [`PayloadSpec`]'s seed: the same spec gives the same digests.
//! [`Payload::next`] then makes the following release with exactly the requested rebuilt,
//! changed, added and removed components, so diff, mirror and gating tests can check exact sets.
//!
//! Layers hold incompressible seeded data produced while the tar is written, and large layers
//! are streamed through a temporary file, so payloads with gigabytes of blobs can be generated
//! in bounded memory.
//!
//! [`generate_multi_arch`] makes the release image itself a manifest list (amd64 and arm64), as
//! multi-architecture OKD releases are.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), testkit::payload::PayloadError> {
//! use okd_oci::{ManifestRef, MemoryStore, Store};
//! use testkit::payload::{NextSpec, PayloadSpec, generate};
//!
//! let store = MemoryStore::new();
//! let spec = PayloadSpec::new().components(12).layer_size(1024);
//! let payload = generate(&store, &spec).await?;
//! let tag = ManifestRef::Tag(payload.version.clone());
//! assert_eq!(
//!     store.manifest_digest("okd/scos-release", &tag).await?,
//!     Some(payload.release.digest.clone())
//! );
//! assert!(payload.component("stream-coreos").is_some());
//!
//! let (next, changes) = payload
//!     .next(&store, &NextSpec { changed: 2, added: 1, version: "4.19.0-okd-scos.2".into(), ..NextSpec::default() })
//!     .await?;
//! assert_eq!(changes.changed.len(), 2);
//! assert_eq!(next.previous, ["4.19.0-okd-scos.1"]);
//! # Ok(()) }
//! ```

mod build;
mod component;
mod error;
mod image;
mod layer;
mod multi_arch;
mod names;
mod next;
mod operator;
mod os;
mod plan;
mod release;
mod spec;
mod substitute;

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use okd_oci::layer::LayerInfo;
use okd_oci::{Digest, Store};

pub use component::{
    Component, ComponentKind, ConfigBlob, ImageFormat, ManifestFile, PlatformImage,
};
pub use error::PayloadError;
pub use multi_arch::{MultiArchPayload, generate_multi_arch};
pub use next::{NextSpec, PayloadChanges};
pub use release::{ReleaseFile, ReleaseImage};
pub use spec::PayloadSpec;

use build::{Base, Ctx};
use image::Arch;

/// A generated payload: the release image and every component, as written to the store.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Release name (`4.19.0-okd-scos.1`).
    pub version: String,
    /// `release-metadata` `previous`, sorted.
    pub previous: Vec<String>,
    /// `release-metadata` `metadata`.
    pub metadata: BTreeMap<String, String>,
    /// Release creation time (RFC 3339), also `image-references` `creationTimestamp`.
    pub created: String,
    /// Public pullspec prefix of the components.
    pub pullspec_prefix: String,
    /// Store repository holding every component, tagged `<name>` and `<version>-<name>`.
    pub content_repo: String,
    /// The release image.
    pub release: ReleaseImage,
    /// The components, sorted by name.
    pub components: Vec<Component>,
    /// The base layers shared by the amd64 component images.
    pub base_layers: Vec<LayerInfo>,
    /// The files of `release-manifests/`, in layer order.
    pub release_files: Vec<ReleaseFile>,
    /// Bytes of distinct blobs (layers and configs) the release and its components reference.
    pub unique_blob_bytes: u64,
    pub(crate) spec: PayloadSpec,
    pub(crate) bases: Vec<Base>,
}

impl Payload {
    /// The component tagged `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.components[i])
    }

    /// The operator components, sorted by name.
    pub fn operators(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| c.is_operator)
    }

    /// Names of the operator components, sorted.
    pub fn operator_names(&self) -> Vec<&str> {
        self.operators().map(|c| c.name.as_str()).collect()
    }

    /// Names of all components, sorted.
    pub fn component_names(&self) -> Vec<&str> {
        self.components.iter().map(|c| c.name.as_str()).collect()
    }

    /// A file of `release-manifests/`.
    pub fn release_file(&self, name: &str) -> Option<&ReleaseFile> {
        self.release_files.iter().find(|f| f.name == name)
    }

    /// The release image digest.
    pub fn release_digest(&self) -> &Digest {
        &self.release.digest
    }

    /// The release image's public pullspec by digest.
    pub fn release_pullspec(&self) -> &str {
        &self.release.pullspec
    }

    /// The `machine-os` version of the OS image, when the payload has one.
    pub fn os_version(&self) -> Option<&str> {
        self.component(names::OS)
            .and_then(|c| c.versions().get("machine-os"))
            .map(String::as_str)
    }

    /// The spec this payload was generated from (for [`Payload::next`], with the new version).
    pub fn spec(&self) -> &PayloadSpec {
        &self.spec
    }
}

/// Generates the payload `spec` describes into `store`: components into the content
/// repository, the release image into the release repository tagged with the version.
pub async fn generate(store: &dyn Store, spec: &PayloadSpec) -> Result<Payload, PayloadError> {
    spec.validate()?;
    let plans = plan::plan(spec);
    let mut bases = vec![build::build_base(store, spec, Arch::Amd64).await?];
    if plans.iter().any(|(_, r)| r.multi_arch) {
        bases.push(build::build_base(store, spec, Arch::Arm64).await?);
    }
    let ctx = Ctx {
        store,
        spec,
        version: &spec.version,
        bases: &bases,
    };
    let components: Vec<Component> = futures::stream::iter(
        plans
            .iter()
            .map(|(name, recipe)| build::build_component(&ctx, name, recipe)),
    )
    .buffer_unordered(spec.concurrency)
    .try_collect()
    .await?;
    assemble(store, spec.clone(), bases, components).await
}

/// Writes the release image of `components` and describes the whole payload.
async fn assemble(
    store: &dyn Store,
    spec: PayloadSpec,
    bases: Vec<Base>,
    mut components: Vec<Component>,
) -> Result<Payload, PayloadError> {
    components.sort_by(|a, b| a.name.cmp(&b.name));
    let refs: Vec<&Component> = components.iter().collect();
    let created = image::rfc3339(spec.created);
    let release_files = release::release_files(&spec, &created, &refs)?;
    let release = release::build_release(store, &spec, &refs, &release_files, spec.created).await?;
    let mut blobs: HashMap<Digest, u64> = components.iter().flat_map(Component::blobs).collect();
    blobs.insert(release.config.digest.clone(), release.config.size);
    blobs.insert(
        release.release_layer.digest.clone(),
        release.release_layer.size,
    );
    let mut previous = spec.previous.clone();
    previous.sort_unstable();
    previous.dedup();
    Ok(Payload {
        version: spec.version.clone(),
        previous,
        metadata: spec.metadata_or_default(),
        created,
        pullspec_prefix: spec.pullspec_prefix.clone(),
        content_repo: spec.content_repo.clone(),
        release,
        base_layers: bases
            .iter()
            .find(|b| b.arch == Arch::Amd64)
            .map(|b| b.layers.clone())
            .unwrap_or_default(),
        components,
        release_files,
        unique_blob_bytes: blobs.values().sum(),
        spec,
        bases,
    })
}
