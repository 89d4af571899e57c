//! [`RegistryStore`]: a [`Store`] speaking the OCI distribution API to one registry.
//!
//! Built on [`oci_client`] for streamed monolithic blob uploads and manifest pushes, with small
//! extensions where oci-client stops short:
//!
//! * [`credentials`]: containers `auth.json` / docker `config.json` lookup, most specific key
//!   first, and credential helpers;
//! * `auth`: bearer tokens covering several repositories (a mount needs `pull` on its source);
//! * [`retry`]: exponential backoff with jitter on 429, 5xx, broken connections and timeouts, or
//!   the wait a 429 or 503 asks for with `Retry-After` (`retry_after`);
//! * `mount`: a cross-repository mount that treats the spec-legal `202` as "not mounted" and
//!   cancels the upload session it opened;
//! * `upload`: `HEAD` before upload, and an upload whose source stream is untouched until the
//!   session is open, so opening it can be retried; the bytes are counted, not hashed, since the
//!   registry verifies `?digest=` itself;
//! * `chunked`: a blob whose monolithic `PUT` is refused `413 Payload Too Large` (a proxy's body
//!   limit) is sent again in `PATCH` chunks, and so are later blobs to that registry;
//! * blob downloads with a plain `GET`, hashed once by okd-streams (or not at all for a copy into
//!   a store that verifies what it is given), resumed with `Range` where the body broke
//!   (`resume`);
//! * manifests read with a size limit checked before the body, tags listed page by page;
//! * `untag`: tags deleted, on registries that delete manifests by digest only as well (when no
//!   other tag points at the manifest).
//!
//! * `mirrors`: manifest and blob reads through the mirrors of a
//!   [`RegistriesConf`] (registries.conf), whose blocked prefixes are refused before any
//!   request.
//!
//! TLS is verified unless the host is marked insecure with
//! [`RegistryOptions::insecure_registry`] (or by registries.conf), which also allows plain HTTP
//! for that host only; CA and client certificates come from the host's certs.d directory
//! ([`RegistryOptions::cert_dir_for`]).
//! Requests in flight per registry are bounded by
//! [`RegistryOptions::max_concurrent_requests`]; a download holds its slot only until its
//! response starts, so a copy inside one registry cannot deadlock on its own downloads.
//!
//! ```no_run
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{ManifestRef, Store};
//! use okd_oci::registry::{RegistryOptions, RegistryStore};
//!
//! let quay = RegistryStore::new("quay.io", RegistryOptions::default())?;
//! let release = quay
//!     .read_manifest("okd/scos-release", &ManifestRef::Tag("4.19.0-okd-scos.19".into()))
//!     .await?;
//! println!("{} {}", release.digest(), release.media_type());
//! # Ok(()) }
//! ```

// Options, credentials and retry policy are plain data and file parsing: they stay available
// without the `registry` feature, so programs configure registries the same way either way.
mod certs_d;
pub mod credentials;
mod options;
pub mod registries_conf;
pub mod retry;

pub use certs_d::default_certs_d_roots;
pub use credentials::{AuthFile, Credentials, FoundCredentials, default_auth_files};
pub use options::RegistryOptions;
pub use registries_conf::{
    ConfSearch, Mirror, PullFromMirror, PullSource, REGISTRIES_CONF_ENV, RegistriesConf,
    RegistryEntry,
};
pub use retry::RetryPolicy;

// Everything below speaks HTTP and TLS, and is compiled with the `registry` feature only.
#[cfg(feature = "registry")]
mod auth;
#[cfg(feature = "registry")]
mod blobs;
#[cfg(feature = "registry")]
mod chunked;
#[cfg(feature = "registry")]
mod manifests;
#[cfg(feature = "registry")]
mod mirrors;
#[cfg(feature = "registry")]
mod mount;
#[cfg(feature = "registry")]
mod pool;
#[cfg(feature = "registry")]
mod response;
#[cfg(feature = "registry")]
mod resume;
#[cfg(feature = "registry")]
mod retry_after;
#[cfg(feature = "registry")]
mod tls;
#[cfg(feature = "registry")]
mod untag;
#[cfg(feature = "registry")]
mod upload;

#[cfg(feature = "registry")]
pub use auth::{Challenge, Scope};
#[cfg(feature = "registry")]
pub use pool::Registries;
#[cfg(feature = "registry")]
pub use tls::install_tls_provider;

