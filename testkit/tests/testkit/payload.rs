//! The synthetic payload generator, checked through what it wrote into a `MemoryStore`.
// A test that meets an unexpected error should fail on the spot, which is what unwrap does.
#![allow(clippy::unwrap_used)]

#[path = "payload/common.rs"]
mod common;
#[path = "payload/formats.rs"]
mod formats;
#[path = "payload/next.rs"]
mod next;

use std::collections::BTreeSet;
use std::io::Read;

use okd_oci::{Digest, ManifestRef, ManifestView, MemoryStore, Store, StoreExt, media_type};
use serde_json::Value;
use testkit::payload::{ComponentKind, ImageFormat, Payload, PayloadError, PayloadSpec, generate};

use common::*;

#[tokio::test]
async fn generates_190_components_of_the_right_kinds() {
    let (store, p) = default_payload().await;
    assert_eq!(p.components.len(), 190);
    assert_eq!(p.operators().count(), 63);
    let count = |k: ComponentKind| p.components.iter().filter(|c| c.kind == k).count();
    assert_eq!(count(ComponentKind::Os), 1);
    assert_eq!(count(ComponentKind::OsExtensions), 1);
    assert_eq!(count(ComponentKind::Operator), 63);
    for name in [
        "cluster-version-operator",
        "machine-config-operator",
        "cli",
        "installer",
        "hyperkube",
        "stream-coreos",
        "stream-coreos-extensions",
        "etcd",
        "console-operator",
        "ovn-kubernetes",
        "cluster-olm-operator",
        "component-063",
        "component-190-operator",
    ] {
        assert!(p.component(name).is_some(), "missing {name}");
    }
    for op in [
        "cluster-version-operator",
        "machine-config-operator",
        "cluster-etcd-operator",
    ] {
        assert!(p.component(op).unwrap().is_operator, "{op}");
    }
    assert!(!p.component("etcd").unwrap().is_operator);

    let multi: Vec<_> = p.components.iter().filter(|c| c.is_multi_arch()).collect();
    assert_eq!(multi.len(), 1);
    let cli = multi[0];
    assert_eq!(cli.name, "cli");
    assert_eq!(cli.media_type, media_type::DOCKER_MANIFEST_LIST);
    let archs: Vec<&str> = cli
        .platforms
        .iter()
        .map(|p| p.architecture.as_str())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    let list = manifest(&store, CONTENT, ManifestRef::Digest(cli.digest.clone())).await;
    match list.view().unwrap() {
        ManifestView::Index(i) => assert_eq!(i.manifests().len(), 2),
        ManifestView::Image(_) => panic!("cli is not a list"),
    }

    let docker = p
        .components
        .iter()
        .filter(|c| c.media_type == media_type::DOCKER_MANIFEST)
        .count();
    let oci = p
        .components
        .iter()
        .filter(|c| c.media_type == media_type::OCI_MANIFEST)
        .count();
    assert!(docker > 100 && oci > 20, "docker {docker}, oci {oci}");
    assert_eq!(
        p.component("cluster-version-operator").unwrap().format,
        ImageFormat::Docker
    );
    assert_eq!(
        p.component("stream-coreos").unwrap().media_type,
        media_type::OCI_MANIFEST
    );
    assert_eq!(p.release.media_type, media_type::DOCKER_MANIFEST);

    // Most images share the base layers.
    let sharing = p
        .components
        .iter()
        .filter(|c| {
            let base: Vec<_> = p.base_layers.iter().map(|l| &l.digest).collect();
            c.layers.iter().map(|l| &l.digest).take(base.len()).eq(base)
        })
        .count();
    assert!(
        sharing >= 185,
        "{sharing} components start with the base layers"
    );
    assert!(p.unique_blob_bytes > 190 * 1024, "{}", p.unique_blob_bytes);
}

