//! `copy::retag`, the promotion of an image within one store, on every kind of store: a memory
//! store, an image layout and a spawned `docker-registry`.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::sync::Mutex;

use async_trait::async_trait;
use okd_oci::copy::{self, Retag};
use okd_oci::{
    Blob, BlobWrite, ByteStream, Digest, Error, LayoutStore, ManifestRef, MemoryStore, RawManifest,
    Store, StoreStats,
};
use registry_support::{Flavor, TestImage, image, index, push, store};
use testkit::Registry;

const SOURCE: &str = "okd/release-scos";
const TARGET: &str = "okd/scos";
const TAG: &str = "scos-4.19";

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

fn by_digest(d: &Digest) -> ManifestRef {
    ManifestRef::Digest(d.clone())
}

/// Pushes two images and an index over them to [`SOURCE`].
async fn release(store: &dyn Store, seed: u64) -> (RawManifest, [TestImage; 2]) {
    let amd = image(Flavor::Oci, seed, 2);
    let arm = image(Flavor::Oci, seed + 1, 2);
    push(store, SOURCE, &amd, None).await;
    push(store, SOURCE, &arm, None).await;
    let list = index(Flavor::Oci, &[&amd.manifest, &arm.manifest]);
    store
        .write_manifest(SOURCE, &list, Some(&format!("4.19.0-{seed}")))
        .await
        .unwrap();
    (list, [amd, arm])
}

/// Everything a promotion must guarantee, on `store`, which writes `manifests` manifests to
/// promote an index of two images into another repository.
async fn promotes_once_and_moves_the_tag(store: &dyn Store, manifests: u64) {
    let (list, children) = release(store, 10).await;

    let outcome = copy::retag(store, SOURCE, TARGET, list.digest(), TAG)
        .await
        .unwrap();
    let Retag::Tagged(stats) = outcome else {
        panic!("{} first promotion: {outcome:?}", store.location());
    };
    assert_eq!(stats.manifests_written, manifests);
    assert_eq!(
        stats.blobs_copied, 0,
        "a promotion within a store moves no bytes"
    );

    // The exact bytes under the tag, every child and blob present in the target.
    let published = store.read_manifest(TARGET, &tag(TAG)).await.unwrap();
    assert_eq!(published.bytes(), list.bytes());
    for child in &children {
        let m = store
            .read_manifest(TARGET, &by_digest(child.manifest.digest()))
            .await
            .unwrap();
        assert_eq!(m.bytes(), child.manifest.bytes());
        for (digest, data) in &child.blobs {
            assert_eq!(
                store.blob_size(TARGET, digest).await.unwrap(),
                Some(data.len() as u64)
            );
        }
    }

    // Again: nothing written.
    let written = store.stats().manifests_written;
    assert_eq!(
        copy::retag(store, SOURCE, TARGET, list.digest(), TAG)
            .await
            .unwrap(),
        Retag::AlreadyTagged
    );
    assert_eq!(store.stats().manifests_written, written);
    assert_eq!(store.list_tags(TARGET).await.unwrap(), [TAG]);

    // A newer release moves the tag; a plain image needs no child manifests.
    let single = image(Flavor::Docker, 30, 1);
    push(store, SOURCE, &single, None).await;
    let outcome = copy::retag(store, SOURCE, TARGET, single.manifest.digest(), TAG)
        .await
        .unwrap();
    assert!(
        matches!(outcome, Retag::Tagged(s) if s.manifests_written == 1),
        "{outcome:?}"
    );
    assert_eq!(
        store.manifest_digest(TARGET, &tag(TAG)).await.unwrap(),
        Some(single.manifest.digest().clone())
    );

    // Within one repository: only the tag is written.
    let outcome = copy::retag(store, SOURCE, SOURCE, list.digest(), "latest")
        .await
        .unwrap();
    assert!(
        matches!(outcome, Retag::Tagged(s) if s.manifests_written == 1 && s.blobs_mounted == 0),
        "{outcome:?}"
    );
    assert_eq!(
        store.manifest_digest(SOURCE, &tag("latest")).await.unwrap(),
        Some(list.digest().clone())
    );
}

