//! Which job runs to start now: first runs, retries with the controller's backoff, analysis
//! batches of aggregated jobs, upgrade sources.
//!
//! A pure function of the policy, a release's record, the accepted history and the time. Only a
//! release in phase Ready gets new runs (as in the controller, which verifies Ready tags only).
//!
//! Retry *n* of a job (attempt *n*, counting from 1) may start `min(2^(n−1), 15)` minutes after
//! the previous attempt finished, except retry 1, which starts at once (`CalculateBackoff`).
//! A job never runs more than `maxRetries + 1` times; an aggregated job never has more than
//! `maxRetries + 1` batches. A retry of an upgrade job upgrades from the same source as its first
//! attempt, so that all attempts test the same edge (the controller re-resolves; a release
//! accepted meanwhile would change the edge under test). An upgrade job whose source does not
//! resolve is a no-op pass ([`Launch::noop`]).
//!
//! ```
//! use std::time::Duration;
//! use okd_gating::retry_backoff;
//! assert_eq!(retry_backoff(1), Duration::ZERO);
//! assert_eq!(retry_backoff(2), Duration::from_secs(120));
//! assert_eq!(retry_backoff(3), Duration::from_secs(240));
//! assert_eq!(retry_backoff(9), Duration::from_secs(900));
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::record::{JobRun, Phase, ReleaseRecord, ReleaseRef, RunId, RunKind, RunState};
use crate::verdict::{batch_outcome, batches, job_state};
use crate::{GatingPolicy, History, JobState, VerifyJob, evaluate, resolve_upgrade_source};

/// How long retry `retry` (1 for the first retry) waits after the previous attempt finished.
pub fn retry_backoff(retry: u32) -> Duration {
    if retry <= 1 {
        return Duration::ZERO;
    }
    let minutes = 1u64 << (retry - 1).min(4);
    Duration::from_secs(minutes.min(15) * 60)
}

/// A run to start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Launch {
    /// The verification job.
    pub job: String,
    /// Plain run or analysis run.
    pub kind: RunKind,
    /// Attempt (batch, for aggregated jobs).
    pub attempt: u32,
    /// The upgrade source, for upgrade jobs.
    pub upgrade_from: Option<ReleaseRef>,
    /// Nothing to run: record a pass (upgrade job without a source).
    pub noop: bool,
}

impl Launch {
    /// The identity of the run this launch starts for `release`.
    pub fn run_id(&self, release: &str) -> RunId {
        RunId {
            release: release.to_string(),
            job: self.job.clone(),
            kind: self.kind,
            attempt: self.attempt,
        }
    }

    /// The run record of this launch, started at `now` (a no-op is recorded as passed).
    pub fn to_run(&self, now: DateTime<Utc>, handle: Option<String>) -> JobRun {
        JobRun {
            job: self.job.clone(),
            kind: self.kind,
            attempt: self.attempt,
            state: if self.noop {
                RunState::Succeeded
            } else {
                RunState::Pending
            },
            started: now,
            finished: self.noop.then_some(now),
            upgrade_from: self.upgrade_from.clone(),
            handle,
            log: None,
            noop: self.noop,
        }
    }
}

/// What to start for one release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobPlan {
    /// Runs to start now.
    pub launches: Vec<Launch>,
    /// The earliest time a retry waiting for its backoff may start.
    pub wake_at: Option<DateTime<Utc>>,
}

