//! What is recorded about releases and their job runs: the input of every decision.
//!
//! A [`ReleaseRecord`] is what the controller keeps on a release tag and its `ReleasePayload`:
//! creation time, input hash, phase, the runs of its verification jobs, a manual override, a
//! `keep` pin. A [`StreamState`] holds a stream's records with its upgrade graph and what has
//! been published; a [`GatingState`] holds every stream and is what a
//! [`StateStore`](crate::StateStore) persists.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use okd_gating::{Phase, ReleaseRecord};
//! let t = Utc.with_ymd_and_hms(2025, 1, 30, 3, 25, 25).unwrap();
//! let r = ReleaseRecord::pending("4.19.0-0.okd-scos-2025-01-30-032525", "quay.io/okd/scos-release:x", "h1", t);
//! assert_eq!(r.phase, Phase::Pending);
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UpgradeGraph;

/// The phase of a release (`release.openshift.io/phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Being created.
    Pending,
    /// Created; being verified.
    Ready,
    /// Creation failed (terminal).
    Failed,
    /// Verified (terminal except by a manual override).
    Accepted,
    /// A blocking job failed (terminal except by a manual override).
    Rejected,
}

impl Phase {
    /// Failed, Accepted or Rejected.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Failed | Phase::Accepted | Phase::Rejected)
    }
}

/// The state of one job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunState {
    /// Started, not finished.
    Pending,
    /// Passed.
    Succeeded,
    /// Failed, errored, timed out or aborted.
    Failed,
    /// Never started, on purpose: an upgrade job with no release to upgrade from in a stream
    /// that skips such jobs (`no_upgrade_source: skip`). Not a pass.
    Skipped,
}

/// What a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RunKind {
    /// A run of a plain job.
    Verify,
    /// Run `index` of an aggregated job's analysis runs (each runs once: a retry of an
    /// aggregated job re-runs only its aggregator).
    Analysis {
        /// Index among the analysis runs, from 0.
        index: u32,
    },
    /// The aggregator of an aggregated job: it judges the analysis runs, and only its result
    /// decides the job (and only its run is an upgrade edge).
    Aggregator,
    /// A run of a periodic job against the newest accepted release: attempt n is its n-th run
    /// for that release. It never decides the release; an upgrade periodic is an edge.
    Periodic,
    /// A sampled upgrade of a Stable stream (its `upgrade` map), from one version of the
    /// release's `previous` list; the job is `upgrade-from-<version>-<platform>`.
    Sampled,
}

/// A release by name and pullspec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReleaseRef {
    /// Release name (version).
    pub name: String,
    /// Where its image is.
    pub pullspec: String,
}

/// One run of a verification job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    /// The verification job (key of `verify`).
    pub job: String,
    /// Plain run or analysis run.
    pub kind: RunKind,
    /// 0 for the first attempt, n for the n-th retry (for aggregated jobs: the batch).
    pub attempt: u32,
    /// Its state.
    pub state: RunState,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    /// The release it upgraded from, for upgrade jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_from: Option<ReleaseRef>,
    /// The runner's handle, for polling after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Where its logs are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Recorded without running anything (an upgrade job with no source, skipped). Stored under
    /// the key `noop`, as in state format 1, whose such runs say `Succeeded`: they are read as
    /// skipped all the same.
    #[serde(default, rename = "noop", skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

impl JobRun {
    /// The controller's run name: `<release>-<job>[-<attempt>]`, `<release>-<job>-analysis-<index>`
    /// for analysis runs, `<release>-<job>-aggregator[-<attempt>]` for aggregators.
    pub fn run_name(&self, release: &str) -> String {
        self.id(release).run_name()
    }

    /// This run's identity, as a run of `release`.
    pub fn id(&self, release: &str) -> RunId {
        RunId {
            release: release.to_string(),
            job: self.job.clone(),
            kind: self.kind,
            attempt: self.attempt,
        }
    }

    /// True once finished.
    pub fn is_finished(&self) -> bool {
        self.state != RunState::Pending
    }
}

