//! Simulating a policy before spending cloud money on it.
//!
//! The simulator runs the real decision core ([`step`]) against a model of the jobs, with a
//! simulated clock and a seeded random generator (ChaCha8), so the same model and seed give the
//! same report. Inputs change as a Poisson process; each candidate takes a fixed time to create;
//! each job run takes its modelled duration (± jitter). A job is *truly broken* for a candidate
//! with the job's failure rate (then every run of it fails); otherwise a run fails with the
//! job's flake rate. Other streams are not simulated: an upgrade source found only there resolves
//! to nothing, so that job is not run and, when blocking, keeps its release Ready (as the
//! controller does) unless the policy skips such jobs.
//!
//! The model file is YAML or JSON; every field is optional:
//!
//! ```yaml
//! seed: 42
//! horizon: 365d                # Go duration syntax, plus `d` for days
//! input_change_interval: 2h    # mean time between input changes
//! creation_duration: 20m       # time to build a candidate
//! creation_failure_rate: 0.0
//! default_job: { duration: 2h, duration_jitter: 0.25, flake_rate: 0.05, failure_rate: 0.02 }
//! jobs:
//!   aws: { duration: 1h30m, flake_rate: 0.1 }
//! ```
//!
//! ```
//! use okd_gating::{simulate, GatingPolicy, SimulationModel, VerifyJob};
//! let policy = GatingPolicy::builder("s").target("release")
//!     .max_unready_releases(1)
//!     .min_creation_interval(std::time::Duration::from_secs(6 * 3600))
//!     .job(VerifyJob::blocking("e2e", "e2e").max_retries(1))
//!     .build()?;
//! let model = SimulationModel::from_yaml(b"horizon: 28d\nseed: 7\n", "<memory>")?;
//! let report = simulate(&policy, &model)?;
//! assert!(report.accepted > 0);
//! assert_eq!(report, simulate(&policy, &model)?); // deterministic
//! # Ok::<(), okd_gating::Error>(())
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::record::{CreationState, Phase, ReleaseRecord, RunEnd, RunId, RunState, StreamState};
use crate::schedule::add_duration;
use crate::simulation_model::{JobModel, Resolved};
use crate::{
    Error, Gate, GatingPolicy, History, JobRole, JobState, SimulationModel, StreamMode,
    job_statuses, step,
};

/// Distribution of the time from an input change to the first accepted release containing it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Input changes that reached an accepted release within the horizon.
    pub samples: u64,
    /// Input changes that did not.
    pub never_accepted: u64,
    /// Mean, hours.
    pub mean_hours: f64,
    /// Median, hours.
    pub p50_hours: f64,
    /// 90th percentile, hours.
    pub p90_hours: f64,
    /// Maximum, hours.
    pub max_hours: f64,
}

/// Per-job figures of a simulation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFigures {
    /// Runs started.
    pub runs: u64,
    /// Runs that failed.
    pub failures: u64,
    /// Of those, failures of a healthy candidate.
    pub flakes: u64,
    /// Hours spent running.
    pub hours: f64,
}

/// What a simulation found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    /// The stream simulated.
    pub stream: String,
    /// The seed used.
    pub seed: u64,
    /// Simulated days.
    pub horizon_days: f64,
    /// Input changes.
    pub input_changes: u64,
    /// Candidates created.
    pub releases_created: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Failed (creation failed or aborted).
    pub failed: u64,
    /// Not decided when the horizon ended.
    pub undecided: u64,
    /// Accepted releases per week.
    pub accepted_per_week: f64,
    /// Time from an input change to its acceptance.
    pub time_to_acceptance: LatencyStats,
    /// Job runs started.
    pub job_runs: u64,
    /// Of those, retries (attempt > 0).
    pub retries: u64,
    /// Hours of job runs.
    pub job_hours: f64,
    /// Rejected releases whose failing blocking jobs all failed by flakes only.
    pub rejected_only_by_flakes: u64,
    /// Per-job figures.
    pub jobs: BTreeMap<String, JobFigures>,
    /// Every release at the end, oldest first, with its phase.
    pub releases: Vec<(String, Phase)>,
    /// The upgrade graph at the end: `(from, to, successes, failures)`.
    pub edges: Vec<(String, String, u32, u32)>,
}

#[derive(Debug)]
enum Event {
    InputChange,
    CreationDone(String),
    RunDone {
        run: RunId,
        state: RunState,
        flake: bool,
    },
    Wake,
}

struct Candidate {
    inputs_version: u64,
    broken: BTreeSet<String>,
}

struct Sim<'a> {
    model: &'a SimulationModel,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64)>>,
    events: HashMap<u64, Event>,
    seq: u64,
    wakes: BTreeSet<DateTime<Utc>>,
    end: DateTime<Utc>,
    report: SimulationReport,
    candidates: HashMap<String, Candidate>,
    changes: Vec<DateTime<Utc>>,
    accepted_at: Vec<(u64, DateTime<Utc>)>,
}

