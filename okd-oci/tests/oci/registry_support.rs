//! Shared helpers of the registry tests: synthetic images and stores pointed at a spawned
//! `docker-registry`.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use okd_oci::registry::{RegistryOptions, RegistryStore, RetryPolicy};
use okd_oci::{Digest, RawManifest, Store, StoreExt, media_type};
use rand::{RngCore, SeedableRng};
use serde_json::json;
use testkit::Registry;
use testkit::images::MediaTypes;

/// Docker schema 2 or OCI media types.
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    Docker,
    Oci,
}

/// An image: its blobs (config first) and its manifest.
pub struct TestImage {
    pub blobs: Vec<(Digest, Bytes)>,
    pub manifest: RawManifest,
}

pub fn random_bytes(seed: u64, len: usize) -> Bytes {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    Bytes::from(v)
}

/// An image of `layers` random layers; the manifest is pretty-printed so that any
/// re-serialisation on the way would change its bytes and digest.
pub fn image(flavor: Flavor, seed: u64, layers: usize) -> TestImage {
    let MediaTypes {
        manifest: manifest_type,
        config: config_type,
        layer: layer_type,
    } = MediaTypes::of(matches!(flavor, Flavor::Docker));
    let layer_blobs: Vec<Bytes> = (0..layers)
        .map(|i| random_bytes(seed * 1000 + i as u64, 1024 + 4096 * i))
        .collect();
    let diff_ids: Vec<String> = layer_blobs
        .iter()
        .map(|b| Digest::sha256_of(b).to_string())
        .collect();
    let config = Bytes::from(
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"seed": seed.to_string()}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .expect("config JSON"),
    );
    let descriptor = |media: &str, data: &Bytes| json!({"mediaType": media, "size": data.len(), "digest": Digest::sha256_of(data).to_string()});
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": descriptor(config_type, &config),
        "layers": layer_blobs.iter().map(|l| descriptor(layer_type, l)).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest JSON");
    let manifest = RawManifest::new(manifest_type, bytes).expect("valid manifest");
    let mut blobs = vec![(Digest::sha256_of(&config), config)];
    blobs.extend(layer_blobs.into_iter().map(|b| (Digest::sha256_of(&b), b)));
    TestImage { blobs, manifest }
}

/// An index (OCI) or manifest list (Docker) over `children`.
pub fn index(flavor: Flavor, children: &[&RawManifest]) -> RawManifest {
    let media = match flavor {
        Flavor::Docker => media_type::DOCKER_MANIFEST_LIST,
        Flavor::Oci => media_type::OCI_INDEX,
    };
    let archs = ["amd64", "arm64", "ppc64le", "s390x"];
    let manifests: Vec<_> = children
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "mediaType": m.media_type(),
                "size": m.size(),
                "digest": m.digest().to_string(),
                "platform": {"architecture": archs[i % archs.len()], "os": "linux"},
            })
        })
        .collect();
    let doc = json!({"schemaVersion": 2, "mediaType": media, "manifests": manifests});
    RawManifest::new(media, serde_json::to_vec_pretty(&doc).expect("index JSON")).expect("index")
}

/// Pushes an image's blobs, then its manifest with `tag`.
pub async fn push(store: &dyn Store, repo: &str, image: &TestImage, tag: Option<&str>) {
    for (digest, data) in &image.blobs {
        store
            .put_blob(repo, digest, data.clone())
            .await
            .unwrap_or_else(|e| panic!("push blob {digest}: {e}"));
    }
    store
        .write_manifest(repo, &image.manifest, tag)
        .await
        .unwrap_or_else(|e| panic!("push manifest: {e}"));
}

/// A quick retry policy for tests.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        attempts,
        Duration::from_millis(10),
        Duration::from_millis(100),
    )
}

/// Options for a plain-HTTP test registry at `host`: insecure, fast retries, no auth files.
pub fn options_for(host: &str, dir: &std::path::Path) -> RegistryOptions {
    testkit::stores::plain_options(host, dir)
        .retry(fast_retry(4))
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(30))
}

/// A registry with htpasswd authentication for `user` and TLS from its own CA.
pub async fn secure_registry(user: &str, password: &str) -> Registry {
    Registry::builder()
        .htpasswd(user, password)
        .tls(true)
        .spawn()
        .await
        .expect("docker-registry with htpasswd and TLS")
}

/// Options for the secure registries: quick retries and short timeouts, nothing trusted yet.
pub fn base_options() -> RegistryOptions {
    RegistryOptions::default()
        .retry(fast_retry(2))
        .connect_timeout(Duration::from_secs(5))
        .request_timeout(Duration::from_secs(30))
}

/// Writes `json` to `name` in the registry's directory and returns its path.
pub fn auth_file(registry: &Registry, name: &str, json: &str) -> std::path::PathBuf {
    let path = registry.dir().join(name);
    std::fs::write(&path, json).expect("write auth file");
    path
}

/// A store for a spawned plain-HTTP registry.
pub fn store(registry: &Registry) -> RegistryStore {
    RegistryStore::new(
        &registry.host(),
        options_for(&registry.host(), registry.dir()),
    )
    .expect("store")
}
