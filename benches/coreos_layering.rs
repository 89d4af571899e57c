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

const RUNS: usize = 5;
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

/// Times `coreos layer` from `from` to a new tag of `to_repo` per run; every run adds a file
/// of its own so that no run finds its layer already uploaded.
fn time_layering(
    flags: &[String],
    overlay: &Path,
    from: &str,
    to_repo: &str,
    id: &str,
) -> Vec<Duration> {
    (0..=RUNS)
        .filter_map(|run| {
            std::fs::write(overlay.join("run-id"), format!("{id}-{run}\n")).expect("run id");
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
            // The first run warms the page cache and the registry.
            (run > 0).then_some(elapsed)
        })
        .collect()
}

async fn bench() {
    let work = tempfile::tempdir().expect("temp dir");
    let overlay_dir = work.path().join("overlay");
    overlay(&overlay_dir);
    let big = os_spec("big", 16, 64 << 20);
    let small = os_spec("small", 10, 1 << 20);

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
    let big_t = summarise(time_layering(
        &flags,
        &overlay_dir,
        &format!("{host}/big/content:stream-coreos"),
        &format!("{host}/big/node"),
        "registry-big",
    ));
    let small_t = summarise(time_layering(
        &flags,
        &overlay_dir,
        &format!("{host}/small/content:stream-coreos"),
        &format!("{host}/small/node"),
        "registry-small",
    ));
    println!("registry, 1 GiB base: {big_t}");
    println!("registry, 10 MiB base: {small_t}");
    let ratio = big_t.median.as_secs_f64() / small_t.median.as_secs_f64();
    println!(
        "registry ratio 1 GiB / 10 MiB base: {ratio:.2}; target <= 1.2: {}",
        if ratio <= 1.2 { "met" } else { "NOT met" }
    );
    drop(registry);

    // Layout.
    let layout = work.path().join("layout");
    let store = LayoutStore::create(&layout).await.expect("layout");
    for spec in [&big, &small] {
        generate(&store, spec)
            .await
            .expect("generating an OS image");
    }
    let big_t = summarise(time_layering(
        &[],
        &overlay_dir,
        &format!("oci:{}:big/content:stream-coreos", layout.display()),
        &format!("oci:{}:big/node", layout.display()),
        "layout-big",
    ));
    let small_t = summarise(time_layering(
        &[],
        &overlay_dir,
        &format!("oci:{}:small/content:stream-coreos", layout.display()),
        &format!("oci:{}:small/node", layout.display()),
        "layout-small",
    ));
    println!("layout, 1 GiB base: {big_t}");
    println!("layout, 10 MiB base: {small_t}");
    let ratio = big_t.median.as_secs_f64() / small_t.median.as_secs_f64();
    println!(
        "layout ratio 1 GiB / 10 MiB base: {ratio:.2}; target <= 1.2: {}",
        if ratio <= 1.2 { "met" } else { "NOT met" }
    );
}
