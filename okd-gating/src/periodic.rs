//! Periodic jobs (the config's `periodic` map): jobs run on a schedule against the stream's
//! newest accepted release, whose results only feed the upgrade graph.
//!
//! The rules follow the controller (`periodic.go`):
//!
//! * A periodic runs against the newest Accepted release of the stream; with none, it does not
//!   run. A stream at end of life runs none.
//! * `interval`: it starts when it never ran, or when its last run has finished and more than
//!   the interval has passed since that run *started*.
//! * `cron` (5 fields, or `@every <duration>`, in UTC): it starts at a tick of the schedule when
//!   its last run has finished. A tick that passes while the last run is still running is lost,
//!   as it is in the controller's cron queue; the first tick counts from the release's
//!   acceptance.
//! * An upgrade periodic upgrades from `PreviousMinus1` unless it says otherwise
//!   (`PreviousPatch` in a Stable stream). For a periodic the controller counts the release
//!   under test as `Previous`, so `PreviousMinus1` is the accepted release before it: the same
//!   release a verify job's `Previous` names. A periodic's `Previous` would upgrade the release
//!   to itself; okd-streams does not run that and shows the periodic as not run (no upgrade
//!   source).
//!
//! Runs are recorded on the release they test with [`RunKind::Periodic`], the n-th one of a
//! release as attempt n. They never change a release's phase.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use okd_gating::{plan_periodics, CreationState, GatingPolicy, History, PeriodicJob,
//!     PeriodicSchedule, Phase, ReleaseRecord, StreamState};
//!
//! let policy = GatingPolicy::builder("4.19.0-0.okd-scos").target("release-scos")
//!     .periodic(PeriodicJob::new("e2e-nightly", "periodic-e2e",
//!         PeriodicSchedule::every(Duration::from_secs(12 * 3600))))
//!     .build()?;
//! let mut state = StreamState::default();
//! let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
//! let mut r = ReleaseRecord::pending("4.19.0-0.okd-scos-2025-01-01-000000", "quay.io/x@sha256:1", "h", t0);
//! r.creation = CreationState::Succeeded;
//! r.phase = Phase::Accepted;
//! state.releases.push(r);
//! let plan = plan_periodics(&policy, &state, &History::default(), t0);
//! assert_eq!(plan.launches.len(), 1); // never ran: runs now
//! # Ok::<(), okd_gating::Error>(())
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::record::{JobRun, NotRun, ReleaseRecord, RunKind, StreamState};
use crate::schedule::add_duration;
use crate::upgrade::resolve_source;
use crate::{GatingPolicy, History, Launch, NoUpgradeSource, UpgradeSource};

/// When a periodic runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PeriodicSchedule {
    /// At most once per `every` (`interval`, a Go duration, kept as written).
    Interval {
        /// The duration as written in the config.
        text: String,
        /// Its value.
        every: Duration,
    },
    /// At the ticks of a cron schedule (`cron`, kept as written).
    Cron(String),
    /// Neither or both of `interval` and `cron`, or one that does not parse: the controller
    /// never schedules such a periodic, and neither does okd-gating. Kept for round trips.
    Invalid {
        /// `interval` as written.
        interval: String,
        /// `cron` as written.
        cron: String,
    },
}

impl PeriodicSchedule {
    /// An interval schedule.
    pub fn every(every: Duration) -> PeriodicSchedule {
        PeriodicSchedule::Interval {
            text: format!("{}s", every.as_secs()),
            every,
        }
    }

    /// Reads a config's `interval` and `cron` as the controller does.
    pub fn from_config(interval: &str, cron: &str) -> PeriodicSchedule {
        let invalid = || PeriodicSchedule::Invalid {
            interval: interval.to_string(),
            cron: cron.to_string(),
        };
        match (interval.is_empty(), cron.is_empty()) {
            (false, true) => match crate::duration::parse_duration(interval, false) {
                Ok(every) => PeriodicSchedule::Interval {
                    text: interval.to_string(),
                    every,
                },
                Err(_) => invalid(),
            },
            (true, false) if next_tick(cron, DateTime::<Utc>::MIN_UTC).is_some() => {
                PeriodicSchedule::Cron(cron.to_string())
            }
            _ => invalid(),
        }
    }

    /// `(interval, cron)` as a config writes them.
    pub fn to_config(&self) -> (String, String) {
        match self {
            PeriodicSchedule::Interval { text, .. } => (text.clone(), String::new()),
            PeriodicSchedule::Cron(c) => (String::new(), c.clone()),
            PeriodicSchedule::Invalid { interval, cron } => (interval.clone(), cron.clone()),
        }
    }
}

/// The first tick of cron schedule `spec` strictly after `after`.
fn next_tick(spec: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let spec = spec.trim();
    if let Some(every) = spec.strip_prefix("@every") {
        let d = crate::duration::parse_duration(every.trim(), false).ok()?;
        return (!d.is_zero()).then(|| add_duration(after, d));
    }
    let cron: croner::Cron = spec.parse().ok()?;
    cron.find_next_occurrence(&after, false).ok()
}

