//! `okd-streams release info` and `release new` on a 190-component payload (60 operators) in a
//! loopback docker-registry, timed as whole processes of the release-mode binary.
//!
//! Run with `cargo bench --bench release` (see benches/README.md).

mod support;

use std::time::Duration;

use support::{registry_flags, registry_store, report, summarise, time_okd};
use testkit::payload::{PayloadSpec, generate};

const INFO_RUNS: usize = 9;
const NEW_RUNS: usize = 5;

fn main() {
    if support::not_under_cargo_bench("release") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required (apt-get install docker-registry)");
    let host = registry.host();
    let store = registry_store(&registry);
    let spec = PayloadSpec::new()
        .components(190)
        .operators(60)
        .pullspec_prefix(format!("{host}/okd/scos-content"));
    let payload = generate(&store, &spec)
        .await
        .expect("generating the payload");
    let operators = payload.operators().count();
    println!(
        "payload {}: {} components, {operators} operators, {} manifests, {:.1} MiB of blobs, registry {host}",
        payload.version,
        payload.components.len(),
        payload.release_files.len(),
        payload.unique_blob_bytes as f64 / (1 << 20) as f64
    );
    let flags = registry_flags(&registry);
    let release = format!("{host}/okd/scos-release:{}", payload.version);

    let args = |rest: &[&str]| -> Vec<String> {
        flags
            .iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    };

    // release info: one warm-up, then timed runs.
    let info = args(&["release", "info", &release]);
    let (_, text) = time_okd(&info);
    let listed = text
        .lines()
        .skip_while(|l| *l != "Images:")
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .count();
    assert_eq!(listed, payload.components.len(), "{text}");
    let times: Vec<Duration> = (0..INFO_RUNS).map(|_| time_okd(&info).0).collect();
    let s = summarise(times);
    report(
        "release info, 190 components, registry",
        &s,
        "< 0.5 s",
        s.median.as_secs_f64() < 0.5,
    );
    let json = args(&["release", "info", "-o", "json", &release]);
    let s = summarise((0..INFO_RUNS).map(|_| time_okd(&json).0).collect());
    report(
        "release info -o json, 190 components, registry",
        &s,
        "< 0.5 s",
        s.median.as_secs_f64() < 0.5,
    );

    // release new: every component's config and every operator's manifests are read, the
    // payload merged and a release image pushed. Each run writes its own tag and name.
    let os = &payload
        .component("stream-coreos")
        .expect("OS image")
        .pullspec;
    let mut times = Vec::new();
    for run in 0..=NEW_RUNS {
        let name = format!("4.19.0-okd-scos.{}", 100 + run);
        let new = args(&[
            "release",
            "new",
            "--from-release",
            &release,
            "--name",
            &name,
            "--include-all",
            &format!("stream-coreos={os}"),
            "--to-image",
            &format!("{host}/okd/scos-release:{name}"),
        ]);
        let (elapsed, out) = time_okd(&new);
        assert!(out.contains(&name), "{out}");
        if run > 0 {
            times.push(elapsed);
        }
    }
    let s = summarise(times);
    report(
        "release new, 190 components / 60 operators, registry",
        &s,
        "< 3 s",
        s.median.as_secs_f64() < 3.0,
    );
}
