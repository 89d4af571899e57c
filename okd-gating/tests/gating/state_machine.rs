//! Table tests replaying the release-controller's state machine: verdicts (§2.1, §2.4), retries
//! and backoff (§2.6), upgrade sources (§2.7), creation gate (§2.2), garbage collection (§3.4).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use okd_gating::{
    AcceptedRelease, CreationBlock, CreationDecision, CreationState, GatingPolicy, History, JobRun,
    NotRun, Override, OverridePhase, ParseMode, Phase, ReleaseRecord, ReleaseRef, RunKind,
    RunState, StreamState, UpgradeSource, VerifyJob, collect_garbage, evaluate, may_create,
    plan_jobs, step,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap()
}

fn mins(n: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(n)
}

fn okd_scos_419() -> GatingPolicy {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/release-okd-scos-4.19.json");
    GatingPolicy::load(&path, ParseMode::Strict).unwrap()
}

fn created(name: &str) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending(
        name,
        &format!("quay.io/okd/scos-release:{name}"),
        name,
        t0(),
    );
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Ready;
    r
}

fn run(job: &str, attempt: u32, state: RunState, finished_min: i64) -> JobRun {
    JobRun {
        job: job.to_string(),
        kind: RunKind::Verify,
        attempt,
        state,
        started: t0(),
        finished: (state != RunState::Pending).then(|| mins(finished_min)),
        upgrade_from: None,
        handle: None,
        log: None,
        skipped: false,
    }
}

fn analysis(job: &str, attempt: u32, index: u32, state: RunState) -> JobRun {
    JobRun {
        kind: RunKind::Analysis { index },
        ..run(job, attempt, state, 60)
    }
}

use RunState::{Failed as F, Pending as P, Succeeded as S};

#[test]
fn verdict_table_for_okd_scos_4_19() {
    // aws: blocking, maxRetries 2; everything else informing.
    let policy = okd_scos_419();
    let cases: Vec<(&str, Vec<JobRun>, Phase)> = vec![
        ("no runs yet", vec![], Phase::Ready),
        ("blocking running", vec![run("aws", 0, P, 0)], Phase::Ready),
        (
            "blocking passed",
            vec![run("aws", 0, S, 60)],
            Phase::Accepted,
        ),
        (
            "blocking passed, informing failed",
            vec![run("aws", 0, S, 60), run("gcp", 0, F, 30)],
            Phase::Accepted,
        ),
        (
            "blocking passed, informing still running",
            vec![run("aws", 0, S, 60), run("vsphere", 0, P, 0)],
            Phase::Accepted,
        ),
        (
            "one failure, two retries left",
            vec![run("aws", 0, F, 60)],
            Phase::Ready,
        ),
        (
            "two failures, one retry left",
            vec![run("aws", 0, F, 60), run("aws", 1, F, 120)],
            Phase::Ready,
        ),
        (
            "retries exhausted",
            vec![
                run("aws", 0, F, 60),
                run("aws", 1, F, 120),
                run("aws", 2, F, 180),
            ],
            Phase::Rejected,
        ),
        (
            "a retry passed",
            vec![run("aws", 0, F, 60), run("aws", 1, S, 120)],
            Phase::Accepted,
        ),
        (
            "every informing job failed",
            [
                "aws-upgrade",
                "aws-upgrade-minor",
                "metal-ovn-assisted",
                "agent-single-node-ipv6",
                "gcp",
                "vsphere",
            ]
            .iter()
            .map(|j| run(j, 0, F, 10))
            .chain([run("aws", 0, S, 60)])
            .collect(),
            Phase::Accepted,
        ),
    ];
    for (what, runs, phase) in cases {
        let mut r = created("4.19.0-0.okd-scos-2025-02-01-000000");
        r.runs = runs;
        let e = evaluate(&policy, &r);
        assert_eq!(e.phase, phase, "{what}");
        if phase == Phase::Rejected {
            assert_eq!(e.reason.as_deref(), Some("VerificationFailed"));
            assert_eq!(
                e.message.as_deref(),
                Some("release verification step failed: aws")
            );
        }
    }
}

