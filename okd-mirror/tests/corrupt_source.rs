//! A source that serves damaged bytes: the copy fails with an error naming the blob, and nothing
//! that references the blob reaches the destination.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use okd_mirror::progress::NoProgress;
use okd_mirror::{MirrorPlan, MirrorSpec, Naming, ReleaseMirror, ReleaseTarget, StoreSet, execute};
use okd_oci::{
    Blob, BlobWrite, ByteStream, Digest, ManifestRef, MemoryStore, RawManifest, Store, StoreStats,
};

const NAMES: &[&str] = &[
    "cli",
    "installer",
    "rhel-coreos",
    "machine-config-operator",
    "etcd",
];
const V: &str = "4.19.0-okd-scos.19";

/// A store that serves one blob with a flipped byte.
#[derive(Debug)]
struct Corrupting {
    inner: MemoryStore,
    bad: Mutex<Option<Digest>>,
}

#[async_trait]
impl Store for Corrupting {
    fn location(&self) -> String {
        "corrupting".into()
    }
    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, okd_oci::Error> {
        self.inner.blob_size(repo, digest).await
    }
    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, okd_oci::Error> {
        let blob = self.inner.read_blob(repo, digest).await?;
        if self.bad.lock().unwrap().as_ref() != Some(digest) {
            return Ok(blob);
        }
        let mut data = blob.collect("x", 1 << 20).await?.to_vec();
        data[0] ^= 0xff;
        Ok(Blob::from_bytes(Bytes::from(data)))
    }
    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, okd_oci::Error> {
        self.inner.write_blob(repo, digest, size, data).await
    }
    async fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, okd_oci::Error> {
        self.inner.mount_blob(repo, from, digest).await
    }
    async fn read_manifest(
        &self,
        repo: &str,
        r: &ManifestRef,
    ) -> Result<RawManifest, okd_oci::Error> {
        self.inner.read_manifest(repo, r).await
    }
    async fn manifest_digest(
        &self,
        repo: &str,
        r: &ManifestRef,
    ) -> Result<Option<Digest>, okd_oci::Error> {
        self.inner.manifest_digest(repo, r).await
    }
    async fn write_manifest(
        &self,
        repo: &str,
        m: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), okd_oci::Error> {
        self.inner.write_manifest(repo, m, tag).await
    }
    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, okd_oci::Error> {
        self.inner.list_tags(repo).await
    }
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), okd_oci::Error> {
        self.inner.delete_tag(repo, tag).await
    }
    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
}

#[tokio::test]
async fn corrupt_blob_fails_its_images_and_nothing_references_it() {
    let src = Arc::new(Corrupting {
        inner: MemoryStore::new(),
        bad: Mutex::new(None),
    });
    let payload = payload(
        src.as_ref(),
        "quay.io",
        "okd/scos-release",
        "okd/scos-content",
        V,
        NAMES,
    )
    .await;
    // Corrupt the own layer of "installer".
    let installer = &payload.components[1].1;
    let bad = installer.references().unwrap()[2].digest.clone();
    *src.bad.lock().unwrap() = Some(bad.clone());
    let dst = arc(MemoryStore::new());
    let stores = StoreSet::new();
    stores.insert("quay.io", src.clone());
    stores.insert("mirror.local:5000", dst.clone());
    let s = MirrorSpec {
        releases: vec![ReleaseMirror {
            source: payload.release.image.clone(),
            target: ReleaseTarget::parse("mirror.local:5000/okd/release", Naming::Release).unwrap(),
        }],
        ..MirrorSpec::default()
    };
    let loader = StaticReleases::with(payload.release.clone());
    let p = MirrorPlan::build(&s, &stores, &loader, &fast_options(), &NoProgress)
        .await
        .unwrap();
    let report = execute(&p, &fast_options(), Arc::new(NoProgress)).await;

    let err = report.check().unwrap_err().to_string();
    assert!(
        err.contains(&bad.to_string()),
        "the error names the blob: {err}"
    );
    let failed: Vec<&str> = report.failures().map(|i| i.name.as_str()).collect();
    assert_eq!(failed, ["installer", "release"]);
    assert!(
        report
            .images
            .iter()
            .find(|i| i.name == "installer")
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .contains("digest mismatch")
    );
    assert_eq!(report.totals.retries, 2, "retried, then gave up");
    // Nothing that references the blob is at the destination: no manifest, no tag.
    assert!(
        dst.manifest_digest(
            "okd/release",
            &ManifestRef::Digest(installer.digest().clone())
        )
        .await
        .unwrap()
        .is_none()
    );
    let tags = dst.list_tags("okd/release").await.unwrap();
    assert!(!tags.contains(&format!("{V}-x86_64-installer")));
    assert!(
        !tags.contains(&format!("{V}-x86_64")),
        "the release is not tagged with a component missing"
    );
    assert!(dst.blob_size("okd/release", &bad).await.unwrap().is_none());
    // The other components made it.
    assert!(tags.contains(&format!("{V}-x86_64-cli")));
}
