//! A round split into stages, for pipelines that run each as a step of their own (the Tekton
//! export in [`crate::tekton`]): `assemble` (detect and create, no jobs), `mirror` (report the
//! image the jobs test), `gate` (record the outcomes of jobs run elsewhere and decide), and
//! `promote` (publish).
//!
//! ```no_run
//! # async fn demo(stream: okd_streams::stream::Stream) -> Result<(), okd_streams::stream::StreamError> {
//! use okd_streams::gating::RunState;
//! use okd_streams::stream::{JobOutcome, TickContext};
//! let ctx = TickContext::now();
//! let assembled = stream.assemble(&ctx).await?;
//! if let Some(release) = &assembled.release {
//!     // … the pipeline runs the jobs against assembled.image …
//!     let gate = stream
//!         .gate(&ctx, release, &[JobOutcome { job: "e2e".into(), state: RunState::Succeeded, attempts: 1 }])
//!         .await?;
//!     println!("{release}: {:?}", gate.phase);
//!     stream.promote(&ctx).await?;
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use okd_gating::{JobRun, Phase, RunKind, RunState, resolve_upgrade_source, step};

use super::tick::Parts;
use super::{Stream, StreamError, TickContext, TickReport};

/// How a job run elsewhere ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    /// The job.
    pub job: String,
    /// Succeeded or Failed (of the last attempt).
    pub state: RunState,
    /// Attempts made (earlier ones failed).
    pub attempts: u32,
}

/// What a stage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageOutcome {
    /// The release the stage worked on.
    pub release: Option<String>,
    /// Its image (store reference by digest).
    pub image: Option<String>,
    /// For each upgrade job, the pullspec of the release it upgrades from (empty: none).
    pub upgrade_from: BTreeMap<String, String>,
    /// The release's phase after the stage.
    pub phase: Option<Phase>,
    /// The round's report.
    pub report: TickReport,
}

impl Stream {
    /// Detects changed inputs and creates a candidate without starting jobs or publishing.
    /// The outcome names the newest release still being verified (the one just created, or one
    /// an earlier run left undecided).
    pub async fn assemble(&self, ctx: &TickContext) -> Result<StageOutcome, StreamError> {
        let parts = Parts {
            jobs: false,
            publish: false,
        };
        let report = self.round(ctx, parts).await?;
        let (stream, _, history) = self.load_with_history().await?;
        let newest = stream
            .releases
            .iter()
            .filter(|r| r.phase == Phase::Ready)
            .max_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
        let mut out = StageOutcome {
            report,
            ..StageOutcome::default()
        };
        if let Some(r) = newest {
            for job in self.policy.jobs.iter().filter(|j| j.upgrade.is_some()) {
                let from = resolve_upgrade_source(&self.policy, job, &r.name, &history)
                    .map(|f| f.pullspec)
                    .unwrap_or_default();
                out.upgrade_from.insert(job.name.clone(), from);
            }
            out.release = Some(r.name.clone());
            out.image = Some(r.pullspec.clone());
            out.phase = Some(r.phase);
        }
        Ok(out)
    }

    /// The image jobs test for `release` (mirroring happens when the release is created).
    pub async fn mirrored(&self, release: &str) -> Result<StageOutcome, StreamError> {
        let (stream, _) = self.load_state().await?;
        let r = stream
            .release(release)
            .ok_or_else(|| self.unknown(release))?;
        Ok(StageOutcome {
            release: Some(r.name.clone()),
            image: Some(r.pullspec.clone()),
            phase: Some(r.phase),
            ..StageOutcome::default()
        })
    }

    /// Records how jobs run elsewhere ended for `release` and decides its phase.
    pub async fn gate(
        &self,
        ctx: &TickContext,
        release: &str,
        outcomes: &[JobOutcome],
    ) -> Result<StageOutcome, StreamError> {
        let (mut stream, _, history) = self.load_with_history().await?;
        let now = ctx.now;
        let record = stream
            .release_mut(release)
            .ok_or_else(|| self.unknown(release))?;
        for o in outcomes {
            if self.policy.job(&o.job).is_none() {
                return Err(StreamError::invalid(
                    self.name(),
                    format!("jobs.{}", o.job),
                    "the stream has no such job",
                ));
            }
            // The source the assemble stage handed the job: resolved the same way again.
            let job = self.policy.job(&o.job);
            let from = job.and_then(|j| resolve_upgrade_source(&self.policy, j, release, &history));
            if job.is_some_and(|j| j.upgrade.is_some()) && from.is_none() {
                // The assemble stage handed the job no source, so it cannot have run an
                // upgrade: a result for it is not recorded, and saying so is an error.
                return Err(StreamError::invalid(
                    self.name(),
                    format!("jobs.{}", o.job),
                    format!(
                        "reported {:?} for {release}, but no release to upgrade from resolves \
                         for it (the job is not run: no upgrade source); the result is not recorded",
                        o.state
                    ),
                ));
            }
            record.runs.retain(|r| r.job != o.job);
            // An aggregated job's task judged its analysis runs itself: what it reports is
            // the aggregator's verdict, the run that decides and that is the upgrade edge.
            let kind = match job.and_then(|j| j.aggregation.as_ref()) {
                Some(_) => RunKind::Aggregator,
                None => RunKind::Verify,
            };
            let attempts = o.attempts.max(1);
            for attempt in 0..attempts {
                let last = attempt + 1 == attempts;
                record.runs.push(JobRun {
                    job: o.job.clone(),
                    kind,
                    attempt,
                    state: if last { o.state } else { RunState::Failed },
                    started: now,
                    finished: Some(now),
                    upgrade_from: from.clone(),
                    handle: None,
                    log: None,
                    skipped: false,
                });
            }
        }
        let upgrades = stream.release(release).cloned();
        if let Some(r) = &upgrades {
            stream.graph.record_release(r);
        }
        let out = step(&self.policy, &mut stream, &history, None, now);
        self.save(&stream).await?;
        let phase = stream.release(release).map(|r| r.phase);
        Ok(StageOutcome {
            release: Some(release.to_string()),
            phase,
            report: TickReport {
                stream: self.name().to_string(),
                at: Some(now),
                transitions: out.transitions,
                ..TickReport::default()
            },
            ..StageOutcome::default()
        })
    }

    /// Publishes the newest accepted release.
    pub async fn promote(&self, ctx: &TickContext) -> Result<StageOutcome, StreamError> {
        let (mut stream, _) = self.load_state().await?;
        let mut report = TickReport {
            stream: self.name().to_string(),
            at: Some(ctx.now),
            ..TickReport::default()
        };
        self.publish(&mut stream, ctx.now, &mut report).await?;
        let release = stream.latest_accepted().map(|r| r.name.clone());
        Ok(StageOutcome {
            release,
            report,
            ..StageOutcome::default()
        })
    }

    pub(crate) fn unknown(&self, release: &str) -> StreamError {
        StreamError::UnknownRelease {
            stream: self.name().to_string(),
            release: release.to_string(),
        }
    }
}