#[test]
fn pending_failed_and_overrides() {
    let policy = okd_scos_419();
    let mut r = ReleaseRecord::pending("x", "p", "h", t0());
    assert_eq!(evaluate(&policy, &r).phase, Phase::Pending);

    r.creation = CreationState::Failed {
        message: "oc adm release new failed".into(),
    };
    r.override_ = Some(Override {
        phase: OverridePhase::Accepted,
        reason: "Manually accepted per TRT".into(),
    });
    let e = evaluate(&policy, &r);
    assert_eq!(
        e.phase,
        Phase::Failed,
        "creation failure wins over an override"
    );
    assert_eq!(e.reason.as_deref(), Some("CreateReleaseFailed"));

    // Rejected, then manually accepted.
    let mut r = created("x");
    r.runs = vec![
        run("aws", 0, F, 1),
        run("aws", 1, F, 2),
        run("aws", 2, F, 3),
    ];
    r.phase = Phase::Rejected;
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
    r.override_ = Some(Override {
        phase: OverridePhase::Accepted,
        reason: "Manually accepted per TRT".into(),
    });
    let e = evaluate(&policy, &r);
    assert_eq!(e.phase, Phase::Accepted);
    assert_eq!(e.reason.as_deref(), Some("ReleasePayloadManuallyAccepted"));

    // An override wins over running jobs, and a rejection override over an accepted release.
    let mut r = created("y");
    r.runs = vec![run("aws", 0, P, 0)];
    r.override_ = Some(Override {
        phase: OverridePhase::Rejected,
        reason: "bad".into(),
    });
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
    let mut r = created("z");
    r.phase = Phase::Accepted;
    r.runs = vec![run("aws", 0, S, 1)];
    assert_eq!(evaluate(&policy, &r).phase, Phase::Accepted);
    r.override_ = Some(Override {
        phase: OverridePhase::Rejected,
        reason: "regression found later".into(),
    });
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
}

#[test]
fn terminal_phases_stay_without_override() {
    let policy = okd_scos_419();
    let mut r = created("x");
    r.phase = Phase::Accepted;
    // Even a (late) blocking failure does not turn Accepted into Rejected.
    r.runs = vec![
        run("aws", 0, F, 1),
        run("aws", 1, F, 2),
        run("aws", 2, F, 3),
    ];
    assert_eq!(evaluate(&policy, &r).phase, Phase::Accepted);
    r.phase = Phase::Rejected;
    r.runs = vec![run("aws", 0, S, 1)];
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
    r.phase = Phase::Failed;
    assert_eq!(evaluate(&policy, &r).phase, Phase::Failed);
}

#[test]
fn a_blocking_failure_waits_for_other_blocking_jobs() {
    let policy = GatingPolicy::builder("s")
        .target("release")
        .job(VerifyJob::blocking("a", "a"))
        .job(VerifyJob::blocking("b", "b"))
        .build()
        .unwrap();
    let mut r = created("x");
    r.runs = vec![run("a", 0, F, 1), run("b", 0, P, 0)];
    assert_eq!(evaluate(&policy, &r).phase, Phase::Ready);
    r.runs[1].state = S;
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
}

