//! Transfer behaviour of the registry client through an HTTP-level fault proxy in front of a
//! real `docker-registry`: chunked uploads after a 413, `Retry-After`, resumed downloads, and
//! errors that name the registry, the repository and the blob.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use okd_oci::registry::{RegistryOptions, RegistryStore};
use okd_oci::{Digest, ManifestRef, RawManifest, Store, StoreExt, copy, media_type};
use registry_support::{TestImage, fast_retry, options_for, push, random_bytes, store};
use serde_json::json;
use testkit::{FaultConfig, FaultProxy, Registry};

const MIB: usize = 1024 * 1024;

/// An OCI image whose layers have these sizes.
fn sized_image(seed: u64, layers: &[usize]) -> TestImage {
    let layer_blobs: Vec<Bytes> = layers
        .iter()
        .enumerate()
        .map(|(i, len)| random_bytes(seed * 100 + i as u64, *len))
        .collect();
    let config = Bytes::from(
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": layer_blobs.iter().map(|b| Digest::sha256_of(b).to_string()).collect::<Vec<_>>()},
        }))
        .unwrap(),
    );
    let descriptor = |media: &str, data: &Bytes| json!({"mediaType": media, "size": data.len(), "digest": Digest::sha256_of(data).to_string()});
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": descriptor(media_type::OCI_CONFIG, &config),
        "layers": layer_blobs.iter().map(|l| descriptor(media_type::OCI_LAYER_GZIP, l)).collect::<Vec<_>>(),
    });
    let manifest = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let mut blobs = vec![(Digest::sha256_of(&config), config)];
    blobs.extend(layer_blobs.into_iter().map(|b| (Digest::sha256_of(&b), b)));
    TestImage { blobs, manifest }
}

/// A store reaching `registry` through `proxy`, with retries of at most 100 ms of backoff.
fn via(registry: &Registry, proxy: &FaultProxy) -> RegistryStore {
    let options = options_for(&proxy.host(), registry.dir()).retry(fast_retry(4));
    RegistryStore::new(&proxy.host(), options).unwrap()
}

/// Every blob of `image` reads back from `repo` of `store` with its bytes and digest.
async fn assert_blobs(store: &dyn Store, repo: &str, image: &TestImage) {
    for (digest, data) in &image.blobs {
        let got = store.get_blob(repo, digest, 64 << 20).await.unwrap();
        assert_eq!(Digest::sha256_of(&got), *digest);
        assert_eq!(&got, data, "blob {digest} in {repo}");
    }
}

/// Copies an image of `layers` (sizes) through a proxy with `config`, checks that every blob
/// and the manifest arrived intact, and returns what the proxy saw.
async fn copy_through(seed: u64, layers: &[usize], config: FaultConfig) -> testkit::HttpStats {
    let registry = Registry::spawn().await.expect("registry");
    let direct = store(&registry);
    let img = sized_image(seed, layers);
    push(&direct, "okd/big", &img, Some("v1")).await;

    let proxy = FaultProxy::spawn(&registry.host(), config)
        .await
        .expect("proxy");
    let dst = via(&registry, &proxy);
    let tag = ManifestRef::Tag("v1".into());
    let (top, stats) = copy::copy_image(&direct, "okd/big", &tag, &dst, "okd/mirror", Some("v1"))
        .await
        .expect("copy through the proxy");
    assert_eq!(top.digest(), img.manifest.digest());
    assert_eq!(stats.blobs_copied, layers.len() as u64 + 1, "{stats:?}");
    assert_blobs(&direct, "okd/mirror", &img).await;
    let back = direct.read_manifest("okd/mirror", &tag).await.unwrap();
    assert_eq!(back.bytes(), img.manifest.bytes());
    proxy.http_stats()
}

#[tokio::test]
async fn a_body_limit_sends_blobs_in_patch_chunks() {
    let config = FaultConfig::new(1).max_body(MIB as u64);
    let http = copy_through(1, &[3 * MIB, 2 * MIB], config).await;
    assert!(http.count("PATCH") >= 5, "{http:?}");
    // The first layer's monolithic PUT and its first 1.5 MiB chunk were refused; the second
    // layer went in chunks of the size that worked, never refused.
    assert_eq!(http.too_large, 2, "{http:?}");
}

