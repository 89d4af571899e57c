//! Carrying out a plan: blobs first, then manifests, children before indexes, tags last.
//!
//! Every blob of the plan that needs work gets one task per destination store: a copy into the
//! first repository that needs it (streamed, never held in memory), then mounts into the other
//! repositories of that store. Each image waits for its own blobs only, so images complete —
//! and their tags appear — as soon as their content is in place, which keeps the work lost to an
//! interruption small. A release image waits, in addition, for every component of its release:
//! its tag is the last thing written. Every blob request holds a permit of each store it talks to
//! ([`MirrorOptions::jobs`] per store); manifest writes have a few permits of their own, so that
//! an image is written as soon as its blobs are in place instead of queueing behind every blob
//! still to copy. Large blobs (16 MiB and more) stream at most half as many at once (at most 8),
//! which keeps memory flat whatever the blob sizes, and each blob or manifest copy is retried as
//! a whole on transient failures.
//!
//! The client does not hash what it copies: the source is read with
//! [`read_blob_unverified`](okd_oci::Store::read_blob_unverified). Every store verifies the digest
//! and size of a blob before making it visible (a registry when the upload is closed with
//! `PUT ?digest=`, a layout before its rename), so bytes damaged at the source or in transit fail
//! the copy, and the images that need that blob are not written. A blob planned as
//! [`CopyIfMissing`](crate::BlobAction::CopyIfMissing) is written with
//! [`write_blob`](okd_oci::Store::write_blob), which skips it when the store has it; a blob the
//! plan found missing goes through [`write_absent_blob`](okd_oci::Store::write_absent_blob).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};
use okd_oci::Digest;
use tokio::sync::oneshot;

use crate::limits::Limits;
use crate::plan::PlannedImage;
use crate::progress::{BlobOutcome, Event, Progress};
use crate::report::{BlobReport, Failure, ImageReport, ImageStatus, MirrorReport, totals};
use crate::{BlobAction, BlobKey, BlobTarget, PlannedBlob};
use crate::{Error, MirrorOptions, MirrorPlan};

mod early;
mod manifest_locks;
mod transfer;
pub(crate) use early::{Early, Ends};
use transfer::{copy, mount};

/// Progress events for streamed bytes are batched to about this many bytes.
const BYTES_EVENT_STEP: u64 = 1 << 20;

/// Blobs at least this large count as large transfers.
const LARGE_BLOB: u64 = 16 << 20;

/// How many large blobs may stream at once for `jobs` operations per store. A long transfer
/// keeps its HTTP buffers at their largest (about 1–2 MiB per stream between download and
/// upload), while beyond a handful of large streams a copy is bound by the registries, not by
/// concurrency; small blobs, which are latency-bound, keep the full width.
fn large_streams(jobs: usize) -> usize {
    (jobs / 2).clamp(1, 8)
}

/// How many manifest writes may be in flight per store, next to `jobs` blob operations. Manifests
/// are small; a few in flight keep up with the rate at which images complete.
pub(crate) fn manifest_streams(jobs: usize) -> usize {
    (jobs / 4).clamp(1, 4)
}

#[derive(Debug, Clone, Copy)]
struct BlobDone {
    outcome: BlobOutcome,
    started: Option<Instant>,
}

type BlobResult = Result<BlobDone, Arc<Error>>;
/// Whether an image was written; a release image waits for those of its components.
type ImageResult = Result<(), Arc<Error>>;
type Done<T> = Shared<BoxFuture<'static, T>>;

struct Ctx {
    limits: Limits,
    /// Manifest writes have permits of their own: with every blob task queued on `limits`, an
    /// image whose blobs are in place would otherwise wait for all other blobs to be copied.
    manifest_limits: Limits,
    large: tokio::sync::Semaphore,
    options: MirrorOptions,
    progress: Arc<dyn Progress>,
    retries: AtomicU64,
    start: Instant,
    /// Each manifest is written into a repository once at a time (see `manifest_locks`).
    manifest_locks: manifest_locks::ManifestLocks,
}

impl Ctx {
    fn on_retry(&self, what: String) -> impl FnMut(u32, &okd_oci::Error, Duration) + '_ {
        move |attempt, error, wait| {
            self.retries.fetch_add(1, Ordering::Relaxed);
            self.progress.event(&Event::Retry {
                what: what.clone(),
                attempt,
                error: error.to_string(),
                wait,
            });
        }
    }
}

