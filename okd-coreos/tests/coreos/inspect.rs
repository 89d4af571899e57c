//! Inspection of OS images built in a MemoryStore, and of the label sets real OKD OS images
//! carry.

use crate::common;

use common::{LayerSpec, base_layers, write_base_os, write_image};
use okd_coreos::inspect::{LayerRole, inspect, inspect_parts};
use okd_coreos::{Architecture, Error, FcosStream, OsVersion, Variant};
use okd_oci::{Digest, ManifestRef, MemoryStore, RawManifest, Store, media_type};
use serde_json::json;

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

#[tokio::test]
async fn base_os_image_is_all_base() {
    let store = MemoryStore::new();
    let built = write_base_os(&store, "fedora/fedora-coreos", "stable").await;
    let info = inspect(&store, "fedora/fedora-coreos", &tag("stable"), None)
        .await
        .unwrap();
    assert!(info.is_os_image());
    assert!(!info.is_derived());
    assert_eq!(info.manifest_digest, *built.manifest.digest());
    assert_eq!(info.config_digest, built.config_digest);
    let roles: Vec<LayerRole> = info.layers.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        [
            LayerRole::OstreeCommit,
            LayerRole::Chunk,
            LayerRole::Chunk,
            LayerRole::Chunk
        ]
    );
    for (layer, built) in info.layers.iter().zip(&built.layers) {
        assert_eq!(layer.digest, built.digest);
        assert_eq!(layer.diff_id, built.diff_id);
        assert_eq!(layer.size, built.size);
    }
    assert!(info.layers[0].components.is_empty());
    assert_eq!(
        info.layers[1].components,
        ["kernel", "kernel-core", "kernel-modules"]
    );
    assert_eq!(info.layers[3].components, ["rpm-ostree", "rpm-ostree-libs"]);
    assert!(info.components().contains("bash"));
    assert_eq!(info.ostree.linux.as_deref(), Some("6.14.0-200.fc42.x86_64"));
    assert_eq!(
        info.ostree.final_diffid.as_ref(),
        Some(&built.layers[3].diff_id)
    );
    let mos = info.machine_os.as_ref().unwrap();
    assert_eq!(mos.version, "42.20250410.3.0");
    assert_eq!(mos.display_name.as_deref(), Some("Fedora CoreOS"));
    let Some(OsVersion::Fcos(v)) = &mos.parsed else {
        panic!("not an FCOS version: {mos:?}")
    };
    assert_eq!(v.stream(), Some(FcosStream::Stable));
    assert_eq!(info.os_version(), Some("42.20250410.3.0"));
    assert_eq!(info.architecture.as_deref(), Some("amd64"));
}

#[tokio::test]
async fn derived_layers_come_after_the_final_diffid() {
    let store = MemoryStore::new();
    let mut specs = base_layers("x");
    specs.push(LayerSpec {
        files: vec![("etc/crio/crio.conf".into(), b"[crio]\n".to_vec())],
        components: None,
    });
    specs.push(LayerSpec {
        files: vec![("usr/share/openshift/base/meta.json".into(), b"{}".to_vec())],
        components: None,
    });
    let built = write_image(&store, "okd/node", "4.19", &specs, 4, true, &[]).await;
    let info = inspect(&store, "okd/node", &tag("4.19"), None)
        .await
        .unwrap();
    assert!(info.is_derived());
    assert_eq!(info.base_layers().count(), 4);
    let derived: Vec<&Digest> = info.derived_layers().map(|l| &l.digest).collect();
    assert_eq!(derived, [&built.layers[4].digest, &built.layers[5].digest]);
}

#[tokio::test]
async fn non_os_image_has_unknown_roles_and_is_refused_when_required() {
    let store = MemoryStore::new();
    write_image(
        &store,
        "library/ubi",
        "9",
        &base_layers("ubi"),
        4,
        false,
        &[],
    )
    .await;
    let info = inspect(&store, "library/ubi", &tag("9"), None)
        .await
        .unwrap();
    assert!(!info.is_os_image());
    assert!(info.layers.iter().all(|l| l.role == LayerRole::Unknown));
    assert_eq!(info.machine_os, None);
    let err = info.require_os_image().unwrap_err();
    assert!(matches!(err, Error::NotAnOsImage { .. }), "{err}");
    assert!(err.to_string().contains("memory/library/ubi:9"), "{err}");
}

#[tokio::test]
async fn index_needs_an_architecture_unless_it_has_one_image() {
    let store = MemoryStore::new();
    let amd = write_base_os(&store, "okd/node", "amd").await;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [
            {"mediaType": media_type::OCI_MANIFEST, "digest": amd.manifest.digest().to_string(),
             "size": amd.manifest.size(), "platform": {"architecture": "amd64", "os": "linux"}},
        ],
    });
    let raw = RawManifest::new(media_type::OCI_INDEX, serde_json::to_vec(&index).unwrap()).unwrap();
    store
        .write_manifest("okd/node", &raw, Some("single"))
        .await
        .unwrap();
    let info = inspect(&store, "okd/node", &tag("single"), None)
        .await
        .unwrap();
    assert_eq!(info.manifest_digest, *amd.manifest.digest());
    let info = inspect(
        &store,
        "okd/node",
        &tag("single"),
        Some(Architecture::X86_64),
    )
    .await
    .unwrap();
    assert_eq!(info.manifest_digest, *amd.manifest.digest());
    let err = inspect(
        &store,
        "okd/node",
        &tag("single"),
        Some(Architecture::S390x),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::ArchitectureNotInIndex { architecture, .. } if architecture == "s390x"),
        "{err}"
    );
    assert!(err.to_string().contains("amd64"), "{err}");

    // Two entries and no architecture chosen.
    let mut two = index.clone();
    let mut arm = two["manifests"][0].clone();
    arm["platform"]["architecture"] = json!("arm64");
    two["manifests"].as_array_mut().unwrap().push(arm);
    let raw = RawManifest::new(media_type::OCI_INDEX, serde_json::to_vec(&two).unwrap()).unwrap();
    store
        .write_manifest("okd/node", &raw, Some("multi"))
        .await
        .unwrap();
    let err = inspect(&store, "okd/node", &tag("multi"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NeedsArchitecture { .. }), "{err}");
    assert!(err.to_string().contains("amd64, arm64"), "{err}");
}

