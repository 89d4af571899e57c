//! A whole mirror run: plan, copy (or only plan, for a dry run), report, and write the outputs
//! clusters need — what `okd-streams mirror` and a stream's mirror stage both do.
//!
//! A [`ReleaseRun`] mirrors one release and its components; an [`ImageRun`] one image (with all
//! children of a manifest list unless a platform is chosen). Both take typed inputs — the
//! [`ReleaseMirror`] or [`ImageMapping`], [`MirrorOptions`], the [`Outputs`] to write — and give
//! a [`MirrorOutcome`]: the plan, the report and the text to show.
//!
//! Output files are written whole or not at all ([`write_atomic`]). The JSON report is written
//! even when images failed; the mirror configuration only when every image is in place (or would
//! be, for a dry run).
//!
//! ```no_run
//! # async fn demo(loader: &dyn okd_mirror::ReleaseLoader) -> Result<(), okd_mirror::Error> {
//! use std::sync::Arc;
//! use okd_mirror::run::ReleaseRun;
//! use okd_mirror::{progress::NoProgress, ComponentFilter, Naming, ReleaseMirror, ReleaseTarget};
//!
//! let mut run = ReleaseRun::new(ReleaseMirror {
//!     source: "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?,
//!     target: ReleaseTarget::parse("mirror.local:5000/okd/release", Naming::Release)?,
//! });
//! run.filter = ComponentFilter::new(&[], &["rhel-coreos*".to_string()])?;
//! run.outputs.idms = Some("idms.yaml".into());
//! let stores = okd_oci::StoreMap::offline();
//! let outcome = run.run(&stores, loader, Arc::new(NoProgress)).await?;
//! print!("{}", outcome.instructions);
//! # Ok(()) }
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use okd_oci::{ImageRef, StoreMap};
use serde::{Deserialize, Serialize};

use crate::execute::{Early, execute_after};
use crate::icsp::ImageContentSourcePolicy;
use crate::idms::ImageDigestMirrorSet;
use crate::instructions::success_text;
use crate::progress::Progress;
use crate::{
    ComponentFilter, Error, ImageKind, ImageMapping, MirrorOptions, MirrorPlan, MirrorReport,
    MirrorSpec, PlatformChoice, ReleaseLoader, ReleaseMirror, execute, mapping,
};

/// Which mirror configuration to add to the text of a release mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Instructions {
    /// ImageDigestMirrorSet and `imageDigestSources`.
    #[default]
    Idms,
    /// ImageContentSourcePolicy and `imageContentSources` (clusters before 4.13).
    Icsp,
    /// Nothing.
    None,
}

/// The files a run writes; each is written only when a path is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// The JSON report, written even when images failed.
    pub report: Option<PathBuf>,
    /// `SRC DST` lines, an `oc image mirror -f` mapping file.
    pub mapping: Option<PathBuf>,
    /// The ImageDigestMirrorSet.
    pub idms: Option<PathBuf>,
    /// The ImageContentSourcePolicy.
    pub icsp: Option<PathBuf>,
    /// The `install-config.yaml` `imageDigestSources` section.
    pub install_config: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct MirrorOutcome {
    /// The plan.
    pub plan: MirrorPlan,
    /// The report (of the dry run, when it was one).
    pub report: MirrorReport,
    /// The text to show the user: where the release went and the mirror configuration, or one
    /// `SRC DST` line per image.
    pub instructions: String,
}

/// One release and its components, mirrored with their outputs.
#[derive(Debug, Clone)]
pub struct ReleaseRun {
    /// The release image and where it and its components go.
    pub release: ReleaseMirror,
    /// Which components to keep.
    pub filter: ComponentFilter,
    /// Keep manifest lists whole, or pick one platform.
    pub platform: PlatformChoice,
    /// Concurrency, retries and blob checks. A dry run checks every blob whatever
    /// [`MirrorOptions::check_blobs`] says, so that its totals are exact.
    pub options: MirrorOptions,
    /// Plan and report only; write nothing to the destination.
    pub dry_run: bool,
    /// The files to write.
    pub outputs: Outputs,
    /// The mirror configuration to add to [`MirrorOutcome::instructions`].
    pub instructions: Instructions,
}

