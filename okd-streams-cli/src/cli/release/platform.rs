//! `--platform` / `--filter-by-os`: which image of a manifest list a release command reads.

use clap::Args;
use okd_release::{LoadOptions, PlatformFilter, Release};

use crate::cli::{CliError, store::Stores};

/// The platform flags shared by `release info|diff|extract|new`.
#[derive(Debug, Clone, Default, Args)]
pub struct PlatformArgs {
    /// The image of a manifest list to read, as OS/ARCH[/VARIANT] (default: the only image of
    /// a one-image list, else linux/amd64).
    #[arg(
        long,
        value_name = "OS/ARCH[/VARIANT]",
        conflicts_with = "filter_by_os"
    )]
    pub platform: Option<String>,
    /// As `oc`: a regular expression matched against os/arch[/variant]; exactly one image of
    /// the list must match.
    #[arg(long, value_name = "REGEX")]
    pub filter_by_os: Option<String>,
}

impl PlatformArgs {
    /// The filter the flags ask for.
    pub fn filter(&self) -> Result<PlatformFilter, CliError> {
        Ok(match (&self.platform, &self.filter_by_os) {
            (Some(p), _) => PlatformFilter::from_arg(p)?,
            (None, Some(re)) => PlatformFilter::pattern(re)?,
            (None, None) => PlatformFilter::Default,
        })
    }
}

/// Loads the release image `text` names, reading the image of a manifest list `platform` picks.
pub(crate) async fn load_on(
    stores: &Stores,
    text: &str,
    platform: &PlatformFilter,
) -> Result<Release, CliError> {
    let source = stores.source(text).await?;
    let options = LoadOptions {
        platform: platform.clone(),
        ..LoadOptions::default()
    };
    Ok(Release::load_image_with(source.store.as_ref(), &source.image, &options).await?)
}
