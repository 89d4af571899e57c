//! Mirrors between real registries (Debian's docker-registry on loopback ports).
#![cfg(feature = "registry")] // Needs the registry client.

use crate::common;

use std::sync::Arc;

use common::*;
use okd_mirror::progress::NoProgress;
use okd_mirror::run::ReleaseRun;
use okd_mirror::{BlobAction, ComponentFilter, Error, ImageStatus, Naming, ReleaseTarget};
use okd_oci::registry::RegistryOptions;
use okd_oci::{ManifestRef, Store, StoreExt, StoreMap};
use testkit::tools::skopeo;
use testkit::{FaultConfig, FaultProxy, Registry};

/// A fresh store set (fresh counters) that trusts the given loopback hosts over plain HTTP.
fn stores(hosts: &[String]) -> StoreMap {
    store_set(
        RegistryOptions::default().max_concurrent_requests(16),
        hosts,
    )
}

/// A source and a destination registry, their hosts, a store set trusting both, the source
/// store, and the [`NAMES`] payload in it with a loader that knows its release.
type Mirror = (
    Registry,
    Registry,
    [String; 2],
    StoreMap,
    Arc<dyn Store>,
    Payload,
    StaticReleases,
);

async fn two_registries_with_payload() -> Mirror {
    let (src, dst) = (registry().await, registry().await);
    let hosts = [src.host(), dst.host()];
    let set = stores(&hosts);
    let s = store(&set, &src.host()).await;
    let p = v_payload(s.as_ref(), &src.host()).await;
    let loader = StaticReleases::with(p.release.clone());
    (src, dst, hosts, set, s, p, loader)
}

/// The [`NAMES`] payload of release [`V`], pushed to `store` located at `host`.
async fn v_payload(store: &dyn Store, host: &str) -> Payload {
    common::scos_payload(store, host, V, NAMES).await
}

fn release_opts(src: &Registry, dst: &Registry) -> ReleaseRun {
    let mut run = release_run(
        &format!("{}/okd/scos-release:{V}", src.host()),
        &format!("{}/okd/release", dst.host()),
        Naming::Release,
    );
    run.options.jobs = 4;
    run
}

/// `run` with its release image sent to `image` instead.
fn release_image_at(run: &mut ReleaseRun, image: String) {
    run.release.target = run
        .release
        .target
        .clone()
        .with_release_image(image.parse().unwrap());
}

fn unique_blobs() -> u64 {
    (NAMES.len() * 2 + 1 + 2) as u64
}

#[tokio::test]
async fn release_from_registry_to_registry_then_nothing_to_do() {
    let (src, dst, hosts, set, _, p, loader) = two_registries_with_payload().await;

    let mut opts = release_opts(&src, &dst);
    release_image_at(&mut opts, format!("{}/okd/release-images:{V}", dst.host()));
    let outcome = opts.run(&set, &loader, Arc::new(NoProgress)).await.unwrap();
    assert!(outcome.instructions.contains("kind: ImageDigestMirrorSet"));
    assert!(outcome.instructions.contains(&format!(
        "Update image:  {}/okd/release-images:{V}",
        dst.host()
    )));
    let d = store(&set, &dst.host()).await;
    let stats = d.stats();
    assert_eq!(
        stats.blobs_written,
        unique_blobs(),
        "one copy per blob: {stats:?}"
    );
    assert_eq!(stats.blobs_mounted, 1);
    assert_eq!(
        outcome.report.totals.images_written as usize,
        NAMES.len() + 1
    );

    let tags = d.list_tags("okd/release").await.unwrap();
    assert_eq!(tags.len(), NAMES.len());
    for (name, m) in &p.components {
        let got = component_manifest(d.as_ref(), V, name).await;
        assert_eq!(got.bytes(), m.bytes());
    }
    // An independent reader sees the same bytes.
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/okd/release-images:{V}", dst.host()),
    ]);
    assert_eq!(out, p.release_manifest.bytes().as_ref());

    // A second run, with fresh stores, writes nothing.
    let set = stores(&hosts);
    let again = opts.run(&set, &loader, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(again.report.totals.images_present as usize, NAMES.len() + 1);
    let stats = store(&set, &dst.host()).await.stats();
    assert_eq!(
        (
            stats.blobs_written,
            stats.manifests_written,
            stats.blobs_mounted
        ),
        (0, 0, 0)
    );
    assert_eq!(store(&set, &src.host()).await.stats().blobs_read, 0);
}

