//! `okd-streams mirror …`: okd-mirror's typed runs on the command line ([`flags`] turns the
//! flags into them), with a progress bar on a terminal and plain log lines otherwise.

mod archive;
mod flags;
mod imageset;
mod progress;
mod signatures;

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use okd_mirror::PayloadLoader;
use okd_mirror::run::MirrorOutcome;

use super::output::print_text;
use super::{CliError, store::Stores};

/// `okd-streams mirror`: a subcommand, or an ImageSetConfiguration with `--config`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MirrorArgs {
    #[command(subcommand)]
    pub command: Option<MirrorCommand>,
    #[command(flatten)]
    pub config: imageset::ConfigArgs,
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Mirrors a release image and every component it references (what `oc adm release mirror`
    /// does), to a registry or an OCI layout, and prints the cluster's mirror configuration.
    Release(Box<ReleaseArgs>),
    /// Copies one image, with every child of a manifest list (what `skopeo copy --all` does).
    Image(ImageArgs),
    /// Checks every chunk of a transfer archive (`mirror release … --to archive:DIR`), then
    /// pushes its release to a registry and writes idms-oc-mirror.yaml and the signature
    /// ConfigMap.
    Archive(archive::ArchiveArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum NamingArg {
    /// `REPO:<version>-<arch>[-<component>]`, as `oc adm release mirror` tags.
    #[default]
    Release,
    /// `REPO:<version>[-<component>]`, as `oc adm release new --mirror` tags.
    Content,
    /// No tags: images are pushed by digest only.
    DigestOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum InstructionsArg {
    /// ImageDigestMirrorSet and install-config `imageDigestSources`.
    #[default]
    Idms,
    /// ImageContentSourcePolicy and `imageContentSources` (clusters before 4.13).
    Icsp,
    /// Print no mirror configuration.
    None,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The release image.
    #[arg(value_name = "SRC")]
    pub source: String,
    /// The repository the components (and the release) go to: HOST[:PORT]/REPO,
    /// oci:PATH[:REPO], or archive:DIR for a transfer archive of numbered tar chunks.
    #[arg(long, value_name = "REPO")]
    pub to: String,
    /// With --to archive:, the size no chunk exceeds (4GiB, 500MiB, bytes).
    #[arg(long, value_name = "SIZE", value_parser = archive::parse_size,
          default_value_t = okd_mirror::archive::DEFAULT_CHUNK_SIZE)]
    pub max_archive_size: u64,
    /// With --to archive:, leave out blobs an earlier archive delivered: its directory, its
    /// chunk 0, or its history.json.
    #[arg(long, value_name = "ARCHIVE_OR_HISTORY")]
    pub since: Option<PathBuf>,
    /// Where the release image goes instead (needs a tag).
    #[arg(long, value_name = "REF")]
    pub to_release_image: Option<String>,
    /// Leave out components whose name matches this glob (repeatable).
    #[arg(long, value_name = "PAT")]
    pub exclude: Vec<String>,
    /// Mirror only components whose name matches this glob (repeatable; all when none).
    #[arg(long, value_name = "PAT")]
    pub include: Vec<String>,
    /// Plan and report what would be copied; write nothing to the destination.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the ImageDigestMirrorSet to FILE.
    #[arg(long, value_name = "FILE")]
    pub idms: Option<PathBuf>,
    /// Write the ImageContentSourcePolicy to FILE.
    #[arg(long, value_name = "FILE")]
    pub icsp: Option<PathBuf>,
    /// Write `SRC DST` lines (an `oc image mirror -f` mapping file) to FILE.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Write the install-config.yaml `imageDigestSources` section to FILE.
    #[arg(long, value_name = "FILE")]
    pub install_config: Option<PathBuf>,
    /// Write the JSON report of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Operations in flight per registry.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = okd_mirror::DEFAULT_JOBS)]
    pub jobs: usize,
    /// How destination tags are named.
    #[arg(long, value_enum, default_value_t)]
    pub naming: NamingArg,
    /// Mirror only this child of manifest lists (OS/ARCH[/VARIANT]).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Tag a multi-arch release `-multi`, as oc does with this flag. Without it, a release
    /// list is still copied whole, and its tags name the architecture its manifests were read
    /// from (`-x86_64`), as `oc adm release mirror` names them.
    #[arg(long)]
    pub keep_manifest_list: bool,
    /// Which mirror configuration to print after a successful mirror.
    #[arg(long, value_enum, default_value_t)]
    pub print_mirror_instructions: InstructionsArg,
    /// Attempts per blob and manifest (default: the library's).
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    #[command(flatten)]
    pub signatures: signatures::SignatureArgs,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image (by tag or digest).
    #[arg(value_name = "SRC")]
    pub source: String,
    /// Where it goes: a reference with a tag, or a repository (the source's tag is kept).
    #[arg(value_name = "DST")]
    pub destination: String,
    /// Plan and report what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the `SRC DST` mapping line to FILE.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Write the JSON report of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Operations in flight per registry.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = okd_mirror::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Copy only this child of a manifest list (OS/ARCH[/VARIANT]).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Attempts per blob and manifest (default: the library's).
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
}

pub async fn run(a: MirrorArgs, stores: &Stores) -> Result<(), CliError> {
    match a.command {
        Some(c) => run_command(c, stores).await,
        None => {
            let cap = okd_mirror::request_cap(a.config.jobs.max(1));
            imageset::run(&a.config, &stores.with_request_cap(cap)).await
        }
    }
}

async fn run_command(c: MirrorCommand, stores: &Stores) -> Result<(), CliError> {
    let jobs = match &c {
        MirrorCommand::Release(a) => a.jobs,
        MirrorCommand::Image(a) => a.jobs,
        MirrorCommand::Archive(a) => a.jobs,
    };
    let jobs = if jobs == 0 {
        okd_mirror::DEFAULT_JOBS
    } else {
        jobs
    };
    // One store per registry host and layout, with the global registry options and a request
    // cap that follows -j: with the library's default cap, copies beyond it would wait with a
    // source download open.
    let stores = &stores.with_request_cap(okd_mirror::request_cap(jobs));
    let set = stores.map();
    let mut signatures = None;
    let outcome = match c {
        MirrorCommand::Release(a) if a.to.starts_with(archive::ARCHIVE_PREFIX) => {
            let dir = &a.to[archive::ARCHIVE_PREFIX.len()..];
            return archive::write(&a, dir, stores).await;
        }
        MirrorCommand::Archive(a) => return archive::restore(a, stores).await,
        MirrorCommand::Release(a) => {
            if a.since.is_some() {
                return Err("--since needs --to archive:DIR".into());
            }
            let run = a.to_run()?;
            signatures = Some((a.source.clone(), a.signatures));
            // image-references is read from the chosen platform's image of a multi-arch release.
            let loader = PayloadLoader {
                platform: run.platform.clone(),
            };
            let display = progress::Display::new();
            let outcome = run.run(set, &loader, display.sink()).await;
            display.finish();
            outcome
        }
        MirrorCommand::Image(a) => {
            let run = a.to_run()?;
            let display = progress::Display::new();
            let outcome = run.run(set, display.sink()).await;
            display.finish();
            outcome
        }
    };
    let outcome = outcome?;
    summarise(&outcome);
    if let Some((release, signatures)) = signatures
        && !outcome.report.dry_run
    {
        signatures.write(stores, &release).await?;
    }
    if outcome.report.dry_run {
        // What would go where, as an `oc image mirror -f` mapping.
        return print_text(&okd_mirror::mapping::to_text(&outcome.plan.mappings()));
    }
    print_text(&outcome.instructions)
}

/// What the run did, on stderr: stdout carries the instructions only.
fn summarise(o: &MirrorOutcome) {
    for w in &o.report.warnings {
        eprintln!("warning: {w}");
    }
    if o.report.dry_run {
        let t = &o.plan.totals;
        eprintln!(
            "dry run: {} images ({} to write), {} blobs: {} to copy ({}), {} to mount, {} already present",
            t.images,
            t.pending_images,
            t.blobs,
            t.blobs_to_copy,
            progress::bytes(t.bytes_to_copy),
            t.blobs_to_mount,
            t.blobs_present
        );
        for image in o.plan.images.iter().filter(|i| !i.present) {
            eprintln!("  would write {}", image.mapping.destination);
        }
        return;
    }
    let t = &o.report.totals;
    eprintln!(
        "{} images ({} written, {} already present): {} copied in {} blobs, {} mounted, {} skipped, {} retries, in {:.1} s (planning {:.1} s of it)",
        t.images,
        t.images_written,
        t.images_present,
        progress::bytes(t.bytes_copied),
        t.blobs_copied,
        t.blobs_mounted,
        t.blobs_skipped,
        t.retries,
        o.report.duration.as_secs_f64(),
        o.report.planning.as_secs_f64()
    );
}
