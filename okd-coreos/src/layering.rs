//! Layering: derive an OS image from a base OS image, the way OKD's node images are made
//! (`FROM quay.io/fedora/fedora-coreos:stable`, add files and packages, label the result).
//!
//! A [`LayeredImage`] takes a base OS image from any store, appends layers from
//! [`LayerSource`]s (a directory, a file list, a prebuilt tarball, or your own), sets the labels
//! a release shows the OS by (`io.openshift.build.versions` `machine-os=…`,
//! `io.openshift.build.version-display-names`, `org.opencontainers.image.version`), keeps the
//! base's `ostree.*` and `containers.bootc` labels and its manifest annotations, adds one
//! history entry per layer and writes
//! the new image through [`okd_oci::append`]. The base layers are never copied or rewritten:
//! nothing moves in the same repository, they are mounted within the same store, and only what
//! the destination lacks is streamed to another store.
//!
//! The image's `created` time defaults to the base's, so the same base and the same inputs
//! always give the same digest.
//!
//! ```
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_coreos::Error> {
//! use okd_coreos::Variant;
//! use okd_coreos::layer_source::{DirSource, FileListSource};
//! use okd_coreos::layering::LayeredImage;
//! use okd_oci::ManifestRef;
//!
//! let out = LayeredImage::new(store, "fedora/fedora-coreos", &ManifestRef::Tag("stable".into()))
//!     .layer(DirSource::new("overlay.d/99okd"))
//!     .layer(FileListSource::new().bytes("etc/okd-release", b"4.15\n".to_vec(), 0o644))
//!     .machine_os("415.39.0")
//!     .display_name_of(&Variant::Fcos)
//!     .label("io.openshift.release.operator", "true")
//!     .write_to(store, "okd/fedora-coreos", Some("4.15"))
//!     .await?;
//! println!("{}", out.manifest.digest());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use okd_oci::append::Append;
use okd_oci::layer::{Compression, LayerInfo};
use okd_oci::{ManifestRef, RawManifest, Store};

use crate::changes::{CHANGES_CREATED_BY, Enable, whiteout_for, write_changes};
use crate::file_tree::FileTree;
use crate::inspect::{LayerRole, OsImageInfo, inspect};
use crate::labels::{self, ComponentList};
use crate::layer_source::{LayerContext, LayerSource};
use crate::lint::{Finding, LintReport, Severity, lint_layer_with_removals, prebuilt_owners};
use crate::machine_config::{DEFAULT_POOL, MachineConfig};
use crate::owners::Accounts;
use crate::placement::{Moved, place};
use crate::tree_cache::{TreeCache, image_tree};
use crate::{Architecture, Error, Variant};

/// The history entry of layers whose source gives none.
const DEFAULT_CREATED_BY: &str = "okd-streams layering";

/// What [`LayeredImage::write_to`] wrote.
#[derive(Debug, Clone)]
pub struct LayeredOutput {
    /// The new image's manifest.
    pub manifest: RawManifest,
    /// The base image, as inspected.
    pub base: OsImageInfo,
    /// The added layers, in order.
    pub layers: Vec<LayerInfo>,
    /// The labels set or removed on top of the base's (`None` = removed).
    pub labels: BTreeMap<String, Option<String>>,
    /// The lint's warnings on the added layers (errors refuse the build).
    pub lint: LintReport,
    /// Entries placed elsewhere than their source said (through the base's links).
    pub moved: Vec<Moved>,
    /// The MachineConfig of the kernel arguments and node units asked for, if any (to write
    /// next to the release, see [`MachineConfig::write_to_dir`]).
    pub machine_config: Option<MachineConfig>,
}

/// Builds a derived OS image. See the [module docs](self).
pub struct LayeredImage<'a> {
    store: &'a dyn Store,
    repo: String,
    reference: ManifestRef,
    arch: Option<Architecture>,
    sources: Vec<Box<dyn LayerSource + 'a>>,
    machine_os: Option<String>,
    display_name: Option<String>,
    oci_version: bool,
    labels: BTreeMap<String, Option<String>>,
    history: Option<String>,
    created: Option<DateTime<Utc>>,
    force: bool,
    temp_dir: Option<PathBuf>,
    mtime: u64,
    compression: Compression,
    canonical_modes: bool,
    cache: Option<Arc<TreeCache>>,
    bootc_labels: bool,
    enables: Vec<(String, String)>,
    removals: Vec<String>,
    machine_config: MachineConfig,
}

