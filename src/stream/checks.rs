//! Payload checks that run as local verification jobs.
//!
//! Each [`Check`] inspects a built release the way a cluster would fail on it first:
//!
//! * [`Check::Images`]: every image `image-references` names resolves (its manifest, the
//!   children of a manifest list, and each image's configuration blob are present);
//! * [`Check::Manifests`]: every file of `release-manifests/` parses as YAML or JSON and every
//!   document in it is a Kubernetes object (`apiVersion` and `kind`);
//! * [`Check::Os`]: the variant's OS tag points at an OS image and, when the stream layers its
//!   OS, at exactly the layered image the stream wrote for this release;
//! * [`Check::Upgrade`]: the upgrade source (`RELEASE_IMAGE_INITIAL`) and the release load, and
//!   the release is a newer version.
//!
//! Jobs call them through `okd-streams stream verify --check NAME …` with the release in
//! `RELEASE_IMAGE_LATEST`, the environment the release-controller gives its jobs;
//! [`verify`] is the same thing as a function.

use std::fmt;
use std::io::Read as _;

use serde::Deserialize as _;
use std::str::FromStr;
use std::sync::Arc;

use okd_oci::{Access, BlobRef, ImageRef, ManifestRef, ManifestView, Store, StoreExt, StoreMap};
use okd_release::{RELEASE_MANIFESTS, Release, ReleaseVersion};

use super::StreamError;

/// The largest release layer read by [`Check::Manifests`].
const MAX_RELEASE_LAYER: u64 = 512 << 20;

/// One payload check. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// Every referenced image resolves.
    Images,
    /// Every manifest parses.
    Manifests,
    /// The OS tag points at the stream's OS image.
    Os,
    /// The release is an upgrade of the source release.
    Upgrade,
}

impl Check {
    /// Every check.
    pub const ALL: [Check; 4] = [Check::Images, Check::Manifests, Check::Os, Check::Upgrade];

    /// The check's name.
    pub fn name(self) -> &'static str {
        match self {
            Check::Images => "images",
            Check::Manifests => "manifests",
            Check::Os => "os",
            Check::Upgrade => "upgrade",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Check {
    type Err = StreamError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Check::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                StreamError::invalid(
                    "",
                    "check",
                    format!("unknown check {s:?} (images, manifests, os, upgrade)"),
                )
            })
    }
}

/// What a check is given.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// The release under test and its store.
    pub release: (ImageRef, Arc<dyn Store>),
    /// The upgrade source and its store ([`Check::Upgrade`]).
    pub initial: Option<(ImageRef, Arc<dyn Store>)>,
    /// Where component images are read.
    pub sources: StoreMap,
    /// The OS payload tag ([`Check::Os`]).
    pub os_tag: Option<String>,
    /// The repository holding the stream's layered OS images, tagged by release version
    /// ([`Check::Os`]).
    pub os_images: Option<(ImageRef, Arc<dyn Store>)>,
}

/// Runs `check`; returns the lines it reports, or the failure.
pub async fn verify(check: Check, input: &CheckInput) -> Result<Vec<String>, StreamError> {
    let (image, store) = &input.release;
    let release = Release::load_image(store.as_ref(), image).await?;
    let fail = |message: String| StreamError::Check {
        check: check.to_string(),
        release: release.name.clone(),
        message,
    };
    match check {
        Check::Images => images(&release, &input.sources).await.map_err(fail),
        Check::Manifests => manifests(&release, store.as_ref()).await.map_err(fail),
        Check::Os => os(&release, input).await.map_err(fail),
        Check::Upgrade => {
            let Some((from, from_store)) = &input.initial else {
                return Err(fail("no upgrade source given".to_string()));
            };
            let initial = Release::load_image(from_store.as_ref(), from).await?;
            upgrade(&initial, &release).map_err(fail)
        }
    }
}

async fn images(release: &Release, sources: &StoreMap) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (tag, c) in &release.components {
        match resolve(&c.image, sources).await {
            Ok(n) => lines.push(format!("{tag} {} ({n} blobs)", c.pullspec)),
            Err(e) => failures.push(format!("{tag} {}: {e}", c.pullspec)),
        }
    }
    if failures.is_empty() {
        lines.push(format!("{} images resolve", release.components.len()));
        Ok(lines)
    } else {
        Err(format!(
            "{} of {} images do not resolve: {}",
            failures.len(),
            release.components.len(),
            failures.join("; ")
        ))
    }
}

/// Reads `image`'s manifest (and children) and checks every config blob; returns how many
/// blobs were checked.
async fn resolve(image: &ImageRef, sources: &StoreMap) -> Result<usize, String> {
    let found = sources
        .resolve(image, Access::Read)
        .await
        .map_err(|e| e.to_string())?;
    let (store, repo) = (found.store, found.repository);
    let reference = image
        .manifest_ref()
        .ok_or_else(|| "names no tag or digest".to_string())?;
    let top = store
        .read_manifest(&repo, &reference)
        .await
        .map_err(|e| e.to_string())?;
    let mut manifests = vec![top];
    let mut blobs = 0;
    while let Some(m) = manifests.pop() {
        match m.view().map_err(|e| e.to_string())? {
            ManifestView::Index(index) => {
                for child in index.manifests() {
                    let child =
                        BlobRef::from_descriptor(child, m.digest()).map_err(|e| e.to_string())?;
                    let child = store
                        .read_manifest(&repo, &ManifestRef::Digest(child.digest))
                        .await
                        .map_err(|e| e.to_string())?;
                    manifests.push(child);
                }
            }
            ManifestView::Image(view) => {
                let config = BlobRef::from_descriptor(view.config(), m.digest())
                    .map_err(|e| e.to_string())?;
                if store
                    .blob_size(&repo, &config.digest)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    return Err(format!("config blob {} is missing", config.digest));
                }
                blobs += 1;
            }
        }
    }
    Ok(blobs)
}