// One attribute for the imports of the client below.
#[cfg(feature = "registry")]
use {
    crate::store::{Blob, BlobWrite, ByteStream, Store, StoreCounters, StoreStats},
    crate::{Digest, Error, ManifestRef, RawManifest},
    async_trait::async_trait,
    auth::{Authenticator, Grant},
    oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol},
    oci_client::secrets::RegistryAuth,
    oci_client::token_cache::{RegistryToken, RegistryTokenType},
    oci_client::{Reference, RegistryOperation},
    reqwest::header::AUTHORIZATION,
    response::{in_operation, transport_error},
    std::collections::HashMap,
    std::fmt,
    std::future::Future,
    std::sync::Arc,
    std::sync::atomic::AtomicU64,
    tokio::sync::{Mutex, OnceCell, OwnedSemaphorePermit, Semaphore},
};

/// A [`Store`] backed by one registry host.
#[cfg(feature = "registry")]
pub struct RegistryStore {
    host: String,
    options: RegistryOptions,
    connection: OnceCell<Connection>,
    permits: Arc<Semaphore>,
    counters: StoreCounters,
    /// Authenticators by credential identity; repositories map onto them.
    authenticators: Mutex<HashMap<Option<Credentials>, Arc<Authenticator>>>,
    repo_auth: Mutex<HashMap<String, Arc<Authenticator>>>,
    /// Bytes per `PATCH` once a body was refused as too large (`413`); 0 while monolithic
    /// uploads work (see `chunked`).
    chunk_size: AtomicU64,
    /// The stores of registries.conf mirrors, by host, opened on first use.
    mirrors: std::sync::Mutex<HashMap<String, Arc<RegistryStore>>>,
}

#[cfg(feature = "registry")]
impl fmt::Debug for RegistryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryStore")
            .field("host", &self.host)
            .field("options", &self.options)
            .field("stats", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "registry")]
/// The HTTP clients, established on first use (scheme detection and CA files are async).
struct Connection {
    /// `https://host` or `http://host`.
    base: String,
    http: reqwest::Client,
    oci: oci_client::Client,
    /// A client certificate is presented (by `http` only: oci-client cannot).
    client_certificate: bool,
}

