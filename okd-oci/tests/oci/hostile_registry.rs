//! Registries that lie, redirect, stall or never stop talking, played by a small HTTP/1.1 server
//! on loopback: every misbehaviour ends in a typed error naming the registry and operation,
//! within the configured timeouts, and credentials never reach another host.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use okd_oci::registry::{Credentials, RegistryOptions, RegistryStore};
use okd_oci::{Digest, Error, ManifestRef, Store, StoreExt, media_type};
use registry_support::{Flavor, fast_retry, image};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USER: &str = "okd-robot";
const PASSWORD: &str = "hostile-test-secret-4c1d";

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
}

/// What the server does with a request.
enum Answer {
    /// Writes these bytes (a whole HTTP response) and keeps serving the connection.
    Raw(Vec<u8>),
    /// Reads nothing more and writes nothing, keeping the connection open.
    Stall,
    /// Writes this head, then body chunks of `chunk` bytes every `every`, forever.
    Endless {
        head: String,
        chunk: usize,
        every: Duration,
    },
}

type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// A loopback HTTP/1.1 server answering with `handler`, recording every request.
struct Server {
    host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Server {
        Self::start_on("127.0.0.1", handler).await
    }

    /// Starts the server on 127.0.0.1 but names it `hostname:PORT` (`localhost` is another host
    /// to an HTTP client, though it reaches the same address).
    async fn start_on(
        hostname: &str,
        handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("{hostname}:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(conn, handler.clone(), recorded.clone()));
            }
        });
        Server { host, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut conn: TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    loop {
        // Requests in these tests carry no body: a head ends the request.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end);
        let mut lines = head.lines();
        let mut first = lines.next().unwrap_or("").split(' ');
        let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
        let authorization = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .map(|l| l["authorization:".len()..].trim().to_string());
        let request = Seen {
            method: method.to_string(),
            path: path.to_string(),
            authorization,
        };
        seen.lock().unwrap().push(request.clone());
        match handler(&request) {
            Answer::Raw(bytes) => {
                if conn.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Answer::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Answer::Endless { head, chunk, every } => {
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let data = vec![b' '; chunk];
                let framed = [format!("{chunk:x}\r\n").as_bytes(), &data, b"\r\n"].concat();
                loop {
                    if conn.write_all(&framed).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
            }
        }
    }
}

fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Answer::Raw(bytes)
}

fn ok_v2(request: &Seen) -> Option<Answer> {
    (request.path == "/v2/").then(|| response("200 OK", &[], b"{}"))
}

fn options(host: &str) -> RegistryOptions {
    let dir = std::env::temp_dir().join(format!("okd-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    registry_support::options_for(host, &dir)
        .retry(fast_retry(2))
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(3))
}

/// Runs `f`, failing the test if it takes longer than a generous bound: the store's own
/// timeouts must end every call below long before.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the store's timeouts did not end the call")
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.into())
}

