//! The verdict: a pure function of a policy and a release's recorded runs.
//!
//! This follows the release-controller's current, `ReleasePayload`-based algorithm.
//!
//! **Job states** (`computeJobState`), from a job's runs: no runs ⇒ `Unknown`; any success ⇒
//! `Success`; any pending ⇒ `Pending`; failures with runs left (`runs < maxRetries + 1`) ⇒
//! `Pending`; otherwise `Failure`. The informing analysis entry of an aggregated job: fewer runs
//! than the batch ⇒ `Unknown`; at least the pass threshold (0.6) passed ⇒ `Success`; any pending
//! ⇒ `Pending`; else `Failure`.
//!
//! **Aggregated jobs.** As in the controller, an aggregated job is `analysisJobCount` analysis
//! runs, each run once, and an aggregator run that judges them; only the aggregator's runs
//! decide the job, under the retry rule, and a retry re-runs the aggregator over the same
//! analysis runs. The controller's aggregator is a statistical job; okd-gating's
//! ([`aggregate`]) passes when at least the pass threshold of the analysis runs passed, and runs
//! in-process once every analysis run has finished.
//!
//! **Skipped jobs.** A job recorded as skipped (an upgrade job with no source in a stream that
//! skips those) is `Skipped`: it neither holds nor rejects the release, and is never a pass.
//!
//! **Phase**, in this order: a Failed release stays Failed; creation failed ⇒ Failed; creation
//! not finished ⇒ Pending; a manual override ⇒ its phase; an Accepted or Rejected release keeps
//! its phase (terminal except by override); then, over **blocking jobs only**, skipped ones left
//! out: any Pending or Unknown ⇒ Ready (still verifying; a job not run for want of an upgrade
//! source stays Unknown); any Failure ⇒ Rejected; all Success ⇒ Accepted. Informing
//! jobs never reject and, when a blocking job exists, never delay. With no blocking job at all,
//! the release is accepted once every informing job that is not `async` has finished (the
//! controller also waits for async ones there; okd-gating does not wait for what is declared not
//! to be waited for).
//!
//! ```
//! use chrono::Utc;
//! use okd_gating::{evaluate, CreationState, GatingPolicy, JobRun, Phase, ReleaseRecord, RunKind, RunState, VerifyJob};
//! let policy = GatingPolicy::builder("s").target("release")
//!     .job(VerifyJob::blocking("aws", "e2e-aws").max_retries(1))
//!     .build()?;
//! let now = Utc::now();
//! let mut r = ReleaseRecord::pending("s-1", "quay.io/x:1", "h", now);
//! r.creation = CreationState::Succeeded;
//! r.runs.push(JobRun { job: "aws".into(), kind: RunKind::Verify, attempt: 0, state: RunState::Failed,
//!     started: now, finished: Some(now), upgrade_from: None, handle: None, log: None, skipped: false });
//! assert_eq!(evaluate(&policy, &r).phase, Phase::Ready); // one retry left
//! r.runs.push(JobRun { attempt: 1, ..r.runs[0].clone() });
//! assert_eq!(evaluate(&policy, &r).phase, Phase::Rejected);
//! # Ok::<(), okd_gating::Error>(())
//! ```

use crate::record::{
    CreationState, JobRun, OverridePhase, Phase, ReleaseRecord, RunKind, RunState,
};
use crate::{Aggregation, Gate, GatingPolicy, VerifyJob};

/// The aggregate state of one job of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobState {
    /// Not started.
    Unknown,
    /// Running, or failed with retries left.
    Pending,
    /// Passed.
    Success,
    /// Failed with no retries left.
    Failure,
    /// Recorded as skipped, never run: neither a pass nor a failure.
    Skipped,
}

impl JobState {
    /// Success, Failure or Skipped.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Success | JobState::Failure | JobState::Skipped
        )
    }
}

/// The role of a payload job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobRole {
    /// A plain job.
    Plain,
    /// The blocking judgement of an aggregated job.
    Aggregator,
    /// The informing analysis entry of an aggregated job.
    Analysis,
    /// The sampled upgrade runs of one platform of a Stable stream (named after the platform).
    Upgrade,
}

/// A job of a release with its state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobStatus {
    /// The verification job.
    pub name: String,
    /// Its role.
    pub role: JobRole,
    /// Blocking or informing.
    pub gate: Gate,
    /// Not waited for.
    pub asynchronous: bool,
    /// Its state.
    pub state: JobState,
    /// Runs so far (batches, for aggregators).
    pub runs: u32,
}

