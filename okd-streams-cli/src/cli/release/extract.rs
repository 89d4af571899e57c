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
    /// Directory to write the files into (created when missing). Every layer is read, top
    /// first: a file of a higher layer wins over the same file below it.
    #[arg(long, value_name = "DIR", required_unless_present = "file")]
    pub to: Option<PathBuf>,
    /// Write only this file of release-manifests/ (as `image-references`) to standard output,
    /// from the highest layer holding it.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["to", "included"])]
    pub file: Option<String>,
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
    pub platform: super::platform::PlatformArgs,
    #[command(flatten)]
    pub tools: super::extract_tools::ToolsArgs,
}

pub async fn run(a: ExtractArgs, stores: &Stores) -> Result<(), CliError> {
    if let Some(mode) = a.tools.mode()? {
        let Some(to) = &a.to else {
            return Err("--command, --tools and --credentials-requests write into --to DIR".into());
        };
        return super::extract_tools::run(&a, to, mode, stores).await;
    }
    if let Some(name) = &a.file {
        let source = stores.source(&a.image).await?;
        let (_, data) =
            okd_release::extract::extract_file(source.store.as_ref(), &source.image, name).await?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        return match out.write_all(&data).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(format!("writing to standard output: {e}").into())
            }
            _ => Ok(()),
        };
    }
    let Some(to) = &a.to else {
        return Err("give --to DIR or --file NAME".into());
    };
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
    let options = okd_release::LoadOptions {
        platform: a.platform.filter()?,
        ..okd_release::LoadOptions::default()
    };
    let source = stores.source(&a.image).await?;
    let done = okd_release::extract::extract_image_with(
        source.store.as_ref(),
        &source.image,
        to,
        &options,
    )
    .await?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
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
        let f = keep_included(to, &cluster)?;
        eprintln!(
            "Kept what a {} cluster applies: {} files whole, {} rewritten, {} removed",
            cluster.profile, f.kept, f.rewritten, f.removed
        );
    }
    Ok(())
}
