//! Disk to mirror for an image set: an archive written by [`ImageSetArchive`] pushed under a
//! destination prefix in oc-mirror's layout, with the cluster resources a mirror of the same set
//! to that prefix writes.
//!
//! The archive's layout holds the set under [`SET_PREFIX`]; each release and image is read from
//! there and written where [`ImageSet::resolve`] would have put it under the destination. Blobs
//! an earlier archive delivered are not in this one: every blob is checked at the destination
//! while planning, and a blob that neither the destination nor the archive has fails the
//! restore before anything is pushed.
//!
//! [`ImageSetArchive`]: super::ImageSetArchive

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use okd_oci::{Access, ImageRef, StoreMap};
use okd_release::graph::Graph;

use super::resources::ClusterResources;
use super::set::{ImageSet, RELEASE_IMAGES_PATH, SelectedRelease, release_target, under};
use crate::archive::refill::{ReleaseAt, refill_releases};
use crate::archive::unpack::Unpacked;
use crate::archive::{ArchiveImageSet, ArchiveRestore, RestoreOutcome, SET_PREFIX};
use crate::progress::Progress;
use crate::run::{MirrorOutcome, report};
use crate::{
    BlobAction, BlockedImages, ComponentFilter, Error, ImageKind, ImageMapping, MirrorPlan,
    MirrorSpec, PlatformChoice, ReleaseLoader, ReleaseMirror, parse_repository,
};

/// Pushes the image set of `unpacked` (checked and extracted) to `restore.target`'s repository
/// as a prefix, then writes the cluster resources.
pub(crate) async fn restore_set(
    restore: &ArchiveRestore,
    record: &ArchiveImageSet,
    unpacked: Unpacked,
    stores: &StoreMap,
    loader: &dyn ReleaseLoader,
    progress: Arc<dyn Progress>,
) -> Result<RestoreOutcome, Error> {
    let started = std::time::Instant::now();
    let destination = restore.target.to.clone();
    let set = set_at(record, &destination)?;
    let layout = format!("oci:{}:{SET_PREFIX}", unpacked.layout.display());
    let (spec, origins) = read_from_layout(&set, record, &layout)?;
    refill(restore, record, &set, &unpacked, stores).await?;
    let mut options = restore.options;
    // Exact presence at the destination: what an earlier archive delivered is found there, and
    // what is neither there nor here is known before anything is pushed.
    options.check_blobs = true;
    let plan = MirrorPlan::build(&spec, stores, loader, &options, progress.as_ref()).await?;
    check_layout_holds(&plan, &unpacked, &restore.dir, &destination)?;
    let report = report(&plan, started, false, &options, progress).await;
    report.check()?;

    let logical = with_sources(plan.clone(), &origins);
    let graphs: Vec<&Graph> = record.graphs.iter().collect();
    let resources = ClusterResources::new(&logical, &set, record.graph, &graphs);
    let written = match &restore.cluster_resources {
        Some(dir) => resources.write(dir)?,
        None => Vec::new(),
    };
    let signatures = record
        .releases
        .iter()
        .map(|r| {
            let read = |p: &String| {
                let path = unpacked.layout.join(p);
                std::fs::read(&path).map_err(|e| Error::io(path, e))
            };
            Ok((
                r.digest.clone(),
                r.signatures.iter().map(read).collect::<Result<_, _>>()?,
            ))
        })
        .collect::<Result<_, Error>>()?;
    Ok(RestoreOutcome {
        sets: logical.mirror_sets(),
        manifest: unpacked.manifest,
        mirror: MirrorOutcome {
            plan,
            report,
            instructions: String::new(),
        },
        signatures,
        written,
        resources: Some(resources),
    })
}

