//! Blobs shared by concurrent copies into one destination.
//!
//! The components of a release share most of their blobs (a base layer, the same RPM layers),
//! and a content mirror copies them all into one repository at once. Copied one image at a time,
//! every image checks every blob it holds (a `HEAD` each), and two images holding the same new
//! blob race to upload it, one manifest then possibly refused by a registry still committing the
//! other's upload. [`SharedBlobs`] is the record those copies keep together: the first copy that
//! needs a blob checks and copies it, the others wait for that one and then know it is there.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{copy, ManifestRef, MemoryStore};
//!
//! # let (a, b) = (MemoryStore::new(), MemoryStore::new());
//! let shared = copy::SharedBlobs::new();
//! // Every copy into `b`/`mirror` checks a blob once, however many images hold it.
//! # let images: Vec<ManifestRef> = Vec::new();
//! for image in &images {
//!     copy::copy_image_sharing(&a, "src", image, &b, "mirror", None, &shared).await?;
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::{BlobCopy, copy_blob};
use crate::{Digest, Error, Store};

/// One cell per `(repository, blob)`, filled once the blob is present there.
type Cells = HashMap<(String, Digest), Arc<OnceCell<()>>>;

/// The blobs that copies into one destination store have made present, by repository.
///
/// One record serves one destination store: the copies that share it must all write to the
/// same store (they may write to several of its repositories). A blob whose copy failed is not
/// recorded, so the next copy that needs it tries again.
#[derive(Debug, Default)]
pub struct SharedBlobs {
    cells: Mutex<Cells>,
}

impl SharedBlobs {
    /// An empty record.
    pub fn new() -> SharedBlobs {
        SharedBlobs::default()
    }

    /// How many blobs are known to be present in the destination.
    pub fn len(&self) -> usize {
        self.lock().values().filter(|c| c.initialized()).count()
    }

    /// True when no blob is known to be present yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cells> {
        // The map holds no invariant a panicking holder could break half-way.
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cell(&self, repo: &str, digest: &Digest) -> Arc<OnceCell<()>> {
        self.lock()
            .entry((repo.to_string(), digest.clone()))
            .or_default()
            .clone()
    }

    /// Copies one blob unless this record knows it present in `dst_repo`; concurrent callers
    /// for the same blob wait for the first one. A blob this call did not transfer itself is
    /// [`BlobCopy::Skipped`].
    pub(super) async fn copy_blob(
        &self,
        (src, src_repo): (&dyn Store, &str),
        (dst, dst_repo): (&dyn Store, &str),
        digest: &Digest,
        size: u64,
    ) -> Result<BlobCopy, Error> {
        let cell = self.cell(dst_repo, digest);
        let mut outcome = BlobCopy::Skipped;
        cell.get_or_try_init(|| async {
            outcome = copy_blob(src, src_repo, dst, dst_repo, digest, size).await?;
            Ok::<(), Error>(())
        })
        .await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, StoreExt};
    use bytes::Bytes;

    #[tokio::test]
    async fn a_blob_is_copied_once_by_concurrent_callers() {
        let (a, b) = (MemoryStore::new(), MemoryStore::new());
        let data = Bytes::from_static(b"shared layer");
        let d = Digest::sha256_of(&data);
        a.put_blob("src", &d, data.clone()).await.unwrap();
        let shared = SharedBlobs::new();
        let size = data.len() as u64;
        let copies = futures::future::join_all(
            (0..8).map(|_| shared.copy_blob((&a, "src"), (&b, "dst"), &d, size)),
        )
        .await;
        let copied = copies
            .iter()
            .filter(|c| matches!(c, Ok(BlobCopy::Copied(_))))
            .count();
        assert_eq!(copied, 1, "{copies:?}");
        assert!(copies.iter().all(Result::is_ok));
        assert_eq!(b.stats().blobs_written, 1);
        assert_eq!(shared.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_copy_is_not_recorded() {
        let (a, b) = (MemoryStore::new(), MemoryStore::new());
        let data = Bytes::from_static(b"late layer");
        let d = Digest::sha256_of(&data);
        let shared = SharedBlobs::new();
        let size = data.len() as u64;
        assert!(
            shared
                .copy_blob((&a, "src"), (&b, "dst"), &d, size)
                .await
                .is_err()
        );
        assert!(shared.is_empty());
        a.put_blob("src", &d, data).await.unwrap();
        let again = shared.copy_blob((&a, "src"), (&b, "dst"), &d, size).await;
        assert_eq!(again.unwrap(), BlobCopy::Copied(size));
    }
}
