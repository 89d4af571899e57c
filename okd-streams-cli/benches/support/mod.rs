//! Shared by the benches: timing the release-mode `okd-streams` binary and summarising runs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// The `okd-streams` binary cargo built for this bench (release profile under `cargo bench`).
pub const OKD_STREAMS: &str = env!("CARGO_BIN_EXE_okd-streams");

/// Runs `okd-streams args…`, panicking with its stderr when it fails; returns the wall time and
/// stdout.
pub fn time_okd(args: &[String]) -> (Duration, String) {
    let start = Instant::now();
    let out = Command::new(OKD_STREAMS)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("running okd-streams");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "okd-streams {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Median, minimum and maximum of some durations.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    pub runs: usize,
}

pub fn summarise(mut times: Vec<Duration>) -> Summary {
    assert!(!times.is_empty());
    times.sort();
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    };
    Summary {
        median,
        min: times[0],
        max: times[n - 1],
        runs: n,
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:.3} s (min {:.3} s, max {:.3} s, {} runs)",
            self.median.as_secs_f64(),
            self.min.as_secs_f64(),
            self.max.as_secs_f64(),
            self.runs
        )
    }
}

/// Prints a result line with its target.
pub fn report(what: &str, s: &Summary, target: &str, met: bool) {
    println!(
        "{what}: {s}; target {target}: {}",
        if met { "met" } else { "NOT met" }
    );
}

/// Flags that let the binary reach a plain-HTTP loopback registry without picking up the
/// user's credentials.
pub fn registry_flags(registry: &testkit::Registry) -> Vec<String> {
    let auth = registry.dir().join("empty-auth.json");
    std::fs::write(&auth, "{\"auths\":{}}").expect("writing an empty auth file");
    vec![
        "--insecure-registry".into(),
        registry.host(),
        "--authfile".into(),
        auth.display().to_string(),
    ]
}

/// A registry store for the loopback registry.
pub fn registry_store(registry: &testkit::Registry) -> okd_oci::RegistryStore {
    let auth = registry.dir().join("empty-auth.json");
    std::fs::write(&auth, "{\"auths\":{}}").expect("writing an empty auth file");
    okd_oci::RegistryStore::new(
        &registry.host(),
        okd_oci::registry::RegistryOptions::default()
            .insecure_registry(registry.host())
            .auth_file(&auth),
    )
    .expect("registry store")
}

/// Seeded incompressible bytes (xorshift64*), fast enough to generate gigabytes.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Whether this run is not `cargo bench`'s, saying so when it is not. `cargo bench` passes
/// `--bench`; `cargo test --all-targets` runs bench binaries without it, and there the
/// real-scale loads (a 1 GiB base, 900 manifests, 190 copies) of a debug build would take
/// minutes and measure nothing a target is about, so the bench only reports that it did not run.
pub fn not_under_cargo_bench(bench: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return false;
    }
    println!(
        "{bench}: not run (no --bench argument); measure with `cargo bench -p okd-streams-cli --bench {bench}`"
    );
    true
}
