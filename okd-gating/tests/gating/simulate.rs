//! Simulation of the real okd-scos 4.19 policy under job models.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use okd_gating::{GatingPolicy, ParseMode, SimulationModel, simulate};

fn okd_scos_419() -> GatingPolicy {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/release-okd-scos-4.19.json");
    GatingPolicy::load(&path, ParseMode::Strict).unwrap()
}

fn model(yaml: &str) -> SimulationModel {
    SimulationModel::from_yaml(yaml.as_bytes(), "<test>").unwrap()
}

#[test]
fn same_seed_same_report_other_seed_other_report() {
    let p = okd_scos_419();
    let a = simulate(&p, &model("seed: 1\nhorizon: 60d")).unwrap();
    let b = simulate(&p, &model("seed: 1\nhorizon: 60d")).unwrap();
    let c = simulate(&p, &model("seed: 2\nhorizon: 60d")).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let json = serde_json::to_value(&a).unwrap();
    for key in [
        "accepted_per_week",
        "time_to_acceptance",
        "job_hours",
        "rejected_only_by_flakes",
        "jobs",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn a_perfect_world_accepts_every_release_at_the_interval() {
    let p = okd_scos_419(); // 12 h interval, one unready release at a time
    let r = simulate(
        &p,
        &model(
            "horizon: 70d\ninput_change_interval: 30m\ndefault_job: {duration: 2h, duration_jitter: 0, flake_rate: 0, failure_rate: 0}",
        ),
    )
    .unwrap();
    assert_eq!(r.rejected, 0);
    assert_eq!(r.rejected_only_by_flakes, 0);
    // Inputs change every half hour on average, so a release is created every 12 h.
    assert!((139..=141).contains(&r.releases_created), "{r:?}");
    assert!(r.accepted + r.undecided == r.releases_created, "{r:?}");
    assert!(
        (13.8..=14.1).contains(&r.accepted_per_week),
        "{}",
        r.accepted_per_week
    );
    // Each release runs the five non-upgrade jobs once (the two upgrade jobs: `aws-upgrade`
    // has a source from the second release on, the minor upgrade never in a single-stream run).
    let aws = &r.jobs["aws"];
    assert_eq!(aws.failures, 0);
    assert!(
        (aws.hours - 2.0 * aws.runs as f64).abs() < 2.0 + 1e-9,
        "{aws:?}"
    );
    assert!(!r.jobs.contains_key("aws-upgrade-minor"));
    assert_eq!(r.retries, 0);
    // A change waits at most one interval plus creation and the 2 h jobs.
    assert!(
        r.time_to_acceptance.max_hours <= 12.0 + 0.34 + 2.0 + 0.01,
        "{:?}",
        r.time_to_acceptance
    );
}

#[test]
fn flakes_reject_releases_and_retries_absorb_them() {
    let flaky = "horizon: 120d\ninput_change_interval: 1h\ndefault_job: {duration: 1h, flake_rate: 0, failure_rate: 0}\njobs: {aws: {flake_rate: 0.5, failure_rate: 0}}";
    let mut no_retries = okd_scos_419();
    no_retries
        .jobs
        .iter_mut()
        .find(|j| j.name == "aws")
        .unwrap()
        .max_retries = 0;
    let without = simulate(&no_retries, &model(flaky)).unwrap();
    let with = simulate(&okd_scos_419(), &model(flaky)).unwrap(); // aws: maxRetries 2
    assert!(without.rejected > 0, "{without:?}");
    assert_eq!(without.rejected, without.rejected_only_by_flakes);
    assert!(
        with.rejected_only_by_flakes * 2 < without.rejected_only_by_flakes,
        "retries should absorb most flakes: {} vs {}",
        with.rejected_only_by_flakes,
        without.rejected_only_by_flakes
    );
    assert!(with.retries > 0);
    assert!(with.accepted > without.accepted);
}

#[test]
fn true_failures_are_not_counted_as_flakes() {
    let r = simulate(
        &okd_scos_419(),
        &model("horizon: 90d\ndefault_job: {flake_rate: 0, failure_rate: 0}\njobs: {aws: {failure_rate: 0.5, flake_rate: 0}}"),
    )
    .unwrap();
    assert!(r.rejected > 0);
    assert_eq!(r.rejected_only_by_flakes, 0);
    // Informing failures never reject.
    let r = simulate(
        &okd_scos_419(),
        &model("horizon: 30d\ndefault_job: {flake_rate: 1, failure_rate: 1}\njobs: {aws: {failure_rate: 0, flake_rate: 0}}"),
    )
    .unwrap();
    assert_eq!(r.rejected, 0, "{r:?}");
    assert!(r.jobs["gcp"].failures > 0);
}

#[test]
fn stable_streams_cannot_be_simulated() {
    let p = GatingPolicy::builder("4-scos-next")
        .stable()
        .build()
        .unwrap();
    assert!(simulate(&p, &SimulationModel::default()).is_err());
}