#[tokio::test]
async fn a_413_sent_before_the_body_is_read_still_leads_to_chunks() {
    // The proxy answers 413 from the head and closes with the body unread: the client is
    // reset while it sends, and may never read the answer.
    let config = FaultConfig::new(3).max_body_abrupt(MIB as u64);
    let http = copy_through(3, &[6 * MIB, 5 * MIB], config).await;
    // At least one monolithic PUT, then chunks of 3 MiB and 1.5 MiB refused (each a broken
    // request on the client's side) before 768 KiB fit; then every chunk fit.
    assert!(http.too_large >= 3, "{http:?}");
    assert!(http.count("PATCH") >= 11, "{http:?}");
}

#[tokio::test]
async fn a_reopening_upload_goes_in_chunks_after_a_413() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(7).max_body(MIB as u64))
        .await
        .expect("proxy");
    let dst = via(&registry, &proxy);
    let data = random_bytes(7, 2 * MIB + 123);
    let digest = Digest::sha256_of(&data);
    let opened = std::sync::atomic::AtomicU32::new(0);
    let written = dst
        .write_blob_reopening("okd/reopen", &digest, data.len() as u64, || {
            opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let data = data.clone();
            async move {
                Ok(Box::pin(futures::stream::once(async move { Ok(data) })) as okd_oci::ByteStream)
            }
        })
        .await
        .expect("upload after a 413");
    assert_eq!(written, okd_oci::BlobWrite::Written);
    // Opened for the refused PUT, then once more for the chunks.
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 2);
    let http = proxy.http_stats();
    assert!(http.count("PATCH") >= 3, "{http:?}");
    let back = store(&registry)
        .get_blob("okd/reopen", &digest, 8 << 20)
        .await
        .unwrap();
    assert_eq!(back, data);
}

#[tokio::test]
async fn chunks_refused_at_the_smallest_size_fail_naming_registry_repository_and_blob() {
    let registry = Registry::spawn().await.expect("registry");
    let direct = store(&registry);
    let data = random_bytes(2, MIB);
    let digest = Digest::sha256_of(&data);
    direct
        .put_blob("okd/src", &digest, data.clone())
        .await
        .unwrap();

    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(2).max_body(100_000))
        .await
        .expect("proxy");
    let dst = via(&registry, &proxy);
    let err = copy::copy_blob(&direct, "okd/src", &dst, "okd/tiny", &digest, MIB as u64)
        .await
        .expect_err("a 100 kB limit is below the smallest chunk");
    let text = err.to_string();
    for part in [proxy.host(), "okd/tiny".to_string(), digest.to_string()] {
        assert!(text.contains(&part), "{part} missing from: {text}");
    }
    assert!(text.contains("413"), "{text}");
    assert!(
        proxy.http_stats().count("PATCH") >= 2,
        "{:?}",
        proxy.http_stats()
    );
}

#[tokio::test]
async fn retry_after_sets_the_wait_before_the_retry() {
    let registry = Registry::spawn().await.expect("registry");
    let direct = store(&registry);
    let img = sized_image(3, &[10_000]);
    push(&direct, "okd/slow", &img, Some("v1")).await;

    // The destination's first blob check is throttled once, asking for one second.
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(3)
            .too_many_requests(Duration::from_secs(1))
            .matching("HEAD ")
            .max_faults(1),
    )
    .await
    .expect("proxy");
    // The backoff alone would wait at most 100 ms.
    let dst = via(&registry, &proxy);
    let started = Instant::now();
    let tag = ManifestRef::Tag("v1".into());
    copy::copy_image(&direct, "okd/slow", &tag, &dst, "okd/patient", Some("v1"))
        .await
        .expect("copy after a 429");
    let waited = started.elapsed();
    assert_eq!(proxy.http_stats().throttled, 1, "{:?}", proxy.http_stats());
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert!(dst.stats().retries >= 1, "{:?}", dst.stats());
    assert_blobs(&direct, "okd/patient", &img).await;
}

