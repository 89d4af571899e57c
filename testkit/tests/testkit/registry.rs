//! The local registry and the fault proxy, exercised against the real `docker-registry`.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::time::Duration;

use testkit::{FaultConfig, FaultProxy, Registry, RegistryError};

fn client_trusting(registry: &Registry) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(ca) = registry.ca_pem() {
        let pem = std::fs::read(ca).expect("CA written by the registry");
        builder = builder.tls_certs_merge([reqwest::Certificate::from_pem(&pem).expect("CA PEM")]);
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn plain_registry_answers_v2_and_dies_on_drop() {
    let registry = Registry::spawn().await.expect("docker-registry starts");
    assert!(registry.host().starts_with("127.0.0.1:"));
    assert_eq!(registry.url(), format!("http://{}", registry.host()));
    assert!(registry.ca_pem().is_none() && registry.credentials().is_none());
    let r = reqwest::get(format!("{}/v2/", registry.url()))
        .await
        .expect("GET /v2/");
    assert_eq!(r.status(), 200);

    let url = registry.url();
    let dir = registry.dir().to_path_buf();
    drop(registry);
    assert!(!dir.exists(), "temporary directory removed");
    let after = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client")
        .get(format!("{url}/v2/"))
        .send()
        .await;
    assert!(
        after.is_err(),
        "registry still answering after drop: {after:?}"
    );
}

#[tokio::test]
async fn two_registries_get_distinct_ports() {
    let a = Registry::spawn().await.expect("first");
    let b = Registry::spawn().await.expect("second");
    assert_ne!(a.port(), b.port());
}

#[tokio::test]
async fn tls_htpasswd_registry_requires_ca_and_credentials() {
    let registry = Registry::builder()
        .htpasswd("okd", "hunter2-secret")
        .tls(true)
        .spawn()
        .await
        .expect("docker-registry with TLS and htpasswd starts");
    assert!(registry.url().starts_with("https://127.0.0.1:"));
    assert_eq!(registry.credentials(), Some(("okd", "hunter2-secret")));
    let client = client_trusting(&registry);
    let v2 = format!("{}/v2/", registry.url());

    let anonymous = client.get(&v2).send().await.expect("GET");
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(&v2)
        .basic_auth("okd", Some("nope"))
        .send()
        .await
        .expect("GET");
    assert_eq!(wrong.status(), 401);
    let right = client
        .get(&v2)
        .basic_auth("okd", Some("hunter2-secret"))
        .send()
        .await
        .expect("GET");
    assert_eq!(right.status(), 200);

    // Without the CA, the certificate is not trusted.
    let untrusted = reqwest::Client::new().get(&v2).send().await;
    assert!(untrusted.is_err(), "untrusted certificate accepted");

    // The auth.json document carries the credentials for this host.
    let auth: serde_json::Value = serde_json::from_str(&registry.auth_json()).expect("JSON");
    assert!(auth["auths"][registry.host()]["auth"].is_string());
    // Debug output never shows the password.
    assert!(!format!("{registry:?}").contains("hunter2-secret"));
}

#[tokio::test]
async fn missing_binary_names_the_debian_package() {
    let err = Registry::builder()
        .binary("/nonexistent/docker-registry")
        .spawn()
        .await
        .expect_err("no binary");
    assert!(matches!(err, RegistryError::MissingBinary { .. }));
    assert!(
        err.to_string().contains("apt-get install docker-registry"),
        "{err}"
    );
}

#[tokio::test]
async fn proxy_rejects_with_503_and_counts() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(1).reject(1.0))
        .await
        .expect("proxy");
    let client = reqwest::Client::new();
    let url = format!("http://{}/v2/", proxy.host());
    for _ in 0..3 {
        let r = client.get(&url).send().await.expect("a 503 answer");
        assert_eq!(r.status(), 503);
    }
    assert_eq!(proxy.stats().rejected, 3);
    assert_eq!(proxy.faults_injected(), 3);

    proxy.set_enabled(false);
    let r = client.get(&url).send().await.expect("passes through");
    assert_eq!(r.status(), 200);
    assert_eq!(proxy.faults_injected(), 3);
}

#[tokio::test]
async fn proxy_drops_connections_mid_response() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(2).drop(1.0).drop_after(150..151),
    )
    .await
    .expect("proxy");
    // GET /v2/ sends ~100 request bytes; the response is cut 50 bytes in.
    let result = async {
        reqwest::Client::new()
            .get(format!("http://{}/v2/", proxy.host()))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(result.is_err(), "a cut connection must fail: {result:?}");
    assert_eq!(proxy.stats().dropped, 1);
}

#[tokio::test]
async fn proxy_is_deterministic_for_a_seed() {
    let registry = Registry::spawn().await.expect("registry");
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(42).reject(0.5))
            .await
            .expect("proxy");
        let mut seen = Vec::new();
        for _ in 0..12 {
            // A fresh client per request: one connection each, so sequence numbers line up.
            let r = reqwest::Client::new()
                .get(format!("http://{}/v2/", proxy.host()))
                .send()
                .await
                .expect("answer");
            seen.push(r.status().as_u16());
        }
        assert_eq!(proxy.stats().connections, 12);
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    assert!(
        outcomes[0].contains(&503) && outcomes[0].contains(&200),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn proxy_refuses_non_loopback_upstream() {
    let err = FaultProxy::spawn("192.0.2.1:80", FaultConfig::new(0))
        .await
        .expect_err("non-loopback upstream");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn proxy_http_faults_limit_bodies_throttle_once_and_count_by_method() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(3)
            .max_body(1000)
            .too_many_requests(Duration::from_secs(2))
            .matching("GET /v2/")
            .max_faults(1),
    )
    .await
    .expect("proxy");
    let client = reqwest::Client::new();
    let url = format!("http://{}/v2/", proxy.host());
    let r = client.get(&url).send().await.expect("a 429 answer");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let r = client.get(&url).send().await.expect("passes through");
    assert_eq!(r.status(), 200);
    let uploads = format!("http://{}/v2/okd/x/blobs/uploads/", proxy.host());
    let r = client
        .post(&uploads)
        .body(vec![0u8; 5000])
        .send()
        .await
        .expect("a 413 answer");
    assert_eq!(r.status(), 413);
    let r = client
        .post(&uploads)
        .send()
        .await
        .expect("an upload session");
    assert_eq!(r.status(), 202);
    let http = proxy.http_stats();
    assert_eq!((http.count("GET"), http.count("POST")), (2, 2), "{http:?}");
    assert_eq!((http.throttled, http.too_large), (1, 1), "{http:?}");
}
