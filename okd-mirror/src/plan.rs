//! Planning: every image, the deduplicated set of blobs, and what each blob needs.
//!
//! Building a [`MirrorPlan`] reads, never writes. For each image it resolves the source digest and
//! asks the destination whether the tag (or digest) already points at it: an image that is there
//! is complete — stores only accept a manifest once everything it references is present — so
//! its content is not even read. That one check per image is all a re-run of a finished mirror
//! costs. For the others it reads the manifests (children of lists too, skipping children the
//! destination already has), then gathers their blobs into one set across all images, and sends
//! one `HEAD` per blob and destination repository. Each blob then gets an action per destination:
//! present, mount (from a repository of the same store that has it, or will), or copy — copied
//! once per store, however many images and repositories share it. The plan's totals are what
//! `--dry-run` reports.
//!
//! A run that does not need exact totals can leave the per-blob check to the upload itself
//! ([`MirrorOptions::check_blobs`]): a registry answers one `POST` that both finds a blob the
//! repository has and opens the upload of one it lacks, so asking first costs a request per blob
//! and delays the first copy. The `mirror` commands plan that way unless `--dry-run` is given.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use okd_oci::{
    Access, BlobRef, Digest, ImageRef, ManifestRef, RawManifest, Store, StoreKey, StoreMap,
};
use serde::Serialize;

use crate::blobs::{BlobSet, assign_actions, check_presence};
use crate::execute::{Early, Ends};
use crate::limits::Limits;
use crate::progress::{Event, Progress};
use crate::{
    BlobAction, Error, ImageKind, ImageMapping, MirrorOptions, MirrorSpec, PlannedBlob,
    PlatformChoice, ReleaseLoader, expand_release, platform::select_child,
    source::localize_components,
};

/// Every image and blob of a mirror, and what has to happen to each.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorPlan {
    /// The images, components before the release image that lists them.
    pub images: Vec<PlannedImage>,
    /// Unique blobs of the images still to write, in the order images need them.
    pub blobs: Vec<PlannedBlob>,
    /// Things the user should know (components left out, unknown architecture).
    pub warnings: Vec<String>,
    /// Sums.
    pub totals: PlanTotals,
}

/// One image of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedImage {
    /// Name, kind, source as given and destination.
    #[serde(flatten)]
    pub mapping: ImageMapping,
    /// Where the content is read from, by digest (differs from the mapping's source when a
    /// release is mirrored out of a layout).
    pub read_from: ImageRef,
    /// Images of the same group (a release and its components) share a group number.
    pub group: usize,
    /// Digest of the top-level manifest written at the destination.
    pub digest: Digest,
    /// True when the destination already has it.
    pub present: bool,
    /// Manifests to write (children of a list, then the top one).
    pub manifests_to_write: usize,
    /// The blobs it needs that are not known to be in place.
    pub blobs: Vec<Digest>,
    /// Their total size.
    pub bytes: u64,
    #[serde(skip)]
    pub(crate) writes: Vec<ManifestWrite>,
    #[serde(skip)]
    pub(crate) dst: Arc<dyn Store>,
    #[serde(skip)]
    pub(crate) dst_location: String,
}

/// A manifest to write, with the tag to point at it.
#[derive(Debug, Clone)]
pub(crate) struct ManifestWrite {
    pub manifest: RawManifest,
    pub tag: Option<String>,
}

/// Sums over a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanTotals {
    /// Images.
    pub images: usize,
    /// Images not complete at the destination.
    pub pending_images: usize,
    /// Manifests to write.
    pub manifests_to_write: usize,
    /// Unique blobs of the pending images.
    pub blobs: usize,
    /// Blob transfers (at most, for blobs planned as copy-if-missing).
    pub blobs_to_copy: usize,
    /// Bytes to transfer (at most, likewise).
    pub bytes_to_copy: u64,
    /// Blob mounts.
    pub blobs_to_mount: usize,
    /// Blob-and-repository pairs already in place.
    pub blobs_present: usize,
    /// Their bytes.
    pub bytes_present: u64,
}