impl ReleaseRun {
    /// A run of `release` with every component, [`run_defaults`] options, no files and the
    /// ImageDigestMirrorSet instructions.
    pub fn new(release: ReleaseMirror) -> ReleaseRun {
        ReleaseRun {
            release,
            filter: ComponentFilter::all(),
            platform: PlatformChoice::All,
            options: run_defaults(),
            dry_run: false,
            outputs: Outputs::default(),
            instructions: Instructions::default(),
        }
    }

    /// Mirrors the release (loaded with `loader`) and its components, then writes the outputs.
    pub async fn run(
        &self,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        progress: Arc<dyn Progress>,
    ) -> Result<MirrorOutcome, Error> {
        let spec = MirrorSpec {
            releases: vec![self.release.clone()],
            images: Vec::new(),
            filter: self.filter.clone(),
            platform: self.platform.clone(),
            blocked: Default::default(),
        };
        let options = run_options(&self.options, self.dry_run);
        let (plan, report) =
            plan_and_copy(&spec, stores, loader, &options, self.dry_run, progress).await?;
        let sets = write_outputs(&plan, &report, &self.outputs)?;

        let target = &self.release.target;
        let release = plan
            .images
            .iter()
            .find(|i| i.mapping.kind == ImageKind::Release)
            .map(|i| i.mapping.destination.to_string())
            .unwrap_or_default();
        let mut destinations = vec![target.to.clone()];
        destinations.extend(target.release_image.iter().map(ImageRef::to_string));
        let mut instructions = success_text(&release, &destinations);
        if sets.is_empty() {
            if matches!(target.repository, ImageRef::Layout(_)) {
                instructions.push_str(&format!(
                    "\nTo upload the mirrored release to a registry, mirror it from the layout:\n\n    okd-streams mirror release {release} --to REGISTRY/REPOSITORY\n\n"
                ));
            }
        } else {
            let idms = ImageDigestMirrorSet::new("example", &sets);
            match self.instructions {
                Instructions::Idms => instructions.push_str(&idms.instructions()?),
                Instructions::Icsp => instructions
                    .push_str(&ImageContentSourcePolicy::new("example", &sets).instructions()?),
                Instructions::None => {}
            }
        }
        Ok(MirrorOutcome {
            plan,
            report,
            instructions,
        })
    }
}

/// One image mirrored on its own, with its outputs.
#[derive(Debug, Clone)]
pub struct ImageRun {
    /// The source and the destination.
    pub mapping: ImageMapping,
    /// Keep a manifest list whole, or pick one platform.
    pub platform: PlatformChoice,
    /// Concurrency, retries and blob checks (a dry run checks every blob).
    pub options: MirrorOptions,
    /// Plan and report only; write nothing to the destination.
    pub dry_run: bool,
    /// The files to write.
    pub outputs: Outputs,
}

impl ImageRun {
    /// A run of `mapping`, a manifest list whole, with [`run_defaults`] options and no files.
    pub fn new(mapping: ImageMapping) -> ImageRun {
        ImageRun {
            mapping,
            platform: PlatformChoice::All,
            options: run_defaults(),
            dry_run: false,
            outputs: Outputs::default(),
        }
    }

    /// Mirrors the image, then writes the outputs.
    pub async fn run(
        &self,
        stores: &StoreMap,
        progress: Arc<dyn Progress>,
    ) -> Result<MirrorOutcome, Error> {
        let options = run_options(&self.options, self.dry_run);
        let started = std::time::Instant::now();
        let plan = MirrorPlan::for_mappings(
            vec![vec![self.mapping.clone()]],
            &self.platform,
            stores,
            &options,
            progress.as_ref(),
        )
        .await?;
        let report = report(&plan, started, self.dry_run, &options, progress).await;
        write_outputs(&plan, &report, &self.outputs)?;
        let instructions = plan
            .images
            .iter()
            .map(|i| format!("{} {}\n", i.read_from, i.mapping.destination))
            .collect();
        Ok(MirrorOutcome {
            plan,
            report,
            instructions,
        })
    }
}

