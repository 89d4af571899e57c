//! `okd-streams mirror --config isc.yaml --to DEST`: an oc-mirror ImageSetConfiguration
//! mirrored registry to registry, with the cluster resources oc-mirror writes, or to a transfer
//! archive (`--to archive:DIR`, oc-mirror's mirror to disk) that `mirror archive DIR --to
//! REGISTRY/PATH` pushes on the other side with the same resources.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use okd_mirror::PayloadLoader;
use okd_mirror::archive::History;
use okd_mirror::imageset::{
    FetchedGraph, GraphKey, ImageSet, ImageSetArchive, ImageSetConfiguration, ImageSetRun,
    PlatformType,
};
use okd_oci::Digest;
use okd_release::graph::Graph;

use super::{archive, progress};
use crate::cli::release::signature_source;
use crate::cli::{CliError, store::Stores};

/// OKD's upgrade graph, which oc-mirror reads for `type: okd` channels.
pub const OKD_GRAPH_URL: &str = "https://origin-release.ci.openshift.org/graph";
/// OpenShift's update service, which oc-mirror reads for `type: ocp` channels.
pub const OCP_GRAPH_URL: &str = "https://api.openshift.com/api/upgrades_info/v1/graph";

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// An oc-mirror ImageSetConfiguration (mirror.openshift.io/v2alpha1) to mirror: platform
    /// releases and channels, additionalImages, blockedImages. Operators and Helm charts are
    /// refused.
    #[arg(short = 'c', long, value_name = "FILE", requires = "to")]
    pub config: Option<PathBuf>,
    /// Where the image set goes: HOST[:PORT][/PATH] (docker:// allowed), or archive:DIR for a
    /// transfer archive. Releases go to PATH/openshift/release-images, their components to
    /// PATH/openshift/release, other images keep their path under PATH, as oc-mirror lays them
    /// out.
    #[arg(long, value_name = "DEST", requires = "config")]
    pub to: Option<String>,
    /// With --to archive:, the size no chunk exceeds (4GiB, 500MiB, bytes); default: the
    /// configuration's archiveSize (GiB), else 4GiB.
    #[arg(long, value_name = "SIZE", value_parser = archive::parse_size)]
    pub max_archive_size: Option<u64>,
    /// With --to archive:, leave out blobs an earlier archive delivered: its directory, its
    /// chunk 0, or its history.json.
    #[arg(long, value_name = "ARCHIVE_OR_HISTORY")]
    pub since: Option<PathBuf>,
    /// The upgrade graph channels are resolved against: a Cincinnati URL (asked with
    /// ?channel=&arch=) or a graph JSON file. Default: OKD's graph for `type: okd`, OpenShift's
    /// (or UPDATE_URL_OVERRIDE) for `type: ocp`.
    #[arg(long, value_name = "URL|FILE")]
    pub graph: Option<String>,
    /// Where idms-oc-mirror.yaml, itms-oc-mirror.yaml, graph.json and
    /// signature-configmap.{json,yaml} are written. Not used with --to archive: `mirror archive
    /// --cluster-resources` writes them where the archive is restored.
    #[arg(long, value_name = "DIR", default_value = "cluster-resources")]
    pub resources_dir: PathBuf,
    /// Read each release's signatures from this signature store directory and write them as
    /// oc-mirror's mirrored-release-signatures ConfigMap (into an archive: carried with it).
    #[arg(long, value_name = "DIR", conflicts_with = "signature_store")]
    pub signature_dir: Option<PathBuf>,
    /// The same, from a signature store URL.
    #[arg(long, value_name = "URL")]
    pub signature_store: Option<String>,
    /// Plan and report what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the JSON report of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Operations in flight per registry.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = okd_mirror::DEFAULT_JOBS)]
    pub jobs: usize,
}

