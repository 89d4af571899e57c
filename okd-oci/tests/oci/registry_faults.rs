//! Retries through a fault-injecting proxy in front of a real `docker-registry`.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::time::Duration;

use bytes::Bytes;
use okd_oci::registry::RegistryStore;
use okd_oci::{BlobWrite, ByteStream, Digest, Error, ManifestRef, Store, StoreExt};
use registry_support::{Flavor, fast_retry, image, options_for, push, random_bytes, store};
use testkit::{FaultConfig, FaultProxy, Registry};

fn proxied_store(registry: &Registry, proxy: &FaultProxy, attempts: u32) -> RegistryStore {
    // One connection per request, so that per-connection faults reach every request.
    let options = options_for(&proxy.host(), registry.dir())
        .retry(fast_retry(attempts))
        .idle_connections_per_host(0);
    RegistryStore::new(&proxy.host(), options).expect("store")
}

#[tokio::test]
async fn retries_get_through_503s_and_dropped_connections() {
    let registry = Registry::spawn().await.expect("registry");
    let img = image(Flavor::Oci, 21, 3);
    push(&store(&registry), "okd/faulty", &img, Some("v1")).await;

    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(2024)
            .reject(0.3)
            .drop(0.2)
            .drop_after(0..400),
    )
    .await
    .expect("proxy");
    // Half the connections fail; twenty attempts make twenty failures in a row on one of the
    // test's requests about one in a million (ten left it at a few percent).
    let store = proxied_store(&registry, &proxy, 20);
    for _ in 0..3 {
        let m = store
            .read_manifest("okd/faulty", &ManifestRef::Tag("v1".into()))
            .await
            .expect("manifest through faults");
        assert_eq!(m, img.manifest);
        for (digest, data) in &img.blobs {
            assert_eq!(
                store.blob_size("okd/faulty", digest).await.expect("HEAD"),
                Some(data.len() as u64)
            );
        }
    }
    let injected = proxy.faults_injected();
    assert!(injected > 0, "no fault was injected: {:?}", proxy.stats());
    assert!(store.stats().retries > 0, "{:?}", store.stats());
}

#[tokio::test]
async fn uploads_retry_session_opening_and_reopen_broken_transfers() {
    let registry = Registry::spawn().await.expect("registry");
    // Opening the upload session is refused three times.
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(5)
            .reject(1.0)
            .matching("POST ")
            .max_faults(3),
    )
    .await
    .expect("proxy");
    let store = proxied_store(&registry, &proxy, 6);
    let data = random_bytes(8, 300_000);
    let digest = Digest::sha256_of(&data);
    assert_eq!(
        store
            .put_blob("okd/up", &digest, data.clone())
            .await
            .expect("upload"),
        BlobWrite::Written
    );
    assert_eq!(proxy.faults_injected(), 3);
    assert_eq!(store.stats().retries, 3, "{:?}", store.stats());

    // Connections cut in the middle of the body: only a re-opened source can be sent again.
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(6)
            .drop(1.0)
            .drop_after(50_000..150_000)
            // With one connection per request, the body is the whole of a `PUT` connection.
            .matching("PUT ")
            .max_faults(2),
    )
    .await
    .expect("proxy");
    let store = proxied_store(&registry, &proxy, 6);
    let data = random_bytes(9, 400_000);
    let digest = Digest::sha256_of(&data);
    let opened = std::sync::atomic::AtomicU32::new(0);
    let written = store
        .write_blob_reopening("okd/up", &digest, data.len() as u64, || {
            opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let data = data.clone();
            async move {
                let chunks: Vec<Result<Bytes, Error>> = data
                    .chunks(16 * 1024)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                Ok(Box::pin(futures::stream::iter(chunks)) as ByteStream)
            }
        })
        .await
        .expect("upload through cut connections");
    assert_eq!(written, BlobWrite::Written);
    // A whole-body PUT broken before any answer may be a proxy's body limit: the store goes
    // over to chunks, and the blob is sent again from a re-opened source, as PATCH parts the
    // proxy lets through.
    assert_eq!(proxy.stats().dropped, 1, "{:?}", proxy.stats());
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 2);
    proxy.set_enabled(false);
    assert_eq!(
        store
            .get_blob("okd/up", &digest, 1 << 20)
            .await
            .expect("read back"),
        data
    );
}

#[tokio::test]
async fn a_transfer_cut_mid_body_is_not_replayed_from_a_plain_stream() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(7)
            .drop(1.0)
            .drop_after(100_000..100_001)
            .matching("PUT "),
    )
    .await
    .expect("proxy");
    let store = proxied_store(&registry, &proxy, 5);
    let data = random_bytes(10, 500_000);
    let digest = Digest::sha256_of(&data);
    let err = store
        .put_blob("okd/cut", &digest, data)
        .await
        .expect_err("a consumed stream cannot be sent again");
    assert!(
        matches!(
            &err,
            Error::UploadBroken { repository, message, .. }
                if repository == "okd/cut" && message.contains("of 500000 bytes")
        ),
        "{err:?}"
    );
    proxy.set_enabled(false);
    assert_eq!(store.blob_size("okd/cut", &digest).await.unwrap(), None);
}

#[tokio::test]
async fn gives_up_after_the_configured_attempts_with_a_clear_error() {
    let registry = Registry::spawn().await.expect("registry");
    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(1).reject(1.0))
        .await
        .expect("proxy");
    let store = proxied_store(&registry, &proxy, 3);
    let err = store
        .read_manifest("okd/never", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("always 503");
    match &err {
        Error::RetriesExhausted {
            attempts,
            last,
            registry: host,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(host, &proxy.host());
            assert!(
                matches!(
                    **last,
                    Error::Registry {
                        status: Some(503),
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("gave up after 3 attempts") && text.contains("503"),
        "{text}"
    );
    assert_eq!(store.stats().retries, 2);
}

#[tokio::test]
async fn corrupted_downloads_fail_verification() {
    let registry = Registry::spawn().await.expect("registry");
    let data = random_bytes(11, 50_000);
    let digest = Digest::sha256_of(&data);
    store(&registry)
        .put_blob("okd/corrupt", &digest, data)
        .await
        .expect("push");
    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(3).corrupt(1.0))
        .await
        .expect("proxy");
    let store = proxied_store(&registry, &proxy, 2);
    let err = store
        .get_blob("okd/corrupt", &digest, 1 << 20)
        .await
        .expect_err("corrupted bytes must not pass");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(proxy.stats().corrupted >= 1);
}

#[tokio::test]
async fn stalls_past_the_read_timeout_are_retried() {
    let registry = Registry::spawn().await.expect("registry");
    let img = image(Flavor::Docker, 22, 1);
    push(&store(&registry), "okd/slow", &img, Some("v1")).await;
    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(4)
            .stall(1.0, Duration::from_secs(3))
            .drop_after(0..1)
            .max_faults(2),
    )
    .await
    .expect("proxy");
    let options = options_for(&proxy.host(), registry.dir())
        .retry(fast_retry(5))
        .read_timeout(Duration::from_millis(500));
    let store = RegistryStore::new(&proxy.host(), options).expect("store");
    let m = store
        .read_manifest("okd/slow", &ManifestRef::Tag("v1".into()))
        .await
        .expect("through stalls");
    assert_eq!(m, img.manifest);
    assert_eq!(proxy.stats().stalled, 2);
    assert!(store.stats().retries >= 1, "{:?}", store.stats());
}