/// An image to plan, with where to read it and its group.
struct Job {
    mapping: ImageMapping,
    read_from: ImageRef,
    group: usize,
}

struct Resolved {
    digest: Digest,
    present: bool,
    writes: Vec<ManifestWrite>,
    blobs: Vec<BlobRef>,
}

/// The warning naming every image `blockedImages` left out of `what`.
fn blocked_warning(what: &str, dropped: Vec<String>) -> Option<String> {
    (!dropped.is_empty()).then(|| {
        format!(
            "{what}: {} image(s) left out by blockedImages: {}",
            dropped.len(),
            dropped.join(", ")
        )
    })
}

impl MirrorPlan {
    /// Plans `spec`: loads each release with `loader`, expands it, and plans every image.
    pub async fn build(
        spec: &MirrorSpec,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        options: &MirrorOptions,
        progress: &dyn Progress,
    ) -> Result<MirrorPlan, Error> {
        MirrorPlan::build_copying(spec, stores, loader, options, progress, None).await
    }

    /// Plans `spec` as [`build`](Self::build) does; with `early`, each image's blobs start
    /// moving as soon as the image is resolved (see `execute::early`).
    pub(crate) async fn build_copying(
        spec: &MirrorSpec,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        options: &MirrorOptions,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> Result<MirrorPlan, Error> {
        let mut jobs = Vec::new();
        let mut warnings = Vec::new();
        for (group, r) in spec.releases.iter().enumerate() {
            let store = stores.store(&r.source, Access::Read).await?;
            let content = loader.load(store.as_ref(), &r.source).await?;
            let mut x = expand_release(&content, &r.target, &spec.filter, &spec.platform)?;
            warnings.extend(x.warnings);
            warnings.extend(blocked_warning(
                &content.version,
                spec.blocked.retain(&mut x.mappings),
            ));
            let read_from = localize_components(&r.source, store.as_ref(), &x.mappings).await?;
            for (mapping, read_from) in x.mappings.into_iter().zip(read_from) {
                jobs.push(Job {
                    mapping,
                    read_from,
                    group,
                });
            }
        }
        let mut images = spec.images.clone();
        warnings.extend(blocked_warning("images", spec.blocked.retain(&mut images)));
        for (i, m) in images.iter().enumerate() {
            jobs.push(Job {
                read_from: m.source.clone(),
                mapping: m.clone(),
                group: spec.releases.len() + i,
            });
        }
        let mut plan = plan_jobs(jobs, &spec.platform, stores, options, progress, early).await?;
        warnings.append(&mut plan.warnings);
        plan.warnings = warnings;
        Ok(plan)
    }

    /// Plans explicit mappings; each inner list is a group that serves the same clusters (for the
    /// mirror configuration), such as a release and its components.
    pub async fn for_mappings(
        groups: Vec<Vec<ImageMapping>>,
        platform: &PlatformChoice,
        stores: &StoreMap,
        options: &MirrorOptions,
        progress: &dyn Progress,
    ) -> Result<MirrorPlan, Error> {
        let jobs = groups
            .into_iter()
            .enumerate()
            .flat_map(|(group, ms)| {
                ms.into_iter().map(move |mapping| Job {
                    read_from: mapping.source.clone(),
                    mapping,
                    group,
                })
            })
            .collect();
        plan_jobs(jobs, platform, stores, options, progress, None).await
    }

    /// The mappings of the plan, in order (for a mapping file): group by group, and within a
    /// group the release line first, as `oc adm release mirror --to-mirror` prints them. The
    /// plan itself keeps the release last, since it is written last.
    pub fn mappings(&self) -> Vec<ImageMapping> {
        ordered_mappings(&self.images)
    }

    /// The source → mirrors sets for mirror configuration (IDMS, ICSP), merged and sorted.
    pub fn mirror_sets(&self) -> Vec<crate::instructions::MirrorSet> {
        let mut groups: Vec<usize> = self.images.iter().map(|i| i.group).collect();
        groups.dedup();
        let sets = groups
            .into_iter()
            .flat_map(|g| {
                let ms: Vec<ImageMapping> = self
                    .images
                    .iter()
                    .filter(|i| i.group == g)
                    .map(|i| i.mapping.clone())
                    .collect();
                crate::instructions::group_sets(&ms)
            })
            .collect();
        crate::instructions::dedupe_sort(sets)
    }
}

async fn plan_jobs(
    jobs: Vec<Job>,
    platform: &PlatformChoice,
    stores: &StoreMap,
    options: &MirrorOptions,
    progress: &dyn Progress,
    early: Option<&Early>,
) -> Result<MirrorPlan, Error> {
    progress.event(&Event::Planning { images: jobs.len() });
    check_unique_destinations(&jobs)?;
    let limits = Limits::new(options.jobs);
    // Planning is request latency, not bandwidth: go wider than the copy concurrency.
    let width = options.jobs.max(1) * 4;

    let mut opened = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let src = stores.store(&j.read_from, Access::Read).await?;
        let dst = stores.store(&j.mapping.destination, Access::Write).await?;
        opened.push((src, dst));
    }
    // The futures are made before they are streamed: a stream mapping borrowed items through a
    // closure is not provably `Send`, and callers spawn this future.
    let resolving: Vec<_> = jobs
        .iter()
        .zip(&opened)
        .enumerate()
        .map(|(i, (j, (src, dst)))| {
            resolve(j, src.as_ref(), dst.as_ref(), platform, options, &limits).map(move |r| (i, r))
        })
        .collect();
    // Taken as they complete, so that an image slow to resolve holds back no other's copy.
    let mut slots: Vec<Option<Resolved>> = (0..jobs.len()).map(|_| None).collect();
    let mut completing = futures::stream::iter(resolving).buffer_unordered(width);
    while let Some((i, r)) = completing.next().await {
        let r = r?;
        if let Some(early) = early
            && !r.present
        {
            early.start(&ends(&jobs[i], &opened[i]), &r.blobs);
        }
        slots[i] = Some(r);
    }
    drop(completing);
    let resolved: Vec<Resolved> = slots.into_iter().flatten().collect();

