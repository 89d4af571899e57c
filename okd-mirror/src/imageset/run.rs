//! A resolved image set mirrored: one plan for every release and image (blobs shared between
//! releases move once), then the cluster resources.
//!
//! ```no_run
//! # async fn demo(set: okd_mirror::imageset::ImageSet, loader: &dyn okd_mirror::ReleaseLoader) -> Result<(), okd_mirror::Error> {
//! use std::sync::Arc;
//! use okd_mirror::imageset::ImageSetRun;
//! use okd_mirror::progress::NoProgress;
//!
//! let mut run = ImageSetRun::new(set);
//! run.resources_dir = Some("cluster-resources".into());
//! let outcome = run.run(&okd_oci::StoreMap::offline(), loader, Arc::new(NoProgress)).await?;
//! println!("{} images", outcome.plan.images.len());
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::StoreMap;
use okd_release::graph::Graph;

use super::resources::ClusterResources;
use super::set::ImageSet;
use crate::progress::Progress;
use crate::run::{plan_and_copy, run_defaults, run_options, write_atomic};
use crate::{
    ComponentFilter, Error, MirrorOptions, MirrorPlan, MirrorReport, MirrorSpec, PlatformChoice,
    ReleaseLoader,
};

/// An image set to mirror.
#[derive(Debug, Clone)]
pub struct ImageSetRun {
    /// What to mirror, and where.
    pub set: ImageSet,
    /// Concurrency, retries and blob checks (a dry run checks every blob).
    pub options: MirrorOptions,
    /// Plan and report only; write nothing to the destination, nor resources.
    pub dry_run: bool,
    /// Where the cluster resources go; none are written without it.
    pub resources_dir: Option<PathBuf>,
    /// Also write the upgrade graph of the mirrored releases (`platform.graph`).
    pub graph: bool,
    /// The graphs the channels were read from, for the edges of the written graph.
    pub source_graphs: Vec<Graph>,
    /// Where the JSON report goes, written even when images failed.
    pub report: Option<PathBuf>,
}

/// What mirroring an image set did.
#[derive(Debug, Clone)]
pub struct ImageSetOutcome {
    /// The plan.
    pub plan: MirrorPlan,
    /// The report (of the dry run, when it was one).
    pub report: MirrorReport,
    /// The cluster resources.
    pub resources: ClusterResources,
    /// The files written into [`ImageSetRun::resources_dir`].
    pub written: Vec<PathBuf>,
}

impl ImageSetRun {
    /// A run of `set` with the default options, no resources and no graph.
    pub fn new(set: ImageSet) -> ImageSetRun {
        ImageSetRun {
            set,
            options: run_defaults(),
            dry_run: false,
            resources_dir: None,
            graph: false,
            source_graphs: Vec::new(),
            report: None,
        }
    }

    /// Plans every release (loaded with `loader`) and image, copies them, and writes the
    /// resources — only when every image is in place.
    pub async fn run(
        &self,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        progress: Arc<dyn Progress>,
    ) -> Result<ImageSetOutcome, Error> {
        let spec = MirrorSpec {
            releases: self.set.releases.iter().map(|r| r.mirror.clone()).collect(),
            images: self.set.images.clone(),
            filter: ComponentFilter::all(),
            platform: PlatformChoice::All,
            blocked: self.set.blocked.clone(),
        };
        let options = run_options(&self.options, self.dry_run);
        let (plan, report) =
            plan_and_copy(&spec, stores, loader, &options, self.dry_run, progress).await?;
        if let Some(path) = &self.report {
            write_atomic(path, report.to_json()?.as_bytes())?;
        }
        report.check()?;
        let graphs: Vec<&Graph> = self.source_graphs.iter().collect();
        let resources = ClusterResources::new(&plan, &self.set, self.graph, &graphs);
        let written = match (&self.resources_dir, self.dry_run) {
            (Some(dir), false) => resources.write(dir)?,
            _ => Vec::new(),
        };
        Ok(ImageSetOutcome {
            plan,
            report,
            resources,
            written,
        })
    }
}
