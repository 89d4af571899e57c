//! Copying blobs and images between any two stores.
//!
//! The order is the one every careful mirroring tool uses: blobs first, then child manifests,
//! then the index, and the tag last, so a tag never points at content that is not all there.
//! A blob the destination already has is skipped (a `HEAD`), a blob in another repository of the
//! same store is mounted, and everything else is streamed with constant memory. The bytes are
//! hashed once, by the destination, which verifies every blob before it becomes visible. A blob
//! the destination refuses as too large for one request (HTTP 413) is read from the source again
//! once: the registry store has switched to chunked uploads, and the refused attempt consumed
//! the stream.
//!
//! [`retag`] is the promotion of an image between two repositories of one store (an accepted
//! release tagged for its users): the same order, with every blob mounted, and nothing written
//! when the tag is already in place.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{copy, Digest, MemoryStore, StoreExt};
//!
//! let (a, b) = (MemoryStore::new(), MemoryStore::new());
//! let data = bytes::Bytes::from_static(b"layer");
//! let d = Digest::sha256_of(&data);
//! a.put_blob("src", &d, data).await?;
//! let outcome = copy::copy_blob(&a, "src", &b, "dst", &d, 5).await?;
//! assert_eq!(outcome, copy::BlobCopy::Copied(5));
//! # Ok(()) }
//! ```

mod shared;

pub use shared::SharedBlobs;

use crate::{BlobWrite, Digest, Error, ManifestRef, RawManifest, Store};

/// What copying one blob did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobCopy {
    /// The destination already had it.
    Skipped,
    /// It was mounted from another repository of the destination.
    Mounted,
    /// This many bytes were transferred.
    Copied(u64),
}

/// True when `a` and `b` are the same store object, so a blob can be mounted between their
/// repositories instead of transferred.
pub fn same_store(a: &dyn Store, b: &dyn Store) -> bool {
    std::ptr::addr_eq(a as *const dyn Store, b as *const dyn Store)
}

/// Copies one blob of `size` bytes, skipping it when present and mounting it when `src` and `dst`
/// are the same store.
pub async fn copy_blob(
    src: &dyn Store,
    src_repo: &str,
    dst: &dyn Store,
    dst_repo: &str,
    digest: &Digest,
    size: u64,
) -> Result<BlobCopy, Error> {
    if dst.blob_size(dst_repo, digest).await?.is_some() {
        return Ok(BlobCopy::Skipped);
    }
    if same_store(src, dst) && dst.mount_blob(dst_repo, src_repo, digest).await? {
        return Ok(BlobCopy::Mounted);
    }
    let from = (src, src_repo);
    let written = match transfer_blob(from, dst, dst_repo, digest, size).await {
        // The destination refused the body as too large (or broke it off, as a proxy with a
        // body limit may) and now writes in chunks; the refused attempt consumed the source's
        // stream, so the blob is read again, once.
        Err(e) if e.calls_for_chunks() => {
            tracing::debug!(blob = %digest, error = %e, "sending the blob again in chunks");
            transfer_blob(from, dst, dst_repo, digest, size).await?
        }
        other => other?,
    };
    match written {
        BlobWrite::Written => Ok(BlobCopy::Copied(size)),
        BlobWrite::AlreadyPresent => Ok(BlobCopy::Skipped),
    }
}

/// Streams one blob from `src` into `dst`.
async fn transfer_blob(
    (src, src_repo): (&dyn Store, &str),
    dst: &dyn Store,
    dst_repo: &str,
    digest: &Digest,
    size: u64,
) -> Result<BlobWrite, Error> {
    // The destination verifies what it stores, so the bytes are hashed there and only there.
    let blob = src.read_blob_unverified(src_repo, digest).await?;
    if blob.size != size {
        return Err(Error::SizeMismatch {
            what: format!("blob in {}/{src_repo}", src.location()),
            digest: digest.clone(),
            expected: size,
            actual: blob.size,
        });
    }
    dst.write_absent_blob(dst_repo, digest, size, blob.stream)
        .await
}