#[tokio::test]
async fn every_image_reference_resolves_in_the_store() {
    let (store, p) = default_payload().await;
    let entries = release_entries(&store, &p).await;
    let refs = image_references(&entries);
    assert_eq!(refs["kind"], "ImageStream");
    assert_eq!(refs["apiVersion"], "image.openshift.io/v1");
    assert_eq!(refs["metadata"]["name"], p.version.as_str());
    let tags = refs["spec"]["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 190);
    let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "tags are sorted by name");
    for tag in tags {
        let name = tag["name"].as_str().unwrap();
        assert_eq!(tag["from"]["kind"], "DockerImage");
        let from = tag["from"]["name"].as_str().unwrap();
        let (prefix, digest) = from.split_once('@').expect("by digest");
        assert_eq!(prefix, "quay.io/okd/scos-content");
        let digest: Digest = digest.parse().unwrap();
        let m = manifest(&store, CONTENT, ManifestRef::Digest(digest.clone())).await;
        for blob in m.references().unwrap() {
            if m.is_index() {
                let child =
                    manifest(&store, CONTENT, ManifestRef::Digest(blob.digest.clone())).await;
                for b in child.references().unwrap() {
                    assert_eq!(
                        store.blob_size(CONTENT, &b.digest).await.unwrap(),
                        Some(b.size)
                    );
                }
            } else {
                assert_eq!(
                    store.blob_size(CONTENT, &blob.digest).await.unwrap(),
                    Some(blob.size)
                );
            }
        }
        for t in [name.to_string(), format!("{}-{name}", p.version)] {
            assert_eq!(
                store
                    .manifest_digest(CONTENT, &ManifestRef::Tag(t.clone()))
                    .await
                    .unwrap(),
                Some(digest.clone()),
                "tag {t}"
            );
        }
        // Annotations come from the image's labels.
        let c = p.component(name).unwrap();
        let config_manifest = if m.is_index() {
            manifest(
                &store,
                CONTENT,
                ManifestRef::Digest(c.platforms[0].digest.clone()),
            )
            .await
        } else {
            m
        };
        let config = config_json(&store, CONTENT, &config_manifest).await;
        let labels = &config["config"]["Labels"];
        for key in [
            "io.openshift.build.commit.id",
            "io.openshift.build.commit.ref",
            "io.openshift.build.source-location",
        ] {
            assert_eq!(tag["annotations"][key], labels[key], "{name} {key}");
        }
        assert_eq!(
            tag["annotations"]["io.openshift.build.commit.id"],
            c.commit.as_str()
        );
        assert_eq!(
            labels.get("io.openshift.release.operator").is_some(),
            c.is_operator,
            "{name}"
        );
    }
    let os = tags.iter().find(|t| t["name"] == "stream-coreos").unwrap();
    assert_eq!(
        os["annotations"]["io.openshift.build.versions"],
        "machine-os=9.0.20250530-0"
    );
    assert_eq!(
        os["annotations"]["io.openshift.build.version-display-names"],
        "machine-os=CentOS Stream CoreOS"
    );
}

#[tokio::test]
async fn release_layer_holds_the_expected_files() {
    let (store, p) = default_payload().await;
    let entries = release_entries(&store, &p).await;
    assert_eq!(entries[0].path, "release-manifests");
    assert!(entries[0].is_dir);
    assert_eq!(entries[0].mode, 0o777);
    let files: Vec<&TarEntry> = entries[1..].iter().collect();
    assert_eq!(files[0].path, "release-manifests/image-references");
    assert_eq!(files[1].path, "release-manifests/release-metadata");
    assert_eq!(files.len(), p.release_files.len());
    for (e, f) in files.iter().zip(&p.release_files) {
        assert_eq!(e.path, format!("release-manifests/{}", f.name));
        assert_eq!(e.mode, 0o444, "{}", e.path);
        assert_eq!(String::from_utf8_lossy(&e.data), f.content, "{}", e.path);
    }
    let operator_files: usize = p.operators().map(|o| o.manifests.len()).sum();
    assert_eq!(files.len(), 2 + operator_files);
    // Every manifest is a Kubernetes object, as oc's verifier and the CVO require.
    for e in &files[2..] {
        assert!(e.path.ends_with(".yaml"), "{}", e.path);
        let text = std::str::from_utf8(&e.data).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let v: serde_yaml_ng::Value = serde::Deserialize::deserialize(doc).unwrap();
            assert!(
                v["kind"].as_str().is_some_and(|k| !k.is_empty()),
                "{}",
                e.path
            );
            assert!(
                v["apiVersion"].as_str().is_some_and(|k| !k.is_empty()),
                "{}",
                e.path
            );
        }
        let name = e.path.trim_start_matches("release-manifests/");
        assert!(name.starts_with("0000_"), "{name}");
    }
    // Operators whose files lack the 0000_ prefix are renamed 0000_50_<tag>_<file>.
    let renamed: Vec<_> = p
        .operators()
        .filter(|o| o.manifests.iter().any(|m| !m.name.starts_with("0000_")))
        .collect();
    assert!(!renamed.is_empty());
    for o in renamed {
        for m in &o.manifests {
            let expected = format!("0000_50_{}_{}", o.name, m.name);
            assert!(p.release_file(&expected).is_some(), "{expected}");
        }
    }

    let metadata: Value =
        serde_json::from_str(&p.release_file("release-metadata").unwrap().content).unwrap();
    assert_eq!(metadata["kind"], "cincinnati-metadata-v0");
    assert_eq!(metadata["version"], p.version.as_str());
    assert_eq!(metadata["previous"], serde_json::json!([]));
    assert_eq!(
        metadata["metadata"]["url"],
        "https://github.com/okd-project/okd/releases/tag/4.19.0-okd-scos.1"
    );

    // The release image is the CVO image plus the release layer, with oc's labels and history.
    let release = manifest(
        &store,
        RELEASE,
        ManifestRef::Digest(p.release.digest.clone()),
    )
    .await;
    let cvo = p.component("cluster-version-operator").unwrap();
    let layers: Vec<String> = image_view(&release)
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    let cvo_layers: Vec<String> = cvo.layers.iter().map(|l| l.digest.to_string()).collect();
    assert_eq!(layers[..layers.len() - 1], cvo_layers[..]);
    for l in image_view(&release).layers() {
        assert_eq!(l.media_type().to_string(), media_type::DOCKER_LAYER_GZIP);
    }
    let config = config_json(&store, RELEASE, &release).await;
    assert_eq!(
        config["config"]["Labels"],
        serde_json::json!({
            "io.openshift.release": p.version,
            "io.openshift.release.base-image-digest": cvo.digest.to_string(),
        })
    );
    assert_eq!(
        config["config"]["Entrypoint"][0],
        "/usr/bin/cluster-version-operator"
    );
    let history = config["history"].as_array().unwrap();
    assert_eq!(history.len(), layers.len());
    assert_eq!(history[0]["comment"], "Release image for OpenShift");
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        layers.len()
    );
    let config_text = String::from_utf8(
        store
            .get_blob(RELEASE, &p.release.config.digest, LIMIT)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        config_text.starts_with(
            r#"{"id":"","created":"2025-06-02T09:30:00Z","container_config":{},"config":{"Env":"#
        ),
        "{config_text}"
    );
}

