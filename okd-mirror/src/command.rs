//! The `mirror release` and `mirror image` commands as library functions.
//!
//! Each options struct has one field per command-line flag, so a front end only parses flags
//! into it and calls [`mirror_release`] or [`mirror_image`]:
//!
//! ```text
//! mirror release SRC --to REPO [--to-release-image REF] [--exclude PAT]… [--include PAT]…
//!                [--dry-run] [--idms FILE] [--icsp FILE] [--mapping FILE] [-j N]
//! mirror image SRC DST [--dry-run] [--mapping FILE] [-j N]
//! ```
//!
//! Output files are written whole or not at all (a temporary file in the same directory, then
//! renamed). The JSON report is written even when images failed; the mirror configuration only
//! when every image is in place (or would be, for a dry run).
//!
//! ```no_run
//! # async fn demo(loader: &dyn okd_mirror::ReleaseLoader) -> Result<(), okd_mirror::Error> {
//! use std::sync::Arc;
//! use okd_mirror::command::{mirror_release, ReleaseMirrorOptions};
//! use okd_mirror::progress::NoProgress;
//! use okd_oci::{registry::RegistryOptions, StoreMap};
//!
//! let options = ReleaseMirrorOptions {
//!     from: "quay.io/okd/scos-release:4.19.0-okd-scos.19".to_string(),
//!     to: "mirror.local:5000/okd/release".to_string(),
//!     exclude: vec!["rhel-coreos*".to_string()],
//!     idms: Some("idms.yaml".into()),
//!     ..ReleaseMirrorOptions::default()
//! };
//! let stores = StoreMap::new(RegistryOptions::default());
//! let outcome = mirror_release(&options, &stores, loader, Arc::new(NoProgress)).await?;
//! print!("{}", outcome.instructions);
//! # Ok(()) }
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use okd_oci::{ImageRef, StoreMap};
use serde::{Deserialize, Serialize};

use crate::icsp::ImageContentSourcePolicy;
use crate::idms::ImageDigestMirrorSet;
use crate::instructions::success_text;
use crate::progress::Progress;
use crate::{
    ComponentFilter, DEFAULT_JOBS, Error, ImageKind, ImageMapping, MirrorOptions, MirrorPlan,
    MirrorReport, MirrorSpec, Naming, PlatformChoice, ReleaseLoader, ReleaseMirror, ReleaseTarget,
    RetryPolicy, execute, mapping,
};

/// Which mirror configuration to print after a release mirror (`--print-mirror-instructions`).
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

/// Options of `mirror release`.
#[derive(Debug, Clone, Default)]
pub struct ReleaseMirrorOptions {
    /// `SRC`: the release image (`docker://…` or `oci:DIR:REPO:TAG`).
    pub from: String,
    /// `--to REPO`: the repository components (and, by default, the release) go to.
    pub to: String,
    /// `--to-release-image REF`: where the release image goes instead.
    pub to_release_image: Option<String>,
    /// `--exclude PAT`: components to leave out.
    pub exclude: Vec<String>,
    /// `--include PAT`: components to keep (all when empty).
    pub include: Vec<String>,
    /// `--dry-run`: plan and report, write nothing to the destination.
    pub dry_run: bool,
    /// `--idms FILE`: write the ImageDigestMirrorSet there.
    pub idms: Option<PathBuf>,
    /// `--icsp FILE`: write the ImageContentSourcePolicy there.
    pub icsp: Option<PathBuf>,
    /// `--mapping FILE`: write `SRC DST` lines there.
    pub mapping: Option<PathBuf>,
    /// `-j N`: operations in flight per registry (0 means the default).
    pub jobs: usize,
    /// `--naming release|content|digest-only`.
    pub naming: Naming,
    /// `--platform OS/ARCH[/VARIANT]`: mirror only that child of manifest lists.
    pub platform: Option<String>,
    /// `--install-config FILE`: write the `imageDigestSources` section there.
    pub install_config: Option<PathBuf>,
    /// `--report FILE`: write the JSON report there.
    pub report: Option<PathBuf>,
    /// `--print-mirror-instructions idms|icsp|none`.
    pub print_instructions: Instructions,
    /// `--retries N`: attempts per blob and manifest (0 means the default).
    pub retries: u32,
}

