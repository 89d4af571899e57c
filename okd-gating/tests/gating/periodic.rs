//! Periodic jobs, as the controller's `periodic.go` schedules them: each case starts from a
//! minimal policy and a sequence of run results and checks the runs started (names), when the
//! next one is due, the sources and the graph edges.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use okd_gating::{
    CreationState, GatingPolicy, History, NoUpgradeSource, NotRun, PeriodicJob, PeriodicSchedule,
    Phase, ReleaseConfig, ReleaseRecord, RunEnd, RunKind, RunState, StreamState, UpgradeSource,
    VerifyJob, step,
};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn accepted(name: &str, created: i64) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending(
        name,
        &format!("registry.test/rel:{name}"),
        name,
        at(created),
    );
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Accepted;
    r.phase_changed = Some(at(created));
    r
}

fn policy(p: PeriodicJob) -> GatingPolicy {
    GatingPolicy::builder("s")
        .target("release")
        .job(VerifyJob::blocking("e2e", "e2e"))
        .periodic(p)
        .build()
        .unwrap()
}

fn hourly() -> PeriodicJob {
    PeriodicJob::new(
        "soak",
        "periodic-soak",
        PeriodicSchedule::every(Duration::from_secs(3600)),
    )
}

/// Steps, records the launches as started runs, and returns their names.
fn tick(policy: &GatingPolicy, state: &mut StreamState, now: DateTime<Utc>) -> Vec<String> {
    let out = step(policy, state, &History::default(), None, now);
    let mut names = Vec::new();
    for (rel, l) in out.launches {
        names.push(l.run_id(&rel).run_name());
        state
            .release_mut(&rel)
            .unwrap()
            .runs
            .push(l.to_run(now, None));
    }
    names
}

fn finish_all(state: &mut StreamState, result: RunState, now: DateTime<Utc>) {
    let pending: Vec<_> = state
        .pending_runs()
        .map(|(r, run)| run.id(&r.name))
        .collect();
    for id in pending {
        let end = RunEnd {
            state: result,
            at: now,
            log: None,
        };
        assert!(state.finish_run(&id, end));
    }
}

#[test]
fn an_interval_periodic_runs_against_the_newest_accepted_release_and_again_after_its_interval() {
    let policy = policy(hourly());
    let mut state = StreamState::default();
    assert!(
        tick(&policy, &mut state, at(0)).is_empty(),
        "nothing accepted: nothing runs"
    );
    state.releases.push(accepted("s-1", 0));
    state.releases.push(accepted("s-2", 10));
    assert_eq!(tick(&policy, &mut state, at(20)), ["s-2-soak-periodic"]);
    // Still running an hour later: never two at once.
    assert!(tick(&policy, &mut state, at(90)).is_empty());
    finish_all(&mut state, RunState::Succeeded, at(100));
    // Due once more than an hour has passed since the last run *started* (at 20).
    let out = step(&policy, &mut state, &History::default(), None, at(70));
    assert!(out.launches.is_empty());
    assert!(tick(&policy, &mut state, at(100)).contains(&"s-2-soak-periodic-1".to_string()));
    let r = state.release("s-2").unwrap();
    assert_eq!(r.phase, Phase::Accepted, "a periodic never changes a phase");
    assert_eq!(
        r.runs
            .iter()
            .filter(|x| x.kind == RunKind::Periodic)
            .count(),
        2
    );
}

#[test]
fn the_step_wakes_when_the_interval_ends() {
    let policy = policy(hourly());
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    tick(&policy, &mut state, at(0));
    finish_all(&mut state, RunState::Failed, at(5));
    let out = step(&policy, &mut state, &History::default(), None, at(6));
    assert!(out.launches.is_empty());
    assert_eq!(out.wake_at, Some(at(60) + TimeDelta::seconds(1)));
}