#[tokio::test]
async fn operator_placeholders_are_fully_substituted() {
    let (store, p) = default_payload().await;
    for f in &p.release_files[2..] {
        for placeholder in [
            "placeholder.url.oc.will.replace",
            "quay.io/openshift/origin-",
            "registry.ci.openshift.org/openshift:",
            "0.0.1-snapshot",
        ] {
            assert!(
                !f.content.contains(placeholder),
                "{} still has {placeholder}",
                f.name
            );
        }
    }
    // Operator images carry the placeholders and their own image-references.
    let mut styles = BTreeSet::new();
    for op in p.operators() {
        let refs = op.image_references.as_deref().unwrap();
        let is: serde_yaml_ng::Value = serde_yaml_ng::from_str(refs).unwrap();
        assert_eq!(is["kind"].as_str(), Some("ImageStream"));
        let tags = is["spec"]["tags"].as_sequence().unwrap();
        assert_eq!(tags[0]["name"].as_str(), Some(op.name.as_str()));
        for t in tags {
            let from = t["from"]["name"].as_str().unwrap();
            styles.insert(from.split(['/', ':']).next().unwrap().to_string());
            let target = p.component(t["name"].as_str().unwrap()).unwrap();
            assert!(
                op.manifests.iter().any(|m| m.content.contains(from)),
                "{} never uses {from}",
                op.name
            );
            // In the release every placeholder became the target's pullspec.
            let in_release = op
                .manifests
                .iter()
                .filter(|m| m.content.contains(from))
                .all(|m| {
                    let name = if m.name.starts_with("0000_") {
                        m.name.clone()
                    } else {
                        format!("0000_50_{}_{}", op.name, m.name)
                    };
                    p.release_file(&name)
                        .unwrap()
                        .content
                        .contains(&target.pullspec)
                });
            assert!(in_release, "{} -> {}", op.name, target.name);
        }
        assert!(
            op.manifests
                .iter()
                .any(|m| m.content.contains("0.0.1-snapshot"))
        );
        // The operator's top layer is exactly manifests/.
        let last = op.layers.last().unwrap();
        let entries = read_layer(&store, CONTENT, &last.digest).await;
        assert_eq!(entries[0].path, "manifests");
        let files: BTreeSet<String> = entries[1..].iter().map(|e| e.path.clone()).collect();
        let mut expected: BTreeSet<String> = op
            .manifests
            .iter()
            .map(|m| format!("manifests/{}", m.name))
            .collect();
        expected.insert("manifests/image-references".to_string());
        assert_eq!(files, expected, "{}", op.name);
    }
    assert_eq!(
        styles,
        BTreeSet::from([
            "placeholder.url.oc.will.replace.this.example.org".to_string(),
            "placeholder.url.oc.will.replace.this.org".to_string(),
            "quay.io".to_string(),
            "registry.ci.openshift.org".to_string(),
        ])
    );
    // Version substitution: the release name and component versions.
    let kas = p
        .release_files
        .iter()
        .find(|f| f.name.contains("kube-apiserver") && f.content.contains("kind: ClusterOperator"))
        .unwrap();
    assert!(
        kas.content.contains("version: \"4.19.0-okd-scos.1\""),
        "{}",
        kas.content
    );
    assert!(
        kas.content.contains("version: \"1.32.5\""),
        "{}",
        kas.content
    );
    let osimageurl = p
        .release_file("0000_80_machine-config_04_osimageurl.yaml")
        .unwrap();
    let os = p.component("stream-coreos").unwrap();
    assert!(
        osimageurl
            .content
            .contains(&format!("baseOSContainerImage: \"{}\"", os.pullspec))
    );
    assert!(
        osimageurl
            .content
            .contains("releaseVersion: 4.19.0-okd-scos.1\n")
    );
}

