//! Building a release payload: what `oc adm release new` does.
//!
//! A [`ReleaseBuilder`] starts from an existing [`Release`] and/or a set of components
//! (`tag → pullspec`), applies `name=pullspec` overrides, and then, as `oc` does:
//!
//! 1. reads every component image's configuration and records its build labels (commit, source
//!    location, component versions) as annotations of its tag;
//! 2. takes the `/manifests` files of operator images (label `io.openshift.release.operator`)
//!    from their top layer (every layer for an override);
//! 3. drops tags nothing needs (not an operator, not named by an operator's image-references,
//!    not included explicitly, not the base);
//! 4. merges the operator manifests with image and version substitution ([`crate::merge`]);
//! 5. writes `image-references`, `release-metadata` and the manifests as one layer appended to
//!    the `cluster-version-operator` image, with the `io.openshift.release` and
//!    `io.openshift.release.base-image-digest` labels, as a Docker schema 2 image.
//!
//! The same inputs and creation time give the same digest.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<okd_oci::MemoryStore>, base: okd_release::Release) -> Result<(), okd_release::Error> {
//! use okd_oci::StoreMap;
//! use okd_release::ReleaseBuilder;
//!
//! // Every component image is read from `store`, whatever registry its pullspec names.
//! let components = StoreMap::offline().with_fallback(store.clone());
//! let built = ReleaseBuilder::from_release(base)
//!     .name("4.19.0-okd-scos.2")
//!     .override_image("stream-coreos", "quay.io/example/stream-coreos@sha256:0123456789012345678901234567890123456789012345678901234567890123")
//!     .previous(["4.19.0-okd-scos.1"])
//!     .build(&components, store.as_ref(), "example/release", None)
//!     .await?;
//! println!("{}", built.summary());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Timelike, Utc};
use futures::{StreamExt, TryStreamExt};
use okd_oci::{RawManifest, StoreMap};
use serde_json::Value;

use crate::content_mirror::ContentMirror;
use crate::image_references::{ImageReferences, ObjectReference, TagReference};
use crate::inspect::{InspectOptions, Inspection, inspect};
use crate::merge::{
    MergeOptions, OperatorManifests, PayloadFile, merge_operator_manifests, prune_unreferenced,
};
use crate::payload::with_extra_manifests;
pub use crate::payload::{BuiltRelease, Payload};
use crate::platform::{Platform, PlatformFilter};
use crate::{
    ALLOWED_COMPONENTS, ComponentVersions, Error, Release, ReleaseMetadata, TIMESTAMP_FORMAT,
    annotations, gojson,
};

/// The tag of the image a release image is built on, unless told otherwise.
pub const DEFAULT_BASE_TAG: &str = "cluster-version-operator";

/// Assembles a release payload and image. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ReleaseBuilder {
    from: Option<Release>,
    components: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
    exclude: BTreeSet<String>,
    include: Vec<String>,
    name: Option<String>,
    previous: Option<Vec<String>>,
    next: Option<Vec<String>>,
    metadata: Option<BTreeMap<String, Value>>,
    annotations: BTreeMap<String, String>,
    extra_manifests: Vec<PayloadFile>,
    base_tag: String,
    base_image: Option<String>,
    created: Option<DateTime<Utc>>,
    allowed_components: BTreeSet<String>,
    merge: MergeOptions,
    inspect: InspectOptions,
    verify_reproduction: bool,
    concurrency: usize,
    mirror: Option<ContentMirror>,
    strict_lint: bool,
    keep_manifest_list: bool,
    list_architectures: Option<BTreeSet<String>>,
    dry_run: bool,
}

impl Default for ReleaseBuilder {
    fn default() -> Self {
        ReleaseBuilder {
            from: None,
            components: Vec::new(),
            overrides: Vec::new(),
            exclude: BTreeSet::new(),
            include: Vec::new(),
            name: None,
            previous: None,
            next: None,
            metadata: None,
            annotations: BTreeMap::new(),
            extra_manifests: Vec::new(),
            base_tag: DEFAULT_BASE_TAG.to_string(),
            base_image: None,
            created: None,
            allowed_components: ALLOWED_COMPONENTS.iter().map(|s| s.to_string()).collect(),
            merge: MergeOptions::default(),
            inspect: InspectOptions::default(),
            verify_reproduction: false,
            concurrency: 8,
            mirror: None,
            strict_lint: false,
            keep_manifest_list: false,
            list_architectures: None,
            dry_run: false,
        }
    }
}