#[test]
fn a_cron_periodic_runs_at_its_ticks_and_loses_a_tick_that_passes_while_it_runs() {
    let p = PeriodicJob::new(
        "nightly",
        "periodic-nightly",
        PeriodicSchedule::from_config("", "0 2 * * *"),
    );
    let policy = policy(p);
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    // Accepted at 00:00; the first tick is 02:00.
    assert!(tick(&policy, &mut state, at(60)).is_empty());
    assert_eq!(
        step(&policy, &mut state, &History::default(), None, at(60)).wake_at,
        Some(at(120))
    );
    assert_eq!(tick(&policy, &mut state, at(121)), ["s-1-nightly-periodic"]);
    // Runs past the next day's tick: that tick is lost, the one after counts.
    finish_all(&mut state, RunState::Succeeded, at(121 + 25 * 60));
    assert!(tick(&policy, &mut state, at(121 + 25 * 60 + 1)).is_empty());
    assert_eq!(
        tick(&policy, &mut state, at(2 * 24 * 60 + 120)),
        ["s-1-nightly-periodic-1"]
    );
}

#[test]
fn an_upgrade_periodic_upgrades_from_the_release_before_the_newest_and_records_the_edge() {
    // No upgradeFrom: PreviousMinus1, the controller's default for periodics.
    let cfg: ReleaseConfig = serde_json::from_str(
        r#"{"name":"s","to":"release","verify":{"e2e":{"prowJob":{"name":"e2e"}}},
            "periodic":{"upgrade":{"interval":"6h","upgrade":true,"prowJob":{"name":"periodic-upgrade"}}}}"#,
    )
    .unwrap();
    let policy = GatingPolicy::from_config(cfg.clone());
    assert_eq!(
        policy.periodics[0].upgrade,
        Some(UpgradeSource::PreviousMinus1)
    );
    assert_eq!(policy.to_config(), cfg, "the config round-trips");
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    let out = step(&policy, &mut state, &History::default(), None, at(1));
    assert!(
        out.launches.is_empty(),
        "one accepted release: nothing to upgrade from"
    );
    assert_eq!(
        state.release("s-1").unwrap().not_run.get("upgrade"),
        Some(&NotRun::NoUpgradeSource)
    );
    state.releases.push(accepted("s-2", 10));
    let out = step(&policy, &mut state, &History::default(), None, at(11));
    let (rel, launch) = &out.launches[0];
    assert_eq!(rel, "s-2");
    assert_eq!(launch.upgrade_from.as_ref().unwrap().name, "s-1");
    state
        .release_mut(rel)
        .unwrap()
        .runs
        .push(launch.to_run(at(11), None));
    finish_all(&mut state, RunState::Succeeded, at(30));
    let edges: Vec<_> = state
        .graph
        .edges()
        .map(|(f, t, c)| (f, t, c.success))
        .collect();
    assert_eq!(edges, [("s-1", "s-2", 1)]);
}

#[test]
fn a_periodic_previous_would_upgrade_a_release_to_itself_and_is_not_run() {
    let p = hourly().upgrade_from(UpgradeSource::Previous);
    let policy = policy(p);
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    state.releases.push(accepted("s-2", 10));
    assert!(tick(&policy, &mut state, at(20)).is_empty());
    assert_eq!(
        state.release("s-2").unwrap().not_run.get("soak"),
        Some(&NotRun::NoUpgradeSource)
    );
}

#[test]
fn a_skipping_stream_records_a_periodic_without_source_as_skipped_never_as_passed() {
    let mut policy = policy(hourly().upgrade_from(UpgradeSource::PreviousMinus1));
    policy.no_upgrade_source = NoUpgradeSource::Skip;
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    assert!(tick(&policy, &mut state, at(1)).is_empty());
    let run = &state.release("s-1").unwrap().runs[0];
    assert_eq!(
        (run.kind, run.state),
        (RunKind::Periodic, RunState::Skipped)
    );
    assert_eq!(state.graph.edges().count(), 0);
}

#[test]
fn a_stream_at_end_of_life_and_a_periodic_with_a_bad_schedule_never_run() {
    let bad = PeriodicJob::new("bad", "p", PeriodicSchedule::from_config("1h", "0 * * * *"));
    assert!(matches!(bad.schedule, PeriodicSchedule::Invalid { .. }));
    let policy_bad = policy(bad);
    let mut state = StreamState::default();
    state.releases.push(accepted("s-1", 0));
    assert!(tick(&policy_bad, &mut state, at(600)).is_empty());
    let mut eol = policy(hourly());
    eol.end_of_life = true;
    assert!(tick(&eol, &mut state, at(600)).is_empty());
}