/// Totals of an image copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Blobs transferred.
    pub blobs_copied: u64,
    /// Bytes transferred.
    pub bytes_copied: u64,
    /// Blobs the destination already had.
    pub blobs_skipped: u64,
    /// Blobs mounted.
    pub blobs_mounted: u64,
    /// Manifests written (children and top level).
    pub manifests_written: u64,
}

impl CopyStats {
    fn record(&mut self, c: BlobCopy) {
        match c {
            BlobCopy::Skipped => self.blobs_skipped += 1,
            BlobCopy::Mounted => self.blobs_mounted += 1,
            BlobCopy::Copied(n) => {
                self.blobs_copied += 1;
                self.bytes_copied += n;
            }
        }
    }
}

/// Copies the image `reference` of `src_repo` (a manifest with its blobs, or an index with all its
/// children) into `dst_repo`, then points `tag` at it. Returns the top-level manifest, whose bytes
/// and digest are unchanged.
pub async fn copy_image(
    src: &dyn Store,
    src_repo: &str,
    reference: &ManifestRef,
    dst: &dyn Store,
    dst_repo: &str,
    tag: Option<&str>,
) -> Result<(RawManifest, CopyStats), Error> {
    // A record of its own: a blob the image names twice is still checked once.
    let blobs = SharedBlobs::new();
    copy_image_sharing(src, src_repo, reference, dst, dst_repo, tag, &blobs).await
}

/// [`copy_image`] for one of many concurrent copies into `dst`: blobs are checked and copied
/// through `shared` (see [`SharedBlobs`]), so a blob several images hold is checked and
/// transferred once. Every copy sharing `shared` must write to the same `dst` store.
pub async fn copy_image_sharing(
    src: &dyn Store,
    src_repo: &str,
    reference: &ManifestRef,
    dst: &dyn Store,
    dst_repo: &str,
    tag: Option<&str>,
    blobs: &SharedBlobs,
) -> Result<(RawManifest, CopyStats), Error> {
    let top = src.read_manifest(src_repo, reference).await?;
    let mut stats = CopyStats::default();
    let (from, to) = ((src, src_repo), (dst, dst_repo));
    if top.is_index() {
        for child in top.references()? {
            let m = src
                .read_manifest(src_repo, &ManifestRef::Digest(child.digest.clone()))
                .await?;
            copy_manifest_content(from, to, &m, blobs, &mut stats).await?;
            dst.write_manifest(dst_repo, &m, None).await?;
            stats.manifests_written += 1;
        }
    } else {
        copy_manifest_content(from, to, &top, blobs, &mut stats).await?;
    }
    dst.write_manifest(dst_repo, &top, tag).await?;
    stats.manifests_written += 1;
    Ok((top, stats))
}

async fn copy_manifest_content(
    from: (&dyn Store, &str),
    to: (&dyn Store, &str),
    manifest: &RawManifest,
    blobs: &SharedBlobs,
    stats: &mut CopyStats,
) -> Result<(), Error> {
    for blob in manifest.references()? {
        let c = blobs.copy_blob(from, to, &blob.digest, blob.size).await?;
        stats.record(c);
    }
    Ok(())
}

/// What [`retag`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retag {
    /// The tag now points at the manifest; what it took to make its content present.
    Tagged(CopyStats),
    /// The tag already pointed at the manifest: nothing was read or written.
    AlreadyTagged,
}

