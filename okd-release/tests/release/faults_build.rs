//! `ReleaseBuilder` (what `oc adm release new` does) through `testkit::FaultProxy` in front of a
//! real `docker-registry`: connections are refused with 503s, dropped part-way, stalled past the
//! read timeout and corrupted. Every run must either complete or fail with a typed error, and
//! after every run the destination is consistent: each tag points at a manifest whose blobs are
//! all present and intact, and a tag exists for a run only if that run's image is complete.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use okd_oci::registry::{RegistryOptions, RegistryStore, RetryPolicy};
use okd_oci::{LayoutStore, ManifestRef, Store, StoreMap};
use okd_release::{Release, ReleaseBuilder};
use testkit::integrity::{
    assert_blob_files_match_their_names, assert_complete, assert_no_temp_files,
};
use testkit::payload::{Payload, PayloadSpec, generate};
use testkit::{FaultConfig, FaultProxy, Registry};

const BUILT: &str = "okd/built";

fn options(host: &str, dir: &Path) -> RegistryOptions {
    testkit::stores::plain_options(host, dir)
        // A mild mix fails about one matching request in four (reject, drop, or a stall past the
        // read timeout), and the proxy draws per connection, not per request: six attempts left a
        // few-percent chance that one of a run's requests met six faults in a row. Twelve make
        // it a few in a million per run, so a failed mild run means the retries are broken.
        .retry(RetryPolicy::new(
            12,
            Duration::from_millis(10),
            Duration::from_millis(100),
        ))
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(10))
        // One connection per request, so that per-connection faults reach every request.
        .idle_connections_per_host(0)
}

async fn payload_in(registry: &Registry) -> (RegistryStore, Payload) {
    let direct =
        RegistryStore::new(&registry.host(), options(&registry.host(), registry.dir())).unwrap();
    let spec = PayloadSpec::new()
        .components(24)
        .operators(6)
        .layer_size(8 * 1024)
        .base_layer_size(64 * 1024);
    let payload = generate(&direct, &spec).await.expect("payload");
    (direct, payload)
}

/// A registry holding a generated payload, a direct store for it, and the payload's release.
async fn registry_with_release() -> (Registry, Arc<RegistryStore>, Release) {
    let registry = Registry::spawn().await.expect("docker-registry");
    let (direct, payload) = payload_in(&registry).await;
    let release = Release::load(
        &direct,
        &payload_release_repo(&payload),
        &ManifestRef::Tag(payload.version.clone()),
    )
    .await
    .unwrap();
    (registry, Arc::new(direct), release)
}

/// A proxy injecting `faults` in front of `registry`, and a store that goes through it.
async fn proxied(registry: &Registry, faults: FaultConfig) -> (FaultProxy, Arc<RegistryStore>) {
    let proxy = FaultProxy::spawn(&registry.host(), faults).await.unwrap();
    let store = RegistryStore::new(&proxy.host(), options(&proxy.host(), registry.dir())).unwrap();
    (proxy, Arc::new(store))
}

/// One run's faults, and whether the run must get through them.
struct Mix {
    faults: FaultConfig,
    must_succeed: bool,
}

/// Mild mixes hit requests before any body moves (refused with 503, dropped or stalled while the
/// request or the response head is on the wire), which the retries get through. Harsh mixes
/// also break and corrupt bodies, which a build may not survive: a blob half read or a corrupted
/// manifest fails the build, cleanly.
fn fault_mixes() -> Vec<Mix> {
    let mild = |seed: u64, matching: &str| Mix {
        faults: FaultConfig::new(seed)
            .reject(0.1)
            .drop(0.1)
            .drop_after(0..150)
            .stall(0.05, Duration::from_secs(2))
            .matching(matching),
        must_succeed: true,
    };
    let harsh = |seed: u64| Mix {
        faults: FaultConfig::new(seed)
            .reject(0.08)
            .drop(0.08)
            .drop_after(0..1000)
            .stall(0.04, Duration::from_secs(2))
            .corrupt(0.04),
        must_succeed: false,
    };
    vec![
        mild(1001, "GET "),
        harsh(1002),
        mild(1003, "GET /v2/okd/scos-content/manifests/"),
        harsh(1004),
        mild(1005, "GET "),
        harsh(1006),
    ]
}

fn builder(release: &Release, run: u64) -> ReleaseBuilder {
    ReleaseBuilder::from_release(release.clone())
        .name(&format!("4.19.0-okd-scos.{}", 100 + run))
        .created(chrono::Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap())
}

