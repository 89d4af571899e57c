//! Release gating for OKD streams: policy, verdicts, retries, upgrade graph, promotion and
//! simulation — what the OpenShift release-controller decides, as plain Rust.
//!
//! * [`GatingPolicy`]: a stream's rules, loaded from the release-controller `ReleaseConfig` JSON
//!   (strict like the CI validation of `openshift/release`, or lenient like the controller at run
//!   time, see [`ParseMode`]) or built in code; [`check`] validates a file and classifies its jobs.
//! * The decision core, pure functions of policy, recorded runs and time: [`evaluate`] (job
//!   states and the Pending → Ready → Accepted/Rejected verdict), [`plan_jobs`] (first runs,
//!   retries with the controller's backoff, aggregated batches, upgrade sources via
//!   [`resolve_upgrade_source`]), [`may_create`] (the creation gate), [`collect_garbage`], and
//!   [`step`], one controller pass over a stream.
//! * Side effects behind traits: [`JobRunner`] (with [`CommandJobRunner`] for local processes),
//!   [`Clock`] ([`SystemClock`], [`SimulatedClock`]), [`StateStore`] ([`MemoryStateStore`],
//!   [`FileStateStore`], crash-safe), [`Publisher`] (what [`plan_publications`] decides is
//!   published by the caller's publisher: okd-gating moves no image content);
//!   [`start_launches`] and [`poll_runs`] connect a runner to [`step`].
//! * [`UpgradeGraph`]: per-edge upgrade results, [`Channel`] rules, Cincinnati JSON (as
//!   [`okd_release::graph::Graph`]) and DOT.
//! * [`simulate`]: a policy against a model of job durations and flake rates.
//!
//! ```
//! use chrono::Utc;
//! use okd_gating::{evaluate, step, CreationState, GatingPolicy, History, ParseMode, Phase, RunEnd, RunId,
//!     RunKind, RunState, StreamState};
//!
//! let json = br#"{"name":"4.19.0-0.okd-scos","to":"release-scos","maxUnreadyReleases":1,
//!   "verify":{"aws":{"maxRetries":2,"prowJob":{"name":"e2e-aws-ovn"}},
//!             "gcp":{"optional":true,"prowJob":{"name":"e2e-gcp"}}}}"#;
//! let policy = GatingPolicy::from_json(json, "release-okd-scos-4.19.json", ParseMode::Strict)?;
//! let mut stream = StreamState::default();
//! let now = Utc::now();
//!
//! // New inputs: the controller creates a candidate.
//! let out = step(&policy, &mut stream, &History::default(), Some("inputs-1"), now);
//! let name = out.create.expect("inputs changed");
//! stream.releases.push(okd_gating::ReleaseRecord::pending(&name, "quay.io/okd/scos-release:x", "inputs-1", now));
//! stream.releases[0].creation = CreationState::Succeeded;
//!
//! // Created: both jobs start.
//! let out = step(&policy, &mut stream, &History::default(), Some("inputs-1"), now);
//! assert_eq!(out.launches.len(), 2);
//! for (_, launch) in &out.launches {
//!     stream.releases[0].runs.push(launch.to_run(now, None));
//! }
//! // The blocking job passes, the informing one fails: accepted.
//! for (job, state) in [("aws", RunState::Succeeded), ("gcp", RunState::Failed)] {
//!     let run = RunId { release: name.clone(), job: job.into(), kind: RunKind::Verify, attempt: 0 };
//!     stream.finish_run(&run, RunEnd { state, at: now, log: None });
//! }
//! step(&policy, &mut stream, &History::default(), Some("inputs-1"), now);
//! assert_eq!(stream.releases[0].phase, Phase::Accepted);
//! # Ok::<(), okd_gating::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod check;
mod clock;
mod command;
pub mod config;
mod creation;
mod driver;
mod duration;
mod error;
mod gc;
mod graph;
mod interpret;
mod periodic;
mod policy;
mod publish;
mod record;
mod runner;
mod sampled;
mod schedule;
mod simulate;
mod simulation_model;
mod state;
mod step;
mod upgrade;
mod validate;
mod verdict;

pub use check::{CheckReport, Classification, check, check_bytes};
pub use clock::{Clock, SimulatedClock, SystemClock};
pub use command::{CommandJobRunner, DEFAULT_TIMEOUT, JobCommand};
pub use config::ReleaseConfig;
pub use creation::{CreationBlock, CreationDecision, may_create, release_name, superseded_pending};
pub use driver::{poll_runs, start_launches};
pub use duration::{DurationError, GoDuration, ModelDuration};
pub use error::Error;
pub use gc::collect_garbage;
pub use graph::{
    Channel, EdgeCounts, UNSUPPORTED_CHANNEL, UpgradeGraph, UpgradeRecord, UpgradeResult,
};
pub use periodic::{PeriodicJob, PeriodicPlan, PeriodicSchedule, plan_periodics};
pub use policy::{
    Aggregation, ConfigExtras, DEFAULT_AGGREGATOR_JOB, DEFAULT_PASS_THRESHOLD, Gate, GatingPolicy,
    GatingPolicyBuilder, GcPolicy, NoUpgradeSource, PublishRule, PublishTarget, SampledUpgrade,
    StreamMode, UpgradeSource, VerifyJob,
};
pub use publish::{PublishAction, PublishOutcome, Publisher, plan_publications};
pub use record::{
    CreationState, GatingState, JobRun, NotRun, Override, OverridePhase, Phase, Publication,
    ReleaseRecord, ReleaseRef, RunEnd, RunId, RunKind, RunState, STATE_FORMAT, StreamState,
};
pub use runner::{JobHandle, JobRequest, JobResult, JobRunner, JobStatus, launch_prow_job};
pub use sampled::{SampledRun, sample_previous, sampled_runs};
pub use schedule::{JobPlan, Launch, plan_jobs, retry_backoff};
pub use simulate::{JobFigures, LatencyStats, SimulationReport, simulate};
pub use simulation_model::{JobModel, SimulationModel};
pub use state::{FileStateStore, MemoryStateStore, StateStore, parse_state_file};
pub use step::{StepOutcome, Transition, step};
pub use upgrade::{AcceptedRelease, History, UPSTREAM_STREAM, resolve_upgrade_source};
pub use validate::{
    MAX_CONFIG_SIZE, ParseMode, check_periodic_uniqueness, load_release_config,
    parse_release_config, validate_release_config,
};
pub use verdict::{
    Evaluation, JobRole, JobState, JobStatus as PayloadJobStatus, evaluate, job_state, job_statuses,
};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
