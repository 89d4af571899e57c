//! `mirror release` between real registries with `testkit::FaultProxy` in front of both: the
//! source refuses, drops and stalls requests; the destination also breaks and corrupts bodies.
//! Every run completes or fails with a typed error, and after every run the destination is
//! consistent: each tag leads to a complete image whose blobs hash to their digests, and the
//! release is tagged only once every component is. A run without faults then finishes the job.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{registry, release_run, store, store_set};
use okd_mirror::progress::NoProgress;
use okd_mirror::run::ReleaseRun;
use okd_mirror::{ImageStatus, Naming, PayloadLoader};
use okd_oci::registry::RegistryOptions;
use okd_oci::{ManifestRef, Store, StoreMap};
use testkit::integrity::{
    assert_blob_files_match_their_names, assert_complete, assert_no_temp_files,
};
use testkit::payload::{Payload, PayloadSpec, generate};
use testkit::{FaultConfig, FaultProxy, Registry};

const DEST: &str = "okd/release";

fn stores(hosts: &[String]) -> StoreMap {
    let options = RegistryOptions::default()
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(10))
        // One connection per request, so that per-connection faults reach every request.
        .idle_connections_per_host(0);
    store_set(options, hosts)
}

/// A payload in `src` whose component pullspecs name `via` (the proxy in front of `src`).
async fn payload(src: &Registry, via: &str) -> Payload {
    let set = stores(&[src.host()]);
    let direct = store(&set, &src.host()).await;
    let spec = PayloadSpec::new()
        .components(16)
        .operators(4)
        .layer_size(8 * 1024)
        .base_layer_size(32 * 1024)
        .pullspec_prefix(format!("{via}/okd/scos-content"));
    generate(direct.as_ref(), &spec).await.unwrap()
}

/// Reads every image a tag of `repo` leads to, verifying every blob; returns the tags.
async fn assert_consistent(store: &dyn Store, repo: &str) -> BTreeSet<String> {
    let tags: BTreeSet<String> = store.list_tags(repo).await.unwrap().into_iter().collect();
    for tag in &tags {
        assert_complete(store, repo, &ManifestRef::Tag(tag.clone())).await;
    }
    tags
}

/// The release is tagged only when every component is.
fn assert_release_only_when_complete(tags: &BTreeSet<String>, payload: &Payload) {
    let release = format!("{}-x86_64", payload.version);
    if tags.contains(&release) {
        for c in &payload.components {
            let tag = format!("{release}-{}", c.name);
            assert!(
                tags.contains(&tag),
                "the release is tagged but {tag} is missing"
            );
        }
    }
}

fn mixes() -> Vec<(FaultConfig, bool)> {
    let mild = |seed| {
        FaultConfig::new(seed)
            .reject(0.1)
            .drop(0.1)
            .drop_after(0..150)
            .stall(0.05, Duration::from_secs(2))
    };
    let harsh = |seed| {
        FaultConfig::new(seed)
            .reject(0.08)
            .drop(0.08)
            .drop_after(0..1000)
            .stall(0.04, Duration::from_secs(2))
            .corrupt(0.04)
    };
    vec![
        (mild(2001), true),
        (harsh(2002), false),
        (harsh(2003), false),
        (mild(2004), true),
    ]
}

