//! Mirrors to and from OCI image layouts: registry → layout → registry (the air-gapped path) and
//! layout → layout.

use crate::common;

use std::sync::Arc;

use common::*;
use okd_mirror::progress::NoProgress;
use okd_mirror::{Naming, ReleaseContent};
use okd_oci::registry::RegistryOptions;
use okd_oci::{ImageRef, LayoutStore, ManifestRef, Store, StoreMap};
use testkit::tools::skopeo;

const NAMES: &[&str] = &["cli", "installer", "etcd"];

fn stores() -> StoreMap {
    store_set(RegistryOptions::default(), &["127.0.0.1".to_string()])
}

#[tokio::test]
async fn release_to_disk_and_from_disk_without_the_source() {
    let src = registry().await;
    let set = stores();
    let s = store(&set, &src.host()).await;
    let p = scos_payload(s.as_ref(), &src.host(), V, NAMES).await;
    let disk = tempfile::tempdir().unwrap();
    let layout = format!("oci:{}", disk.path().display());

    // Connected side: registry → layout.
    let loader = StaticReleases::with(p.release.clone());
    let to_disk = release_run(
        &p.release.image.to_string(),
        &format!("{layout}:okd/release"),
        Naming::Release,
    );
    let outcome = to_disk
        .run(&set, &loader, Arc::new(NoProgress))
        .await
        .unwrap();
    let released = format!("{layout}:okd/release:{V}-x86_64");
    assert!(
        outcome
            .instructions
            .contains(&format!("Update image:  {released}")),
        "{}",
        outcome.instructions
    );
    assert!(outcome.instructions.contains("mirror it from the layout"));
    let on_disk = LayoutStore::open(disk.path()).await.unwrap();
    for (name, m) in &p.components {
        let got = component_manifest(&on_disk, V, name).await;
        assert_eq!(got.bytes(), m.bytes());
    }
    // An independent reader opens the OCI images of the layout.
    let out = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci:{}:okd/release:{V}-x86_64-cli", disk.path().display()),
    ]);
    assert_eq!(out, p.components[0].1.bytes().as_ref());

    // Disconnected side: the source registry is gone; layout → registry.
    let src_host = src.host();
    drop(src);
    let dst = registry().await;
    let set = stores();
    let from_disk: ImageRef = released.parse().unwrap();
    let loader = StaticReleases::with(ReleaseContent {
        image: from_disk.clone(),
        ..p.release.clone()
    });
    let upload = release_run(
        &released,
        &format!("{}/okd/release", dst.host()),
        Naming::Release,
    );
    let outcome = upload
        .run(&set, &loader, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(
        outcome.report.totals.images_written as usize,
        NAMES.len() + 1
    );
    let d = store(&set, &dst.host()).await;
    let tags = d.list_tags("okd/release").await.unwrap();
    assert_eq!(tags.len(), NAMES.len() + 1);
    // The mirror configuration still names the original content repository.
    assert!(
        outcome
            .instructions
            .contains(&format!("source: {src_host}/okd/scos-content")),
        "{}",
        outcome.instructions
    );
}

#[tokio::test]
async fn layout_to_layout_copies_then_skips() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let src = LayoutStore::create(a.path()).await.unwrap();
    let amd = push_image(&src, "okd/cli", None, &[("f", b"amd64")], "amd64").await;
    let arm = push_image(&src, "okd/cli", None, &[("f", b"arm64")], "arm64").await;
    let list = push_index(
        &src,
        "okd/cli",
        Some("4.19"),
        &[(amd, "amd64"), (arm, "arm64")],
    )
    .await;

    let opts = image_run(
        &format!("oci:{}:okd/cli:4.19", a.path().display()),
        &format!("oci:{}:mirror/cli:4.19", b.path().display()),
    );
    let set = stores();
    let first = opts.run(&set, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(
        first.report.totals.blobs_copied, 4,
        "two configs and two layers"
    );
    let dst = LayoutStore::open(b.path()).await.unwrap();
    let got = dst
        .read_manifest("mirror/cli", &ManifestRef::Tag("4.19".into()))
        .await
        .unwrap();
    assert_eq!(got.bytes(), list.bytes());

    let again = opts.run(&stores(), Arc::new(NoProgress)).await.unwrap();
    assert_eq!(again.report.totals.images_present, 1);
    assert_eq!(again.report.totals.blobs_copied, 0);
}

#[tokio::test]
async fn registry_image_to_layout_and_back_by_digest() {
    let reg = registry().await;
    let set = stores();
    let s = store(&set, &reg.host()).await;
    let m = push_image(
        s.as_ref(),
        "a/b",
        Some("v1"),
        &[("f", b"payload bytes")],
        "amd64",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();

    let down = image_run(
        &format!("{}/a/b@{}", reg.host(), m.digest()),
        &format!("oci:{}:a/b:v1", dir.path().display()),
    );
    down.run(&set, Arc::new(NoProgress)).await.unwrap();
    let up = image_run(
        &format!("oci:{}:a/b:v1", dir.path().display()),
        &format!("{}/c/d", reg.host()),
    );
    let outcome = up.run(&stores(), Arc::new(NoProgress)).await.unwrap();
    assert_eq!(outcome.report.totals.blobs_copied, 2);
    let got = s
        .read_manifest("c/d", &ManifestRef::Tag("v1".into()))
        .await
        .unwrap();
    assert_eq!(got.bytes(), m.bytes());
}
