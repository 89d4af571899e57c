//! The document `oc adm release info -o json` prints: oc's `ReleaseInfo`, field for field.
//!
//! Keys come in oc's order and values are written as Go's `json.MarshalIndent` writes them, so
//! a script reading oc's document reads this one: `digest` is the image manifest's digest (the
//! child's, for a manifest list), `listDigest` the list's (empty when there is none), `config`
//! the image configuration as oc decodes it, `references` the image-references ImageStream,
//! `displayVersions` the component versions. `versions` (deprecated in oc, never filled) is
//! `null`, and so is `images`, which oc fills only with `--include-images`.
//!
//! ```
//! # fn demo(release: &okd_release::Release) -> Result<(), okd_release::Error> {
//! use okd_release::info::ReleaseInfo;
//!
//! println!("{}", ReleaseInfo::of(release)?.to_json());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::docker_config::DockerImageConfig;
use crate::{ComponentVersions, Error, ImageReferences, Release, ReleaseMetadata, gojson};

/// `oc adm release info -o json` for one release. See the [module docs](self).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInfo<'a> {
    image: &'a str,
    digest: String,
    content_digest: String,
    #[serde(rename = "listDigest")]
    list_digest: String,
    config: DockerImageConfig,
    metadata: Option<&'a ReleaseMetadata>,
    references: &'a ImageReferences,
    versions: Option<BTreeMap<String, String>>,
    display_versions: Option<&'a ComponentVersions>,
    versions_tags: &'a BTreeMap<String, String>,
    images: Option<BTreeMap<String, String>>,
    warnings: Option<&'a [String]>,
}

impl<'a> ReleaseInfo<'a> {
    /// The document of `r`. Fails only if `r`'s configuration does not decode as oc decodes it.
    pub fn of(r: &'a Release) -> Result<ReleaseInfo<'a>, Error> {
        let config = DockerImageConfig::parse(&r.raw_config).map_err(|e| match e {
            Error::InvalidDocument { reason, .. } => Error::InvalidDocument {
                file: format!("config {} of {}", r.config_digest, r.image),
                reason,
            },
            other => other,
        })?;
        Ok(ReleaseInfo {
            image: &r.image,
            digest: r.digest.to_string(),
            // oc tells the two apart for schema 1 images only, which a release never is.
            content_digest: r.digest.to_string(),
            list_digest: r
                .list_digest
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            config,
            metadata: r.metadata.as_ref(),
            references: &r.references,
            versions: None,
            display_versions: (!r.component_versions.is_empty()).then_some(&r.component_versions),
            versions_tags: &r.component_tags,
            images: None,
            warnings: (!r.warnings.is_empty()).then_some(r.warnings.as_slice()),
        })
    }

    /// The document as oc prints it (`json.MarshalIndent(…, "", "  ")`), without the final
    /// newline.
    pub fn to_json(&self) -> String {
        // Strings, numbers, maps and the crate's own Go-shaped documents: cannot fail.
        gojson::to_string_indent(self).unwrap_or_else(|e| unreachable!("release info: {e}"))
    }
}