#[test]
fn streams_without_blocking_jobs() {
    // 4-scos-next: no jobs at all: accepted as soon as it is created.
    let next = GatingPolicy::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/release-okd-scos-4.y-next.json"),
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!(
        evaluate(&next, &created("4.20.0-okd-scos.ec.1")).phase,
        Phase::Accepted
    );

    // Only informing jobs: wait for all but async ones, then accept even if they failed.
    let policy = GatingPolicy::builder("s")
        .target("release")
        .job(VerifyJob::informing("i", "i"))
        .job(VerifyJob::informing("slow", "slow").asynchronous())
        .build()
        .unwrap();
    let mut r = created("x");
    assert_eq!(evaluate(&policy, &r).phase, Phase::Ready);
    r.runs = vec![run("i", 0, P, 0), run("slow", 0, P, 0)];
    assert_eq!(evaluate(&policy, &r).phase, Phase::Ready);
    r.runs[0].state = F;
    assert_eq!(evaluate(&policy, &r).phase, Phase::Accepted);
}

#[test]
fn aggregated_jobs_run_their_analysis_once_and_retry_only_the_aggregator() {
    let policy = GatingPolicy::builder("s")
        .target("release")
        .job(
            VerifyJob::aggregated("agg", "e2e", 10)
                .max_retries(1)
                .upgrade_from(UpgradeSource::Previous),
        )
        .build()
        .unwrap();
    let analysis_set = |passes: u32, pending: u32| -> Vec<JobRun> {
        (0..10)
            .map(|i| {
                let state = if i < passes {
                    S
                } else if i < passes + pending {
                    P
                } else {
                    F
                };
                JobRun {
                    upgrade_from: Some(ReleaseRef {
                        name: "s-0".into(),
                        pullspec: "p0".into(),
                    }),
                    ..analysis("agg", 0, i, state)
                }
            })
            .collect()
    };
    let mut history = History::default();
    history.push(AcceptedRelease::new("s", false, "s-0", "p0", t0()));
    let pass = |r: &mut ReleaseRecord, at: i64| {
        let mut state = StreamState::default();
        state.releases.push(r.clone());
        let out = step(&policy, &mut state, &history, None, mins(at));
        *r = state.releases.remove(0);
        out
    };

    // First pass: ten analysis runs, no aggregator yet.
    let mut r = created("x");
    let out = pass(&mut r, 1);
    let kinds: Vec<RunKind> = out.launches.iter().map(|(_, l)| l.kind).collect();
    assert_eq!(kinds.len(), 10);
    assert!(kinds.iter().all(|k| matches!(k, RunKind::Analysis { .. })));

    // While any analysis run is running, the aggregator waits and the release stays Ready.
    r.runs = analysis_set(9, 1);
    assert!(pass(&mut r, 30).launches.is_empty());
    assert_eq!(r.phase, Phase::Ready);
    assert!(!r.runs.iter().any(|x| x.kind == RunKind::Aggregator));

    // 6 of 10 passed: the aggregator (run in-process) passes and decides.
    r.runs = analysis_set(6, 0);
    assert!(pass(&mut r, 60).launches.is_empty());
    let aggregators: Vec<&JobRun> = r
        .runs_of("agg")
        .filter(|x| x.kind == RunKind::Aggregator)
        .collect();
    assert_eq!(aggregators.len(), 1);
    assert_eq!(aggregators[0].state, S);
    assert_eq!(aggregators[0].run_name("x"), "x-agg-aggregator");
    assert_eq!(r.phase, Phase::Accepted);
    // Only the aggregator's run is an edge of the graph.
    let mut graph = okd_gating::UpgradeGraph::default();
    graph.record_release(&r);
    let counts = graph.edge("s-0", "x").unwrap();
    assert_eq!((counts.success, counts.failure), (1, 0));

    // 5 of 10: the aggregator fails; its retry re-judges the same ten runs, and nothing new
    // is launched for analysis. Both attempts fail: Rejected, with ten analysis runs only.
    let mut r = created("y");
    r.runs = analysis_set(5, 0);
    assert!(pass(&mut r, 60).launches.is_empty());
    assert_eq!(r.phase, Phase::Ready, "one aggregator retry left");
    let out = pass(&mut r, 61);
    assert!(out.launches.is_empty());
    let attempts: Vec<(u32, RunState)> = r
        .runs_of("agg")
        .filter(|x| x.kind == RunKind::Aggregator)
        .map(|x| (x.attempt, x.state))
        .collect();
    assert_eq!(attempts, [(0, F), (1, F)]);
    assert_eq!(
        r.runs_of("agg")
            .filter(|x| matches!(x.kind, RunKind::Analysis { .. }))
            .count(),
        10
    );
    assert_eq!(r.phase, Phase::Rejected);

    // A set started only in part is completed, not restarted.
    let mut r = created("z");
    r.runs = analysis_set(0, 3)
        .into_iter()
        .filter(|j| j.state == P)
        .collect();
    let plan = plan_jobs(&policy, &r, &history, mins(1));
    let indexes: Vec<RunKind> = plan.launches.iter().map(|l| l.kind).collect();
    assert_eq!(indexes.len(), 7);
    assert_eq!(indexes[0], RunKind::Analysis { index: 3 });
    assert!(
        plan.launches
            .iter()
            .all(|l| l.upgrade_from.as_ref().unwrap().name == "s-0")
    );
}