/// Points `tag` of `to_repo` at the manifest `digest` of `from_repo`, both repositories of one
/// `store`: a promotion. The manifest's exact bytes are written, so its digest is unchanged.
///
/// Children first, tag last: every blob and child manifest is made present in `to_repo`
/// (mounted when the store can, copied otherwise; child manifests the target already has are
/// skipped) before the tag is written, so the tag never points at content that is not all there.
/// Idempotent: when the tag already points at `digest`, nothing is written.
pub async fn retag(
    store: &dyn Store,
    from_repo: &str,
    to_repo: &str,
    digest: &Digest,
    tag: &str,
) -> Result<Retag, Error> {
    let current = store
        .manifest_digest(to_repo, &ManifestRef::Tag(tag.to_string()))
        .await?;
    if current.as_ref() == Some(digest) {
        return Ok(Retag::AlreadyTagged);
    }
    let manifest = store
        .read_manifest(from_repo, &ManifestRef::Digest(digest.clone()))
        .await?;
    // A store that answers a digest with other bytes must not get them tagged.
    if manifest.digest() != digest {
        return Err(Error::DigestMismatch {
            what: format!("manifest in {}/{from_repo}", store.location()),
            expected: digest.clone(),
            actual: manifest.digest().clone(),
        });
    }
    let mut stats = CopyStats::default();
    if from_repo != to_repo {
        make_present(store, from_repo, to_repo, &manifest, &mut stats).await?;
    }
    store.write_manifest(to_repo, &manifest, Some(tag)).await?;
    stats.manifests_written += 1;
    Ok(Retag::Tagged(stats))
}

/// Makes everything `manifest` refers to present in `to_repo`: the blobs of an image, or the
/// children of an index (each with its own content, before the child itself).
async fn make_present(
    store: &dyn Store,
    from_repo: &str,
    to_repo: &str,
    manifest: &RawManifest,
    stats: &mut CopyStats,
) -> Result<(), Error> {
    if !manifest.is_index() {
        let (from, to) = ((store, from_repo), (store, to_repo));
        return copy_manifest_content(from, to, manifest, &SharedBlobs::new(), stats).await;
    }
    for child in manifest.references()? {
        let by_digest = ManifestRef::Digest(child.digest.clone());
        if store.manifest_digest(to_repo, &by_digest).await?.is_some() {
            continue;
        }
        let m = store.read_manifest(from_repo, &by_digest).await?;
        Box::pin(make_present(store, from_repo, to_repo, &m, stats)).await?;
        store.write_manifest(to_repo, &m, None).await?;
        stats.manifests_written += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, StoreExt, media_type};
    use bytes::Bytes;

    async fn image(store: &MemoryStore, repo: &str) -> RawManifest {
        let config = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
        let layer = Bytes::from_static(b"not really a tarball");
        let (cd, ld) = (Digest::sha256_of(&config), Digest::sha256_of(&layer));
        store.put_blob(repo, &cd, config.clone()).await.unwrap();
        store.put_blob(repo, &ld, layer.clone()).await.unwrap();
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{ld}","size":{}}}]}}"#,
            media_type::OCI_MANIFEST,
            media_type::OCI_CONFIG,
            config.len(),
            media_type::OCI_LAYER_GZIP,
            layer.len()
        );
        let m = RawManifest::new(media_type::OCI_MANIFEST, m.into_bytes()).unwrap();
        store.write_manifest(repo, &m, Some("v1")).await.unwrap();
        m
    }

    #[tokio::test]
    async fn copies_then_skips() {
        let (a, b) = (MemoryStore::new(), MemoryStore::new());
        let m = image(&a, "src").await;
        let tag = ManifestRef::Tag("v1".into());
        let (copied, stats) = copy_image(&a, "src", &tag, &b, "dst", Some("v1"))
            .await
            .unwrap();
        assert_eq!(copied.digest(), m.digest());
        assert_eq!((stats.blobs_copied, stats.blobs_skipped), (2, 0));
        let (_, again) = copy_image(&a, "src", &tag, &b, "dst", Some("v1"))
            .await
            .unwrap();
        assert_eq!((again.blobs_copied, again.blobs_skipped), (0, 2));
        assert_eq!(
            b.read_manifest("dst", &tag).await.unwrap().bytes(),
            m.bytes()
        );
    }

    #[tokio::test]
    async fn mounts_within_one_store() {
        let a = MemoryStore::new();
        image(&a, "src").await;
        let tag = ManifestRef::Tag("v1".into());
        let (_, stats) = copy_image(&a, "src", &tag, &a, "other", None)
            .await
            .unwrap();
        assert_eq!(stats.blobs_mounted, 2);
        assert_eq!(a.stats().blobs_mounted, 2);
    }
}
