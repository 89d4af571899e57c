//! The mirror engine on in-memory stores: dedup, skips, mounts, ordering, resume, failures.

use crate::common;

use std::sync::{Arc, Mutex};

use common::*;
use okd_mirror::progress::{BlobOutcome, Event, NoProgress};
use okd_mirror::{
    BlobAction, ComponentFilter, Error, ImageMapping, ImageStatus, MirrorPlan, MirrorSpec, Naming,
    PlatformChoice, ReleaseMirror, ReleaseTarget, execute,
};
use okd_oci::{ManifestRef, MemoryStore, RawManifest, Store, StoreMap, StoreStats};

/// Plans the mirror of one image with quick retries.
async fn plan_image(
    mapping: ImageMapping,
    platforms: &PlatformChoice,
    stores: &StoreMap,
) -> MirrorPlan {
    MirrorPlan::for_mappings(
        vec![vec![mapping]],
        platforms,
        stores,
        &fast_options(),
        &NoProgress,
    )
    .await
    .unwrap()
}

struct World {
    stores: StoreMap,
    src: Arc<MemoryStore>,
    dst: Arc<MemoryStore>,
    payload: Payload,
}

async fn world() -> World {
    let src = arc(MemoryStore::new());
    let dst = arc(MemoryStore::new());
    let payload = scos_payload(src.as_ref(), "quay.io", V, NAMES).await;
    let stores = StoreMap::offline();
    stores.alias("quay.io", src.clone());
    stores.alias("mirror.local:5000", dst.clone());
    World {
        stores,
        src,
        dst,
        payload,
    }
}

fn spec(w: &World, naming: Naming, exclude: &[&str]) -> MirrorSpec {
    let exclude: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
    MirrorSpec {
        releases: vec![ReleaseMirror {
            source: w.payload.release.image.clone(),
            target: ReleaseTarget::parse("mirror.local:5000/okd/release", naming).unwrap(),
        }],
        filter: ComponentFilter::new(&[], &exclude).unwrap(),
        ..MirrorSpec::default()
    }
}

async fn plan(w: &World, spec: &MirrorSpec) -> MirrorPlan {
    let loader = StaticReleases::with(w.payload.release.clone());
    MirrorPlan::build(spec, &w.stores, &loader, &fast_options(), &NoProgress)
        .await
        .unwrap()
}

fn unique_blobs(_w: &World) -> usize {
    // A shared base, one own layer and one config per component; the release has the base, its
    // own layer and its config.
    NAMES.len() * 2 + 1 + 2
}

#[tokio::test]
async fn mirrors_a_release_with_one_copy_per_unique_blob() {
    let w = world().await;
    let p = plan(&w, &spec(&w, Naming::Release, &[])).await;
    assert_eq!(p.totals.images, NAMES.len() + 1);
    assert_eq!(p.blobs.len(), unique_blobs(&w));
    assert_eq!(p.totals.blobs_to_copy, unique_blobs(&w));
    let report = execute(&p, &fast_options(), Arc::new(NoProgress)).await;
    report.check().unwrap();

    let stats = w.dst.stats();
    assert_eq!(
        stats.blobs_written as usize,
        unique_blobs(&w),
        "each blob copied once"
    );
    assert_eq!(report.totals.blobs_copied as usize, unique_blobs(&w));
    assert_eq!(report.totals.bytes_copied, p.totals.bytes_to_copy);
    for (name, m) in &w.payload.components {
        let tag = format!("{V}-x86_64-{name}");
        let got = w
            .dst
            .read_manifest("okd/release", &ManifestRef::Tag(tag))
            .await
            .unwrap();
        assert_eq!(got.bytes(), m.bytes(), "{name} keeps its exact bytes");
    }
    let rel = w
        .dst
        .read_manifest("okd/release", &ManifestRef::Tag(format!("{V}-x86_64")))
        .await
        .unwrap();
    assert_eq!(rel.digest(), w.payload.release_manifest.digest());
    // The release tag is written after every component.
    let release_report = report.images.iter().find(|i| i.name == "release").unwrap();
    for i in report.images.iter().filter(|i| i.name != "release") {
        assert!(i.finished_after <= release_report.finished_after);
    }
}