    let mut blobs = BlobSet::default();
    let mut images = Vec::with_capacity(jobs.len());
    for ((job, (src, dst)), r) in jobs.into_iter().zip(opened).zip(resolved) {
        let src_location = StoreKey::of(&job.read_from).to_string();
        let dst_location = StoreKey::of(&job.mapping.destination).to_string();
        let mut digests = Vec::new();
        let mut bytes = 0;
        for b in &r.blobs {
            blobs.add(
                b,
                (&src, &src_location, job.read_from.repository()),
                (&dst, &dst_location, job.mapping.destination.repository()),
            )?;
            digests.push(b.digest.clone());
            bytes += b.size;
        }
        images.push(PlannedImage {
            read_from: job.read_from.with_digest(r.digest.clone()),
            mapping: job.mapping,
            group: job.group,
            digest: r.digest,
            present: r.present,
            manifests_to_write: r.writes.len(),
            blobs: digests,
            bytes,
            writes: r.writes,
            dst,
            dst_location,
        });
    }
    let mut blobs = blobs.into_blobs();
    if options.check_blobs {
        check_presence(&mut blobs, options, &limits, width).await?;
    }
    for b in &mut blobs {
        assign_actions(b, options.check_blobs);
    }
    let totals = totals(&images, &blobs);
    progress.event(&Event::Planned {
        images: totals.images,
        pending_images: totals.pending_images,
        blobs: totals.blobs,
        bytes_to_copy: totals.bytes_to_copy,
    });
    Ok(MirrorPlan {
        images,
        blobs,
        warnings: Vec::new(),
        totals,
    })
}

