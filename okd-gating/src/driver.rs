//! Connecting the decision core to a [`JobRunner`]: start what [`step`](crate::step) planned,
//! record what finished.
//!
//! A run that cannot be started, or whose handle the runner no longer knows (it was started by a
//! process that has since exited), is recorded as failed, as the controller records a prow job
//! that errored: retries and the verdict then proceed instead of waiting forever.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), okd_gating::Error> {
//! use chrono::Utc;
//! use okd_gating::{poll_runs, start_launches, step, CommandJobRunner, CreationState, GatingPolicy,
//!     History, JobCommand, Phase, ReleaseRecord, StreamState, VerifyJob};
//! let policy = GatingPolicy::builder("s").target("release")
//!     .job(VerifyJob::blocking("e2e", "e2e")).build()?;
//! let logs = tempfile::tempdir().unwrap();
//! let runner = CommandJobRunner::new(logs.path()).with_default(JobCommand::shell("true"));
//! let mut stream = StreamState::default();
//! let mut release = ReleaseRecord::pending("s-1", "quay.io/okd/release:s-1", "h", Utc::now());
//! release.creation = CreationState::Succeeded;
//! stream.releases.push(release);
//! let out = step(&policy, &mut stream, &History::default(), None, Utc::now());
//! start_launches(&policy, &mut stream, out.launches, &runner, Utc::now()).await;
//! while poll_runs(&mut stream, &runner, Utc::now()).await? == 0 {
//!     tokio::time::sleep(std::time::Duration::from_millis(20)).await;
//! }
//! step(&policy, &mut stream, &History::default(), None, Utc::now());
//! assert_eq!(stream.releases[0].phase, Phase::Accepted);
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};

use crate::record::{RunEnd, RunId, RunState, StreamState};
use crate::{Error, GatingPolicy, JobHandle, JobRequest, JobRunner, JobStatus, Launch};

/// Starts `launches` (as returned by [`step`](crate::step)) and records each as a pending run
/// with its handle. Returns the errors of runs that could not be started; those are recorded as
/// failed runs.
pub async fn start_launches(
    policy: &GatingPolicy,
    state: &mut StreamState,
    launches: Vec<(String, Launch)>,
    runner: &dyn JobRunner,
    now: DateTime<Utc>,
) -> Vec<Error> {
    let mut errors = Vec::new();
    for (release, launch) in launches {
        let Some(record) = state.release_mut(&release) else {
            continue;
        };
        if record.run_mut(&launch.run_id(&release)).is_some() {
            continue;
        }
        let Some(request) = JobRequest::new(policy, record, &launch, now) else {
            continue;
        };
        match runner.start(&request).await {
            Ok(handle) => record.runs.push(launch.to_run(now, Some(handle.0))),
            Err(e) => {
                let mut run = launch.to_run(now, None);
                run.state = RunState::Failed;
                run.finished = Some(now);
                run.log = Some(format!("not started: {e}"));
                record.runs.push(run);
                errors.push(e);
            }
        }
    }
    errors
}

/// Polls every pending run that has a handle and records those that finished (with their
/// upgrade edges). Returns how many finished.
pub async fn poll_runs(
    state: &mut StreamState,
    runner: &dyn JobRunner,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let pending: Vec<(RunId, String)> = state
        .pending_runs()
        .filter_map(|(r, run)| run.handle.clone().map(|h| (run.id(&r.name), h)))
        .collect();
    let mut finished = 0;
    for (id, handle) in pending {
        let (state_now, log) = match runner.poll(&JobHandle(handle)).await {
            Ok(JobStatus::Running) => continue,
            Ok(JobStatus::Finished(result)) => (result.state, result.log),
            Err(Error::UnknownHandle { handle }) => (
                RunState::Failed,
                Some(format!("lost: the runner does not know {handle}")),
            ),
            Err(e) => return Err(e),
        };
        let end = RunEnd {
            state: state_now,
            at: now,
            log,
        };
        if state.finish_run(&id, end) {
            finished += 1;
        }
    }
    Ok(finished)
}