#[tokio::test]
async fn rerun_only_checks_manifests() {
    let w = world().await;
    let s = spec(&w, Naming::Release, &[]);
    execute(&plan(&w, &s).await, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    let (src_before, dst_before) = (w.src.stats(), w.dst.stats());

    let again = plan(&w, &s).await;
    assert_eq!(again.totals.pending_images, 0);
    assert!(again.blobs.is_empty());
    let report = execute(&again, &fast_options(), Arc::new(NoProgress)).await;
    report.check().unwrap();
    assert_eq!(report.totals.images_present as usize, NAMES.len() + 1);
    assert_eq!(w.dst.stats(), dst_before, "nothing written");
    let src_after = w.src.stats();
    assert_eq!(src_after.blobs_read, src_before.blobs_read, "no blob read");
    assert_eq!(
        src_after.manifests_read, src_before.manifests_read,
        "no manifest read"
    );
}

#[tokio::test]
async fn interrupted_mirror_copies_only_what_is_missing() {
    let w = world().await;
    let s = spec(&w, Naming::Release, &[]);
    let p = plan(&w, &s).await;
    // As if an earlier run had been killed after three blobs.
    for b in p.blobs.iter().take(3) {
        let data =
            okd_oci::StoreExt::get_blob(w.src.as_ref(), "okd/scos-content", &b.digest, 1 << 20)
                .await
                .or(okd_oci::StoreExt::get_blob(
                    w.src.as_ref(),
                    "okd/scos-release",
                    &b.digest,
                    1 << 20,
                )
                .await)
                .unwrap();
        okd_oci::StoreExt::put_blob(w.dst.as_ref(), "okd/release", &b.digest, data)
            .await
            .unwrap();
    }
    let before = w.dst.stats().blobs_written;
    let p = plan(&w, &s).await;
    assert_eq!(p.totals.blobs_present, 3);
    assert_eq!(p.totals.blobs_to_copy, unique_blobs(&w) - 3);
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    assert_eq!(
        (w.dst.stats().blobs_written - before) as usize,
        unique_blobs(&w) - 3,
        "blobs already there are not copied again"
    );
}

#[tokio::test]
async fn excluded_components_are_left_out_with_a_warning() {
    let w = world().await;
    let p = plan(
        &w,
        &spec(
            &w,
            Naming::Release,
            &["rhel-coreos*", "*-installer", "installer"],
        ),
    )
    .await;
    assert_eq!(p.totals.images, NAMES.len() - 2 + 1);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("installer, rhel-coreos")),
        "{:?}",
        p.warnings
    );
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    let tags = w.dst.list_tags("okd/release").await.unwrap();
    assert!(
        !tags
            .iter()
            .any(|t| t.ends_with("rhel-coreos") || t.ends_with("-installer")),
        "{tags:?}"
    );
    assert!(tags.contains(&format!("{V}-x86_64-cli")));
}

#[tokio::test]
async fn digest_only_naming_writes_no_tags() {
    let w = world().await;
    let p = plan(&w, &spec(&w, Naming::DigestOnly, &[])).await;
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    assert!(w.dst.list_tags("okd/release").await.unwrap().is_empty());
    for (_, m) in &w.payload.components {
        let d = ManifestRef::Digest(m.digest().clone());
        assert_eq!(
            w.dst
                .manifest_digest("okd/release", &d)
                .await
                .unwrap()
                .as_ref(),
            Some(m.digest())
        );
    }
    // And a re-run finds them by digest.
    assert_eq!(
        plan(&w, &spec(&w, Naming::DigestOnly, &[]))
            .await
            .totals
            .pending_images,
        0
    );
}

#[tokio::test]
async fn separate_release_repository_mounts_shared_blobs() {
    let w = world().await;
    let mut s = spec(&w, Naming::Release, &[]);
    s.releases[0].target = s.releases[0]
        .target
        .clone()
        .with_release_image("mirror.local:5000/okd/release-images:4.19".parse().unwrap());
    let p = plan(&w, &s).await;
    let base = p
        .blobs
        .iter()
        .find(|b| b.targets.len() == 2)
        .expect("the base layer goes to both repositories");
    assert!(
        base.targets
            .iter()
            .any(|t| matches!(t.action, BlobAction::Mount { .. }))
    );
    let report = execute(&p, &fast_options(), Arc::new(NoProgress)).await;
    report.check().unwrap();
    assert_eq!(w.dst.stats().blobs_mounted, 1);
    assert_eq!(report.totals.blobs_mounted, 1);
    let tags = w.dst.list_tags("okd/release-images").await.unwrap();
    assert_eq!(tags, ["4.19"]);
}

