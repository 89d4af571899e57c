//! `okd-streams mirror …`: a testkit payload from docker-registry to a layout and back to the
//! registry, re-runs, dry runs, single images, and bad input.

use crate::cli_common;

use cli_common::{okd, registry_payload, tool};
use okd_oci::{LayoutStore, ManifestRef, Store};
use testkit::payload::PayloadSpec;

#[tokio::test]
async fn release_to_a_layout_and_back_to_a_registry() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("mirror");
    let (idms, mapping, report) = (
        dir.path().join("idms.yaml"),
        dir.path().join("mapping.txt"),
        dir.path().join("report.json"),
    );

    // Registry → layout.
    let run = r.okd(&[
        "mirror",
        "release",
        &r.release_ref(),
        "--to",
        &format!("oci:{}:okd/mirror", layout.display()),
        "--idms",
        &idms.display().to_string(),
        "--mapping",
        &mapping.display().to_string(),
        "--report",
        &report.display().to_string(),
    ]);
    let out = run.ok();
    assert!(out.contains("Success"), "{out}");
    // Not a terminal: plain log lines, one per image.
    let log = run.stderr();
    assert!(log.contains("mirrored cli "), "{log}");

    let store = LayoutStore::open(&layout).await.unwrap();
    for c in &p.components {
        let tag = format!("{}-x86_64-{}", p.version, c.name);
        assert_eq!(
            store
                .manifest_digest("okd/mirror", &ManifestRef::Tag(tag.clone()))
                .await
                .unwrap(),
            Some(c.digest.clone()),
            "{tag}"
        );
    }
    let release_tag = format!("{}-x86_64", p.version);
    assert_eq!(
        store
            .manifest_digest("okd/mirror", &ManifestRef::Tag(release_tag.clone()))
            .await
            .unwrap(),
        Some(p.release_digest().clone())
    );
    let lines = std::fs::read_to_string(&mapping).unwrap();
    assert_eq!(lines.lines().count(), p.components.len() + 1, "{lines}");
    // The release line first, as `oc adm release mirror --to-mirror` prints it.
    let first = lines.lines().next().unwrap();
    assert!(first.ends_with(&format!(":{release_tag}")), "{lines}");
    // A layout is not something a cluster pulls from: no mirror sets.
    let sets = std::fs::read_to_string(&idms).unwrap();
    assert!(sets.contains("imageDigestMirrors: []"), "{sets}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["totals"]["images_failed"], 0, "{report}");

    // The mirrored release reads back from the layout with its components intact.
    let from_layout = format!("oci:{}:okd/mirror:{release_tag}", layout.display());
    let info = okd(["release", "info", "-o", "okd-json", &from_layout]).json();
    assert_eq!(info["images"].as_array().unwrap().len(), p.components.len());

    // Running it again moves nothing.
    let again = r.okd(&[
        "mirror",
        "release",
        &r.release_ref(),
        "--to",
        &format!("oci:{}:okd/mirror", layout.display()),
    ]);
    again.ok();
    assert!(
        again.stderr().contains("0 B copied in 0 blobs"),
        "{}",
        again.stderr()
    );

    // Layout → registry: the components are read from the layout, next to the release.
    let dry = r.okd(&[
        "mirror",
        "release",
        &from_layout,
        "--to",
        &r.at("mirror/okd"),
        "--dry-run",
    ]);
    let planned = dry.ok();
    assert_eq!(planned.lines().count(), p.components.len() + 1, "{planned}");
    assert!(dry.stderr().contains("dry run:"), "{}", dry.stderr());
    assert_eq!(
        r.store
            .manifest_digest("mirror/okd", &ManifestRef::Tag(release_tag.clone()))
            .await
            .unwrap(),
        None,
        "a dry run writes nothing"
    );
    let out = r
        .okd(&[
            "mirror",
            "release",
            &from_layout,
            "--to",
            &r.at("mirror/okd"),
            "--idms",
            &idms.display().to_string(),
        ])
        .ok();
    assert!(out.contains("kind: ImageDigestMirrorSet"), "{out}");
    let sets = std::fs::read_to_string(&idms).unwrap();
    assert!(sets.contains("kind: ImageDigestMirrorSet"), "{sets}");
    assert!(
        sets.contains(&format!("source: {}/okd/scos-content", r.host)),
        "{sets}"
    );
    assert!(sets.contains(&format!("- {}/mirror/okd", r.host)), "{sets}");
    assert_eq!(
        r.store
            .manifest_digest("mirror/okd", &ManifestRef::Tag(release_tag.clone()))
            .await
            .unwrap(),
        Some(p.release_digest().clone())
    );
    let hyperkube = p.component("hyperkube").unwrap();
    assert_eq!(
        r.store
            .manifest_digest(
                "mirror/okd",
                &ManifestRef::Tag(format!("{}-x86_64-hyperkube", p.version))
            )
            .await
            .unwrap(),
        Some(hyperkube.digest.clone())
    );
}

