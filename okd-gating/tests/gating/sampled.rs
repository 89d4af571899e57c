//! A Stable stream's sampled upgrades (the `upgrade` map), as the controller's
//! `sync_upgrade.go` runs them: the sample, the runs started (names and sources), the
//! per-platform entries, when they gate, and the edges.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use okd_gating::{
    AcceptedRelease, CreationState, GatingPolicy, History, JobRole, JobState, NotRun, Phase,
    ReleaseConfig, ReleaseRecord, RunEnd, RunKind, RunState, StreamState, VerifyJob, job_statuses,
    sample_previous, sampled_runs, step,
};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn ready(name: &str, previous: &[&str]) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending(name, &format!("registry.test/rel:{name}"), name, at(0));
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Ready;
    r.previous = previous.iter().map(|s| s.to_string()).collect();
    r
}

fn history(names: &[&str]) -> History {
    let mut h = History::default();
    for n in names {
        let pullspec = format!("registry.test/stable:{n}");
        h.push(AcceptedRelease::new(
            "4-scos-stable",
            true,
            n,
            &pullspec,
            at(0),
        ));
    }
    h
}

/// The upstream 4.y-stable config's shape: blocking upgrade jobs, then an `upgrade` map.
fn stable(blocking: bool) -> GatingPolicy {
    let verify = if blocking {
        r#""upgrade":{"upgrade":true,"prowJob":{"name":"e2e-upgrade"}}"#
    } else {
        ""
    };
    let cfg: ReleaseConfig = serde_json::from_str(&format!(
        r#"{{"name":"4-scos-stable","as":"Stable","to":"release","verify":{{{verify}}},
            "upgrade":{{"aws":{{"prowJob":{{"name":"e2e-aws-upgrade"}}}},
                        "gcp":{{"prowJob":{{"name":"e2e-gcp-upgrade"}}}},
                        "metal":{{"disabled":true,"prowJob":{{"name":"e2e-metal-upgrade"}}}}}}}}"#
    ))
    .unwrap();
    GatingPolicy::from_config(cfg)
}

fn launched(
    policy: &GatingPolicy,
    state: &mut StreamState,
    h: &History,
    now: DateTime<Utc>,
) -> Vec<String> {
    let out = step(policy, state, h, None, now);
    let mut names = Vec::new();
    for (rel, l) in out.launches {
        names.push(l.run_id(&rel).run_name());
        state
            .release_mut(&rel)
            .unwrap()
            .runs
            .push(l.to_run(now, None));
    }
    names.sort();
    names
}

fn finish(state: &mut StreamState, job: &str, result: RunState, now: DateTime<Utc>) {
    let r = &state.releases[0];
    let id = r.runs.iter().find(|x| x.job == job).unwrap().id(&r.name);
    assert!(state.finish_run(
        &id,
        RunEnd {
            state: result,
            at: now,
            log: None
        }
    ));
}

