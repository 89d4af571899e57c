//! `okd-streams release …`: what `oc adm release info|new|extract` do, on registries and layouts.

mod extract;
mod extract_tools;
mod lint;
mod new;
mod platform;
mod sign;

pub(crate) use sign::signature_source;

use clap::{Args, Subcommand};
use okd_release::{ImageColumns, InfoDocument, Release, ReleaseDiff, ReleaseInfo};

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
    /// Writes the release image's release-manifests/ files, byte for byte, into a directory;
    /// or its `oc` / `openshift-install` with the release written into them (--command,
    /// --tools), or its CredentialsRequests (--credentials-requests).
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
    /// Output format: text; json (the document `oc adm release info -o json` prints);
    /// okd-json (okd-streams' own document); name, digest or pullspec (one line per
    /// image-references tag); jsonpath=TEMPLATE (a Kubernetes JSONPath template over the json
    /// document, such as `jsonpath={.digest}`).
    #[arg(short, long, value_name = "FORMAT", default_value = "text", value_parser = InfoOutput::parse)]
    pub output: InfoOutput,
    /// Print the pullspec of this image-references tag, or fail when the release has none.
    #[arg(long, value_name = "TAG", conflicts_with = "output")]
    pub image_for: Option<String>,
    /// Show the source repository and commit of each image.
    #[arg(long, conflicts_with_all = ["pullspecs", "commit_urls"])]
    pub commits: bool,
    /// Show the pullspec of each image.
    #[arg(long, conflicts_with = "commit_urls")]
    pub pullspecs: bool,
    /// Show a link to the commit of each image.
    #[arg(long)]
    pub commit_urls: bool,
    #[command(flatten)]
    pub platform: platform::PlatformArgs,
}

/// The `-o/--output` choices of `release info`.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoOutput {
    /// Text for people.
    Text,
    /// oc's JSON document.
    Json,
    /// okd-streams' JSON document.
    OkdJson,
    /// The tag names.
    Name,
    /// The tags' digests.
    Digest,
    /// The tags' pullspecs.
    Pullspec,
    /// A JSONPath template over oc's JSON document.
    JsonPath(super::jsonpath::Template),
}

impl InfoOutput {
    fn parse(text: &str) -> Result<InfoOutput, String> {
        Ok(match text {
            "text" => InfoOutput::Text,
            "json" => InfoOutput::Json,
            "okd-json" => InfoOutput::OkdJson,
            "name" => InfoOutput::Name,
            "digest" => InfoOutput::Digest,
            "pullspec" => InfoOutput::Pullspec,
            _ => match text.strip_prefix("jsonpath=") {
                Some(t) => InfoOutput::JsonPath(super::jsonpath::Template::parse(t)?),
                None => {
                    return Err(format!(
                        "{text:?}: the output format must be one of text, json, okd-json, name, digest, pullspec, jsonpath=TEMPLATE"
                    ));
                }
            },
        })
    }
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
    /// The image of each release's manifest list that is compared.
    #[command(flatten)]
    pub platform: platform::PlatformArgs,
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
    let release = platform::load_on(stores, &a.image, &a.platform.filter()?).await?;
    if let Some(tag) = &a.image_for {
        let spec = release
            .references
            .tag(tag)
            .and_then(|t| t.pullspec())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                format!(
                    "no image tag {tag:?} exists in the release image {}",
                    a.image
                )
            })?;
        return print_text(&format!("{spec}\n"));
    }
    let lines = |f: &dyn Fn(&okd_release::TagReference) -> Option<String>| {
        let text: String = release
            .references
            .tags()
            .iter()
            .filter_map(f)
            .map(|l| l + "\n")
            .collect();
        print_text(&text)
    };
    match &a.output {
        InfoOutput::Json => return print_text(&(ReleaseInfo::of(&release)?.to_json() + "\n")),
        InfoOutput::OkdJson => return print_json(&InfoDocument::of(&release)?),
        InfoOutput::JsonPath(template) => {
            let doc: serde_json::Value =
                serde_json::from_str(&ReleaseInfo::of(&release)?.to_json())?;
            return print_text(&template.render(&doc));
        }
        InfoOutput::Name => return lines(&|t| Some(t.name.clone())),
        InfoOutput::Pullspec => return lines(&|t| t.pullspec().map(str::to_string)),
        InfoOutput::Digest => {
            // As `oc` does, a tag without a digest gets a line on stderr instead.
            return lines(&|t| match release.components.get(&t.name) {
                Some(c) => Some(c.digest.to_string()),
                None => {
                    if t.pullspec().is_some() {
                        eprintln!("warning: {} does not point to a digest", t.name);
                    }
                    None
                }
            });
        }
        InfoOutput::Text => {}
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
    let filter = a.platform.filter()?;
    let (from, to) = tokio::try_join!(
        platform::load_on(stores, &a.from, &filter),
        platform::load_on(stores, &a.to, &filter)
    )?;
    let diff = ReleaseDiff::between(&from, &to);
    if a.output.is_json() {
        let mut text = diff.to_json();
        text.push('\n');
        return print_text(&text);
    }
    print_text(&diff.to_text(chrono::Utc::now(), a.commits))
}