#[cfg(feature = "registry")]
impl RegistryStore {
    /// A store for `host` (`quay.io`, `127.0.0.1:5000`). Nothing is contacted until first use.
    pub fn new(host: &str, options: RegistryOptions) -> Result<RegistryStore, Error> {
        let valid = !host.is_empty()
            && !host.contains('/')
            && !host.contains("://")
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
        if !valid {
            return Err(Error::InvalidReference {
                input: host.to_string(),
                reason: "not a registry host (expected HOST or HOST:PORT)".to_string(),
            });
        }
        Ok(RegistryStore {
            host: host.to_string(),
            permits: Arc::new(Semaphore::new(options.max_concurrent_requests)),
            options,
            connection: OnceCell::new(),
            counters: StoreCounters::default(),
            authenticators: Mutex::new(HashMap::new()),
            repo_auth: Mutex::new(HashMap::new()),
            chunk_size: AtomicU64::new(0),
            mirrors: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The options in use.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// The host requests go to: Docker Hub's API lives on `registry-1.docker.io`.
    fn endpoint(&self) -> &str {
        match self.host.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            h => h,
        }
    }

    async fn connection(&self) -> Result<&Connection, Error> {
        self.connection.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Connection, Error> {
        tls::install_tls_provider();
        let insecure = self.options.is_insecure(&self.host);
        let mut pems = Vec::new();
        let cert_dir = self.cert_dir_contents().await?;
        for (path, pem) in &cert_dir.cas {
            reqwest::Certificate::from_pem(pem).map_err(|e| Error::CertDir {
                dir: path.parent().unwrap_or(path).to_path_buf(),
                reason: format!("CA certificate {}: {e}", path.display()),
            })?;
        }
        pems.extend(cert_dir.cas.iter().map(|(_, pem)| pem.clone()));
        for path in &self.options.ca_certificates {
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| Error::io(path, e))?;
            reqwest::Certificate::from_pem(&pem).map_err(|e| Error::Tls {
                registry: self.host.clone(),
                message: format!("CA certificate {}: {e}", path.display()),
            })?;
            pems.push(pem);
        }
        let o = &self.options;
        let mut builder = reqwest::Client::builder()
            .user_agent(o.user_agent.clone())
            .connect_timeout(o.connect_timeout)
            .read_timeout(o.read_timeout)
            .danger_accept_invalid_certs(insecure);
        if let Some(n) = o.idle_connections {
            builder = builder.pool_max_idle_per_host(n);
        }
        let mut roots = Vec::new();
        for pem in &pems {
            // Validated above.
            if let Ok(c) = reqwest::Certificate::from_pem(pem) {
                roots.push(c);
            }
        }
        builder = builder.tls_certs_merge(roots);
        let identity = self.client_identity(&cert_dir).await?;
        let client_certificate = identity.is_some();
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        let http = builder.build().map_err(|e| Error::Tls {
            registry: self.host.clone(),
            message: format!("building the HTTP client: {e}"),
        })?;

        let endpoint = self.endpoint();
        let mut scheme = "https";
        if insecure {
            // An insecure registry may not speak TLS at all; a plain-HTTP answer on /v2/ decides.
            let https = http
                .get(format!("https://{endpoint}/v2/"))
                .timeout(o.connect_timeout)
                .send()
                .await;
            if https.is_err() {
                let plain = http
                    .get(format!("http://{endpoint}/v2/"))
                    .timeout(o.connect_timeout)
                    .send()
                    .await;
                match plain {
                    Ok(_) => scheme = "http",
                    Err(e) => return Err(transport_error(&self.host, "GET /v2/", &e)),
                }
            }
        }

        let config = ClientConfig {
            protocol: if scheme == "http" {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: insecure,
            use_monolithic_push: true,
            extra_root_certificates: pems
                .into_iter()
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            platform_resolver: None,
            read_timeout: Some(o.read_timeout),
            connect_timeout: Some(o.connect_timeout),
            ..ClientConfig::default()
        };
        let oci = oci_client::Client::try_from(config).map_err(|e| Error::Tls {
            registry: self.host.clone(),
            message: format!("building the OCI client: {e}"),
        })?;
        Ok(Connection {
            base: format!("{scheme}://{endpoint}"),
            http,
            oci,
            client_certificate,
        })
    }

    /// Refuses `repo` (shown with `suffix`: `:tag`, `@digest` or nothing) when registries.conf
    /// blocks it.
    fn refuse_blocked(&self, repo: &str, suffix: &str) -> Result<(), Error> {
        self.options
            .check_not_blocked(&format!("{}/{repo}{suffix}", self.host))
    }

    /// The authenticator for `repo`, looking its credentials up the first time.
    async fn authenticator(&self, repo: &str) -> Result<Arc<Authenticator>, Error> {
        if let Some(a) = self.repo_auth.lock().await.get(repo) {
            return Ok(a.clone());
        }
        let found = self.find_credentials(repo).await?;
        // Repositories with the same credentials share one authenticator and its tokens.
        let identity = found.as_ref().map(|f| f.credentials.clone());
        let authenticator = self
            .authenticators
            .lock()
            .await
            .entry(identity)
            .or_insert_with(|| Arc::new(Authenticator::new(&self.host, found)))
            .clone();
        self.repo_auth
            .lock()
            .await
            .insert(repo.to_string(), authenticator.clone());
        Ok(authenticator)
    }

    async fn find_credentials(&self, repo: &str) -> Result<Option<FoundCredentials>, Error> {
        let mut key = format!("{}/{repo}", self.host);
        loop {
            if let Some(c) = self.options.credentials.get(&key) {
                return Ok(Some(FoundCredentials {
                    credentials: c.clone(),
                    source: "options".to_string(),
                }));
            }
            match key.rsplit_once('/') {
                Some((parent, _)) => key = parent.to_string(),
                None => break,
            }
        }
        let files = match &self.options.auth_file {
            Some(path) => {
                if !tokio::fs::try_exists(path).await.unwrap_or(false) {
                    return Err(Error::AuthFile {
                        path: path.clone(),
                        reason: "does not exist".to_string(),
                    });
                }
                vec![path.clone()]
            }
            None => default_auth_files(),
        };
        credentials::find_credentials(&files, &self.host, repo).await
    }

    /// A grant for `scopes`, on behalf of `repo`'s credentials.
    async fn grant(
        &self,
        repo: &str,
        scopes: &[Scope],
    ) -> Result<(Grant, Arc<Authenticator>), Error> {
        let conn = self.connection().await?;
        let auth = self.authenticator(repo).await?;
        let grant = auth.grant(&conn.http, &conn.base, scopes).await?;
        Ok((grant, auth))
    }

    /// Sends one request built by `build`, authorised for `scopes`. A 401 while holding a cached
    /// token renews the token once.
    async fn send(
        &self,
        operation: &str,
        repo: &str,
        scopes: &[Scope],
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let timeout = self.options.request_timeout;
        self.send_with(operation, repo, scopes, Some(timeout), build)
            .await
    }

    /// Like `send`, with `timeout` bounding the whole request (`None` for bodies that stream
    /// for long; the client's read timeout still applies).
    async fn send_with(
        &self,
        operation: &str,
        repo: &str,
        scopes: &[Scope],
        timeout: Option<std::time::Duration>,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let conn = self
            .connection()
            .await
            .map_err(|e| in_operation(e, operation))?;
        let mut renewed = false;
        loop {
            let (grant, auth) = self
                .grant(repo, scopes)
                .await
                .map_err(|e| in_operation(e, operation))?;
            let mut request = build(&conn.http, &conn.base);
            if let Some(t) = timeout {
                request = request.timeout(t);
            }
            if let Some(h) = grant.header() {
                request = request.header(AUTHORIZATION, h);
            }
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(&self.host, operation, &e))?;
            let status = response.status().as_u16();
            if status == 401 && matches!(grant, Grant::Bearer(_)) && !renewed {
                auth.invalidate().await;
                renewed = true;
                continue;
            }
            if status == 401 || status == 403 {
                let said = response::Failure::read(response).await.message();
                let who = match auth.credentials() {
                    Some(found) => format!(
                        "credentials for {} from {}",
                        found.credentials.username().unwrap_or("<identity token>"),
                        found.source
                    ),
                    None => "no credentials".to_string(),
                };
                return Err(Error::Auth {
                    registry: self.host.clone(),
                    message: format!("{operation}: {said} (using {who})"),
                });
            }
            return Ok(response);
        }
    }

    /// Hands oci-client the grant for `repo` so that its next request for `op` carries it.
    async fn authorize_oci(
        &self,
        conn: &Connection,
        repo: &str,
        op: RegistryOperation,
    ) -> Result<Reference, Error> {
        let scopes = match op {
            RegistryOperation::Pull => vec![Scope::pull(repo)],
            RegistryOperation::Push => vec![Scope::push(repo)],
        };
        let (grant, _) = self.grant(repo, &scopes).await?;
        let reference = Reference::with_tag(
            self.endpoint().to_string(),
            repo.to_string(),
            "latest".to_string(),
        );
        let (auth, token) = match grant {
            Grant::Anonymous => return Ok(reference),
            Grant::Basic { username, password } => (
                RegistryAuth::Basic(username.clone(), password.clone()),
                RegistryTokenType::Basic(username, password),
            ),
            Grant::Bearer(token) => (
                RegistryAuth::Bearer(token.clone()),
                RegistryTokenType::Bearer(RegistryToken::Token { token }),
            ),
        };
        conn.oci.store_auth_if_needed(self.endpoint(), &auth).await;
        conn.oci.tokens.insert(&reference, op, token).await;
        Ok(reference)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, Error> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Transport {
                registry: self.host.clone(),
                operation: "acquire a request slot".to_string(),
                message: "the store is shutting down".to_string(),
            })
    }

    /// Runs `attempt` under the retry policy (its inputs are always replayable).
    async fn retrying<T, F, Fut>(&self, operation: &str, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.retry_loop(operation, &|| true, attempt).await
    }

    fn url(base: &str, repo: &str, rest: &str) -> String {
        format!("{base}/v2/{repo}/{rest}")
    }
}

#[cfg(feature = "registry")]
#[async_trait]
impl Store for RegistryStore {
    fn location(&self) -> String {
        self.host.clone()
    }

    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.head_blob(repo, digest).await
    }

    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.pulled_blob(repo, digest, true).await
    }

    async fn read_blob_unverified(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.pulled_blob(repo, digest, false).await
    }

    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.upload_blob(repo, digest, size, data, true).await
    }

    async fn write_absent_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.upload_blob(repo, digest, size, data, false).await
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        self.refuse_blocked(repo, &format!("@{digest}"))?;
        self.refuse_blocked(from_repo, &format!("@{digest}"))?;
        self.mount(repo, from_repo, digest).await
    }

    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        self.refuse_blocked(repo, &reference.to_string())?;
        self.pulled_manifest(repo, reference).await
    }

    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        self.refuse_blocked(repo, &reference.to_string())?;
        self.head_manifest(repo, reference).await
    }

    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        let suffix = tag.map(|t| format!(":{t}")).unwrap_or_default();
        self.refuse_blocked(repo, &suffix)?;
        self.put_manifest(repo, manifest, tag).await
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        self.refuse_blocked(repo, "")?;
        self.tags(repo).await
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        self.refuse_blocked(repo, &format!(":{tag}"))?;
        self.untag(repo, tag).await
    }

    fn stats(&self) -> StoreStats {
        self.counters.snapshot()
    }
}
