//! Manifests kept as the exact bytes they were read as, with typed views parsed from them.
//!
//! Re-serialising a manifest changes its digest, and a release image lists its components by
//! digest, so okd-streams never re-serialises a manifest it did not create: [`RawManifest`] carries
//! the bytes, and [`RawManifest::view`] parses a typed view for traversal.
//!
//! ```
//! use okd_oci::{RawManifest, media_type};
//!
//! let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
//! let m = RawManifest::new(media_type::OCI_INDEX, bytes.to_vec()).unwrap();
//! assert!(m.view().unwrap().is_index());
//! ```

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::{Digest, Error};

/// Media types okd-streams reads and writes.
pub mod media_type {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker image manifest v2 schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image configuration.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker container image configuration.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI uncompressed layer.
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI zstd layer.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// The `Accept` list a client sends so that a registry returns lists and indexes as they are.
    pub const ALL_MANIFESTS: [&str; 4] = [
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST,
    ];

    /// True for the four manifest media types okd-streams passes through.
    pub fn is_manifest(media_type: &str) -> bool {
        ALL_MANIFESTS.contains(&media_type)
    }

    /// True for an index or manifest list.
    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
    }
}

/// Largest manifest accepted, in bytes. The distribution spec asks registries to accept at least
/// 4 MiB; anything larger is refused before it is read into memory.
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

/// A manifest as the exact bytes it was read or built as.
#[derive(Clone, PartialEq, Eq)]
pub struct RawManifest {
    media_type: String,
    bytes: Bytes,
    digest: Digest,
}

impl std::fmt::Debug for RawManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawManifest")
            .field("media_type", &self.media_type)
            .field("digest", &self.digest)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl RawManifest {
    /// Wraps `bytes` of `media_type`, computing the SHA-256 digest.
    ///
    /// Fails when the media type is not a manifest type, the bytes exceed
    /// [`MAX_MANIFEST_SIZE`], or they are not a manifest of that type.
    pub fn new(media_type: &str, bytes: impl Into<Bytes>) -> Result<RawManifest, Error> {
        let bytes = bytes.into();
        let digest = Digest::sha256_of(&bytes);
        Self::with_digest(media_type, bytes, digest)
    }

    /// Wraps `bytes` that were fetched by `expected` digest, verifying that they match it.
    pub fn verified(
        media_type: &str,
        bytes: impl Into<Bytes>,
        expected: &Digest,
    ) -> Result<RawManifest, Error> {
        let bytes = bytes.into();
        let actual = Digest::of(expected.algorithm(), &bytes);
        if &actual != expected {
            return Err(Error::DigestMismatch {
                what: "manifest".to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        Self::with_digest(media_type, bytes, actual)
    }

    /// Wraps bytes whose media type is not known from the transport (a blob in a layout):
    /// the type is taken from the document's `mediaType` field, or inferred from its shape.
    pub fn sniff(bytes: impl Into<Bytes>) -> Result<RawManifest, Error> {
        let bytes = bytes.into();
        let digest = Digest::sha256_of(&bytes);
        let media_type = sniff_media_type(&bytes).ok_or_else(|| Error::InvalidManifest {
            digest: digest.clone(),
            reason: "not a JSON image manifest or index".to_string(),
        })?;
        Self::with_digest(&media_type, bytes, digest)
    }

    fn with_digest(media_type: &str, bytes: Bytes, digest: Digest) -> Result<RawManifest, Error> {
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(Error::ManifestTooLarge {
                what: digest.to_string(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_SIZE as u64,
            });
        }
        if !media_type::is_manifest(media_type) {
            return Err(Error::UnsupportedMediaType {
                what: digest.to_string(),
                media_type: media_type.to_string(),
            });
        }
        let m = RawManifest {
            media_type: media_type.to_string(),
            bytes,
            digest,
        };
        m.view()?;
        Ok(m)
    }

    /// The media type (as sent in `Content-Type`).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Digest of the bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A descriptor pointing at this manifest.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.media_type.as_str().into(),
            self.size(),
            oci_digest(&self.digest),
        )
    }

    /// True for an index or manifest list.
    pub fn is_index(&self) -> bool {
        media_type::is_index(&self.media_type)
    }

    /// Parses the typed view. Docker schema 2 manifests and manifest lists have the same shape as
    /// their OCI counterparts and parse into the same types.
    pub fn view(&self) -> Result<ManifestView, Error> {
        let bad = |e: serde_json::Error| Error::InvalidManifest {
            digest: self.digest.clone(),
            reason: e.to_string(),
        };
        if self.is_index() {
            Ok(ManifestView::Index(Box::new(
                serde_json::from_slice(&self.bytes).map_err(bad)?,
            )))
        } else {
            Ok(ManifestView::Image(Box::new(
                serde_json::from_slice(&self.bytes).map_err(bad)?,
            )))
        }
    }

    /// Digests of every blob and child manifest this manifest references (config and layers, or
    /// the manifests of an index), with their sizes and media types.
    pub fn references(&self) -> Result<Vec<BlobRef>, Error> {
        let descriptors: Vec<Descriptor> = match self.view()? {
            ManifestView::Image(m) => std::iter::once(m.config().clone())
                .chain(m.layers().iter().cloned())
                .collect(),
            ManifestView::Index(i) => i.manifests().clone(),
        };
        descriptors
            .iter()
            .map(|d| BlobRef::from_descriptor(d, &self.digest))
            .collect()
    }
}

/// A reference from a manifest to a blob or child manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// The referenced digest.
    pub digest: Digest,
    /// The declared size.
    pub size: u64,
    /// The declared media type.
    pub media_type: String,
}

