//! Properties of the decision core, over random policies, runs and schedules.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use okd_gating::{
    CreationState, Gate, GatingPolicy, History, JobRun, Phase, ReleaseRecord, RunEnd, RunKind,
    RunState, StreamState, VerifyJob, evaluate, job_statuses, step,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct JobSpec {
    blocking: bool,
    retries: u32,
    aggregated: Option<u32>,
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        any::<bool>(),
        0u32..4,
        prop::option::weighted(0.25, 1u32..4),
    )
        .prop_map(|(blocking, retries, aggregated)| JobSpec {
            blocking: blocking || aggregated.is_some(),
            retries,
            aggregated,
        })
}

fn policy_from(
    specs: &[JobSpec],
    interval_min: u64,
    max_unready: u32,
    expires_h: Option<u64>,
) -> GatingPolicy {
    let mut b = GatingPolicy::builder("s")
        .target("release")
        .min_creation_interval(Duration::from_secs(interval_min * 60))
        .max_unready_releases(max_unready);
    if let Some(h) = expires_h {
        b = b.expires(Duration::from_secs(h * 3600));
    }
    for (i, s) in specs.iter().enumerate() {
        let name = format!("job{i}x");
        let job = match (s.aggregated, s.blocking) {
            (Some(n), _) => VerifyJob::aggregated(&name, "p", n),
            (None, true) => VerifyJob::blocking(&name, "p"),
            (None, false) => VerifyJob::informing(&name, "p"),
        };
        b = b.job(job.max_retries(s.retries));
    }
    b.build().unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// Arbitrary finished or pending runs for a policy's jobs.
fn record_with_runs(policy: &GatingPolicy, states: &[(u8, u8)]) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending("s-1", "p", "h", t0());
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Ready;
    for (i, (job_pick, state)) in states.iter().enumerate() {
        let job = &policy.jobs[*job_pick as usize % policy.jobs.len()];
        let state = match state % 3 {
            0 => RunState::Pending,
            1 => RunState::Succeeded,
            _ => RunState::Failed,
        };
        let (kind, attempt) = match &job.aggregation {
            Some(a) => (
                RunKind::Analysis {
                    index: i as u32 % a.analysis_job_count,
                },
                i as u32 / a.analysis_job_count,
            ),
            None => (RunKind::Verify, i as u32),
        };
        if r.runs
            .iter()
            .any(|x| x.job == job.name && x.kind == kind && x.attempt == attempt)
        {
            continue;
        }
        r.runs.push(JobRun {
            job: job.name.clone(),
            kind,
            attempt,
            state,
            started: t0(),
            finished: (state != RunState::Pending).then(t0),
            upgrade_from: None,
            handle: None,
            log: None,
            skipped: false,
        });
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_informing_failure_never_rejects(
        specs in prop::collection::vec(job_spec(), 1..6),
        runs in prop::collection::vec((any::<u8>(), any::<u8>()), 0..30),
    ) {
        let policy = policy_from(&specs, 0, 0, None);
        let record = record_with_runs(&policy, &runs);
        let mut failing = record.clone();
        for run in &mut failing.runs {
            if policy.job(&run.job).is_some_and(|j| j.gate == Gate::Informing) {
                run.state = RunState::Failed;
                run.finished = Some(t0());
            }
        }
        let before = evaluate(&policy, &record).phase;
        let after = evaluate(&policy, &failing).phase;
        prop_assert_eq!(before == Phase::Rejected, after == Phase::Rejected);
        // And a rejection always names a blocking job in Failure.
        if after == Phase::Rejected {
            prop_assert!(job_statuses(&policy, &failing)
                .iter()
                .any(|j| j.gate == Gate::Blocking && j.state == okd_gating::JobState::Failure));
        }
    }

    #[test]
    fn a_blocking_failure_with_retries_left_never_rejects(
        retries in 1u32..5,
        failures in 1u32..5,
        others in prop::collection::vec(any::<bool>(), 0..4),
    ) {
        prop_assume!(failures <= retries);
        let mut b = GatingPolicy::builder("s").target("release")
            .job(VerifyJob::blocking("main", "p").max_retries(retries));
        for (i, _) in others.iter().enumerate() {
            b = b.job(VerifyJob::blocking(&format!("other{i}x"), "p"));
        }
        let policy = b.build().unwrap();
        let mut r = ReleaseRecord::pending("s-1", "p", "h", t0());
        r.creation = CreationState::Succeeded;
        for attempt in 0..failures {
            r.runs.push(JobRun { job: "main".into(), kind: RunKind::Verify, attempt, state: RunState::Failed,
                started: t0(), finished: Some(t0()), upgrade_from: None, handle: None, log: None, skipped: false });
        }
        for (i, ok) in others.iter().enumerate() {
            r.runs.push(JobRun { job: format!("other{i}x"), kind: RunKind::Verify, attempt: 0,
                state: if *ok { RunState::Succeeded } else { RunState::Pending },
                started: t0(), finished: ok.then(t0), upgrade_from: None, handle: None, log: None, skipped: false });
        }
        prop_assert_ne!(evaluate(&policy, &r).phase, Phase::Rejected);
    }

    #[test]
    fn decided_releases_are_terminal_without_override(
        specs in prop::collection::vec(job_spec(), 1..6),
        runs in prop::collection::vec((any::<u8>(), any::<u8>()), 0..30),
        accepted in any::<bool>(),
    ) {
        let policy = policy_from(&specs, 0, 0, None);
        let mut record = record_with_runs(&policy, &runs);
        record.phase = if accepted { Phase::Accepted } else { Phase::Rejected };
        prop_assert_eq!(evaluate(&policy, &record).phase, record.phase);
    }

    #[test]
    fn driven_streams_keep_every_invariant(
        specs in prop::collection::vec(job_spec(), 1..5),
        interval_min in 0u64..600,
        max_unready in 0u32..3,
        expires_h in prop::option::of(1u64..48),
        outcomes in prop::collection::vec(0u8..10, 1..64),
        durations in prop::collection::vec(1i64..240, 1..16),
        change_every in 1usize..6,
    ) {
        let policy = policy_from(&specs, interval_min, max_unready, expires_h);
        drive(&policy, &outcomes, &durations, change_every)?;
    }
}

/// Drives a stream for a simulated while with random run outcomes and durations, checking on
/// the way that creation respects the interval and `maxUnreadyReleases`, that decided releases
/// never change phase, and at the end that no job ran more than `maxRetries + 1` times.
fn drive(
    policy: &GatingPolicy,
    outcomes: &[u8],
    durations: &[i64],
    change_every: usize,
) -> Result<(), TestCaseError> {
    let mut state = StreamState::default();
    let history = History::default();
    let mut now = t0();
    let mut pending: Vec<(DateTime<Utc>, String, JobRun, RunState)> = Vec::new();
    let mut draws = 0usize;
    let mut all_runs: Vec<(String, JobRun)> = Vec::new();
    for tick in 0..300 {
        let hash = format!("h{}", tick / change_every);
        // Creation of a release takes until the next tick.
        for r in &mut state.releases {
            if r.creation == CreationState::Pending && r.created < now {
                r.creation = CreationState::Succeeded;
            }
        }
        let out = step(policy, &mut state, &history, Some(&hash), now);
        for t in &out.transitions {
            prop_assert!(
                !matches!(t.from, Phase::Accepted | Phase::Rejected | Phase::Failed),
                "decided release {} moved {:?} -> {:?}",
                t.release,
                t.from,
                t.to
            );
        }
        if let Some(name) = out.create {
            let live: Vec<&ReleaseRecord> = state.releases.iter().filter(|r| !r.keep).collect();
            prop_assert!(!live.iter().any(|r| r.phase == Phase::Pending));
            let unready = live.iter().filter(|r| !r.phase.is_terminal()).count();
            if policy.max_unready_releases > 0 {
                prop_assert!(
                    unready < policy.max_unready_releases as usize,
                    "{} unready with max {}",
                    unready,
                    policy.max_unready_releases
                );
            }
            if let Some(newest) = live.iter().map(|r| r.created).max() {
                let since = (now - newest).to_std().unwrap_or_default();
                prop_assert!(
                    since >= policy.min_creation_interval,
                    "created {:?} after the newest, interval {:?}",
                    since,
                    policy.min_creation_interval
                );
            }
            state
                .releases
                .push(ReleaseRecord::pending(&name, "p", &hash, now));
        }
        for (release, launch) in out.launches {
            let run = launch.to_run(now, None);
            let outcome = if outcomes[draws % outcomes.len()] < 6 {
                RunState::Failed
            } else {
                RunState::Succeeded
            };
            let took = durations[draws % durations.len()];
            draws += 1;
            all_runs.push((release.clone(), run.clone()));
            state
                .release_mut(&release)
                .expect("launched for a live release")
                .runs
                .push(run.clone());
            pending.push((now + TimeDelta::minutes(took), release, run, outcome));
        }
        // Advance to the next event: a run ending, a wake-up, or at most 30 minutes.
        let mut next = now + TimeDelta::minutes(30);
        if let Some(w) = out.wake_at {
            next = next.min(w.max(now + TimeDelta::seconds(1)));
        }
        if let Some(end) = pending.iter().map(|p| p.0).min() {
            next = next.min(end.max(now + TimeDelta::seconds(1)));
        }
        now = next;
        let (done, still): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.0 <= now);
        pending = still;
        for (at, release, run, outcome) in done {
            let end = RunEnd {
                state: outcome,
                at,
                log: None,
            };
            state.finish_run(&run.id(&release), end);
        }
    }
    for job in &policy.jobs {
        let limit = job.max_retries as usize + 1;
        let mut per_release: std::collections::BTreeMap<(&str, RunKind), usize> =
            Default::default();
        for (release, run) in all_runs.iter().filter(|(_, r)| r.job == job.name) {
            *per_release.entry((release.as_str(), run.kind)).or_default() += 1;
        }
        for ((release, kind), n) in per_release {
            prop_assert!(
                n <= limit,
                "{} {:?} of {} ran {} times (max retries {})",
                job.name,
                kind,
                release,
                n,
                job.max_retries
            );
        }
    }
    Ok(())
}

