//! `coreos lint`: `okd_coreos::image_lint` on the command line.

use std::fmt::Write as _;

use clap::Args;
use okd_coreos::Architecture;
use okd_coreos::image_lint::{BaseOf, lint_image};
use okd_coreos::lint::render;
use okd_coreos::tree_cache::TreeCache;

use crate::cli::output::print_text;
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The OS image whose added layers are linted.
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The image it was built on (default: the layers its ostree.final-diffid label names).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// The architecture to pick when an image is a multi-architecture index.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<Architecture>,
}

pub async fn run(a: LintArgs, stores: &Stores) -> Result<(), CliError> {
    let image = stores.source(&a.image).await?;
    let base_source = match &a.base {
        Some(b) => Some(stores.source(b).await?),
        None => None,
    };
    let base = match &base_source {
        Some(b) => BaseOf::Image(b.store.as_ref(), &b.repo, &b.reference),
        None => BaseOf::Labels,
    };
    let layers = lint_image(
        image.store.as_ref(),
        &image.repo,
        &image.reference,
        a.arch,
        base,
        &TreeCache::new(),
    )
    .await?;
    let mut out = String::new();
    let mut errors = 0;
    let mut warnings = 0;
    for l in &layers {
        let _ = writeln!(out, "layer {} {}", l.index, l.digest);
        out.push_str(&render(&l.report));
        errors += l.report.errors().count();
        warnings += l.report.warnings().count();
    }
    let _ = writeln!(
        out,
        "{} added layer(s): {errors} error(s), {warnings} warning(s)",
        layers.len()
    );
    print_text(&out)?;
    if errors > 0 {
        return Err(format!("{}: the lint found {errors} error(s)", a.image).into());
    }
    Ok(())
}
