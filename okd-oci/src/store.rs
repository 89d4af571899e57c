//! The content store abstraction every okd-streams crate moves images through.
//!
//! A [`Store`] holds repositories of blobs and manifests: an OCI image layout on disk
//! ([`LayoutStore`](crate::LayoutStore)), a registry (`RegistryStore`) or
//! memory ([`MemoryStore`](crate::MemoryStore)). Blobs move as streams so that memory stays
//! constant whatever their size, and every write is verified against its digest and size before
//! the content becomes visible.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{Digest, MemoryStore, Store, StoreExt};
//!
//! let store = MemoryStore::new();
//! let data = bytes::Bytes::from_static(b"layer bytes");
//! let digest = Digest::sha256_of(&data);
//! store.put_blob("okd/release", &digest, data.clone()).await?;
//! assert_eq!(store.blob_size("okd/release", &digest).await?, Some(data.len() as u64));
//! # Ok(()) }
//! ```

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::{Digest, Error, ManifestRef, RawManifest};

/// A stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send + 'static>>;

/// Most bytes [`Blob::collect`] reserves before they arrive.
const MAX_PREALLOCATION: u64 = 1 << 20;

/// A blob being read: its size and its bytes as a stream.
pub struct Blob {
    /// Size in bytes, as the store knows it.
    pub size: u64,
    /// The bytes.
    pub stream: ByteStream,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob").field("size", &self.size).finish()
    }
}

impl Blob {
    /// A blob from bytes already in memory.
    pub fn from_bytes(data: Bytes) -> Blob {
        Blob {
            size: data.len() as u64,
            stream: Box::pin(futures::stream::once(async move { Ok(data) })),
        }
    }

    /// Collects the whole blob into memory, refusing more than `limit` bytes.
    ///
    /// For small blobs only (configs, manifests, release layers of a known bound).
    pub async fn collect(self, what: &str, limit: u64) -> Result<Bytes, Error> {
        if self.size > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                size: self.size,
                limit,
            });
        }
        // The size is what the store announced (a registry's Content-Length): reserve at most a
        // little of it up front and grow as bytes actually arrive.
        let mut buf = bytes::BytesMut::with_capacity(self.size.min(MAX_PREALLOCATION) as usize);
        let mut stream = self.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    what: what.to_string(),
                    size: (buf.len() + chunk.len()) as u64,
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// What a write of a blob did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobWrite {
    /// The bytes were transferred and verified.
    Written,
    /// The store already had the blob; nothing was transferred.
    AlreadyPresent,
}

/// Counters a store keeps of what it did, so that callers and tests can observe skips and mounts.
#[derive(Debug, Default)]
pub struct StoreCounters {
    /// Blobs whose bytes were transferred into the store.
    pub blobs_written: AtomicU64,
    /// Bytes of those blobs.
    pub bytes_written: AtomicU64,
    /// Blob writes skipped because the store already had the blob.
    pub blobs_skipped: AtomicU64,
    /// Blobs made available by a cross-repository mount instead of a transfer.
    pub blobs_mounted: AtomicU64,
    /// Blobs read out of the store.
    pub blobs_read: AtomicU64,
    /// Manifests written.
    pub manifests_written: AtomicU64,
    /// Manifests read.
    pub manifests_read: AtomicU64,
    /// Requests retried after a transient failure.
    pub retries: AtomicU64,
}

/// A point-in-time copy of [`StoreCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// See [`StoreCounters::blobs_written`].
    pub blobs_written: u64,
    /// See [`StoreCounters::bytes_written`].
    pub bytes_written: u64,
    /// See [`StoreCounters::blobs_skipped`].
    pub blobs_skipped: u64,
    /// See [`StoreCounters::blobs_mounted`].
    pub blobs_mounted: u64,
    /// See [`StoreCounters::blobs_read`].
    pub blobs_read: u64,
    /// See [`StoreCounters::manifests_written`].
    pub manifests_written: u64,
    /// See [`StoreCounters::manifests_read`].
    pub manifests_read: u64,
    /// See [`StoreCounters::retries`].
    pub retries: u64,
}

impl StoreCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot of the counters.
    pub fn snapshot(&self) -> StoreStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            blobs_written: get(&self.blobs_written),
            bytes_written: get(&self.bytes_written),
            blobs_skipped: get(&self.blobs_skipped),
            blobs_mounted: get(&self.blobs_mounted),
            blobs_read: get(&self.blobs_read),
            manifests_written: get(&self.manifests_written),
            manifests_read: get(&self.manifests_read),
            retries: get(&self.retries),
        }
    }
}