#[tokio::test]
async fn promotes_in_a_memory_store() {
    let store = MemoryStore::new();
    promotes_once_and_moves_the_tag(&store, 3).await;
    assert!(store.stats().blobs_mounted >= 6, "{:?}", store.stats());
}

#[tokio::test]
async fn promotes_in_an_image_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::create(dir.path()).await.unwrap();
    // The repositories of a layout share one pool: the children are there already.
    promotes_once_and_moves_the_tag(&store, 1).await;
    let reopened = LayoutStore::open(dir.path()).await.unwrap();
    assert_eq!(reopened.list_tags(TARGET).await.unwrap(), [TAG]);
}

#[tokio::test]
async fn promotes_in_a_registry() {
    let registry = Registry::spawn().await.expect("docker-registry starts");
    let store = store(&registry);
    promotes_once_and_moves_the_tag(&store, 3).await;
    assert!(store.stats().blobs_mounted >= 6, "{:?}", store.stats());
}

#[tokio::test]
async fn a_missing_manifest_writes_nothing() {
    let store = MemoryStore::new();
    let absent = Digest::sha256_of(b"no such manifest");
    let err = copy::retag(&store, SOURCE, TARGET, &absent, TAG)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ManifestNotFound { .. }), "{err}");
    assert!(store.list_tags(TARGET).await.unwrap().is_empty());
    assert_eq!(store.stats().manifests_written, 0);
}

#[tokio::test]
async fn an_interrupted_promotion_completes_without_redoing_children() {
    let store = MemoryStore::new();
    let (list, [amd, _]) = release(&store, 50).await;
    // An earlier attempt got as far as one child.
    push(&store, TARGET, &amd, None).await;
    let outcome = copy::retag(&store, SOURCE, TARGET, list.digest(), TAG)
        .await
        .unwrap();
    assert!(
        matches!(outcome, Retag::Tagged(s) if s.manifests_written == 2),
        "{outcome:?}"
    );
    assert_eq!(
        store.manifest_digest(TARGET, &tag(TAG)).await.unwrap(),
        Some(list.digest().clone())
    );
}

/// A memory store that records the manifests written, in order.
#[derive(Debug, Default)]
struct Recording {
    inner: MemoryStore,
    writes: Mutex<Vec<(String, Digest, Option<String>)>>,
}

#[async_trait]
impl Store for Recording {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        self.inner.blob_size(repo, digest).await
    }
    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        self.inner.read_blob(repo, digest).await
    }
    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        self.inner.write_blob(repo, digest, size, data).await
    }
    async fn mount_blob(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        self.inner.mount_blob(repo, from_repo, digest).await
    }
    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        self.inner.read_manifest(repo, reference).await
    }
    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        self.inner.manifest_digest(repo, reference).await
    }
    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        self.inner.write_manifest(repo, manifest, tag).await?;
        self.writes.lock().unwrap().push((
            repo.to_string(),
            manifest.digest().clone(),
            tag.map(str::to_string),
        ));
        Ok(())
    }
    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        self.inner.list_tags(repo).await
    }
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        self.inner.delete_tag(repo, tag).await
    }
    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
}

#[tokio::test]
async fn children_first_tag_last() {
    let store = Recording::default();
    let (list, [amd, arm]) = release(&store, 70).await;
    store.writes.lock().unwrap().clear();
    copy::retag(&store, SOURCE, TARGET, list.digest(), TAG)
        .await
        .unwrap();
    let writes = store.writes.lock().unwrap().clone();
    let expected = [
        (TARGET.to_string(), amd.manifest.digest().clone(), None),
        (TARGET.to_string(), arm.manifest.digest().clone(), None),
        (
            TARGET.to_string(),
            list.digest().clone(),
            Some(TAG.to_string()),
        ),
    ];
    assert_eq!(writes, expected);
}