#[test]
fn retries_follow_the_backoff() {
    let policy = GatingPolicy::builder("s")
        .target("release")
        .job(VerifyJob::blocking("e2e", "e2e").max_retries(4))
        .build()
        .unwrap();
    let h = History::default();
    let mut r = created("x");
    let first = plan_jobs(&policy, &r, &h, mins(0));
    assert_eq!(first.launches.len(), 1);
    assert_eq!(first.launches[0].attempt, 0);

    // Retry 1 starts at once after the failure.
    r.runs = vec![run("e2e", 0, F, 100)];
    assert_eq!(plan_jobs(&policy, &r, &h, mins(100)).launches[0].attempt, 1);
    // Retry 2 waits 2 minutes, retry 3 four, retry 4 eight, from the last failure.
    for (attempt, wait) in [(2u32, 2i64), (3, 4), (4, 8)] {
        let failed_at = 200 * i64::from(attempt);
        r.runs.push(run("e2e", attempt - 1, F, failed_at));
        let early = plan_jobs(&policy, &r, &h, mins(failed_at + wait - 1));
        assert!(early.launches.is_empty(), "retry {attempt} too early");
        assert_eq!(early.wake_at, Some(mins(failed_at + wait)));
        let on_time = plan_jobs(&policy, &r, &h, mins(failed_at + wait));
        assert_eq!(on_time.launches.len(), 1);
        assert_eq!(on_time.launches[0].attempt, attempt);
    }
    // Retries exhausted: nothing more.
    let mut r = created("y");
    r.runs = (0..5).map(|a| run("e2e", a, F, 10)).collect();
    assert!(plan_jobs(&policy, &r, &h, mins(1000)).launches.is_empty());
    assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
}