impl Ctx {
    fn new(options: &MirrorOptions, progress: Arc<dyn Progress>) -> Arc<Ctx> {
        Arc::new(Ctx {
            limits: Limits::new(options.jobs),
            manifest_limits: Limits::new(manifest_streams(options.jobs)),
            large: tokio::sync::Semaphore::new(large_streams(options.jobs)),
            options: *options,
            progress,
            retries: AtomicU64::new(0),
            start: Instant::now(),
            manifest_locks: Default::default(),
        })
    }
}

/// Executes `plan` and reports what happened. Failures of single images are in the report
/// (see [`MirrorReport::check`]); the other images are still mirrored.
pub async fn execute(
    plan: &MirrorPlan,
    options: &MirrorOptions,
    progress: Arc<dyn Progress>,
) -> MirrorReport {
    execute_after(plan, Early::new(options, progress)).await
}

/// Executes `plan`, taking over the blob copies `early` started while it was planned: those
/// blobs are not copied again, and the other repositories of their store mount them once the
/// early copy finished.
pub(crate) async fn execute_after(plan: &MirrorPlan, early: Early) -> MirrorReport {
    let Early {
        ctx,
        reports: blob_reports,
        started,
        tasks,
    } = early;
    let started = started.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut tasks = tasks.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut blob_done: HashMap<BlobKey, Done<BlobResult>> = HashMap::new();
    // Largest blobs first: the permits are handed out in the order tasks ask for them, and a
    // large blob started last would be the whole tail of the run.
    let mut by_size: Vec<&PlannedBlob> = plan.blobs.iter().collect();
    by_size.sort_by_key(|b| std::cmp::Reverse(b.size));
    for blob in by_size {
        let blob = Arc::new(blob.clone());
        let mut locations: Vec<&str> = blob.targets.iter().map(|t| t.location.as_str()).collect();
        locations.sort_unstable();
        locations.dedup();
        for loc in locations {
            let mut work = Vec::new();
            let early = started.get(&(blob.digest.clone(), loc.to_string()));
            // Copies first, so that mounts in the same store find the blob.
            let mut targets: Vec<BlobTarget> = blob
                .targets
                .iter()
                .filter(|t| t.location == loc)
                .map(|t| early_adjusted(t, early))
                .collect();
            targets.sort_by_key(|t| !matches!(t.action, BlobAction::Copy));
            for t in &targets {
                let key = t.key(&blob.digest);
                if let Some((repo, done)) = early
                    && *repo == t.repo
                {
                    blob_done.insert(key, done.clone());
                    continue;
                }
                if t.action == BlobAction::Present {
                    let done = BlobDone {
                        outcome: BlobOutcome::Skipped,
                        started: None,
                    };
                    blob_done.insert(key, futures::future::ready(Ok(done)).boxed().shared());
                    continue;
                }
                let (tx, rx) = oneshot::channel::<BlobResult>();
                let cancelled = key.clone();
                let fut = rx
                    .map(move |r| {
                        r.unwrap_or_else(|_| {
                            Err(Arc::new(Error::BlobCancelled { blob: cancelled }))
                        })
                    })
                    .boxed()
                    .shared();
                blob_done.insert(key, fut);
                work.push((t.clone(), tx));
            }
            if !work.is_empty() {
                let (ctx, blob, reports) = (ctx.clone(), blob.clone(), blob_reports.clone());
                let after = early.map(|(_, done)| done.clone());
                tasks.spawn(async move { blob_group(&ctx, &blob, work, &reports, after).await });
            }
        }
    }

    let mut image_done: Vec<Done<ImageResult>> = Vec::with_capacity(plan.images.len());
    let mut image_rx = Vec::with_capacity(plan.images.len());
    for image in &plan.images {
        let (tx, rx) = oneshot::channel::<ImageResult>();
        let image = image.mapping.destination.to_string();
        image_done.push(
            rx.map(|r| r.unwrap_or_else(|_| Err(Arc::new(Error::ImageCancelled { image }))))
                .boxed()
                .shared(),
        );
        image_rx.push(tx);
    }
    let results: Arc<std::sync::Mutex<Vec<Option<ImageReport>>>> =
        Arc::new(std::sync::Mutex::new(vec![None; plan.images.len()]));
    let sizes: HashMap<&Digest, u64> = plan.blobs.iter().map(|b| (&b.digest, b.size)).collect();
    for (i, (image, tx)) in plan.images.iter().zip(image_rx).enumerate() {
        let blobs: Vec<(u64, Done<BlobResult>)> = image
            .blobs
            .iter()
            .map(|d| {
                let size = sizes.get(d).copied().unwrap_or(0);
                let key = BlobKey::new(
                    d.clone(),
                    image.dst_location.clone(),
                    image.mapping.destination.repository(),
                );
                let done = blob_done.get(&key).cloned().unwrap_or_else(|| {
                    futures::future::ready(Err(Arc::new(Error::BlobNotPlanned { blob: key })))
                        .boxed()
                        .shared()
                });
                (size, done)
            })
            .collect();
        // A release image waits for the components of its release.
        let deps: Vec<(String, Done<ImageResult>)> = if image.is_release() {
            plan.images
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.group == image.group && !o.is_release())
                .map(|(j, o)| (o.mapping.name.clone(), image_done[j].clone()))
                .collect()
        } else {
            Vec::new()
        };
        let (ctx, image, results) = (ctx.clone(), image.clone(), results.clone());
        tasks.spawn(async move {
            let report = image_task(&ctx, &image, blobs, deps).await;
            let outcome = match &report.error {
                None => Ok(()),
                Some(e) => Err(e.shared()),
            };
            let _ = tx.send(outcome);
            results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(report);
        });
    }
    while tasks.join_next().await.is_some() {}

    let images: Vec<ImageReport> =
        std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .zip(&plan.images)
            .map(|(r, image)| {
                r.unwrap_or_else(|| {
                    let lost = Error::ImageCancelled {
                        image: image.mapping.destination.to_string(),
                    };
                    failed_report(image, lost, &ctx)
                })
            })
            .collect();
    let blobs = std::mem::take(&mut *blob_reports.lock().unwrap_or_else(|p| p.into_inner()));
    let duration = ctx.start.elapsed();
    let totals = totals(&images, &blobs, plan, ctx.retries.load(Ordering::Relaxed));
    ctx.progress.event(&Event::Finished {
        duration,
        failed_images: totals.images_failed as usize,
    });
    MirrorReport {
        dry_run: false,
        planning: Duration::ZERO,
        duration,
        totals,
        images,
        blobs,
        warnings: plan.warnings.clone(),
    }
}

