//! Where a release's components are read from.
//!
//! `image-references` names every component by its original pullspec
//! (`quay.io/okd/scos-content@sha256:…`). When the release itself is read from somewhere else — a
//! layout written by an earlier mirror to disk, or a registry that mirrors it — the components
//! are usually next to it, in the release's repository, and the original registry may not even
//! be reachable (air-gapped sites). So for such a release each component is read from the
//! release's repository when that repository has its digest, and from its original pullspec
//! otherwise. The mapping keeps the original pullspec, which is what cluster mirror
//! configuration needs.

use futures::{StreamExt, TryStreamExt};
use okd_oci::{ImageRef, LayoutRef, ManifestRef, RegistryRef, Store};

use crate::{Error, ImageKind, ImageMapping};

/// The reference to read each mapping from, in order.
pub(crate) async fn localize_components(
    release: &ImageRef,
    store: &dyn Store,
    mappings: &[ImageMapping],
) -> Result<Vec<ImageRef>, Error> {
    // The lookups are made before they are streamed: a stream mapping borrowed items through a
    // closure is not provably `Send`, and callers spawn this future.
    let lookups: Vec<_> = mappings
        .iter()
        .map(|m| read_from(release, store, m))
        .collect();
    futures::stream::iter(lookups)
        .buffered(32)
        .try_collect()
        .await
}

/// Where to read one mapping: next to the release when its repository has the digest.
async fn read_from(
    release: &ImageRef,
    store: &dyn Store,
    m: &ImageMapping,
) -> Result<ImageRef, Error> {
    let Some(digest) = m.source.digest() else {
        return Ok(m.source.clone());
    };
    if m.kind == ImageKind::Release || !is_elsewhere(release, &m.source) {
        return Ok(m.source.clone());
    }
    let local = match release {
        ImageRef::Layout(l) => ImageRef::Layout(LayoutRef {
            path: l.path.clone(),
            repository: l.repository.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }),
        ImageRef::Registry(r) => ImageRef::Registry(RegistryRef {
            registry: r.registry.clone(),
            repository: r.repository.clone(),
            tag: None,
            digest: Some(digest.clone()),
            tag_written: false,
        }),
    };
    let found = store
        .manifest_digest(release.repository(), &ManifestRef::Digest(digest.clone()))
        .await
        .map_err(|e| Error::Source {
            image: local.to_string(),
            source: Box::new(e),
        })?;
    Ok(if found.as_ref() == Some(digest) {
        local
    } else {
        m.source.clone()
    })
}

/// True when the release is not read from the component's own registry.
fn is_elsewhere(release: &ImageRef, component: &ImageRef) -> bool {
    match (release, component) {
        (ImageRef::Registry(r), ImageRef::Registry(c)) => r.registry != c.registry,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okd_oci::{MemoryStore, RawManifest, media_type};

    #[tokio::test]
    async fn reads_components_next_to_a_mirrored_release() {
        let store = MemoryStore::new();
        let m = RawManifest::new(
            media_type::OCI_INDEX,
            br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
        )
        .unwrap();
        store
            .write_manifest("okd/release", &m, Some("a"))
            .await
            .unwrap();
        let here: ImageRef = format!("quay.io/okd/content@{}", m.digest())
            .parse()
            .unwrap();
        let gone: ImageRef = format!("quay.io/okd/content@{}", okd_oci::Digest::sha256_of(b"x"))
            .parse()
            .unwrap();
        let map = |source: ImageRef| ImageMapping {
            name: "c".into(),
            kind: ImageKind::Component,
            source,
            destination: "reg.local/x:y".parse().unwrap(),
        };
        let release: ImageRef = "mirror.local/okd/release:4.19".parse().unwrap();
        let out = localize_components(&release, &store, &[map(here.clone()), map(gone.clone())])
            .await
            .unwrap();
        assert_eq!(
            out[0].to_string(),
            format!("mirror.local/okd/release@{}", m.digest())
        );
        assert_eq!(out[1], gone);

        // A release on the components' own registry reads them where they are.
        let upstream: ImageRef = "quay.io/okd/release:4.19".parse().unwrap();
        let out = localize_components(&upstream, &store, &[map(here.clone())])
            .await
            .unwrap();
        assert_eq!(out[0], here);
    }
}