#[test]
fn upgrade_jobs_resolve_their_source_or_are_not_run() {
    let policy = okd_scos_419();
    let mut state = StreamState::default();
    let mut first = created("4.19.0-0.okd-scos-2025-02-01-000000");
    first.runs = vec![run("aws", 0, P, 0)];
    state.releases.push(first);
    // No accepted release yet: `aws-upgrade` (Previous) and `aws-upgrade-minor` (candidate
    // okd 4.18) have no source and are not run (nothing recorded for them, not a pass); the
    // other jobs are launched.
    let out = step(&policy, &mut state, &History::default(), None, mins(1));
    let launched: Vec<&str> = out.launches.iter().map(|(_, l)| l.job.as_str()).collect();
    assert_eq!(
        launched,
        [
            "agent-single-node-ipv6",
            "gcp",
            "metal-ovn-assisted",
            "vsphere"
        ]
    );
    let first = &state.releases[0];
    assert!(first.runs.iter().all(|r| !r.job.contains("upgrade")));
    let not_run: Vec<(&str, NotRun)> = first
        .not_run
        .iter()
        .map(|(j, why)| (j.as_str(), *why))
        .collect();
    assert_eq!(
        not_run,
        [
            ("aws-upgrade", NotRun::NoUpgradeSource),
            ("aws-upgrade-minor", NotRun::NoUpgradeSource)
        ]
    );

    // With accepted releases in this stream and in 4.18, the sources resolve.
    let mut history = History::default();
    history.push(AcceptedRelease::new(
        "4.18.0-0.okd-scos",
        false,
        "4.18.0-0.okd-scos-2025-01-20-000000",
        "quay.io/okd/scos-release:4.18",
        t0() - TimeDelta::days(10),
    ));
    let mut accepted = created("4.19.0-0.okd-scos-2025-01-31-000000");
    accepted.phase = Phase::Accepted;
    accepted.created = t0() - TimeDelta::days(1);
    let mut state = StreamState::default();
    state.releases.push(accepted);
    state
        .releases
        .push(created("4.19.0-0.okd-scos-2025-02-01-000000"));
    let out = step(&policy, &mut state, &history, None, mins(1));
    let source = |job: &str| {
        out.launches
            .iter()
            .find(|(_, l)| l.job == job)
            .and_then(|(_, l)| l.upgrade_from.clone())
    };
    assert_eq!(
        source("aws-upgrade"),
        Some(ReleaseRef {
            name: "4.19.0-0.okd-scos-2025-01-31-000000".into(),
            pullspec: "quay.io/okd/scos-release:4.19.0-0.okd-scos-2025-01-31-000000".into()
        })
    );
    assert_eq!(
        source("aws-upgrade-minor").map(|r| r.name),
        Some("4.18.0-0.okd-scos-2025-01-20-000000".into())
    );
    assert_eq!(source("gcp"), None);
}

#[test]
fn a_retry_resolves_its_source_again() {
    let policy = GatingPolicy::builder("s")
        .target("release")
        .job(
            VerifyJob::blocking("up", "up")
                .max_retries(1)
                .upgrade_from(UpgradeSource::Previous),
        )
        .build()
        .unwrap();
    let mut r = created("s-2");
    let mut failed = run("up", 0, F, 5);
    failed.upgrade_from = Some(ReleaseRef {
        name: "s-0".into(),
        pullspec: "p0".into(),
    });
    r.runs = vec![failed];
    let mut history = History::default();
    history.push(AcceptedRelease::new("s", false, "s-1", "p1", t0()));
    let plan = plan_jobs(&policy, &r, &history, mins(10));
    // As the controller does: s-1, accepted since the first attempt, is what the retry
    // upgrades from.
    assert_eq!(plan.launches[0].upgrade_from.as_ref().unwrap().name, "s-1");
}

#[test]
fn creation_gate() {
    let policy = okd_scos_419(); // maxUnreadyReleases 1, 12 h interval
    let at = |hours: i64| t0() + TimeDelta::hours(hours);
    let mut accepted = created("a");
    accepted.phase = Phase::Accepted;
    accepted.inputs_hash = "h1".into();

    assert_eq!(
        may_create(&policy, &[], "h1", at(0)),
        CreationDecision::Create
    );
    assert_eq!(
        may_create(&policy, std::slice::from_ref(&accepted), "h1", at(20)),
        CreationDecision::Blocked(CreationBlock::NoNewInputs)
    );
    assert_eq!(
        may_create(&policy, std::slice::from_ref(&accepted), "h2", at(11)),
        CreationDecision::Wait { until: at(12) }
    );
    assert_eq!(
        may_create(&policy, std::slice::from_ref(&accepted), "h2", at(12)),
        CreationDecision::Create
    );
    let mut ready = created("b");
    ready.inputs_hash = "h2".into();
    assert_eq!(
        may_create(&policy, &[accepted.clone(), ready.clone()], "h3", at(30)),
        CreationDecision::Blocked(CreationBlock::TooManyUnready { unready: 1, max: 1 })
    );
    let mut pending = ReleaseRecord::pending("c", "", "h2", t0());
    pending.created = at(1);
    assert_eq!(
        may_create(&policy, &[accepted.clone(), pending], "h3", at(30)),
        CreationDecision::Blocked(CreationBlock::PendingRelease("c".into()))
    );
    // A pinned release neither counts nor delays.
    ready.keep = true;
    ready.created = at(29);
    assert_eq!(
        may_create(&policy, &[accepted, ready], "h3", at(30)),
        CreationDecision::Create
    );
    let stable = GatingPolicy::builder("4-scos-stable")
        .stable()
        .build()
        .unwrap();
    assert_eq!(
        may_create(&stable, &[], "h", at(0)),
        CreationDecision::Blocked(CreationBlock::StableStream)
    );
}

