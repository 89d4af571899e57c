//! Registry credentials from containers `auth.json` and docker `config.json` files.
//!
//! The files are searched in the order podman and skopeo use (containers-auth.json(5)), then
//! docker's:
//!
//! 1. `$REGISTRY_AUTH_FILE`
//! 2. `$XDG_RUNTIME_DIR/containers/auth.json`
//! 3. `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`)
//! 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
//!
//! unless one file is given explicitly (`--authfile`). In a file, `credHelpers` for the host
//! come first, then `auths` entries matched from the most specific key (`host/ns/repo`) to the
//! least (`host`), then the default `credsStore` helper. Helpers run as
//! `docker-credential-<name> get`.
//!
//! [`Credentials`] never print their secret: `Debug` redacts it.
//!
//! ```
//! use okd_oci::registry::AuthFile;
//!
//! let file = AuthFile::parse(r#"{"auths":{"quay.io/okd":{"auth":"b2tkOnNlY3JldA=="}}}"#).unwrap();
//! let found = file.entry("quay.io", "okd/scos-release").unwrap();
//! assert_eq!(found.username(), Some("okd"));
//! assert!(!format!("{found:?}").contains("secret"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::Error;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Credentials {
    /// A user name and password (or token used as a password).
    UserPassword {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the registry's token endpoint.
    IdentityToken(String),
}

impl Credentials {
    /// A user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::UserPassword {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name, if there is one.
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::UserPassword { username, .. } => Some(username),
            Credentials::IdentityToken(_) => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::UserPassword { username, .. } => f
                .debug_struct("UserPassword")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::IdentityToken(_) => {
                f.debug_tuple("IdentityToken").field(&"<redacted>").finish()
            }
        }
    }
}

/// Credentials and where they came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundCredentials {
    /// The credentials.
    pub credentials: Credentials,
    /// Where they came from: a file path, `docker-credential-NAME`, or `options`.
    pub source: String,
}

/// One `auths` entry.
#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// A parsed `auth.json` / `config.json`.
#[derive(Clone, Default, Deserialize)]
pub struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

impl fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFile")
            .field("auths", &self.auths.keys().collect::<Vec<_>>())
            .field("cred_helpers", &self.cred_helpers)
            .field("creds_store", &self.creds_store)
            .finish()
    }
}

/// What a file says to do for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLookup {
    /// Credentials stored in the file.
    Stored(Credentials),
    /// Ask `docker-credential-<name>`.
    Helper(String),
}

impl AuthFile {
    /// Parses a file's text. The error never quotes the text.
    pub fn parse(text: &str) -> Result<AuthFile, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "not a valid auth file (line {}, column {})",
                e.line(),
                e.column()
            )
        })
    }

    /// Reads and parses `path`; `Ok(None)` when it does not exist.
    pub async fn load(path: &Path) -> Result<Option<AuthFile>, Error> {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => AuthFile::parse(&text)
                .map(Some)
                .map_err(|reason| Error::AuthFile {
                    path: path.to_path_buf(),
                    reason,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::AuthFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Stored credentials for `repo` on `host`, most specific key first.
    pub fn entry(&self, host: &str, repo: &str) -> Option<Credentials> {
        match self.lookup(host, repo) {
            Some(AuthLookup::Stored(c)) => Some(c),
            _ => None,
        }
    }

    /// What the file says to do for `repo` on `host`.
    pub fn lookup(&self, host: &str, repo: &str) -> Option<AuthLookup> {
        let host = normalize_host(host);
        if let Some((_, helper)) = self
            .cred_helpers
            .iter()
            .find(|(k, _)| normalize_key(k) == host)
        {
            return Some(AuthLookup::Helper(helper.clone()));
        }
        let normalized: BTreeMap<String, &AuthEntry> = self
            .auths
            .iter()
            .map(|(k, v)| (normalize_key(k), v))
            .collect();
        let mut key = format!("{host}/{repo}");
        loop {
            if let Some(creds) = normalized.get(&key).and_then(|e| e.credentials()) {
                return Some(AuthLookup::Stored(creds));
            }
            match key.rsplit_once('/') {
                Some((parent, _)) => key = parent.to_string(),
                None => break,
            }
        }
        self.creds_store.clone().map(AuthLookup::Helper)
    }
}

impl AuthEntry {
    fn credentials(&self) -> Option<Credentials> {
        if let Some(token) = self.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Some(Credentials::IdentityToken(token.clone()));
        }
        if let Some(auth) = self.auth.as_ref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (user, password) = text.split_once(':')?;
            return Some(Credentials::new(user, password));
        }
        match (&self.username, &self.password) {
            (Some(u), Some(p)) if !u.is_empty() => Some(Credentials::new(u.clone(), p.clone())),
            _ => None,
        }
    }
}

/// Docker Hub goes by several names; they all mean `docker.io`.
fn normalize_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        h => h.to_string(),
    }
}

/// Keys may be written as URLs (`https://index.docker.io/v1/`) by older tools.
fn normalize_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let key = key.trim_end_matches('/');
    let key = key
        .strip_suffix("/v1")
        .or_else(|| key.strip_suffix("/v2"))
        .unwrap_or(key);
    match key.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", normalize_host(host)),
        None => normalize_host(key),
    }
}

/// The auth files searched when none is given, in order.
pub fn default_auth_files() -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut files = Vec::new();
    if let Some(p) = env("REGISTRY_AUTH_FILE") {
        files.push(p);
    }
    if let Some(p) = env("XDG_RUNTIME_DIR") {
        files.push(p.join("containers/auth.json"));
    }
    match env("XDG_CONFIG_HOME") {
        Some(p) => files.push(p.join("containers/auth.json")),
        None => {
            if let Some(h) = &home {
                files.push(h.join(".config/containers/auth.json"));
            }
        }
    }
    match env("DOCKER_CONFIG") {
        Some(p) => files.push(p.join("config.json")),
        None => {
            if let Some(h) = &home {
                files.push(h.join(".docker/config.json"));
            }
        }
    }
    files
}

