//! An image set mirrored to disk (`mirror --config isc.yaml --to archive:DIR`, oc-mirror's
//! mirror to disk): the set mirrored into a staging layout in oc-mirror's layout, then cut into
//! a transfer archive ([`crate::archive`]) whose index records the set — each release with its
//! channel and graph node, each additional image with its path and tag, the `blockedImages`
//! patterns and the graph edges between the mirrored releases. `mirror archive DIR --to
//! REGISTRY/PATH` then pushes the set under `PATH` as `mirror --config --to REGISTRY/PATH` would
//! have, and writes the same cluster resources.
//!
//! ```no_run
//! # async fn demo(set: okd_mirror::imageset::ImageSet, loader: &dyn okd_mirror::ReleaseLoader) -> Result<(), okd_mirror::Error> {
//! use std::sync::Arc;
//! use okd_mirror::imageset::ImageSetArchive;
//! use okd_mirror::progress::NoProgress;
//!
//! let mut write = ImageSetArchive::new(set, "transfer".into());
//! write.max_chunk_size = 1 << 30;
//! let outcome = write.run(&okd_oci::StoreMap::offline(), loader, Arc::new(NoProgress)).await?;
//! println!("{} chunks", outcome.manifest.chunks.len() + 1);
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::{Digest, StoreMap};
use okd_release::graph::Graph;

use super::run::ImageSetRun;
use super::set::ImageSet;
use crate::archive::write::{Carried, Packing, check_archive_dir, plan_blobs, staging_dir};
use crate::archive::{
    ArchiveImage, ArchiveImageSet, ArchiveOutcome, ArchiveSetRelease, DEFAULT_CHUNK_SIZE, History,
    SET_PREFIX,
};
use crate::progress::Progress;
use crate::run::{MirrorOutcome, run_defaults};
use crate::{Error, ImageKind, MirrorOptions, MirrorPlan, ReleaseLoader};

/// An image set mirrored into a transfer archive.
#[derive(Debug, Clone)]
pub struct ImageSetArchive {
    /// The set, resolved for any destination: only its images, paths and tags are used.
    pub set: ImageSet,
    /// The archive directory; it must not hold chunks yet.
    pub dir: PathBuf,
    /// The size no chunk may exceed (`archiveSize` of the configuration, in bytes).
    pub max_chunk_size: u64,
    /// What earlier archives delivered: their blobs are left out of this one.
    pub since: Option<History>,
    /// Concurrency and retries of the mirror into the staging layout.
    pub options: MirrorOptions,
    /// Each release's signatures by its digest, carried for the other side's ConfigMap.
    pub signatures: Vec<(Digest, Vec<Vec<u8>>)>,
    /// Carry what the other side needs to write the upgrade graph (`platform.graph`).
    pub graph: bool,
    /// The graphs the channels were read from.
    pub source_graphs: Vec<Graph>,
    /// Where the JSON report of the mirror into the staging layout goes, written even when
    /// images failed.
    pub report: Option<PathBuf>,
}

impl ImageSetArchive {
    /// An archive of `set` into `dir` with 4 GiB chunks, no history, no signatures and no
    /// graph.
    pub fn new(set: ImageSet, dir: PathBuf) -> ImageSetArchive {
        ImageSetArchive {
            set,
            dir,
            max_chunk_size: DEFAULT_CHUNK_SIZE,
            since: None,
            options: run_defaults(),
            signatures: Vec::new(),
            graph: false,
            source_graphs: Vec::new(),
            report: None,
        }
    }

    /// Mirrors the set into a staging layout inside the archive directory, then writes the
    /// chunks and, last, the index; the staging layout is removed.
    pub async fn run(
        &self,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        progress: Arc<dyn Progress>,
    ) -> Result<ArchiveOutcome, Error> {
        check_archive_dir(&self.dir, self.max_chunk_size)?;
        let staging = staging_dir(&self.dir)?;
        let staged = self
            .set
            .retarget(&format!("oci:{}:{SET_PREFIX}", staging.path().display()))?;
        let mut run = ImageSetRun::new(staged.clone());
        run.options = self.options;
        run.report = self.report.clone();
        let mirrored = run.run(stores, loader, progress).await?;
        let job = Packing {
            dir: self.dir.clone(),
            staging: staging.path().to_path_buf(),
            max_chunk_size: self.max_chunk_size,
            since: self.since.clone().unwrap_or_default(),
            blobs: plan_blobs(&mirrored.plan),
            carried: Carried::ImageSet(self.record(&staged, &mirrored.plan)?),
            signatures: self.signatures.clone(),
        };
        let (manifest, history, bytes) = job.run_blocking().await?;
        drop(staging);
        Ok(ArchiveOutcome {
            manifest,
            history,
            mirror: MirrorOutcome {
                plan: mirrored.plan,
                report: mirrored.report,
                instructions: String::new(),
            },
            bytes,
        })
    }

    /// What the index says about the set, `staged` being the set as mirrored into the layout.
    fn record(&self, staged: &ImageSet, plan: &MirrorPlan) -> Result<ArchiveImageSet, Error> {
        let mut releases = Vec::new();
        for r in &staged.releases {
            let image = plan
                .images
                .iter()
                .find(|i| {
                    i.mapping.kind == ImageKind::Release && i.mapping.source == r.mirror.source
                })
                .ok_or_else(|| Error::Archive {
                    path: self.dir.clone(),
                    reason: format!("release {} was not mirrored", r.mirror.source),
                })?;
            releases.push(ArchiveSetRelease {
                source: r.mirror.source.clone(),
                digest: image.digest.clone(),
                tag: image
                    .mapping
                    .destination
                    .tag()
                    .unwrap_or_default()
                    .to_string(),
                channel: r.channel.clone(),
                node: r.node.clone(),
                signatures: Vec::new(),
            });
        }
        let images = staged
            .images
            .iter()
            .map(|m| {
                let (path, tag) = staged.placement(m)?;
                Ok(ArchiveImage {
                    name: m.name.clone(),
                    source: m.source.clone(),
                    path,
                    tag,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(ArchiveImageSet {
            releases,
            images,
            blocked: staged.blocked.patterns(),
            graph: self.graph,
            graphs: if self.graph {
                self.cut_graphs(staged)
            } else {
                Vec::new()
            },
        })
    }

    /// The source graphs with only the mirrored releases and the edges between them.
    fn cut_graphs(&self, staged: &ImageSet) -> Vec<Graph> {
        let versions: BTreeSet<String> = staged
            .releases
            .iter()
            .filter_map(|r| r.node.as_ref().map(|n| n.version.to_string()))
            .collect();
        self.source_graphs
            .iter()
            .map(|g| {
                let mut g = g.clone();
                g.retain_nodes(|n| versions.contains(&n.version.to_string()));
                g
            })
            .filter(|g| !g.nodes.is_empty())
            .collect()
    }
}
