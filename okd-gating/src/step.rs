//! One pass of the controller over a stream, as a pure function of its state and the time.
//!
//! [`step`] does what one controller sync does, in the controller's order: fail superseded
//! Pending releases (`Aborted`), apply verdicts, collect garbage, decide creation, plan job runs.
//! It changes only the [`StreamState`] it is given (phases, skipped jobs, aggregator verdicts,
//! the jobs not run and why, removals) and returns what needs the outside world: the release to create, the runs to
//! start, the releases removed. A driver performs those, records the results
//! ([`Launch::to_run`], [`StreamState::finish_run`]), and calls `step` again; a simulator does the same with a
//! simulated clock.
//!
//! ```
//! use chrono::Utc;
//! use okd_gating::{step, GatingPolicy, History, StreamState, VerifyJob};
//! let policy = GatingPolicy::builder("s").target("release")
//!     .job(VerifyJob::blocking("e2e", "e2e")).build()?;
//! let mut state = StreamState::default();
//! let out = step(&policy, &mut state, &History::default(), Some("inputs-1"), Utc::now());
//! assert!(out.create.is_some());
//! # Ok::<(), okd_gating::Error>(())
//! ```

use chrono::{DateTime, Utc};

use crate::creation::{CreationDecision, may_create, release_name, superseded_pending};
use crate::record::{JobRun, Phase, ReleaseRecord, RunKind, StreamState};
use crate::verdict::{aggregate, analysis_runs};
use crate::{
    GatingPolicy, History, Launch, StreamMode, collect_garbage, evaluate, plan_jobs, plan_periodics,
};

/// A phase change made by a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The release.
    pub release: String,
    /// Its previous phase.
    pub from: Phase,
    /// Its new phase.
    pub to: Phase,
    /// Why.
    pub reason: Option<String>,
}

/// What a step decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutcome {
    /// Phase changes, in the order they were made.
    pub transitions: Vec<Transition>,
    /// Create a release with this name from the current inputs.
    pub create: Option<String>,
    /// Runs to start, by release.
    pub launches: Vec<(String, Launch)>,
    /// Releases removed by garbage collection.
    pub removed: Vec<ReleaseRecord>,
    /// Call `step` again at this time at the latest (a backoff or the creation interval ends).
    pub wake_at: Option<DateTime<Utc>>,
}

fn apply(policy: &GatingPolicy, r: &mut ReleaseRecord, now: DateTime<Utc>) -> Option<Transition> {
    let e = evaluate(policy, r);
    if e.phase == r.phase {
        return None;
    }
    let t = Transition {
        release: r.name.clone(),
        from: r.phase,
        to: e.phase,
        reason: e.reason.clone(),
    };
    r.phase = e.phase;
    r.reason = e.reason;
    r.message = e.message;
    r.phase_changed = Some(now);
    Some(t)
}

/// Runs one controller pass over `state` at `now`. `inputs_hash` is the hash of the current
/// inputs (`None` when unknown: nothing is created).
pub fn step(
    policy: &GatingPolicy,
    state: &mut StreamState,
    history: &History,
    inputs_hash: Option<&str>,
    now: DateTime<Utc>,
) -> StepOutcome {
    let mut out = StepOutcome::default();
    if policy.mode == StreamMode::Integration {
        for name in superseded_pending(&state.releases) {
            if let Some(r) = state.release_mut(&name) {
                out.transitions.push(Transition {
                    release: name.clone(),
                    from: r.phase,
                    to: Phase::Failed,
                    reason: Some("Aborted".to_string()),
                });
                r.phase = Phase::Failed;
                r.reason = Some("Aborted".to_string());
                r.message = Some("Multiple releases were found simultaneously running.".into());
                r.phase_changed = Some(now);
            }
        }
    }
    for r in &mut state.releases {
        out.transitions.extend(apply(policy, r, now));
    }

    let removed = collect_garbage(policy, &state.releases, now);
    if !removed.is_empty() {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.releases)
            .into_iter()
            .partition(|r| removed.contains(&r.name));
        state.releases = kept;
        out.removed = gone;
    }

    if let Some(hash) = inputs_hash {
        match may_create(policy, &state.releases, hash, now) {
            CreationDecision::Create => out.create = Some(release_name(policy, now)),
            CreationDecision::Wait { until } => out.wake_at = Some(until),
            CreationDecision::Blocked(_) => {}
        }
    }

    // The releases accepted so far are upgrade sources for the ones being verified.
    let mut full_history = history.clone();
    full_history.add_stream(policy, state);
    // Aggregators judged here are upgrade runs too: their edges go on the graph.
    let mut edges = Vec::new();
    for r in &mut state.releases {
        if r.phase != Phase::Ready {
            continue;
        }
        let plan = plan_jobs(policy, r, &full_history, now);
        if let Some(w) = plan.wake_at {
            out.wake_at = Some(out.wake_at.map_or(w, |x| x.min(w)));
        }
        r.not_run = plan.not_run.into_iter().collect();
        let mut recorded = false;
        for launch in plan.launches {
            match in_process(policy, r, &launch, now) {
                Some(run) => {
                    if let (Some(from), false) = (&run.upgrade_from, run.skipped) {
                        edges.push((
                            from.name.clone(),
                            r.name.clone(),
                            run.state,
                            run.run_name(&r.name),
                        ));
                    }
                    r.runs.push(run);
                    recorded = true;
                }
                None => out.launches.push((r.name.clone(), launch)),
            }
        }
        if recorded {
            out.transitions.extend(apply(policy, r, now));
        }
    }
    for (from, to, result, url) in edges {
        state.graph.record(&from, &to, result, &url);
    }
    periodics(policy, state, &full_history, now, &mut out);
    out
}

/// Plans the periodics: skips are recorded at once, the rest launched; the ones that cannot
/// start are noted on the release they would test.
fn periodics(
    policy: &GatingPolicy,
    state: &mut StreamState,
    history: &History,
    now: DateTime<Utc>,
    out: &mut StepOutcome,
) {
    let plan = plan_periodics(policy, state, history, now);
    if let Some(w) = plan.wake_at {
        out.wake_at = Some(out.wake_at.map_or(w, |x| x.min(w)));
    }
    let Some(latest) = state.latest_accepted().map(|r| r.name.clone()) else {
        return;
    };
    if let Some(r) = state.release_mut(&latest) {
        r.not_run
            .retain(|job, _| !policy.periodics.iter().any(|p| &p.name == job));
        r.not_run.extend(plan.not_run);
    }
    for (release, launch) in plan.launches {
        if !launch.skip {
            out.launches.push((release, launch));
            continue;
        }
        // A skip has no source: nothing for the graph.
        if let Some(r) = state.release_mut(&release) {
            r.runs.push(launch.to_run(now, None));
        }
    }
}

/// The run of a launch that needs no runner, finished now: a skip, or an aggregator (which
/// judges analysis runs already recorded).
fn in_process(
    policy: &GatingPolicy,
    record: &ReleaseRecord,
    launch: &Launch,
    now: DateTime<Utc>,
) -> Option<JobRun> {
    if launch.skip {
        return Some(launch.to_run(now, None));
    }
    if launch.kind != RunKind::Aggregator {
        return None;
    }
    let agg = policy.job(&launch.job)?.aggregation.as_ref()?;
    let state = aggregate(&analysis_runs(record, &launch.job), agg)?;
    let mut run = launch.to_run(now, None);
    run.state = state;
    run.finished = Some(now);
    Some(run)
}