/// Mirrors the image set of `a.config` to `a.to`.
pub async fn run(a: &ConfigArgs, stores: &Stores) -> Result<(), CliError> {
    let (Some(path), Some(to)) = (&a.config, &a.to) else {
        return Err("mirror needs a subcommand, or --config FILE --to DEST".into());
    };
    let archive_dir = to.strip_prefix(archive::ARCHIVE_PREFIX);
    if to.starts_with("oci:") {
        return Err(format!(
            "--config mirrors to a registry or a transfer archive; {to} is neither (use archive:DIR)"
        )
        .into());
    }
    if archive_dir.is_none() && (a.max_archive_size.is_some() || a.since.is_some()) {
        return Err("--max-archive-size and --since go with --to archive:DIR".into());
    }
    if archive_dir.is_some() && a.dry_run {
        return Err("--to archive: takes no --dry-run".into());
    }
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let isc = ImageSetConfiguration::parse(&data, &path.display().to_string())?;
    if isc.archive_size > 0 && archive_dir.is_none() {
        eprintln!(
            "note: archiveSize {} GiB is not used: the destination is a registry, not an archive",
            isc.archive_size
        );
    }
    let graphs = fetch_graphs(&isc, a.graph.as_deref()).await?;
    // An archive's set is laid out again under the destination it is restored to; any prefix
    // serves to resolve it.
    let prefix = archive_dir.map_or(
        to.strip_prefix("docker://").unwrap_or(to),
        |_| "archive.invalid",
    );
    let set = ImageSet::resolve(&isc, &graphs, prefix)?;
    print_releases(&set);
    // One graph per origin: a graph file serves every channel and architecture.
    let mut origins = std::collections::BTreeSet::new();
    let source_graphs: Vec<Graph> = graphs
        .into_values()
        .filter(|g| origins.insert(g.origin.clone()))
        .map(|g| g.graph)
        .collect();
    if let Some(dir) = archive_dir {
        return write_archive(a, &isc, set, source_graphs, dir, stores).await;
    }
    let mut run = ImageSetRun::new(set);
    run.options = okd_mirror::MirrorOptions {
        jobs: a.jobs.max(1),
        ..run.options
    };
    run.dry_run = a.dry_run;
    run.resources_dir = Some(a.resources_dir.clone());
    run.graph = isc.mirror.platform.graph;
    run.source_graphs = source_graphs;
    run.report = a.report.clone();
    let loader = PayloadLoader::default();
    let display = progress::Display::new();
    let outcome = run.run(stores.map(), &loader, display.sink()).await;
    display.finish();
    let outcome = outcome?;
    summarise(&outcome.report, &outcome.plan, &outcome.written);
    if !a.dry_run {
        let releases = release_digests(&outcome.plan);
        write_signatures(a, &releases).await?;
    }
    Ok(())
}

fn print_releases(set: &ImageSet) {
    for r in &set.releases {
        match (&r.channel, &r.node) {
            (Some(k), Some(n)) => eprintln!(
                "release {} from channel {} ({}): {}",
                n.version, k.channel, k.architecture, n.payload
            ),
            _ => eprintln!("release {}", r.mirror.source),
        }
    }
}

/// `mirror --config FILE --to archive:DIR`.
async fn write_archive(
    a: &ConfigArgs,
    isc: &ImageSetConfiguration,
    set: ImageSet,
    source_graphs: Vec<Graph>,
    dir: &str,
    stores: &Stores,
) -> Result<(), CliError> {
    let signatures = match signature_source_of(a)? {
        Some(source) => read_signatures(&source, &resolve_digests(&set, stores).await?).await?,
        None => Vec::new(),
    };
    let mut write = ImageSetArchive::new(set, PathBuf::from(dir));
    write.options = okd_mirror::MirrorOptions {
        jobs: a.jobs.max(1),
        ..write.options
    };
    write.max_chunk_size = a
        .max_archive_size
        .or(isc.archive_size_bytes())
        .unwrap_or(okd_mirror::archive::DEFAULT_CHUNK_SIZE);
    if let Some(since) = &a.since {
        write.since = Some(History::load(since)?);
    }
    write.signatures = signatures;
    write.graph = isc.mirror.platform.graph;
    write.source_graphs = source_graphs;
    write.report = a.report.clone();
    let display = progress::Display::new();
    let outcome = write
        .run(stores.map(), &PayloadLoader::default(), display.sink())
        .await;
    display.finish();
    let outcome = outcome?;
    let config = a.config.as_ref().map(|p| p.display().to_string());
    archive::written(
        &outcome,
        dir,
        &format!("Image set of {}", config.unwrap_or_default()),
        "REGISTRY/PATH",
    )
}

/// One graph per channel and architecture, from `--graph` or the channel type's service.
async fn fetch_graphs(
    isc: &ImageSetConfiguration,
    graph: Option<&str>,
) -> Result<BTreeMap<GraphKey, FetchedGraph>, CliError> {
    let mut out = BTreeMap::new();
    let mut files: BTreeMap<String, Graph> = BTreeMap::new();
    for key in ImageSet::graph_keys(isc) {
        let base = match graph {
            Some(g) => g.to_string(),
            None => default_graph_url(key.type_),
        };
        let fetched = if base.starts_with("http://") || base.starts_with("https://") {
            let url = format!(
                "{base}{}channel={}&arch={}",
                if base.contains('?') { '&' } else { '?' },
                key.channel,
                key.architecture
            );
            let graph = fetch_url(&url).await?;
            FetchedGraph { graph, origin: url }
        } else {
            let graph = match files.get(&base) {
                Some(g) => g.clone(),
                None => {
                    let data = std::fs::read(&base).map_err(|e| format!("graph {base}: {e}"))?;
                    let g = Graph::parse(&data).map_err(|e| format!("graph {base}: {e}"))?;
                    files.insert(base.clone(), g.clone());
                    g
                }
            };
            FetchedGraph {
                graph,
                origin: base,
            }
        };
        out.insert(key, fetched);
    }
    Ok(out)
}

