//! The one TLS crypto provider of okd-streams: ring.
//!
//! reqwest and oci-client are built without a provider of their own (their
//! `rustls-no-provider` features), so that aws-lc-rs is not compiled next to ring. rustls then
//! needs a process-wide default provider before the first client is built.

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