impl fmt::Debug for LayeredImage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayeredImage")
            .field(
                "base",
                &format!("{}/{}{}", self.store.location(), self.repo, self.reference),
            )
            .field("arch", &self.arch)
            .field("sources", &self.sources)
            .field("machine_os", &self.machine_os)
            .field("display_name", &self.display_name)
            .field("labels", &self.labels)
            .field("created", &self.created)
            .field("force", &self.force)
            .finish()
    }
}

impl<'a> LayeredImage<'a> {
    /// Starts from the base image `reference` in `repo` of `store`.
    pub fn new(store: &'a dyn Store, repo: &str, reference: &ManifestRef) -> LayeredImage<'a> {
        LayeredImage {
            store,
            repo: repo.to_string(),
            reference: reference.clone(),
            arch: None,
            sources: Vec::new(),
            machine_os: None,
            display_name: None,
            oci_version: true,
            labels: BTreeMap::new(),
            history: None,
            created: None,
            force: false,
            temp_dir: None,
            mtime: 0,
            compression: Compression::Gzip,
            canonical_modes: false,
            cache: None,
            bootc_labels: false,
            enables: Vec::new(),
            removals: Vec::new(),
            machine_config: MachineConfig::new(DEFAULT_POOL),
        }
    }

    /// Enables `unit` for `target` in the image: writes the link
    /// `usr/lib/systemd/system/<target>.wants/<unit>` to the unit file the added layers or the
    /// base have (a unit found in neither is refused). See [`crate::changes`].
    pub fn enable(mut self, unit: &str, target: &str) -> LayeredImage<'a> {
        self.enables.push((unit.to_string(), target.to_string()));
        self
    }