/// The stores, locations and repositories an image's blobs move between.
fn ends<'a>(job: &'a Job, (src, dst): &'a (Arc<dyn Store>, Arc<dyn Store>)) -> Ends<'a> {
    Ends {
        src: (
            src,
            StoreKey::of(&job.read_from).to_string(),
            job.read_from.repository(),
        ),
        dst: (
            dst,
            StoreKey::of(&job.mapping.destination).to_string(),
            job.mapping.destination.repository(),
        ),
    }
}

fn check_unique_destinations(jobs: &[Job]) -> Result<(), Error> {
    let mut seen: HashMap<String, &Job> = HashMap::new();
    for j in jobs {
        if j.mapping.destination.tag().is_none() {
            continue;
        }
        let key = j.mapping.destination.to_string();
        if let Some(first) = seen.get(&key)
            && first.mapping.source != j.mapping.source
        {
            return Err(Error::DuplicateDestination {
                destination: key,
                first: first.mapping.source.to_string(),
                second: j.mapping.source.to_string(),
            });
        }
        seen.insert(key, j);
    }
    Ok(())
}

async fn resolve(
    job: &Job,
    src: &dyn Store,
    dst: &dyn Store,
    platform: &PlatformChoice,
    options: &MirrorOptions,
    limits: &Limits,
) -> Result<Resolved, Error> {
    let image = job.read_from.to_string();
    let src_loc = StoreKey::of(&job.read_from).to_string();
    let dst_loc = StoreKey::of(&job.mapping.destination).to_string();
    let (src_loc, dst_loc) = (src_loc.as_str(), dst_loc.as_str());
    let src_repo = job.read_from.repository();
    let dst_repo = job.mapping.destination.repository();
    let src_err = |e| Error::Source {
        image: image.clone(),
        source: Box::new(e),
    };
    let dst_err = |e| Error::Destination {
        image: job.mapping.destination.to_string(),
        source: Box::new(e),
    };
    let retry = &options.retry;

    let mut digest = match (job.read_from.digest(), job.read_from.tag()) {
        (Some(d), _) => d.clone(),
        (None, Some(tag)) => {
            let r = ManifestRef::Tag(tag.to_string());
            let _p = limits.acquire(&[src_loc]).await;
            retry
                .run(|| src.manifest_digest(src_repo, &r), |_, _, _| {})
                .await
                .map_err(src_err)?
                .ok_or_else(|| Error::SourceNotFound {
                    image: image.clone(),
                })?
        }
        (None, None) => {
            return Err(Error::InvalidSource {
                source_ref: image.clone(),
                reason: "needs a tag or digest".to_string(),
            });
        }
    };
    let read = |d: Digest| async move {
        let _p = limits.acquire(&[src_loc]).await;
        read_manifest(src, src_repo, &d, retry)
            .await
            .map_err(src_err)
    };

    let mut top = None;
    if let PlatformChoice::Only(p) = platform {
        let m = read(digest.clone()).await?;
        if m.is_index() {
            digest = select_child(&m, p, &image)?.digest;
            top = Some(read(digest.clone()).await?);
        } else {
            top = Some(m);
        }
    }

    let at_dst = match job.mapping.destination.tag() {
        Some(t) => ManifestRef::Tag(t.to_string()),
        None => ManifestRef::Digest(digest.clone()),
    };
    let existing = {
        let _p = limits.acquire(&[dst_loc]).await;
        retry
            .run(|| dst.manifest_digest(dst_repo, &at_dst), |_, _, _| {})
            .await
            .map_err(dst_err)?
    };
    if existing.as_ref() == Some(&digest) {
        return Ok(Resolved {
            digest,
            present: true,
            writes: Vec::new(),
            blobs: Vec::new(),
        });
    }

    let top = match top {
        Some(t) => t,
        None => read(digest.clone()).await?,
    };
    let mut writes = Vec::new();
    let mut blobs = Vec::new();
    if top.is_index() {
        let children = top.references().map_err(src_err)?;
        let present: Vec<bool> = futures::future::try_join_all(children.iter().map(|c| async {
            let r = ManifestRef::Digest(c.digest.clone());
            let _p = limits.acquire(&[dst_loc]).await;
            let got = retry
                .run(|| dst.manifest_digest(dst_repo, &r), |_, _, _| {})
                .await
                .map_err(dst_err)?;
            Ok::<_, Error>(got.as_ref() == Some(&c.digest))
        }))
        .await?;
        let missing = children.iter().zip(present).filter(|(_, p)| !p);
        let manifests =
            futures::future::try_join_all(missing.map(|(c, _)| read(c.digest.clone()))).await?;
        for m in manifests {
            if m.is_index() {
                return Err(Error::InvalidSource {
                    source_ref: image.clone(),
                    reason: format!("nested index {} is not supported", m.digest()),
                });
            }
            blobs.extend(m.references().map_err(src_err)?);
            writes.push(ManifestWrite {
                manifest: m,
                tag: None,
            });
        }
    } else {
        blobs.extend(top.references().map_err(src_err)?);
    }
    writes.push(ManifestWrite {
        manifest: top,
        tag: job.mapping.destination.tag().map(str::to_string),
    });
    let mut seen = std::collections::HashSet::new();
    blobs.retain(|b| seen.insert(b.digest.clone()));
    Ok(Resolved {
        digest,
        present: false,
        writes,
        blobs,
    })
}