impl Sim<'_> {
    fn push(&mut self, at: DateTime<Utc>, event: Event) {
        self.seq += 1;
        self.events.insert(self.seq, event);
        self.queue.push(Reverse((at, self.seq)));
    }

    fn job_model(&self, job: &str) -> Resolved {
        self.model
            .jobs
            .get(job)
            .unwrap_or(&JobModel::default())
            .resolve(&self.model.default_job)
    }

    fn exp_interval(&mut self) -> Duration {
        let mean = self.model.input_change_interval.0.as_secs_f64();
        let u: f64 = self.rng.random();
        Duration::from_secs_f64((-(1.0 - u).ln() * mean).max(1.0))
    }

    fn run_duration(&mut self, m: Resolved) -> Duration {
        let spread: f64 = self.rng.random_range(-1.0..=1.0);
        Duration::from_secs_f64((m.duration.as_secs_f64() * (1.0 + m.jitter * spread)).max(1.0))
    }
}

/// Simulates `policy` under `model`.
pub fn simulate(policy: &GatingPolicy, model: &SimulationModel) -> Result<SimulationReport, Error> {
    if policy.mode == StreamMode::Stable {
        return Err(Error::InvalidPolicy {
            policy: policy.name.clone(),
            message: "a Stable stream creates no releases; there is nothing to simulate".into(),
        });
    }
    let start = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut sim = Sim {
        model,
        rng: ChaCha8Rng::seed_from_u64(model.seed),
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        seq: 0,
        wakes: BTreeSet::new(),
        end: add_duration(start, model.horizon.0),
        report: SimulationReport {
            stream: policy.name.clone(),
            seed: model.seed,
            horizon_days: model.horizon.0.as_secs_f64() / 86400.0,
            ..Default::default()
        },
        candidates: HashMap::new(),
        changes: Vec::new(),
        accepted_at: Vec::new(),
    };
    let mut state = StreamState::default();
    let history = History::default();
    let mut script = model.script.clone();
    match &script {
        None => sim.push(start, Event::InputChange),
        Some(s) => {
            for at in &s.input_changes {
                sim.push(add_duration(start, at.0), Event::InputChange);
            }
        }
    }

    while let Some(Reverse((now, id))) = sim.queue.pop() {
        if now > sim.end {
            break;
        }
        let Some(event) = sim.events.remove(&id) else {
            continue;
        };
        match event {
            Event::InputChange => {
                sim.changes.push(now);
                sim.report.input_changes += 1;
                if script.is_none() {
                    let next = add_duration(now, sim.exp_interval());
                    sim.push(next, Event::InputChange);
                }
            }
            Event::CreationDone(name) => {
                let failed = sim.rng.random::<f64>() < model.creation_failure_rate;
                if let Some(r) = state.release_mut(&name) {
                    r.creation = if failed {
                        CreationState::Failed {
                            message: "simulated creation failure".into(),
                        }
                    } else {
                        CreationState::Succeeded
                    };
                }
            }
            Event::RunDone {
                run,
                state: run_state,
                flake,
            } => {
                let end = RunEnd {
                    state: run_state,
                    at: now,
                    log: None,
                };
                if state.finish_run(&run, end) {
                    let figures = sim.report.jobs.entry(run.job).or_default();
                    if run_state == RunState::Failed {
                        figures.failures += 1;
                        figures.flakes += u64::from(flake);
                    }
                }
            }
            Event::Wake => {
                sim.wakes.remove(&now);
            }
        }
        let hash = sim.changes.len().to_string();
        let out = step(policy, &mut state, &history, Some(&hash), now);

        for t in &out.transitions {
            match t.to {
                Phase::Accepted => {
                    sim.report.accepted += 1;
                    if let Some(c) = sim.candidates.get(&t.release) {
                        sim.accepted_at.push((c.inputs_version, now));
                    }
                }
                Phase::Rejected => {
                    sim.report.rejected += 1;
                    let record = state
                        .release(&t.release)
                        .or_else(|| out.removed.iter().find(|r| r.name == t.release));
                    if let (Some(r), Some(c)) = (record, sim.candidates.get(&t.release))
                        && rejected_by_flakes_only(policy, r, &c.broken)
                    {
                        sim.report.rejected_only_by_flakes += 1;
                    }
                }
                Phase::Failed => sim.report.failed += 1,
                Phase::Pending | Phase::Ready => {}
            }
        }
        if let Some(name) = out.create {
            let pullspec = format!("simulated.invalid/{}:{name}", policy.target);
            state
                .releases
                .push(ReleaseRecord::pending(&name, &pullspec, &hash, now));
            sim.report.releases_created += 1;
            let mut broken = BTreeSet::new();
            for job in policy.jobs.iter().filter(|j| j.is_enabled()) {
                if sim.rng.random::<f64>() < sim.job_model(&job.name).failure {
                    broken.insert(job.name.clone());
                }
            }
            sim.candidates.insert(
                name.clone(),
                Candidate {
                    inputs_version: sim.changes.len() as u64,
                    broken,
                },
            );
            let done = add_duration(now, model.creation_duration.0);
            sim.push(done, Event::CreationDone(name));
        }
        for (release, launch) in out.launches {
            let m = sim.job_model(&launch.job);
            let broken = sim
                .candidates
                .get(&release)
                .is_some_and(|c| c.broken.contains(&launch.job));
            let flaked = sim.rng.random::<f64>() < m.flake;
            let scripted = script.as_mut().map(|s| {
                let results = s.results.entry(launch.job.clone()).or_default();
                (!results.is_empty()).then(|| results.remove(0))
            });
            let run_state = match scripted {
                Some(Some(state)) => state,
                // Past the end of its script: the run never ends.
                Some(None) => RunState::Pending,
                None if broken || flaked => RunState::Failed,
                None => RunState::Succeeded,
            };
            let took = sim.run_duration(m);
            let finish = add_duration(now, took);
            // A scripted run that never ends runs until the horizon.
            let counted_until = if run_state == RunState::Pending {
                sim.end
            } else {
                finish.min(sim.end)
            };
            let hours = (counted_until - now).num_seconds().max(0) as f64 / 3600.0;
            let figures = sim.report.jobs.entry(launch.job.clone()).or_default();
            figures.runs += 1;
            figures.hours += hours;
            sim.report.job_runs += 1;
            sim.report.retries += u64::from(launch.attempt > 0);
            sim.report.job_hours += hours;
            if let Some(r) = state.release_mut(&release) {
                r.runs.push(launch.to_run(now, None));
            }
            if run_state == RunState::Pending {
                continue;
            }
            sim.push(
                finish,
                Event::RunDone {
                    run: launch.run_id(&release),
                    state: run_state,
                    flake: !broken,
                },
            );
        }
        if let Some(w) = out.wake_at
            && w > now
            && sim.wakes.insert(w)
        {
            sim.push(w, Event::Wake);
        }
    }

    sim.report.undecided = state
        .releases
        .iter()
        .filter(|r| !r.phase.is_terminal())
        .count() as u64;
    let weeks = sim.report.horizon_days / 7.0;
    sim.report.accepted_per_week = if weeks > 0.0 {
        sim.report.accepted as f64 / weeks
    } else {
        0.0
    };
    sim.report.time_to_acceptance = latencies(&sim.changes, &sim.accepted_at);
    sim.report.releases = state
        .releases
        .iter()
        .map(|r| (r.name.clone(), r.phase))
        .collect();
    sim.report.edges = state
        .graph
        .edges()
        .map(|(from, to, c)| (from.to_string(), to.to_string(), c.success, c.failure))
        .collect();
    Ok(sim.report)
}