/// A release's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// The phase the release is in.
    pub phase: Phase,
    /// Reason, for terminal phases reached here.
    pub reason: Option<String>,
    /// Message, for terminal phases reached here.
    pub message: Option<String>,
    /// Every enabled job with its state.
    pub jobs: Vec<JobStatus>,
}

/// The retry rule shared by plain jobs and aggregators, over outcomes of runs (or batches).
pub(crate) fn reduce(outcomes: &[JobState], max_retries: u32) -> JobState {
    if outcomes.is_empty() {
        return JobState::Unknown;
    }
    if outcomes.contains(&JobState::Success) {
        return JobState::Success;
    }
    if outcomes.contains(&JobState::Pending) {
        return JobState::Pending;
    }
    if (outcomes.len() as u64) < u64::from(max_retries) + 1 {
        return JobState::Pending;
    }
    JobState::Failure
}

pub(crate) fn run_outcome(run: &JobRun) -> JobState {
    match run.state {
        RunState::Pending => JobState::Pending,
        RunState::Succeeded => JobState::Success,
        RunState::Failed => JobState::Failure,
        RunState::Skipped => JobState::Skipped,
    }
}

/// Enough runs of a batch succeeded to meet the aggregation's pass threshold.
fn passes(runs: &[&JobRun], agg: &Aggregation) -> bool {
    let successes = runs
        .iter()
        .filter(|r| r.state == RunState::Succeeded)
        .count();
    successes as f64 >= agg.pass_threshold * f64::from(agg.analysis_job_count) - 1e-9
}

/// The analysis runs of aggregated job `job`, in index order.
pub(crate) fn analysis_runs<'a>(record: &'a ReleaseRecord, job: &'a str) -> Vec<&'a JobRun> {
    let mut runs: Vec<&JobRun> = record
        .runs_of(job)
        .filter(|r| matches!(r.kind, RunKind::Analysis { .. }))
        .collect();
    runs.sort_by_key(|r| (r.kind, r.attempt));
    runs
}

/// What the aggregator of `agg` decides over `runs`: `None` while runs are missing or running,
/// else Succeeded when at least the pass threshold of them passed, Failed otherwise.
pub fn aggregate(runs: &[&JobRun], agg: &Aggregation) -> Option<RunState> {
    if runs.len() < agg.analysis_job_count as usize || runs.iter().any(|r| !r.is_finished()) {
        return None;
    }
    Some(if passes(runs, agg) {
        RunState::Succeeded
    } else {
        RunState::Failed
    })
}

/// The state of `job` on `record` in the role that gates (aggregator for aggregated jobs).
pub fn job_state(job: &VerifyJob, record: &ReleaseRecord) -> JobState {
    if is_skipped(record, &job.name) {
        return JobState::Skipped;
    }
    let kind = match job.aggregation {
        Some(_) => RunKind::Aggregator,
        None => RunKind::Verify,
    };
    let outcomes: Vec<JobState> = record
        .runs_of(&job.name)
        .filter(|r| r.kind == kind)
        .map(run_outcome)
        .collect();
    reduce(&outcomes, job.max_retries)
}

/// The job was recorded as skipped (older state files recorded such runs as passed `noop`s).
fn is_skipped(record: &ReleaseRecord, job: &str) -> bool {
    record
        .runs_of(job)
        .any(|r| r.skipped && !matches!(r.kind, RunKind::Periodic | RunKind::Sampled))
}

fn analysis_state(job: &VerifyJob, agg: &Aggregation, record: &ReleaseRecord) -> JobState {
    if is_skipped(record, &job.name) {
        return JobState::Skipped;
    }
    let runs = analysis_runs(record, &job.name);
    if runs.len() < agg.analysis_job_count as usize {
        return JobState::Unknown;
    }
    if passes(&runs, agg) {
        JobState::Success
    } else if runs.iter().any(|r| !r.is_finished()) {
        JobState::Pending
    } else {
        JobState::Failure
    }
}

