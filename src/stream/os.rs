//! The operating system of a stream: which CoreOS variant its payloads carry and how the OS
//! image is layered.
//!
//! An [`OsLayering`] takes a base OS image — by default the upstream payload's own OS image (the
//! variant's payload tag, `stream-coreos` for SCOS) — appends layers from any
//! [`LayerSource`], sets labels, and writes the result into the stream's store, tagged with the
//! candidate's version. The payload's OS tags then point at it ([`okd_coreos::overrides`]); when
//! the variant differs from the upstream's, the upstream's OS tags are dropped.
//!
//! ```
//! use okd_coreos::Variant;
//! use okd_coreos::layer_source::FileListSource;
//! use okd_streams::stream::OsLayering;
//!
//! let os = OsLayering::new(Variant::Scos)
//!     .layer(FileListSource::new().bytes("etc/okd-demo", b"layered\n".to_vec(), 0o644))
//!     .label("io.okd-demo.layered", "true");
//! assert_eq!(os.variant().payload_tags().os, "stream-coreos");
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use okd_coreos::Variant;
use okd_coreos::containerfile::ContainerfileBuild;
use okd_coreos::layer_source::{LayerContext, LayerSource};
use okd_coreos::machine_config::{DEFAULT_POOL, MachineConfig};
use okd_coreos::tree_cache::TreeCache;
use okd_oci::ImageRef;
use okd_oci::append::NewLayer;

/// Where the base OS image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OsBase {
    /// The upstream payload's image for the variant's OS tag.
    #[default]
    Upstream,
    /// This image.
    Image(ImageRef),
}

/// How the OS image of a stream's payloads is made. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct OsLayering {
    variant: Variant,
    base: OsBase,
    layers: Vec<SharedLayer>,
    labels: BTreeMap<String, String>,
    machine_os: Option<String>,
    canonical_modes: bool,
    cache: Arc<TreeCache>,
    containerfile: Option<ContainerfileBuild>,
    enables: Vec<(String, String)>,
    removals: Vec<String>,
    machine_config: MachineConfig,
    machine_config_in_payload: bool,
}

impl OsLayering {
    /// The upstream OS image of `variant`, unchanged until layers or labels are added.
    pub fn new(variant: Variant) -> OsLayering {
        OsLayering {
            variant,
            base: OsBase::Upstream,
            layers: Vec::new(),
            labels: BTreeMap::new(),
            machine_os: None,
            canonical_modes: false,
            cache: Arc::new(TreeCache::new()),
            containerfile: None,
            enables: Vec::new(),
            removals: Vec::new(),
            machine_config: MachineConfig::new(DEFAULT_POOL),
            machine_config_in_payload: false,
        }
    }

    /// Enables `unit` for `target` in the layered image (see
    /// [`LayeredImage::enable`](okd_coreos::layering::LayeredImage::enable)).
    pub fn enable(mut self, unit: &str, target: &str) -> OsLayering {
        self.enables.push((unit.to_string(), target.to_string()));
        self
    }

    /// Removes a path of the base with a whiteout (see
    /// [`LayeredImage::remove`](okd_coreos::layering::LayeredImage::remove)).
    pub fn remove(mut self, path: &str) -> OsLayering {
        self.removals.push(path.to_string());
        self
    }

    /// The units enabled, as `(unit, target)`, and the paths removed.
    pub fn units_and_removals(&self) -> (&[(String, String)], &[String]) {
        (&self.enables, &self.removals)
    }

    /// Adds a kernel argument for running nodes: each release of the stream gets a
    /// MachineConfig with it, written next to the release.
    pub fn kernel_argument(mut self, arg: &str) -> OsLayering {
        self.machine_config = self.machine_config.kernel_argument(arg);
        self
    }

    /// Adds a systemd unit for running nodes to the MachineConfig.
    pub fn node_unit(
        mut self,
        name: &str,
        enabled: Option<bool>,
        contents: Option<String>,
    ) -> Self {
        self.machine_config = self.machine_config.unit(name, enabled, contents);
        self
    }