impl BlobRef {
    /// Converts an oci-spec descriptor, validating its digest; `parent` names the manifest it came
    /// from in errors.
    pub fn from_descriptor(d: &Descriptor, parent: &Digest) -> Result<BlobRef, Error> {
        let digest: Digest =
            d.digest()
                .to_string()
                .parse()
                .map_err(|e: Error| Error::InvalidManifest {
                    digest: parent.clone(),
                    reason: format!("descriptor: {e}"),
                })?;
        Ok(BlobRef {
            digest,
            size: d.size(),
            media_type: d.media_type().to_string(),
        })
    }
}

/// A typed view of a manifest.
#[derive(Debug, Clone)]
pub enum ManifestView {
    /// An image manifest (OCI or Docker schema 2).
    Image(Box<ImageManifest>),
    /// An index or manifest list.
    Index(Box<ImageIndex>),
}

impl ManifestView {
    /// True for an index or manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self, ManifestView::Index(_))
    }
}

/// Converts our digest into oci-spec's.
pub fn oci_digest(d: &Digest) -> oci_spec::image::Digest {
    // A `Digest` is always a valid sha256/sha512 digest, which oci-spec accepts.
    d.to_string()
        .parse()
        .unwrap_or_else(|_| unreachable!("validated digest {d} rejected by oci-spec"))
}

fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
    }
    let p: Probe = serde_json::from_slice(bytes).ok()?;
    match (p.media_type, p.manifests, p.layers) {
        (Some(mt), _, _) => Some(mt),
        (None, Some(_), _) => Some(media_type::OCI_INDEX.to_string()),
        (None, None, Some(_)) => Some(media_type::OCI_MANIFEST.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = r#"{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
      }
   ]
}"#;

    #[test]
    fn keeps_bytes_and_parses_docker_schema2() {
        let m = RawManifest::new(media_type::DOCKER_MANIFEST, DOCKER.as_bytes().to_vec()).unwrap();
        assert_eq!(m.bytes().as_ref(), DOCKER.as_bytes());
        assert_eq!(m.digest(), &Digest::sha256_of(DOCKER.as_bytes()));
        let refs = m.references().unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].size, 32654);
    }

    #[test]
    fn sniffs_media_type() {
        let m = RawManifest::sniff(DOCKER.as_bytes().to_vec()).unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_MANIFEST);
    }

    #[test]
    fn refuses_oversized_manifest() {
        let mut big = String::from(r#"{"schemaVersion":2,"manifests":[],"x":""#);
        big.push_str(&"a".repeat(MAX_MANIFEST_SIZE));
        big.push_str("\"}");
        let err = RawManifest::new(media_type::OCI_INDEX, big.into_bytes()).unwrap_err();
        assert!(matches!(err, Error::ManifestTooLarge { .. }), "{err}");
    }

    #[test]
    fn verified_rejects_mismatch() {
        let wrong = Digest::sha256_of(b"other");
        let err = RawManifest::verified(
            media_type::DOCKER_MANIFEST,
            DOCKER.as_bytes().to_vec(),
            &wrong,
        )
        .unwrap_err();
        assert!(err.to_string().contains(&wrong.to_string()));
    }

    #[test]
    fn rejects_unknown_descriptor_digest_algorithm() {
        let bad = DOCKER.replace(
            "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
            &format!("sha384:{}", "a".repeat(96)),
        );
        let m = RawManifest::new(media_type::DOCKER_MANIFEST, bad.into_bytes()).unwrap();
        let err = m.references().unwrap_err();
        assert!(err.to_string().contains("sha384"), "{err}");
    }
}