/// Every enabled job of the policy with its state on `record` (aggregated jobs twice: the
/// blocking aggregator, then the informing analysis entry), then one informing entry per
/// platform of a Stable stream's sampled upgrades.
pub fn job_statuses(policy: &GatingPolicy, record: &ReleaseRecord) -> Vec<JobStatus> {
    let mut out = Vec::with_capacity(policy.jobs.len());
    for job in policy.jobs.iter().filter(|j| j.is_enabled()) {
        match &job.aggregation {
            Some(agg) => {
                let aggregators = record
                    .runs_of(&job.name)
                    .filter(|r| r.kind == RunKind::Aggregator)
                    .count() as u32;
                out.push(JobStatus {
                    name: job.name.clone(),
                    role: JobRole::Aggregator,
                    gate: Gate::Blocking,
                    asynchronous: false,
                    state: job_state(job, record),
                    runs: aggregators,
                });
                out.push(JobStatus {
                    name: job.name.clone(),
                    role: JobRole::Analysis,
                    gate: Gate::Informing,
                    asynchronous: false,
                    state: analysis_state(job, agg, record),
                    runs: record
                        .runs_of(&job.name)
                        .filter(|r| matches!(r.kind, RunKind::Analysis { .. }))
                        .count() as u32,
                });
            }
            None => out.push(JobStatus {
                name: job.name.clone(),
                role: JobRole::Plain,
                gate: job.gate,
                asynchronous: job.asynchronous,
                state: job_state(job, record),
                runs: record
                    .runs_of(&job.name)
                    .filter(|r| r.kind == RunKind::Verify)
                    .count() as u32,
            }),
        }
    }
    out.extend(crate::sampled::sampled_statuses(policy, record));
    out
}

/// Evaluates a release: its phase and the state of each job.
pub fn evaluate(policy: &GatingPolicy, record: &ReleaseRecord) -> Evaluation {
    let done = |phase: Phase, reason: Option<&str>, message: Option<String>, jobs| Evaluation {
        phase,
        reason: reason.map(str::to_string),
        message,
        jobs,
    };
    if record.phase == Phase::Failed {
        return done(
            Phase::Failed,
            record.reason.as_deref(),
            record.message.clone(),
            Vec::new(),
        );
    }
    match &record.creation {
        CreationState::Failed { message } => {
            return done(
                Phase::Failed,
                Some("CreateReleaseFailed"),
                Some(message.clone()),
                Vec::new(),
            );
        }
        CreationState::Pending => return done(Phase::Pending, None, None, Vec::new()),
        CreationState::Succeeded => {}
    }
    let jobs = job_statuses(policy, record);
    if let Some(o) = &record.override_ {
        let (phase, reason) = match o.phase {
            OverridePhase::Accepted => (Phase::Accepted, "ReleasePayloadManuallyAccepted"),
            OverridePhase::Rejected => (Phase::Rejected, "ReleasePayloadManuallyRejected"),
        };
        return done(phase, Some(reason), Some(o.reason.clone()), jobs);
    }
    if matches!(record.phase, Phase::Accepted | Phase::Rejected) {
        return done(
            record.phase,
            record.reason.as_deref(),
            record.message.clone(),
            jobs,
        );
    }
    let blocking: Vec<&JobStatus> = jobs.iter().filter(|j| j.gate == Gate::Blocking).collect();
    if blocking.is_empty() {
        let waiting = jobs.iter().any(|j| !j.asynchronous && !j.state.is_final());
        return if waiting {
            done(Phase::Ready, None, None, jobs)
        } else {
            done(Phase::Accepted, Some("VerificationSucceeded"), None, jobs)
        };
    }
    if blocking
        .iter()
        .any(|j| matches!(j.state, JobState::Pending | JobState::Unknown))
    {
        return done(Phase::Ready, None, None, jobs);
    }
    let failed: Vec<&str> = blocking
        .iter()
        .filter(|j| j.state == JobState::Failure)
        .map(|j| j.name.as_str())
        .collect();
    if failed.is_empty() {
        let skipped: Vec<&str> = blocking
            .iter()
            .filter(|j| j.state == JobState::Skipped)
            .map(|j| j.name.as_str())
            .collect();
        let message = (!skipped.is_empty()).then(|| {
            format!(
                "skipped, never run (no upgrade source): {}",
                skipped.join(", ")
            )
        });
        done(
            Phase::Accepted,
            Some("VerificationSucceeded"),
            message,
            jobs,
        )
    } else {
        let message = format!("release verification step failed: {}", failed.join(", "));
        done(
            Phase::Rejected,
            Some("VerificationFailed"),
            Some(message),
            jobs,
        )
    }
}