fn options(from: String, to: String) -> ReleaseRun {
    let mut run = release_run(&from, &to, Naming::Release);
    run.options.jobs = 4;
    // A mild mix fails about one request in four; twelve attempts keep a run that meets twelve
    // faults in a row on one request (the proxy draws per connection) to a few in a million.
    run.options.retry.attempts = 12;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_release_through_faults_leaves_a_consistent_registry() {
    let src = registry().await;
    // The source proxy only refuses, drops and stalls before bodies move, which retries absorb.
    let src_proxy = FaultProxy::spawn(
        &src.host(),
        FaultConfig::new(2000)
            .reject(0.05)
            .drop(0.05)
            .drop_after(0..150),
    )
    .await
    .unwrap();
    src_proxy.set_enabled(false);
    let payload = payload(&src, &src_proxy.host()).await;
    src_proxy.set_enabled(true);
    let from = format!("{}/okd/scos-release:{}", src_proxy.host(), payload.version);

    // Each run mirrors into a registry of its own, so that every blob is uploaded (a registry
    // that has a blob in another repository would mount it instead).
    let mut destinations = Vec::new();
    let mut failed_runs = Vec::new();
    let mut body_faults = 0;
    for (run, (faults, must_succeed)) in mixes().into_iter().enumerate() {
        let dst = registry().await;
        let direct = store(&stores(&[dst.host()]), &dst.host()).await;
        let dst_proxy = FaultProxy::spawn(&dst.host(), faults).await.unwrap();
        let set = stores(&[src_proxy.host(), dst_proxy.host()]);
        let opts = options(from.clone(), format!("{}/{DEST}", dst_proxy.host()));
        let outcome = opts
            .run(&set, &PayloadLoader::default(), Arc::new(NoProgress))
            .await;
        eprintln!(
            "run {run}: destination {:?} -> {:?}",
            dst_proxy.stats(),
            outcome.as_ref().map(|o| o.report.images.len())
        );
        assert!(dst_proxy.faults_injected() > 0, "run {run}: no fault");
        if !must_succeed {
            body_faults += dst_proxy.stats().dropped + dst_proxy.stats().corrupted;
        }
        if must_succeed {
            let o = outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("run {run}: {e}"));
            assert!(
                o.report
                    .images
                    .iter()
                    .all(|i| i.status != ImageStatus::Failed)
            );
        } else if let Err(e) = &outcome {
            assert!(!e.to_string().is_empty());
            failed_runs.push(run);
        }
        let tags = assert_consistent(direct.as_ref(), DEST).await;
        assert_release_only_when_complete(&tags, &payload);
        destinations.push((dst, direct));
    }
    assert!(src_proxy.faults_injected() > 0, "{:?}", src_proxy.stats());
    assert!(body_faults > 0, "the harsh runs broke no transfer");

    // Without faults the mirror completes what a failed run left, and the release is the
    // source's, byte for byte.
    let (dst, direct) = &destinations[failed_runs.first().copied().unwrap_or(0)];
    src_proxy.set_enabled(false);
    let set = stores(&[src_proxy.host(), dst.host()]);
    let outcome = options(from.clone(), format!("{}/{DEST}", dst.host()))
        .run(&set, &PayloadLoader::default(), Arc::new(NoProgress))
        .await
        .unwrap();
    assert!(
        outcome
            .report
            .images
            .iter()
            .all(|i| i.status != ImageStatus::Failed)
    );
    let tags = assert_consistent(direct.as_ref(), DEST).await;
    let release = format!("{}-x86_64", payload.version);
    assert!(tags.contains(&release), "{tags:?}");
    assert_release_only_when_complete(&tags, &payload);
    let mirrored = direct
        .manifest_digest(DEST, &ManifestRef::Tag(release))
        .await
        .unwrap();
    assert_eq!(mirrored, Some(payload.release.digest.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_release_to_a_layout_from_a_faulty_registry_leaves_no_partial_file() {
    let src = registry().await;
    // Every fault kind on the source, bodies included: blobs break off and arrive corrupted
    // half-way into the layout's temp files.
    let (harsh, _) = mixes().swap_remove(1);
    let src_proxy = FaultProxy::spawn(&src.host(), harsh).await.unwrap();
    src_proxy.set_enabled(false);
    let payload = payload(&src, &src_proxy.host()).await;
    src_proxy.set_enabled(true);
    let from = format!("{}/okd/scos-release:{}", src_proxy.host(), payload.version);
    let disk = tempfile::tempdir().unwrap();
    let set = stores(&[src_proxy.host()]);
    let layout_of = |run: usize| disk.path().join(format!("mirror-{run}"));

    // The proxy's draws go on from connection to connection, so each run meets other faults;
    // each run writes a layout of its own.
    let mut failed_runs = Vec::new();
    for run in 0..4 {
        let root = layout_of(run);
        let to = format!("oci:{}:okd/release", root.display());
        let outcome = options(from.clone(), to)
            .run(&set, &PayloadLoader::default(), Arc::new(NoProgress))
            .await;
        eprintln!(
            "layout run {run}: source {:?} -> {:?}",
            src_proxy.stats(),
            outcome.as_ref().map(|o| o.report.images.len())
        );
        if outcome.is_err() {
            failed_runs.push(run);
        }
        if root.exists() {
            let layout = okd_oci::LayoutStore::open(&root).await.unwrap();
            let tags = assert_consistent(&layout, "okd/release").await;
            assert_release_only_when_complete(&tags, &payload);
            assert_no_partial_files(&root);
        }
    }
    assert!(src_proxy.faults_injected() > 0, "{:?}", src_proxy.stats());

    // Without faults, the mirror completes what a failed run left.
    let root = layout_of(failed_runs.first().copied().unwrap_or(0));
    let to = format!("oci:{}:okd/release", root.display());
    src_proxy.set_enabled(false);
    options(from, to)
        .run(&set, &PayloadLoader::default(), Arc::new(NoProgress))
        .await
        .unwrap();
    let layout = okd_oci::LayoutStore::open(&root).await.unwrap();
    let tags = assert_consistent(&layout, "okd/release").await;
    let release = format!("{}-x86_64", payload.version);
    assert!(tags.contains(&release), "{tags:?}");
    assert_release_only_when_complete(&tags, &payload);
    assert_no_partial_files(&root);
}

/// No temporary file is left in the layout, and every blob file is complete.
fn assert_no_partial_files(root: &Path) {
    assert_no_temp_files(root);
    assert_blob_files_match_their_names(root);
}
