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
    let (manifest_type, config_type, layer_type) = match flavor {
        Flavor::Docker => (
            media_type::DOCKER_MANIFEST,
            media_type::DOCKER_CONFIG,
            media_type::DOCKER_LAYER_GZIP,
        ),
        Flavor::Oci => (
            media_type::OCI_MANIFEST,
            media_type::OCI_CONFIG,
            media_type::OCI_LAYER_GZIP,
        ),
    };
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
    let empty_auth = dir.join("empty-auth.json");
    std::fs::write(&empty_auth, "{\"auths\":{}}").expect("write auth file");
    RegistryOptions::default()
        .insecure_registry(host)
        .auth_file(empty_auth)
        .retry(fast_retry(4))
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(30))
}

/// A store for a spawned plain-HTTP registry.
pub fn store(registry: &Registry) -> RegistryStore {
    RegistryStore::new(
        &registry.host(),
        options_for(&registry.host(), registry.dir()),
    )
    .expect("store")
}

/// Runs an external tool, failing the test with a clear message when it is missing.
pub fn run_tool(tool: &str, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} is required for this test ({e}); install it: apt-get install {tool}")
        });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