pub(crate) fn add_duration(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Plans the runs to start for `record` at `now`.
pub fn plan_jobs(
    policy: &GatingPolicy,
    record: &ReleaseRecord,
    history: &History,
    now: DateTime<Utc>,
) -> JobPlan {
    let mut plan = JobPlan::default();
    if evaluate(policy, record).phase != Phase::Ready {
        return plan;
    }
    for job in policy.jobs.iter().filter(|j| j.is_enabled()) {
        if job_state(job, record).is_final() {
            continue;
        }
        match &job.aggregation {
            None => plan_plain(policy, job, record, history, now, &mut plan),
            Some(agg) => {
                let all = batches(record, &job.name);
                let count = agg.analysis_job_count;
                let next = match all.last() {
                    None => Some(0),
                    Some((attempt, runs)) if (runs.len() as u32) < count => {
                        // A batch started only in part (a crash mid-launch): complete it.
                        let source = runs.iter().find_map(|r| r.upgrade_from.clone());
                        for index in 0..count {
                            let kind = RunKind::Analysis { index };
                            if !runs.iter().any(|r| r.kind == kind) {
                                plan.launches.push(Launch {
                                    job: job.name.clone(),
                                    kind,
                                    attempt: *attempt,
                                    upgrade_from: source.clone(),
                                    noop: false,
                                });
                            }
                        }
                        None
                    }
                    Some((attempt, runs)) => match batch_outcome(runs, agg) {
                        JobState::Failure if *attempt < job.max_retries => {
                            let finished = runs.iter().filter_map(|r| r.finished).max();
                            let ready =
                                add_duration(finished.unwrap_or(now), retry_backoff(attempt + 1));
                            if ready <= now {
                                Some(attempt + 1)
                            } else {
                                plan.wake_at = earliest(plan.wake_at, ready);
                                None
                            }
                        }
                        _ => None,
                    },
                };
                let Some(attempt) = next else { continue };
                let source = first_source(job, record, policy, history);
                match source {
                    Source::NoOp => plan.launches.push(Launch {
                        job: job.name.clone(),
                        kind: RunKind::Verify,
                        attempt,
                        upgrade_from: None,
                        noop: true,
                    }),
                    Source::From(upgrade_from) => {
                        for index in 0..count {
                            plan.launches.push(Launch {
                                job: job.name.clone(),
                                kind: RunKind::Analysis { index },
                                attempt,
                                upgrade_from: upgrade_from.clone(),
                                noop: false,
                            });
                        }
                    }
                }
            }
        }
    }
    plan
}

enum Source {
    /// An upgrade job with nothing to upgrade from.
    NoOp,
    /// Not an upgrade job (`None`), or the resolved source.
    From(Option<ReleaseRef>),
}

fn first_source(
    job: &VerifyJob,
    record: &ReleaseRecord,
    policy: &GatingPolicy,
    history: &History,
) -> Source {
    if job.upgrade.is_none() {
        return Source::From(None);
    }
    if let Some(previous) = record
        .runs_of(&job.name)
        .find_map(|r| r.upgrade_from.clone())
    {
        return Source::From(Some(previous));
    }
    match resolve_upgrade_source(policy, job, &record.name, history) {
        Some(src) => Source::From(Some(src)),
        None => Source::NoOp,
    }
}

fn plan_plain(
    policy: &GatingPolicy,
    job: &VerifyJob,
    record: &ReleaseRecord,
    history: &History,
    now: DateTime<Utc>,
    plan: &mut JobPlan,
) {
    let last = record
        .runs_of(&job.name)
        .filter(|r| r.kind == RunKind::Verify)
        .max_by_key(|r| r.attempt);
    let attempt = match last {
        None => 0,
        Some(run) if run.state != RunState::Failed => return,
        Some(run) if run.attempt >= job.max_retries => return,
        Some(run) => {
            let next = run.attempt + 1;
            let ready = add_duration(run.finished.unwrap_or(run.started), retry_backoff(next));
            if ready > now {
                plan.wake_at = earliest(plan.wake_at, ready);
                return;
            }
            next
        }
    };
    let (upgrade_from, noop) = match first_source(job, record, policy, history) {
        Source::NoOp => (None, true),
        Source::From(src) => (src, false),
    };
    plan.launches.push(Launch {
        job: job.name.clone(),
        kind: RunKind::Verify,
        attempt,
        upgrade_from,
        noop,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_matches_the_controller() {
        let minutes: Vec<u64> = (1..=7).map(|n| retry_backoff(n).as_secs() / 60).collect();
        assert_eq!(minutes, [0, 2, 4, 8, 15, 15, 15]);
        assert_eq!(retry_backoff(0), Duration::ZERO);
        assert_eq!(retry_backoff(u32::MAX), Duration::from_secs(900));
    }
}
