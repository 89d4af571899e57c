//! Detecting changed inputs and building a candidate release from them.

use chrono::{DateTime, Timelike, Utc};
use okd_coreos::layer_source::{LayerContext, LayerSource};
use okd_coreos::layering::LayeredImage;
use okd_coreos::overrides::OsOverrides;
use okd_oci::{Access, Digest, ImageRef, ManifestRef, RegistryRef, StoreMap};
use okd_release::{ContentMirror, Release, ReleaseBuilder};
use sha2::{Digest as _, Sha256};

use super::{
    Candidate, Inputs, Intent, MirrorRequest, OsBase, ResolvedUpstream, Stream, StreamError,
};

/// The inputs a tick found, before anything is written.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    pub upstream: ResolvedUpstream,
    pub upstream_created: Option<DateTime<Utc>>,
    pub inputs: Inputs,
    pub hash: String,
    /// The OS base: store repository and digest (when the stream layers its OS).
    pub os_base: Option<(ImageRef, Digest)>,
    /// Tags the upstream payload has.
    pub upstream_tags: Vec<String>,
    /// The architectures (Go names) of a multi-arch release.
    pub archs: Option<Vec<String>>,
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

impl Stream {
    /// Resolves the current inputs and their hash. Writes nothing.
    pub(crate) async fn detect(&self) -> Result<Detected, StreamError> {
        let upstream = self.upstream.resolve(self.upstream_store.as_ref()).await?;
        let release = Release::load_image(self.upstream_store.as_ref(), &upstream.image).await?;
        // A multi-arch stream checks its upstream has every architecture before anything is
        // written.
        let archs = self.check_upstream_arch(&upstream.image, &release).await?;
        let mut override_refs = Vec::new();
        for o in &self.overrides {
            override_refs.push(o.pullspec.parse::<ImageRef>()?);
        }
        let sources = &self.sources;
        let mut inputs = Inputs {
            upstream: upstream.image.clone(),
            upstream_tag: upstream.tag.clone(),
            upstream_version: release.version().ok().map(|v| v.to_string()),
            os_base: None,
            os_layers: Vec::new(),
            os_build: None,
            os_image: None,
            os_lint: Vec::new(),
            overrides: Vec::new(),
            remove: Vec::new(),
        };
        let mut os_base = None;
        if let Some(os) = &self.os {
            let os_tag = os.variant().payload_tags().os;
            let base = match os.base_image() {
                OsBase::Upstream => release
                    .component(&os_tag)
                    .map(|c| c.image.clone())
                    .ok_or_else(|| StreamError::Upstream {
                        upstream: upstream.image.to_string(),
                        message: format!(
                            "the payload has no {os_tag} image to layer on; give an OS base image"
                        ),
                    })?,
                OsBase::Image(i) => i.clone(),
            };
            let digest = resolve_digest(sources, &base).await?;
            inputs.os_base = Some(base.with_digest(digest.clone()));
            // Layers are the same on every architecture; owner names are read from the first.
            let children = match &archs {
                Some(a) => self.list_children_of(&base, &digest, a).await?,
                None => Vec::new(),
            };
            let layer_base = children.first().map_or(&digest, |c| &c.digest).clone();
            if !os.is_plain() {
                inputs.os_layers = layer_digests(sources, os, &base, &layer_base).await?;
            }
            if let Some(build) = os.containerfile_build() {
                inputs.os_build = Some(containerfile_digest(build).await?);
            }
            os_base = Some((base, digest));
        }
        for (o, image) in self.overrides.iter().zip(&override_refs) {
            let digest = resolve_digest(sources, image).await?;
            // A registry image by digest alone: the tag it was found by is not an input.
            let by_digest = match image {
                ImageRef::Registry(r) => ImageRef::Registry(RegistryRef {
                    tag: None,
                    digest: Some(digest),
                    ..r.clone()
                }),
                other => other.with_digest(digest),
            };
            inputs.overrides.push((o.name.clone(), by_digest));
        }
        let hash = self.inputs_hash(&inputs);
        Ok(Detected {
            upstream,
            upstream_created: release.created(),
            inputs,
            hash,
            os_base,
            upstream_tags: release.components.keys().cloned().collect(),
            archs,
        })
    }

