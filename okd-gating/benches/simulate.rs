//! Simulating a year of the real okd-scos 4.19 policy.
//!
//! `cargo bench -p okd-gating` prints the time per simulated year (target: under one second) and
//! the report of one run.

use std::path::PathBuf;
use std::time::Instant;

use okd_gating::{GatingPolicy, ParseMode, SimulationModel, simulate};

fn main() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/release-okd-scos-4.19.json");
    let policy = match GatingPolicy::load(&path, ParseMode::Strict) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot load {}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let yaml = "seed: 42
horizon: 365d
input_change_interval: 1h
creation_duration: 20m
default_job: { duration: 2h, duration_jitter: 0.25, flake_rate: 0.1, failure_rate: 0.03 }
jobs:
  aws: { duration: 1h30m, flake_rate: 0.15, failure_rate: 0.05 }
  aws-upgrade: { duration: 2h30m }
";
    let model = match SimulationModel::from_yaml(yaml.as_bytes(), "bench model") {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // One warm-up run, then timed runs with different seeds.
    let report = match simulate(&policy, &model) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let runs = 10;
    let mut times = Vec::with_capacity(runs);
    for seed in 0..runs as u64 {
        let m = SimulationModel {
            seed,
            ..model.clone()
        };
        let start = Instant::now();
        let r = simulate(&policy, &m);
        times.push(start.elapsed());
        assert!(r.is_ok());
    }
    times.sort();
    println!(
        "simulate 365 days of {}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {runs} seeds",
        policy.name,
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[runs - 1].as_secs_f64() * 1e3,
    );
    println!(
        "seed 42: {} input changes, {} releases, {} accepted ({:.1}/week), {} rejected ({} only by flakes), {} job runs ({} retries), {:.0} job-hours, change→accepted p50 {:.1} h p90 {:.1} h",
        report.input_changes,
        report.releases_created,
        report.accepted,
        report.accepted_per_week,
        report.rejected,
        report.rejected_only_by_flakes,
        report.job_runs,
        report.retries,
        report.job_hours,
        report.time_to_acceptance.p50_hours,
        report.time_to_acceptance.p90_hours,
    );
}