/// A content store: repositories of blobs and manifests.
///
/// Repository names follow the distribution spec (`okd/scos-release`); a layout also has an
/// unnamed repository `""`. Implementations must guarantee:
///
/// * a written blob becomes visible only after its digest and size were verified;
/// * a manifest is refused (layout, memory) or pushed only after (registry) every blob and child
///   manifest it references is present in the same repository;
/// * manifests are stored and returned as the exact bytes given.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Where this store is, for messages (`oci:/srv/okd`, `quay.io`).
    fn location(&self) -> String;

    /// The size of a blob, or `None` when the repository does not have it (a `HEAD`).
    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error>;

    /// Opens a blob for streaming. Bytes that come over the network (a registry) are checked
    /// against `digest` and the announced size as they pass; the stream fails at its end if they
    /// do not match.
    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error>;

    /// Opens a blob for a copy into another store, without checking its bytes on the way.
    ///
    /// Every [`write_blob`](Store::write_blob) verifies digest and size before the blob becomes
    /// visible (a registry on `PUT ?digest=`, a layout before its rename), so checking them here
    /// as well would hash each copied byte twice. Use [`read_blob`](Store::read_blob) for bytes
    /// that are used rather than stored.
    async fn read_blob_unverified(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        self.read_blob(repo, digest).await
    }

    /// Writes a blob of `size` bytes whose content must hash to `digest`. Nothing becomes visible
    /// unless it does.
    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error>;

    /// Like [`write_blob`](Store::write_blob), for a caller that has just found the blob absent
    /// with [`blob_size`](Store::blob_size): the store does not ask again before transferring.
    /// Writing a blob that turns out to be present is harmless, only wasted work.
    async fn write_absent_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        self.write_blob(repo, digest, size, data).await
    }

    /// Makes a blob present in `repo` that `from_repo` of the same store already has, without
    /// transferring it. Returns `false` when the store declined and the caller must write it.
    async fn mount_blob(&self, repo: &str, from_repo: &str, digest: &Digest)
    -> Result<bool, Error>;

    /// Reads a manifest by tag or digest.
    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error>;

    /// The digest a tag or digest resolves to, or `None` when absent (a `HEAD`).
    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error>;

    /// Writes a manifest, and points `tag` at it when given.
    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error>;

    /// Lists the tags of a repository, sorted.
    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error>;

    /// Removes a tag (the manifest it pointed at may stay).
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error>;

    /// What the store has done so far.
    fn stats(&self) -> StoreStats;
}

/// Conveniences on top of [`Store`].
#[async_trait]
pub trait StoreExt: Store {
    /// Writes a blob held in memory.
    async fn put_blob(&self, repo: &str, digest: &Digest, data: Bytes) -> Result<BlobWrite, Error> {
        let size = data.len() as u64;
        let stream: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
        self.write_blob(repo, digest, size, stream).await
    }

    /// Reads a whole blob into memory, refusing more than `limit` bytes, and verifies its digest.
    async fn get_blob(&self, repo: &str, digest: &Digest, limit: u64) -> Result<Bytes, Error> {
        let blob = self.read_blob(repo, digest).await?;
        let data = blob.collect(&digest.to_string(), limit).await?;
        let actual = Digest::of(digest.algorithm(), &data);
        if &actual != digest {
            return Err(Error::DigestMismatch {
                what: format!("blob in {}/{repo}", self.location()),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(data)
    }

    /// True when the repository has the blob.
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, Error> {
        Ok(self.blob_size(repo, digest).await?.is_some())
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// Wraps a byte stream so that it fails with a typed error unless its content hashes to `digest`
/// and has exactly `size` bytes. The check happens as the last chunk passes, so a consumer that
/// makes content visible only after the stream ended cleanly never exposes bad bytes.
pub fn verify_stream(digest: Digest, size: u64, what: String, data: ByteStream) -> ByteStream {
    let mut hasher = Some(crate::Hasher::for_digest(&digest));
    // `None` marks the end of the source so the final check runs exactly once.
    let marked = data.map(Some).chain(futures::stream::once(async { None }));
    Box::pin(marked.filter_map(move |item| {
        let out = match item {
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(chunk)) => match hasher.as_mut() {
                Some(h) => {
                    h.update(&chunk);
                    if h.len() > size {
                        Some(Err(Error::SizeMismatch {
                            what: what.clone(),
                            digest: digest.clone(),
                            expected: size,
                            actual: h.len(),
                        }))
                    } else {
                        Some(Ok(chunk))
                    }
                }
                None => None,
            },
            None => hasher.take().and_then(|h| {
                if h.len() != size {
                    return Some(Err(Error::SizeMismatch {
                        what: what.clone(),
                        digest: digest.clone(),
                        expected: size,
                        actual: h.len(),
                    }));
                }
                let actual = h.finish();
                (actual != digest).then(|| {
                    Err(Error::DigestMismatch {
                        what: what.clone(),
                        expected: digest.clone(),
                        actual,
                    })
                })
            }),
        };
        futures::future::ready(out)
    }))
}