    /// The MachineConfig pool (default `worker`).
    pub fn pool(mut self, pool: &str) -> OsLayering {
        self.machine_config = self.machine_config.in_pool(pool);
        self
    }

    /// Also puts the MachineConfig into each payload's `release-manifests/`, so that the
    /// cluster-version-operator applies it.
    pub fn machine_config_in_payload(mut self) -> OsLayering {
        self.machine_config_in_payload = true;
        self
    }

    /// The MachineConfig, when kernel arguments or node units are set, and whether it goes into
    /// the payload too.
    pub fn machine_config(&self) -> Option<(&MachineConfig, bool)> {
        (!self.machine_config.is_empty())
            .then_some((&self.machine_config, self.machine_config_in_payload))
    }

    /// Builds `build` (RPMs, `RUN` steps) on the base first; layers and labels then go on top
    /// of its result.
    pub fn containerfile(mut self, build: ContainerfileBuild) -> OsLayering {
        self.containerfile = Some(build);
        self
    }

    /// The Containerfile build, if any.
    pub fn containerfile_build(&self) -> Option<&ContainerfileBuild> {
        self.containerfile.as_ref()
    }

    /// True when layers, labels or a `machine-os` version are added (on the base or on the
    /// Containerfile's result).
    pub fn adds_layers_or_labels(&self) -> bool {
        !(self.layers.is_empty()
            && self.labels.is_empty()
            && self.machine_os.is_none()
            && self.enables.is_empty()
            && self.removals.is_empty())
    }

    /// Makes the modes of added entries canonical (see
    /// [`LayeredImage::canonical_modes`](okd_coreos::layering::LayeredImage::canonical_modes)).
    pub fn canonical_modes(mut self) -> OsLayering {
        self.canonical_modes = true;
        self
    }

    /// True when modes are made canonical.
    pub fn has_canonical_modes(&self) -> bool {
        self.canonical_modes
    }

    /// The listings of base layers, kept between rounds so that a base is read once.
    pub fn tree_cache(&self) -> Arc<TreeCache> {
        self.cache.clone()
    }

    /// Layers on `image` instead of the upstream payload's OS image.
    pub fn base(mut self, image: ImageRef) -> OsLayering {
        self.base = OsBase::Image(image);
        self
    }

    /// Adds a layer on top (in order).
    pub fn layer(mut self, source: impl LayerSource + 'static) -> OsLayering {
        self.layers.push(SharedLayer(Arc::new(source)));
        self
    }

    /// Sets a label on the layered image.
    pub fn label(mut self, key: &str, value: &str) -> OsLayering {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// Sets the `machine-os` version the layered image shows.
    pub fn machine_os(mut self, version: &str) -> OsLayering {
        self.machine_os = Some(version.to_string());
        self
    }

    /// The variant.
    pub fn variant(&self) -> &Variant {
        &self.variant
    }

    /// The base.
    pub fn base_image(&self) -> &OsBase {
        &self.base
    }

    /// The layer sources, in order.
    pub fn layers(&self) -> &[SharedLayer] {
        &self.layers
    }

    /// The labels set.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The `machine-os` version set, if any.
    pub fn machine_os_version(&self) -> Option<&str> {
        self.machine_os.as_deref()
    }

    /// True when the OS image is used as the base has it (no Containerfile, layer or label).
    pub fn is_plain(&self) -> bool {
        self.containerfile.is_none() && !self.adds_layers_or_labels()
    }
}

/// A layer source shared between ticks.
#[derive(Debug, Clone)]
pub struct SharedLayer(pub Arc<dyn LayerSource>);

#[async_trait]
impl LayerSource for SharedLayer {
    fn describe(&self) -> String {
        self.0.describe()
    }

    async fn build(&self, ctx: &LayerContext) -> Result<NewLayer, okd_coreos::Error> {
        self.0.build(ctx).await
    }

    fn is_prebuilt(&self) -> bool {
        self.0.is_prebuilt()
    }

    fn uses_owner_names(&self) -> bool {
        self.0.uses_owner_names()
    }
}
