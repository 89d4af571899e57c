//! `mirror release --release-image-signature-to-dir`: the release's signatures as the ConfigMap
//! `oc adm release mirror` writes, so that a disconnected cluster can verify the mirrored
//! release.

use std::path::PathBuf;

use clap::Args;

use crate::cli::release::signature_source;
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct SignatureArgs {
    /// Write the release image's signatures as a ConfigMap file
    /// (`signature-sha256-<hex16>.json`) into DIR; apply it on the disconnected cluster.
    #[arg(long, value_name = "DIR", requires = "signature_origin")]
    pub release_image_signature_to_dir: Option<PathBuf>,
    /// Read the signatures from this signature store directory.
    #[arg(long, value_name = "DIR", group = "signature_origin")]
    pub signature_dir: Option<PathBuf>,
    /// Read the signatures from this signature store URL.
    #[arg(long, value_name = "URL", group = "signature_origin")]
    pub signature_store: Option<String>,
}

impl SignatureArgs {
    /// Writes the ConfigMap when asked to; fails when the release has no signature.
    pub async fn write(&self, stores: &Stores, release: &str) -> Result<(), CliError> {
        let Some(dir) = &self.release_image_signature_to_dir else {
            return Ok(());
        };
        let (digest, signatures) = self.load(stores, release).await?;
        let path = okd_sign::configmap::write_signature_config_map(dir, &digest, &signatures)?;
        eprintln!("Configmap signature file {} created", path.display());
        Ok(())
    }

    /// The release's signatures from the named source, or `None` when no source was named;
    /// fails when the source has none.
    pub async fn read(
        &self,
        stores: &Stores,
        release: &str,
    ) -> Result<Option<Vec<Vec<u8>>>, CliError> {
        if self.signature_dir.is_none() && self.signature_store.is_none() {
            return Ok(None);
        }
        Ok(Some(self.load(stores, release).await?.1))
    }

    async fn load(
        &self,
        stores: &Stores,
        release: &str,
    ) -> Result<(okd_oci::Digest, Vec<Vec<u8>>), CliError> {
        let source =
            signature_source(self.signature_dir.as_ref(), self.signature_store.as_deref())?;
        let digest = crate::cli::release::load(stores, release)
            .await?
            .pull_digest()
            .clone();
        let signatures: Vec<Vec<u8>> = source
            .read(&digest)
            .await?
            .into_iter()
            .map(|(_, bytes)| bytes)
            .collect();
        if signatures.is_empty() {
            return Err(format!("no signature for {digest} in {}", source.location()).into());
        }
        Ok((digest, signatures))
    }
}
