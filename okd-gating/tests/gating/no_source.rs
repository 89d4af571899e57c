//! Upgrade jobs with nothing to upgrade from, and the sources only okd-streams has: each case
//! starts from a minimal policy and a sequence of job results and checks the phase, the runs
//! started, the reason and the graph edges.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use okd_gating::{
    AcceptedRelease, CreationState, GatingPolicy, GatingState, History, JobRun, JobState,
    NoUpgradeSource, NotRun, Phase, ReleaseRecord, ReleaseRef, RunKind, RunState, StreamState,
    UpgradeGraph, UpgradeSource, VerifyJob, job_statuses, resolve_upgrade_source, step,
};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn ready(name: &str) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending(name, &format!("registry.test/rel:{name}"), name, at(0));
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Ready;
    r
}

fn policy(rule: NoUpgradeSource, source: UpgradeSource) -> GatingPolicy {
    GatingPolicy::builder("s")
        .target("release")
        .no_upgrade_source(rule)
        .job(VerifyJob::blocking("e2e", "e2e"))
        .job(VerifyJob::blocking("upgrade", "e2e-upgrade").upgrade_from(source))
        .build()
        .unwrap()
}

fn finish(state: &mut StreamState, job: &str, result: RunState, now: DateTime<Utc>) {
    let r = &mut state.releases[0];
    for run in r.runs.iter_mut().filter(|x| x.job == job) {
        run.state = result;
        run.finished = Some(now);
    }
}

fn started(out: &okd_gating::StepOutcome) -> Vec<String> {
    out.launches
        .iter()
        .map(|(rel, l)| l.run_id(rel).run_name())
        .collect()
}

fn record_launches(state: &mut StreamState, out: &okd_gating::StepOutcome, now: DateTime<Utc>) {
    for (rel, l) in &out.launches {
        let run: JobRun = l.to_run(now, None);
        state.release_mut(rel).unwrap().runs.push(run);
    }
}

#[test]
fn a_blocking_upgrade_job_without_a_source_is_not_run_and_keeps_the_release_ready() {
    let policy = policy(NoUpgradeSource::KeepReady, UpgradeSource::Previous);
    let mut state = StreamState::default();
    state.releases.push(ready("s-1"));
    let out = step(&policy, &mut state, &History::default(), None, at(1));
    assert_eq!(started(&out), ["s-1-e2e"]);
    record_launches(&mut state, &out, at(1));
    finish(&mut state, "e2e", RunState::Succeeded, at(5));
    let out = step(&policy, &mut state, &History::default(), None, at(6));
    assert!(out.launches.is_empty());
    let r = &state.releases[0];
    assert_eq!(
        r.phase,
        Phase::Ready,
        "a blocking job that never ran is no pass"
    );
    assert_eq!(r.not_run.get("upgrade"), Some(&NotRun::NoUpgradeSource));
    assert_eq!(
        r.not_run["upgrade"].to_string(),
        "not run: no upgrade source"
    );
    let upgrade = job_statuses(&policy, r)
        .into_iter()
        .find(|j| j.name == "upgrade")
        .unwrap();
    assert_eq!((upgrade.state, upgrade.runs), (JobState::Unknown, 0));

    // A source appears (another release accepted): the job starts on the next pass.
    let mut history = History::default();
    history.push(AcceptedRelease::new(
        "s",
        false,
        "s-0",
        "registry.test/rel:s-0",
        at(-60),
    ));
    let out = step(&policy, &mut state, &history, None, at(7));
    assert_eq!(started(&out), ["s-1-upgrade"]);
    assert_eq!(out.launches[0].1.upgrade_from.as_ref().unwrap().name, "s-0");
    assert!(state.releases[0].not_run.is_empty());
}

#[test]
fn skip_records_a_skipped_job_never_a_pass_and_no_edge() {
    let policy = policy(NoUpgradeSource::Skip, UpgradeSource::PreviousMinor);
    let mut state = StreamState::default();
    state.releases.push(ready("4.19.0-0.s-2026-03-01-000000"));
    let out = step(&policy, &mut state, &History::default(), None, at(1));
    assert_eq!(started(&out), ["4.19.0-0.s-2026-03-01-000000-e2e"]);
    record_launches(&mut state, &out, at(1));
    finish(&mut state, "e2e", RunState::Succeeded, at(5));
    step(&policy, &mut state, &History::default(), None, at(6));
    let r = &state.releases[0];
    assert_eq!(r.phase, Phase::Accepted);
    assert_eq!(
        r.message.as_deref(),
        Some("skipped, never run (no upgrade source): upgrade")
    );
    let skipped: Vec<&JobRun> = r.runs_of("upgrade").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].state, RunState::Skipped);
    assert!(skipped[0].skipped);
    let states: Vec<(String, JobState)> = job_statuses(&policy, r)
        .into_iter()
        .map(|j| (j.name, j.state))
        .collect();
    assert_eq!(
        states,
        [
            ("e2e".to_string(), JobState::Success),
            ("upgrade".to_string(), JobState::Skipped)
        ]
    );
    let mut graph = UpgradeGraph::default();
    graph.record_release(r);
    assert_eq!(graph.edges().count(), 0);
}

