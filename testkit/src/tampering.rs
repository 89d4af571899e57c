//! A store that serves one blob damaged: what a failing disk, a broken proxy or a compromised
//! mirror hands out. Readers of okd-streams must notice by the digest and name the blob.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{Digest, MemoryStore, StoreExt};
//! use testkit::tampering::Tampering;
//!
//! let store = Tampering::new(MemoryStore::new(), 0);
//! let digest = Digest::sha256_of(b"layer");
//! store.put_blob("okd/os", &digest, "layer".into()).await?;
//! store.tamper_with(digest.clone());
//! assert!(store.get_blob("okd/os", &digest, 1024).await.is_err());
//! # Ok(()) }
//! ```

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use okd_oci::{
    Blob, BlobWrite, ByteStream, Digest, Error, ManifestRef, MemoryStore, RawManifest, Store,
    StoreExt, StoreStats,
};

/// A [`MemoryStore`] that serves the blob chosen with [`Tampering::tamper_with`] with the byte
/// at `offset` flipped, and everything else as it is.
#[derive(Debug)]
pub struct Tampering {
    inner: MemoryStore,
    offset: usize,
    target: Mutex<Option<Digest>>,
}

impl Tampering {
    /// Wraps `inner`; nothing is damaged until [`Tampering::tamper_with`] names a blob.
    pub fn new(inner: MemoryStore, offset: usize) -> Tampering {
        Tampering {
            inner,
            offset,
            target: Mutex::new(None),
        }
    }

    /// Damages `digest` from now on.
    pub fn tamper_with(&self, digest: Digest) {
        *self.target.lock().unwrap() = Some(digest);
    }

    fn is_target(&self, digest: &Digest) -> bool {
        self.target.lock().unwrap().as_ref() == Some(digest)
    }
}

#[async_trait]
impl Store for Tampering {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        self.inner.blob_size(repo, digest).await
    }
    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        if !self.is_target(digest) {
            return self.inner.read_blob(repo, digest).await;
        }
        let mut data = self.inner.get_blob(repo, digest, u64::MAX).await?.to_vec();
        data[self.offset] ^= 0xff;
        Ok(Blob::from_bytes(Bytes::from(data)))
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
    async fn mount_blob(&self, repo: &str, from: &str, digest: &Digest) -> Result<bool, Error> {
        self.inner.mount_blob(repo, from, digest).await
    }
    async fn read_manifest(&self, repo: &str, r: &ManifestRef) -> Result<RawManifest, Error> {
        self.inner.read_manifest(repo, r).await
    }
    async fn manifest_digest(&self, repo: &str, r: &ManifestRef) -> Result<Option<Digest>, Error> {
        self.inner.manifest_digest(repo, r).await
    }
    async fn write_manifest(
        &self,
        repo: &str,
        m: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        self.inner.write_manifest(repo, m, tag).await
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