#[tokio::test]
async fn same_registry_mirror_mounts_from_the_source() {
    let src = arc(MemoryStore::new());
    let m = push_image(
        src.as_ref(),
        "a/b",
        Some("v1"),
        &[("f", b"content")],
        "amd64",
    )
    .await;
    let stores = StoreMap::offline();
    stores.alias("quay.io", src.clone());
    let mapping = ImageMapping::image(
        "quay.io/a/b:v1".parse().unwrap(),
        okd_mirror::parse_repository("quay.io/c/d").unwrap(),
    );
    let p = plan_image(mapping, &PlatformChoice::All, &stores).await;
    assert_eq!(p.totals.blobs_to_mount, 2);
    assert_eq!(p.totals.bytes_to_copy, 0);
    let written_before = src.stats().blobs_written;
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    assert_eq!(
        src.stats().blobs_written,
        written_before,
        "nothing transferred"
    );
    assert_eq!(src.stats().blobs_mounted, 2);
    assert_eq!(
        src.manifest_digest("c/d", &ManifestRef::Tag("v1".into()))
            .await
            .unwrap()
            .as_ref(),
        Some(m.digest())
    );
}

async fn multi_arch_source() -> (
    StoreMap,
    Arc<MemoryStore>,
    RawManifest,
    RawManifest,
    RawManifest,
) {
    let src = arc(MemoryStore::new());
    let (list, amd, arm) = push_multi_arch(
        src.as_ref(),
        "okd/cli",
        "4.19",
        b"amd64 build",
        b"arm64 build",
    )
    .await;
    let dst = arc(MemoryStore::new());
    let stores = StoreMap::offline();
    stores.alias("quay.io", src);
    stores.alias("mirror.local", dst.clone());
    (stores, dst, list, amd, arm)
}