fn rejected_by_flakes_only(
    policy: &GatingPolicy,
    record: &ReleaseRecord,
    broken: &BTreeSet<String>,
) -> bool {
    if record.override_.is_some() {
        return false;
    }
    let failed: Vec<String> = job_statuses(policy, record)
        .into_iter()
        .filter(|j| {
            j.gate == Gate::Blocking && j.role != JobRole::Analysis && j.state == JobState::Failure
        })
        .map(|j| j.name)
        .collect();
    !failed.is_empty() && failed.iter().all(|j| !broken.contains(j))
}

/// For each input change (version `i + 1` at `changes[i]`), the first acceptance of a release
/// built from that version or a later one.
fn latencies(changes: &[DateTime<Utc>], accepted: &[(u64, DateTime<Utc>)]) -> LatencyStats {
    let mut by_version = accepted.to_vec();
    by_version.sort();
    // suffix[i]: earliest acceptance among releases with version >= by_version[i].0
    let mut suffix = vec![DateTime::<Utc>::MAX_UTC; by_version.len() + 1];
    for i in (0..by_version.len()).rev() {
        suffix[i] = suffix[i + 1].min(by_version[i].1);
    }
    let mut hours = Vec::new();
    let mut never = 0;
    for (i, t) in changes.iter().enumerate() {
        let version = i as u64 + 1;
        let first = by_version.partition_point(|(v, _)| *v < version);
        let at = suffix[first];
        if at == DateTime::<Utc>::MAX_UTC {
            never += 1;
        } else {
            hours.push((at - *t).num_seconds().max(0) as f64 / 3600.0);
        }
    }
    hours.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if hours.is_empty() {
            0.0
        } else {
            let idx = ((hours.len() - 1) as f64 * p).round() as usize;
            hours[idx.min(hours.len() - 1)]
        }
    };
    LatencyStats {
        samples: hours.len() as u64,
        never_accepted: never,
        mean_hours: if hours.is_empty() {
            0.0
        } else {
            hours.iter().sum::<f64>() / hours.len() as f64
        },
        p50_hours: pct(0.5),
        p90_hours: pct(0.9),
        max_hours: hours.last().copied().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn latency_counts_the_first_acceptance_covering_a_change() {
        let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let h = |n| t0 + TimeDelta::hours(n);
        let changes = [h(0), h(1), h(5)];
        // Release of version 2 accepted at 10h, version 1 accepted later at 12h.
        let accepted = [(2, h(10)), (1, h(12))];
        let s = latencies(&changes, &accepted);
        assert_eq!(s.samples, 2);
        assert_eq!(s.never_accepted, 1);
        assert_eq!(s.max_hours, 10.0);
        assert_eq!(s.mean_hours, 9.5);
    }
}
