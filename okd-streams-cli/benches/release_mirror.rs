//! `okd-streams release new --mirror` on a 190-component payload in a loopback docker-registry,
//! timed as whole processes of the release-mode binary, beside `release new` without a mirror.
//!
//! Run with `cargo bench -p okd-streams-cli --bench release_mirror` (see benches/README.md).

mod support;

use std::time::Duration;

use support::{registry_flags, registry_store, report, summarise, time_okd};
use testkit::payload::{PayloadSpec, generate};

const RUNS: usize = 5;

fn main() {
    if support::not_under_cargo_bench("release_mirror") {
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
    println!(
        "payload {}: {} components, {:.1} MiB of blobs, registry {host}",
        payload.version,
        payload.components.len(),
        payload.unique_blob_bytes as f64 / (1 << 20) as f64
    );
    let flags = registry_flags(&registry);
    let release = format!("{host}/okd/scos-release:{}", payload.version);
    let new = |name: &str, mirror: Option<&str>| -> Vec<String> {
        let mut args = flags.clone();
        for a in ["release", "new", "--from-release", &release, "--name", name] {
            args.push(a.to_string());
        }
        if let Some(m) = mirror {
            args.extend(["--mirror".to_string(), m.to_string()]);
        }
        args.extend([
            "--to-image".to_string(),
            format!("{host}/okd/mirror-release:{name}"),
        ]);
        args
    };
    // Runs `RUNS` timed builds after one warm-up; `mirror(run)` names the mirror of each.
    let series = |label: u32, mirror: &dyn Fn(usize) -> Option<String>| -> Vec<Duration> {
        let mut times = Vec::new();
        for run in 0..=RUNS {
            let name = format!("4.19.0-okd-scos.{label}{run:02}");
            let (elapsed, out) = time_okd(&new(&name, mirror(run).as_deref()));
            assert!(out.contains(&name), "{out}");
            if run > 0 {
                times.push(elapsed);
            }
        }
        times
    };

    let plain = summarise(series(1, &|_| None));
    println!("release new (no mirror), 190 components, registry: {plain}");
    // A fresh mirror repository each run: every component is copied (blobs mounted within the
    // registry, every manifest written).
    let fresh = summarise(series(2, &|run| Some(format!("{host}/okd/mirror-{run}"))));
    println!("release new --mirror into an empty repository, 190 components: {fresh}");
    // The same mirror every run: its blobs are there, so what remains is everything but the
    // byte copy (one check per blob, 190 manifests and tags written, the references rewritten).
    let present = summarise(series(3, &|_| Some(format!("{host}/okd/mirror-0"))));
    let beyond = present.median.saturating_sub(plain.median);
    report(
        "release new --mirror, blobs already mirrored, 190 components",
        &present,
        "< 3 s beyond the copy",
        present.median.as_secs_f64() < 3.0,
    );
    println!(
        "mirror overhead over release new: {:.3} s (median {:.3} s vs {:.3} s)",
        beyond.as_secs_f64(),
        present.median.as_secs_f64(),
        plain.median.as_secs_f64()
    );
}
