//! Units enabled, base paths removed, absolute links resolved inside the image, and the
//! MachineConfig of kernel arguments and node units, on layers from a directory, a file list
//! and a tarball against the CoreOS-shaped base.

use okd_coreos::Error;
use okd_coreos::file_tree::{LayerListing, ListedEntry, NodeKind, open_layer};
use okd_coreos::image_lint::{BaseOf, lint_image};
use okd_coreos::layering::{LayeredImage, LayeredOutput};
use okd_coreos::lint::Severity;
use okd_coreos::tree_cache::TreeCache;
use okd_oci::{MemoryStore, Store, StoreExt};
use serde_json::Value;

use crate::coreos_base::{Item, tag, three_sources, write_chunked_coreos_base};

const HELLO_UNIT: &[u8] =
    b"[Unit]\nDescription=hello\n[Service]\nExecStart=/usr/bin/bash -c true\n";

async fn base() -> MemoryStore {
    let store = MemoryStore::new();
    write_chunked_coreos_base(&store, "fcos", "stable").await;
    store
}

async fn last_layer(store: &MemoryStore, out: &LayeredOutput) -> LayerListing {
    let digest = &out.layers.last().unwrap().digest;
    let blob = store.get_blob("okd/node", digest, 1 << 24).await.unwrap();
    let reader = open_layer(std::io::Cursor::new(blob.to_vec()), "layer").unwrap();
    LayerListing::read(reader, "layer").unwrap()
}

fn entry<'l>(listing: &'l LayerListing, path: &str) -> Option<&'l ListedEntry> {
    listing.entries.iter().find(|e| e.path == path)
}

fn link_target(listing: &LayerListing, path: &str) -> String {
    match &entry(listing, path)
        .unwrap_or_else(|| panic!("no {path} in {listing:?}"))
        .node
        .kind
    {
        NodeKind::Symlink(t) => t.clone(),
        other => panic!("{path} is {other:?}"),
    }
}

#[tokio::test]
async fn enable_links_units_of_the_layer_and_of_the_base() {
    let temp = tempfile::tempdir().unwrap();
    let items = [
        Item::File(
            "usr/lib/systemd/system/okd-hello.service",
            HELLO_UNIT,
            0o644,
        ),
        Item::File("etc/systemd/system/okd-agent@.service", HELLO_UNIT, 0o644),
    ];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let out = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .enable("okd-hello.service", "multi-user.target")
            .enable("okd-agent@eth0.service", "network-online.target")
            .enable("chronyd.service", "multi-user.target")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            out.layers.len(),
            2,
            "{what}: the source's layer, then the links"
        );
        let links = last_layer(&store, &out).await;
        let wants = "usr/lib/systemd/system/multi-user.target.wants";
        assert_eq!(
            link_target(&links, &format!("{wants}/okd-hello.service")),
            "/usr/lib/systemd/system/okd-hello.service",
            "{what}"
        );
        // The base's unit, in its chrony chunk.
        assert_eq!(
            link_target(&links, &format!("{wants}/chronyd.service")),
            "/usr/lib/systemd/system/chronyd.service",
            "{what}"
        );
        // An instance links to its template, here in /etc.
        assert_eq!(
            link_target(
                &links,
                "usr/lib/systemd/system/network-online.target.wants/okd-agent@eth0.service"
            ),
            "/etc/systemd/system/okd-agent@.service",
            "{what}"
        );
        assert!(
            !out.lint.findings.iter().any(|f| f.rule == "dangling-link"),
            "{what}: {:?}",
            out.lint
        );
    }
}

