//! How a [`RegistryStore`](super::RegistryStore) reaches its registry: TLS trust, insecure
//! hosts, credentials, concurrency, retries and timeouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::certs_d;
use super::credentials::Credentials;
use super::registries_conf::RegistriesConf;
use super::retry::RetryPolicy;
use crate::Error;

/// Options shared by the registry stores of a program.
///
/// ```
/// use std::time::Duration;
/// use okd_oci::registry::{Credentials, RegistryOptions, RetryPolicy};
///
/// let options = RegistryOptions::default()
///     .insecure_registry("127.0.0.1:5000")
///     .credentials("quay.io/okd", Credentials::new("robot", "token"))
///     .max_concurrent_requests(8)
///     .retry(RetryPolicy::new(3, Duration::from_millis(100), Duration::from_secs(2)));
/// assert!(options.is_insecure("127.0.0.1:5000"));
/// assert!(!options.is_insecure("quay.io"));
/// assert!(!format!("{options:?}").contains("token"));
/// ```
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub(super) insecure: Vec<String>,
    pub(super) ca_certificates: Vec<PathBuf>,
    pub(super) cert_dir: Option<PathBuf>,
    pub(super) certs_d_roots: Option<Vec<PathBuf>>,
    pub(super) registries_conf: Option<Arc<RegistriesConf>>,
    /// False for the stores of mirrors, which do not follow mirrors of their own.
    #[cfg_attr(not(feature = "registry"), allow(dead_code))]
    pub(super) follow_mirrors: bool,
    pub(super) auth_file: Option<PathBuf>,
    pub(super) credentials: BTreeMap<String, Credentials>,
    pub(super) max_concurrent_requests: usize,
    pub(super) retry: RetryPolicy,
    pub(super) connect_timeout: Duration,
    pub(super) read_timeout: Duration,
    pub(super) request_timeout: Duration,
    // Sent by the registry client only.
    #[cfg_attr(not(feature = "registry"), allow(dead_code))]
    pub(super) user_agent: String,
    pub(super) idle_connections: Option<usize>,
}

impl Default for RegistryOptions {
    /// TLS verified against the system roots and the certs.d directories of the containers
    /// tools, no registries.conf (see [`RegistryOptions::registries_conf`]), credentials from the standard auth files, six
    /// concurrent requests per registry (what `oc adm release mirror` uses), the default
    /// [`RetryPolicy`], 30 s to connect, 60 s of silence on a connection, 5 min for a request
    /// that moves no blob.
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            ca_certificates: Vec::new(),
            cert_dir: None,
            certs_d_roots: None,
            registries_conf: None,
            follow_mirrors: true,
            auth_file: None,
            credentials: BTreeMap::new(),
            max_concurrent_requests: 6,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(300),
            user_agent: format!("okd-streams/{}", env!("CARGO_PKG_VERSION")),
            idle_connections: None,
        }
    }
}

impl RegistryOptions {
    /// Marks `host` (`HOST[:PORT]`) insecure, as `--insecure-registry` does: its TLS
    /// certificate is not verified and plain HTTP is used when it does not speak HTTPS. An entry
    /// without a port matches the host on any port.
    pub fn insecure_registry(mut self, host: impl Into<String>) -> Self {
        self.insecure.push(host.into());
        self
    }