#[test]
fn superseded_pending_releases_are_aborted() {
    let policy = okd_scos_419();
    let mut state = StreamState::default();
    for (i, name) in ["old", "new"].iter().enumerate() {
        let mut r = ReleaseRecord::pending(name, "", name, t0());
        r.created = t0() + TimeDelta::minutes(i as i64);
        state.releases.push(r);
    }
    let out = step(&policy, &mut state, &History::default(), None, mins(5));
    assert_eq!(state.release("old").unwrap().phase, Phase::Failed);
    assert_eq!(
        state.release("old").unwrap().reason.as_deref(),
        Some("Aborted")
    );
    assert_eq!(state.release("new").unwrap().phase, Phase::Pending);
    assert_eq!(out.transitions.len(), 1);
}

#[test]
fn garbage_collection_rules() {
    let policy = okd_scos_419(); // expires 72h
    let at = |hours: i64| t0() + TimeDelta::hours(hours);
    let mut releases = Vec::new();
    let mut add = |name: &str, hour: i64, phase: Phase| {
        let mut r = created(name);
        r.created = at(hour);
        r.phase = phase;
        releases.push(r);
    };
    add("failed-before-accepted", 0, Phase::Failed);
    add("rejected-before-accepted", 1, Phase::Rejected);
    for i in 0..7 {
        add(&format!("acc-{i}"), 10 + i, Phase::Accepted);
    }
    for i in 0..7 {
        add(&format!("rej-{i}"), 20 + i, Phase::Rejected);
    }
    add("ready", 30, Phase::Ready);
    add("pending", 31, Phase::Pending);
    let now = at(10 + 72 + 2); // acc-0 and acc-1 are past expiry; acc-2 is not
    let removed = collect_garbage(&policy, &releases, now);
    assert_eq!(
        removed,
        [
            "rej-1",
            "rej-0",
            "acc-1",
            "acc-0",
            "rejected-before-accepted",
            "failed-before-accepted"
        ]
    );
    // Without `expires`, accepted releases are never removed.
    let mut no_expiry = policy.clone();
    no_expiry.expires = None;
    assert!(
        !collect_garbage(&no_expiry, &releases, now + TimeDelta::days(365))
            .iter()
            .any(|n| n.starts_with("acc-"))
    );
    // The newest accepted release survives even with nothing kept.
    let mut keep_none = policy.clone();
    keep_none.gc.keep_accepted = 0;
    let removed = collect_garbage(&keep_none, &releases, now + TimeDelta::days(365));
    assert!(!removed.contains(&"acc-6".to_string()));
    assert!(removed.contains(&"acc-5".to_string()));
    // Pinned releases stay.
    releases.iter_mut().for_each(|r| r.keep = r.name == "acc-0");
    assert!(!collect_garbage(&policy, &releases, now).contains(&"acc-0".to_string()));
    // Stable streams lose nothing.
    let stable = GatingPolicy::builder("4-scos-stable")
        .stable()
        .expires(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(collect_garbage(&stable, &releases, now).is_empty());
}
