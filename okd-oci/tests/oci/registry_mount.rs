//! Cross-repository mounts that the registry refuses fall back to a plain upload.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use okd_oci::copy::{BlobCopy, copy_blob};
use okd_oci::registry::RegistryStore;
use okd_oci::{Store, StoreExt};
use registry_support::{Flavor, fast_retry, image, options_for, push, store};
use testkit::{FaultConfig, FaultProxy, Registry};

/// Pushes an image to `okd/src`, then copies its first layer to `okd/dst` through a proxy that
/// answers every mount request with `status`.
async fn copy_with_mount_refused(status: u16) {
    let registry = Registry::spawn().await.expect("registry");
    let img = image(Flavor::Oci, 40 + u64::from(status), 1);
    push(&store(&registry), "okd/src", &img, Some("v1")).await;
    let (digest, data) = img.blobs.first().unwrap();

    let proxy = FaultProxy::spawn(
        &registry.host(),
        FaultConfig::new(7)
            .reject(1.0)
            .reject_status(status)
            .matching("POST /v2/okd/dst/blobs/uploads/?mount="),
    )
    .await
    .expect("proxy");
    let options = options_for(&proxy.host(), registry.dir())
        .retry(fast_retry(3))
        .idle_connections_per_host(0);
    let dst = RegistryStore::new(&proxy.host(), options).expect("store");

    let copied = copy_blob(&dst, "okd/src", &dst, "okd/dst", digest, data.len() as u64)
        .await
        .unwrap_or_else(|e| panic!("copy with mount answered {status}: {e}"));
    assert_eq!(
        copied,
        BlobCopy::Copied(data.len() as u64),
        "answer {status}"
    );
    assert!(
        proxy.faults_injected() >= 1,
        "mount not refused: {:?}",
        proxy.stats()
    );
    assert_eq!(dst.stats().blobs_mounted, 0);
    let stored = dst
        .get_blob("okd/dst", digest, 1 << 20)
        .await
        .expect("uploaded blob");
    assert_eq!(&stored, data, "answer {status}");
}

#[tokio::test]
async fn a_mount_answered_401_falls_back_to_an_upload() {
    copy_with_mount_refused(401).await;
}

#[tokio::test]
async fn a_mount_answered_403_falls_back_to_an_upload() {
    copy_with_mount_refused(403).await;
}

#[tokio::test]
async fn a_mount_answered_404_falls_back_to_an_upload() {
    copy_with_mount_refused(404).await;
}