/// A target of a blob whose store got an early copy into another repository: that copy is
/// the one copy of the store, so the target mounts from it.
fn early_adjusted(t: &BlobTarget, early: Option<&early::EarlyCopy>) -> BlobTarget {
    let mut t = t.clone();
    if let Some((repo, _)) = early
        && *repo != t.repo
        && matches!(t.action, BlobAction::Copy | BlobAction::CopyIfMissing)
    {
        t.action = BlobAction::Mount { from: repo.clone() };
    }
    t
}

/// Makes one blob present in every repository of one store that needs it, once `after` (the
/// store's early copy, when there is one) is done.
async fn blob_group(
    ctx: &Ctx,
    blob: &PlannedBlob,
    work: Vec<(BlobTarget, oneshot::Sender<BlobResult>)>,
    reports: &std::sync::Mutex<Vec<BlobReport>>,
    after: Option<Done<BlobResult>>,
) {
    if let Some(copy) = after {
        // A failed early copy leaves the mounts to fall back to copies of their own.
        let _ = copy.await;
    }
    for (target, tx) in work {
        let started = Instant::now();
        let key = target.key(&blob.digest);
        let destination = key.destination();
        let result = match &target.action {
            BlobAction::Mount { from } => match mount(ctx, blob, &target, from).await {
                Ok(true) => Ok(BlobOutcome::Mounted),
                Ok(false) => copy(ctx, blob, &target).await,
                Err(e) => Err(e),
            },
            _ => copy(ctx, blob, &target).await,
        };
        let duration = started.elapsed();
        let result = result.map_err(|source| {
            Arc::new(Error::Blob {
                blob: key,
                source: Arc::new(source),
            })
        });
        let report = BlobReport {
            digest: blob.digest.clone(),
            size: blob.size,
            destination: destination.clone(),
            outcome: result.as_ref().ok().copied(),
            duration,
            error: result.as_ref().err().map(|e| Failure::from(e.clone())),
        };
        reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(report);
        let sent = match result {
            Ok(outcome) => {
                ctx.progress.event(&Event::BlobFinished {
                    digest: blob.digest.clone(),
                    size: blob.size,
                    destination,
                    outcome,
                });
                Ok(BlobDone {
                    outcome,
                    started: Some(started),
                })
            }
            Err(e) => {
                let error = match e.as_ref() {
                    Error::Blob { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                ctx.progress.event(&Event::BlobFailed {
                    digest: blob.digest.clone(),
                    destination,
                    error,
                });
                Err(e)
            }
        };
        let _ = tx.send(sent);
    }
}

async fn image_task(
    ctx: &Ctx,
    image: &PlannedImage,
    blobs: Vec<(u64, Done<BlobResult>)>,
    deps: Vec<(String, Done<ImageResult>)>,
) -> ImageReport {
    let destination = image.mapping.destination.to_string();
    let mut report = ImageReport::planned(image);
    if image.present {
        report.status = ImageStatus::Present;
        report.finished_after = ctx.start.elapsed();
        ctx.progress.event(&Event::ImageFinished {
            name: image.mapping.name.clone(),
            destination,
            already_present: true,
        });
        return report;
    }
    let mut first_start: Option<Instant> = None;
    let mut failure: Option<Arc<Error>> = None;
    for (size, done) in blobs {
        match done.await {
            Ok(d) => {
                if let Some(s) = d.started {
                    first_start = Some(first_start.map_or(s, |f| f.min(s)));
                }
                match d.outcome {
                    BlobOutcome::Copied => {
                        report.blobs_copied += 1;
                        report.bytes_copied += size;
                    }
                    BlobOutcome::Mounted => {
                        report.blobs_mounted += 1;
                        report.bytes_mounted += size;
                    }
                    BlobOutcome::Skipped => {
                        report.blobs_skipped += 1;
                        report.bytes_skipped += size;
                    }
                }
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    for (name, done) in deps {
        if let Err(source) = done.await {
            failure.get_or_insert_with(|| {
                Arc::new(Error::ComponentFailed {
                    component: name,
                    source,
                })
            });
        }
    }
    let begin = first_start.unwrap_or_else(Instant::now);
    if failure.is_none() {
        for w in &image.writes {
            let what = format!("manifest {} into {destination}", w.manifest.digest());
            let repo = image.mapping.destination.repository();
            let lock = ctx
                .manifest_locks
                .of(&image.dst_location, repo, w.manifest.digest());
            let mut written_already = lock.lock().await;
            if *written_already && w.tag.is_none() {
                // Another image of this repository wrote this child.
                continue;
            }
            let written = ctx
                .options
                .retry
                .run(
                    || async {
                        let _p = ctx.manifest_limits.acquire(&[&image.dst_location]).await;
                        image
                            .dst
                            .write_manifest(repo, &w.manifest, w.tag.as_deref())
                            .await
                    },
                    ctx.on_retry(what),
                )
                .await;
            match written {
                Ok(()) => {
                    *written_already = true;
                    report.manifests_written += 1;
                    ctx.progress.event(&Event::ManifestWritten {
                        digest: w.manifest.digest().clone(),
                        destination: destination.clone(),
                    });
                }
                Err(source) => {
                    failure = Some(Arc::new(Error::Manifest {
                        digest: w.manifest.digest().clone(),
                        destination: destination.clone(),
                        source: Box::new(source),
                    }));
                    break;
                }
            }
        }
    }
    report.duration = begin.elapsed();
    report.finished_after = ctx.start.elapsed();
    match failure {
        None => {
            report.status = ImageStatus::Written;
            ctx.progress.event(&Event::ImageFinished {
                name: image.mapping.name.clone(),
                destination,
                already_present: false,
            });
        }
        Some(source) => {
            let e = Failure::from(Error::ImageIncomplete {
                image: destination.clone(),
                source,
            });
            ctx.progress.event(&Event::ImageFailed {
                name: image.mapping.name.clone(),
                destination,
                error: e.to_string(),
            });
            report.status = ImageStatus::Failed;
            report.error = Some(e);
        }
    }
    report
}

fn failed_report(image: &PlannedImage, why: Error, ctx: &Ctx) -> ImageReport {
    let mut r = ImageReport::planned(image);
    r.status = ImageStatus::Failed;
    r.error = Some(Failure::from(why));
    r.finished_after = ctx.start.elapsed();
    r
}
