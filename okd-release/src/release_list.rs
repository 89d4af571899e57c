//! Writing a multi-architecture release: the release layer appended to every image of the base
//! manifest list, as `oc adm release new --keep-manifest-list` does (`oc image append
//! --keep-manifest-list`).
//!
//! Each child of the base list becomes a release image of its own: the same release layer, its
//! own configuration edited as for a single image (so its `io.openshift.release.base-image-digest`
//! label names that child, and its OS and architecture stay the child's). A new list then names
//! the new children in the base list's order, with the base list's media type and each entry's
//! platform, URLs and annotations kept; only the digest, size and media type of each entry
//! change. Everything is computed before anything is written; the children are written untagged
//! and the list is tagged last, so a failure leaves no tag pointing at a partial release.

use std::collections::BTreeSet;

use bytes::Bytes;
use okd_oci::{ManifestRef, RawManifest, Store};
use serde::{Deserialize, Serialize};

use crate::builder::check_reproduced;
use crate::payload::Payload;
use crate::platform::{ListChild, Platform, PlatformFilter, list_children};
use crate::release_image::{
    BaseImage, NewParts, ReleaseLayer, push, read_base, release_config, schema2_manifest,
};
use crate::{Error, gojson};

/// The base manifest list and where it lives.
#[derive(Clone, Copy)]
pub(crate) struct BaseList<'a> {
    /// The store holding it.
    pub store: &'a dyn Store,
    /// Its repository there.
    pub repo: &'a str,
    /// The list.
    pub list: &'a RawManifest,
    /// Its pullspec, for messages.
    pub pullspec: &'a str,
}

/// A written release manifest list.
pub(crate) struct WrittenList {
    /// The new list.
    pub manifest: RawManifest,
    /// The configuration of its linux/amd64 image (else of its first).
    pub config: Bytes,
    /// Its images, in list order.
    pub children: Vec<ListChild>,
}

/// A manifest list entry's platform, in the field order distribution writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PlatformSpec {
    architecture: String,
    os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    features: Vec<String>,
}

/// A manifest list entry, in the field order of the distribution (v3) `Descriptor` oc writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<PlatformSpec>,
}

/// A manifest list or OCI index.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct List {
    schema_version: u32,
    #[serde(default)]
    media_type: String,
    manifests: Vec<Entry>,
}

/// One child's release image, computed but not yet written.
struct Child {
    base: BaseImage,
    config: String,
    manifest: RawManifest,
    platform: Platform,
}

/// Appends `layer` to every image of `base` (to those of the architectures in `keep` when
/// given), then writes the new images and the new list (tagged `tag`) into `to_repo` of `to`.
pub(crate) async fn write_list(
    base: BaseList<'_>,
    keep: Option<&BTreeSet<String>>,
    payload: &Payload,
    layer: &ReleaseLayer,
    to: &dyn Store,
    to_repo: &str,
    tag: &str,
) -> Result<WrittenList, Error> {
    let invalid = |reason: String| Error::UnsupportedImage {
        image: base.pullspec.to_string(),
        reason,
    };
    let mut doc: List = serde_json::from_slice(base.list.bytes())
        .map_err(|e| invalid(format!("unreadable manifest list: {e}")))?;
    let platforms = list_children(base.list, base.pullspec)?;
    if doc.manifests.is_empty() {
        return Err(invalid("the manifest list is empty".to_string()));
    }
    let (entries, platforms) = keep_only(keep, doc.manifests, platforms, base.pullspec)?;
    doc.manifests = entries;
    let mut children = Vec::with_capacity(platforms.len());
    for listed in &platforms {
        let what = format!("{} ({})", base.pullspec, listed.platform);
        let image = read_base(
            base.store,
            base.repo,
            &ManifestRef::Digest(listed.digest.clone()),
            &what,
            &PlatformFilter::Default,
        )
        .await?;
        let config = release_config(&image, &payload.name, payload.created, layer).to_json();
        let manifest = schema2_manifest(config.as_bytes(), &image.layers, layer)?;
        children.push(Child {
            base: image,
            config,
            manifest,
            platform: listed.platform.clone(),
        });
    }
    for (entry, child) in doc.manifests.iter_mut().zip(&children) {
        entry.media_type = child.manifest.media_type().to_string();
        entry.size = child.manifest.size();
        entry.digest = child.manifest.digest().to_string();
    }
    let media_type = base.list.media_type().to_string();
    doc.media_type = media_type.clone();
    let text = gojson::to_string_indent_with(&doc, b"   ")
        .map_err(|e| invalid(format!("cannot write the new manifest list: {e}")))?;
    let manifest = RawManifest::new(&media_type, text.into_bytes())?;
    check_reproduced(payload, &manifest)?;

    for child in &children {
        let parts = NewParts {
            layer,
            config: child.config.as_bytes(),
            manifest: &child.manifest,
        };
        push(base.store, &child.base, parts, to, to_repo, None).await?;
    }
    to.write_manifest(to_repo, &manifest, Some(tag)).await?;
    let amd64 = PlatformFilter::Platform(Platform::linux_amd64());
    let config = children
        .iter()
        .find(|c| amd64.matches(&c.platform))
        .or(children.first())
        .map(|c| Bytes::from(c.config.clone()))
        .unwrap_or_default();
    Ok(WrittenList {
        manifest,
        config,
        children: children
            .iter()
            .map(|c| ListChild {
                platform: c.platform.clone(),
                digest: c.manifest.digest().clone(),
                size: c.manifest.size(),
                media_type: c.manifest.media_type().to_string(),
            })
            .collect(),
    })
}

/// The entries (and their children) of the architectures in `keep`, in list order; every
/// architecture of `keep` must be there.
fn keep_only(
    keep: Option<&BTreeSet<String>>,
    entries: Vec<Entry>,
    children: Vec<ListChild>,
    pullspec: &str,
) -> Result<(Vec<Entry>, Vec<ListChild>), Error> {
    let Some(keep) = keep else {
        return Ok((entries, children));
    };
    if let Some(missing) = keep
        .iter()
        .find(|a| !children.iter().any(|c| &c.platform.architecture == *a))
    {
        return Err(Error::PlatformNotFound {
            image: pullspec.to_string(),
            wanted: format!("linux/{missing}"),
            available: children.iter().map(|c| c.platform.to_string()).collect(),
        });
    }
    Ok(entries
        .into_iter()
        .zip(children)
        .filter(|(_, c)| keep.contains(&c.platform.architecture))
        .unzip())
}
