//! `okd-streams mirror --config isc.yaml --to DEST`: an oc-mirror ImageSetConfiguration
//! mirrored registry to registry, with the cluster resources oc-mirror writes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use okd_mirror::PayloadLoader;
use okd_mirror::imageset::{
    FetchedGraph, GraphKey, ImageSet, ImageSetConfiguration, ImageSetOutcome, ImageSetRun,
    PlatformType,
};
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
    /// Where the image set goes: HOST[:PORT][/PATH] (docker:// allowed). Releases go to
    /// PATH/openshift/release-images, their components to PATH/openshift/release, other images
    /// keep their path under PATH, as oc-mirror lays them out.
    #[arg(long, value_name = "DEST", requires = "config")]
    pub to: Option<String>,
    /// The upgrade graph channels are resolved against: a Cincinnati URL (asked with
    /// ?channel=&arch=) or a graph JSON file. Default: OKD's graph for `type: okd`, OpenShift's
    /// (or UPDATE_URL_OVERRIDE) for `type: ocp`.
    #[arg(long, value_name = "URL|FILE")]
    pub graph: Option<String>,
    /// Where idms-oc-mirror.yaml, itms-oc-mirror.yaml, graph.json and signatures/ are written.
    #[arg(long, value_name = "DIR", default_value = "cluster-resources")]
    pub resources_dir: PathBuf,
    /// Read each release's signatures from this signature store directory and write their
    /// ConfigMaps into the resources directory's signatures/.
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
    if to.starts_with(archive::ARCHIVE_PREFIX) || to.starts_with("oci:") {
        return Err(format!(
            "--config mirrors to a registry; {to} is not one (write a transfer archive per release with `mirror release --to archive:DIR`)"
        )
        .into());
    }
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let isc = ImageSetConfiguration::parse(&data, &path.display().to_string())?;
    if isc.archive_size > 0 {
        eprintln!(
            "note: archiveSize {} GiB is not used: the destination is a registry, not an archive",
            isc.archive_size
        );
    }
    let graphs = fetch_graphs(&isc, a.graph.as_deref()).await?;
    let set = ImageSet::resolve(&isc, &graphs, to.strip_prefix("docker://").unwrap_or(to))?;
    for r in &set.releases {
        match (&r.channel, &r.node) {
            (Some(k), Some(n)) => eprintln!(
                "release {} from channel {} ({}): {}",
                n.version, k.channel, k.architecture, n.payload
            ),
            _ => eprintln!("release {}", r.mirror.source),
        }
    }
    let mut run = ImageSetRun::new(set);
    run.options.jobs = a.jobs.max(1);
    run.dry_run = a.dry_run;
    run.resources_dir = Some(a.resources_dir.clone());
    run.graph = isc.mirror.platform.graph;
    // One graph per origin: a graph file serves every channel and architecture.
    let mut origins = std::collections::BTreeSet::new();
    run.source_graphs = graphs
        .into_values()
        .filter(|g| origins.insert(g.origin.clone()))
        .map(|g| g.graph)
        .collect();
    run.report = a.report.clone();
    let loader = PayloadLoader::default();
    let display = progress::Display::new();
    let outcome = run.run(stores.map(), &loader, display.sink()).await;
    display.finish();
    let outcome = outcome?;
    summarise(&outcome);
    if !a.dry_run {
        write_signatures(a, &outcome).await?;
    }
    Ok(())
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

/// Each mirrored release's signatures as a ConfigMap in `signatures/`, when a source is named;
/// a release without any is an error (the images are in place by then, and the message says so).
async fn write_signatures(a: &ConfigArgs, outcome: &ImageSetOutcome) -> Result<(), CliError> {
    if a.signature_dir.is_none() && a.signature_store.is_none() {
        return Ok(());
    }
    let source = signature_source(a.signature_dir.as_ref(), a.signature_store.as_deref())?;
    let dir = a.resources_dir.join("signatures");
    let releases = outcome
        .plan
        .images
        .iter()
        .filter(|i| i.mapping.kind == okd_mirror::ImageKind::Release);
    for image in releases {
        let signatures: Vec<Vec<u8>> = source
            .read(&image.digest)
            .await?
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect();
        if signatures.is_empty() {
            return Err(format!(
                "the image set is mirrored, but release {} ({}) has no signature in {}",
                image.mapping.source,
                image.digest,
                source.location()
            )
            .into());
        }
        let path =
            okd_sign::configmap::write_signature_config_map(&dir, &image.digest, &signatures)?;
        eprintln!("Configmap signature file {} created", path.display());
    }
    Ok(())
}

fn summarise(o: &ImageSetOutcome) {
    for w in &o.report.warnings {
        eprintln!("warning: {w}");
    }
    let t = &o.report.totals;
    if o.report.dry_run {
        eprintln!(
            "dry run: {} images, {} to write; nothing written",
            o.plan.totals.images, o.plan.totals.pending_images
        );
        for image in &o.plan.images {
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
        o.report.duration.as_secs_f64(),
        o.report.planning.as_secs_f64()
    );
    for path in &o.written {
        eprintln!("{} written", path.display());
    }
    if o.written.is_empty() {
        eprintln!("no cluster resource written: no image was mirrored to a registry");
    }
}
