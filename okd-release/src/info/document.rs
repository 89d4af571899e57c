//! The JSON document of `okd-streams release info -o okd-json`: okd-streams' own view of a
//! release, with the images as a list and the manifest files listed.
//!
//! Field names follow `oc adm release info -o json` where oc has the same information
//! (`contentDigest`, `listDigest`, `metadata`, `references`, `displayVersions`, `warnings`);
//! `digest` here is the digest to pull by (the list's, for a manifest list), where oc's is the
//! image manifest's. The rest is okd-streams' own and only ever grows. For oc's document, see
//! [`ReleaseInfo`](super::ReleaseInfo).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::{ComponentVersions, Error, ListChild, Release, ReleaseFile};

/// What `okd-streams release info -o okd-json` prints for one release; serialise it with serde.
///
/// ```
/// # fn demo(release: &okd_release::Release) -> Result<(), Box<dyn std::error::Error>> {
/// use okd_release::info::InfoDocument;
///
/// let json = serde_json::to_string_pretty(&InfoDocument::of(release)?)?;
/// println!("{json}");
/// # Ok(()) }
/// ```
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoDocument<'a> {
    /// The reference as given.
    image: &'a str,
    /// The release name.
    name: &'a str,
    /// The digest to pull by (the manifest list's, when the image is one).
    digest: String,
    /// The image manifest's digest.
    content_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_digest: Option<String>,
    /// The entries of the manifest list (platform, digest, size, media type), in list order.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    list_manifests: &'a [ListChild],
    pull_spec: &'a str,
    media_type: &'a str,
    created: Option<String>,
    os: &'a str,
    architecture: &'a str,
    labels: &'a BTreeMap<String, String>,
    /// `release-manifests/release-metadata`, parsed.
    metadata: Option<Value>,
    /// `release-manifests/image-references`, parsed.
    references: Value,
    display_versions: &'a ComponentVersions,
    images: Vec<Image<'a>>,
    manifests: &'a [ReleaseFile],
    metadata_files: &'a [ReleaseFile],
    warnings: &'a [String],
}

/// One entry of `images`: a tag of image-references that has a pullspec.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image<'a> {
    name: &'a str,
    pull_spec: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_location: Option<&'a str>,
}

impl<'a> InfoDocument<'a> {
    /// The document of `r`. Fails only if `r`'s image-references or release-metadata do not
    /// serialise to JSON that parses back.
    pub fn of(r: &'a Release) -> Result<InfoDocument<'a>, Error> {
        let references: Value = serde_json::from_str(&r.references.to_json())
            .map_err(|e| Error::document("release-manifests/image-references", e))?;
        let metadata = r
            .metadata
            .as_ref()
            .map(|m| serde_json::from_str::<Value>(&m.to_json()))
            .transpose()
            .map_err(|e| Error::document("release-manifests/release-metadata", e))?;
        let images = r
            .references
            .tags()
            .iter()
            .filter_map(|tag| {
                let pull_spec = tag.pullspec()?;
                Some(Image {
                    name: &tag.name,
                    pull_spec,
                    digest: r.component(&tag.name).map(|c| c.digest.to_string()),
                    commit: tag.commit(),
                    source_location: tag.source_location(),
                })
            })
            .collect();
        Ok(InfoDocument {
            image: &r.image,
            name: &r.name,
            digest: r.pull_digest().to_string(),
            content_digest: r.digest.to_string(),
            list_digest: r.list_digest.as_ref().map(ToString::to_string),
            list_manifests: &r.list_children,
            pull_spec: &r.pull_spec,
            media_type: &r.media_type,
            created: r
                .created()
                .map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            os: &r.config.os,
            architecture: &r.config.architecture,
            labels: &r.config.labels,
            metadata,
            references,
            display_versions: &r.component_versions,
            images,
            manifests: &r.manifests,
            metadata_files: &r.other_files,
            warnings: &r.warnings,
        })
    }
}
