//! Writing a manifest list of images the stream made (the layered OS images of each
//! architecture, the OCI form of a release list).
//!
//! A Docker manifest list when every image is a Docker schema 2 manifest, else an OCI index,
//! with each entry's platform as the entry of the list it was made from has it. The images
//! must already be in the repository; the list is written last, tagged, so that no tag names a
//! list whose images are missing.

use okd_oci::{RawManifest, Store, media_type};
use okd_release::platform::Platform;
use serde_json::{Value, json};

use super::StreamError;

/// One image of a list: its platform and manifest.
#[derive(Debug, Clone)]
pub(crate) struct ListImage {
    /// The platform the entry names.
    pub platform: Platform,
    /// The image's manifest (already written).
    pub manifest: RawManifest,
}

/// The list of `images`, in order.
pub(crate) fn list_of(images: &[ListImage]) -> Result<RawManifest, StreamError> {
    let docker = images
        .iter()
        .all(|i| i.manifest.media_type() == media_type::DOCKER_MANIFEST);
    let list_type = if docker {
        media_type::DOCKER_MANIFEST_LIST
    } else {
        media_type::OCI_INDEX
    };
    let manifests: Vec<Value> = images
        .iter()
        .map(|i| {
            // Field order as distribution writes a platform.
            let mut platform = serde_json::Map::new();
            platform.insert("architecture".into(), json!(i.platform.architecture));
            platform.insert("os".into(), json!(i.platform.os));
            if let Some(v) = &i.platform.variant {
                platform.insert("variant".into(), json!(v));
            }
            json!({
                "mediaType": i.manifest.media_type(),
                "digest": i.manifest.digest().to_string(),
                "size": i.manifest.size(),
                "platform": Value::Object(platform),
            })
        })
        .collect();
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": list_type,
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| StreamError::Manifest {
        digest: String::new(),
        message: format!("cannot write a manifest list: {e}"),
    })?;
    Ok(RawManifest::new(list_type, bytes)?)
}

/// Writes the list of `images` into `repo` of `store`, tagged `tag`.
pub(crate) async fn write_list(
    store: &dyn Store,
    repo: &str,
    images: &[ListImage],
    tag: Option<&str>,
) -> Result<RawManifest, StreamError> {
    let list = list_of(images)?;
    store.write_manifest(repo, &list, tag).await?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(media: &str, n: u8) -> RawManifest {
        let d = okd_oci::Digest::sha256_of(&[n]);
        let text = format!(
            r#"{{"schemaVersion":2,"mediaType":"{media}","config":{{"mediaType":"c","size":1,"digest":"{d}"}},"layers":[]}}"#
        );
        RawManifest::new(media, text.into_bytes()).unwrap()
    }

    #[test]
    fn docker_images_make_a_docker_list_and_oci_ones_an_index() {
        let img = |m, p: &str| ListImage {
            platform: p.parse().unwrap(),
            manifest: m,
        };
        let docker = [
            img(manifest(media_type::DOCKER_MANIFEST, 1), "linux/amd64"),
            img(manifest(media_type::DOCKER_MANIFEST, 2), "linux/arm64/v8"),
        ];
        let list = list_of(&docker).unwrap();
        assert_eq!(list.media_type(), media_type::DOCKER_MANIFEST_LIST);
        let children = okd_release::platform::list_children(&list, "x").unwrap();
        assert_eq!(children[1].platform.to_string(), "linux/arm64/v8");
        assert_eq!(&children[0].digest, docker[0].manifest.digest());
        let mixed = [
            docker[0].clone(),
            img(manifest(media_type::OCI_MANIFEST, 3), "linux/s390x"),
        ];
        assert_eq!(list_of(&mixed).unwrap().media_type(), media_type::OCI_INDEX);
    }
}