async fn manifests(release: &Release, store: &dyn Store) -> Result<Vec<String>, String> {
    let repo = release_repo(release)?;
    let layer = store
        .get_blob(&repo, &release.layer_digest, MAX_RELEASE_LAYER)
        .await
        .map_err(|e| e.to_string())?;
    let result = tokio::task::spawn_blocking(move || parse_manifests(&layer))
        .await
        .map_err(|e| format!("parser thread failed: {e}"))?;
    let (files, docs) = result?;
    Ok(vec![format!(
        "{files} files, {docs} Kubernetes objects parse"
    )])
}

fn release_repo(release: &Release) -> Result<String, String> {
    let image: ImageRef = release
        .pull_spec
        .parse()
        .map_err(|e: okd_oci::Error| e.to_string())?;
    Ok(image.repository().to_string())
}

/// Parses every `.yaml`, `.yml` and `.json` file of `release-manifests/` in a gzip'd tar layer.
fn parse_manifests(layer: &[u8]) -> Result<(usize, usize), String> {
    let gz = flate2::read::GzDecoder::new(layer);
    let mut archive = tar::Archive::new(gz);
    let (mut files, mut docs) = (0, 0);
    let mut errors = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .to_string();
        let name = path.trim_start_matches("./");
        let Some(file) = name.strip_prefix(&format!("{RELEASE_MANIFESTS}/")) else {
            continue;
        };
        if !(file.ends_with(".yaml") || file.ends_with(".yml") || file.ends_with(".json")) {
            continue;
        }
        let mut text = String::new();
        if let Err(e) = entry.read_to_string(&mut text) {
            errors.push(format!("{file}: {e}"));
            continue;
        }
        files += 1;
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            match serde_yaml_ng::Value::deserialize(doc) {
                Ok(serde_yaml_ng::Value::Null) => {}
                Ok(v) => {
                    let has = |k: &str| {
                        v.get(k)
                            .and_then(|x| x.as_str())
                            .is_some_and(|s| !s.is_empty())
                    };
                    if has("apiVersion") && has("kind") {
                        docs += 1;
                    } else {
                        errors.push(format!("{file}: document {i} has no apiVersion and kind"));
                    }
                }
                Err(e) => errors.push(format!("{file}: document {i}: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok((files, docs))
    } else {
        Err(format!("{} problems: {}", errors.len(), errors.join("; ")))
    }
}

async fn os(release: &Release, input: &CheckInput) -> Result<Vec<String>, String> {
    let tag = input
        .os_tag
        .as_deref()
        .ok_or_else(|| "no OS tag given".to_string())?;
    let component = release
        .component(tag)
        .ok_or_else(|| format!("the payload has no {tag} tag"))?;
    let found = input
        .sources
        .resolve(&component.image, Access::Read)
        .await
        .map_err(|e| e.to_string())?;
    let (store, repo) = (found.store, found.repository);
    let info = okd_coreos::inspect::inspect(
        store.as_ref(),
        &repo,
        &ManifestRef::Digest(component.digest.clone()),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    if !info.is_os_image() {
        return Err(format!("{tag} {} is not an OS image", component.pullspec));
    }
    let mut lines = vec![format!(
        "{tag} {} is an OS image ({})",
        component.pullspec,
        info.os_version().unwrap_or("no machine-os version")
    )];
    if let Some((images, images_store)) = &input.os_images {
        let expected = images_store
            .manifest_digest(images.repository(), &ManifestRef::Tag(release.name.clone()))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no layered OS image tagged {} in {}",
                    release.name,
                    images.repository()
                )
            })?;
        if expected != component.digest {
            return Err(format!(
                "{tag} points at {}, not at the layered image {expected}",
                component.digest
            ));
        }
        if !info.is_derived() {
            return Err(format!(
                "{tag} {} has no layer over its base OS",
                component.pullspec
            ));
        }
        lines.push(format!("{tag} is the layered image {expected}"));
    }
    Ok(lines)
}

fn upgrade(initial: &Release, release: &Release) -> Result<Vec<String>, String> {
    let from: ReleaseVersion = initial.version().map_err(|e| e.to_string())?;
    let to: ReleaseVersion = release.version().map_err(|e| e.to_string())?;
    if to <= from {
        return Err(format!("{to} is not newer than {from}"));
    }
    let changed = release
        .components
        .iter()
        .filter(|(tag, c)| initial.component(tag).is_none_or(|i| i.digest != c.digest))
        .count();
    Ok(vec![format!(
        "{from} -> {to}: both releases load, {changed} of {} components differ",
        release.components.len()
    )])
}