#[test]
fn the_driver_exercises_creation_and_verdicts() {
    // A guard that the property above is not vacuous: this schedule creates, retries,
    // accepts and rejects releases.
    let policy = policy_from(
        &[
            JobSpec {
                blocking: true,
                retries: 1,
                aggregated: None,
            },
            JobSpec {
                blocking: false,
                retries: 0,
                aggregated: None,
            },
            JobSpec {
                blocking: true,
                retries: 1,
                aggregated: Some(3),
            },
        ],
        60,
        1,
        Some(6),
    );
    let mut state = StreamState::default();
    let mut now = t0();
    let mut created = 0;
    let mut accepted = 0;
    let mut rejected = 0;
    let mut i = 0u64;
    for tick in 0..200 {
        for r in &mut state.releases {
            if r.creation == CreationState::Pending {
                r.creation = CreationState::Succeeded;
            }
        }
        let out = step(
            &policy,
            &mut state,
            &History::default(),
            Some(&format!("h{tick}")),
            now,
        );
        accepted += out
            .transitions
            .iter()
            .filter(|t| t.to == Phase::Accepted)
            .count();
        rejected += out
            .transitions
            .iter()
            .filter(|t| t.to == Phase::Rejected)
            .count();
        if let Some(name) = out.create {
            created += 1;
            state
                .releases
                .push(ReleaseRecord::pending(&name, "p", &format!("h{tick}"), now));
        }
        for (release, launch) in out.launches {
            i += 1;
            let r = state.release_mut(&release).unwrap();
            r.runs.push(launch.to_run(now, None));
            // A fixed pseudo-random pattern failing about half the runs.
            let outcome = if i.wrapping_mul(2654435761) % 10 < 5 {
                RunState::Failed
            } else {
                RunState::Succeeded
            };
            let end = RunEnd {
                state: outcome,
                at: now,
                log: None,
            };
            state.finish_run(&launch.run_id(&release), end);
        }
        now += TimeDelta::minutes(20);
    }
    assert!(created > 10, "{created}");
    assert!(accepted > 3, "{accepted}");
    assert!(rejected > 0, "{rejected}");
}