#[tokio::test]
async fn enabling_a_unit_found_nowhere_is_refused_and_writes_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("etc/okd.conf", b"x", 0o644)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let before = store.stats().blobs_written;
        let err = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .enable("okd-missing.service", "multi-user.target")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnitNotFound { unit, .. } if unit == "okd-missing.service"),
            "{what}: {err}"
        );
        assert!(err.to_string().contains("okd-missing.service"), "{err}");
        assert_eq!(
            store.stats().blobs_written,
            before,
            "{what}: nothing written"
        );
        assert!(
            store
                .list_tags("okd/node")
                .await
                .unwrap_or_default()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn absolute_links_are_resolved_inside_the_image() {
    let temp = tempfile::tempdir().unwrap();
    let items = [
        Item::File("usr/lib/okd/tool", b"#!/bin/sh\n", 0o755),
        Item::Symlink("usr/bin/okd-tool", "/usr/lib/okd/tool"),
        Item::Symlink("usr/bin/okd-bash", "/usr/bin/bash"),
        Item::Symlink("usr/bin/okd-gone", "/usr/lib/okd/nothing"),
    ];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let out = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_or_else(|e| panic!("{what}: accepted, not refused: {e}"));
        let listing = last_layer(&store, &out).await;
        assert_eq!(
            link_target(&listing, "usr/bin/okd-tool"),
            "/usr/lib/okd/tool"
        );
        assert_eq!(link_target(&listing, "usr/bin/okd-bash"), "/usr/bin/bash");
        let dangling: Vec<&str> = out
            .lint
            .findings
            .iter()
            .filter(|f| f.rule == "dangling-link")
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(dangling, ["usr/bin/okd-gone"], "{what}: {:?}", out.lint);
        assert!(!out.lint.has_errors(), "{what}");
    }
}

#[tokio::test]
async fn remove_writes_a_whiteout_and_warns_for_a_path_of_a_package() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("usr/lib/okd/release", b"4.19\n", 0o644)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let out = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .remove("usr/sbin/chronyd")
            .remove("/etc/motd")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let listing = last_layer(&store, &out).await;
        for wh in ["usr/sbin/.wh.chronyd", "etc/.wh.motd"] {
            let e = entry(&listing, wh).unwrap_or_else(|| panic!("{what}: no {wh}"));
            assert_eq!((&e.node.kind, e.size), (&NodeKind::File, 0), "{what}");
        }
        // The lint accepts the whiteouts it wrote.
        assert!(
            !out.lint.findings.iter().any(|f| f.rule == "whiteout"),
            "{what}: {:?}",
            out.lint
        );
        let rpm: Vec<_> = out
            .lint
            .findings
            .iter()
            .filter(|f| f.rule == "rpm-owned")
            .collect();
        assert_eq!(
            rpm.len(),
            1,
            "{what}: only chronyd is in a package chunk: {rpm:?}"
        );
        assert_eq!(rpm[0].path, "usr/sbin/chronyd");
        assert_eq!(rpm[0].severity, Severity::Warning);
        assert!(rpm[0].message.contains("chrony"), "{}", rpm[0].message);

        // The lint of the built image knows the whiteouts are the removal API's.
        let found = lint_image(
            &store,
            "okd/node",
            &tag("1"),
            None,
            BaseOf::Labels,
            &TreeCache::new(),
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 2, "{what}");
        assert!(
            found.iter().all(|l| !l.report.has_errors()),
            "{what}: {found:?}"
        );
    }
}

#[tokio::test]
async fn removing_a_path_the_base_lacks_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("etc/okd.conf", b"x", 0o644)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let err = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .remove("usr/bin/okd-nothing")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::NothingToRemove { path, .. } if path == "usr/bin/okd-nothing"),
            "{what}: {err}"
        );
        assert!(
            store
                .list_tags("okd/node")
                .await
                .unwrap_or_default()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn hand_written_whiteouts_stay_refused_next_to_removals() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("usr/sbin/.wh.chronyd", b"", 0o644)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let err = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .remove("usr/sbin/chronyd")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_err();
        match err {
            Error::LintRefused { findings, .. } => assert!(
                findings.contains("error[whiteout] /usr/sbin/.wh.chronyd"),
                "{what}: {findings}"
            ),
            other => panic!("{what}: expected a lint refusal, got {other}"),
        }
    }
}

