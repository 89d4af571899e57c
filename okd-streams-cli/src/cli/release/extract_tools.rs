//! `release extract --command|--tools|--credentials-requests`: the release's binaries with the
//! release written into them, and the CredentialsRequests ccoctl needs.

use std::path::Path;

use clap::Args;
use okd_release::extract::command::{CommandOptions, extract_command};
use okd_release::extract::credentials_requests::{
    CredentialsOptions, Included, expected_kind, extract_credentials_requests,
};
use okd_release::extract::targets::CommandOs;
use okd_release::lint::{Cluster, InstallConfig, PROFILES};

use super::extract::ExtractArgs;
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Extract this command (oc, openshift-install, openshift-baremetal-install, ccoctl, …)
    /// with the release written into it, for this system or --command-os.
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    /// The system to extract for: linux, mac, windows, OS/ARCH (linux/arm64), or '*' for
    /// archives for every system.
    #[arg(long, value_name = "OS[/ARCH]|*")]
    pub command_os: Option<String>,
    /// Extract every tool as archives, with release.txt and sha256sum.txt.
    #[arg(long)]
    pub tools: bool,
    /// Fail, writing nothing, when a binary lacks a placeholder for the release.
    #[arg(long)]
    pub strict: bool,
    /// Write only the CredentialsRequests (for ccoctl); see --included and --cloud.
    #[arg(long)]
    pub credentials_requests: bool,
    /// Keep only the CredentialsRequests for this cloud (aws, azure, gcp, …).
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
}

/// Which of the three extractions was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Command,
    Credentials,
}

impl ToolsArgs {
    /// The extraction asked for, `None` for release-manifests/; refuses flags that do not
    /// go together.
    pub fn mode(&self) -> Result<Option<Mode>, CliError> {
        let asked = [
            self.command.is_some(),
            self.tools,
            self.credentials_requests,
        ];
        if asked.iter().filter(|a| **a).count() > 1 {
            return Err(
                "only one of --tools, --command or --credentials-requests may be given".into(),
            );
        }
        let binaries = self.command.is_some() || self.tools;
        if !binaries && (self.command_os.is_some() || self.strict) {
            return Err("--command-os and --strict go with --command or --tools".into());
        }
        Ok(if binaries {
            Some(Mode::Command)
        } else if self.credentials_requests {
            Some(Mode::Credentials)
        } else {
            None
        })
    }
}

pub async fn run(a: &ExtractArgs, to: &Path, mode: Mode, stores: &Stores) -> Result<(), CliError> {
    if a.tools.cloud.is_some() && mode != Mode::Credentials {
        return Err("--cloud goes with --credentials-requests".into());
    }
    match mode {
        Mode::Command => binaries(a, to, stores).await,
        Mode::Credentials => credentials(a, to, stores).await,
    }
}

async fn binaries(a: &ExtractArgs, to: &Path, stores: &Stores) -> Result<(), CliError> {
    if a.included {
        return Err("--included goes with manifests, not with --command or --tools".into());
    }
    let t = &a.tools;
    let os = match &t.command_os {
        Some(text) => text.parse::<CommandOs>()?,
        None => CommandOs::host(),
    };
    let mut options = match &t.command {
        Some(c) => CommandOptions::command(c.clone(), os),
        None => CommandOptions::tools(os),
    };
    options.strict = t.strict;
    let source = stores.source(&a.image).await?;
    let done = extract_command(
        source.store.as_ref(),
        &source.image,
        stores.map(),
        to,
        &options,
    )
    .await?;
    for w in &done.warnings {
        eprintln!("{w}");
    }
    for f in &done.files {
        eprintln!("Wrote {} ({} bytes)", to.join(&f.name).display(), f.size);
    }
    Ok(())
}

async fn credentials(a: &ExtractArgs, to: &Path, stores: &Stores) -> Result<(), CliError> {
    let included = if a.included {
        let (mut cluster, platform, source) = match &a.install_config {
            Some(path) => {
                let c = InstallConfig::load(path)?;
                (c.cluster, c.platform, path.display().to_string())
            }
            None => (
                Cluster {
                    profile: PROFILES[0].to_string(),
                    feature_set: "Default".to_string(),
                    major_version: None,
                    enabled_capabilities: None,
                },
                None,
                "the default cluster".to_string(),
            ),
        };
        if let Some(p) = &a.profile {
            cluster.profile = p.clone();
        }
        Some(Included {
            cluster,
            platform,
            source,
        })
    } else {
        eprintln!(
            "warning: without --included every CredentialsRequest of the release is written, also those the cluster will not use; give ccoctl the cluster's only with --included --install-config FILE"
        );
        None
    };
    let options = CredentialsOptions {
        cloud: a.tools.cloud.clone(),
        included,
    };
    // A bad --cloud or install-config platform writes nothing and reads nothing.
    expected_kind(&options)?;
    let source = stores.source(&a.image).await?;
    let done =
        extract_credentials_requests(source.store.as_ref(), &source.image, to, &options).await?;
    for s in &done.skipped {
        eprintln!("warning: skipped {s}");
    }
    eprintln!(
        "Extracted {} CredentialsRequests in {} files from release {}",
        done.requests,
        done.files.len(),
        done.release.name
    );
    Ok(())
}