/// Which run: the run of one job, of one kind, at one attempt, for one release. It is what the
/// controller's run name is made of, and what a driver that polls runs keeps between starting
/// and finishing one.
///
/// ```
/// use okd_gating::{RunId, RunKind};
/// let run = RunId { release: "4.19.0-okd-scos.2".into(), job: "aws".into(),
///     kind: RunKind::Aggregator, attempt: 2 };
/// assert_eq!(run.run_name(), "4.19.0-okd-scos.2-aws-aggregator-2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId {
    /// The release (name).
    pub release: String,
    /// The verification job (key of `verify`).
    pub job: String,
    /// Plain run or analysis run.
    pub kind: RunKind,
    /// 0 for the first attempt, n for the n-th retry (analysis runs: always 0).
    pub attempt: u32,
}

impl RunId {
    /// The controller's run name: `<release>-<job>[-<attempt>]`, or
    /// `<release>-<job>-analysis-<index>` for analysis runs (with `-<attempt>` after retries).
    pub fn run_name(&self) -> String {
        let RunId {
            release,
            job,
            kind,
            attempt,
        } = self;
        let mut name = match kind {
            RunKind::Verify => format!("{release}-{job}"),
            RunKind::Analysis { index } => format!("{release}-{job}-analysis-{index}"),
            RunKind::Aggregator => format!("{release}-{job}-aggregator"),
            RunKind::Periodic => format!("{release}-{job}-periodic"),
            RunKind::Sampled => format!("{release}-{job}"),
        };
        if *attempt > 0 {
            name.push_str(&format!("-{attempt}"));
        }
        name
    }

    /// True when `run`, a run of this id's release, is the run this id names.
    pub fn names(&self, run: &JobRun) -> bool {
        run.job == self.job && run.kind == self.kind && run.attempt == self.attempt
    }
}

/// How a run ended: what [`StreamState::finish_run`] records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// Succeeded or Failed (a Pending end records nothing).
    pub state: RunState,
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Where its logs are, when known (a log already recorded is kept otherwise).
    pub log: Option<String>,
}

/// How the release image's creation went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreationState {
    /// Not finished.
    Pending,
    /// The image exists.
    Succeeded,
    /// It could not be created.
    Failed {
        /// Why.
        message: String,
    },
}

/// A manual verdict (`spec.payloadOverride`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Accepted or Rejected.
    pub phase: OverridePhase,
    /// Why, e.g. "Manually accepted per TRT".
    pub reason: String,
}

/// The two phases an override can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverridePhase {
    /// Accept the release.
    Accepted,
    /// Reject the release.
    Rejected,
}

/// Everything recorded about one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// Release name (tag).
    pub name: String,
    /// Where its image is (tag or digest pullspec).
    pub pullspec: String,
    /// Creation time (`release.openshift.io/creationTimestamp`).
    pub created: DateTime<Utc>,
    /// Hash of the inputs it was built from (`release.openshift.io/hash`).
    pub inputs_hash: String,
    /// Current phase.
    pub phase: Phase,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_changed: Option<DateTime<Utc>>,
    /// Reason of the current phase (`Aborted`, `VerificationFailed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message of the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Creation of the release image.
    pub creation: CreationState,
    /// Runs of its verification jobs.
    #[serde(default)]
    pub runs: Vec<JobRun>,
    /// A manual verdict, which wins over the jobs.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_: Option<Override>,
    /// Pinned: never collected, not counted for creation limits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
    /// The release it was built from, when it was built from one (a stream's upstream): the
    /// source of `upstream` upgrade jobs and a node of the upgrade graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<ReleaseRef>,
    /// Jobs the last pass did not start, and why (refreshed on every pass while Ready).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_run: BTreeMap<String, NotRun>,
    /// The versions the release's metadata says it upgrades from (`release-metadata`'s
    /// `previous`): what a Stable stream's sampled upgrades sample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<String>,
}

/// Why a job of a Ready release was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotRun {
    /// An upgrade job whose source resolves to no release (the controller never creates the
    /// job; a blocking one keeps the release Ready).
    NoUpgradeSource,
    /// An informing job nothing is configured to run.
    NoRunner,
}

impl NotRun {
    /// The reason as shown to users: `no upgrade source`, `no runner`.
    pub fn describe(self) -> &'static str {
        match self {
            NotRun::NoUpgradeSource => "no upgrade source",
            NotRun::NoRunner => "no runner",
        }
    }
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not run: {}", self.describe())
    }
}

impl ReleaseRecord {
    /// A new release being created.
    pub fn pending(name: &str, pullspec: &str, inputs_hash: &str, created: DateTime<Utc>) -> Self {
        ReleaseRecord {
            name: name.to_string(),
            pullspec: pullspec.to_string(),
            created,
            inputs_hash: inputs_hash.to_string(),
            phase: Phase::Pending,
            phase_changed: Some(created),
            reason: None,
            message: None,
            creation: CreationState::Pending,
            runs: Vec::new(),
            override_: None,
            keep: false,
            upstream: None,
            not_run: BTreeMap::new(),
            previous: Vec::new(),
        }
    }