#[test]
fn the_sample_takes_every_version_of_a_small_minor_and_nine_of_a_large_one() {
    let mut previous: Vec<String> = (0..20).map(|z| format!("4.18.{z}")).collect();
    previous.extend([
        "4.19.1".to_string(),
        "4.19.0".to_string(),
        "not-a-version".to_string(),
    ]);
    let sample = sample_previous(&previous);
    // Buckets in order (4.18 then 4.19), each highest first.
    assert_eq!(&sample[..3], ["4.18.19", "4.18.18", "4.18.17"]);
    assert_eq!(&sample[3..6], ["4.18.2", "4.18.1", "4.18.0"]);
    let drawn = &sample[6..9];
    for v in drawn {
        let z: u32 = v.strip_prefix("4.18.").unwrap().parse().unwrap();
        assert!((3..=16).contains(&z), "{v} is drawn from the middle");
    }
    assert_eq!(
        drawn
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    assert_eq!(&sample[9..], ["4.19.1", "4.19.0"]);
    assert_eq!(sample, sample_previous(&previous), "deterministic");
    let mut other = previous.clone();
    other.swap(0, 1);
    assert_eq!(sample_previous(&other)[..6], sample[..6]);
}

#[test]
fn sampled_runs_take_the_platforms_in_turn_and_upgrade_from_the_named_releases() {
    let policy = stable(true);
    let mut state = StreamState::default();
    state
        .releases
        .push(ready("4.19.3", &["4.19.1", "4.19.2", "4.18.9"]));
    let h = history(&["4.19.1", "4.19.2", "4.18.9"]);
    let runs = sampled_runs(&policy, &state.releases[0]);
    let pairs: Vec<(&str, &str)> = runs
        .iter()
        .map(|s| (s.from.as_str(), s.platform.as_str()))
        .collect();
    // 4.18 bucket first; metal is disabled.
    assert_eq!(
        pairs,
        [("4.18.9", "aws"), ("4.19.2", "gcp"), ("4.19.1", "aws")]
    );
    let names = launched(&policy, &mut state, &h, at(1));
    assert_eq!(
        names,
        [
            "4.19.3-upgrade",
            "4.19.3-upgrade-from-4.18.9-aws",
            "4.19.3-upgrade-from-4.19.1-aws",
            "4.19.3-upgrade-from-4.19.2-gcp",
        ]
    );
    let r = &state.releases[0];
    let run = r
        .runs
        .iter()
        .find(|x| x.job == "upgrade-from-4.18.9-aws")
        .unwrap();
    assert_eq!(run.kind, RunKind::Sampled);
    assert_eq!(
        run.upgrade_from.as_ref().unwrap().pullspec,
        "registry.test/stable:4.18.9"
    );
    // Each runs once: nothing more is started.
    assert_eq!(
        launched(&policy, &mut state, &h, at(2)),
        Vec::<String>::new()
    );
}

#[test]
fn with_a_blocking_job_sampled_upgrades_inform_and_record_edges() {
    let policy = stable(true);
    let mut state = StreamState::default();
    state.releases.push(ready("4.19.3", &["4.19.1", "4.19.2"]));
    let h = history(&["4.19.1", "4.19.2"]);
    launched(&policy, &mut state, &h, at(1));
    finish(
        &mut state,
        "upgrade-from-4.19.2-aws",
        RunState::Failed,
        at(5),
    );
    finish(&mut state, "upgrade", RunState::Succeeded, at(6));
    launched(&policy, &mut state, &h, at(7));
    let r = &state.releases[0];
    assert_eq!(
        r.phase,
        Phase::Accepted,
        "sampled upgrades never delay a blocking job"
    );
    let aws = job_statuses(&policy, r)
        .into_iter()
        .find(|j| j.name == "aws")
        .unwrap();
    assert_eq!((aws.role, aws.state), (JobRole::Upgrade, JobState::Failure));
    let edges: Vec<_> = state
        .graph
        .edges()
        .map(|(f, t, c)| (f, t, c.success, c.failure))
        .collect();
    // The blocking upgrade (PreviousPatch: 4.19.2) passed, the sampled one from it failed.
    assert_eq!(edges, [("4.19.2", "4.19.3", 1, 1)]);
}

#[test]
fn without_blocking_jobs_the_release_waits_for_every_platform() {
    let policy = stable(false);
    let mut state = StreamState::default();
    state.releases.push(ready("4.19.3", &["4.19.1", "4.19.2"]));
    let h = history(&["4.19.1", "4.19.2"]);
    assert_eq!(
        launched(&policy, &mut state, &h, at(1)),
        [
            "4.19.3-upgrade-from-4.19.1-gcp",
            "4.19.3-upgrade-from-4.19.2-aws"
        ]
    );
    finish(
        &mut state,
        "upgrade-from-4.19.2-aws",
        RunState::Succeeded,
        at(5),
    );
    launched(&policy, &mut state, &h, at(6));
    assert_eq!(state.releases[0].phase, Phase::Ready, "gcp still runs");
    finish(
        &mut state,
        "upgrade-from-4.19.1-gcp",
        RunState::Failed,
        at(7),
    );
    launched(&policy, &mut state, &h, at(8));
    assert_eq!(
        state.releases[0].phase,
        Phase::Accepted,
        "both platforms finished"
    );
}

#[test]
fn a_version_the_history_does_not_know_is_not_run_and_an_empty_platform_holds_a_release_without_blocking_jobs()
 {
    let policy = stable(false);
    let mut state = StreamState::default();
    state.releases.push(ready("4.19.3", &["4.19.2"]));
    let names = launched(&policy, &mut state, &History::default(), at(1));
    assert!(names.is_empty());
    let r = &state.releases[0];
    assert_eq!(
        r.not_run.get("upgrade-from-4.19.2-aws"),
        Some(&NotRun::NoUpgradeSource)
    );
    // One version, two platforms: gcp has nothing to run.
    assert_eq!(r.not_run.get("gcp"), Some(&NotRun::NoUpgradeSource));
    assert_eq!(r.phase, Phase::Ready, "a job that never ran is no pass");
}

#[test]
fn an_integration_stream_runs_no_sampled_upgrades() {
    let mut policy = stable(true);
    policy.mode = okd_gating::StreamMode::Integration;
    let r = ready("4.19.3", &["4.19.2"]);
    assert!(sampled_runs(&policy, &r).is_empty());
    let plain = GatingPolicy::builder("s")
        .target("r")
        .job(VerifyJob::blocking("e2e", "e2e"));
    assert!(sampled_runs(&plain.build().unwrap(), &r).is_empty());
}