/// Blobs an interrupted run uploaded without their manifests are found by the uploads of the
/// next run: it plans no per-blob check, and copies only the blobs that are missing.
#[tokio::test]
async fn blobs_left_by_an_interrupted_run_are_found_as_uploads_open() {
    let (src, dst, hosts, set, s, p, loader) = two_registries_with_payload().await;
    // What a run killed after the blobs of "etcd" leaves behind: its blobs, no manifest.
    let d = store(&set, &dst.host()).await;
    let etcd = &p.components[4].1;
    let left = etcd.references().unwrap();
    for b in &left {
        okd_oci::copy::copy_blob(
            s.as_ref(),
            "okd/scos-content",
            d.as_ref(),
            "okd/release",
            &b.digest,
            b.size,
        )
        .await
        .unwrap();
    }
    let opts = release_opts(&src, &dst);

    // A dry run asks for every blob, so it knows exactly what is left to move.
    let mut dry = opts.clone();
    dry.dry_run = true;
    let planned = dry
        .run(&stores(&hosts), &loader, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(planned.plan.totals.blobs_present, left.len());

    let set = stores(&hosts);
    let outcome = opts.run(&set, &loader, Arc::new(NoProgress)).await.unwrap();
    assert!(
        outcome
            .plan
            .blobs
            .iter()
            .flat_map(|b| &b.targets)
            .all(|t| t.action == BlobAction::CopyIfMissing),
        "a run plans no per-blob check"
    );
    let t = &outcome.report.totals;
    assert_eq!(t.blobs_skipped as usize, left.len(), "{t:?}");
    assert_eq!(t.blobs_copied, unique_blobs() - left.len() as u64, "{t:?}");
    let stats = store(&set, &dst.host()).await.stats();
    assert_eq!(stats.blobs_written, t.blobs_copied);
    assert_eq!(stats.blobs_skipped as usize, left.len());
    let tags = store(&set, &dst.host())
        .await
        .list_tags("okd/release")
        .await
        .unwrap();
    assert!(tags.contains(&format!("{V}-x86_64-etcd")), "{tags:?}");
}

#[tokio::test]
async fn excluded_components_and_digest_only_naming() {
    let (src, dst, _, set, _, p, loader) = two_registries_with_payload().await;
    let mut opts = release_opts(&src, &dst);
    opts.release.target =
        ReleaseTarget::parse(&format!("{}/okd/release", dst.host()), Naming::DigestOnly).unwrap();
    opts.filter = ComponentFilter::new(&[], &["rhel-coreos*".into(), "*installer".into()]).unwrap();
    release_image_at(&mut opts, format!("{}/okd/release:{V}", dst.host()));
    let outcome = opts.run(&set, &loader, Arc::new(NoProgress)).await.unwrap();
    assert!(outcome.plan.warnings[0].contains("installer, rhel-coreos"));
    let d = store(&set, &dst.host()).await;
    assert_eq!(d.list_tags("okd/release").await.unwrap(), [V]);
    for (name, m) in &p.components {
        let here = d
            .manifest_digest("okd/release", &ManifestRef::Digest(m.digest().clone()))
            .await
            .unwrap();
        let kept = !matches!(name.as_str(), "rhel-coreos" | "installer");
        assert_eq!(here.is_some(), kept, "{name}");
    }
}

#[tokio::test]
async fn same_registry_copies_no_bytes() {
    let reg = registry().await;
    let set = stores(&[reg.host()]);
    let s = store(&set, &reg.host()).await;
    push_image(
        s.as_ref(),
        "a/b",
        Some("v1"),
        &[("f", b"one"), ("g", b"two")],
        "amd64",
    )
    .await;
    let opts = image_run(
        &format!("{}/a/b:v1", reg.host()),
        &format!("{}/c/d", reg.host()),
    );
    let set = stores(&[reg.host()]);
    let outcome = opts.run(&set, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(outcome.report.totals.blobs_mounted, 3);
    assert_eq!(outcome.report.totals.bytes_copied, 0);
    let s = store(&set, &reg.host()).await;
    assert_eq!((s.stats().blobs_mounted, s.stats().blobs_written), (3, 0));
    assert_eq!(s.list_tags("c/d").await.unwrap(), ["v1"]);
}

#[tokio::test]
async fn manifest_list_whole_or_one_platform() {
    let (src, dst) = (registry().await, registry().await);
    let hosts = [src.host(), dst.host()];
    let set = stores(&hosts);
    let s = store(&set, &src.host()).await;
    let (list, _amd, arm) =
        push_multi_arch(s.as_ref(), "okd/cli", "4.19", b"amd64", b"arm64").await;

    let opts = image_run(
        &format!("{}/okd/cli:4.19", src.host()),
        &format!("{}/okd/cli", dst.host()),
    );
    opts.run(&set, Arc::new(NoProgress)).await.unwrap();
    let d = store(&set, &dst.host()).await;
    let top = d
        .read_manifest("okd/cli", &ManifestRef::Tag("4.19".into()))
        .await
        .unwrap();
    assert_eq!(top.bytes(), list.bytes());

    let mut opts = image_run(
        &format!("{}/okd/cli:4.19", src.host()),
        &format!("{}/okd/cli-arm64", dst.host()),
    );
    opts.platform = okd_mirror::PlatformChoice::Only("linux/arm64".parse().unwrap());
    opts.run(&set, Arc::new(NoProgress)).await.unwrap();
    let top = d
        .read_manifest("okd/cli-arm64", &ManifestRef::Tag("4.19".into()))
        .await
        .unwrap();
    assert_eq!(top.bytes(), arm.bytes());
}

#[tokio::test]
async fn corrupted_source_blob_is_named_and_nothing_references_it() {
    let (src, dst, _, set, _, p, loader) = two_registries_with_payload().await;
    // Damage the stored bytes of the etcd binary layer: the registry serves them as they are.
    let etcd = &p.components[4].1;
    let bad = etcd.references().unwrap()[2].digest.clone();
    let data = src
        .dir()
        .join("storage/docker/registry/v2/blobs/sha256")
        .join(&bad.hex()[..2])
        .join(bad.hex())
        .join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&data, bytes).unwrap();

    let mut opts = release_opts(&src, &dst);
    opts.options.retry.attempts = 2;
    let err = opts
        .run(&set, &loader, Arc::new(NoProgress))
        .await
        .unwrap_err();
    let Error::Incomplete { failed, first, .. } = &err else {
        panic!("unexpected error {err}");
    };
    assert_eq!(*failed, 2, "etcd and the release: {err}");
    let first = first.to_string();
    assert!(first.contains(&bad.to_string()), "names the blob: {first}");
    assert!(first.contains("digest mismatch"), "{first}");
    let d = store(&set, &dst.host()).await;
    assert!(
        d.manifest_digest("okd/release", &ManifestRef::Digest(etcd.digest().clone()))
            .await
            .unwrap()
            .is_none()
    );
    let tags = d.list_tags("okd/release").await.unwrap();
    assert!(!tags.iter().any(|t| t.ends_with("-etcd")), "{tags:?}");
    assert!(
        !tags.contains(&format!("{V}-x86_64")),
        "the release is not tagged"
    );
    assert!(d.blob_size("okd/release", &bad).await.unwrap().is_none());
    assert!(tags.contains(&format!("{V}-x86_64-cli")));
}

#[tokio::test]
async fn flaky_destination_still_gets_everything() {
    let (src, dst) = (registry().await, registry().await);
    let proxy = FaultProxy::spawn(
        &dst.host(),
        FaultConfig::new(11)
            .reject(0.15)
            .drop(0.1)
            .drop_after(0..4096),
    )
    .await
    .unwrap();
    let hosts = [src.host(), proxy.host()];
    let set = stores(&hosts);
    let s = store(&set, &src.host()).await;
    let p = v_payload(s.as_ref(), &src.host()).await;
    let loader = StaticReleases::with(p.release.clone());
    let mut opts = release_run(
        &format!("{}/okd/scos-release:{V}", src.host()),
        &format!("{}/okd/release", proxy.host()),
        Naming::Release,
    );
    opts.options.retry.attempts = 8;
    let outcome = opts.run(&set, &loader, Arc::new(NoProgress)).await.unwrap();
    assert!(proxy.faults_injected() > 0);
    assert!(
        outcome
            .report
            .images
            .iter()
            .all(|i| i.status == ImageStatus::Written)
    );
    // Check through the registry itself, without the proxy.
    proxy.set_enabled(false);
    let direct = stores(&[dst.host()]);
    let d = store(&direct, &dst.host()).await;
    for (name, m) in &p.components {
        let got = component_manifest(d.as_ref(), V, name).await;
        assert_eq!(got.digest(), m.digest());
        for b in m.references().unwrap() {
            assert!(
                d.blob_size("okd/release", &b.digest)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    }
}

/// A generated OKD payload, read with the real release loader: every component (the multi-arch
/// `cli` list whole) lands under oc's tags, and the OS images can be left out.
#[tokio::test]
async fn generated_payload_through_the_release_loader() {
    let (src, dst) = (registry().await, registry().await);
    let hosts = [src.host(), dst.host()];
    let set = stores(&hosts);
    let s = store(&set, &src.host()).await;
    let spec = testkit::payload::PayloadSpec::new()
        .components(24)
        .layer_size(2048)
        .base_layer_size(4096)
        .pullspec_prefix(format!("{}/okd/scos-content", src.host()));
    let payload = testkit::payload::generate(s.as_ref(), &spec).await.unwrap();
    let version = payload.version.clone();
    let mut opts = release_run(
        &format!("{}/okd/scos-release:{version}", src.host()),
        &format!("{}/okd/release", dst.host()),
        Naming::Release,
    );
    opts.filter = ComponentFilter::new(&[], &["stream-coreos*".into()]).unwrap();
    let outcome = opts
        .run(
            &set,
            &okd_mirror::PayloadLoader::default(),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.plan.warnings.len(),
        1,
        "{:?}",
        outcome.plan.warnings
    );
    assert!(outcome.plan.warnings[0].contains("stream-coreos, stream-coreos-extensions"));
    let d = store(&set, &dst.host()).await;
    let tags = d.list_tags("okd/release").await.unwrap();
    for c in &payload.components {
        let tag = format!("{version}-x86_64-{}", c.name);
        if c.name.starts_with("stream-coreos") {
            assert!(!tags.contains(&tag), "{tag} was excluded");
            continue;
        }
        let got = d
            .read_manifest("okd/release", &ManifestRef::Tag(tag.clone()))
            .await
            .unwrap();
        assert_eq!(got.digest(), &c.digest, "{tag}");
        assert_eq!(got.is_index(), c.is_multi_arch(), "{tag}");
    }
    let release = d
        .read_manifest(
            "okd/release",
            &ManifestRef::Tag(format!("{version}-x86_64")),
        )
        .await
        .unwrap();
    assert_eq!(release.digest(), payload.release_digest());
}

/// `len` bytes that gzip cannot shrink (xorshift), so a layer made of them stays that large.
fn incompressible(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A registry behind a proxy that refuses cross-repository mounts with `400` and request bodies
/// over 1 MiB with a `413` sent before the body is read: the mirror completes through both
/// fallbacks, a plain upload after the refused mount and chunks after the refused body.
#[tokio::test]
async fn refused_mounts_and_a_body_limit_fall_back_to_uploads_in_chunks() {
    let reg = registry().await;
    let proxy = FaultProxy::spawn(
        &reg.host(),
        FaultConfig::new(13)
            .refuse_requests(400)
            .matching("POST /v2/c/d/blobs/uploads/?mount=")
            .max_body_abrupt(1 << 20),
    )
    .await
    .unwrap();
    let direct_set = stores(&[reg.host()]);
    let direct = store(&direct_set, &reg.host()).await;
    let big = incompressible(13, 3 << 20);
    let manifest = push_image(
        direct.as_ref(),
        "a/b",
        Some("v1"),
        &[("big", &big), ("small", b"two")],
        "amd64",
    )
    .await;
    // Source and destination are the same store (the proxy), so the mirror mounts first.
    let set = stores(&[proxy.host()]);
    let opts = image_run(
        &format!("{}/a/b:v1", proxy.host()),
        &format!("{}/c/d", proxy.host()),
    );
    let outcome = opts
        .run(&set, Arc::new(NoProgress))
        .await
        .expect("mirror through refused mounts and a body limit");
    assert!(
        outcome
            .report
            .images
            .iter()
            .all(|i| i.status == ImageStatus::Written),
        "{:?}",
        outcome.report.images
    );
    let http = proxy.http_stats();
    // Each blob's mount from the source repository, and the mount from the destination
    // itself that each upload opens with, were refused.
    assert!(http.refused >= 6, "{http:?}");
    assert!(http.too_large >= 1, "{http:?}");
    assert!(
        http.count("PATCH") >= 4,
        "the big layer went in chunks: {http:?}"
    );
    assert_eq!(outcome.report.totals.blobs_mounted, 0);

    // Read back from the registry itself.
    let tag = ManifestRef::Tag("v1".into());
    assert_eq!(direct.read_manifest("c/d", &tag).await.unwrap(), manifest);
    for b in manifest.references().unwrap() {
        let back = direct.get_blob("c/d", &b.digest, 8 << 20).await.unwrap();
        assert_eq!(okd_oci::Digest::sha256_of(&back), b.digest);
    }
}
