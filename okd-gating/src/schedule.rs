//! Which job runs to start now: first runs, retries with the controller's backoff, analysis
//! analysis runs and aggregators of aggregated jobs, upgrade sources.
//!
//! A pure function of the policy, a release's record, the accepted history and the time. Only a
//! release in phase Ready gets new runs (as in the controller, which verifies Ready tags only).
//!
//! Retry *n* of a job (attempt *n*, counting from 1) may start `min(2^(n−1), 15)` minutes after
//! the previous attempt finished, except retry 1, which starts at once (`CalculateBackoff`).
//! A job never runs more than `maxRetries + 1` times; an aggregated job runs each analysis run
//! once and its aggregator at most `maxRetries + 1` times. Every attempt of an upgrade job resolves its source again, as the
//! controller does: a release accepted meanwhile is what the retry upgrades from. An upgrade job
//! whose source does not resolve is not started ([`JobPlan::not_run`]); a stream that opts in
//! to [`NoUpgradeSource::Skip`] records it as skipped instead ([`Launch::skip`]).
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

use crate::record::{JobRun, NotRun, Phase, ReleaseRecord, ReleaseRef, RunId, RunKind, RunState};
use crate::verdict::{aggregate, analysis_runs, job_state};
use crate::{
    Aggregation, GatingPolicy, History, NoUpgradeSource, VerifyJob, evaluate,
    resolve_upgrade_source,
};

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
    /// Attempt (0 for analysis runs).
    pub attempt: u32,
    /// The upgrade source, for upgrade jobs.
    pub upgrade_from: Option<ReleaseRef>,
    /// Nothing to run: record the job as skipped (an upgrade job without a source, in a stream
    /// that skips those).
    pub skip: bool,
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

    /// The run record of this launch, started at `now` (a skip is recorded as skipped, finished).
    pub fn to_run(&self, now: DateTime<Utc>, handle: Option<String>) -> JobRun {
        JobRun {
            job: self.job.clone(),
            kind: self.kind,
            attempt: self.attempt,
            state: if self.skip {
                RunState::Skipped
            } else {
                RunState::Pending
            },
            started: now,
            finished: self.skip.then_some(now),
            upgrade_from: self.upgrade_from.clone(),
            handle,
            log: None,
            skipped: self.skip,
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
    /// Jobs that would start now but cannot, and why.
    pub not_run: Vec<(String, NotRun)>,
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
            Some(agg) => plan_aggregated(policy, job, agg, record, history, now, &mut plan),
        }
    }
    crate::sampled::plan_sampled(policy, record, history, &mut plan);
    plan
}

enum Source {
    /// An upgrade job with nothing to upgrade from.
    None,
    /// Not an upgrade job (`None`), or the resolved source.
    From(Option<ReleaseRef>),
}

/// The source of the next attempt of `job`, resolved again for every attempt.
fn source(
    job: &VerifyJob,
    record: &ReleaseRecord,
    policy: &GatingPolicy,
    history: &History,
) -> Source {
    if job.upgrade.is_none() {
        return Source::From(None);
    }
    match resolve_upgrade_source(policy, job, &record.name, history) {
        Some(src) => Source::From(Some(src)),
        None => Source::None,
    }
}

/// An attempt of an upgrade job with no source: not run, or recorded as skipped.
fn no_source(policy: &GatingPolicy, job: &VerifyJob, attempt: u32, plan: &mut JobPlan) {
    match policy.no_upgrade_source {
        NoUpgradeSource::KeepReady => {
            plan.not_run
                .push((job.name.clone(), NotRun::NoUpgradeSource));
        }
        NoUpgradeSource::Skip => plan.launches.push(Launch {
            job: job.name.clone(),
            kind: RunKind::Verify,
            attempt,
            upgrade_from: None,
            skip: true,
        }),
    }
}

/// The attempt of `kind` runs of `job` to start now, under the retry rule and its backoff.
fn next_attempt(
    job: &VerifyJob,
    record: &ReleaseRecord,
    kind: RunKind,
    now: DateTime<Utc>,
    plan: &mut JobPlan,
) -> Option<u32> {
    let last = record
        .runs_of(&job.name)
        .filter(|r| r.kind == kind)
        .max_by_key(|r| r.attempt);
    match last {
        None => Some(0),
        Some(run) if run.state != RunState::Failed => None,
        Some(run) if run.attempt >= job.max_retries => None,
        Some(run) => {
            let next = run.attempt + 1;
            let ready = add_duration(run.finished.unwrap_or(run.started), retry_backoff(next));
            if ready > now {
                plan.wake_at = earliest(plan.wake_at, ready);
                return None;
            }
            Some(next)
        }
    }
}

/// An aggregated job: its analysis runs once each, then its aggregator (retried over the same
/// analysis runs).
fn plan_aggregated(
    policy: &GatingPolicy,
    job: &VerifyJob,
    agg: &Aggregation,
    record: &ReleaseRecord,
    history: &History,
    now: DateTime<Utc>,
    plan: &mut JobPlan,
) {
    let analysis = analysis_runs(record, &job.name);
    let launch = |kind, upgrade_from: &Option<ReleaseRef>| Launch {
        job: job.name.clone(),
        kind,
        attempt: 0,
        upgrade_from: upgrade_from.clone(),
        skip: false,
    };
    if analysis.is_empty() {
        match source(job, record, policy, history) {
            Source::None => no_source(policy, job, 0, plan),
            Source::From(from) => plan.launches.extend(
                (0..agg.analysis_job_count).map(|index| launch(RunKind::Analysis { index }, &from)),
            ),
        }
        return;
    }
    let from = analysis.iter().find_map(|r| r.upgrade_from.clone());
    if (analysis.len() as u32) < agg.analysis_job_count {
        // Started only in part (a crash mid-launch): complete the set, same source.
        for index in 0..agg.analysis_job_count {
            let kind = RunKind::Analysis { index };
            if !analysis.iter().any(|r| r.kind == kind) {
                plan.launches.push(launch(kind, &from));
            }
        }
        return;
    }
    if aggregate(&analysis, agg).is_none() {
        return;
    }
    if let Some(attempt) = next_attempt(job, record, RunKind::Aggregator, now, plan) {
        plan.launches.push(Launch {
            attempt,
            ..launch(RunKind::Aggregator, &from)
        });
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
    let Some(attempt) = next_attempt(job, record, RunKind::Verify, now, plan) else {
        return;
    };
    match source(job, record, policy, history) {
        Source::None => no_source(policy, job, attempt, plan),
        Source::From(upgrade_from) => plan.launches.push(Launch {
            job: job.name.clone(),
            kind: RunKind::Verify,
            attempt,
            upgrade_from,
            skip: false,
        }),
    }
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
