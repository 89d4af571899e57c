//! The flags of the `mirror release` and `mirror image` commands, turned into typed runs.
//!
//! Each options struct has one field per command-line flag; [`ReleaseMirrorOptions::to_run`] and
//! [`ImageMirrorOptions::to_run`] check the flags and give the typed [`ReleaseRun`] or
//! [`ImageRun`] that does the work:
//!
//! ```text
//! mirror release SRC --to REPO [--to-release-image REF] [--exclude PAT]… [--include PAT]…
//!                [--dry-run] [--idms FILE] [--icsp FILE] [--mapping FILE] [-j N]
//! mirror image SRC DST [--dry-run] [--mapping FILE] [-j N]
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::ImageRef;

use crate::progress::Progress;
use crate::run::{ImageRun, Outputs, ReleaseRun};
pub use crate::run::{Instructions, MirrorOutcome};
use crate::{
    ComponentFilter, DEFAULT_JOBS, Error, ImageMapping, MirrorOptions, Naming, PlatformChoice,
    ReleaseLoader, ReleaseMirror, ReleaseTarget, RetryPolicy, StoreSet, mapping,
};

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

impl ReleaseMirrorOptions {
    /// The typed run these flags ask for; fails, naming the flag's value, on a flag that does
    /// not parse.
    pub fn to_run(&self) -> Result<ReleaseRun, Error> {
        let source = parse_source(&self.from)?;
        let mut target = ReleaseTarget::parse(&self.to, self.naming)?;
        if let Some(r) = &self.to_release_image {
            // A bare repository would silently become `:latest`; ask for the tag instead.
            if crate::naming::parse_repository(r).is_ok() {
                return Err(Error::InvalidDestination {
                    destination: r.clone(),
                    reason: "--to-release-image needs a tag".to_string(),
                });
            }
            let image: ImageRef =
                r.parse()
                    .map_err(|e: okd_oci::Error| Error::InvalidDestination {
                        destination: r.clone(),
                        reason: e.to_string(),
                    })?;
            target = target.with_release_image(image);
        }
        Ok(ReleaseRun {
            release: ReleaseMirror { source, target },
            filter: ComponentFilter::new(&self.include, &self.exclude)?,
            platform: platform(&self.platform)?,
            options: options(self.jobs, self.retries, self.dry_run),
            dry_run: self.dry_run,
            outputs: Outputs {
                report: self.report.clone(),
                mapping: self.mapping.clone(),
                idms: self.idms.clone(),
                icsp: self.icsp.clone(),
                install_config: self.install_config.clone(),
            },
            instructions: self.print_instructions,
        })
    }
}

impl ImageMirrorOptions {
    /// The typed run these flags ask for.
    pub fn to_run(&self) -> Result<ImageRun, Error> {
        let source = parse_source(&self.source)?;
        let destination = parse_image_destination(&self.destination)?;
        Ok(ImageRun {
            mapping: ImageMapping::image(source, destination),
            platform: platform(&self.platform)?,
            options: options(self.jobs, self.retries, self.dry_run),
            dry_run: self.dry_run,
            outputs: Outputs {
                report: self.report.clone(),
                mapping: self.mapping.clone(),
                ..Outputs::default()
            },
        })
    }
}

/// Mirrors a release and its components as the flags ask.
pub async fn mirror_release(
    opts: &ReleaseMirrorOptions,
    stores: &StoreSet,
    loader: &dyn ReleaseLoader,
    progress: Arc<dyn Progress>,
) -> Result<MirrorOutcome, Error> {
    opts.to_run()?.run(stores, loader, progress).await
}

/// Mirrors one image as the flags ask.
pub async fn mirror_image(
    opts: &ImageMirrorOptions,
    stores: &StoreSet,
    progress: Arc<dyn Progress>,
) -> Result<MirrorOutcome, Error> {
    opts.to_run()?.run(stores, progress).await
}

fn parse_source(s: &str) -> Result<ImageRef, Error> {
    s.parse().map_err(|e: okd_oci::Error| Error::InvalidSource {
        source_ref: s.to_string(),
        reason: e.to_string(),
    })
}

fn parse_image_destination(s: &str) -> Result<ImageRef, Error> {
    mapping::parse_destination(s).map_err(|e| Error::InvalidDestination {
        destination: s.to_string(),
        reason: e.to_string(),
    })
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
            Err(Error::SourceNotFound {
                image: image.to_string(),
            })
        }
    }

    async fn release_err(opts: ReleaseMirrorOptions) -> String {
        let stores = StoreSet::new();
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
}