    /// Runs of job `job`.
    pub fn runs_of<'a>(&'a self, job: &'a str) -> impl Iterator<Item = &'a JobRun> + 'a {
        self.runs.iter().filter(move |r| r.job == job)
    }

    /// The run `id` names, mutably; `None` when this release has no such run (or `id` names a
    /// run of another release).
    pub fn run_mut(&mut self, id: &RunId) -> Option<&mut JobRun> {
        if id.release != self.name {
            return None;
        }
        self.runs.iter_mut().find(|r| id.names(r))
    }

    /// A reference to this release.
    pub fn as_ref(&self) -> ReleaseRef {
        ReleaseRef {
            name: self.name.clone(),
            pullspec: self.pullspec.clone(),
        }
    }
}

/// The last publication made by a publish step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// The release published.
    pub release: String,
    /// Repository it was published to.
    pub repository: String,
    /// Tag it was published as.
    pub tag: String,
    /// Manifest digest published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One stream's state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamState {
    /// Its releases (any order; decisions sort by creation time).
    #[serde(default)]
    pub releases: Vec<ReleaseRecord>,
    /// Upgrade edges recorded from its upgrade jobs.
    #[serde(default)]
    pub graph: UpgradeGraph,
    /// Last publication of each publish step.
    #[serde(default)]
    pub published: BTreeMap<String, Publication>,
    /// The stream is a Stable stream: its accepted releases are sources of `PreviousPatch`,
    /// `PreviousMinor` and `prerelease` upgrades of every stream in the same state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stable: bool,
}

impl StreamState {
    /// The release called `name`.
    pub fn release(&self, name: &str) -> Option<&ReleaseRecord> {
        self.releases.iter().find(|r| r.name == name)
    }

    /// The release called `name`, mutably.
    pub fn release_mut(&mut self, name: &str) -> Option<&mut ReleaseRecord> {
        self.releases.iter_mut().find(|r| r.name == name)
    }

    /// Every pending run with the release it belongs to: the runs a driver polls.
    pub fn pending_runs(&self) -> impl Iterator<Item = (&ReleaseRecord, &JobRun)> {
        self.releases.iter().flat_map(|r| {
            r.runs
                .iter()
                .filter(|run| run.state == RunState::Pending)
                .map(move |run| (r, run))
        })
    }

    /// Records the end of the pending run `id` and, for an upgrade run that decides its job
    /// (not an analysis run), its result on the upgrade graph. Returns false (and changes nothing) when there is no such pending run.
    pub fn finish_run(&mut self, id: &RunId, end: RunEnd) -> bool {
        let Some(r) = self.releases.iter_mut().find(|r| r.name == id.release) else {
            return false;
        };
        let Some(run) = r.run_mut(id) else {
            return false;
        };
        if run.state != RunState::Pending || end.state == RunState::Pending {
            return false;
        }
        run.state = end.state;
        run.finished = Some(end.at);
        if end.log.is_some() {
            run.log = end.log;
        }
        // Analysis runs carry no verify label in the controller: only the aggregator's run is
        // an edge.
        let decides = !matches!(run.kind, RunKind::Analysis { .. });
        if let (Some(from), true) = (&run.upgrade_from, decides) {
            let url = run.log.clone().unwrap_or_else(|| id.run_name());
            self.graph.record(&from.name, &id.release, end.state, &url);
        }
        true
    }

    /// The newest accepted release.
    pub fn latest_accepted(&self) -> Option<&ReleaseRecord> {
        self.releases
            .iter()
            .filter(|r| r.phase == Phase::Accepted)
            .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)))
    }
}

/// Version of the persisted state format.
pub const STATE_FORMAT: u32 = 1;

/// Every stream's state: what a [`StateStore`](crate::StateStore) persists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatingState {
    /// [`STATE_FORMAT`].
    pub format: u32,
    /// Streams by name.
    #[serde(default)]
    pub streams: BTreeMap<String, StreamState>,
}

impl Default for GatingState {
    fn default() -> Self {
        GatingState {
            format: STATE_FORMAT,
            streams: BTreeMap::new(),
        }
    }
}
