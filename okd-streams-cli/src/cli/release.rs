//! `okd-streams release …`: what `oc adm release info|new|extract` do, on registries and layouts.

mod extract;
mod lint;
mod new;
mod sign;

pub(crate) use sign::signature_source;

use clap::{Args, Subcommand};
use okd_release::{ImageColumns, InfoDocument, Release, ReleaseDiff};

use super::output::{OutputFormat, print_json, print_text};
use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Shows a release: name, digest, creation time, metadata, component versions and images.
    Info(InfoArgs),
    /// Compares two releases: changed, rebuilt, added and removed images.
    Diff(DiffArgs),
    /// Builds a release image from a release and/or component images.
    New(Box<new::NewArgs>),
    /// Writes the release image's release-manifests/ files, byte for byte, into a directory.
    Extract(extract::ExtractArgs),
    /// Reports what the cluster-version operator would reject, drop, apply and skip, per
    /// cluster profile; exits non-zero when a manifest would be rejected or dropped.
    Lint(lint::LintArgs),
    /// Signs a release image (simple signing, OpenPGP) into a signature store directory.
    Sign(sign::SignArgs),
    /// Checks a release image's signatures as clusters do; exits 0 only for a valid one.
    Verify(sign::VerifyArgs),
    /// Prints the verification ConfigMap that makes clusters trust a key and a signature store.
    VerificationConfig(sign::VerificationConfigArgs),
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The release image (docker://HOST/REPO:TAG, HOST/REPO@DIGEST or oci:PATH[:REF]).
    #[arg(value_name = "REF")]
    pub image: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Show the source repository and commit of each image.
    #[arg(long, conflicts_with_all = ["pullspecs", "commit_urls"])]
    pub commits: bool,
    /// Show the pullspec of each image.
    #[arg(long, conflicts_with = "commit_urls")]
    pub pullspecs: bool,
    /// Show a link to the commit of each image.
    #[arg(long)]
    pub commit_urls: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older release image.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The newer release image.
    #[arg(value_name = "TO")]
    pub to: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Show commit compare links of changed images.
    #[arg(long)]
    pub commits: bool,
}

pub async fn run(c: ReleaseCommand, stores: &Stores) -> Result<(), CliError> {
    match c {
        ReleaseCommand::Info(a) => info(a, stores).await,
        ReleaseCommand::Diff(a) => diff(a, stores).await,
        ReleaseCommand::New(a) => new::run(*a, stores).await,
        ReleaseCommand::Sign(a) => sign::sign(a, stores).await,
        ReleaseCommand::Verify(a) => sign::verify(a, stores).await,
        ReleaseCommand::VerificationConfig(a) => sign::verification_config(a),
        ReleaseCommand::Extract(a) => extract::run(a, stores).await,
        ReleaseCommand::Lint(a) => lint::run(a, stores).await,
    }
}

/// Loads the release image `text` names.
pub(crate) async fn load(stores: &Stores, text: &str) -> Result<Release, CliError> {
    let source = stores.source(text).await?;
    Ok(Release::load_image(source.store.as_ref(), &source.image).await?)
}

async fn info(a: InfoArgs, stores: &Stores) -> Result<(), CliError> {
    let release = load(stores, &a.image).await?;
    if a.output.is_json() {
        return print_json(&InfoDocument::of(&release)?);
    }
    let columns = if a.commits {
        ImageColumns::Commit
    } else if a.pullspecs {
        ImageColumns::PullSpec
    } else if a.commit_urls {
        ImageColumns::CommitUrl
    } else {
        ImageColumns::Digest
    };
    print_text(&release.describe(columns))
}

async fn diff(a: DiffArgs, stores: &Stores) -> Result<(), CliError> {
    let (from, to) = tokio::try_join!(load(stores, &a.from), load(stores, &a.to))?;
    let diff = ReleaseDiff::between(&from, &to);
    if a.output.is_json() {
        let mut text = diff.to_json();
        text.push('\n');
        return print_text(&text);
    }
    print_text(&diff.to_text(chrono::Utc::now(), a.commits))
}