/// A periodic job (an entry of `periodic`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeriodicJob {
    /// The entry's name (key of `periodic`).
    pub name: String,
    /// Its prow job.
    pub prow_job: String,
    /// When it runs.
    pub schedule: PeriodicSchedule,
    /// Where it upgrades from, for an upgrade periodic.
    pub upgrade: Option<UpgradeSource>,
}

impl PeriodicJob {
    /// A periodic that is not an upgrade job.
    pub fn new(name: &str, prow_job: &str, schedule: PeriodicSchedule) -> PeriodicJob {
        PeriodicJob {
            name: name.to_string(),
            prow_job: prow_job.to_string(),
            schedule,
            upgrade: None,
        }
    }

    /// Makes it an upgrade job from `source`.
    pub fn upgrade_from(mut self, source: UpgradeSource) -> PeriodicJob {
        self.upgrade = Some(source);
        self
    }
}

/// What periodics to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodicPlan {
    /// Runs to start now, by release.
    pub launches: Vec<(String, Launch)>,
    /// The next time a periodic becomes due.
    pub wake_at: Option<DateTime<Utc>>,
    /// Periodics that are due but cannot start, and why.
    pub not_run: Vec<(String, NotRun)>,
}

fn last_run<'a>(state: &'a StreamState, name: &str) -> Option<&'a JobRun> {
    state
        .releases
        .iter()
        .flat_map(|r| r.runs.iter())
        .filter(|run| run.kind == RunKind::Periodic && run.job == name)
        .max_by_key(|run| (run.started, run.finished))
}

/// `Ok(())` when `p` is due at `now`; `Err(Some(t))` when it becomes due at `t`; `Err(None)`
/// when it waits for its last run or never runs.
fn due(
    p: &PeriodicJob,
    last: Option<&JobRun>,
    latest: &ReleaseRecord,
    now: DateTime<Utc>,
) -> Result<(), Option<DateTime<Utc>>> {
    if last.is_some_and(|run| !run.is_finished()) {
        return Err(None);
    }
    let at = match &p.schedule {
        PeriodicSchedule::Invalid { .. } => return Err(None),
        PeriodicSchedule::Interval { every, .. } => match last {
            None => return Ok(()),
            // More than the interval since it started: one second past the boundary.
            Some(run) => add_duration(add_duration(run.started, *every), Duration::from_secs(1)),
        },
        PeriodicSchedule::Cron(spec) => {
            let since = last
                .and_then(|run| run.finished)
                .unwrap_or_else(|| latest.phase_changed.unwrap_or(latest.created));
            next_tick(spec, since).ok_or(None)?
        }
    };
    if at <= now { Ok(()) } else { Err(Some(at)) }
}

/// The periodics to start at `now` for the newest accepted release of `state`.
pub fn plan_periodics(
    policy: &GatingPolicy,
    state: &StreamState,
    history: &History,
    now: DateTime<Utc>,
) -> PeriodicPlan {
    let mut plan = PeriodicPlan::default();
    if policy.end_of_life {
        return plan;
    }
    let Some(latest) = state.latest_accepted() else {
        return plan;
    };
    for p in &policy.periodics {
        match due(p, last_run(state, &p.name), latest, now) {
            Ok(()) => {}
            Err(Some(at)) => {
                plan.wake_at = Some(plan.wake_at.map_or(at, |w| w.min(at)));
                continue;
            }
            Err(None) => continue,
        }
        let attempt = latest
            .runs
            .iter()
            .filter(|run| run.kind == RunKind::Periodic && run.job == p.name)
            .count() as u32;
        let upgrade_from = match &p.upgrade {
            None => None,
            Some(source) => match periodic_source(policy, source, &latest.name, history) {
                Some(from) => Some(from),
                None if policy.no_upgrade_source == NoUpgradeSource::Skip => {
                    plan.launches
                        .push((latest.name.clone(), launch(p, attempt, None, true)));
                    continue;
                }
                None => {
                    plan.not_run.push((p.name.clone(), NotRun::NoUpgradeSource));
                    continue;
                }
            },
        };
        plan.launches
            .push((latest.name.clone(), launch(p, attempt, upgrade_from, false)));
    }
    plan
}

fn launch(
    p: &PeriodicJob,
    attempt: u32,
    upgrade_from: Option<crate::ReleaseRef>,
    skip: bool,
) -> Launch {
    Launch {
        job: p.name.clone(),
        kind: RunKind::Periodic,
        attempt,
        upgrade_from,
        skip,
    }
}

/// A periodic's source: the controller counts the release under test as `Previous`.
fn periodic_source(
    policy: &GatingPolicy,
    source: &UpgradeSource,
    candidate: &str,
    history: &History,
) -> Option<crate::ReleaseRef> {
    match source {
        UpgradeSource::Previous => None,
        UpgradeSource::PreviousMinus1 => {
            resolve_source(policy, &UpgradeSource::Previous, candidate, history)
        }
        other => resolve_source(policy, other, candidate, history),
    }
}
