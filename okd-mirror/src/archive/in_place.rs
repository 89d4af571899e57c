//! Blobs a restore reads where they lie in the archive's chunks instead of extracting them.
//!
//! Extracting a payload writes every byte to disk once more, only for the push to read it back;
//! on a disk, the destination registry's `fsync`s then wait for that writeback as well. A blob
//! larger than any manifest ([`MAX_MANIFEST_SIZE`]) is a layer the restore never parses: it
//! stays in its chunks, as one byte range per part, and the push streams it from there. Every
//! chunk was hashed whole before anything is pushed, and the destination checks each blob's
//! digest as it commits it. Everything else (manifests, configs, the layout's index) is
//! extracted into the staging layout as before.
//!
//! ```
//! # async fn demo(unpacked: &okd_mirror::archive::Unpacked) -> Result<(), okd_oci::Error> {
//! use okd_oci::Store;
//! // The layout the archive was extracted into, with its large blobs read from the chunks.
//! let store = unpacked.store().await?;
//! println!("{}", store.location());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use okd_oci::{
    Blob, BlobWrite, ByteStream, Digest, Error, LayoutStore, MAX_MANIFEST_SIZE, ManifestRef,
    RawManifest, Store, StoreStats, verify_stream,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read from a chunk at a time (as the layout reads its blob files).
const READ_SIZE: usize = 256 * 1024;

/// Whether a blob of `size` bytes stays in the chunks: only one that cannot be a manifest.
pub(crate) fn stays_in_place(size: u64) -> bool {
    size > MAX_MANIFEST_SIZE as u64
}

/// Bytes of one chunk file: where one blob, or one part of it, lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkRange {
    /// The chunk file.
    pub file: PathBuf,
    /// Where the bytes start in it.
    pub offset: u64,
    /// How many there are.
    pub len: u64,
}

/// The blobs left in the chunks, each as its ranges in order.
#[derive(Debug, Default)]
pub struct InPlaceBlobs {
    blobs: BTreeMap<Digest, Vec<ChunkRange>>,
}

impl InPlaceBlobs {
    /// From each blob's parts, keyed by where each part starts in the blob.
    pub(crate) fn new(parts: BTreeMap<Digest, BTreeMap<u64, ChunkRange>>) -> InPlaceBlobs {
        let blobs = parts
            .into_iter()
            .map(|(digest, ranges)| (digest, ranges.into_values().collect()))
            .collect();
        InPlaceBlobs { blobs }
    }

    /// The size of a blob left in the chunks, or `None` when it was extracted (or never there).
    pub fn size(&self, digest: &Digest) -> Option<u64> {
        self.blobs
            .get(digest)
            .map(|ranges| ranges.iter().map(|r| r.len).sum())
    }

    /// How many blobs were left in the chunks.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// True when every blob was extracted.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// The blob's bytes, streamed from its ranges in order; `None` when it is not here.
    fn stream(&self, digest: &Digest) -> Option<(u64, ByteStream)> {
        let ranges = self.blobs.get(digest)?.clone();
        let size = ranges.iter().map(|r| r.len).sum();
        let digest = digest.clone();
        let parts = futures::stream::iter(ranges)
            .then(move |range| open_range(range, digest.clone()))
            .try_flatten();
        Some((size, Box::pin(parts)))
    }
}

/// One range as a stream that fails, naming the chunk, when the file ends before it does
/// (changed since it was checked).
async fn open_range(
    range: ChunkRange,
    digest: Digest,
) -> Result<impl futures::Stream<Item = Result<bytes::Bytes, Error>>, Error> {
    let ChunkRange { file, offset, len } = range;
    let mut handle = tokio::fs::File::open(&file)
        .await
        .map_err(|e| Error::io(&file, e))?;
    handle
        .seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| Error::io(&file, e))?;
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    let path = file.clone();
    let body = tokio_util::io::ReaderStream::with_capacity(handle.take(len), READ_SIZE)
        .map_err(move |e| Error::io(&path, e))
        .inspect_ok(move |b| {
            counter.fetch_add(b.len() as u64, Ordering::Relaxed);
        });
    let end = futures::stream::once(async move {
        let actual = read.load(Ordering::Relaxed);
        (actual != len).then(|| {
            Err(Error::SizeMismatch {
                what: format!("{} at offset {offset}", file.display()),
                digest,
                expected: len,
                actual,
            })
        })
    })
    .filter_map(futures::future::ready);
    Ok(body.chain(end))
}

/// The staging layout of a restore, with its large blobs read from the archive's chunks.
/// Everything but reading those blobs is the layout's.
#[derive(Debug)]
pub struct ArchiveStore {
    layout: LayoutStore,
    in_place: Arc<InPlaceBlobs>,
    reads: AtomicU64,
}

impl ArchiveStore {
    /// `layout`, with the blobs of `in_place` read from the chunks.
    pub fn new(layout: LayoutStore, in_place: Arc<InPlaceBlobs>) -> ArchiveStore {
        ArchiveStore {
            layout,
            in_place,
            reads: AtomicU64::new(0),
        }
    }

    fn in_place(&self, digest: &Digest) -> Option<Blob> {
        let (size, stream) = self.in_place.stream(digest)?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        Some(Blob { size, stream })
    }
}

#[async_trait]
impl Store for ArchiveStore {
    fn location(&self) -> String {
        self.layout.location()
    }

    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        match self.in_place.size(digest) {
            Some(size) => Ok(Some(size)),
            None => self.layout.blob_size(repo, digest).await,
        }
    }

    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        match self.in_place(digest) {
            Some(blob) => {
                let what = format!("{}/{repo}@{digest}", self.location());
                let stream = verify_stream(digest.clone(), blob.size, what, blob.stream);
                Ok(Blob { stream, ..blob })
            }
            None => self.layout.read_blob(repo, digest).await,
        }
    }

    async fn read_blob_unverified(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        match self.in_place(digest) {
            Some(blob) => Ok(blob),
            None => self.layout.read_blob_unverified(repo, digest).await,
        }
    }

    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        if self.in_place.size(digest).is_some() {
            return Ok(BlobWrite::AlreadyPresent);
        }
        self.layout.write_blob(repo, digest, size, data).await
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        if self.in_place.size(digest).is_some() {
            return Ok(true);
        }
        self.layout.mount_blob(repo, from_repo, digest).await
    }

    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        self.layout.read_manifest(repo, reference).await
    }

    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        self.layout.manifest_digest(repo, reference).await
    }

    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        self.layout.write_manifest(repo, manifest, tag).await
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        self.layout.list_tags(repo).await
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        self.layout.delete_tag(repo, tag).await
    }

    fn stats(&self) -> StoreStats {
        let mut stats = self.layout.stats();
        stats.blobs_read += self.reads.load(Ordering::Relaxed);
        stats
    }
}
