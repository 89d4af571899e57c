//! `release extract`: what `oc adm release extract` does.

use std::path::PathBuf;

use clap::Args;
use okd_release::lint::{InstallConfig, PROFILES, keep_included};

use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The release image.
    #[arg(value_name = "REF")]
    pub image: String,
    /// Directory to write the files into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Keep only the manifests a cluster would apply (by default a self-managed cluster with
    /// the default feature set; see --install-config and --profile).
    #[arg(long)]
    pub included: bool,
    /// The install-config of the cluster (feature set, capabilities), with --included.
    #[arg(long, value_name = "FILE", requires = "included")]
    pub install_config: Option<PathBuf>,
    /// The cluster profile, with --included.
    #[arg(long, value_name = "PROFILE", requires = "included", value_parser = clap::builder::PossibleValuesParser::new(PROFILES))]
    pub profile: Option<String>,
    #[command(flatten)]
    pub tools: super::extract_tools::ToolsArgs,
}

pub async fn run(a: ExtractArgs, stores: &Stores) -> Result<(), CliError> {
    if let Some(mode) = a.tools.mode()? {
        return super::extract_tools::run(&a, mode, stores).await;
    }
    // Read the install-config first: a bad one writes nothing.
    let cluster = if a.included {
        let mut cluster = match &a.install_config {
            Some(path) => InstallConfig::load(path)?.cluster,
            None => okd_release::lint::Cluster {
                profile: PROFILES[0].to_string(),
                feature_set: "Default".to_string(),
                major_version: None,
                enabled_capabilities: None,
            },
        };
        if let Some(p) = &a.profile {
            cluster.profile = p.clone();
        }
        Some(cluster)
    } else {
        None
    };
    let source = stores.source(&a.image).await?;
    let done = okd_release::extract::extract(source.store.as_ref(), &source.image, &a.to).await?;
    let created = done
        .release
        .created()
        .map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "an unknown time".to_string());
    // As `oc adm release extract` does, on stderr so that stdout stays clean.
    eprintln!(
        "Extracted release payload {} from digest {} created at {created}: {} files, {} bytes",
        done.release.name,
        done.release.pull_digest(),
        done.files,
        done.bytes
    );
    if let Some(mut cluster) = cluster {
        cluster.major_version = done.release.version().ok().map(|v| v.major());
        let f = keep_included(&a.to, &cluster)?;
        eprintln!(
            "Kept what a {} cluster applies: {} files whole, {} rewritten, {} removed",
            cluster.profile, f.kept, f.rewritten, f.removed
        );
    }
    Ok(())
}
