//! Helpers shared by the payload tests: reading back what the generator wrote.

use std::io::Read;

use okd_oci::{Digest, ManifestRef, ManifestView, MemoryStore, RawManifest, Store, StoreExt};
use serde_json::Value;
use testkit::payload::{Payload, PayloadSpec, generate};

pub const CONTENT: &str = "okd/scos-content";
pub const RELEASE: &str = "okd/scos-release";
pub const LIMIT: u64 = 64 * 1024 * 1024;

pub fn small() -> PayloadSpec {
    PayloadSpec::new()
        .layer_size(2 * 1024)
        .base_layer_size(4 * 1024)
}

pub async fn default_payload() -> (MemoryStore, Payload) {
    let store = MemoryStore::new();
    let payload = generate(&store, &small()).await.expect("generate");
    (store, payload)
}

pub struct TarEntry {
    pub path: String,
    pub mode: u32,
    pub is_dir: bool,
    pub data: Vec<u8>,
}

pub async fn read_layer(store: &MemoryStore, repo: &str, digest: &Digest) -> Vec<TarEntry> {
    let blob = store
        .get_blob(repo, digest, LIMIT)
        .await
        .expect("layer blob");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut plain)
        .expect("gunzip");
    let mut archive = tar::Archive::new(&plain[..]);
    archive
        .entries()
        .expect("tar")
        .map(|e| {
            let mut e = e.expect("entry");
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("entry data");
            TarEntry {
                path: e.path().expect("path").display().to_string(),
                mode: e.header().mode().expect("mode"),
                is_dir: e.header().entry_type().is_dir(),
                data,
            }
        })
        .collect()
}

pub async fn manifest(store: &MemoryStore, repo: &str, r: ManifestRef) -> RawManifest {
    store.read_manifest(repo, &r).await.expect("manifest")
}

pub fn image_view(m: &RawManifest) -> okd_oci::spec::ImageManifest {
    match m.view().expect("view") {
        ManifestView::Image(i) => *i,
        ManifestView::Index(_) => panic!("{} is an index", m.digest()),
    }
}

pub async fn config_json(store: &MemoryStore, repo: &str, m: &RawManifest) -> Value {
    let digest: Digest = image_view(m).config().digest().to_string().parse().unwrap();
    serde_json::from_slice(&store.get_blob(repo, &digest, LIMIT).await.unwrap()).unwrap()
}

pub async fn release_entries(store: &MemoryStore, p: &Payload) -> Vec<TarEntry> {
    let m = manifest(store, RELEASE, ManifestRef::Tag(p.version.clone())).await;
    let layers = image_view(&m).layers().clone();
    let last: Digest = layers.last().unwrap().digest().to_string().parse().unwrap();
    read_layer(store, RELEASE, &last).await
}

pub fn image_references(entries: &[TarEntry]) -> Value {
    let f = entries
        .iter()
        .find(|e| e.path == "release-manifests/image-references")
        .expect("image-references");
    serde_json::from_slice(&f.data).expect("image-references JSON")
}

/// The `"key":` names of a JSON text, in order, as a shape to compare.
pub fn keys_in_order(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('"')?;
            let (key, after) = rest.split_once('"')?;
            after.starts_with(':').then(|| key.to_string())
        })
        .collect()
}
