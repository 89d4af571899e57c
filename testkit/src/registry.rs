//! A real Debian `docker-registry` (distribution 2.8) on a free loopback port, for tests,
//! benches and examples.
//!
//! [`Registry::spawn`] starts `/usr/bin/docker-registry serve CONFIG` in a temporary directory
//! with filesystem storage and deletes enabled, waits until `GET /v2/` answers, and kills the
//! process when the [`Registry`] is dropped. [`Registry::builder`] adds htpasswd authentication
//! (bcrypt) and TLS with a certificate generated for `127.0.0.1` and `localhost`, signed by a
//! throwaway CA whose PEM file [`Registry::ca_pem`] exposes.
//!
//! When the binary is missing the error says which Debian package provides it; a test never
//! passes without the registry it asked for.
//!
//! ```no_run
//! # async fn demo() -> Result<(), testkit::RegistryError> {
//! let registry = testkit::Registry::builder()
//!     .htpasswd("okd", "s3cret")
//!     .tls(true)
//!     .spawn()
//!     .await?;
//! println!("push to {}/okd/release:4.19", registry.host());
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// Where Debian installs the registry.
pub const DEFAULT_BINARY: &str = "/usr/bin/docker-registry";

/// Environment variable that points at another `docker-registry` binary.
pub const BINARY_ENV: &str = "OKD_STREAMS_DOCKER_REGISTRY";

/// How long a freshly started registry may take to answer `GET /v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Ports taken between picking and binding are retried this many times.
const PORT_ATTEMPTS: usize = 5;

/// Why a registry could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The `docker-registry` binary is not installed.
    #[error(
        "{binary} not found: install Debian's docker-registry package \
         (`apt-get install docker-registry`) or set {BINARY_ENV} to a registry binary"
    )]
    MissingBinary {
        /// The path that was looked for.
        binary: PathBuf,
    },
    /// A file for the registry could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The registry exited or never answered.
    #[error("docker-registry on {host} did not start: {reason}\n--- {log_path} ---\n{log}")]
    NotReady {
        /// The address it was started on.
        host: String,
        /// What went wrong.
        reason: String,
        /// Its log file.
        log_path: PathBuf,
        /// The end of its log.
        log: String,
    },
    /// The TLS certificate could not be generated.
    #[error("generating a TLS certificate: {0}")]
    Certificate(String),
    /// The htpasswd entry could not be generated.
    #[error("hashing the htpasswd password: {0}")]
    Htpasswd(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options for [`Registry`]; see [`Registry::builder`].
#[derive(Clone, Default)]
pub struct RegistryBuilder {
    htpasswd: Option<(String, String)>,
    tls: bool,
    client_certificates: bool,
    binary: Option<PathBuf>,
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("user", &self.htpasswd.as_ref().map(|(u, _)| u))
            .field("tls", &self.tls)
            .field("client_certificates", &self.client_certificates)
            .field("binary", &self.binary)
            .finish()
    }
}

impl RegistryBuilder {
    /// Requires HTTP basic authentication with this user and password (an htpasswd file with a
    /// bcrypt hash).
    pub fn htpasswd(mut self, user: &str, password: &str) -> Self {
        self.htpasswd = Some((user.to_string(), password.to_string()));
        self
    }

    /// Serves HTTPS with a certificate for `127.0.0.1` and `localhost` signed by a fresh CA.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Serves HTTPS (as [`tls`](Self::tls)) and requires a client certificate signed by a second
    /// fresh CA; [`Registry::client_certificate`] gives a certificate and key it accepts.
    pub fn require_client_certificate(mut self, on: bool) -> Self {
        self.client_certificates = on;
        self.tls |= on;
        self
    }