    fn inputs_hash(&self, inputs: &Inputs) -> String {
        let mut h = Sha256::new();
        let mut line = |k: &str, v: &str| {
            h.update(k.as_bytes());
            h.update(b" ");
            h.update(v.as_bytes());
            h.update(b"\n");
        };
        // The upstream by digest only: the same payload under another tag is the same input.
        let upstream = inputs.upstream.to_string();
        line("upstream", upstream.rsplit('@').next().unwrap_or(""));
        // Only for multi-arch streams, so that single-arch hashes stay as they were.
        if self.arch.is_multi() {
            line("arch", &self.arch.to_string());
        }
        if let Some(os) = &self.os {
            line("variant", os.variant().name());
            let os_base = inputs.os_base.as_ref().map(ToString::to_string);
            line("os-base", os_base.as_deref().unwrap_or(""));
            for d in &inputs.os_layers {
                line("os-layer", &d.to_string());
            }
            if let Some(d) = &inputs.os_build {
                line("os-build", &d.to_string());
            }
            for (k, v) in os.labels() {
                line("os-label", &format!("{k}={v}"));
            }
            line("machine-os", os.machine_os_version().unwrap_or(""));
            // Only when set, so that the hashes of streams that never set it stay as they were.
            if os.has_canonical_modes() {
                line("os-canonical-modes", "true");
            }
            let (enables, removals) = os.units_and_removals();
            for (unit, target) in enables {
                line("os-enable", &format!("{unit}:{target}"));
            }
            for path in removals {
                line("os-remove", path);
            }
            if let Some((mc, in_payload)) = os.machine_config() {
                let yaml = mc.to_yaml().unwrap_or_default();
                line("os-machine-config", &format!("{in_payload} {yaml}"));
            }
        }
        for (k, v) in &inputs.overrides {
            line("override", &format!("{k}={v}"));
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The creation time to write into a candidate decided at `now`.
    pub(crate) fn image_created(&self, detected: &Detected, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.created_from {
            super::CreatedFrom::Tick => truncate(now),
            super::CreatedFrom::Inputs => truncate(detected.upstream_created.unwrap_or(now)),
        }
    }

    /// Writes the layered OS image (tagged `name`) and completes the inputs with the OS
    /// overrides. Idempotent: the same inputs give the same image.
    pub(crate) async fn prepare_os(
        &self,
        name: &str,
        detected: &mut Detected,
    ) -> Result<(), StreamError> {
        let (Some(os), Some((base, digest))) = (&self.os, &detected.os_base) else {
            return Ok(());
        };
        let mut os_lint = Vec::new();
        let repo_name = os.variant().payload_tags().os;
        let found = self.sources.resolve(base, Access::Read).await?;
        let (mut store, mut repo, mut digest) = (found.store, found.repository, digest.clone());
        let mut built_image = None;
        if let Some(build) = os.containerfile_build() {
            let dest_repo = self.target.repository(&repo_name);
            let out = build
                .build(
                    store.as_ref(),
                    &repo,
                    &ManifestRef::Digest(digest.clone()),
                    self.store.as_ref(),
                    &dest_repo,
                    Some(&format!("{name}-build")),
                )
                .await
                .map_err(|e| StreamError::candidate(name, "containerfile", e))?;
            os_lint.extend(out.lint.findings.iter().map(ToString::to_string));
            built_image = Some(
                self.target
                    .public_pullspec(&repo_name, &out.digest)
                    .parse()?,
            );
            (store, repo, digest) = (self.store.clone(), dest_repo, out.digest);
        }
        let os_image = if let (Some(archs), true) = (&detected.archs, os.adds_layers_or_labels()) {
            let (image, lint) = self
                .layer_each_arch(name, os, (base, &digest), archs)
                .await?;
            os_lint.extend(lint);
            image
        } else if !os.adds_layers_or_labels() {
            match built_image {
                Some(b) => b,
                None => base.with_digest(digest.clone()),
            }
        } else {
            let layered =
                LayeredImage::new(store.as_ref(), &repo, &ManifestRef::Digest(digest.clone()));
            let layered = configure_layering(os, layered);
            let written = layered
                .write_to(
                    self.store.as_ref(),
                    &self.target.repository(&repo_name),
                    Some(name),
                )
                .await
                .map_err(|e| StreamError::candidate(name, "layering", e))?;
            os_lint.extend(written.lint.findings.iter().map(ToString::to_string));
            self.target
                .public_pullspec(&repo_name, written.manifest.digest())
                .parse()?
        };
        let swap = OsOverrides::new(os.variant().clone(), os_image.to_string())
            .without_extensions()
            .swap(detected.upstream_tags.iter().map(String::as_str))?;
        let mut overrides = Vec::new();
        for o in &swap.set {
            overrides.push((o.name.clone(), o.pullspec.parse::<ImageRef>()?));
        }
        // Overrides given by the user win over the OS ones for the same tag.
        overrides.retain(|(t, _)| !detected.inputs.overrides.iter().any(|(u, _)| u == t));
        overrides.append(&mut detected.inputs.overrides);
        detected.inputs.overrides = overrides;
        detected.inputs.remove = swap.remove;
        detected.inputs.os_image = Some(os_image);
        detected.inputs.os_lint = os_lint;
        Ok(())
    }

    /// Builds (or rebuilds, after an interruption) the release an intent describes, and
    /// mirrors it.
    pub(crate) async fn build_candidate(&self, intent: &Intent) -> Result<Candidate, StreamError> {
        let name = intent.name.as_str();
        let upstream = &intent.inputs.upstream;
        let release = Release::load_image(self.upstream_store.as_ref(), upstream).await?;
        let sources = &self.sources;
        let list_metadata = self.arch.is_multi().then(|| multi_metadata(&release));
        let mut builder = ReleaseBuilder::from_release(release)
            .name(name)
            .created(intent.image_created)
            .allow_missing_images(self.allow_missing_images);
        if let Some(metadata) = list_metadata {
            builder = builder.keep_manifest_list(true).metadata(metadata);
            if let Some(archs) = self.arch.go_names() {
                builder = builder.keep_architectures(archs);
            }
        }
        for (tag, pullspec) in &intent.inputs.overrides {
            // An override is wanted in the payload even when no operator names it.
            builder = builder
                .override_image(tag, &pullspec.to_string())
                .include(tag);
        }
        for tag in &intent.inputs.remove {
            builder = builder.exclude(tag);
        }
        let machine_config = self.os.as_ref().and_then(|os| os.machine_config());
        if let Some((mc, true)) = machine_config {
            let yaml = mc
                .to_payload_yaml()
                .map_err(|e| StreamError::candidate(name, "machine config", e))?;
            builder = builder.extra_manifest(&payload_manifest_name(mc), yaml);
        }
        if let Some(content) = &self.content_repository {
            let mirror = ContentMirror::new(
                self.store.clone(),
                &self.target.repository(content),
                &self.target.public_repository(content),
            )
            .map_err(|e| StreamError::candidate(name, "content mirror", e))?;
            builder = builder.mirror(mirror);
        }
        let repo = self.release_repository();
        let built = builder
            .build(sources, self.store.as_ref(), &repo, Some(name))
            .await
            .map_err(|e| StreamError::candidate(name, "build", e))?;
        let digest = match self.format {
            super::ReleaseFormat::Docker => built.digest.clone(),
            super::ReleaseFormat::Oci if built.manifest.is_index() => {
                let store = self.store.as_ref();
                super::format::to_oci_list(store, &repo, &built.manifest, name)
                    .await?
                    .digest()
                    .clone()
            }
            super::ReleaseFormat::Oci => {
                let oci = super::format::to_oci(&built.manifest)?;
                self.store.write_manifest(&repo, &oci, Some(name)).await?;
                oci.digest().clone()
            }
        };
        let image = self
            .target
            .location
            .image(&repo, Some(name), Some(&digest))?;
        if let Some((mc, _)) = machine_config {
            self.write_machine_config(name, mc)?;
        }
        let mirrored = match &self.mirror {
            Some(m) => Some(
                m.mirror(&MirrorRequest {
                    version: name,
                    image: &image,
                    store: &self.store,
                    sources,
                })
                .await?,
            ),
            None => None,
        };
        Ok(Candidate {
            name: name.to_string(),
            digest,
            image,
            image_created: intent.image_created,
            inputs: intent.inputs.clone(),
            mirrored,
        })
    }
}

/// The upstream's `release-metadata` metadata with the architecture `multi`, as multi payloads
/// carry it.
fn multi_metadata(release: &Release) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut metadata = release
        .metadata
        .as_ref()
        .map(|m| m.metadata.clone())
        .unwrap_or_default();
    metadata.insert(
        super::arch::ARCHITECTURE_METADATA.to_string(),
        serde_json::Value::from("multi"),
    );
    metadata
}

/// `layered` with the layers, labels, units and removals of `os`.
pub(crate) fn configure_layering<'a>(
    os: &'a super::OsLayering,
    mut layered: LayeredImage<'a>,
) -> LayeredImage<'a> {
    for layer in os.layers() {
        layered = layered.layer(layer.clone());
    }
    for (k, v) in os.labels() {
        layered = layered.label(k, v);
    }
    layered = layered.tree_cache(os.tree_cache());
    if os.has_canonical_modes() {
        layered = layered.canonical_modes();
    }
    if let Some(v) = os.machine_os_version() {
        layered = layered.machine_os(v).display_name_of(os.variant());
    }
    let (enables, removals) = os.units_and_removals();
    for (unit, target) in enables {
        layered = layered.enable(unit, target);
    }
    for path in removals {
        layered = layered.remove(path);
    }
    layered
}

