//! Planning and copying overlap: with one component's manifest held back at the source, the
//! blobs of the images already resolved are copied before the plan is complete.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{registry, release_run, store, store_set};
use okd_mirror::progress::{Event, channel};
use okd_mirror::{Naming, PayloadLoader};
use okd_oci::ManifestRef;
use okd_oci::registry::RegistryOptions;
use testkit::payload::{PayloadSpec, generate};
use testkit::{FaultConfig, FaultProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_of_resolved_images_copy_while_another_image_is_still_read() {
    let (src, dst) = (registry().await, registry().await);
    let stall = Duration::from_secs(3);
    // Each request on a connection of its own, so that the stall reaches exactly its request.
    let options = || RegistryOptions::default().idle_connections_per_host(0);
    let direct = store(&store_set(options(), &[src.host()]), &src.host()).await;
    // The first component manifest read through the proxy is held back.
    let proxy = FaultProxy::spawn(
        &src.host(),
        FaultConfig::new(7)
            .stall(1.0, stall)
            // From the first byte of the answer.
            .drop_after(0..1)
            .matching("GET /v2/okd/scos-content/manifests/")
            .max_faults(1),
    )
    .await
    .unwrap();
    proxy.set_enabled(false);
    let spec = PayloadSpec::new()
        .components(16)
        .operators(4)
        .pullspec_prefix(format!("{}/okd/scos-content", proxy.host()));
    let payload = generate(direct.as_ref(), &spec).await.unwrap();
    proxy.set_enabled(true);
    let set = store_set(options(), &[proxy.host(), dst.host()]);
    let via = proxy.host();

    let (sink, mut events) = channel();
    let run = release_run(
        &format!("{via}/okd/scos-release:{}", payload.version),
        &format!("{}/okd/release", dst.host()),
        Naming::Release,
    );
    run.run(&set, &PayloadLoader::default(), Arc::new(sink))
        .await
        .unwrap()
        .report
        .check()
        .unwrap();
    assert_eq!(proxy.faults_injected(), 1, "{:?}", proxy.stats());

    let mut order = Vec::new();
    while let Ok(e) = events.try_recv() {
        order.push(e);
    }
    let planned = order
        .iter()
        .position(|e| matches!(e, Event::Planned { .. }))
        .expect("a Planned event");
    let copied_before = order[..planned]
        .iter()
        .filter(|e| matches!(e, Event::BlobFinished { .. }))
        .count();
    assert!(
        copied_before > 0,
        "no blob finished before the plan was complete: {order:?}"
    );
    // Every component made it, the held-back one too.
    let dstore = store(&set, &dst.host()).await;
    for c in &payload.components {
        let tag = format!("{}-x86_64-{}", payload.version, c.name);
        assert_eq!(
            dstore
                .manifest_digest("okd/release", &ManifestRef::Tag(tag))
                .await
                .unwrap(),
            Some(c.digest.clone())
        );
    }
}