    /// Removes `path` of the image below (the base and the added layers) with an OCI
    /// whiteout; a path it does not have is refused, and a path of a base chunk that names
    /// RPM packages is warned about (`rpm-owned`). See [`crate::changes`].
    pub fn remove(mut self, path: &str) -> LayeredImage<'a> {
        self.removals.push(path.to_string());
        self
    }

    /// Adds a kernel argument for the nodes of the pool, emitted as a MachineConfig
    /// (`spec.kernelArguments`): the machine-config-operator ignores an image's `kargs.d`.
    pub fn kernel_argument(mut self, arg: &str) -> LayeredImage<'a> {
        self.machine_config = self.machine_config.kernel_argument(arg);
        self
    }

    /// Adds a systemd unit that must reach running nodes, emitted as a MachineConfig
    /// (`spec.config.systemd.units`).
    pub fn node_unit(
        mut self,
        name: &str,
        enabled: Option<bool>,
        contents: Option<String>,
    ) -> LayeredImage<'a> {
        self.machine_config = self.machine_config.unit(name, enabled, contents);
        self
    }

    /// The MachineConfig pool the kernel arguments and node units are for (default `worker`).
    pub fn pool(mut self, pool: &str) -> LayeredImage<'a> {
        self.machine_config = self.machine_config.in_pool(pool);
        self
    }

    /// On a base that has `ostree.bootable` only, adds `containers.bootc=1` and, from the one
    /// kernel under `/usr/lib/modules`, `ostree.linux`, so that bootc and the
    /// machine-config-operator see the image as a bootable container.
    pub fn add_bootc_labels(mut self) -> LayeredImage<'a> {
        self.bootc_labels = true;
        self
    }

    /// Sets `io.openshift.os.streamclass` (`rhel-9`, `centos-10`), which the
    /// machine-config-operator reads from OS and extensions images.
    pub fn stream_class(self, class: &str) -> LayeredImage<'a> {
        self.label(labels::OS_STREAMCLASS, class)
    }

    /// Makes the modes of added entries canonical (0644, or 0755 when the owner may execute;
    /// directories 0755), so that the same checkout gives the same digest under any umask.
    pub fn canonical_modes(mut self) -> LayeredImage<'a> {
        self.canonical_modes = true;
        self
    }

    /// Where the listings of base layers are cached (default: a cache for this build only).
    pub fn tree_cache(mut self, cache: Arc<TreeCache>) -> LayeredImage<'a> {
        self.cache = Some(cache);
        self
    }

    /// Picks the image of `arch` when the base is a multi-architecture index.
    pub fn architecture(mut self, arch: Architecture) -> LayeredImage<'a> {
        self.arch = Some(arch);
        self
    }

    /// Adds a layer on top, built from `source` (layers stack in the order they are added).
    pub fn layer(mut self, source: impl LayerSource + 'a) -> LayeredImage<'a> {
        self.sources.push(Box::new(source));
        self
    }

    /// Adds a layer from a boxed source.
    pub fn boxed_layer(mut self, source: Box<dyn LayerSource + 'a>) -> LayeredImage<'a> {
        self.sources.push(source);
        self
    }

    /// Sets the `machine-os` version the image shows in a release, and (unless
    /// [`Self::keep_oci_version`]) `org.opencontainers.image.version`.
    pub fn machine_os(mut self, version: &str) -> LayeredImage<'a> {
        self.machine_os = Some(version.to_string());
        self
    }

    /// Sets the `machine-os` display name (`Fedora CoreOS`).
    pub fn display_name(mut self, name: &str) -> LayeredImage<'a> {
        self.display_name = Some(name.to_string());
        self
    }

    /// Sets the `machine-os` display name to the variant's.
    pub fn display_name_of(self, variant: &Variant) -> LayeredImage<'a> {
        let name = variant.display_name().to_string();
        self.display_name(&name)
    }

    /// Leaves `org.opencontainers.image.version` as the base has it (bootc shows it as the
    /// booted version).
    pub fn keep_oci_version(mut self) -> LayeredImage<'a> {
        self.oci_version = false;
        self
    }

    /// Sets a label. The base's `ostree.*` and `containers.bootc` labels cannot be changed.
    pub fn label(mut self, key: &str, value: &str) -> LayeredImage<'a> {
        self.labels.insert(key.to_string(), Some(value.to_string()));
        self
    }

    /// Removes a label the base has.
    pub fn remove_label(mut self, key: &str) -> LayeredImage<'a> {
        self.labels.insert(key.to_string(), None);
        self
    }

    /// The history `created_by` of layers whose source gives none.
    pub fn history(mut self, created_by: &str) -> LayeredImage<'a> {
        self.history = Some(created_by.to_string());
        self
    }

    /// The image's creation time (default: the base's).
    pub fn created(mut self, created: DateTime<Utc>) -> LayeredImage<'a> {
        self.created = Some(created);
        self
    }

    /// Accepts a base that is not an OS image (no `ostree.bootable`/`containers.bootc` label).
    pub fn force_non_os_base(mut self) -> LayeredImage<'a> {
        self.force = true;
        self
    }

    /// Where layer files are built (default: the system temp directory).
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> LayeredImage<'a> {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Modification time of every entry of built layers (default: the epoch).
    pub fn mtime(mut self, mtime: u64) -> LayeredImage<'a> {
        self.mtime = mtime;
        self
    }

    /// Compression of built layers (default gzip).
    pub fn compression(mut self, compression: Compression) -> LayeredImage<'a> {
        self.compression = compression;
        self
    }

    fn what(&self) -> String {
        format!("{}/{}{}", self.store.location(), self.repo, self.reference)
    }

    /// The label changes to apply on top of `base`'s labels.
    pub fn plan_labels(
        &self,
        base: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Option<String>>, Error> {
        let invalid = |reason: String| Error::InvalidLayering {
            image: self.what(),
            reason,
        };
        let mut out = BTreeMap::new();
        for (key, value) in &self.labels {
            if labels::is_base_os_label(key) {
                return Err(invalid(format!(
                    "label {key} belongs to the base OS commit and is kept as the base has it"
                )));
            }
            if key.is_empty() {
                return Err(invalid("empty label key".to_string()));
            }
            out.insert(key.clone(), value.clone());
        }
        let edit_list = |label: &str, value: &str, out: &mut BTreeMap<_, _>| {
            if value.trim().is_empty() || value.contains(',') || value.contains('=') {
                return Err(invalid(format!(
                    "{label}: machine-os value {value:?} must be non-empty and contain no ',' or '='"
                )));
            }
            let current = out
                .get(label)
                .cloned()
                .flatten()
                .or_else(|| base.get(label).cloned());
            let mut list = match current {
                Some(v) => ComponentList::parse_label(label, &v)?,
                None => ComponentList::new(),
            };
            list.set(labels::MACHINE_OS, value);
            out.insert(label.to_string(), Some(list.to_string()));
            Ok(())
        };
        if let Some(v) = &self.machine_os {
            edit_list(labels::BUILD_VERSIONS, v, &mut out)?;
            if self.oci_version {
                out.insert(labels::OCI_IMAGE_VERSION.to_string(), Some(v.clone()));
            }
        }
        if let Some(d) = &self.display_name {
            edit_list(labels::BUILD_VERSION_DISPLAY_NAMES, d, &mut out)?;
        }
        // A release builder refuses component versions that are not semantic versions, so an
        // image that would break `oc adm release new` is refused here, before anything is built.
        let effective = |label: &str| match out.get(label) {
            Some(v) => v.clone().unwrap_or_default(),
            None => base.get(label).cloned().unwrap_or_default(),
        };
        if self.machine_os.is_some() || self.display_name.is_some() {
            okd_release::ComponentVersions::parse(
                &effective(labels::BUILD_VERSIONS),
                &effective(labels::BUILD_VERSION_DISPLAY_NAMES),
            )
            .map_err(|e| {
                let hint = if self
                    .machine_os
                    .as_deref()
                    .and_then(|v| v.parse::<crate::OsVersion>().ok())
                    .is_some_and(|v| v.to_component_version().to_string() != v.to_string())
                {
                    " (list an FCOS version without its iteration: see OsVersion::to_component_version)"
                } else {
                    ""
                };
                invalid(format!("release tooling would refuse the labels: {e}{hint}"))
            })?;
        }
        Ok(out)
    }

    /// Builds the layers and writes the new image to `repo` of `dest` (which may be the base's
    /// store and repository), tagging it when `tag` is given.
    ///
    /// Nothing is written when the base is not an OS image (unless forced), when a label change
    /// is refused, or when a layer source fails; the manifest is written last, so a failure
    /// part way leaves no new image visible.
    pub async fn write_to(
        &self,
        dest: &dyn Store,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<LayeredOutput, Error> {
        let base = inspect(self.store, &self.repo, &self.reference, self.arch).await?;
        if !self.force {
            base.require_os_image()?;
        }
        if self.sources.is_empty()
            && self.labels.is_empty()
            && self.machine_os.is_none()
            && self.display_name.is_none()
            && !self.bootc_labels
            && self.enables.is_empty()
            && self.removals.is_empty()
            && self.machine_config.is_empty()
        {
            return Err(Error::InvalidLayering {
                image: self.what(),
                reason: "nothing to add: no layer and no label".to_string(),
            });
        }
        let mut labels = self.plan_labels(&base.labels)?;
        let machine_config = if self.machine_config.is_empty() {
            None
        } else {
            self.machine_config.validate()?;
            Some(self.machine_config.clone())
        };
        let enables = self
            .enables
            .iter()
            .map(|(u, t)| Enable::new(u, t))
            .collect::<Result<Vec<_>, _>>()?;
        let created = match self.created {
            Some(c) => c,
            None => base_created(&base),
        };

        let temp = match &self.temp_dir {
            Some(d) => tempfile::Builder::new()
                .prefix(".okd-layering-")
                .tempdir_in(d),
            None => tempfile::Builder::new().prefix(".okd-layering-").tempdir(),
        }
        .map_err(|e| Error::io(self.temp_dir.clone().unwrap_or_else(std::env::temp_dir), e))?;
        let ctx = LayerContext {
            temp_dir: temp.path().to_path_buf(),
            mtime: self.mtime,
            compression: self.compression,
            canonical_modes: self.canonical_modes,
            accounts: None,
        };
        let (built, lint, moved, tree) = self.build_layers(&base, &ctx, &enables).await?;
        if self.bootc_labels {
            self.plan_bootc_labels(&base, &tree, &mut labels)?;
        }
        let infos: Vec<LayerInfo> = built.iter().map(|l| l.info().clone()).collect();

        // By digest: the image inspected above is exactly the one appended to, even if the tag
        // moves meanwhile, and an index was already resolved to one architecture.
        let mut append = Append::new(
            self.store,
            &self.repo,
            &ManifestRef::Digest(base.manifest_digest.clone()),
        )
        .layers(built)
        .history(self.history.as_deref().unwrap_or(DEFAULT_CREATED_BY))
        .created(created)
        .keep_manifest_annotations();
        for (key, value) in &labels {
            append = match value {
                Some(v) => append.label(key, v),
                None => append.remove_label(key),
            };
        }
        let manifest = append.write_to(dest, repo, tag).await?;
        drop(temp);
        Ok(LayeredOutput {
            manifest,
            base,
            layers: infos,
            labels,
            lint,
            moved,
            machine_config,
        })
    }

    /// Builds every layer, places it on the tree below it and lints it; refuses the first
    /// layer with a lint error.
    async fn build_layers(
        &self,
        base: &OsImageInfo,
        ctx: &LayerContext,
        enables: &[Enable],
    ) -> Result<
        (
            Vec<okd_oci::append::NewLayer>,
            LintReport,
            Vec<Moved>,
            Arc<FileTree>,
        ),
        Error,
    > {
        let mut built = Vec::with_capacity(self.sources.len());
        let mut report = LintReport::default();
        let mut moved = Vec::new();
        let changes = !enables.is_empty() || !self.removals.is_empty();
        if self.sources.is_empty() && !self.bootc_labels && !changes {
            return Ok((built, report, moved, Arc::new(FileTree::new())));
        }
        let own_cache;
        let cache = match &self.cache {
            Some(c) => c.as_ref(),
            None => {
                own_cache = TreeCache::new();
                &own_cache
            }
        };
        let mut tree = Arc::new(image_tree(self.store, &self.repo, base, None, cache).await?);
        let mut ctx = ctx.clone();
        for source in &self.sources {
            ctx.accounts = Some(Arc::new(Accounts::from_tree(&tree)));
            let layer = source.build(&ctx).await?;
            let describe = source.describe();
            let (below, ctx2, what) = (tree.clone(), ctx.clone(), describe.clone());
            let placed = tokio::task::spawn_blocking(move || place(layer, &below, &ctx2, &what))
                .await
                .map_err(|e| Error::Task {
                    what: format!("placing layer {describe}"),
                    message: e.to_string(),
                })??;
            // A base that is not an OS image (forced) is not imported by a node: no node rules.
            let mut found = if base.is_os_image() {
                lint_layer_with_removals(&placed.listing, &tree, &Default::default())
            } else {
                LintReport::default()
            };
            if source.is_prebuilt() {
                found.extend(prebuilt_owners(&placed.listing));
            }
            if found.has_errors() {
                return Err(Error::LintRefused {
                    image: self.what(),
                    layer: describe,
                    findings: found
                        .errors()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
            for w in found.warnings() {
                tracing::warn!("{describe}: {w}");
            }
            let mut next: FileTree = (*tree).clone();
            next.apply(&placed.listing);
            tree = Arc::new(next);
            report.extend(found);
            moved.extend(placed.moved);
            built.push(placed.layer);
        }
        if changes {
            let (layer, found, next) = self
                .build_changes(base, &tree, &ctx, enables, cache)
                .await?;
            report.extend(found);
            built.push(layer);
            tree = Arc::new(next);
        }
        Ok((built, report, moved, tree))
    }

    /// The layer of enabled units and removals, on top of `tree`; returns it, its lint and the
    /// tree with it applied.
    async fn build_changes(
        &self,
        base: &OsImageInfo,
        tree: &Arc<FileTree>,
        ctx: &LayerContext,
        enables: &[Enable],
        cache: &TreeCache,
    ) -> Result<(okd_oci::append::NewLayer, LintReport, FileTree), Error> {
        let mut links = Vec::with_capacity(enables.len());
        for e in enables {
            let file = e.find_in(tree).ok_or_else(|| Error::UnitNotFound {
                image: self.what(),
                unit: e.unit().to_string(),
                file: e.unit_file(),
                target: e.target().to_string(),
            })?;
            links.push((e.clone(), file));
        }
        let mut whiteouts = std::collections::BTreeSet::new();
        let mut found = LintReport::default();
        for path in &self.removals {
            let wh = whiteout_for(tree, path).map_err(|reason| Error::NothingToRemove {
                image: self.what(),
                path: path.trim_start_matches('/').to_string(),
                reason,
            })?;
            let removed = match wh.rsplit_once("/.wh.") {
                Some((dir, name)) => format!("{dir}/{name}"),
                None => wh.trim_start_matches(".wh.").to_string(),
            };
            found
                .findings
                .extend(self.rpm_owner(base, &removed, cache).await?);
            whiteouts.insert(wh);
        }
        let (ctx2, below) = (ctx.clone(), tree.clone());
        let placed = tokio::task::spawn_blocking(move || {
            let layer = write_changes(&links, &whiteouts, &ctx2)?;
            let placed = place(layer.layer, &below, &ctx2, CHANGES_CREATED_BY)?;
            Ok::<_, Error>((placed, layer.whiteouts))
        })
        .await
        .map_err(|e| Error::Task {
            what: "writing the units and removals layer".to_string(),
            message: e.to_string(),
        })??;
        let (placed, whiteouts) = placed;
        let lint = lint_layer_with_removals(&placed.listing, tree, &whiteouts);
        if lint.has_errors() {
            return Err(Error::LintRefused {
                image: self.what(),
                layer: "units and removals".to_string(),
                findings: lint
                    .errors()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        found.extend(lint);
        for w in found.warnings() {
            tracing::warn!("units and removals: {w}");
        }
        let mut next: FileTree = (**tree).clone();
        next.apply(&placed.listing);
        Ok((placed.layer, found, next))
    }

    /// `rpm-owned`: the base chunk that holds `path` names RPM packages (`ostree.components`).
    /// A base whose layers name no package is said to be unchecked.
    async fn rpm_owner(
        &self,
        base: &OsImageInfo,
        path: &str,
        cache: &TreeCache,
    ) -> Result<Option<Finding>, Error> {
        let chunks: Vec<_> = base
            .layers
            .iter()
            .filter(|l| l.role != LayerRole::Derived && !l.components.is_empty())
            .collect();
        if chunks.is_empty() {
            return Ok(Some(Finding {
                rule: "rpm-owned".to_string(),
                severity: Severity::Warning,
                path: path.to_string(),
                message: "not checked: the base's layers name no packages (no ostree.components \
                          annotations); if an RPM owns this path, `rpm -V` reports it missing"
                    .to_string(),
            }));
        }
        let under = format!("{path}/");
        for layer in chunks.iter().rev() {
            let listing = cache.listing(self.store, &self.repo, &layer.digest).await?;
            if listing
                .entries
                .iter()
                .any(|e| e.path == path || e.path.starts_with(&under))
            {
                return Ok(Some(Finding {
                    rule: "rpm-owned".to_string(),
                    severity: Severity::Warning,
                    path: path.to_string(),
                    message: format!(
                        "comes from base layer {} whose packages are {}; the rpm database still \
                         lists it (`rpm -V` reports it missing, an update of the package brings \
                         it back)",
                        layer.index,
                        layer.components.join(", ")
                    ),
                }));
            }
        }
        Ok(None)
    }

    /// `containers.bootc` and `ostree.linux`, where a bootable base lacks them.
    fn plan_bootc_labels(
        &self,
        base: &OsImageInfo,
        tree: &FileTree,
        labels: &mut BTreeMap<String, Option<String>>,
    ) -> Result<(), Error> {
        if !base.ostree.bootable {
            return Err(Error::InvalidLayering {
                image: self.what(),
                reason: format!(
                    "bootc labels go on a base with {} only",
                    labels::OSTREE_BOOTABLE
                ),
            });
        }
        if !base.ostree.bootc {
            labels.insert(labels::CONTAINERS_BOOTC.to_string(), Some("1".to_string()));
        }
        if base.ostree.linux.is_none() {
            match tree.kernels().as_slice() {
                [one] => {
                    labels.insert(labels::OSTREE_LINUX.to_string(), Some(one.clone()));
                }
                other => {
                    return Err(Error::InvalidLayering {
                        image: self.what(),
                        reason: format!(
                            "{} needs exactly one kernel under /usr/lib/modules, found {}",
                            labels::OSTREE_LINUX,
                            other.len()
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The base's `created` time, or the epoch when it has none, so that the output digest depends
/// only on the inputs.
fn base_created(base: &OsImageInfo) -> DateTime<Utc> {
    base.created
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH)
}