fn default_graph_url(t: PlatformType) -> String {
    match t {
        PlatformType::Okd => OKD_GRAPH_URL.to_string(),
        PlatformType::Ocp => {
            std::env::var("UPDATE_URL_OVERRIDE").unwrap_or_else(|_| OCP_GRAPH_URL.to_string())
        }
    }
}

async fn fetch_url(url: &str) -> Result<Graph, CliError> {
    okd_oci::registry::install_tls_provider();
    let fail = |e: String| CliError::from(format!("graph {url}: {e}"));
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
    Graph::parse(&body).map_err(|e| fail(e.to_string()))
}

fn signature_source_of(a: &ConfigArgs) -> Result<Option<okd_sign::SignatureSource>, CliError> {
    if a.signature_dir.is_none() && a.signature_store.is_none() {
        return Ok(None);
    }
    Ok(Some(signature_source(
        a.signature_dir.as_ref(),
        a.signature_store.as_deref(),
    )?))
}

/// The release images of a plan, each with its digest.
fn release_digests(plan: &okd_mirror::MirrorPlan) -> Vec<(String, Digest)> {
    plan.images
        .iter()
        .filter(|i| i.mapping.kind == okd_mirror::ImageKind::Release)
        .map(|i| (i.mapping.source.to_string(), i.digest.clone()))
        .collect()
}

/// The digest of each release of `set`: the one its reference names, else the one its tag
/// points at (a manifest lookup; the payload is not read).
async fn resolve_digests(
    set: &ImageSet,
    stores: &Stores,
) -> Result<Vec<(String, Digest)>, CliError> {
    let mut out = Vec::new();
    for r in &set.releases {
        let source = &r.mirror.source;
        let digest = match source.digest() {
            Some(d) => d.clone(),
            None => {
                let at = stores.map().resolve(source, okd_oci::Access::Read).await?;
                at.store
                    .manifest_digest(&at.repository, &at.manifest_ref()?)
                    .await?
                    .ok_or_else(|| format!("release {source}: not found"))?
            }
        };
        out.push((source.to_string(), digest));
    }
    Ok(out)
}

/// Every release's signatures from `source`; a release without any is an error naming it.
async fn read_signatures(
    source: &okd_sign::SignatureSource,
    releases: &[(String, Digest)],
) -> Result<Vec<(Digest, Vec<Vec<u8>>)>, CliError> {
    let mut out = Vec::new();
    for (name, digest) in releases {
        let signatures: Vec<Vec<u8>> = source
            .read(digest)
            .await?
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect();
        if signatures.is_empty() {
            return Err(format!(
                "release {name} ({digest}) has no signature in {}",
                source.location()
            )
            .into());
        }
        out.push((digest.clone(), signatures));
    }
    Ok(out)
}

/// The mirrored releases' signatures as oc-mirror's one ConfigMap in the resources directory,
/// when a source is named; a release without any is an error (the images are in place by then,
/// and the message says so).
async fn write_signatures(a: &ConfigArgs, releases: &[(String, Digest)]) -> Result<(), CliError> {
    let Some(source) = signature_source_of(a)? else {
        return Ok(());
    };
    let signatures = read_signatures(&source, releases)
        .await
        .map_err(|e| format!("the image set is mirrored, but {e}"))?;
    for path in okd_sign::configmap::write_mirrored_signatures(&a.resources_dir, &signatures)? {
        eprintln!("{} written", path.display());
    }
    Ok(())
}

/// What a mirror of an image set did, and the resources it wrote.
pub fn summarise(
    report: &okd_mirror::MirrorReport,
    plan: &okd_mirror::MirrorPlan,
    written: &[PathBuf],
) {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let t = &report.totals;
    if report.dry_run {
        eprintln!(
            "dry run: {} images, {} to write; nothing written",
            plan.totals.images, plan.totals.pending_images
        );
        for image in &plan.images {
            eprintln!("  {} -> {}", image.read_from, image.mapping.destination);
        }
        return;
    }
    eprintln!(
        "{} images ({} written, {} already present): {} copied in {} blobs, {} mounted, {} skipped, in {:.1} s (planning {:.1} s of it)",
        t.images,
        t.images_written,
        t.images_present,
        progress::bytes(t.bytes_copied),
        t.blobs_copied,
        t.blobs_mounted,
        t.blobs_skipped,
        report.duration.as_secs_f64(),
        report.planning.as_secs_f64()
    );
    for path in written {
        eprintln!("{} written", path.display());
    }
    if written.is_empty() {
        eprintln!("no cluster resource written: no image was mirrored to a registry");
    }
}