/// The MachineConfig's file in `release-manifests/`: run level 80, with the
/// machine-config-operator's own manifests, after its CRDs exist.
fn payload_manifest_name(mc: &okd_coreos::machine_config::MachineConfig) -> String {
    format!("0000_80_machine-config_{}", mc.file_name())
}

impl Stream {
    /// Writes the MachineConfig of release `name` to `<state>/machine-configs/<name>/`.
    fn write_machine_config(
        &self,
        name: &str,
        mc: &okd_coreos::machine_config::MachineConfig,
    ) -> Result<(), StreamError> {
        let Some(dir) = &self.machine_config_dir else {
            return Err(StreamError::invalid(
                self.name(),
                "os.kernel_arguments",
                "MachineConfigs are written next to the release, in the state directory: set one",
            ));
        };
        let path = mc
            .write_to_dir(&dir.join(name))
            .map_err(|e| StreamError::candidate(name, "machine config", e))?;
        tracing::info!(
            "{name}: wrote MachineConfig {} to {}",
            mc.name(),
            path.display()
        );
        Ok(())
    }
}

async fn resolve_digest(sources: &StoreMap, image: &ImageRef) -> Result<Digest, StreamError> {
    if let Some(d) = image.digest() {
        return Ok(d.clone());
    }
    let found = sources.resolve(image, Access::Read).await?;
    let (store, repo) = (found.store, found.repository);
    let reference = image.manifest_ref().ok_or_else(|| StreamError::Upstream {
        upstream: image.to_string(),
        message: "names no tag or digest".to_string(),
    })?;
    store
        .manifest_digest(&repo, &reference)
        .await?
        .ok_or_else(|| StreamError::Upstream {
            upstream: image.to_string(),
            message: "not found".to_string(),
        })
}

