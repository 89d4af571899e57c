//! `okd-streams coreos layer`: adding a 10 MiB directory to an OS image with 1 GiB of base
//! layers and to one with 10 MiB, in a loopback docker-registry and in an OCI layout. Base
//! layers are never copied, so the two should take about the same time.
//!
//! Run with `cargo bench --bench coreos_layering` (see benches/README.md).

mod support;

use std::path::Path;
use std::time::Duration;

use okd_oci::LayoutStore;
use okd_oci::layer::Compression;
use support::{Noise, registry_flags, registry_store, summarise, time_okd};
use testkit::payload::{PayloadSpec, generate};

const RUNS: usize = 9;
const OVERLAY_FILES: usize = 40;
const OVERLAY_FILE_SIZE: usize = 256 * 1024;

/// An OS image of `layers` chunks of `size` bytes each, in `repo` (with a CVO beside it).
fn os_spec(repo: &str, layers: usize, size: u64) -> PayloadSpec {
    PayloadSpec::new()
        .components(2)
        .layer_size(64 * 1024)
        .os_layers(layers)
        .os_layer_size(size)
        .compression(Compression::None)
        .content_repo(format!("{repo}/content"))
        .release_repo(format!("{repo}/release"))
}

fn main() {
    if support::not_under_cargo_bench("coreos_layering") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(bench());
}

fn overlay(dir: &Path) {
    let mut noise = Noise::new(42);
    let mut buf = vec![0u8; OVERLAY_FILE_SIZE];
    for i in 0..OVERLAY_FILES {
        let sub = dir.join(format!("okd/{}", i % 4));
        std::fs::create_dir_all(&sub).expect("overlay dir");
        noise.fill(&mut buf);
        std::fs::write(sub.join(format!("blob-{i}.bin")), &buf).expect("overlay file");
    }
}

/// Times `coreos layer` from each base to a new tag of its destination repository, alternating
/// between the bases run by run so that both see the same machine load. Every run adds a file of
/// its own so that no run finds its layer already uploaded. Returns the times per base.
fn time_layering(
    flags: &[String],
    overlay: &Path,
    cases: [(&str, &str); 2],
    id: &str,
) -> [Vec<Duration>; 2] {
    let mut times = [Vec::new(), Vec::new()];
    for run in 0..=RUNS {
        for (i, (from, to_repo)) in cases.iter().enumerate() {
            std::fs::write(overlay.join("run-id"), format!("{id}-{i}-{run}\n")).expect("run id");
            let mut args: Vec<String> = flags.to_vec();
            args.extend(
                [
                    "coreos",
                    "layer",
                    "--from",
                    from,
                    "--add",
                    &format!("{}:/etc", overlay.display()),
                    "--machine-os",
                    "9.0.20250601-0",
                    "--to",
                    &format!("{to_repo}:run-{run}"),
                ]
                .map(String::from),
            );
            let (elapsed, _) = time_okd(&args);
            // The first round warms the page cache and the registry.
            if run > 0 {
                times[i].push(elapsed);
            }
        }
    }
    times
}

fn print_ratio(where_: &str, times: [Vec<Duration>; 2]) {
    let [big, small] = times.map(summarise);
    println!("{where_}, 1 GiB base: {big}");
    println!("{where_}, 10 MiB base: {small}");
    let ratio = big.median.as_secs_f64() / small.median.as_secs_f64();
    // On a busy machine the fastest runs show the cost of the work itself best.
    let min_ratio = big.min.as_secs_f64() / small.min.as_secs_f64();
    println!(
        "{where_} ratio 1 GiB / 10 MiB base: {ratio:.2} of the medians ({min_ratio:.2} of the fastest runs); target <= 1.2: {}",
        if ratio <= 1.2 { "met" } else { "NOT met" }
    );
}

async fn bench() {
    let work = tempfile::tempdir().expect("temp dir");
    let overlay_dir = work.path().join("overlay");
    overlay(&overlay_dir);
    let big = os_spec("big", 16, 64 << 20);
    // The same number of layers, so that only their size differs.
    let small = os_spec("small", 16, 640 << 10);

    // Registry.
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required (apt-get install docker-registry)");
    let host = registry.host();
    let store = registry_store(&registry);
    for spec in [&big, &small] {
        let p = generate(&store, spec)
            .await
            .expect("generating an OS image");
        let os = p.component("stream-coreos").expect("OS image");
        let bytes: u64 = os.layers.iter().map(|l| l.size).sum();
        println!(
            "registry: OS image with {} layers, {:.1} MiB",
            os.layers.len(),
            bytes as f64 / (1 << 20) as f64
        );
    }
    let flags = registry_flags(&registry);
    let big_from = format!("{host}/big/content:stream-coreos");
    let small_from = format!("{host}/small/content:stream-coreos");
    let (big_to, small_to) = (format!("{host}/big/node"), format!("{host}/small/node"));
    let times = time_layering(
        &flags,
        &overlay_dir,
        [(&big_from, &big_to), (&small_from, &small_to)],
        "registry",
    );
    print_ratio("registry", times);
    drop(registry);

    // Layout.
    let layout = work.path().join("layout");
    let store = LayoutStore::create(&layout).await.expect("layout");
    for spec in [&big, &small] {
        generate(&store, spec)
            .await
            .expect("generating an OS image");
    }
    let at = |r: &str| format!("oci:{}:{r}", layout.display());
    let (big_from, small_from) = (
        at("big/content:stream-coreos"),
        at("small/content:stream-coreos"),
    );
    let (big_to, small_to) = (at("big/node"), at("small/node"));
    let times = time_layering(
        &[],
        &overlay_dir,
        [(&big_from, &big_to), (&small_from, &small_to)],
        "layout",
    );
    print_ratio("layout", times);
}