/// Reads back into the layout the release blobs an earlier archive delivered.
async fn refill(
    restore: &ArchiveRestore,
    record: &ArchiveImageSet,
    set: &ImageSet,
    unpacked: &Unpacked,
    stores: &StoreMap,
) -> Result<(), Error> {
    let Some(repo) = set
        .releases
        .first()
        .and_then(|r| r.mirror.target.release_repository.clone())
    else {
        return Ok(());
    };
    let at = stores.resolve(&repo, Access::Write).await?;
    let layout_repository = format!("{SET_PREFIX}/{RELEASE_IMAGES_PATH}");
    let releases: Vec<ReleaseAt<'_>> = record
        .releases
        .iter()
        .map(|r| ReleaseAt {
            repository: &layout_repository,
            tag: &r.tag,
            destination: at.store.as_ref(),
            destination_repository: &at.repository,
            destination_name: &restore.target.to,
        })
        .collect();
    refill_releases(&restore.dir, &unpacked.store().await?, &releases).await?;
    Ok(())
}

/// The archived set as resolved for `destination`.
fn set_at(record: &ArchiveImageSet, destination: &str) -> Result<ImageSet, Error> {
    let prefix = parse_repository(destination)?;
    let target = release_target(&prefix)?;
    Ok(ImageSet {
        releases: record
            .releases
            .iter()
            .map(|r| SelectedRelease {
                channel: r.channel.clone(),
                node: r.node.clone(),
                mirror: ReleaseMirror {
                    source: r.source.clone(),
                    target: target.clone(),
                },
            })
            .collect(),
        images: record
            .images
            .iter()
            .map(|i| ImageMapping {
                name: i.name.clone(),
                kind: ImageKind::Additional,
                source: i.source.clone(),
                destination: under(&prefix, &i.path, &i.tag),
            })
            .collect(),
        blocked: BlockedImages::new(&record.blocked)?,
        destination: destination.to_string(),
    })
}

/// The spec reading every release and image of `set` from the archive's layout (prefix
/// `layout`), and the original source of each layout reference.
fn read_from_layout(
    set: &ImageSet,
    record: &ArchiveImageSet,
    layout: &str,
) -> Result<(MirrorSpec, HashMap<ImageRef, ImageRef>), Error> {
    let prefix = parse_repository(layout)?;
    let mut origins = HashMap::new();
    let mut releases = Vec::new();
    for (r, archived) in set.releases.iter().zip(&record.releases) {
        let source = under(&prefix, RELEASE_IMAGES_PATH, &archived.tag);
        origins.insert(source.clone(), r.mirror.source.clone());
        releases.push(ReleaseMirror {
            source,
            target: r.mirror.target.clone(),
        });
    }
    let mut images = Vec::new();
    for (m, archived) in set.images.iter().zip(&record.images) {
        let source = under(&prefix, &archived.path, &archived.tag);
        origins.insert(source.clone(), m.source.clone());
        images.push(ImageMapping {
            source,
            ..m.clone()
        });
    }
    let spec = MirrorSpec {
        releases,
        images,
        filter: ComponentFilter::all(),
        platform: PlatformChoice::All,
        blocked: set.blocked.clone(),
    };
    Ok((spec, origins))
}

/// Every blob the plan copies must be in the archive: one that is not was delivered by an
/// earlier archive that was not restored to this destination.
fn check_layout_holds(
    plan: &MirrorPlan,
    unpacked: &Unpacked,
    archive: &Path,
    destination: &str,
) -> Result<(), Error> {
    let missing: Vec<_> = plan
        .blobs
        .iter()
        .filter(|b| b.targets.iter().any(|t| t.action == BlobAction::Copy))
        .filter(|b| !unpacked.holds(&b.digest))
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(Error::Archive {
            path: archive.to_path_buf(),
            reason: format!(
                "{} blob(s), {} the first, were delivered by an earlier archive but are not in {destination}; restore the earlier archives first",
                missing.len(),
                first.digest
            ),
        }),
    }
}

/// `plan` with each image read from the layout named by its original source again, as the
/// cluster resources need it.
fn with_sources(mut plan: MirrorPlan, origins: &HashMap<ImageRef, ImageRef>) -> MirrorPlan {
    for image in &mut plan.images {
        if let Some(original) = origins.get(&image.mapping.source) {
            image.mapping.source = original.clone();
        }
    }
    plan
}
