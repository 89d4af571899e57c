//! `okd-streams release lint` of a release image whose payload holds 900 manifest files, in a
//! loopback docker-registry, timed as whole processes of the release-mode binary (the release
//! layer is read, unpacked into a temporary directory and every document checked against the
//! four cluster profiles).
//!
//! Run with `cargo bench -p okd-streams-cli --bench release_lint` (see benches/README.md).

mod support;

use std::sync::Arc;

use okd_oci::{ManifestRef, StoreMap};
use okd_release::{Release, ReleaseBuilder};
use support::{registry_flags, registry_store, report, summarise, time_okd};
use testkit::payload::{PayloadSpec, generate};

const RUNS: usize = 9;
const FILES: usize = 900;

fn main() {
    if support::not_under_cargo_bench("release_lint") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(bench());
}

/// A namespaced Deployment, as operators ship them, with the profile annotations.
fn manifest(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bench-{i}\n  namespace: openshift-bench\n  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n    include.release.openshift.io/single-node-developer: \"true\"\n    capability.openshift.io/name: Console\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{name: bench-{i}}}\n  template:\n    metadata:\n      labels: {{name: bench-{i}}}\n    spec:\n      containers:\n      - name: bench\n        image: quay.io/okd/scos-content@sha256:{:064x}\n        env:\n        - {{name: RELEASE_VERSION, value: 4.19.0}}\n",
        i
    )
}

async fn bench() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required (apt-get install docker-registry)");
    let host = registry.host();
    let store = registry_store(&registry);
    let spec = PayloadSpec::new()
        .components(40)
        .pullspec_prefix(format!("{host}/okd/scos-content"));
    let payload = generate(&store, &spec)
        .await
        .expect("generating the payload");
    let release = Release::load(
        &store,
        "okd/scos-release",
        &ManifestRef::Tag(payload.version.clone()),
    )
    .await
    .expect("loading the payload");
    let operator_files = release.manifests.len();
    let mut builder = ReleaseBuilder::from_release(release).name("4.19.0-okd-scos.900");
    for i in 0..FILES.saturating_sub(operator_files) {
        builder = builder.extra_manifest(&format!("0000_90_bench_{i:04}.yaml"), manifest(i));
    }
    let stores = StoreMap::offline().with_fallback(Arc::new(registry_store(&registry)));
    let built = builder
        .build(&stores, &store, "okd/lint-release", None)
        .await
        .expect("building the release");
    println!(
        "release {}: {} manifest files, registry {host}",
        built.payload.name,
        built.payload.files.len()
    );
    let mut args = registry_flags(&registry);
    args.extend([
        "release".to_string(),
        "lint".to_string(),
        format!("{host}/okd/lint-release:4.19.0-okd-scos.900"),
    ]);
    let (_, out) = time_okd(&args);
    assert!(out.contains(", 0 problems\n"), "{out}");
    let s = summarise((0..RUNS).map(|_| time_okd(&args).0).collect());
    report(
        &format!(
            "release lint, {} manifest files, registry",
            built.payload.files.len()
        ),
        &s,
        "< 1 s",
        s.median.as_secs_f64() < 1.0,
    );
}