/// Copies `img` out of `okd/cut` through a proxy that cuts the big layer's download at 90%.
async fn copy_through_cut(seed: u64, ignore_range: bool) -> (TestImage, testkit::HttpStats, u64) {
    let registry = Registry::spawn().await.expect("registry");
    let direct = store(&registry);
    let img = sized_image(seed, &[4 * MIB]);
    push(&direct, "okd/cut", &img, Some("v1")).await;
    let layer = &img.blobs[1].0;
    let mut config = FaultConfig::new(seed)
        .cut_at_fraction(0.9)
        .matching(&format!("GET /v2/okd/cut/blobs/{layer}"))
        .max_faults(1);
    if ignore_range {
        config = config.ignore_range();
    }
    let proxy = FaultProxy::spawn(&registry.host(), config)
        .await
        .expect("proxy");
    let src = via(&registry, &proxy);
    let tag = ManifestRef::Tag("v1".into());
    copy::copy_image(&src, "okd/cut", &tag, &direct, "okd/whole", Some("v1"))
        .await
        .expect("copy through a cut download");
    assert_blobs(&direct, "okd/whole", &img).await;
    let total: u64 = img.blobs.iter().map(|(_, b)| b.len() as u64).sum();
    (img, proxy.http_stats(), total)
}

#[tokio::test]
async fn a_cut_download_resumes_with_range_inside_the_same_upload() {
    let (_, http, total) = copy_through_cut(4, false).await;
    assert_eq!(http.cut, 1, "{http:?}");
    assert!(http.range_requests >= 1, "{http:?}");
    // A restart would serve 1.9 times the blob; a resume serves it once.
    assert!(
        (http.blob_bytes_served as f64) < 1.5 * total as f64,
        "{} bytes served for {total}: {http:?}",
        http.blob_bytes_served
    );
}

#[tokio::test]
async fn a_server_without_range_support_restarts_the_download_cleanly() {
    let (_, http, total) = copy_through_cut(5, true).await;
    assert_eq!(http.cut, 1, "{http:?}");
    assert!(http.range_requests >= 1, "{http:?}");
    // The whole blob came again after the cut: the skipped prefix was read, not trusted.
    assert!(
        (http.blob_bytes_served as f64) > 1.5 * total as f64,
        "{} bytes served for {total}: {http:?}",
        http.blob_bytes_served
    );
}

#[tokio::test]
async fn blob_errors_name_registry_repository_and_digest() {
    let registry = Registry::spawn().await.expect("registry");
    let data = random_bytes(6, 1000);
    let digest = Digest::sha256_of(&data);
    store(&registry)
        .put_blob("okd/named", &digest, data)
        .await
        .unwrap();
    let names = |e: &okd_oci::Error, host: &str| {
        let text = e.to_string();
        for part in [host, "okd/named", &digest.to_string()] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    };

    // TLS to a plain-HTTP registry fails in the shared `/v2/` probe, yet names the blob.
    let tls = RegistryStore::new(
        &registry.host(),
        RegistryOptions::default()
            .retry(fast_retry(1))
            .auth_file(testkit::stores::empty_auth_file(registry.dir())),
    )
    .unwrap();
    let e = tls.blob_size("okd/named", &digest).await.unwrap_err();
    assert!(matches!(e, okd_oci::Error::Tls { .. }), "{e:?}");
    names(&e, &registry.host());

    // A download refused every time.
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(6)
            .reject(1.0)
            .reject_status(500)
            .matching("GET /v2/okd/named/blobs/"),
    )
    .await
    .expect("proxy");
    let options = options_for(&proxy.host(), registry.dir())
        .retry(fast_retry(2))
        .idle_connections_per_host(0);
    let src = RegistryStore::new(&proxy.host(), options).unwrap();
    let e = src
        .get_blob("okd/named", &digest, 1 << 20)
        .await
        .unwrap_err();
    names(&e, &proxy.host());
}