#[test]
fn upstream_is_the_release_a_candidate_was_built_from() {
    let policy = policy(NoUpgradeSource::KeepReady, UpgradeSource::Upstream);
    let mut r = ready("4.19.0-okd-scos.3-hpc.1");
    r.upstream = Some(ReleaseRef {
        name: "4.19.0-okd-scos.3".into(),
        pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.3".into(),
    });
    let mut state = GatingState::default();
    state.streams.insert("s".into(), StreamState::default());
    state.streams.get_mut("s").unwrap().releases.push(r.clone());
    let history = History::from_state(&state);
    let src = resolve_upgrade_source(&policy, &policy.jobs[1], &r.name, &history).unwrap();
    assert_eq!(src.name, "4.19.0-okd-scos.3");
    // The upstream also counts as a Stable release of its minor.
    let patch = policy_with(UpgradeSource::PreviousPatch);
    let src = resolve_upgrade_source(&patch, &patch.jobs[1], &r.name, &history).unwrap();
    assert_eq!(src.pullspec, "quay.io/okd/scos-release:4.19.0-okd-scos.3");
    // A release without a recorded upstream has none.
    assert!(resolve_upgrade_source(&policy, &policy.jobs[1], "other", &history).is_none());
}

fn policy_with(source: UpgradeSource) -> GatingPolicy {
    policy(NoUpgradeSource::KeepReady, source)
}

#[test]
fn sources_are_looked_up_in_every_stream_of_the_state() {
    let mut stable = StreamState {
        stable: true,
        ..StreamState::default()
    };
    for (name, minutes) in [("4.18.0-okd-scos.10", 10), ("4.18.0-okd-scos.9", 20)] {
        let mut r = ready(name);
        r.phase = Phase::Accepted;
        r.created = at(minutes);
        stable.releases.push(r);
    }
    let mut state = GatingState::default();
    state.streams.insert("4-scos-stable".into(), stable);
    let history = History::from_state(&state);
    let minor = policy_with(UpgradeSource::PreviousMinor);
    let src = resolve_upgrade_source(&minor, &minor.jobs[1], "4.19.0-0.okd-scos-x", &history);
    // By version, not by creation time: .10 was created before .9.
    assert_eq!(src.unwrap().name, "4.18.0-okd-scos.10");
    // A Stable stream's Previous is the highest version too.
    let previous = GatingPolicy::builder("4-scos-stable")
        .stable()
        .job(VerifyJob::blocking("u", "u").upgrade_from(UpgradeSource::Previous))
        .build()
        .unwrap();
    let src = resolve_upgrade_source(&previous, &previous.jobs[0], "4.18.0-okd-scos.11", &history);
    assert_eq!(src.unwrap().name, "4.18.0-okd-scos.10");
}

#[test]
fn a_candidate_source_is_the_highest_version_and_matching_nothing_is_not_run() {
    let policy = GatingPolicy::builder("4.19.0-0.okd-scos")
        .target("release-scos")
        .job(VerifyJob::blocking("e2e", "e2e"))
        .job(
            VerifyJob::blocking("minor", "e2e-upgrade").upgrade_from(UpgradeSource::Candidate {
                stream: "okd".into(),
                version: "4.18".into(),
                relative: 0,
            }),
        )
        .build()
        .unwrap();
    let mut history = History::default();
    for (name, minutes) in [
        ("4.18.0-0.okd-scos-2026-02-02-000000", 10),
        ("4.18.0-0.okd-scos-2026-02-01-000000", 20),
    ] {
        history.push(AcceptedRelease::new(
            "4.18.0-0.okd-scos",
            false,
            name,
            name,
            at(minutes),
        ));
    }
    let src = resolve_upgrade_source(&policy, &policy.jobs[1], "4.19.0-0.okd-scos-z", &history);
    assert_eq!(src.unwrap().name, "4.18.0-0.okd-scos-2026-02-02-000000");

    let mut state = StreamState::default();
    state.releases.push(ready("4.19.0-0.okd-scos-z"));
    let out = step(&policy, &mut state, &History::default(), None, at(1));
    assert_eq!(started(&out), ["4.19.0-0.okd-scos-z-e2e"]);
    assert_eq!(
        state.releases[0].not_run.get("minor"),
        Some(&NotRun::NoUpgradeSource)
    );
    assert!(
        state.releases[0]
            .runs
            .iter()
            .all(|r| r.kind == RunKind::Verify)
    );
}