/// Options of `mirror image`.
#[derive(Debug, Clone, Default)]
pub struct ImageMirrorOptions {
    /// `SRC`: the image (tag or digest).
    pub source: String,
    /// `DST`: a reference with a tag, or a repository (the source's tag is kept; an image given
    /// by digest is then written by digest only).
    pub destination: String,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--mapping FILE`.
    pub mapping: Option<PathBuf>,
    /// `-j N` (0 means the default).
    pub jobs: usize,
    /// `--platform OS/ARCH[/VARIANT]`.
    pub platform: Option<String>,
    /// `--report FILE`.
    pub report: Option<PathBuf>,
    /// `--retries N` (0 means the default).
    pub retries: u32,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct MirrorOutcome {
    /// The plan.
    pub plan: MirrorPlan,
    /// The report (of the dry run, when it was one).
    pub report: MirrorReport,
    /// The text to show the user: where the release went and the mirror configuration.
    pub instructions: String,
}

/// A dry run reports exact bytes, so it asks for every blob while planning; a run leaves that to
/// the uploads (see [`MirrorOptions::check_blobs`]).
fn options(jobs: usize, retries: u32, dry_run: bool) -> MirrorOptions {
    MirrorOptions {
        jobs: if jobs == 0 { DEFAULT_JOBS } else { jobs },
        retry: RetryPolicy {
            attempts: if retries == 0 {
                RetryPolicy::default().attempts
            } else {
                retries
            },
            ..RetryPolicy::default()
        },
        check_blobs: dry_run,
    }
}

fn platform(p: &Option<String>) -> Result<PlatformChoice, Error> {
    match p {
        None => Ok(PlatformChoice::All),
        Some(p) => Ok(PlatformChoice::Only(p.parse()?)),
    }
}

/// Mirrors a release and its components.
pub async fn mirror_release(
    opts: &ReleaseMirrorOptions,
    stores: &StoreMap,
    loader: &dyn ReleaseLoader,
    progress: Arc<dyn Progress>,
) -> Result<MirrorOutcome, Error> {
    let source: ImageRef = opts
        .from
        .parse()
        .map_err(|e: okd_oci::Error| Error::InvalidSource {
            source_ref: opts.from.clone(),
            reason: e.to_string(),
        })?;
    let mut target = ReleaseTarget::parse(&opts.to, opts.naming)?;
    if let Some(r) = &opts.to_release_image {
        // A bare repository would silently become `:latest`; ask for the tag instead.
        if crate::naming::parse_repository(r).is_ok() {
            return Err(Error::InvalidDestination {
                destination: r.clone(),
                reason: "--to-release-image needs a tag".to_string(),
            });
        }
        let image: ImageRef = r
            .parse()
            .map_err(|e: okd_oci::Error| Error::InvalidDestination {
                destination: r.clone(),
                reason: e.to_string(),
            })?;
        target = target.with_release_image(image);
    }
    let spec = MirrorSpec {
        releases: vec![ReleaseMirror { source, target }],
        images: Vec::new(),
        filter: ComponentFilter::new(&opts.include, &opts.exclude)?,
        platform: platform(&opts.platform)?,
    };
    let options = options(opts.jobs, opts.retries, opts.dry_run);
    let started = std::time::Instant::now();
    let plan = MirrorPlan::build(&spec, stores, loader, &options, progress.as_ref()).await?;
    let planning = started.elapsed();
    let mut report = run(&plan, opts.dry_run, &options, progress).await;
    report.planning = planning;
    if let Some(path) = &opts.report {
        write_atomic(path, report.to_json()?.as_bytes())?;
    }
    report.check()?;

    let sets = plan.mirror_sets();
    let idms = ImageDigestMirrorSet::new("example", &sets);
    let icsp = ImageContentSourcePolicy::new("example", &sets);
    if let Some(path) = &opts.mapping {
        write_atomic(path, mapping::to_text(&plan.mappings()).as_bytes())?;
    }
    if let Some(path) = &opts.idms {
        write_atomic(path, idms.to_yaml()?.as_bytes())?;
    }
    if let Some(path) = &opts.icsp {
        write_atomic(path, icsp.to_yaml()?.as_bytes())?;
    }
    if let Some(path) = &opts.install_config {
        write_atomic(path, idms.install_config_yaml()?.as_bytes())?;
    }

    let release = plan
        .images
        .iter()
        .find(|i| i.mapping.kind == ImageKind::Release)
        .map(|i| i.mapping.destination.to_string())
        .unwrap_or_default();
    let mut destinations = vec![opts.to.clone()];
    destinations.extend(opts.to_release_image.iter().cloned());
    let mut instructions = success_text(&release, &destinations);
    if sets.is_empty() {
        if opts.to.starts_with("oci:") {
            instructions.push_str(&format!(
                "\nTo upload the mirrored release to a registry, mirror it from the layout:\n\n    okd-streams mirror release {release} --to REGISTRY/REPOSITORY\n\n"
            ));
        }
    } else {
        match opts.print_instructions {
            Instructions::Idms => instructions.push_str(&idms.instructions()?),
            Instructions::Icsp => instructions.push_str(&icsp.instructions()?),
            Instructions::None => {}
        }
    }
    Ok(MirrorOutcome {
        plan,
        report,
        instructions,
    })
}

/// Mirrors one image (with all children of a manifest list, unless a platform is chosen).
pub async fn mirror_image(
    opts: &ImageMirrorOptions,
    stores: &StoreMap,
    progress: Arc<dyn Progress>,
) -> Result<MirrorOutcome, Error> {
    let source: ImageRef =
        opts.source
            .parse()
            .map_err(|e: okd_oci::Error| Error::InvalidSource {
                source_ref: opts.source.clone(),
                reason: e.to_string(),
            })?;
    let destination = parse_image_destination(&opts.destination)?;
    let m = ImageMapping::image(source, destination);
    let options = options(opts.jobs, opts.retries, opts.dry_run);
    let started = std::time::Instant::now();
    let plan = MirrorPlan::for_mappings(
        vec![vec![m]],
        &platform(&opts.platform)?,
        stores,
        &options,
        progress.as_ref(),
    )
    .await?;
    let planning = started.elapsed();
    let mut report = run(&plan, opts.dry_run, &options, progress).await;
    report.planning = planning;
    if let Some(path) = &opts.report {
        write_atomic(path, report.to_json()?.as_bytes())?;
    }
    report.check()?;
    if let Some(path) = &opts.mapping {
        write_atomic(path, mapping::to_text(&plan.mappings()).as_bytes())?;
    }
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

fn parse_image_destination(s: &str) -> Result<ImageRef, Error> {
    mapping::parse_destination(s).map_err(|e| Error::InvalidDestination {
        destination: s.to_string(),
        reason: e.to_string(),
    })
}

async fn run(
    plan: &MirrorPlan,
    dry_run: bool,
    options: &MirrorOptions,
    progress: Arc<dyn Progress>,
) -> MirrorReport {
    if dry_run {
        MirrorReport::from_plan(plan)
    } else {
        execute(plan, options, progress).await
    }
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
    fn image_destination_forms() {
        let r = parse_image_destination("reg.local/a/b:v1").unwrap();
        assert_eq!(r.tag(), Some("v1"));
        let r = parse_image_destination("reg.local/a/b").unwrap();
        assert_eq!((r.tag(), r.digest()), (None, None));
        let r = parse_image_destination("oci:/tmp/x:a/b:v2").unwrap();
        assert_eq!((r.repository(), r.tag()), ("a/b", Some("v2")));
        assert!(parse_image_destination("not a ref").is_err());
    }

    #[derive(Debug)]
    struct NoReleases;

    #[async_trait::async_trait]
    impl ReleaseLoader for NoReleases {
        async fn load(
            &self,
            _: &dyn okd_oci::Store,
            image: &ImageRef,
        ) -> Result<crate::ReleaseContent, Error> {
            Err(Error::Release {
                release: image.to_string(),
                reason: "not expected to be read".to_string(),
            })
        }
    }

    async fn release_err(opts: ReleaseMirrorOptions) -> String {
        let stores = StoreMap::offline();
        let progress = Arc::new(crate::progress::NoProgress);
        mirror_release(&opts, &stores, &NoReleases, progress)
            .await
            .unwrap_err()
            .to_string()
    }

    #[tokio::test]
    async fn bad_flags_are_refused_before_anything_is_read() {
        let base = ReleaseMirrorOptions {
            from: "quay.io/okd/scos-release:4.19".into(),
            to: "reg.local/okd".into(),
            ..ReleaseMirrorOptions::default()
        };
        let mut o = base.clone();
        o.to = "reg.local/okd:tagged".into();
        assert!(release_err(o).await.contains("reg.local/okd:tagged"));
        let mut o = base.clone();
        o.to_release_image = Some("reg.local/okd/release".into());
        assert!(
            release_err(o)
                .await
                .contains("--to-release-image needs a tag")
        );
        let mut o = base.clone();
        o.exclude = vec!["[".into()];
        assert!(
            release_err(o)
                .await
                .contains("invalid component pattern \"[\"")
        );
        let mut o = base.clone();
        o.platform = Some("amd64".into());
        assert!(release_err(o).await.contains("invalid platform \"amd64\""));
        let mut o = base;
        o.from = "ftp://x".into();
        assert!(release_err(o).await.contains("ftp://x"));
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("idms.yaml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
