//! Running verification jobs: the [`JobRunner`] trait and what a job is given.
//!
//! A job gets the environment CI jobs get from the release-controller: `RELEASE_IMAGE_LATEST`
//! (the release under test) and `RELEASE_IMAGE_INITIAL` (the upgrade source for upgrade jobs, the
//! release under test otherwise). Jobs that analyse other jobs (`multiJobAnalysis`) and the runs
//! of aggregated jobs also get `PAYLOAD_TAG`, `VERIFICATION_JOB_NAME` and `JOB_START_TIME`.
//! `JOB_NAME` is the prow job name, as prow sets it.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use okd_gating::{JobRequest, ReleaseRef, RunKind};
//! let req = JobRequest {
//!     release: ReleaseRef { name: "4.19.0-okd-scos.2".into(), pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.2".into() },
//!     job: "upgrade".into(),
//!     prow_job: "e2e-aws-upgrade".into(),
//!     kind: RunKind::Verify,
//!     attempt: 0,
//!     upgrade_from: Some(ReleaseRef { name: "4.19.0-okd-scos.1".into(), pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.1".into() }),
//!     multi_job_analysis: false,
//!     started: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
//! };
//! let env = req.environment();
//! assert_eq!(env["RELEASE_IMAGE_LATEST"], "quay.io/okd/scos-release:4.19.0-okd-scos.2");
//! assert_eq!(env["RELEASE_IMAGE_INITIAL"], "quay.io/okd/scos-release:4.19.0-okd-scos.1");
//! assert_eq!(req.run_name(), "4.19.0-okd-scos.2-upgrade");
//! ```

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::record::{ReleaseRecord, ReleaseRef, RunId, RunKind, RunState};
use crate::{Error, GatingPolicy, Launch};

/// Everything a runner needs to start one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobRequest {
    /// The release under test.
    pub release: ReleaseRef,
    /// The verification job (key of `verify`).
    pub job: String,
    /// Its prow job name.
    pub prow_job: String,
    /// Plain run or analysis run.
    pub kind: RunKind,
    /// Attempt (batch).
    pub attempt: u32,
    /// The upgrade source, for upgrade jobs.
    pub upgrade_from: Option<ReleaseRef>,
    /// The job analyses other jobs of the release.
    pub multi_job_analysis: bool,
    /// When it is started.
    pub started: DateTime<Utc>,
}

impl JobRequest {
    /// The request for `launch` of `record` under `policy`; `None` when the policy has no such
    /// job.
    pub fn new(
        policy: &GatingPolicy,
        record: &ReleaseRecord,
        launch: &Launch,
        now: DateTime<Utc>,
    ) -> Option<JobRequest> {
        Some(JobRequest {
            release: record.as_ref(),
            job: launch.job.clone(),
            prow_job: launch_prow_job(policy, record, launch)?,
            kind: launch.kind,
            attempt: launch.attempt,
            upgrade_from: launch.upgrade_from.clone(),
            multi_job_analysis: policy
                .job(&launch.job)
                .is_some_and(|j| j.multi_job_analysis)
                && !matches!(launch.kind, RunKind::Periodic | RunKind::Sampled),
            started: now,
        })
    }

    /// The controller's name for the run (`<release>-<job>[-analysis-<i>][-<attempt>]`).
    pub fn run_name(&self) -> String {
        self.run_id().run_name()
    }

    /// The identity of the run this request starts.
    pub fn run_id(&self) -> RunId {
        RunId {
            release: self.release.name.clone(),
            job: self.job.clone(),
            kind: self.kind,
            attempt: self.attempt,
        }
    }

    /// The environment the job runs with.
    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert(
            "RELEASE_IMAGE_LATEST".to_string(),
            self.release.pullspec.clone(),
        );
        let initial = self
            .upgrade_from
            .as_ref()
            .map_or(&self.release.pullspec, |r| &r.pullspec);
        env.insert("RELEASE_IMAGE_INITIAL".to_string(), initial.clone());
        env.insert("JOB_NAME".to_string(), self.prow_job.clone());
        if self.multi_job_analysis || matches!(self.kind, RunKind::Analysis { .. }) {
            env.insert("PAYLOAD_TAG".to_string(), self.release.name.clone());
            env.insert("VERIFICATION_JOB_NAME".to_string(), self.job.clone());
            env.insert(
                "JOB_START_TIME".to_string(),
                self.started
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        env
    }
}

/// The prow job `launch` (of `record`) runs: its verify job's, its periodic's, or its sampled
/// upgrade platform's. `None` when the policy has no such job.
pub fn launch_prow_job(
    policy: &GatingPolicy,
    record: &ReleaseRecord,
    launch: &Launch,
) -> Option<String> {
    match launch.kind {
        RunKind::Periodic => policy
            .periodics
            .iter()
            .find(|p| p.name == launch.job)
            .map(|p| p.prow_job.clone()),
        RunKind::Sampled => crate::sampled_runs(policy, record)
            .into_iter()
            .find(|s| s.job == launch.job)
            .map(|s| s.prow_job),
        RunKind::Verify | RunKind::Analysis { .. } | RunKind::Aggregator => {
            policy.job(&launch.job).map(|j| j.prow_job.clone())
        }
    }
}

/// Identifies a started run to its runner. Stored in the run's record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct JobHandle(pub String);

/// How a finished run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobResult {
    /// Succeeded or Failed.
    pub state: RunState,
    /// The process exit code, when there was one.
    pub exit_code: Option<i32>,
    /// Killed for running too long.
    pub timed_out: bool,
    /// Killed by [`JobRunner::cancel`].
    pub cancelled: bool,
    /// Where the logs are.
    pub log: Option<String>,
    /// A short explanation.
    pub message: String,
}

/// A run's status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobStatus {
    /// Still running.
    Running,
    /// Finished.
    Finished(JobResult),
}

/// Starts, polls and cancels verification runs.
#[async_trait]
pub trait JobRunner: Send + Sync + std::fmt::Debug {
    /// Starts a run.
    async fn start(&self, request: &JobRequest) -> Result<JobHandle, Error>;
    /// Its status.
    async fn poll(&self, handle: &JobHandle) -> Result<JobStatus, Error>;
    /// Stops it (a finished run stays as it ended).
    async fn cancel(&self, handle: &JobHandle) -> Result<(), Error>;
}
