//! An in-memory [`Store`], for unit tests and small pipelines.
//!
//! It keeps the same rules as the real stores: blobs are verified before they become visible,
//! presence is per repository (so mounts mean something), and a manifest is refused while
//! something it references is missing from its repository.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::store::{Blob, BlobWrite, ByteStream, Store, StoreCounters, StoreStats};
use crate::{Digest, Error, ManifestRef, RawManifest, verify_stream};

#[derive(Debug, Default)]
struct Repo {
    blobs: BTreeSet<Digest>,
    manifests: BTreeSet<Digest>,
    tags: BTreeMap<String, Digest>,
}

#[derive(Debug, Default)]
struct Inner {
    blobs: HashMap<Digest, Bytes>,
    manifests: HashMap<Digest, RawManifest>,
    repos: HashMap<String, Repo>,
}

/// A [`Store`] held in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    counters: StoreCounters,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated (each update is a
        // single insert), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn not_found_manifest(&self, repo: &str, reference: &ManifestRef) -> Error {
        Error::ManifestNotFound {
            location: self.location(),
            repo: repo.to_string(),
            reference: reference.to_string(),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn location(&self) -> String {
        "memory".to_string()
    }

    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        let inner = self.lock();
        let present = inner
            .repos
            .get(repo)
            .is_some_and(|r| r.blobs.contains(digest) || r.manifests.contains(digest));
        if !present {
            return Ok(None);
        }
        Ok(inner
            .blobs
            .get(digest)
            .map(|b| b.len() as u64)
            .or_else(|| inner.manifests.get(digest).map(|m| m.size())))
    }

    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        let data = {
            let inner = self.lock();
            let r = inner.repos.get(repo);
            let data = if r.is_some_and(|r| r.blobs.contains(digest)) {
                inner.blobs.get(digest).cloned()
            } else if r.is_some_and(|r| r.manifests.contains(digest)) {
                inner.manifests.get(digest).map(|m| m.bytes().clone())
            } else {
                None
            };
            data.ok_or_else(|| Error::BlobNotFound {
                location: self.location(),
                repo: repo.to_string(),
                digest: digest.clone(),
            })?
        };
        StoreCounters::bump(&self.counters.blobs_read);
        Ok(Blob::from_bytes(data))
    }

    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        if self.blob_size(repo, digest).await?.is_some() {
            StoreCounters::bump(&self.counters.blobs_skipped);
            return Ok(BlobWrite::AlreadyPresent);
        }
        let what = format!("blob {digest} for memory/{repo}");
        let mut stream = verify_stream(digest.clone(), size, what, data);
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
        }
        let mut inner = self.lock();
        inner.blobs.insert(digest.clone(), buf.freeze());
        inner
            .repos
            .entry(repo.to_string())
            .or_default()
            .blobs
            .insert(digest.clone());
        StoreCounters::bump(&self.counters.blobs_written);
        StoreCounters::add(&self.counters.bytes_written, size);
        Ok(BlobWrite::Written)
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        let mut inner = self.lock();
        let has = inner
            .repos
            .get(from_repo)
            .is_some_and(|r| r.blobs.contains(digest));
        if has {
            inner
                .repos
                .entry(repo.to_string())
                .or_default()
                .blobs
                .insert(digest.clone());
            StoreCounters::bump(&self.counters.blobs_mounted);
        }
        Ok(has)
    }

    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        let inner = self.lock();
        let r = inner
            .repos
            .get(repo)
            .ok_or_else(|| self.not_found_manifest(repo, reference))?;
        let digest = match reference {
            ManifestRef::Tag(t) => r.tags.get(t),
            ManifestRef::Digest(d) => r.manifests.get(d),
        }
        .ok_or_else(|| self.not_found_manifest(repo, reference))?;
        let m = inner
            .manifests
            .get(digest)
            .cloned()
            .ok_or_else(|| self.not_found_manifest(repo, reference))?;
        StoreCounters::bump(&self.counters.manifests_read);
        Ok(m)
    }

    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        let inner = self.lock();
        Ok(inner.repos.get(repo).and_then(|r| match reference {
            ManifestRef::Tag(t) => r.tags.get(t).cloned(),
            ManifestRef::Digest(d) => r.manifests.get(d).cloned(),
        }))
    }

    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        let refs = manifest.references()?;
        let mut inner = self.lock();
        let r = inner.repos.entry(repo.to_string()).or_default();
        let index = manifest.is_index();
        if let Some(missing) = refs.iter().find(|b| {
            if index {
                !r.manifests.contains(&b.digest)
            } else {
                !r.blobs.contains(&b.digest)
            }
        }) {
            return Err(Error::MissingReference {
                location: "memory".to_string(),
                repo: repo.to_string(),
                manifest: manifest.digest().clone(),
                missing: missing.digest.clone(),
            });
        }
        r.manifests.insert(manifest.digest().clone());
        if let Some(tag) = tag {
            r.tags.insert(tag.to_string(), manifest.digest().clone());
        }
        inner
            .manifests
            .insert(manifest.digest().clone(), manifest.clone());
        StoreCounters::bump(&self.counters.manifests_written);
        Ok(())
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        let inner = self.lock();
        Ok(inner
            .repos
            .get(repo)
            .map(|r| r.tags.keys().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        let mut inner = self.lock();
        let removed = inner.repos.get_mut(repo).and_then(|r| r.tags.remove(tag));
        match removed {
            Some(_) => Ok(()),
            None => Err(Error::ManifestNotFound {
                location: "memory".to_string(),
                repo: repo.to_string(),
                reference: format!(":{tag}"),
            }),
        }
    }

    fn stats(&self) -> StoreStats {
        self.counters.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreExt;

    #[tokio::test]
    async fn rejects_bad_bytes_and_keeps_nothing() {
        let store = MemoryStore::new();
        let good = Digest::sha256_of(b"good");
        let err = store
            .put_blob("r", &good, Bytes::from_static(b"evil"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        assert_eq!(store.blob_size("r", &good).await.unwrap(), None);
    }

    #[tokio::test]
    async fn mount_only_from_a_repo_that_has_the_blob() {
        let store = MemoryStore::new();
        let d = Digest::sha256_of(b"x");
        store
            .put_blob("a", &d, Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert!(store.mount_blob("b", "a", &d).await.unwrap());
        assert!(!store.mount_blob("c", "nowhere", &d).await.unwrap());
        assert_eq!(store.stats().blobs_mounted, 1);
        assert!(store.has_blob("b", &d).await.unwrap());
    }
}