#[tokio::test]
async fn manifest_lists_are_kept_whole() {
    let (stores, dst, list, amd, arm) = multi_arch_source().await;
    let m = ImageMapping::image(
        "quay.io/okd/cli:4.19".parse().unwrap(),
        okd_mirror::parse_repository("mirror.local/okd/cli").unwrap(),
    );
    let p = plan_image(m, &PlatformChoice::All, &stores).await;
    assert_eq!(p.images[0].manifests_to_write, 3);
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    let top = dst
        .read_manifest("okd/cli", &ManifestRef::Tag("4.19".into()))
        .await
        .unwrap();
    assert_eq!(top.bytes(), list.bytes());
    for child in [amd, arm] {
        assert!(
            dst.manifest_digest("okd/cli", &ManifestRef::Digest(child.digest().clone()))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn one_platform_of_a_list() {
    let (stores, dst, _list, _amd, arm) = multi_arch_source().await;
    let m = ImageMapping::image(
        "quay.io/okd/cli:4.19".parse().unwrap(),
        okd_mirror::parse_repository("mirror.local/okd/cli").unwrap(),
    );
    let only = PlatformChoice::Only("linux/arm64".parse().unwrap());
    let p = plan_image(m, &only, &stores).await;
    assert_eq!(&p.images[0].digest, arm.digest());
    execute(&p, &fast_options(), Arc::new(NoProgress))
        .await
        .check()
        .unwrap();
    let top = dst
        .read_manifest("okd/cli", &ManifestRef::Tag("4.19".into()))
        .await
        .unwrap();
    assert_eq!(top.bytes(), arm.bytes());
    assert_eq!(dst.stats().manifests_written, 1);
}

#[tokio::test]
async fn dry_run_plan_counts_bytes_and_writes_nothing() {
    let w = world().await;
    let p = plan(&w, &spec(&w, Naming::Release, &[])).await;
    let expected: u64 = p.blobs.iter().map(|b| b.size).sum();
    assert_eq!(p.totals.bytes_to_copy, expected);
    let report = okd_mirror::MirrorReport::from_plan(&p);
    assert!(report.dry_run);
    assert!(
        report
            .images
            .iter()
            .all(|i| i.status == ImageStatus::Planned)
    );
    assert_eq!(w.dst.stats(), StoreStats::default());
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["totals"]["bytes_to_copy"], expected);
    assert_eq!(json["images"][0]["name"], "cli");
}

#[tokio::test]
async fn two_sources_for_one_tag_are_refused() {
    let w = world().await;
    let mut s = spec(&w, Naming::Release, &[]);
    s.images.push(ImageMapping::image(
        "quay.io/other/image:1".parse().unwrap(),
        format!("mirror.local:5000/okd/release:{V}-x86_64-cli")
            .parse()
            .unwrap(),
    ));
    let loader = StaticReleases::with(w.payload.release.clone());
    let err = MirrorPlan::build(&s, &w.stores, &loader, &fast_options(), &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateDestination { .. }), "{err}");
}

#[tokio::test]
async fn progress_reports_every_blob_and_image() {
    let w = world().await;
    let p = plan(&w, &spec(&w, Naming::Release, &[])).await;
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let progress = Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    execute(&p, &fast_options(), progress)
        .await
        .check()
        .unwrap();
    let events = events.lock().unwrap();
    let copied = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::BlobFinished {
                    outcome: BlobOutcome::Copied,
                    ..
                }
            )
        })
        .count();
    assert_eq!(copied, unique_blobs(&w));
    let bytes: u64 = events
        .iter()
        .filter_map(|e| match e {
            Event::BlobBytes { bytes, .. } => Some(*bytes),
            _ => None,
        })
        .sum();
    assert_eq!(bytes, p.totals.bytes_to_copy);
    let finished = events
        .iter()
        .filter(|e| matches!(e, Event::ImageFinished { .. }))
        .count();
    assert_eq!(finished, NAMES.len() + 1);
    assert!(matches!(
        events.last(),
        Some(Event::Finished {
            failed_images: 0,
            ..
        })
    ));
}

#[tokio::test]
async fn a_blob_the_destination_has_is_never_downloaded() {
    let w = world().await;
    execute(
        &plan(&w, &spec(&w, Naming::Release, &[])).await,
        &fast_options(),
        Arc::new(NoProgress),
    )
    .await
    .check()
    .unwrap();
    let before = w.src.stats();

    // New tags for the same images, planned without per-blob checks: every blob is a
    // copy-if-missing, and the destination finds each present as its upload opens, before the
    // source is asked for a byte.
    let options = okd_mirror::MirrorOptions {
        check_blobs: false,
        ..fast_options()
    };
    let loader = StaticReleases::with(w.payload.release.clone());
    let again = MirrorPlan::build(
        &spec(&w, Naming::Content, &[]),
        &w.stores,
        &loader,
        &options,
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(
        again
            .blobs
            .iter()
            .flat_map(|b| &b.targets)
            .any(|t| t.action == BlobAction::CopyIfMissing),
        "the plan leaves the check to the uploads"
    );
    let report = execute(&again, &options, Arc::new(NoProgress)).await;
    report.check().unwrap();
    assert_eq!(report.totals.bytes_copied, 0);
    assert_eq!(
        w.src.stats().blobs_read,
        before.blobs_read,
        "no source download opened"
    );
}

#[tokio::test]
async fn the_largest_blobs_start_first() {
    let w = world().await;
    let p = plan(&w, &spec(&w, Naming::Release, &[])).await;
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let progress = Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    let one_at_a_time = okd_mirror::MirrorOptions {
        jobs: 1,
        ..fast_options()
    };
    execute(&p, &one_at_a_time, progress).await.check().unwrap();
    let started: Vec<u64> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::BlobStarted { size, .. } => Some(*size),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), unique_blobs(&w));
    let plan_order: Vec<u64> = p.blobs.iter().map(|b| b.size).collect();
    assert!(
        plan_order.windows(2).any(|w| w[0] < w[1]),
        "the plan's own order is not by size: {plan_order:?}"
    );
    assert!(
        started.windows(2).all(|w| w[0] >= w[1]),
        "started in this order: {started:?}"
    );
}
