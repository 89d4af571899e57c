//! Layering: derived OS images written to a MemoryStore and to an OCI layout, read back with
//! okd-coreos, skopeo and umoci.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::{base_layers, write_base_os, write_image};
use okd_coreos::Error;
use okd_coreos::Variant;
use okd_coreos::extensions::{EXTENSIONS_JSON, ExtensionsImage};
use okd_coreos::inspect::inspect;
use okd_coreos::layer_source::{DirSource, FileListSource, TarballSource};
use okd_coreos::layering::LayeredImage;
use okd_oci::layer::{Compression, LayerWriter};
use okd_oci::{LayoutStore, ManifestRef, MemoryStore, Store, StoreExt};
use testkit::tools::{require, run_command};

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

fn overlay(dir: &Path) {
    std::fs::create_dir_all(dir.join("etc/NetworkManager/conf.d")).unwrap();
    std::fs::write(
        dir.join("etc/NetworkManager/conf.d/99-okd.conf"),
        b"[main]\ndhcp=dhclient\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("usr/lib/systemd/system")).unwrap();
    std::fs::write(
        dir.join("usr/lib/systemd/system/okd-selinux.service"),
        b"[Unit]\nDescription=OKD SELinux fixes\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../../usr/lib/systemd/system/okd-selinux.service",
        dir.join("etc/NetworkManager/conf.d/link-inside"),
    )
    .unwrap();
}

#[tokio::test]
async fn layered_image_keeps_the_base_and_sets_machine_os_labels() {
    let store = MemoryStore::new();
    let base = write_base_os(&store, "fedora/fedora-coreos", "stable").await;
    let dir = tempfile::tempdir().unwrap();
    overlay(dir.path());
    let before = store.stats();

    let out = LayeredImage::new(&store, "fedora/fedora-coreos", &tag("stable"))
        .layer(DirSource::new(dir.path()))
        .layer(FileListSource::new().bytes("etc/okd-release", b"4.15\n".to_vec(), 0o644))
        .machine_os("415.39.0")
        .display_name_of(&Variant::Fcos)
        .label("io.openshift.release.operator", "true")
        .write_to(&store, "okd/fedora-coreos", Some("4.15"))
        .await
        .unwrap();

    // Base layers mounted, not written again: only the two new layers and the config moved.
    let after = store.stats();
    assert_eq!(after.blobs_mounted - before.blobs_mounted, 4);
    assert_eq!(after.blobs_written - before.blobs_written, 3);
    assert_eq!(after.manifests_written - before.manifests_written, 1);

    let info = inspect(&store, "okd/fedora-coreos", &tag("4.15"), None)
        .await
        .unwrap();
    assert_eq!(info.manifest_digest, *out.manifest.digest());
    let base_digests: Vec<_> = base.layers.iter().map(|l| l.digest.clone()).collect();
    let kept: Vec<_> = info.base_layers().map(|l| l.digest.clone()).collect();
    assert_eq!(kept, base_digests, "base layers are the base's, unchanged");
    let added: Vec<_> = info.derived_layers().map(|l| l.digest.clone()).collect();
    assert_eq!(
        added,
        out.layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        info.layers[1].components,
        ["kernel", "kernel-core", "kernel-modules"]
    );

    // Labels: machine-os set, the ostree labels of the base untouched.
    let l = &info.labels;
    assert_eq!(l["io.openshift.build.versions"], "machine-os=415.39.0");
    assert_eq!(
        l["io.openshift.build.version-display-names"],
        "machine-os=Fedora CoreOS"
    );
    assert_eq!(l["org.opencontainers.image.version"], "415.39.0");
    assert_eq!(l["io.openshift.release.operator"], "true");
    assert_eq!(l["ostree.final-diffid"], base.layers[3].diff_id.to_string());
    assert_eq!(l["ostree.bootable"], "true");
    assert_eq!(l["containers.bootc"], "1");
    assert_eq!(l["ostree.linux"], "6.14.0-200.fc42.x86_64");
    let mos = info.machine_os.unwrap();
    assert_eq!(mos.version, "415.39.0");
    assert_eq!(mos.display_name.as_deref(), Some("Fedora CoreOS"));

    // One history entry per added layer, naming its source; the base's entries kept.
    let config: serde_json::Value = serde_json::from_slice(
        &store
            .get_blob("okd/fedora-coreos", &info.config_digest, 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    let history = config["history"].as_array().unwrap();
    assert_eq!(history.len(), 6);
    assert_eq!(history[0]["created_by"], "layer 0");
    assert_eq!(
        history[4]["created_by"],
        format!("dir {}", dir.path().display())
    );
    assert_eq!(history[5]["created_by"], "files etc/okd-release");
    assert_eq!(
        config["created"], "2025-04-10T00:00:00Z",
        "the base's creation time"
    );
}

#[tokio::test]
async fn same_inputs_give_the_same_digest_and_same_repo_writes_no_base_blob() {
    let a = MemoryStore::new();
    let b = MemoryStore::new();
    write_base_os(&a, "os", "base").await;
    write_base_os(&b, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    overlay(dir.path());
    fn build<'a>(store: &'a MemoryStore, dir: &Path) -> LayeredImage<'a> {
        LayeredImage::new(store, "os", &tag("base"))
            .layer(DirSource::new(dir).prefix("usr/share/okd"))
            .machine_os("9.6.20250701-0")
            .display_name_of(&Variant::Rhcos)
    }
    let before = a.stats();
    let out_a = build(&a, dir.path())
        .write_to(&a, "os", Some("layered"))
        .await
        .unwrap();
    let after = a.stats();
    assert_eq!(
        after.blobs_mounted, before.blobs_mounted,
        "same repository: nothing to mount"
    );
    assert_eq!(
        after.blobs_written - before.blobs_written,
        2,
        "one layer and the config"
    );
    let out_b = build(&b, dir.path())
        .write_to(&b, "elsewhere", None)
        .await
        .unwrap();
    assert_eq!(out_a.manifest.digest(), out_b.manifest.digest());
    assert_eq!(out_a.manifest.bytes(), out_b.manifest.bytes());
}

#[tokio::test]
async fn layering_on_a_layered_image_keeps_other_build_versions() {
    let store = MemoryStore::new();
    write_image(
        &store,
        "os",
        "base",
        &base_layers("b"),
        4,
        true,
        &[(
            "io.openshift.build.versions",
            "kubernetes=1.32.1,machine-os=old",
        )],
    )
    .await;
    let out = LayeredImage::new(&store, "os", &tag("base"))
        .machine_os("9.6.20250701-0")
        .keep_oci_version()
        .write_to(&store, "os", Some("relabelled"))
        .await
        .unwrap();
    assert!(out.layers.is_empty());
    let info = inspect(&store, "os", &tag("relabelled"), None)
        .await
        .unwrap();
    assert_eq!(
        info.labels["io.openshift.build.versions"],
        "kubernetes=1.32.1,machine-os=9.6.20250701-0"
    );
    assert_eq!(
        info.labels["org.opencontainers.image.version"],
        "42.20250410.3.0"
    );
    assert!(!info.is_derived());
}

#[tokio::test]
async fn refuses_a_non_os_base_unless_forced() {
    let store = MemoryStore::new();
    write_image(&store, "ubi", "9", &base_layers("ubi"), 4, false, &[]).await;
    let files = FileListSource::new().bytes("etc/x", b"x".to_vec(), 0o644);
    let err = LayeredImage::new(&store, "ubi", &tag("9"))
        .layer(files.clone())
        .write_to(&store, "out", Some("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotAnOsImage { .. }), "{err}");
    assert!(err.to_string().contains("memory/ubi:9"), "{err}");
    assert!(
        store.list_tags("out").await.unwrap().is_empty(),
        "nothing written"
    );

    LayeredImage::new(&store, "ubi", &tag("9"))
        .layer(files)
        .force_non_os_base()
        .write_to(&store, "out", Some("x"))
        .await
        .unwrap();
    assert_eq!(store.list_tags("out").await.unwrap(), ["x"]);
}

#[tokio::test]
async fn refuses_a_symlink_that_escapes_the_layer_directory() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    overlay(dir.path());
    let link = dir.path().join("etc/passwd-link");
    std::os::unix::fs::symlink("../../../etc/passwd", &link).unwrap();
    let before = store.stats();
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .layer(DirSource::new(dir.path()))
        .machine_os("9.0.20250510-0")
        .write_to(&store, "os", Some("bad"))
        .await
        .unwrap_err();
    match &err {
        Error::SymlinkEscapes { path, root, .. } => {
            assert_eq!(path, &link);
            assert_eq!(root, dir.path());
        }
        other => panic!("expected SymlinkEscapes, got {other}"),
    }
    assert!(err.to_string().contains("passwd-link"), "{err}");
    assert_eq!(
        store.stats().blobs_written,
        before.blobs_written,
        "nothing written"
    );
    assert_eq!(store.list_tags("os").await.unwrap(), ["base"]);

    // An absolute target is resolved inside the image, not on the builder's machine: kept,
    // and reported when the image does not have it.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let out = LayeredImage::new(&store, "os", &tag("base"))
        .layer(DirSource::new(dir.path()))
        .write_to(&store, "os", Some("linked"))
        .await
        .unwrap();
    assert!(
        out.lint
            .warnings()
            .any(|f| f.rule == "dangling-link" && f.path == "etc/passwd-link"),
        "{:?}",
        out.lint
    );
}

#[tokio::test]
async fn refuses_changes_to_base_os_labels_and_bad_paths() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    for key in ["ostree.final-diffid", "containers.bootc", "ostree.commit"] {
        let err = LayeredImage::new(&store, "os", &tag("base"))
            .label(key, "x")
            .write_to(&store, "os", Some("bad"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidLayering { .. }), "{err}");
        assert!(err.to_string().contains(key), "{err}");
    }
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .remove_label("ostree.bootable")
        .write_to(&store, "os", Some("bad"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ostree.bootable"), "{err}");

    for bad in ["/etc/x", "../x", "etc/../x", ""] {
        let err = LayeredImage::new(&store, "os", &tag("base"))
            .layer(FileListSource::new().bytes(bad, b"x".to_vec(), 0o644))
            .write_to(&store, "os", Some("bad"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidLayerPath { .. }),
            "{bad}: {err}"
        );
    }
    // Four-number FCOS versions are not semantic versions; release tooling would refuse them.
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .machine_os("44.20260707.3.1")
        .write_to(&store, "os", Some("bad"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidLayering { .. }), "{err}");
    assert!(err.to_string().contains("to_component_version"), "{err}");
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .display_name("Fedora CoreOS; rm -rf")
        .write_to(&store, "os", Some("bad"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rm -rf"), "{err}");
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .machine_os("a,b")
        .write_to(&store, "os", Some("bad"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a,b"), "{err}");
    assert_eq!(store.list_tags("os").await.unwrap(), ["base"]);
}

#[tokio::test]
async fn prebuilt_tarball_and_file_from_disk() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    // Under /usr, and with the base's mode for `usr`: the tarball needs no placement and is
    // used as it is.
    w.add_dir("usr", 0o755).unwrap();
    w.add_dir("usr/libexec", 0o755).unwrap();
    w.add_file("usr/libexec/tool", 0o755, b"#!/bin/sh\n")
        .unwrap();
    let (bytes, info) = w.finish().unwrap();
    let tarball = dir.path().join("layer.tar.gz");
    std::fs::write(&tarball, &bytes).unwrap();
    let on_disk = dir.path().join("chrony.conf");
    std::fs::write(&on_disk, b"pool 2.fedora.pool.ntp.org iburst\n").unwrap();

    let out = LayeredImage::new(&store, "os", &tag("base"))
        .layer(TarballSource::new(&tarball))
        .layer(FileListSource::new().file("etc/chrony.conf", &on_disk, 0o644))
        .write_to(&store, "os", Some("t"))
        .await
        .unwrap();
    assert_eq!(out.layers[0].digest, info.digest);
    assert_eq!(out.layers[0].diff_id, info.diff_id);

    let err = LayeredImage::new(&store, "os", &tag("base"))
        .layer(FileListSource::new().file("etc/missing", dir.path().join("missing"), 0o644))
        .write_to(&store, "os", Some("t2"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn extensions_image() {
    let store = MemoryStore::new();
    write_image(
        &store,
        "centos",
        "stream10",
        &base_layers("c"),
        4,
        false,
        &[],
    )
    .await;
    let rpms = tempfile::tempdir().unwrap();
    std::fs::create_dir(rpms.path().join("repodata")).unwrap();
    std::fs::write(rpms.path().join("repodata/repomd.xml"), b"<repomd/>").unwrap();
    std::fs::write(rpms.path().join("kernel-rt-core.rpm"), b"rpm").unwrap();
    let out = ExtensionsImage::new(&store, "centos", &tag("stream10"))
        .rpms(rpms.path())
        .extension("kernel-rt-core", "6.12.0-55.el10.x86_64")
        .machine_os("10.0.20250628-0")
        .display_name_of(&Variant::Scos)
        .write_to(&store, "okd/stream-coreos-extensions", Some("4.20"))
        .await
        .unwrap();
    assert_eq!(out.layers.len(), 2);
    let info = inspect(&store, "okd/stream-coreos-extensions", &tag("4.20"), None)
        .await
        .unwrap();
    assert_eq!(info.labels["io.openshift.os.extensions"], "true");
    assert_eq!(
        info.labels["io.openshift.build.version-display-names"],
        "machine-os=CentOS Stream CoreOS"
    );
    assert!(!info.is_os_image());

    let files = |digest| {
        let store = &store;
        async move {
            let blob = store
                .get_blob("okd/stream-coreos-extensions", digest, 1 << 20)
                .await
                .unwrap();
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
            let mut out = BTreeMap::new();
            for entry in archive.entries().unwrap() {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().display().to_string();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                out.insert(path, data);
            }
            out
        }
    };
    let rpm_layer = files(&info.layers[4].digest).await;
    assert_eq!(
        rpm_layer["usr/share/rpm-ostree/extensions/kernel-rt-core.rpm"],
        b"rpm"
    );
    assert_eq!(
        rpm_layer["usr/share/rpm-ostree/extensions/repodata/repomd.xml"],
        b"<repomd/>"
    );
    let index_layer = files(&info.layers[5].digest).await;
    let index: serde_json::Value = serde_json::from_slice(&index_layer[EXTENSIONS_JSON]).unwrap();
    assert_eq!(
        index,
        serde_json::json!({"kernel-rt-core": "6.12.0-55.el10.x86_64"})
    );
}

#[tokio::test]
async fn skopeo_and_umoci_read_a_layered_image_in_a_layout() {
    let skopeo = require("skopeo");
    let umoci = require("umoci");
    let root = tempfile::tempdir().unwrap();
    let layout_dir = root.path().join("layout");
    let layout = LayoutStore::create(&layout_dir).await.unwrap();
    // The base lives in the layout's unnamed repository, as `skopeo copy … oci:DIR:TAG` puts it.
    let base = write_base_os(&layout, "", "base").await;
    let dir = root.path().join("overlay");
    overlay(&dir);
    let before = layout.stats();
    let out = LayeredImage::new(&layout, "", &tag("base"))
        .layer(DirSource::new(&dir))
        .layer(FileListSource::new().bytes("etc/okd-release", b"4.19\n".to_vec(), 0o644))
        .machine_os("9.0.20250510-0")
        .display_name_of(&Variant::Scos)
        .write_to(&layout, "", Some("layered"))
        .await
        .unwrap();
    let after = layout.stats();
    assert_eq!(
        after.blobs_written - before.blobs_written,
        3,
        "2 layers and the config only"
    );

    let image = format!("oci:{}:layered", layout_dir.display());
    let inspected: serde_json::Value = serde_json::from_slice(&run_command(
        Command::new(&skopeo).args(["inspect", &image]),
    ))
    .unwrap();
    let labels: BTreeMap<String, String> =
        serde_json::from_value(inspected["Labels"].clone()).unwrap();
    assert_eq!(
        labels["io.openshift.build.versions"],
        "machine-os=9.0.20250510-0"
    );
    assert_eq!(
        labels["io.openshift.build.version-display-names"],
        "machine-os=CentOS Stream CoreOS"
    );
    assert_eq!(
        labels["ostree.final-diffid"],
        base.layers[3].diff_id.to_string()
    );
    let layers = inspected["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 6);
    assert_eq!(layers[0], base.layers[0].digest.to_string());
    assert_eq!(layers[5], out.layers[1].digest.to_string());
    let raw = run_command(Command::new(&skopeo).args(["inspect", "--raw", &image]));
    assert_eq!(
        raw.as_slice(),
        out.manifest.bytes().as_ref(),
        "skopeo reads our exact bytes"
    );

    let bundle = root.path().join("bundle");
    run_command(Command::new(&umoci).args([
        "unpack",
        "--rootless",
        "--image",
        &format!("{}:layered", layout_dir.display()),
        bundle.to_str().unwrap(),
    ]));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read(rootfs.join("etc/okd-release")).unwrap(),
        b"4.19\n"
    );
    assert_eq!(
        std::fs::read(rootfs.join("etc/NetworkManager/conf.d/99-okd.conf")).unwrap(),
        b"[main]\ndhcp=dhclient\n"
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("etc/NetworkManager/conf.d/link-inside")).unwrap(),
        Path::new("../../../usr/lib/systemd/system/okd-selinux.service")
    );
    assert_eq!(
        std::fs::read(rootfs.join("usr/bin/bash")).unwrap(),
        b"bash",
        "base content"
    );
    assert!(rootfs.join("sysroot/ostree/repo/config").is_file());
}

#[cfg(feature = "registry")]
#[tokio::test]
async fn layering_in_a_registry_mounts_the_base_layers() {
    let skopeo = require("skopeo");
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let host = registry.host();
    let store = testkit::stores::plain_store(&registry);
    let base = write_base_os(&store, "fedora/fedora-coreos", "stable").await;
    let before = store.stats();
    let out = LayeredImage::new(&store, "fedora/fedora-coreos", &tag("stable"))
        .layer(FileListSource::new().bytes("etc/okd-release", b"4.19\n".to_vec(), 0o644))
        .machine_os("9.0.20250510-0")
        .display_name_of(&Variant::Scos)
        .write_to(&store, "okd/node", Some("4.19"))
        .await
        .unwrap();
    let after = store.stats();
    assert_eq!(
        after.blobs_mounted - before.blobs_mounted,
        4,
        "every base layer mounted from the base repository"
    );
    assert_eq!(
        after.blobs_written - before.blobs_written,
        2,
        "only the new layer and the config uploaded"
    );

    let inspected: serde_json::Value =
        serde_json::from_slice(&run_command(Command::new(&skopeo).args([
            "inspect",
            "--tls-verify=false",
            &format!("docker://{host}/okd/node:4.19"),
        ])))
        .unwrap();
    assert_eq!(
        inspected["Digest"].as_str(),
        Some(out.manifest.digest().to_string().as_str())
    );
    assert_eq!(
        inspected["Labels"]["io.openshift.build.versions"],
        "machine-os=9.0.20250510-0"
    );
    let layers = inspected["Layers"].as_array().unwrap();
    assert_eq!(layers[3], base.layers[3].digest.to_string());
    assert_eq!(layers.len(), 5);
}

#[tokio::test]
async fn bootc_labels_and_stream_class_on_a_base_with_ostree_bootable_only() {
    use crate::coreos_base::write_coreos_base;
    use okd_coreos::labels;
    let store = MemoryStore::new();
    write_coreos_base(&store, "fcos", "stable").await;
    // The synthetic base has containers.bootc and ostree.linux; a copy without them:
    let info = inspect(&store, "fcos", &tag("stable"), None).await.unwrap();
    let plain = okd_oci::append::Append::new(
        &store,
        "fcos",
        &ManifestRef::Digest(info.manifest_digest.clone()),
    )
    .remove_label(labels::CONTAINERS_BOOTC)
    .remove_label(labels::OSTREE_LINUX)
    .write_to(&store, "fcos", Some("bootable-only"))
    .await
    .unwrap();
    let out = LayeredImage::new(&store, "fcos", &ManifestRef::Digest(plain.digest().clone()))
        .add_bootc_labels()
        .stream_class("rhel-9")
        .write_to(&store, "okd/node", Some("labelled"))
        .await
        .unwrap();
    let node = inspect(&store, "okd/node", &tag("labelled"), None)
        .await
        .unwrap();
    assert!(node.ostree.bootc && node.ostree.bootable);
    assert_eq!(node.ostree.linux.as_deref(), Some("6.14.0"));
    assert_eq!(
        node.labels.get(labels::OS_STREAMCLASS).map(String::as_str),
        Some("rhel-9")
    );
    assert_eq!(
        out.labels.get(labels::CONTAINERS_BOOTC),
        Some(&Some("1".to_string()))
    );
    // A base that already has them keeps its own values.
    let kept = LayeredImage::new(&store, "fcos", &tag("stable"))
        .add_bootc_labels()
        .write_to(&store, "okd/node", Some("kept"))
        .await
        .unwrap();
    assert!(kept.labels.is_empty(), "{:?}", kept.labels);
}

#[tokio::test]
async fn base_manifest_annotations_are_kept() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let base = store.read_manifest("os", &tag("base")).await.unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(base.bytes()).unwrap();
    doc["annotations"] = serde_json::json!({
        "org.opencontainers.image.source": "https://github.com/coreos/fedora-coreos-config",
        "org.opencontainers.image.revision": "8c8a0b4",
    });
    let annotated = okd_oci::RawManifest::new(
        okd_oci::media_type::OCI_MANIFEST,
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    store
        .write_manifest("os", &annotated, Some("annotated"))
        .await
        .unwrap();
    let out = LayeredImage::new(&store, "os", &tag("annotated"))
        .layer(FileListSource::new().bytes("etc/okd-release", b"4.19\n".to_vec(), 0o644))
        .write_to(&store, "os", Some("derived"))
        .await
        .unwrap();
    let written: serde_json::Value = serde_json::from_slice(out.manifest.bytes()).unwrap();
    assert_eq!(written["annotations"], doc["annotations"], "{written}");
    assert_eq!(
        written["layers"].as_array().unwrap().len(),
        doc["layers"].as_array().unwrap().len() + 1
    );
}
