//! One blob into one repository: a mount, or a streamed copy from the source, retried as a
//! whole on transient failures.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use okd_oci::{BlobWrite, ByteStream, Digest};

use super::{BYTES_EVENT_STEP, Ctx, LARGE_BLOB};
use crate::progress::{BlobOutcome, Event, Progress};
use crate::{BlobAction, BlobTarget, PlannedBlob};

/// Mounts the blob into `target` from repository `from` of the same store; `false` when the
/// registry declined (the caller copies instead).
pub(super) async fn mount(
    ctx: &Ctx,
    blob: &PlannedBlob,
    target: &BlobTarget,
    from: &str,
) -> Result<bool, okd_oci::Error> {
    let what = format!(
        "mount {} into {}/{}",
        blob.digest, target.location, target.repo
    );
    ctx.options
        .retry
        .run(
            || async {
                let _p = ctx.limits.acquire(&[&target.location]).await;
                target
                    .store
                    .mount_blob(&target.repo, from, &blob.digest)
                    .await
            },
            ctx.on_retry(what.clone()),
        )
        .await
}

/// Streams the blob into `target`, retrying the whole transfer on transient failures.
pub(super) async fn copy(
    ctx: &Ctx,
    blob: &PlannedBlob,
    target: &BlobTarget,
) -> Result<BlobOutcome, okd_oci::Error> {
    let what = format!(
        "blob {} into {}/{}",
        blob.digest, target.location, target.repo
    );
    ctx.options
        .retry
        .run(|| transfer(ctx, blob, target), ctx.on_retry(what.clone()))
        .await
}

/// One attempt at streaming a blob from its source into `target`.
async fn transfer(
    ctx: &Ctx,
    blob: &PlannedBlob,
    target: &BlobTarget,
) -> Result<BlobOutcome, okd_oci::Error> {
    // Taken before the store permits, always in this order, so waits cannot form a cycle.
    let _large = if blob.size >= LARGE_BLOB {
        ctx.large.acquire().await.ok()
    } else {
        None
    };
    let _p = ctx
        .limits
        .acquire(&[&blob.src_location, &target.location])
        .await;
    ctx.progress.event(&Event::BlobStarted {
        digest: blob.digest.clone(),
        size: blob.size,
        destination: format!("{}/{}", target.location, target.repo),
    });
    let stream = counted(lazy_source(blob), blob.digest.clone(), ctx.progress.clone());
    let store = &target.store;
    // Only a blob the plan found absent skips the store's own check; a copy-if-missing, or the
    // copy after a declined mount, lets the store look first.
    let written = if target.action != BlobAction::Copy {
        store.write_blob(&target.repo, &blob.digest, blob.size, stream)
    } else {
        store.write_absent_blob(&target.repo, &blob.digest, blob.size, stream)
    };
    match written.await? {
        BlobWrite::Written => Ok(BlobOutcome::Copied),
        BlobWrite::AlreadyPresent => Ok(BlobOutcome::Skipped),
    }
}

/// The source's bytes, opened only when the destination first asks for them: the destination
/// has then accepted the upload (for a registry, its `POST` answered), so the download's body
/// never waits on the destination's requests, and a blob the destination turns out to have is
/// never downloaded at all.
fn lazy_source(blob: &PlannedBlob) -> ByteStream {
    let (src, repo, digest, size) = (
        blob.src.clone(),
        blob.src_repo.clone(),
        blob.digest.clone(),
        blob.size,
    );
    let location = blob.src_location.clone();
    let opened = async move {
        let source = src.read_blob_unverified(&repo, &digest).await?;
        if source.size != size {
            return Err(okd_oci::Error::SizeMismatch {
                what: format!("blob in {location}/{repo}"),
                digest,
                expected: size,
                actual: source.size,
            });
        }
        Ok(source.stream)
    };
    Box::pin(futures::stream::once(opened).try_flatten())
}

/// Reports the bytes of `stream` as they pass, about every [`BYTES_EVENT_STEP`].
fn counted(stream: ByteStream, digest: Digest, progress: Arc<dyn Progress>) -> ByteStream {
    let mut pending = 0u64;
    let marked = stream
        .map_ok(Some)
        .chain(futures::stream::once(async { Ok(None) }));
    Box::pin(marked.try_filter_map(move |chunk| {
        let out = match chunk {
            Some(c) => {
                pending += c.len() as u64;
                if pending >= BYTES_EVENT_STEP {
                    progress.event(&Event::BlobBytes {
                        digest: digest.clone(),
                        bytes: std::mem::take(&mut pending),
                    });
                }
                Some(c)
            }
            None => {
                if pending > 0 {
                    progress.event(&Event::BlobBytes {
                        digest: digest.clone(),
                        bytes: std::mem::take(&mut pending),
                    });
                }
                None
            }
        };
        futures::future::ready(Ok(out))
    }))
}