fn build_err(name: &str, reason: impl Into<String>) -> Error {
    Error::Build {
        name: name.to_string(),
        reason: reason.into(),
    }
}

impl ReleaseBuilder {
    /// A builder with no input.
    pub fn new() -> ReleaseBuilder {
        ReleaseBuilder::default()
    }

    /// A builder starting from `release`: its tags, name, metadata and previous versions. Without
    /// any change the rebuild is canonical: it keeps the original creation time.
    pub fn from_release(release: Release) -> ReleaseBuilder {
        ReleaseBuilder {
            from: Some(release),
            ..ReleaseBuilder::default()
        }
    }

    /// Adds or replaces component `tag` with `pullspec` (a pullspec by tag is resolved to a
    /// digest when the image is read).
    pub fn component(mut self, tag: &str, pullspec: &str) -> Self {
        self.components
            .push((tag.to_string(), pullspec.to_string()));
        self
    }

    /// Adds components.
    pub fn components<I, K, V>(mut self, components: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.components
            .extend(components.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Overrides `tag` with `pullspec` as `oc adm release new tag=pullspec` does: the tag's
    /// annotations are reset to `io.openshift.release.override: "true"`, and all of the image's
    /// layers are searched for manifests.
    pub fn override_image(mut self, tag: &str, pullspec: &str) -> Self {
        self.overrides.push((tag.to_string(), pullspec.to_string()));
        self
    }

    /// Parses and applies a `tag=pullspec` override argument.
    pub fn override_arg(self, arg: &str) -> Result<Self, Error> {
        match arg.split_once('=') {
            Some((tag, pullspec)) if !tag.is_empty() && !pullspec.is_empty() => {
                if self.overrides.iter().any(|(t, _)| t == tag) {
                    return Err(Error::InvalidPullspec {
                        tag: tag.to_string(),
                        pullspec: pullspec.to_string(),
                        reason: "each tag may only be overridden once".to_string(),
                    });
                }
                Ok(self.override_image(tag, pullspec))
            }
            _ => Err(Error::InvalidPullspec {
                tag: String::new(),
                pullspec: arg.to_string(),
                reason: "overrides must be TAG=PULLSPEC".to_string(),
            }),
        }
    }

    /// Leaves `tag` out of the release.
    pub fn exclude(mut self, tag: &str) -> Self {
        self.exclude.insert(tag.to_string());
        self
    }

    /// Keeps `tag` even when no operator refers to it.
    pub fn include(mut self, tag: &str) -> Self {
        self.include.push(tag.to_string());
        self
    }

    /// The release name (a semantic version). Defaults to the input release's name, else
    /// `0.0.1-<creation time>`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Versions that can upgrade to this release (replacing the input release's).
    pub fn previous<I, S>(mut self, versions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.previous = Some(versions.into_iter().map(Into::into).collect());
        self
    }

    /// Versions this release can upgrade to.
    pub fn next<I, S>(mut self, versions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.next = Some(versions.into_iter().map(Into::into).collect());
        self
    }

    /// The release-metadata `metadata` object (replacing the input release's).
    pub fn metadata(mut self, metadata: BTreeMap<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The `metadata` object from JSON text, as `--metadata` takes it.
    pub fn metadata_json(self, json: &str) -> Result<Self, Error> {
        let map: BTreeMap<String, Value> =
            serde_json::from_str(json).map_err(|e| Error::document("--metadata", e))?;
        Ok(self.metadata(map))
    }

    /// An annotation on image-references (`release.openshift.io/from-image-stream`, …).
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_string(), value.to_string());
        self
    }

    /// Adds a file to `release-manifests/` beside the operators' manifests, such as the
    /// verification ConfigMap that makes clusters trust a stream's signing key. `name` is a plain
    /// file name; a name an operator manifest or the payload documents already use fails the
    /// build.
    pub fn extra_manifest(mut self, name: &str, data: impl Into<Vec<u8>>) -> Self {
        self.extra_manifests.push(PayloadFile {
            name: name.to_string(),
            data: data.into(),
            mtime: 0,
        });
        self
    }

    /// The tag of the image to build on (default `cluster-version-operator`).
    pub fn base_tag(mut self, tag: &str) -> Self {
        self.base_tag = tag.to_string();
        self
    }

    /// An explicit image to build on, instead of the base tag's.
    pub fn base_image(mut self, pullspec: &str) -> Self {
        self.base_image = Some(pullspec.to_string());
        self
    }

    /// The creation time (truncated to seconds). Defaults to now, or to the input release's for
    /// a canonical rebuild.
    pub fn created(mut self, created: DateTime<Utc>) -> Self {
        self.created = Some(created);
        self
    }

    /// Accepts component `key` in `io.openshift.build.versions` besides [`ALLOWED_COMPONENTS`].
    pub fn allow_component(mut self, key: &str) -> Self {
        self.allowed_components.insert(key.to_string());
        self
    }

    /// Skip operator image-references tags the release lacks instead of failing.
    pub fn allow_missing_images(mut self, allow: bool) -> Self {
        self.merge.allow_missing_images = allow;
        self
    }

    /// Do not check that manifests are Kubernetes objects.
    pub fn skip_manifest_check(mut self, skip: bool) -> Self {
        self.merge.skip_manifest_check = skip;
        self
    }

    /// The child read from manifest lists: of the component images and of the base image
    /// (default: the only child, else linux/amd64; see [`crate::platform`]).
    pub fn platform(mut self, platform: PlatformFilter) -> Self {
        self.inspect.platform = platform;
        self
    }

    /// When the base image is a manifest list, append the release layer to every image of it
    /// and write a new list (of the same media type, the children's platforms kept), as `oc adm
    /// release new --keep-manifest-list` does. Component images are then read through their
    /// linux/amd64 child, as `oc` reads them, whatever [`ReleaseBuilder::platform`] says.
    pub fn keep_manifest_list(mut self, keep: bool) -> Self {
        self.keep_manifest_list = keep;
        self
    }

    /// With [`ReleaseBuilder::keep_manifest_list`], only the images of the base list whose
    /// architecture (Go name: `amd64`, `arm64`) is in `architectures` become images of the new
    /// list, in the base list's order; an architecture the base list lacks fails the build
    /// before anything is written.
    pub fn keep_architectures<I, S>(mut self, architectures: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.list_architectures = Some(architectures.into_iter().map(Into::into).collect());
        self
    }

    /// The options component images are read with.
    fn inspect_with(&self) -> InspectOptions {
        let mut options = self.inspect.clone();
        if self.keep_manifest_list {
            options.platform = PlatformFilter::Platform(Platform::linux_amd64());
        }
        options
    }

    /// Limits for reading component images.
    pub fn inspect_options(mut self, options: InspectOptions) -> Self {
        self.inspect = options;
        self
    }

    /// How many component images are read at once (default 8).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// For a canonical rebuild (an input release and no change), refuse to write an image whose
    /// digest differs from the input's. Releases built by `oc` compress differently and cannot be
    /// reproduced byte for byte; releases built by okd-streams can.
    pub fn verify_reproduction(mut self, verify: bool) -> Self {
        self.verify_reproduction = verify;
        self
    }

    /// Copies every component into `mirror` and names it there, as `oc adm release new
    /// --mirror` does (see [`crate::content_mirror`]); components named by tag are refused.
    pub fn mirror(mut self, mirror: ContentMirror) -> Self {
        self.mirror = Some(mirror);
        self
    }

    /// Fail the build when [`crate::lint`] finds a manifest a cluster would reject or drop
    /// (otherwise each finding is a warning).
    pub fn strict_lint(mut self, strict: bool) -> Self {
        self.strict_lint = strict;
        self
    }

    /// Compute everything — payload, layer, configuration, manifest and digest — but copy and
    /// write nothing: no content mirror copy, no push ([`BuiltRelease::pushed`] is false).
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    fn has_changes(&self) -> bool {
        self.mirror.is_some()
            || self.name.is_some()
            || self.metadata.is_some()
            || self.previous.is_some()
            || self.next.is_some()
            || self.base_image.is_some()
            || !self.components.is_empty()
            || !self.overrides.is_empty()
            || !self.exclude.is_empty()
            || !self.include.is_empty()
            || !self.extra_manifests.is_empty()
    }

    /// Assembles the payload: image-references, release-metadata and the merged manifests.
    /// Reads the component images' configurations and the operators' manifests from the stores
    /// `stores` maps their pullspecs to.
    pub async fn assemble(&self, stores: &StoreMap) -> Result<Payload, Error> {
        let now = Utc::now();
        let mut is = ImageReferences::default();
        let mut expected_digest = None;
        let mut created = self.created;
        let mut base_pullspec = self.base_image.clone();
        // A base-image-digest naming a child of a component's manifest list is resolved once
        // the components are read.
        let mut base_label = None;
        let (mut previous, mut next, mut metadata) = (None, None, None);
        if let Some(from) = &self.from {
            is = from.references.clone();
            is.spec.tags.retain(|t| !self.exclude.contains(&t.name));
            if let Some(m) = &from.metadata {
                previous = m.previous.clone();
                next = m.next.clone();
                metadata = (!m.metadata.is_empty()).then(|| m.metadata.clone());
            }
            if self.has_changes() {
                is.metadata.annotations.insert(
                    annotations::RELEASE_FROM_RELEASE.to_string(),
                    from.image.clone(),
                );
            } else {
                created = created.or(from.references.created());
                expected_digest = Some(if self.keep_manifest_list {
                    from.pull_digest().clone()
                } else {
                    from.digest.clone()
                });
            }
            if base_pullspec.is_none()
                && let Some(base_digest) = from.config.label(annotations::RELEASE_BASE_IMAGE_DIGEST)
            {
                let found = from
                    .components
                    .values()
                    .find(|c| c.digest.to_string() == base_digest);
                match found {
                    Some(c) => base_pullspec = Some(c.pullspec.clone()),
                    None => base_label = Some(base_digest.to_string()),
                }
            }
        }
        let created = truncate(created.unwrap_or(now));
        let name = match (&self.name, &self.from) {
            (Some(n), _) => n.clone(),
            (None, Some(from)) => from.references.name().to_string(),
            (None, None) => format!("0.0.1-{}", created.format(TIMESTAMP_FORMAT)),
        };
        let version = semver::Version::parse(&name).map_err(|e| Error::InvalidVersion {
            input: name.clone(),
            reason: format!("the release name must be a semantic version: {e}"),
        })?;

        let mut cm = ReleaseMetadata::new(&version.to_string());
        if let Some(m) = self.metadata.clone().or(metadata) {
            cm.metadata = m
                .into_iter()
                .map(|(k, v)| (k, gojson::floats_as_go(v)))
                .collect();
        }
        cm.set_previous(self.previous.clone().or(previous).unwrap_or_default())?;
        cm.set_next(self.next.clone().or(next).unwrap_or_default())?;

        is.kind = crate::image_references::KIND.to_string();
        is.api_version = crate::image_references::API_VERSION.to_string();
        is.metadata.name = name.clone();
        is.metadata.creation_timestamp = Some(created);
        is.metadata
            .annotations
            .extend(self.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (tag, pullspec) in &self.components {
            if self.exclude.contains(tag) {
                continue;
            }
            match is.tag_mut(tag) {
                Some(t) => t.from = Some(ObjectReference::docker_image(pullspec)),
                None => is.spec.tags.push(TagReference::new(tag, pullspec)),
            }
        }
        for (tag, pullspec) in &self.overrides {
            if !self.exclude.contains(tag) {
                is.set_override(tag, pullspec);
            }
        }
        is.sort_tags();
        if is.spec.tags.is_empty() {
            return Err(build_err(
                &name,
                "no component images defined, unable to build a release payload",
            ));
        }
        let base_pullspec = match (base_pullspec, &base_label) {
            (Some(p), _) => Some(p),
            (None, Some(_)) => None,
            (None, None) => is
                .tag(&self.base_tag)
                .and_then(TagReference::pullspec)
                .map(str::to_string)
                .ok_or_else(|| {
                    build_err(
                        &name,
                        format!(
                            "the base image tag {:?} could not be found in the input, cannot build a release image",
                            self.base_tag
                        ),
                    )
                })
                .map(Some)?,
        };

        if self.mirror.is_some() {
            ContentMirror::check_by_digest(&is)?;
        }
        let inspections = self.inspect_all(stores, &is).await?;
        let base_pullspec = match base_pullspec {
            Some(p) => p,
            None => base_by_child(&is, &inspections, base_label.as_deref().unwrap_or_default())
                .ok_or_else(|| {
                    build_err(
                        &name,
                        format!(
                            "unable to find an image within the release that matches the base image manifest {:?}; give the base image explicitly",
                            base_label.as_deref().unwrap_or_default()
                        ),
                    )
                })?,
        };
        let mut operators = Vec::new();
        for tag in &mut is.spec.tags {
            let Some(found) = inspections.get(&tag.name) else {
                continue;
            };
            if let Some(from) = tag.from.as_mut() {
                from.name = found.pullspec.clone();
            }
            self.annotate(tag, found)?;
            if found.operator {
                operators.push(OperatorManifests {
                    tag: tag.name.clone(),
                    files: found.manifests.clone(),
                });
            }
        }
        // As `oc` does, the mirror takes every tag, before unreferenced ones are pruned.
        let mirrored = match &self.mirror {
            Some(m) => m.redirect(&name, &mut is)?,
            None => Vec::new(),
        };
        let mut include = self.include.clone();
        include.push(self.base_tag.clone());
        let pruned = prune_unreferenced(&mut is, &operators, &include)?;
        self.refuse_pruned_overrides(&name, &pruned)?;
        // Substitution runs regular expressions over every manifest: keep it off the runtime.
        let (is, merged) = {
            let merge = self.merge.clone();
            tokio::task::spawn_blocking(move || {
                merge_operator_manifests(&is, &operators, &merge).map(|m| (is, m))
            })
            .await
            .map_err(|e| build_err(&name, format!("manifest merge failed: {e}")))??
        };
        let mut warnings = merged.warnings;
        if merged.operators.is_empty() {
            warnings.push(
                "no operator metadata was found, no operators will be part of the release"
                    .to_string(),
            );
        }
        let files =
            with_extra_manifests(&name, merged.files, &self.extra_manifests, merged.newest)?;
        let lint = crate::lint::lint_payload(&files, version.major);
        if self.strict_lint && !lint.is_clean() {
            return Err(build_err(
                &name,
                format!(
                    "release lint found {} problems: {}",
                    lint.problems.len(),
                    lint.problem_lines().join("; ")
                ),
            ));
        }
        warnings.extend(
            lint.problem_lines()
                .into_iter()
                .map(|l| format!("lint: {l}")),
        );
        Ok(Payload {
            name,
            created,
            references: is,
            metadata: cm,
            files,
            newest: merged.newest,
            operators: merged.operators,
            pruned,
            base_pullspec,
            mirrored,
            warnings,
            expected_digest: expected_digest.filter(|_| self.verify_reproduction),
        })
    }

    async fn inspect_all(
        &self,
        stores: &StoreMap,
        is: &ImageReferences,
    ) -> Result<HashMap<String, Inspection>, Error> {
        // Many tags share an image; read each (pullspec, all-layers) pair once.
        let mut jobs: BTreeMap<(String, bool), Vec<String>> = BTreeMap::new();
        for tag in &is.spec.tags {
            let Some(pullspec) = tag.pullspec() else {
                continue;
            };
            let all_layers = tag.annotation(annotations::RELEASE_OVERRIDE) == Some("true");
            jobs.entry((pullspec.to_string(), all_layers))
                .or_default()
                .push(tag.name.clone());
        }
        let options = &self.inspect_with();
        let results: Vec<(Vec<String>, Inspection)> = futures::stream::iter(jobs)
            .map(|((pullspec, all_layers), tags)| async move {
                let first = tags.first().cloned().unwrap_or_default();
                inspect(stores, &first, &pullspec, all_layers, options)
                    .await
                    .map(|i| (tags, i))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut out = HashMap::new();
        for (tags, inspection) in results {
            for tag in tags {
                out.insert(tag, inspection.clone());
            }
        }
        Ok(out)
    }

    /// Copies build labels onto the tag, as `oc` does for every image it reads.
    fn annotate(&self, tag: &mut TagReference, found: &Inspection) -> Result<(), Error> {
        let label = |k: &str| found.config.label(k).unwrap_or("").to_string();
        for key in [
            annotations::BUILD_COMMIT_ID,
            annotations::BUILD_COMMIT_REF,
            annotations::BUILD_SOURCE_LOCATION,
        ] {
            tag.set_annotation(key, &label(key));
        }
        let versions = label(annotations::BUILD_VERSIONS);
        if !versions.is_empty() {
            let names = label(annotations::BUILD_VERSION_DISPLAY_NAMES);
            let parsed = ComponentVersions::parse(&versions, &names).map_err(|reason| {
                Error::InvalidComponentVersions {
                    tag: tag.name.clone(),
                    label: versions.clone(),
                    reason,
                }
            })?;
            if let Some((key, _)) = parsed
                .iter()
                .find(|(k, _)| !self.allowed_components.contains(k.as_str()))
            {
                return Err(Error::InvalidComponentVersions {
                    tag: tag.name.clone(),
                    label: versions.clone(),
                    reason: format!("component {key:?} is not in the allowed list"),
                });
            }
            tag.set_annotation(annotations::BUILD_VERSIONS, &versions);
            tag.set_annotation(annotations::BUILD_VERSION_DISPLAY_NAMES, &names);
        }
        Ok(())
    }
}

/// Refuses a canonical rebuild whose image (or list) differs from the input's.
pub(crate) fn check_reproduced(payload: &Payload, written: &RawManifest) -> Result<(), Error> {
    match &payload.expected_digest {
        Some(expected) if expected != written.digest() => Err(Error::NotReproduced {
            name: payload.name.clone(),
            expected: expected.clone(),
            actual: written.digest().clone(),
        }),
        _ => Ok(()),
    }
}

/// The pullspec (by digest) of the component whose image read — the picked child of its
/// manifest list — is `digest`: a release appended to every child of a list records the
/// child's digest as its base image.
fn base_by_child(
    is: &ImageReferences,
    inspections: &HashMap<String, Inspection>,
    digest: &str,
) -> Option<String> {
    is.spec.tags.iter().find_map(|t| {
        inspections
            .get(&t.name)
            .filter(|i| i.image_digest.to_string() == digest)
            .map(|i| i.pullspec.clone())
    })
}

mod build;
mod overrides;
mod to_file;

pub use overrides::parse_mappings;
pub use to_file::write_layer_file;
/// Base layers keep their media types, as `oc` keeps them; OCI ones inside a Docker schema 2
/// manifest are refused by containers/image (skopeo, podman, CRI-O), which users must know.
fn oci_layers_warning(base: &str, layers: &[okd_oci::BlobRef]) -> Option<String> {
    let mut types: Vec<&str> = layers
        .iter()
        .map(|l| l.media_type.as_str())
        .filter(|t| !t.starts_with("application/vnd.docker."))
        .collect();
    types.dedup();
    (!types.is_empty()).then(|| {
        format!(
            "the base image {base} has layers of type {}, kept as they are in the Docker schema 2 release manifest as oc keeps them; containers/image (skopeo, podman, CRI-O) refuses to read such a manifest",
            types.join(", ")
        )
    })
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}