    /// Uses another `docker-registry` binary (default: `$OKD_STREAMS_DOCKER_REGISTRY`, else
    /// [`DEFAULT_BINARY`]).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Starts the registry and waits until it answers.
    pub async fn spawn(self) -> Result<Registry, RegistryError> {
        let binary = self
            .binary
            .clone()
            .or_else(|| std::env::var_os(BINARY_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BINARY));
        if !binary.is_file() {
            return Err(RegistryError::MissingBinary { binary });
        }
        let dir = tempfile::Builder::new()
            .prefix("okd-registry-")
            .tempdir()
            .map_err(io_err(Path::new("temporary directory")))?;
        let tls = if self.tls {
            Some(TlsFiles::generate(dir.path(), self.client_certificates)?)
        } else {
            None
        };
        if let Some((user, password)) = &self.htpasswd {
            let hash =
                bcrypt::hash(password, 4).map_err(|e| RegistryError::Htpasswd(e.to_string()))?;
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).map_err(io_err(&path))?;
        }
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).map_err(io_err(&storage))?;

        let mut last_error = None;
        for attempt in 0..PORT_ATTEMPTS {
            let port = free_port().map_err(io_err(Path::new("127.0.0.1:0")))?;
            let config = self.config(dir.path(), port, tls.as_ref());
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).map_err(io_err(&config_path))?;
            let log_path = dir.path().join(format!("registry-{attempt}.log"));
            let log = File::create(&log_path).map_err(io_err(&log_path))?;
            let log_err = log.try_clone().map_err(io_err(&log_path))?;
            let mut cmd = Command::new(&binary);
            cmd.arg("serve")
                .arg(&config_path)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err);
            // The registry reads REGISTRY_* variables over its config file; a stray one from the
            // environment must not move it off the port or storage chosen here.
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("REGISTRY_") {
                    cmd.env_remove(key);
                }
            }
            let mut child = ChildGuard(Some(cmd.spawn().map_err(io_err(&binary))?));
            let host = format!("127.0.0.1:{port}");
            match wait_ready(&mut child, &host, tls.as_ref(), &log_path).await {
                Ok(()) => {
                    return Ok(Registry {
                        child,
                        port,
                        tls,
                        credentials: self.htpasswd,
                        log_path,
                        dir,
                    });
                }
                Err(e) => {
                    drop(child);
                    let port_taken = matches!(&e, RegistryError::NotReady { log, .. }
                        if log.contains("address already in use"));
                    if !port_taken {
                        return Err(e);
                    }
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| RegistryError::NotReady {
            host: "127.0.0.1".to_string(),
            reason: "no free port".to_string(),
            log_path: PathBuf::new(),
            log: String::new(),
        }))
    }

    fn config(&self, dir: &Path, port: u16, tls: Option<&TlsFiles>) -> String {
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n  fields:\n    service: registry\n\
             storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: okd-streams-testkit\n",
            storage = yaml_str(&dir.join("storage")),
        );
        if let Some(tls) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_str(&tls.cert),
                yaml_str(&tls.key)
            ));
            if let Some(client) = &tls.client {
                config.push_str(&format!(
                    "    clientcas:\n      - {}\n",
                    yaml_str(&client.ca)
                ));
            }
        }
        if self.htpasswd.is_some() {
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: okd-streams\n    path: {}\n",
                yaml_str(&dir.join("htpasswd"))
            ));
        }
        config
    }
}

fn yaml_str(path: &Path) -> String {
    // JSON strings are valid YAML scalars and escape anything a temp path could contain.
    serde_json::to_string(&path.to_string_lossy()).unwrap_or_default()
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[derive(Clone, Debug)]
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// The client CA the registry requires, and a certificate it signed.
    client: Option<ClientFiles>,
}

#[derive(Clone, Debug)]
struct ClientFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    fn generate(dir: &Path, client: bool) -> Result<TlsFiles, RegistryError> {
        let pems = ca_and_certificate(
            "okd-streams testkit CA",
            "127.0.0.1",
            vec!["127.0.0.1".to_string(), "localhost".to_string()],
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = if client {
            Some(ClientFiles::generate(dir)?)
        } else {
            None
        };
        let files = TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            client,
        };
        write_pems([&files.ca, &files.cert, &files.key], pems)?;
        Ok(files)
    }
}

impl ClientFiles {
    /// A client CA and a client certificate (`CN=okd-streams testkit client`) it signed.
    fn generate(dir: &Path) -> Result<ClientFiles, RegistryError> {
        let pems = ca_and_certificate(
            "okd-streams testkit client CA",
            "okd-streams testkit client",
            Vec::new(),
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let files = ClientFiles {
            ca: dir.join("client-ca.pem"),
            cert: dir.join("client-cert.pem"),
            key: dir.join("client-key.pem"),
        };
        write_pems([&files.ca, &files.cert, &files.key], pems)?;
        Ok(files)
    }
}

/// A new CA named `ca_name`, and a certificate for `subject` (with the names `sans`, for
/// `usage`) that it signed: the PEMs of the CA, of the certificate and of the certificate's key.
fn ca_and_certificate(
    ca_name: &str,
    subject: &str,
    sans: Vec<String>,
    usage: rcgen::ExtendedKeyUsagePurpose,
) -> Result<[String; 3], RegistryError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let cert_err = |e: rcgen::Error| RegistryError::Certificate(e.to_string());
    let ca_key = KeyPair::generate().map_err(cert_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_err)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().map_err(cert_err)?;
    let mut params = CertificateParams::new(sans).map_err(cert_err)?;
    params.distinguished_name.push(DnType::CommonName, subject);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    Ok([ca_cert.pem(), cert.pem(), key.serialize_pem()])
}

