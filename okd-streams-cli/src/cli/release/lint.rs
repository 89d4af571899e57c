//! `release lint`: what the cluster-version operator will apply, per cluster profile.

use std::path::{Path, PathBuf};

use clap::Args;
use okd_release::lint::{LintOptions, LintReport, lint_dir};

use crate::cli::output::{OutputFormat, print_text};
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The release image, or a directory of extracted release-manifests/ files.
    #[arg(value_name = "REF|DIR")]
    pub source: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Check only these cluster profiles (comma-separated, repeatable; default: all four).
    #[arg(long, value_name = "PROFILE,…", value_delimiter = ',')]
    pub profile: Vec<String>,
    /// The clusters' feature set.
    #[arg(long, value_name = "SET", default_value = "Default")]
    pub feature_set: String,
}

pub async fn run(a: LintArgs, stores: &Stores) -> Result<(), CliError> {
    let mut options = LintOptions {
        feature_set: a.feature_set.clone(),
        ..LintOptions::default()
    };
    if !a.profile.is_empty() {
        options.profiles = a.profile.clone();
    }
    let report = if Path::new(&a.source).is_dir() {
        lint_dir(Path::new(&a.source), &options)?
    } else {
        lint_release(stores, &a.source, options).await?
    };
    if a.output.is_json() {
        print_text(&format!("{}\n", report.to_json()))?;
    } else {
        print_text(&report.to_text())?;
    }
    if report.is_clean() {
        return Ok(());
    }
    Err(format!(
        "{}: {} manifests a cluster would reject or drop",
        a.source,
        report.problems.len()
    )
    .into())
}

/// Extracts the release's files into a temporary directory and lints them, for its major
/// version.
async fn lint_release(
    stores: &Stores,
    image: &str,
    mut options: LintOptions,
) -> Result<LintReport, CliError> {
    let source = stores.source(image).await?;
    let dir = scratch_dir()?;
    let done = okd_release::extract::extract(source.store.as_ref(), &source.image, &dir.0).await?;
    options.major_version = done.release.version().ok().map(|v| v.major());
    Ok(lint_dir(&dir.0, &options)?)
}

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> Result<Scratch, CliError> {
    let dir = std::env::temp_dir().join(format!(
        ".okd-streams-lint-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(Scratch(dir))
}