#[tokio::test]
async fn kernel_arguments_and_node_units_become_a_machine_config() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File(
        "usr/lib/systemd/system/okd-hello.service",
        HELLO_UNIT,
        0o644,
    )];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let store = base().await;
        let out = LayeredImage::new(&store, "fcos", &tag("stable"))
            .boxed_layer(source)
            .kernel_argument("mitigations=off")
            .kernel_argument("systemd.unified_cgroup_hierarchy=1")
            .node_unit(
                "okd-hello.service",
                Some(true),
                Some(String::from_utf8(HELLO_UNIT.to_vec()).unwrap()),
            )
            .node_unit("chronyd.service", Some(false), None)
            .pool("infra")
            .write_to(&store, "okd/node", Some("1"))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mc = out.machine_config.expect("a MachineConfig");
        let dir = temp.path().join("release-out");
        let path = mc.write_to_dir(&dir).unwrap();
        assert_eq!(path, dir.join("99-infra-okd-streams-os.yaml"));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            ["99-infra-okd-streams-os.yaml"],
            "no temporary file left"
        );
        let v: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["apiVersion"], "machineconfiguration.openshift.io/v1");
        assert_eq!(v["kind"], "MachineConfig");
        assert_eq!(v["metadata"]["name"], "99-infra-okd-streams-os");
        assert_eq!(
            v["metadata"]["labels"]["machineconfiguration.openshift.io/role"],
            "infra"
        );
        assert_eq!(
            v["spec"]["kernelArguments"],
            serde_json::json!(["mitigations=off", "systemd.unified_cgroup_hierarchy=1"])
        );
        assert_eq!(v["spec"]["config"]["ignition"]["version"], "3.2.0");
        let units = v["spec"]["config"]["systemd"]["units"].as_array().unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0]["name"], "okd-hello.service");
        assert_eq!(units[0]["enabled"], true);
        assert_eq!(
            units[0]["contents"].as_str().unwrap().as_bytes(),
            HELLO_UNIT
        );
        assert_eq!(units[1]["name"], "chronyd.service");
        assert_eq!(units[1]["enabled"], false);
        assert!(units[1].get("contents").is_none());
        assert!(v["metadata"].get("annotations").is_none(), "{what}");

        // In a payload the CVO applies it only with its include annotations.
        let payload: Value = serde_yaml_ng::from_str(&mc.to_payload_yaml().unwrap()).unwrap();
        for profile in ["self-managed-high-availability", "single-node-developer"] {
            assert_eq!(
                payload["metadata"]["annotations"]
                    [format!("include.release.openshift.io/{profile}")],
                "true"
            );
        }
    }
}

#[tokio::test]
async fn machine_configs_default_to_the_worker_pool_and_refuse_bad_input() {
    let store = base().await;
    let out = LayeredImage::new(&store, "fcos", &tag("stable"))
        .kernel_argument("nosmt")
        .write_to(&store, "okd/node", Some("1"))
        .await
        .unwrap();
    let mc = out.machine_config.unwrap();
    assert_eq!(mc.pool(), "worker");
    let v: Value = serde_yaml_ng::from_str(&mc.to_yaml().unwrap()).unwrap();
    assert_eq!(
        v["metadata"]["labels"]["machineconfiguration.openshift.io/role"],
        "worker"
    );
    assert!(v["spec"]["config"].get("systemd").is_none());

    let before = store.stats().blobs_written;
    for (pool, unit) in [("Infra Nodes", "okd.service"), ("worker", "../okd.service")] {
        let err = LayeredImage::new(&store, "fcos", &tag("stable"))
            .node_unit(unit, Some(true), None)
            .pool(pool)
            .write_to(&store, "okd/node", Some("2"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidMachineConfig { .. }), "{err}");
    }
    assert_eq!(store.stats().blobs_written, before, "nothing written");
}
