//! The JSON document of `release info -o json`.
//!
//! Field names follow `oc adm release info -o json` where oc has the same information
//! (`digest`, `contentDigest`, `listDigest`, `metadata`, `references`, `displayVersions`,
//! `warnings`); the rest is okd-streams' own and only ever grows.

use std::collections::BTreeMap;

use okd_release::{Release, ReleaseFile};
use serde::Serialize;
use serde_json::Value;

use crate::cli::CliError;

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
    display_versions: &'a okd_release::ComponentVersions,
    images: Vec<Image<'a>>,
    manifests: &'a [ReleaseFile],
    metadata_files: &'a [ReleaseFile],
    warnings: &'a [String],
}

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
    pub fn of(r: &'a Release) -> Result<InfoDocument<'a>, CliError> {
        let references: Value = serde_json::from_str(&r.references.to_json())?;
        let metadata = r
            .metadata
            .as_ref()
            .map(|m| serde_json::from_str::<Value>(&m.to_json()))
            .transpose()?;
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
