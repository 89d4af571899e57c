//! Builds CoreOS-shaped OS images in any store: an ostree commit layer, component chunks
//! annotated `ostree.components`, and a config with the labels an encapsulated ostree commit
//! carries (`ostree.bootable`, `ostree.final-diffid`, …).
#![allow(dead_code)]

use bytes::Bytes;
use okd_oci::layer::{Compression, LayerInfo, LayerWriter};
use okd_oci::{Digest, RawManifest, Store, StoreExt, media_type};
use serde_json::{Value, json};

/// One layer to build: files (path, contents) and an optional `ostree.components` annotation.
pub struct LayerSpec {
    pub files: Vec<(String, Vec<u8>)>,
    pub components: Option<String>,
}

pub struct BuiltImage {
    pub manifest: RawManifest,
    pub config_digest: Digest,
    pub layers: Vec<LayerInfo>,
}

fn build_layer(spec: &LayerSpec) -> (Vec<u8>, LayerInfo) {
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in &spec.files {
        let mut prefix = String::new();
        for part in path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if dirs.insert(prefix.clone()) {
                w.add_dir(&prefix, 0o755).unwrap();
            }
        }
    }
    for (path, data) in &spec.files {
        w.add_file(path, 0o644, data).unwrap();
    }
    w.finish().unwrap()
}

/// The layers of a small chunked base OS: the commit layer and three chunks.
pub fn base_layers(tag: &str) -> Vec<LayerSpec> {
    vec![
        LayerSpec {
            files: vec![(
                "sysroot/ostree/repo/config".into(),
                format!("[core]\nmode=bare-split-xattrs\n# {tag}\n").into_bytes(),
            )],
            components: None,
        },
        LayerSpec {
            files: vec![("usr/lib/modules/6.14.0/vmlinuz".into(), b"kernel".to_vec())],
            components: Some("kernel,kernel-core,kernel-modules".into()),
        },
        LayerSpec {
            files: vec![("usr/bin/bash".into(), b"bash".to_vec())],
            components: Some("bash".into()),
        },
        LayerSpec {
            files: vec![("usr/bin/rpm-ostree".into(), b"rpm-ostree".to_vec())],
            components: Some("rpm-ostree, rpm-ostree-libs".into()),
        },
    ]
}

/// Writes an image made of `specs` into `repo` of `store` under `tag`. The first
/// `base_count` layers form the ostree commit (`ostree.final-diffid` names the last of them);
/// `os` false leaves out every ostree label.
pub async fn write_image(
    store: &dyn Store,
    repo: &str,
    tag: &str,
    specs: &[LayerSpec],
    base_count: usize,
    os: bool,
    extra_labels: &[(&str, &str)],
) -> BuiltImage {
    let built: Vec<_> = specs
        .iter()
        .map(|s| {
            let (bytes, info) = build_layer(s);
            (bytes, info, s.components.clone())
        })
        .collect();
    write_layers(store, repo, tag, built, base_count, os, extra_labels).await
}

/// Like [`write_image`], from layers already built (blob, info, `ostree.components`).
pub async fn write_layers(
    store: &dyn Store,
    repo: &str,
    tag: &str,
    built: Vec<(Vec<u8>, LayerInfo, Option<String>)>,
    base_count: usize,
    os: bool,
    extra_labels: &[(&str, &str)],
) -> BuiltImage {
    let mut layers = Vec::new();
    let mut descriptors = Vec::new();
    for (bytes, info, components) in built {
        store
            .put_blob(repo, &info.digest, Bytes::from(bytes))
            .await
            .unwrap();
        let mut d = json!({
            "mediaType": info.media_type,
            "digest": info.digest.to_string(),
            "size": info.size,
        });
        if let Some(c) = &components {
            d["annotations"] = json!({ "ostree.components": c });
        }
        descriptors.push(d);
        layers.push(info);
    }
    let mut labels = serde_json::Map::new();
    if os {
        let final_diffid = layers[base_count - 1].diff_id.to_string();
        for (k, v) in [
            ("ostree.bootable", "true"),
            ("containers.bootc", "1"),
            (
                "ostree.commit",
                "bf556ab10cfd284ce9af1760bb3c58e021eeb53e3dad0a7067fc27cc00005229",
            ),
            ("ostree.final-diffid", final_diffid.as_str()),
            ("ostree.linux", "6.14.0-200.fc42.x86_64"),
            ("org.opencontainers.image.version", "42.20250410.3.0"),
            ("io.openshift.build.versions", "machine-os=42.20250410.3.0"),
            (
                "io.openshift.build.version-display-names",
                "machine-os=Fedora CoreOS",
            ),
        ] {
            labels.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    for (k, v) in extra_labels {
        labels.insert(k.to_string(), Value::String(v.to_string()));
    }
    let history: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(
            |(i, _)| json!({"created": "2025-04-10T00:00:00Z", "created_by": format!("layer {i}")}),
        )
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2025-04-10T00:00:00Z",
        "config": {
            "Labels": labels,
            "Cmd": ["/sbin/init"],
            "StopSignal": "SIGRTMIN+3",
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
        "history": history,
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = Digest::sha256_of(&config_bytes);
    store
        .put_blob(repo, &config_digest, Bytes::from(config_bytes.clone()))
        .await
        .unwrap();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {
            "mediaType": media_type::OCI_CONFIG,
            "digest": config_digest.to_string(),
            "size": config_bytes.len(),
        },
        "layers": descriptors,
    });
    let manifest = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    store
        .write_manifest(repo, &manifest, Some(tag))
        .await
        .unwrap();
    BuiltImage {
        manifest,
        config_digest,
        layers,
    }
}

/// A chunked base OS image (4 layers) in `repo:tag`.
pub async fn write_base_os(store: &dyn Store, repo: &str, tag: &str) -> BuiltImage {
    write_image(store, repo, tag, &base_layers(tag), 4, true, &[]).await
}