#[tokio::test]
async fn image_copies_a_manifest_list_whole() {
    let r = registry_payload(PayloadSpec::new().components(12)).await;
    let cli = r.payload.component("cli").unwrap();
    assert!(cli.is_multi_arch());
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let dst = format!("oci:{}:copy/cli:v1", layout.display());
    let out = r
        .okd(&["mirror", "image", &r.at("okd/scos-content:cli"), &dst])
        .ok();
    assert!(out.contains(&dst), "{out}");
    let store = LayoutStore::open(&layout).await.unwrap();
    assert_eq!(
        store
            .manifest_digest("copy/cli", &ManifestRef::Tag("v1".into()))
            .await
            .unwrap(),
        Some(cli.digest.clone()),
        "the list is copied byte for byte"
    );
    assert_eq!(cli.platforms.len(), 2);
    for child in &cli.platforms {
        let m = store
            .read_manifest("copy/cli", &ManifestRef::Digest(child.digest.clone()))
            .await
            .unwrap();
        for blob in m.references().unwrap() {
            assert_eq!(
                store.blob_size("copy/cli", &blob.digest).await.unwrap(),
                Some(blob.size)
            );
        }
    }

    // skopeo reads an OCI image copied the same way (it reads only OCI media types from
    // layouts).
    let os = r.payload.component("stream-coreos").unwrap();
    let dst = format!("oci:{}:copy/os:v1", layout.display());
    r.okd(&[
        "mirror",
        "image",
        &r.at("okd/scos-content:stream-coreos"),
        &dst,
    ])
    .ok();
    let raw = tool("skopeo", &["inspect", "--raw", &dst]);
    assert_eq!(okd_oci::Digest::sha256_of(raw.as_bytes()), os.digest);
    let inspected: serde_json::Value =
        serde_json::from_str(&tool("skopeo", &["inspect", &dst])).unwrap();
    assert_eq!(
        inspected["Layers"].as_array().unwrap().len(),
        os.layers.len()
    );
}

#[tokio::test]
async fn bad_mirror_input_fails_with_one_line() {
    let r = registry_payload(PayloadSpec::new().components(8)).await;
    let e = r
        .okd(&[
            "mirror",
            "release",
            &r.release_ref(),
            "--to",
            &r.at("mirror/okd:tagged"),
        ])
        .fails_after_log();
    assert!(e.contains("mirror/okd:tagged"), "{e}");
    let e = r
        .okd(&[
            "mirror",
            "release",
            &r.release_ref(),
            "--to",
            &r.at("mirror/okd"),
            "--exclude",
            "[",
        ])
        .fails_after_log();
    assert!(e.contains("\"[\""), "{e}");
    let e = r
        .okd(&[
            "mirror",
            "release",
            &r.at("okd/scos-content:hyperkube"),
            "--to",
            &r.at("mirror/okd"),
        ])
        .fails_after_log();
    assert!(e.contains("not a release image"), "{e}");
    let e = okd([
        "mirror",
        "image",
        "oci:/nonexistent/layout:x",
        "oci:/tmp/y:z",
    ])
    .fails_after_log();
    assert!(e.contains("/nonexistent/layout"), "{e}");
}