/// Writes each PEM to its path.
fn write_pems(paths: [&PathBuf; 3], pems: [String; 3]) -> Result<(), RegistryError> {
    for (path, pem) in paths.into_iter().zip(pems) {
        std::fs::write(path, pem).map_err(io_err(path))?;
    }
    Ok(())
}

/// A running `docker-registry`, killed when dropped.
pub struct Registry {
    child: ChildGuard,
    port: u16,
    tls: Option<TlsFiles>,
    credentials: Option<(String, String)>,
    log_path: PathBuf,
    // Dropped last: the registry must be dead before its storage goes away.
    dir: tempfile::TempDir,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("host", &self.host())
            .field("tls", &self.tls.is_some())
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Registry {
    /// Starts a plain-HTTP registry without authentication.
    pub async fn spawn() -> Result<Registry, RegistryError> {
        RegistryBuilder::default().spawn().await
    }

    /// Options for a registry with authentication or TLS.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// `127.0.0.1:PORT`, the registry part of a pullspec.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` or `https://…`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// True when it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The PEM file of the CA that signed its certificate, when it serves HTTPS.
    pub fn ca_pem(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca.as_path())
    }

    /// The client certificate and key (PEM files) it accepts, when it requires one
    /// ([`RegistryBuilder::require_client_certificate`]).
    pub fn client_certificate(&self) -> Option<(&Path, &Path)> {
        let client = self.tls.as_ref()?.client.as_ref()?;
        Some((client.cert.as_path(), client.key.as_path()))
    }

    /// The user and password it requires, when it has htpasswd authentication.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// A containers `auth.json` / docker `config.json` document holding its credentials
    /// (`{"auths":{}}` when it has none).
    pub fn auth_json(&self) -> String {
        let mut auths = serde_json::Map::new();
        if let Some((user, password)) = self.credentials() {
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            auths.insert(self.host(), serde_json::json!({ "auth": auth }));
        }
        serde_json::json!({ "auths": auths }).to_string()
    }

    /// The directory holding its configuration, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The end of its log (the last 60 lines), for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.0.is_some() && self.child.exited().is_none()
    }
}

/// Kills and reaps the registry process when dropped, so no orphan or zombie is left behind.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // An already exited process is fine: the wait reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

async fn wait_ready(
    child: &mut ChildGuard,
    host: &str,
    tls: Option<&TlsFiles>,
    log_path: &Path,
) -> Result<(), RegistryError> {
    let not_ready = |reason: String| RegistryError::NotReady {
        host: host.to_string(),
        reason,
        log_path: log_path.to_path_buf(),
        log: log_tail(log_path),
    };
    // reqwest is built without a crypto provider of its own; okd-oci's is the one.
    okd_oci::registry::install_tls_provider();
    let mut client = reqwest::Client::builder().timeout(Duration::from_secs(2));
    let mut scheme = "http";
    if let Some(tls) = tls {
        let pem = std::fs::read(&tls.ca).map_err(io_err(&tls.ca))?;
        let ca = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| RegistryError::Certificate(e.to_string()))?;
        client = client.tls_certs_merge([ca]);
        if let Some(files) = &tls.client {
            let mut pem = std::fs::read(&files.key).map_err(io_err(&files.key))?;
            pem.extend(std::fs::read(&files.cert).map_err(io_err(&files.cert))?);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| RegistryError::Certificate(e.to_string()))?;
            client = client.identity(identity);
        }
        scheme = "https";
    }
    let client = client
        .build()
        .map_err(|e| not_ready(format!("building the probe client: {e}")))?;
    let url = format!("{scheme}://{host}/v2/");
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    while start.elapsed() < READY_TIMEOUT {
        if let Some(status) = child.exited() {
            return Err(not_ready(format!("exited with {status}")));
        }
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 401 => return Ok(()),
            Ok(r) => last = format!("GET {url} answered {}", r.status()),
            Err(e) => last = format!("GET {url}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(not_ready(format!(
        "not ready after {READY_TIMEOUT:?}: {last}"
    )))
}