#[tokio::test]
async fn a_wrong_docker_content_digest_is_refused() {
    let img = image(Flavor::Oci, 41, 1);
    let bytes = img.manifest.bytes().clone();
    let lie = Digest::sha256_of(b"some other manifest");
    let liar = lie.clone();
    let server = Server::start(move |r| {
        ok_v2(r).unwrap_or_else(|| {
            response(
                "200 OK",
                &[
                    ("Content-Type", media_type::OCI_MANIFEST.to_string()),
                    ("Docker-Content-Digest", liar.to_string()),
                ],
                &bytes,
            )
        })
    })
    .await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    let err = bounded(store.read_manifest("okd/release", &tag("4.19")))
        .await
        .unwrap_err();
    match &err {
        Error::DigestMismatch {
            what,
            expected,
            actual,
        } => {
            assert_eq!(expected, &lie);
            assert_eq!(actual, img.manifest.digest());
            assert!(
                what.contains(&server.host) && what.contains("okd/release:4.19"),
                "{err}"
            );
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_manifest_that_is_not_the_requested_digest_is_refused() {
    // The registry answers a request by digest with other bytes, and announces their own digest,
    // so only hashing what arrived catches it; also when it does not say the media type.
    let img = image(Flavor::Docker, 42, 1);
    let other = image(Flavor::Docker, 43, 1);
    let served = other.manifest.clone();
    for content_type in [media_type::DOCKER_MANIFEST, "application/json"] {
        let served = served.clone();
        let server = Server::start(move |r| {
            ok_v2(r).unwrap_or_else(|| {
                response(
                    "200 OK",
                    &[
                        ("Content-Type", content_type.to_string()),
                        ("Docker-Content-Digest", served.digest().to_string()),
                    ],
                    served.bytes(),
                )
            })
        })
        .await;
        let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
        let wanted = img.manifest.digest().clone();
        let err = bounded(store.read_manifest("okd/release", &ManifestRef::Digest(wanted.clone())))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::DigestMismatch { expected, actual, .. }
                if expected == &wanted && actual == other.manifest.digest()),
            "{content_type}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_chunked_manifest_without_length_is_cut_at_the_limit() {
    // No Content-Length to refuse up front: the body is counted as it arrives.
    let server = Server::start(|r| {
        ok_v2(r).unwrap_or_else(|| Answer::Endless {
            head: format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                media_type::OCI_MANIFEST
            ),
            chunk: 256 * 1024,
            every: Duration::from_millis(1),
        })
    })
    .await;
    let store = RegistryStore::new(
        &server.host,
        options(&server.host).request_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let err = bounded(store.read_manifest("okd/release", &tag("huge")))
        .await
        .unwrap_err();
    match &err {
        Error::ManifestTooLarge { size, limit, what } => {
            assert_eq!(*limit, okd_oci::MAX_MANIFEST_SIZE as u64);
            assert!(*size > *limit && *size <= *limit + 256 * 1024, "{err}");
            assert!(what.contains("okd/release:huge"), "{err}");
        }
        other => panic!("expected ManifestTooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out_clearly() {
    let server = Server::start(|r| ok_v2(r).unwrap_or(Answer::Stall)).await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    let err = bounded(store.read_manifest("okd/release", &tag("4.19")))
        .await
        .unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("expected RetriesExhausted, got {err:?}");
    };
    assert_eq!(*attempts, 2);
    assert!(matches!(**last, Error::Transport { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&server.host) && text.contains("GET manifest okd/release:4.19"),
        "{text}"
    );
    assert!(text.contains("timed out"), "{text}");
}

#[tokio::test]
async fn a_manifest_trickling_forever_hits_the_request_timeout() {
    // A byte every 200 ms never trips the read timeout; the request timeout ends it.
    let server = Server::start(|r| {
        ok_v2(r).unwrap_or_else(|| Answer::Endless {
            head: format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                media_type::OCI_MANIFEST
            ),
            chunk: 1,
            every: Duration::from_millis(200),
        })
    })
    .await;
    let store =
        RegistryStore::new(&server.host, options(&server.host).retry(fast_retry(1))).unwrap();
    let started = std::time::Instant::now();
    let err = bounded(store.read_manifest("okd/release", &tag("slow")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_blob_stalling_mid_body_fails_the_stream_clearly() {
    let data = Bytes::from(vec![7u8; 64 * 1024]);
    let digest = Digest::sha256_of(&data);
    let half = data.slice(..32 * 1024);
    let server = Server::start(move |r| {
        if let Some(a) = ok_v2(r) {
            return a;
        }
        let mut bytes =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 64 * 1024).into_bytes();
        bytes.extend_from_slice(&half);
        if r.method == "HEAD" {
            return response("200 OK", &[], &[]);
        }
        // Half the body, then silence: `Raw` keeps the connection open, waiting for a request
        // that never comes.
        Answer::Raw(bytes)
    })
    .await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    let blob = bounded(store.read_blob("okd/release", &digest))
        .await
        .unwrap();
    assert_eq!(blob.size, 64 * 1024);
    let mut stream = blob.stream;
    let mut got = 0;
    let err = bounded(async {
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => got += chunk.len(),
                Some(Err(e)) => break e,
                None => panic!("the stream ended without the missing half"),
            }
        }
    })
    .await;
    assert_eq!(got, 32 * 1024);
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains(&digest.to_string()), "{err}");
}

#[tokio::test]
async fn a_blob_streaming_past_its_size_is_cut_off() {
    // Chunked, no length: the size comes from HEAD, and the stream is refused once it passes it.
    let data = Bytes::from(vec![b' '; 1000]);
    let digest = Digest::sha256_of(&data);
    let server = Server::start(|r| {
        if let Some(a) = ok_v2(r) {
            return a;
        }
        if r.method == "HEAD" {
            return Answer::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec());
        }
        Answer::Endless {
            head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
            chunk: 4096,
            every: Duration::from_millis(1),
        }
    })
    .await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    let err = bounded(store.get_blob("okd/release", &digest, 1 << 20))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SizeMismatch { expected: 1000, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_absurd_blob_size_is_refused_before_reading() {
    let digest = Digest::sha256_of(b"tiny");
    let server = Server::start(|r| {
        if let Some(a) = ok_v2(r) {
            return a;
        }
        // Announces 2^63 - 1 bytes, sends four.
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", i64::MAX);
        match r.method.as_str() {
            "HEAD" => Answer::Raw(head.into_bytes()),
            _ => Answer::Raw([head.as_bytes(), b"tiny"].concat()),
        }
    })
    .await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    assert_eq!(
        bounded(store.blob_size("okd/release", &digest))
            .await
            .unwrap(),
        Some(i64::MAX as u64)
    );
    let err = bounded(store.get_blob("okd/release", &digest, 16 << 20))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { size, limit, .. } if *size == i64::MAX as u64 && *limit == 16 << 20),
        "{err:?}"
    );
}

/// A registry asking for basic authentication that redirects content requests to `to`.
async fn redirecting(to: String) -> Server {
    Server::start(move |r| {
        if r.authorization.is_none() {
            return response(
                "401 Unauthorized",
                &[(
                    "WWW-Authenticate",
                    "Basic realm=\"okd-streams\"".to_string(),
                )],
                b"",
            );
        }
        if r.path == "/v2/" {
            return response("200 OK", &[], b"{}");
        }
        response(
            "307 Temporary Redirect",
            &[("Location", format!("http://{to}{}", r.path))],
            b"",
        )
    })
    .await
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_host() {
    let img = image(Flavor::Oci, 44, 1);
    let (config_digest, config) = img.blobs[0].clone();
    let manifest = img.manifest.clone();
    for hostname in ["127.0.0.1", "localhost"] {
        let (m, c, cd) = (manifest.clone(), config.clone(), config_digest.clone());
        // The other host serves the content to anyone, and records who asked.
        let cdn = Server::start_on(hostname, move |r| {
            if r.path.contains("/manifests/") {
                response(
                    "200 OK",
                    &[("Content-Type", m.media_type().to_string())],
                    m.bytes(),
                )
            } else if r.path.ends_with(&format!("/blobs/{cd}")) {
                response("200 OK", &[], &c)
            } else {
                response("404 Not Found", &[], b"")
            }
        })
        .await;
        let registry = redirecting(cdn.host.clone()).await;
        let store = RegistryStore::new(
            &registry.host,
            options(&registry.host).credentials(&registry.host, Credentials::new(USER, PASSWORD)),
        )
        .unwrap();

        let got = bounded(store.read_manifest(
            "okd/release",
            &ManifestRef::Digest(manifest.digest().clone()),
        ))
        .await
        .unwrap();
        assert_eq!(got, manifest);
        let blob = bounded(store.get_blob("okd/release", &config_digest, 1 << 20))
            .await
            .unwrap();
        assert_eq!(blob, config);

        let at_registry = registry.seen();
        assert!(
            at_registry
                .iter()
                .any(|r| r.path.contains("/blobs/") && r.authorization.is_some()),
            "the registry itself got the credentials: {at_registry:?}"
        );
        let at_cdn = cdn.seen();
        assert!(
            at_cdn.iter().any(|r| r.path.contains("/manifests/"))
                && at_cdn.iter().any(|r| r.path.contains("/blobs/")),
            "{hostname}: both redirects were followed: {at_cdn:?}"
        );
        for r in &at_cdn {
            assert!(
                r.authorization.is_none(),
                "{hostname}: credentials reached the other host: {r:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_redirect_loop_ends_in_an_error() {
    let server = Server::start(|r| {
        ok_v2(r)
            .unwrap_or_else(|| response("302 Found", &[("Location", format!("{}x", r.path))], b""))
    })
    .await;
    let store = RegistryStore::new(&server.host, options(&server.host)).unwrap();
    let err = bounded(store.read_manifest("okd/release", &tag("loop")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&server.host), "{err}");
    let requests = server.seen().len();
    assert!(requests < 40, "{requests} requests");
}
