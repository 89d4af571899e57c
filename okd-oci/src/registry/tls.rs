//! The one TLS crypto provider of okd-streams: ring.
//!
//! reqwest and oci-client are built without a provider of their own (their
//! `rustls-no-provider` features), so that aws-lc-rs is not compiled next to ring. rustls then
//! needs a process-wide default provider before the first client is built.
//!
//! Also here: the certificates a registry's client gets from its certs.d directory
//! ([`certs_d`](super::certs_d)).

use super::RegistryStore;
use super::certs_d::{self, CertDirContents};
use crate::Error;

/// Installs ring as the process-wide rustls crypto provider, unless the program installed one
/// already (then that one is kept). [`RegistryStore`](super::RegistryStore) calls it before it
/// builds its HTTP clients; programs that build their own reqwest clients in the same process
/// call it first.
///
/// ```
/// okd_oci::registry::install_tls_provider();
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: some provider is in place either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl RegistryStore {
    /// The certificates of this host's certs.d directory (or `--cert-dir`).
    pub(super) async fn cert_dir_contents(&self) -> Result<CertDirContents, Error> {
        let Some(dir) = self.options.cert_dir_for(&self.host) else {
            return Ok(CertDirContents::default());
        };
        tracing::debug!(registry = %self.host, dir = %dir.display(), "reading certificates");
        tokio::task::spawn_blocking(move || certs_d::read_cert_dir(&dir))
            .await
            .map_err(|e| Error::Tls {
                registry: self.host.clone(),
                message: format!("reading the certificate directory: {e}"),
            })?
    }

    /// The client certificate (mTLS) of the certificate directory: its first `.cert` file and
    /// that file's key. The key is read here and goes straight into the TLS client.
    pub(super) async fn client_identity(
        &self,
        contents: &CertDirContents,
    ) -> Result<Option<reqwest::Identity>, Error> {
        let Some((cert, key)) = contents.clients.first() else {
            return Ok(None);
        };
        if contents.clients.len() > 1 {
            tracing::debug!(registry = %self.host, cert = %cert.display(),
                "several client certificates; using the first by name");
        }
        let mut pem = tokio::fs::read(key).await.map_err(|e| Error::io(key, e))?;
        pem.push(b'\n');
        pem.extend(
            tokio::fs::read(cert)
                .await
                .map_err(|e| Error::io(cert, e))?,
        );
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| Error::CertDir {
            dir: cert.parent().unwrap_or(cert).to_path_buf(),
            reason: format!(
                "client certificate {} with key {}: {e}",
                cert.display(),
                key.display()
            ),
        })?;
        Ok(Some(identity))
    }
}