    /// Trusts the CA certificates in this PEM file in addition to the system roots.
    pub fn ca_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ca_certificates.push(pem_file.into());
        self
    }

    /// Reads every registry's certificates from `dir` (`*.crt` CAs, `NAME.cert` + `NAME.key`
    /// client certificates) instead of the certs.d directories, as skopeo's `--cert-dir` does.
    pub fn cert_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cert_dir = Some(dir.into());
        self
    }

    /// The directory given with [`cert_dir`](Self::cert_dir), as given; `None` when
    /// certificates come from the certs.d directories. Only the path, to hand to the tools a
    /// program starts (skopeo's `--cert-dir`).
    pub fn cert_dir_path(&self) -> Option<&Path> {
        self.cert_dir.as_deref()
    }

    /// Searches these certs.d roots (each holding `HOST[:PORT]/` directories) instead of
    /// [`default_certs_d_roots`](super::default_certs_d_roots). An empty list reads none.
    pub fn certs_d_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.certs_d_roots = Some(roots);
        self
    }

    /// Applies a registries.conf: its insecure locations and mirrors are insecure, pulls and
    /// pushes under its blocked prefixes are refused with [`Error::Blocked`], and pulls try its
    /// mirrors first.
    pub fn registries_conf(mut self, conf: RegistriesConf) -> Self {
        self.registries_conf = Some(Arc::new(conf));
        self
    }

    /// The registries.conf in use, if any.
    pub fn registries_conf_in_use(&self) -> Option<&RegistriesConf> {
        self.registries_conf.as_deref()
    }

    /// The certificate directory consulted for `host`: the [`cert_dir`](Self::cert_dir), else
    /// the first `ROOT/HOST[:PORT]` that exists under the certs.d roots.
    ///
    /// ```
    /// use okd_oci::registry::RegistryOptions;
    ///
    /// let roots = tempfile::tempdir()?;
    /// std::fs::create_dir(roots.path().join("mirror.example:5000"))?;
    /// let options = RegistryOptions::default().certs_d_roots(vec![roots.path().into()]);
    /// assert_eq!(
    ///     options.cert_dir_for("mirror.example:5000"),
    ///     Some(roots.path().join("mirror.example:5000"))
    /// );
    /// assert_eq!(options.cert_dir_for("quay.io"), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cert_dir_for(&self, host: &str) -> Option<PathBuf> {
        match &self.certs_d_roots {
            Some(roots) => certs_d::cert_dir_for(self.cert_dir.as_deref(), roots, host),
            None => certs_d::cert_dir_for(
                self.cert_dir.as_deref(),
                &super::default_certs_d_roots(),
                host,
            ),
        }
    }

    /// Refuses a pull or push of `reference` (`host/repository[:tag|@digest]`) that the
    /// registries.conf blocks.
    pub fn check_not_blocked(&self, reference: &str) -> Result<(), Error> {
        match self
            .registries_conf
            .as_deref()
            .and_then(|c| c.blocked(reference))
        {
            Some(entry) => Err(entry.refusal(reference)),
            None => Ok(()),
        }
    }

    /// Reads credentials from this file only (`--authfile`), instead of the standard search.
    pub fn auth_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth_file = Some(path.into());
        self
    }

    /// Uses these credentials for `key` (`host`, or `host/namespace[/repo]` for a narrower
    /// match), ahead of any auth file.
    pub fn credentials(mut self, key: impl Into<String>, credentials: Credentials) -> Self {
        self.credentials.insert(key.into(), credentials);
        self
    }

    /// At most `n` requests in flight per registry (at least 1).
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }

    /// How transient failures are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Time allowed to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest silence tolerated on an open connection (also while streaming a blob).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Overall time allowed for a request that moves no blob (HEAD, manifests, tags).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Keeps at most `n` idle connections per host for reuse (default: no limit). `0` opens a
    /// connection per request, which helps behind proxies that break long-lived connections.
    pub fn idle_connections_per_host(mut self, n: usize) -> Self {
        self.idle_connections = Some(n);
        self
    }

    /// True when `host` was marked insecure, or the registries.conf makes it insecure.
    pub fn is_insecure(&self, host: &str) -> bool {
        let hostname = split_port(host).0;
        self.insecure
            .iter()
            .any(|entry| entry == host || (split_port(entry).1.is_none() && entry == hostname))
            || self
                .registries_conf
                .as_deref()
                .is_some_and(|c| c.is_insecure(host))
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The file given with [`RegistryOptions::auth_file`], as given; `None` when credentials
    /// come from the standard search. Only the path: the file is not read here, so programs can
    /// hand the same file to the tools they start (`REGISTRY_AUTH_FILE` for skopeo, podman and
    /// oc) without its content passing through them.
    ///
    /// ```
    /// use std::path::Path;
    /// use okd_oci::registry::RegistryOptions;
    ///
    /// assert_eq!(RegistryOptions::default().auth_file_path(), None);
    /// let options = RegistryOptions::default().auth_file("/run/containers/0/auth.json");
    /// assert_eq!(options.auth_file_path(), Some(Path::new("/run/containers/0/auth.json")));
    /// ```
    pub fn auth_file_path(&self) -> Option<&Path> {
        self.auth_file.as_deref()
    }
}

fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (host, None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn insecure_matching() {
        let o = RegistryOptions::default()
            .insecure_registry("127.0.0.1:5000")
            .insecure_registry("mirror.local");
        assert!(o.is_insecure("127.0.0.1:5000"));
        assert!(!o.is_insecure("127.0.0.1:5001"));
        assert!(!o.is_insecure("127.0.0.1"));
        assert!(o.is_insecure("mirror.local"));
        assert!(o.is_insecure("mirror.local:8443"));
        assert!(!o.is_insecure("quay.io"));
    }
}
