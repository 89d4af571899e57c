//! `okd-streams stream verify`: the payload checks a stream's check jobs run.

use okd_streams::stream::jobs::{RELEASE_IMAGE_INITIAL, RELEASE_IMAGE_LATEST, VerifyArgs};

/// The arguments of a check job, as the stream writes them.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyFlags {
    /// Checks to run (images, manifests, os, upgrade; repeatable).
    #[arg(long, required = true)]
    pub check: Vec<String>,
    /// The release to check (default: $RELEASE_IMAGE_LATEST).
    #[arg(long, env = RELEASE_IMAGE_LATEST)]
    pub release: String,
    /// The upgrade source, for the upgrade check (default: $RELEASE_IMAGE_INITIAL).
    #[arg(long, env = RELEASE_IMAGE_INITIAL)]
    pub initial: Option<String>,
    /// Read images of registry HOST from STORE (`oci:PATH` or `docker://HOST`); `*=STORE` for
    /// every other host (repeatable).
    #[arg(long = "source", value_name = "HOST=STORE")]
    pub sources: Vec<String>,
    /// The payload tag of the OS image (os check).
    #[arg(long)]
    pub os_tag: Option<String>,
    /// Repository of the stream's layered OS images, tagged by release version (os check).
    #[arg(long)]
    pub os_images: Option<String>,
    /// Registry reached without TLS verification (repeatable).
    #[arg(long = "insecure-host", value_name = "HOST[:PORT]")]
    pub insecure: Vec<String>,
}

impl From<VerifyFlags> for VerifyArgs {
    /// The job's own arguments; its `--cert-dir` is the global one, already in the command's
    /// registry options.
    fn from(f: VerifyFlags) -> VerifyArgs {
        VerifyArgs {
            check: f.check,
            release: f.release,
            initial: f.initial,
            sources: f.sources,
            os_tag: f.os_tag,
            os_images: f.os_images,
            insecure: f.insecure,
            cert_dir: None,
        }
    }
}
