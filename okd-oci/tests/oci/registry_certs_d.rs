//! A TLS `docker-registry` whose CA is trusted only through a certs.d directory or a
//! `--cert-dir`, as the containers tools read them.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};

use okd_oci::registry::{RegistryOptions, RegistryStore};
use okd_oci::{Error, ManifestRef, Store, StoreExt};
use testkit::Registry;

use crate::registry_support::{Flavor, base_options, image, push};

async fn tls_registry() -> Registry {
    Registry::builder()
        .tls(true)
        .spawn()
        .await
        .expect("docker-registry with TLS")
}

/// Options with no credentials from the machine and `roots` as the only certs.d roots.
fn options(registry: &Registry, roots: Vec<PathBuf>) -> RegistryOptions {
    base_options()
        .auth_file(testkit::stores::empty_auth_file(registry.dir()))
        .certs_d_roots(roots)
}

/// `root/HOST[:PORT]/` holding the registry's CA as `name`.
fn host_dir(registry: &Registry, root: &Path, name: &str) -> PathBuf {
    let dir = root.join(registry.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(registry.ca_pem().expect("CA"), dir.join(name)).unwrap();
    dir
}

#[tokio::test]
async fn a_certs_d_ca_makes_the_registry_trusted() {
    let registry = tls_registry().await;
    let roots = tempfile::tempdir().unwrap();
    let empty_first = roots.path().join("containers");
    let docker = roots.path().join("docker");

    // No directory for the host: the self-made CA is not trusted.
    let store = RegistryStore::new(
        &registry.host(),
        options(&registry, vec![empty_first.clone(), docker.clone()]),
    )
    .unwrap();
    let err = store.list_tags("okd/x").await.expect_err("untrusted CA");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");

    // The CA as a .crt in the second root's HOST:PORT directory (the first root has none).
    host_dir(&registry, &docker, "testkit-ca.crt");
    let options = options(&registry, vec![empty_first, docker]);
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let img = image(Flavor::Oci, 71, 2);
    push(&store, "okd/certs-d", &img, Some("v1")).await;
    let back = store
        .read_manifest("okd/certs-d", &ManifestRef::Tag("v1".into()))
        .await
        .expect("read back over verified TLS");
    assert_eq!(back, img.manifest);
}

#[tokio::test]
async fn only_crt_files_are_trusted() {
    let registry = tls_registry().await;
    let root = tempfile::tempdir().unwrap();
    // A CA under another extension is not a CA for the containers tools either.
    host_dir(&registry, root.path(), "ca.pem");
    let store = RegistryStore::new(
        &registry.host(),
        options(&registry, vec![root.path().into()]),
    )
    .unwrap();
    let err = store
        .list_tags("okd/x")
        .await
        .expect_err("ca.pem is ignored");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn cert_dir_replaces_the_certs_d_search() {
    let registry = tls_registry().await;
    let cert_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        registry.ca_pem().expect("CA"),
        cert_dir.path().join("ca.crt"),
    )
    .unwrap();
    // A certs.d root whose directory for the host has a broken pair: never read with --cert-dir.
    let root = tempfile::tempdir().unwrap();
    let host = host_dir(&registry, root.path(), "ca.crt");
    std::fs::write(host.join("client.cert"), "not read").unwrap();

    let options = options(&registry, vec![root.path().into()]).cert_dir(cert_dir.path());
    assert_eq!(
        options.cert_dir_for(&registry.host()),
        Some(cert_dir.path().to_path_buf())
    );
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    assert!(store.list_tags("okd/none").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_client_certificate_without_its_key_is_named() {
    let registry = tls_registry().await;
    let root = tempfile::tempdir().unwrap();
    let host = host_dir(&registry, root.path(), "ca.crt");
    std::fs::write(host.join("robot.cert"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    let store = RegistryStore::new(
        &registry.host(),
        options(&registry, vec![root.path().into()]),
    )
    .unwrap();
    let err = store.list_tags("okd/x").await.expect_err("unpaired .cert");
    assert!(matches!(err, Error::CertDir { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("robot.cert")
            && text.contains("robot.key")
            && text.contains(&host.display().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn the_client_certificate_pair_is_presented_to_a_registry_that_requires_one() {
    let registry = Registry::builder()
        .require_client_certificate(true)
        .spawn()
        .await
        .expect("docker-registry requiring client certificates");
    let root = tempfile::tempdir().unwrap();
    let host = host_dir(&registry, root.path(), "ca.crt");

    // The CA alone: the registry refuses a client without a certificate.
    let store = RegistryStore::new(
        &registry.host(),
        options(&registry, vec![root.path().into()]),
    )
    .unwrap();
    store
        .list_tags("okd/x")
        .await
        .expect_err("no client certificate");

    // NAME.cert with NAME.key beside the CA: accepted.
    let (cert, key) = registry.client_certificate().expect("client certificate");
    std::fs::copy(cert, host.join("robot.cert")).unwrap();
    std::fs::copy(key, host.join("robot.key")).unwrap();
    let store = RegistryStore::new(
        &registry.host(),
        options(&registry, vec![root.path().into()]),
    )
    .unwrap();
    assert!(store.list_tags("okd/none").await.unwrap().is_empty());
    let img = image(Flavor::Oci, 72, 1);
    let (digest, data) = &img.blobs[1];
    store
        .put_blob("okd/mtls", digest, data.clone())
        .await
        .expect("blob upload with the client certificate");
    assert_eq!(
        store.blob_size("okd/mtls", digest).await.unwrap(),
        Some(data.len() as u64)
    );
    // A whole image, manifest included, and back.
    push(&store, "okd/mtls", &img, Some("v1")).await;
    let back = store
        .read_manifest("okd/mtls", &ManifestRef::Tag("v1".into()))
        .await
        .expect("manifest read with the client certificate");
    assert_eq!(back, img.manifest);
    let untagged = image(Flavor::Docker, 73, 1);
    push(&store, "okd/mtls", &untagged, None).await;
    assert_eq!(
        store
            .manifest_digest(
                "okd/mtls",
                &ManifestRef::Digest(untagged.manifest.digest().clone())
            )
            .await
            .unwrap(),
        Some(untagged.manifest.digest().clone())
    );
}