/// Reads a manifest by digest and checks the bytes hash to it.
pub(crate) async fn read_manifest(
    store: &dyn Store,
    repo: &str,
    digest: &Digest,
    retry: &crate::RetryPolicy,
) -> Result<RawManifest, okd_oci::Error> {
    let r = ManifestRef::Digest(digest.clone());
    let m = retry
        .run(|| store.read_manifest(repo, &r), |_, _, _| {})
        .await?;
    let actual = Digest::of(digest.algorithm(), m.bytes());
    if &actual != digest {
        return Err(okd_oci::Error::DigestMismatch {
            what: format!("manifest in {}/{repo}", store.location()),
            expected: digest.clone(),
            actual,
        });
    }
    Ok(m)
}

fn totals(images: &[PlannedImage], blobs: &[PlannedBlob]) -> PlanTotals {
    let mut t = PlanTotals {
        images: images.len(),
        pending_images: images.iter().filter(|i| !i.present).count(),
        manifests_to_write: images.iter().map(|i| i.manifests_to_write).sum(),
        blobs: blobs.len(),
        ..PlanTotals::default()
    };
    for b in blobs {
        for target in &b.targets {
            match target.action {
                BlobAction::Present => {
                    t.blobs_present += 1;
                    t.bytes_present += b.size;
                }
                BlobAction::Mount { .. } => t.blobs_to_mount += 1,
                BlobAction::Copy | BlobAction::CopyIfMissing => {
                    t.blobs_to_copy += 1;
                    t.bytes_to_copy += b.size;
                }
            }
        }
    }
    t
}

/// The mappings of `images` in mapping-file order; the sort is stable, so components keep the
/// order of the release's `image-references`.
fn ordered_mappings(images: &[PlannedImage]) -> Vec<ImageMapping> {
    let mut ordered: Vec<&PlannedImage> = images.iter().collect();
    ordered.sort_by_key(|i| (i.group, !i.is_release()));
    ordered.into_iter().map(|i| i.mapping.clone()).collect()
}

impl PlannedImage {
    /// True for a release image.
    pub fn is_release(&self) -> bool {
        self.mapping.kind == ImageKind::Release
    }
}
