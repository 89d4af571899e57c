//! The manifest format of a stream's release images.
//!
//! `oc adm release new` writes release images as Docker schema 2 images, and okd-release's
//! builder does the same. Readers of OCI image layouts (skopeo, umoci) only look at OCI
//! manifests there, so a stream writing to a layout stores its releases as OCI images by
//! default: the same configuration and layer blobs, described by an OCI manifest (which has
//! its own digest). [`ReleaseFormat`] chooses.
//!
//! ```
//! use okd_streams::stream::{ReleaseFormat, StoreLocation};
//! let layout: StoreLocation = "oci:target/okd-demo".parse()?;
//! assert_eq!(ReleaseFormat::default_for(&layout), ReleaseFormat::Oci);
//! let registry: StoreLocation = "docker://quay.io/example".parse()?;
//! assert_eq!(ReleaseFormat::default_for(&registry), ReleaseFormat::Docker);
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use okd_oci::{RawManifest, media_type};
use serde_json::Value;

use super::{StoreLocation, StreamError};

/// How release images are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseFormat {
    /// Docker schema 2, as `oc adm release new` writes them.
    Docker,
    /// OCI image manifest.
    Oci,
}

impl ReleaseFormat {
    /// OCI for layouts (what layout readers understand), Docker schema 2 for registries (what
    /// `oc` writes).
    pub fn default_for(location: &StoreLocation) -> ReleaseFormat {
        match location {
            StoreLocation::Layout { .. } => ReleaseFormat::Oci,
            StoreLocation::Registry { .. } => ReleaseFormat::Docker,
        }
    }
}

fn oci_type(docker: &str) -> &str {
    match docker {
        media_type::DOCKER_CONFIG => media_type::OCI_CONFIG,
        media_type::DOCKER_LAYER_GZIP => media_type::OCI_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        }
        other => other,
    }
}

/// The OCI manifest describing the same configuration and layers as the Docker schema 2
/// manifest `docker` (which must be one of okd-streams' own: it is re-serialised).
pub fn to_oci(docker: &RawManifest) -> Result<RawManifest, StreamError> {
    let bad = |m: String| StreamError::Manifest {
        digest: docker.digest().to_string(),
        message: m,
    };
    if docker.media_type() == media_type::OCI_MANIFEST {
        return Ok(docker.clone());
    }
    if docker.media_type() != media_type::DOCKER_MANIFEST {
        return Err(bad(format!(
            "cannot convert a {} manifest",
            docker.media_type()
        )));
    }
    let mut v: Value = serde_json::from_slice(docker.bytes()).map_err(|e| bad(e.to_string()))?;
    v["mediaType"] = Value::from(media_type::OCI_MANIFEST);
    let retype = |d: &mut Value| {
        if let Some(t) = d.get("mediaType").and_then(Value::as_str) {
            let t = oci_type(t).to_string();
            d["mediaType"] = Value::from(t);
        }
    };
    if let Some(c) = v.get_mut("config") {
        retype(c);
    }
    if let Some(Value::Array(layers)) = v.get_mut("layers") {
        layers.iter_mut().for_each(retype);
    }
    let bytes = serde_json::to_vec(&v).map_err(|e| bad(e.to_string()))?;
    Ok(RawManifest::new(media_type::OCI_MANIFEST, bytes)?)
}

/// Writes the OCI form of the release list `list` (in `repo` of `store`, its images there):
/// each image as an OCI manifest, untagged, then an OCI index of them tagged `tag`.
pub(crate) async fn to_oci_list(
    store: &dyn okd_oci::Store,
    repo: &str,
    list: &RawManifest,
    tag: &str,
) -> Result<RawManifest, StreamError> {
    let children = okd_release::platform::list_children(list, &list.digest().to_string())?;
    let mut images = Vec::with_capacity(children.len());
    for child in children {
        let docker = store
            .read_manifest(repo, &okd_oci::ManifestRef::Digest(child.digest.clone()))
            .await?;
        let oci = to_oci(&docker)?;
        store.write_manifest(repo, &oci, None).await?;
        images.push(super::manifest_list::ListImage {
            platform: child.platform,
            manifest: oci,
        });
    }
    super::manifest_list::write_list(store, repo, &images, Some(tag)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_media_types_only() {
        let d = okd_oci::Digest::sha256_of(b"c");
        let l = okd_oci::Digest::sha256_of(b"l");
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":1,"digest":"{d}"}},"layers":[{{"mediaType":"{}","size":1,"digest":"{l}"}}]}}"#,
            media_type::DOCKER_MANIFEST,
            media_type::DOCKER_CONFIG,
            media_type::DOCKER_LAYER_GZIP
        );
        let m = RawManifest::new(media_type::DOCKER_MANIFEST, docker.into_bytes()).unwrap();
        let oci = to_oci(&m).unwrap();
        let text = String::from_utf8(oci.bytes().to_vec()).unwrap();
        assert!(!text.contains("docker"), "{text}");
        assert!(text.contains(&d.to_string()) && text.contains(&l.to_string()));
        assert_eq!(to_oci(&m).unwrap().digest(), oci.digest());
        assert_eq!(to_oci(&oci).unwrap().digest(), oci.digest());
    }
}