/// The digest of a Containerfile and its build context (the context's files as a layer), so
/// that a change to either is a new input.
async fn containerfile_digest(
    build: &okd_coreos::containerfile::ContainerfileBuild,
) -> Result<Digest, StreamError> {
    let file = build.containerfile();
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| StreamError::io(file, e))?;
    let temp = tempfile::Builder::new()
        .prefix(".okd-streams-context-")
        .tempdir()
        .map_err(|e| StreamError::io(std::env::temp_dir(), e))?;
    let context = okd_coreos::layer_source::DirSource::new(build.context())
        .build(&LayerContext::new(temp.path()))
        .await?;
    let mut h = Sha256::new();
    h.update(&bytes);
    h.update(context.info().digest.to_string().as_bytes());
    Ok(format!("sha256:{}", hex::encode(h.finalize())).parse()?)
}

/// Builds each layer in a temporary directory to learn its digest. Owners given by name are
/// resolved against the base's accounts, read (once, then cached) only when a layer names one.
async fn layer_digests(
    sources: &StoreMap,
    os: &super::OsLayering,
    base: &ImageRef,
    digest: &Digest,
) -> Result<Vec<Digest>, StreamError> {
    let temp = tempfile::Builder::new()
        .prefix(".okd-streams-layers-")
        .tempdir()
        .map_err(|e| StreamError::io(std::env::temp_dir(), e))?;
    let mut ctx = LayerContext::new(temp.path());
    let layers = os.layers();
    if layers.iter().any(|l| l.uses_owner_names()) {
        let found = sources.resolve(base, Access::Read).await?;
        let (store, repo) = (found.store, found.repository);
        let reference = ManifestRef::Digest(digest.clone());
        let info = okd_coreos::inspect::inspect(store.as_ref(), &repo, &reference, None).await?;
        let tree = okd_coreos::tree_cache::image_tree(
            store.as_ref(),
            &repo,
            &info,
            None,
            &os.tree_cache(),
        )
        .await?;
        ctx.accounts = Some(std::sync::Arc::new(
            okd_coreos::owners::Accounts::from_tree(&tree),
        ));
    }
    let mut out = Vec::new();
    for l in layers {
        let built = l.build(&ctx).await?;
        out.push(built.info().digest.clone());
    }
    Ok(out)
}
