//! Blob copies started while the plan is still being made, so that planning and copying
//! overlap: as soon as an image is resolved, its blobs (largest first) start moving into its
//! destination, while the other images are still being read. Each blob gets one early copy per
//! destination store, into the repository of the first image resolved that needs it;
//! [`execute_after`](super::execute_after) takes these copies over instead of starting them again,
//! and mounts the blob into the store's other repositories once its copy finished.
//!
//! Only blobs and nothing else move early: manifests and tags wait for the plan, so a run that
//! fails while planning leaves no tag, only blobs a later run finds in place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use okd_oci::{BlobRef, Digest, Store};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::{BlobResult, Ctx, Done, blob_group};
use crate::progress::Progress;
use crate::report::BlobReport;
use crate::{BlobAction, BlobKey, BlobTarget, Error, MirrorOptions, PlannedBlob};

/// Where an image's blobs come from and go to: a store, its location and a repository at
/// each end.
pub(crate) struct Ends<'a> {
    /// The source.
    pub src: (&'a Arc<dyn Store>, String, &'a str),
    /// The destination.
    pub dst: (&'a Arc<dyn Store>, String, &'a str),
}

/// An early copy: the repository it goes to, and its outcome.
pub(super) type EarlyCopy = (String, Done<BlobResult>);
/// Early copies by blob digest and destination location.
pub(super) type Started = HashMap<(Digest, String), EarlyCopy>;

/// The copies started before the plan was complete, and the execution context they run in.
pub(crate) struct Early {
    pub(super) ctx: Arc<Ctx>,
    pub(super) reports: Arc<Mutex<Vec<BlobReport>>>,
    /// By digest and destination location: the repository copied into, and its outcome.
    pub(super) started: Mutex<Started>,
    pub(super) tasks: Mutex<JoinSet<()>>,
}

impl std::fmt::Debug for Early {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Early").finish_non_exhaustive()
    }
}

impl Early {
    /// No copy started yet; the execution's clock starts now.
    pub(crate) fn new(options: &MirrorOptions, progress: Arc<dyn Progress>) -> Early {
        Early {
            ctx: Ctx::new(options, progress),
            reports: Arc::default(),
            started: Mutex::default(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Starts copying `blobs` of one resolved image, largest first, each unless its
    /// destination store already has an early copy of it.
    pub(crate) fn start(&self, ends: &Ends<'_>, blobs: &[BlobRef]) {
        let mut blobs: Vec<&BlobRef> = blobs.iter().collect();
        blobs.sort_by_key(|b| std::cmp::Reverse(b.size));
        let (dst, dst_location, dst_repo) = (ends.dst.0, ends.dst.1.as_str(), ends.dst.2);
        let (src, src_location, src_repo) = (ends.src.0, ends.src.1.as_str(), ends.src.2);
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for b in blobs {
            let slot = (b.digest.clone(), dst_location.to_string());
            if started.contains_key(&slot) {
                continue;
            }
            // Within the source's own registry a mount is all it takes, as the plan decides.
            let action = if dst_location == src_location {
                BlobAction::Mount {
                    from: src_repo.to_string(),
                }
            } else {
                BlobAction::CopyIfMissing
            };
            let target = BlobTarget {
                location: dst_location.to_string(),
                repo: dst_repo.to_string(),
                action,
                store: dst.clone(),
            };
            let blob = PlannedBlob {
                digest: b.digest.clone(),
                size: b.size,
                media_type: b.media_type.clone(),
                source: format!("{src_location}/{src_repo}"),
                targets: vec![target.clone()],
                src: src.clone(),
                src_location: src_location.to_string(),
                src_repo: src_repo.to_string(),
            };
            let (tx, rx) = oneshot::channel::<BlobResult>();
            let key: BlobKey = target.key(&b.digest);
            let done = rx
                .map(move |r| {
                    r.unwrap_or_else(|_| Err(Arc::new(Error::BlobCancelled { blob: key })))
                })
                .boxed()
                .shared();
            started.insert(slot, (dst_repo.to_string(), done));
            let (ctx, reports) = (self.ctx.clone(), self.reports.clone());
            tasks.spawn(async move {
                blob_group(&ctx, &blob, vec![(target, tx)], &reports, None).await;
            });
        }
    }
}
