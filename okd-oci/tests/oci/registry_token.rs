//! Bearer-token authentication against a minimal token-auth registry: one token covers the
//! target (`pull,push`) and the source (`pull`) of a cross-repository mount.
//!
//! Debian's docker-registry only does token auth with a JWT-signing token service, so a small
//! in-process server plays both roles here and records what the client asked for.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use okd_oci::registry::{Credentials, RegistryStore};
use okd_oci::{Digest, Error, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Default)]
struct Seen {
    /// Scope sets of each token request, with whether basic credentials came along.
    token_requests: Vec<(BTreeSet<String>, bool)>,
    tokens: HashMap<String, BTreeSet<String>>,
    mounts: usize,
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn serve(listener: TcpListener, seen: Arc<Mutex<Seen>>) {
    let host = listener.local_addr().unwrap().to_string();
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let seen = seen.clone();
        let host = host.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let Ok(n) = conn.read(&mut buf).await else {
                return;
            };
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let mut lines = head.lines();
            let Some(request_line) = lines.next() else {
                return;
            };
            let mut parts = request_line.split(' ');
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let authorization = lines
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .map(|l| l["authorization:".len()..].trim().to_string());
            let challenge = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"fake\"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let params: Vec<(String, String)> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), decode(v)))
                .collect();
            let bearer_scopes = |seen: &Seen| {
                authorization
                    .as_deref()
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .and_then(|t| seen.tokens.get(t).cloned())
            };
            let response = if path == "/token" {
                let scopes: BTreeSet<String> = params
                    .iter()
                    .filter(|(k, _)| k == "scope")
                    .map(|(_, v)| v.clone())
                    .collect();
                let basic = authorization
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Basic "));
                let mut s = seen.lock().unwrap();
                let token = format!("tok-{}", s.token_requests.len());
                s.token_requests.push((scopes.clone(), basic));
                s.tokens.insert(token.clone(), scopes);
                let body = format!("{{\"token\":\"{token}\",\"expires_in\":300}}");
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else if path == "/v2/" {
                match bearer_scopes(&seen.lock().unwrap()) {
                    Some(_) => {
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                            .to_string()
                    }
                    None => challenge,
                }
            } else if method == "POST" && path == "/v2/okd/target/blobs/uploads/" {
                let mut s = seen.lock().unwrap();
                let granted = bearer_scopes(&s).unwrap_or_default();
                let allowed = granted.contains("repository:okd/target:pull,push")
                    && granted.contains("repository:okd/source:pull");
                if allowed && params.iter().any(|(k, v)| k == "from" && v == "okd/source") {
                    s.mounts += 1;
                    "HTTP/1.1 201 Created\r\nLocation: /v2/okd/target/blobs/sha256:x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                } else {
                    challenge
                }
            } else if method == "PUT" && path.starts_with("/v2/okd/target/manifests/") {
                // Pushed through oci-client, with the token this crate obtained.
                let granted = bearer_scopes(&seen.lock().unwrap()).unwrap_or_default();
                if granted.contains("repository:okd/target:pull,push") {
                    format!(
                        "HTTP/1.1 201 Created\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                } else {
                    challenge
                }
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

#[tokio::test]
async fn one_token_covers_both_repositories_of_a_mount() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = tokio::spawn(serve(listener, seen.clone()));

    let dir = tempfile::tempdir().unwrap();
    let options = registry_support::options_for(&host, dir.path())
        .credentials(host.clone(), Credentials::new("robot", "s3cr3t-token-pass"));
    let store = RegistryStore::new(&host, options).unwrap();
    let digest = Digest::sha256_of(b"layer");
    assert!(
        store
            .mount_blob("okd/target", "okd/source", &digest)
            .await
            .expect("mount")
    );
    assert_eq!(store.stats().blobs_mounted, 1);

    // Again: the cached token is reused, no new token request.
    assert!(
        store
            .mount_blob("okd/target", "okd/source", &digest)
            .await
            .expect("mount")
    );
    // oci-client carries a token for the target alone when it pushes a manifest.
    let index = okd_oci::RawManifest::new(
        okd_oci::media_type::OCI_INDEX,
        br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
    )
    .unwrap();
    store
        .write_manifest("okd/target", &index, Some("v1"))
        .await
        .expect("manifest pushed with a bearer token");

    let s = seen.lock().unwrap();
    assert_eq!(s.mounts, 2);
    assert!(
        s.token_requests
            .iter()
            .any(|(scopes, _)| scopes.len() == 1
                && scopes.contains("repository:okd/target:pull,push"))
    );
    let mount_tokens: Vec<_> = s
        .token_requests
        .iter()
        .filter(|(sc, _)| sc.len() == 2)
        .collect();
    assert_eq!(mount_tokens.len(), 1, "{:?}", s.token_requests);
    let (scopes, basic) = mount_tokens[0];
    assert!(basic, "credentials must go to the token endpoint");
    assert_eq!(
        scopes.iter().map(String::as_str).collect::<Vec<_>>(),
        vec![
            "repository:okd/source:pull",
            "repository:okd/target:pull,push"
        ]
    );
    drop(s);
    server.abort();
}

#[tokio::test]
async fn a_token_endpoint_refusing_the_credentials_is_an_auth_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let realm_host = host.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let realm_host = realm_host.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let Ok(n) = conn.read(&mut buf).await else {
                    return;
                };
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let response = if head.starts_with("GET /token") {
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string()
                } else {
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{realm_host}/token\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                };
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let secret = "wrong-9d1e-secret";
    let options = registry_support::options_for(&host, dir.path())
        .credentials(host.clone(), Credentials::new("robot", secret));
    let store = RegistryStore::new(&host, options).unwrap();
    let err = store.list_tags("okd/x").await.expect_err("refused");
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("refused") && text.contains("robot"), "{text}");
    assert!(!text.contains(secret) && !format!("{err:?}").contains(secret));
    server.abort();
}