/// The default options of a run: [`MirrorOptions::default`] without the per-blob check while
/// planning, which the uploads make as they open (see [`MirrorOptions::check_blobs`]).
pub fn run_defaults() -> MirrorOptions {
    MirrorOptions {
        check_blobs: false,
        ..MirrorOptions::default()
    }
}

/// A dry run reports exact bytes, so it asks for every blob while planning.
pub(crate) fn run_options(options: &MirrorOptions, dry_run: bool) -> MirrorOptions {
    MirrorOptions {
        check_blobs: options.check_blobs || dry_run,
        ..*options
    }
}

/// Plans `spec` and carries it out (or only reports it, for a dry run). Unless every blob is
/// checked while planning, copies start as soon as each image is resolved, so planning and
/// copying overlap; the report's `planning` is then the time until the plan was complete.
pub(crate) async fn plan_and_copy(
    spec: &MirrorSpec,
    stores: &StoreMap,
    loader: &dyn ReleaseLoader,
    options: &MirrorOptions,
    dry_run: bool,
    progress: Arc<dyn Progress>,
) -> Result<(MirrorPlan, MirrorReport), Error> {
    let started = std::time::Instant::now();
    if dry_run || options.check_blobs {
        let plan = MirrorPlan::build(spec, stores, loader, options, progress.as_ref()).await?;
        let report = report(&plan, started, dry_run, options, progress).await;
        return Ok((plan, report));
    }
    let early = Early::new(options, progress.clone());
    let plan = MirrorPlan::build_copying(
        spec,
        stores,
        loader,
        options,
        progress.as_ref(),
        Some(&early),
    )
    .await?;
    let planning = started.elapsed();
    let mut report = execute_after(&plan, early).await;
    report.planning = planning;
    Ok((plan, report))
}

/// Executes `plan` (or reports it, for a dry run), with the planning time since `started`.
pub(crate) async fn report(
    plan: &MirrorPlan,
    started: std::time::Instant,
    dry_run: bool,
    options: &MirrorOptions,
    progress: Arc<dyn Progress>,
) -> MirrorReport {
    let planning = started.elapsed();
    let mut report = if dry_run {
        MirrorReport::from_plan(plan)
    } else {
        let mut copied = execute(plan, options, progress).await;
        // A whole run's duration counts from the start of planning, as when copies overlap it.
        copied.duration += planning;
        copied
    };
    report.planning = planning;
    report
}

/// Writes the report, fails when an image failed, then writes the mirror configuration; returns
/// the mirror sets.
fn write_outputs(
    plan: &MirrorPlan,
    report: &MirrorReport,
    outputs: &Outputs,
) -> Result<Vec<crate::instructions::MirrorSet>, Error> {
    if let Some(path) = &outputs.report {
        write_atomic(path, report.to_json()?.as_bytes())?;
    }
    report.check()?;
    let sets = plan.mirror_sets();
    let idms = ImageDigestMirrorSet::new("example", &sets);
    if let Some(path) = &outputs.mapping {
        write_atomic(path, mapping::to_text(&plan.mappings()).as_bytes())?;
    }
    if let Some(path) = &outputs.idms {
        write_atomic(path, idms.to_yaml()?.as_bytes())?;
    }
    if let Some(path) = &outputs.icsp {
        let icsp = ImageContentSourcePolicy::new("example", &sets);
        write_atomic(path, icsp.to_yaml()?.as_bytes())?;
    }
    if let Some(path) = &outputs.install_config {
        write_atomic(path, idms.install_config_yaml()?.as_bytes())?;
    }
    Ok(sets)
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so the
/// file is either the old one or the whole new one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(data).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("idms.yaml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_dry_run_checks_every_blob() {
        let quick = run_defaults();
        assert!(run_options(&quick, true).check_blobs);
        assert!(!run_options(&quick, false).check_blobs);
    }
}