/// Walks every tag of `repo`: each must lead to a complete image.
async fn assert_consistent(store: &dyn Store) -> Vec<String> {
    let tags = store.list_tags(BUILT).await.unwrap();
    for tag in &tags {
        let blobs = assert_complete(store, BUILT, &ManifestRef::Tag(tag.clone())).await;
        assert!(blobs >= 2, "{tag}: {blobs} blobs");
    }
    tags
}

/// After a run: a success is tagged, complete and loads as the release it built; a failure
/// names its cause and left either nothing under its tag or a complete image (the manifest was
/// stored but the answer was lost on the way back).
async fn check_run(
    direct: &dyn Store,
    run: u64,
    outcome: &Result<okd_release::BuiltRelease, okd_release::Error>,
) {
    let tag = format!("run-{run}");
    let tags = assert_consistent(direct).await;
    match outcome {
        Ok(built) => {
            assert!(
                tags.contains(&tag),
                "run {run} succeeded but {tag} is missing"
            );
            let at = direct
                .manifest_digest(BUILT, &ManifestRef::Tag(tag.clone()))
                .await
                .unwrap();
            assert_eq!(at.as_ref(), Some(&built.digest));
            let loaded = Release::load(direct, BUILT, &ManifestRef::Tag(tag))
                .await
                .unwrap();
            assert_eq!(loaded.name, format!("4.19.0-okd-scos.{}", 100 + run));
            assert_eq!(loaded.digest, built.digest);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            if tags.contains(&tag) {
                // Complete (checked above) and the release it was meant to be.
                let loaded = Release::load(direct, BUILT, &ManifestRef::Tag(tag))
                    .await
                    .unwrap();
                assert_eq!(loaded.name, format!("4.19.0-okd-scos.{}", 100 + run));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_new_through_faults_completes_or_fails_cleanly() {
    let (registry, direct, release) = registry_with_release().await;

    let mut outcomes = Vec::new();
    for (run, mix) in fault_mixes().into_iter().enumerate() {
        let run = run as u64;
        let (proxy, proxied) = proxied(&registry, mix.faults).await;
        let outcome = builder(&release, run)
            .build(
                &StoreMap::offline().with_fallback(proxied.clone()),
                proxied.as_ref(),
                BUILT,
                Some(&format!("run-{run}")),
            )
            .await;
        assert!(
            proxy.faults_injected() > 0,
            "run {run}: {:?}",
            proxy.stats()
        );
        eprintln!(
            "registry run {run}: {:?} -> {:?}",
            proxy.stats(),
            outcome.as_ref().map(|b| &b.digest)
        );
        check_run(direct.as_ref(), run, &outcome).await;
        if mix.must_succeed {
            assert!(outcome.is_ok(), "run {run} (mild faults): {outcome:?}");
        }
        outcomes.push(outcome.map(|b| b.digest).map_err(|e| e.to_string()));
    }

    // Without faults every run succeeds, and each name gives the same image as before.
    for (run, earlier) in outcomes.iter().enumerate() {
        let run = run as u64;
        let built = builder(&release, run)
            .build(
                &StoreMap::offline().with_fallback(direct.clone()),
                direct.as_ref(),
                BUILT,
                Some(&format!("run-{run}")),
            )
            .await
            .unwrap();
        if let Ok(digest) = earlier {
            assert_eq!(digest, &built.digest, "run {run} is reproducible");
        }
        check_run(direct.as_ref(), run, &Ok(built)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_new_into_a_layout_from_a_faulty_registry_leaves_no_partial_file() {
    let (registry, _, release) = registry_with_release().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutStore::create(dir.path().join("oci")).await.unwrap();

    for (run, mix) in fault_mixes().into_iter().enumerate() {
        let run = run as u64;
        let (proxy, proxied) = proxied(&registry, mix.faults).await;
        let outcome = builder(&release, run)
            .build(
                &StoreMap::offline().with_fallback(proxied.clone()),
                &layout,
                BUILT,
                Some(&format!("run-{run}")),
            )
            .await;
        // A fresh handle reads only what is on disk.
        eprintln!(
            "layout run {run}: {:?} -> {:?}",
            proxy.stats(),
            outcome.as_ref().map(|b| &b.digest)
        );
        let reopened = LayoutStore::open(dir.path().join("oci")).await.unwrap();
        check_run(&reopened, run, &outcome).await;
        assert_no_temp_files(&dir.path().join("oci"));
        assert_blob_files_match_their_names(&dir.path().join("oci"));
        assert!(
            proxy.faults_injected() > 0,
            "run {run}: {:?}",
            proxy.stats()
        );
        if mix.must_succeed {
            assert!(outcome.is_ok(), "run {run} (mild faults): {outcome:?}");
        }
    }
}

fn payload_release_repo(p: &Payload) -> String {
    p.release.repo.clone()
}