/// Finds credentials for `repo` on `host` in `files` (the first file that has any wins).
pub async fn find_credentials(
    files: &[PathBuf],
    host: &str,
    repo: &str,
) -> Result<Option<FoundCredentials>, Error> {
    for path in files {
        let Some(file) = AuthFile::load(path).await? else {
            continue;
        };
        match file.lookup(host, repo) {
            Some(AuthLookup::Stored(credentials)) => {
                return Ok(Some(FoundCredentials {
                    credentials,
                    source: path.display().to_string(),
                }));
            }
            Some(AuthLookup::Helper(helper)) => {
                if let Some(credentials) = run_helper(&helper, host).await? {
                    return Ok(Some(FoundCredentials {
                        credentials,
                        source: format!("docker-credential-{helper}"),
                    }));
                }
            }
            None => {}
        }
    }
    Ok(None)
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get` for `host`. `Ok(None)` when the helper has nothing.
pub async fn run_helper(helper: &str, host: &str) -> Result<Option<Credentials>, Error> {
    let program = format!("docker-credential-{helper}");
    let helper_err = |message: String| Error::Auth {
        registry: host.to_string(),
        message: format!("{program}: {message}"),
    };
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| helper_err(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(host.as_bytes())
            .await
            .map_err(|e| helper_err(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| helper_err(e.to_string()))?;
    if !out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Helpers answer "credentials not found in native keychain" on stdout for a miss.
        if stdout.contains("not found") {
            return Ok(None);
        }
        return Err(helper_err(format!("exited with {}", out.status)));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|_| helper_err("answered something other than credentials JSON".into()))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    // Docker's convention: a `<token>` user name marks an identity (refresh) token.
    if answer.username == "<token>" {
        return Ok(Some(Credentials::IdentityToken(answer.secret)));
    }
    Ok(Some(Credentials::new(answer.username, answer.secret)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn most_specific_key_wins() {
        let text = format!(
            r#"{{"auths":{{
                "quay.io":{{"auth":"{}"}},
                "quay.io/okd":{{"auth":"{}"}},
                "quay.io/okd/scos-release":{{"username":"release","password":"p3"}}
            }}}}"#,
            b64("host:p1"),
            b64("ns:p2")
        );
        let f = AuthFile::parse(&text).unwrap();
        let user = |repo: &str| {
            f.entry("quay.io", repo)
                .and_then(|c| c.username().map(String::from))
        };
        assert_eq!(user("okd/scos-release").as_deref(), Some("release"));
        assert_eq!(user("okd/scos-content").as_deref(), Some("ns"));
        assert_eq!(user("other/thing").as_deref(), Some("host"));
        assert_eq!(f.entry("ghcr.io", "okd/x"), None);
    }

    #[test]
    fn docker_hub_url_keys_and_helpers() {
        let text = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}}}},
                "credHelpers":{{"gcr.io":"gcloud"}},"credsStore":"pass"}}"#,
            b64("hub:pw")
        );
        let f = AuthFile::parse(&text).unwrap();
        assert_eq!(
            f.entry("docker.io", "library/busybox"),
            Some(Credentials::new("hub", "pw"))
        );
        assert_eq!(
            f.lookup("gcr.io", "p/i"),
            Some(AuthLookup::Helper("gcloud".into()))
        );
        assert_eq!(
            f.lookup("quay.io", "p/i"),
            Some(AuthLookup::Helper("pass".into()))
        );
    }

    #[test]
    fn identity_token_and_empty_entries() {
        let f =
            AuthFile::parse(r#"{"auths":{"a.io":{"identitytoken":"refresh"},"b.io":{"auth":""}}}"#)
                .unwrap();
        assert_eq!(
            f.entry("a.io", "x"),
            Some(Credentials::IdentityToken("refresh".into()))
        );
        assert_eq!(f.entry("b.io", "x"), None);
    }

    #[test]
    fn debug_and_parse_errors_hide_secrets() {
        let c = Credentials::new("okd", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credentials::IdentityToken("refresh-xyz".into());
        assert!(!format!("{t:?}").contains("refresh-xyz"));
        let err = AuthFile::parse(r#"{"auths":{"a.io":{"auth":"hunter2"#).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let f = AuthFile::parse(&format!(
            r#"{{"auths":{{"a.io":{{"auth":"{}"}}}}}}"#,
            b64("u:hunter2")
        ))
        .unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn search_order_takes_the_first_file_with_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.json");
        let second = dir.path().join("second.json");
        std::fs::write(&first, r#"{"auths":{"other.io":{"auth":"eDp5"}}}"#).unwrap();
        std::fs::write(
            &second,
            format!(r#"{{"auths":{{"quay.io":{{"auth":"{}"}}}}}}"#, b64("me:pw")),
        )
        .unwrap();
        let missing = dir.path().join("missing.json");
        let found = find_credentials(&[missing, first, second.clone()], "quay.io", "okd/x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.credentials, Credentials::new("me", "pw"));
        assert_eq!(found.source, second.display().to_string());
    }

    #[tokio::test]
    async fn malformed_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("auth.json");
        std::fs::write(&bad, "{not json secret-ish").unwrap();
        let err = find_credentials(std::slice::from_ref(&bad), "quay.io", "x")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("auth.json"), "{err}");
        assert!(!err.to_string().contains("secret-ish"), "{err}");
    }
}
