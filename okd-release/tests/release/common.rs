//! Release images built by hand in a MemoryStore, independently of `ReleaseBuilder`.
#![allow(dead_code)]

use std::io::Write;

use bytes::Bytes;
use okd_oci::layer::{Compression, LayerWriter};
use okd_oci::{Digest, MemoryStore, RawManifest, Store, StoreExt, media_type};

pub const CREATED: &str = "2025-06-01T10:00:00Z";

/// [`CREATED`] as a time.
pub fn created() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(CREATED)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A layer blob and its diff_id.
pub struct Layer {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub diff_id: Digest,
}

impl Layer {
    pub fn gzip_tar(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Layer {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let bytes = gz.finish().unwrap();
        Layer {
            digest: Digest::sha256_of(&bytes),
            diff_id: Digest::sha256_of(&tar),
            bytes,
        }
    }

    pub fn with_writer(build: impl FnOnce(&mut LayerWriter<Vec<u8>>)) -> Layer {
        let mut w = LayerWriter::new(Vec::new(), Compression::Gzip).with_mtime(1_748_772_000);
        build(&mut w);
        let (bytes, info) = w.finish().unwrap();
        Layer {
            bytes,
            digest: info.digest,
            diff_id: info.diff_id,
        }
    }

    /// A tar entry header with a raw name, bypassing the tar crate's path checks.
    pub fn raw_header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        testkit::images::raw_tar_header(name, kind, "", size, 0o444)
    }

    /// A link entry header (hard or symbolic) with a raw name and target.
    pub fn link_header(name: &str, kind: tar::EntryType, target: &str) -> tar::Header {
        testkit::images::raw_tar_header(name, kind, target, 0, 0o444)
    }
}

/// The release-manifests layer for `files` (name inside release-manifests, contents).
pub fn release_layer(files: &[(&str, &[u8])]) -> Layer {
    Layer::with_writer(|w| {
        w.add_dir("release-manifests", 0o777).unwrap();
        for (name, data) in files {
            w.add_file(&format!("release-manifests/{name}"), 0o444, data)
                .unwrap();
        }
    })
}

pub fn base_layer() -> Layer {
    Layer::with_writer(|w| {
        w.add_dir("usr", 0o755).unwrap();
        w.add_dir("usr/bin", 0o755).unwrap();
        w.add_file("usr/bin/cluster-version-operator", 0o755, b"#!/bin/sh\n")
            .unwrap();
        w.add_dir("manifests", 0o755).unwrap();
        w.add_file("manifests/0000_00_cvo.yaml", 0o644, b"kind: Namespace\n")
            .unwrap();
    })
}

pub fn config_json(labels: &[(&str, &str)], arch: &str, diff_ids: &[&Digest]) -> Vec<u8> {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "created": CREATED,
        "os": "linux",
        "architecture": arch,
        "config": {"Labels": labels, "Entrypoint": ["/usr/bin/cluster-version-operator"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap()
}

/// Writes an image made of `layers` and `config` to `repo`, tagged `tag`; returns the manifest.
pub async fn put_image(
    store: &dyn Store,
    repo: &str,
    tag: Option<&str>,
    config: Vec<u8>,
    layers: &[&Layer],
) -> RawManifest {
    let config_digest = Digest::sha256_of(&config);
    let config_size = config.len();
    store
        .put_blob(repo, &config_digest, Bytes::from(config))
        .await
        .unwrap();
    for l in layers {
        store
            .put_blob(repo, &l.digest, Bytes::from(l.bytes.clone()))
            .await
            .unwrap();
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST,
        "config": {"mediaType": media_type::DOCKER_CONFIG, "size": config_size, "digest": config_digest.to_string()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": media_type::DOCKER_LAYER_GZIP, "size": l.bytes.len(), "digest": l.digest.to_string()
        })).collect::<Vec<_>>(),
    });
    let raw = RawManifest::new(
        media_type::DOCKER_MANIFEST,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    store.write_manifest(repo, &raw, tag).await.unwrap();
    raw
}

/// A release image in `repo:tag` whose last layer is `release`.
pub async fn put_release(
    store: &MemoryStore,
    repo: &str,
    tag: &str,
    name: &str,
    release: &Layer,
) -> RawManifest {
    let base = base_layer();
    let config = config_json(
        &[("io.openshift.release", name)],
        "amd64",
        &[&base.diff_id, &release.diff_id],
    );
    put_image(store, repo, Some(tag), config, &[&base, release]).await
}

pub fn pullspec(n: u32) -> String {
    format!(
        "quay.io/okd/scos-content@{}",
        Digest::sha256_of(&n.to_be_bytes())
    )
}