/// A manifest with made-up layer descriptors and a config holding `labels` and `diff_ids`;
/// inspection reads only these two documents.
fn parts(labels: &serde_json::Value, diff_ids: &[String]) -> (RawManifest, Vec<u8>) {
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let layers: Vec<_> = diff_ids
        .iter()
        .map(|d| json!({"mediaType": media_type::OCI_LAYER_GZIP, "digest": d, "size": 1}))
        .collect();
    let manifest = json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG,
                   "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": layers,
    });
    (
        RawManifest::new(
            media_type::OCI_MANIFEST,
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap(),
        config,
    )
}

#[test]
fn real_okd_os_image_labels() {
    let samples: serde_json::Value =
        serde_json::from_slice(include_bytes!("../data/okd-os-image-labels.json")).unwrap();
    let filler = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));

    let scos = &samples["centos-stream-coreos-9 @ registry.ci.openshift.org/origin/release-scos:4.13.0-0.okd-scos-2023-02-13-084859"];
    let final_diffid = scos["ostree.final-diffid"].as_str().unwrap().to_string();
    let diff_ids = vec![filler(1), filler(2), final_diffid, filler(3)];
    let (m, c) = parts(scos, &diff_ids);
    let info = inspect_parts("scos", &m, &c).unwrap();
    assert!(info.is_os_image());
    assert!(
        !info.ostree.bootc,
        "the 4.13 SCOS image predates containers.bootc"
    );
    let roles: Vec<LayerRole> = info.layers.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        [
            LayerRole::OstreeCommit,
            LayerRole::Chunk,
            LayerRole::Chunk,
            LayerRole::Derived
        ]
    );
    assert_eq!(info.variant(), Some(Variant::Scos));
    let mos = info.machine_os.unwrap();
    assert_eq!(mos.version, "413.9.202302130811-0");
    assert_eq!(mos.display_name.as_deref(), Some("CentOS Stream CoreOS"));
    let Some(OsVersion::Cosa(v)) = mos.parsed else {
        panic!("not a cosa version")
    };
    assert_eq!(v.openshift_version(), Some((4, 13)));
    assert_eq!(v.el_version(), Some((9, None)));
    assert_eq!(info.ostree.linux.as_deref(), Some("5.14.0-252.el9.x86_64"));

    let fcos = &samples["fedora-coreos @ registry.ci.openshift.org/origin/release:4.13.0-0.okd-2023-02-13-013048"];
    let final_diffid = fcos["ostree.final-diffid"].as_str().unwrap().to_string();
    let (m, c) = parts(fcos, &[filler(1), final_diffid, filler(4), filler(5)]);
    let info = inspect_parts("fcos", &m, &c).unwrap();
    assert_eq!(info.variant(), Some(Variant::Fcos));
    assert_eq!(info.derived_layers().count(), 2);
    let mos = info.machine_os.unwrap();
    assert_eq!(mos.display_name.as_deref(), Some("Fedora CoreOS"));
    let Some(OsVersion::Fcos(v)) = mos.parsed else {
        panic!("not an FCOS version")
    };
    assert_eq!(v.stream(), Some(FcosStream::TestingDevel));
    assert_eq!(info.labels["version"], "37.20230211.20.0");
}

#[test]
fn contradictory_images_are_refused_with_the_reason() {
    let filler = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let labels = json!({"ostree.bootable": "true", "ostree.final-diffid": filler(9)});
    let (m, c) = parts(&labels, &[filler(1), filler(2)]);
    let err = inspect_parts("img", &m, &c).unwrap_err();
    assert!(matches!(err, Error::InconsistentOsImage { .. }), "{err}");
    assert!(err.to_string().contains(&filler(9)), "{err}");

    let labels = json!({"ostree.bootable": "true", "ostree.final-diffid": "sha256:short"});
    let (m, c) = parts(&labels, &[filler(1)]);
    assert!(
        inspect_parts("img", &m, &c)
            .unwrap_err()
            .to_string()
            .contains("sha256:short")
    );

    let labels = json!({"io.openshift.build.versions": "machine-os"});
    let (m, c) = parts(&labels, &[filler(1)]);
    let err = inspect_parts("img", &m, &c).unwrap_err();
    assert!(
        err.to_string().contains("io.openshift.build.versions"),
        "{err}"
    );

    let (m, _) = parts(&json!({}), &[filler(1), filler(2)]);
    let fewer = serde_json::to_vec(&json!({"rootfs": {"type": "layers", "diff_ids": [filler(1)]}}))
        .unwrap();
    let err = inspect_parts("img", &m, &fewer).unwrap_err();
    assert!(
        err.to_string().contains("2 layers but the config lists 1"),
        "{err}"
    );

    let err = inspect_parts("img", &m, b"{\"rootfs\": 5}").unwrap_err();
    assert!(matches!(err, Error::Json { .. }), "{err}");
}
