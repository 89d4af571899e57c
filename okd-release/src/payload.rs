//! What a release build produces: the assembled [`Payload`] and the written [`BuiltRelease`].

use chrono::{DateTime, Utc};
use okd_oci::{Digest, RawManifest};

use crate::merge::PayloadFile;
use crate::platform::ListChild;
use crate::release_image::{ReleaseLayer, write_release_layer};
use crate::{Error, ImageReferences, ReleaseMetadata};

/// The assembled payload, before it becomes an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The release name.
    pub name: String,
    /// The creation time (whole seconds).
    pub created: DateTime<Utc>,
    /// `release-manifests/image-references`.
    pub references: ImageReferences,
    /// `release-manifests/release-metadata`.
    pub metadata: ReleaseMetadata,
    /// The operator manifests, in layer order.
    pub files: Vec<PayloadFile>,
    /// The date of the directory and the two documents in the layer.
    pub newest: i64,
    /// The operators that contributed manifests.
    pub operators: Vec<String>,
    /// Tags dropped because nothing needed them.
    pub pruned: Vec<String>,
    /// The pullspec of the image the release is built on.
    pub base_pullspec: String,
    /// The components copied into the content mirror (none without one).
    pub mirrored: Vec<crate::content_mirror::MirrorCopy>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
    /// The digest a rebuild of an unchanged release must reproduce.
    pub expected_digest: Option<Digest>,
}

impl Payload {
    /// Writes the gzip'd `release-manifests/` layer. Blocking: compression.
    pub fn release_layer(&self) -> Result<ReleaseLayer, Error> {
        write_release_layer(
            self.references.to_json().as_bytes(),
            self.metadata.to_json().as_bytes(),
            &self.files,
            self.newest,
        )
    }
}

/// The merged files with the extra manifests added (dated like the rest of the layer).
pub(crate) fn with_extra_manifests(
    name: &str,
    mut files: Vec<PayloadFile>,
    extras: &[PayloadFile],
    newest: i64,
) -> Result<Vec<PayloadFile>, Error> {
    for extra in extras {
        let plain = !extra.name.is_empty()
            && !extra.name.contains('/')
            && extra.name != "."
            && extra.name != "..";
        if !plain {
            return Err(Error::Build {
                name: name.to_string(),
                reason: format!(
                    "extra manifest name {:?} is not a plain file name",
                    extra.name
                ),
            });
        }
        let taken = extra.name == "image-references"
            || extra.name == "release-metadata"
            || files.iter().any(|f| f.name == extra.name);
        if taken {
            return Err(Error::Build {
                name: name.to_string(),
                reason: format!("extra manifest {} is already a payload file", extra.name),
            });
        }
        files.push(PayloadFile {
            mtime: newest,
            ..extra.clone()
        });
    }
    Ok(files)
}

/// A release image that was written.
#[derive(Debug, Clone)]
pub struct BuiltRelease {
    /// What went into it.
    pub payload: Payload,
    /// Its manifest digest (the manifest list's, for a list).
    pub digest: Digest,
    /// Its manifest (the manifest list, for a list).
    pub manifest: RawManifest,
    /// Its configuration (for a list, that of its linux/amd64 image, else of its first).
    pub config: bytes::Bytes,
    /// The release layer's digest.
    pub layer_digest: Digest,
    /// The release layer's uncompressed digest.
    pub layer_diff_id: Digest,
    /// The repository and tag written (or, for a dry run, that would have been).
    pub written_to: String,
    /// For a manifest list, its images (each the base's child with the release layer
    /// appended), in list order; empty for a single image.
    pub children: Vec<ListChild>,
    /// Whether the image was written; false for a dry run.
    pub pushed: bool,
}

impl BuiltRelease {
    /// The line `oc adm release new` ends with: `<digest> <name> <created RFC 3339>`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} {}",
            self.digest,
            self.payload.name,
            self.payload
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}