#[tokio::test]
async fn same_seed_gives_the_same_digests() {
    let spec = small().components(80);
    let (a, b, c) = (MemoryStore::new(), MemoryStore::new(), MemoryStore::new());
    let first = generate(&a, &spec).await.unwrap();
    // Build order does not matter: one image at a time gives the same digests.
    let second = generate(&b, &spec.clone().concurrency(1)).await.unwrap();
    assert_eq!(first.release.digest, second.release.digest);
    let digests = |p: &Payload| {
        p.components
            .iter()
            .map(|c| c.digest.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(digests(&first), digests(&second));
    assert_eq!(first.release_files, second.release_files);
    let other = generate(&c, &spec.clone().seed(2)).await.unwrap();
    assert_ne!(first.release.digest, other.release.digest);
    assert_eq!(first.component_names(), other.component_names());
}

#[tokio::test]
async fn invalid_specs_are_refused_before_writing() {
    let store = MemoryStore::new();
    for (spec, field) in [
        (small().version("4.19.0+build.1"), "version"),
        (small().version("not-semver"), "version"),
        (small().components(0), "components"),
        (small().content_repo("Okd/Content"), "content_repo"),
        (
            small().pullspec_prefix("quay.io/okd/scos-content:latest"),
            "pullspec_prefix",
        ),
        (small().previous(["4.18"]), "previous"),
    ] {
        let err = generate(&store, &spec).await.unwrap_err();
        assert!(
            matches!(&err, PayloadError::InvalidSpec { field: f, .. } if *f == field),
            "{field}: {err}"
        );
    }
    assert_eq!(store.stats().blobs_written, 0);
}

#[tokio::test]
async fn small_payloads_stay_coherent() {
    let store = MemoryStore::new();
    let p = generate(&store, &small().components(1).multi_arch(false))
        .await
        .unwrap();
    assert_eq!(p.component_names(), ["cluster-version-operator"]);
    let p = generate(&store, &small().components(5)).await.unwrap();
    assert_eq!(p.components.len(), 5);
    let mco = p.component("machine-config-operator").unwrap();
    // Only tags present in the payload are referenced.
    assert_eq!(
        mco.references,
        [
            "machine-config-operator",
            "stream-coreos",
            "stream-coreos-extensions"
        ]
    );
}

#[tokio::test]
async fn large_layers_stream_through_a_file_and_keep_their_digest() {
    let store = MemoryStore::new();
    let spec = PayloadSpec::new()
        .components(1)
        .multi_arch(false)
        .base_layers(1)
        .base_layer_size(1024)
        .layer_size(12 * 1024 * 1024);
    let p = generate(&store, &spec).await.unwrap();
    let cvo = p.component("cluster-version-operator").unwrap();
    let big = &cvo.layers[1];
    assert!(big.size > 9 * 1024 * 1024, "{}", big.size);
    let data = store.get_blob(CONTENT, &big.digest, LIMIT).await.unwrap();
    assert_eq!(data.len() as u64, big.size);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&data[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(Digest::sha256_of(&plain), big.diff_id);
    // The data is incompressible: gzip saves (almost) nothing.
    assert!(
        data.len() as f64 > 0.99 * plain.len() as f64,
        "{} of {}",
        data.len(),
        plain.len()
    );
    assert!(p.unique_blob_bytes > 9 * 1024 * 1024);
}
