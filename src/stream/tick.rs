//! One round of a stream: [`Stream::tick`], and [`Stream::run_until_idle`] which ticks until
//! nothing is in flight.
//!
//! Every state change is saved as soon as it is made, in an order that makes a kill at any
//! point harmless: the intent (version, inputs) is saved before the candidate is built, the
//! gating record right after; a rebuild after a kill writes the same digest; job runs whose
//! process was lost with a previous process are started again; publications are recorded after
//! they are made and a repeated publication finds the tag already in place.

use std::time::Duration;

use chrono::{DateTime, Utc};
use okd_gating::{
    CreationState, Error as GatingError, JobHandle, JobStatus, Phase, ReleaseRecord, RunEnd, RunId,
    RunState, StreamState, plan_publications, start_launches, step,
};
use okd_oci::ManifestRef;

pub use super::tick_report::{Created, Published, TickError, TickReport, TickStage};
use super::{Intent, Ledger, Stream, StreamError};

/// Which parts of a round run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    /// Start and poll jobs.
    pub jobs: bool,
    /// Publish.
    pub publish: bool,
}

impl Parts {
    pub(crate) const ALL: Parts = Parts {
        jobs: true,
        publish: true,
    };
}

/// What a tick works with: the time it runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickContext {
    /// The tick's time (release names and creation times derive from it).
    pub now: DateTime<Utc>,
}

impl TickContext {
    /// A tick at the current time.
    pub fn now() -> TickContext {
        TickContext { now: Utc::now() }
    }

    /// A tick at `now`.
    pub fn at(now: DateTime<Utc>) -> TickContext {
        TickContext { now }
    }
}

/// The release a candidate was built from, named by its version (or, for a payload without
/// one, the tag it was found by).
pub(crate) fn upstream_of(inputs: &super::Inputs) -> Option<okd_gating::ReleaseRef> {
    let name = inputs
        .upstream_version
        .clone()
        .or_else(|| inputs.upstream_tag.clone())?;
    Some(okd_gating::ReleaseRef {
        name,
        pullspec: inputs.upstream.to_string(),
    })
}

/// A Ready release whose every unfinished job that holds it (blocking ones; without any, the
/// informing ones that are waited for) is one the last pass could not start.
fn held_by_not_run(policy: &okd_gating::GatingPolicy, r: &ReleaseRecord) -> bool {
    use okd_gating::Gate;
    if r.phase != Phase::Ready || r.not_run.is_empty() {
        return false;
    }
    let jobs = okd_gating::evaluate(policy, r).jobs;
    let any_blocking = jobs.iter().any(|j| j.gate == Gate::Blocking);
    jobs.iter()
        .filter(|j| !j.state.is_final())
        .filter(|j| {
            if any_blocking {
                j.gate == Gate::Blocking
            } else {
                !j.asynchronous
            }
        })
        .all(|j| r.not_run.contains_key(&j.name))
}

impl Stream {
    pub(crate) async fn save(&self, stream: &StreamState) -> Result<(), StreamError> {
        let mut all = self.state.load().await?;
        let mut stream = stream.clone();
        // Other streams of the same state read this to know where Stable sources are.
        stream.stable = self.policy.mode == okd_gating::StreamMode::Stable;
        all.streams.insert(self.name().to_string(), stream);
        self.state.save(&all).await?;
        Ok(())
    }

    /// The stream's gating state and ledger, and the upgrade sources every stream of the same
    /// state file offers, from one read of it.
    pub(crate) async fn load_with_history(
        &self,
    ) -> Result<(StreamState, Ledger, okd_gating::History), StreamError> {
        let all = self.state.load().await?;
        let stream = all.streams.get(self.name()).cloned().unwrap_or_default();
        let mut history = okd_gating::History::from_state(&all);
        self.add_sampled_sources(&stream, &mut history).await?;
        Ok((stream, self.ledger.load().await?, history))
    }

    /// The stream's gating state and ledger.
    pub async fn load_state(&self) -> Result<(StreamState, Ledger), StreamError> {
        let all = self.state.load().await?;
        let stream = all.streams.get(self.name()).cloned().unwrap_or_default();
        Ok((stream, self.ledger.load().await?))
    }

    /// Builds what `intent` describes and records it as created; on failure counts the attempt
    /// and, after the last one, records the creation as failed.
    async fn complete_intent(
        &self,
        stream: &mut StreamState,
        ledger: &mut Ledger,
        intent: Intent,
        resumed: bool,
        report: &mut TickReport,
    ) -> Result<(), StreamError> {
        if stream.release(&intent.name).is_none() {
            let pullspec = self
                .target
                .location
                .image(&self.release_repository(), Some(&intent.name), None)?
                .to_string();
            let mut record = ReleaseRecord::pending(
                &intent.name,
                &pullspec,
                &intent.inputs_hash,
                intent.created,
            );
            record.upstream = upstream_of(&intent.inputs);
            stream.releases.push(record);
            self.save(stream).await?;
        }
        let creating = stream
            .release(&intent.name)
            .is_some_and(|r| r.creation == CreationState::Pending);
        if creating {
            match self.build_candidate(&intent).await {
                Ok(candidate) => {
                    if let Some(r) = stream.release_mut(&intent.name) {
                        r.creation = CreationState::Succeeded;
                        r.pullspec = candidate.image.to_string();
                    }
                    report.created = Some(Created {
                        name: candidate.name.clone(),
                        digest: candidate.digest.to_string(),
                        image: candidate.image.to_string(),
                        os_image: candidate.inputs.os_image.as_ref().map(ToString::to_string),
                        mirrored: candidate.mirrored.clone(),
                        resumed,
                    });
                    ledger.candidates.insert(candidate.name.clone(), candidate);
                }
                Err(e) => {
                    let message = e.to_string();
                    report.errors.push(TickError::new(TickStage::Create, e));
                    let mut intent = intent;
                    intent.attempts += 1;
                    intent.last_error = Some(message.clone());
                    if intent.attempts < self.creation_attempts {
                        ledger.intent = Some(intent);
                        self.ledger.save(ledger).await?;
                        return Ok(());
                    }
                    if let Some(r) = stream.release_mut(&intent.name) {
                        r.creation = CreationState::Failed { message };
                    }
                }
            }
            self.save(stream).await?;
        } else if let Some(r) = stream.release(&intent.name)
            && r.creation == CreationState::Succeeded
            && !ledger.candidates.contains_key(&intent.name)
        {
            // Killed after the gating record was saved and before the ledger was: the record
            // holds the image by digest.
            let image: okd_oci::ImageRef = r.pullspec.parse()?;
            if let Some(digest) = image.digest() {
                ledger.candidates.insert(
                    intent.name.clone(),
                    super::Candidate {
                        name: intent.name.clone(),
                        digest: digest.clone(),
                        image: image.clone(),
                        image_created: intent.image_created,
                        inputs: intent.inputs.clone(),
                        mirrored: None,
                    },
                );
            }
        }
        ledger.intent = None;
        self.ledger.save(ledger).await?;
        Ok(())
    }

    /// Polls the runs in flight; runs the runner no longer knows (their process is gone with an
    /// earlier process) are dropped so that the next step starts them again.
    async fn poll(
        &self,
        stream: &mut StreamState,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<bool, StreamError> {
        let mut changed = false;
        let pending: Vec<(RunId, Option<String>)> = stream
            .pending_runs()
            .map(|(r, run)| (run.id(&r.name), run.handle.clone()))
            .collect();
        for (id, handle) in pending {
            let status = match handle {
                Some(h) => self.runner.poll(&JobHandle(h)).await,
                None => Err(GatingError::UnknownHandle {
                    handle: String::new(),
                }),
            };
            match status {
                Ok(JobStatus::Running) => {}
                Ok(JobStatus::Finished(result)) => {
                    let end = RunEnd {
                        state: result.state,
                        at: now,
                        log: result.log,
                    };
                    stream.finish_run(&id, end);
                    report.finished.push((id.run_name(), result.state));
                    changed = true;
                }
                Err(GatingError::UnknownHandle { .. }) => {
                    if let Some(r) = stream.release_mut(&id.release) {
                        let before = r.runs.len();
                        r.runs
                            .retain(|x| !(id.names(x) && x.state == RunState::Pending));
                        if r.runs.len() != before {
                            report.restarted.push(id.run_name());
                            changed = true;
                        }
                    }
                }
                Err(e) => report.errors.push(TickError::new(TickStage::Poll, e)),
            }
        }
        Ok(changed)
    }

    /// Drops the launches of jobs nothing runs here, recording them as not run.
    fn leave_unrunnable(
        &self,
        stream: &mut StreamState,
        launches: &mut Vec<(String, okd_gating::Launch)>,
    ) {
        launches.retain(|(release, launch)| {
            // Periodic and sampled runs have no runner when their prow job has none.
            let by_prow_job = || {
                stream.release(release).and_then(|r| {
                    okd_gating::launch_prow_job(&self.policy, r, launch)
                        .filter(|p| self.unrunnable.contains(p))
                })
            };
            let ordinary = !matches!(
                launch.kind,
                okd_gating::RunKind::Periodic | okd_gating::RunKind::Sampled
            );
            let unrunnable = if ordinary {
                self.unrunnable.contains(&launch.job)
            } else {
                by_prow_job().is_some()
            };
            if !unrunnable {
                return true;
            }
            if let Some(r) = stream.release_mut(release) {
                r.not_run
                    .insert(launch.job.clone(), okd_gating::NotRun::NoRunner);
            }
            false
        });
    }

    /// Runs one round. See the [module docs](self).
    pub async fn tick(&self, ctx: &TickContext) -> Result<TickReport, StreamError> {
        self.round(ctx, Parts::ALL).await
    }

    /// A round doing only `parts` (a pipeline runs jobs and publication as steps of its own).
    pub(crate) async fn round(
        &self,
        ctx: &TickContext,
        parts: Parts,
    ) -> Result<TickReport, StreamError> {
        let now = ctx.now;
        let mut report = TickReport {
            stream: self.name().to_string(),
            at: Some(now),
            ..TickReport::default()
        };
        // Every stream of the state, and the upstreams releases were built from, are upgrade
        // sources (the stream's own releases decided during this round are added by `step`).
        let (mut stream, mut ledger, history) = self.load_with_history().await?;

        // An intent left by an interrupted tick is finished first, with its recorded inputs.
        if let Some(intent) = ledger.intent.clone() {
            self.complete_intent(&mut stream, &mut ledger, intent, true, &mut report)
                .await?;
        }
        if parts.jobs && self.poll(&mut stream, now, &mut report).await? {
            self.save(&stream).await?;
        }

        // Inputs are only looked at when a release could be created: polling jobs does not
        // read the upstream again and again.
        let could_create = matches!(
            okd_gating::may_create(&self.policy, &stream.releases, "", now),
            okd_gating::CreationDecision::Create
        );
        let detected = if !could_create {
            None
        } else {
            match self.detect().await {
                Ok(d) => Some(d),
                Err(e) => {
                    report.errors.push(TickError::new(TickStage::Detect, e));
                    None
                }
            }
        };
        if let Some(d) = &detected {
            report.upstream = Some(d.upstream.image.to_string());
            report.inputs_hash = Some(d.hash.clone());
        }
        let hash = detected.as_ref().map(|d| d.hash.clone());
        let mut out = step(&self.policy, &mut stream, &history, hash.as_deref(), now);
        if out.create.is_some()
            && ledger.intent.is_none()
            && let Some(mut d) = detected
        {
            match self
                .plan_candidate(&mut stream, &mut ledger, &mut d, now)
                .await
            {
                Ok(intent) => {
                    self.complete_intent(&mut stream, &mut ledger, intent, false, &mut report)
                        .await?;
                    // The new release is Ready now: plan its jobs.
                    let more = step(&self.policy, &mut stream, &history, hash.as_deref(), now);
                    out.transitions.extend(more.transitions);
                    out.launches.extend(more.launches);
                    out.removed.extend(more.removed);
                    out.wake_at = more.wake_at.or(out.wake_at);
                }
                Err(e) => report.errors.push(TickError::new(TickStage::Plan, e)),
            }
        }
        report.transitions.extend(out.transitions);
        report.wake_at = out.wake_at;
        self.leave_unrunnable(&mut stream, &mut out.launches);

        if parts.jobs {
            for (release, launch) in &out.launches {
                let name = launch.to_run(now, None).run_name(release);
                report.started.push(name);
            }
            let errors = start_launches(
                &self.policy,
                &mut stream,
                out.launches,
                self.runner.as_ref(),
                now,
            )
            .await;
            report.errors.extend(
                errors
                    .into_iter()
                    .map(|e| TickError::new(TickStage::Start, e)),
            );
        }
        self.save(&stream).await?;
        if parts.publish {
            self.publish(&mut stream, now, &mut report).await?;
        }
        self.collect(&mut stream, &mut ledger, out.removed, &mut report)
            .await?;

        report.running = stream
            .releases
            .iter()
            .flat_map(|r| &r.runs)
            .filter(|r| r.state == RunState::Pending)
            .count();
        report.undecided = stream
            .releases
            .iter()
            .filter(|r| matches!(r.phase, Phase::Pending | Phase::Ready))
            .map(|r| r.name.clone())
            .collect();
        report.stalled = report.running == 0
            && stream
                .releases
                .iter()
                .filter(|r| matches!(r.phase, Phase::Pending | Phase::Ready))
                .all(|r| held_by_not_run(&self.policy, r));
        Ok(report)
    }

    /// Decides the new candidate's version and inputs, writes its OS image and saves the intent.
    async fn plan_candidate(
        &self,
        stream: &mut StreamState,
        ledger: &mut Ledger,
        detected: &mut super::candidate::Detected,
        now: DateTime<Utc>,
    ) -> Result<Intent, StreamError> {
        let image_created = self.image_created(detected, now);
        let highest = stream
            .releases
            .iter()
            .filter_map(|r| self.scheme.sequence_of(&r.name))
            .max()
            .unwrap_or(0);
        let sequence = ledger.sequence.max(highest) + 1;
        let name = self.scheme.name(self.name(), image_created, sequence)?;
        if stream.release(&name).is_some() || ledger.candidates.contains_key(&name) {
            return Err(StreamError::invalid(
                self.name(),
                "version",
                format!(
                    "release {name} exists already; the version scheme gave the same name twice"
                ),
            ));
        }
        self.prepare_os(&name, detected).await?;
        let intent = Intent {
            name,
            created: now,
            image_created,
            inputs_hash: detected.hash.clone(),
            inputs: detected.inputs.clone(),
            attempts: 0,
            last_error: None,
        };
        if self.scheme.is_sequence() {
            ledger.sequence = sequence;
        }
        ledger.intent = Some(intent.clone());
        self.ledger.save(ledger).await?;
        Ok(intent)
    }

    pub(crate) async fn publish(
        &self,
        stream: &mut StreamState,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), StreamError> {
        for action in plan_publications(&self.policy, stream) {
            match self.publisher.publish(&action).await {
                Ok(outcome) => {
                    let record = outcome.publication(&action, now);
                    report.published.push(Published {
                        rule: action.rule.clone(),
                        release: action.release.clone(),
                        target: format!("{}:{}", record.repository, record.tag),
                        digest: record.digest.clone().unwrap_or_default(),
                        already: matches!(
                            outcome,
                            okd_gating::PublishOutcome::AlreadyPublished { .. }
                        ),
                    });
                    stream.published.insert(action.rule.clone(), record);
                    self.save(stream).await?;
                }
                Err(e) => report.errors.push(TickError::new(TickStage::Publish, e)),
            }
        }
        self.sign_published(stream, report);
        Ok(())
    }

    async fn collect(
        &self,
        stream: &mut StreamState,
        ledger: &mut Ledger,
        removed: Vec<ReleaseRecord>,
        report: &mut TickReport,
    ) -> Result<(), StreamError> {
        if removed.is_empty() {
            return Ok(());
        }
        let repos: Vec<String> = std::iter::once(self.release_repository())
            .chain(self.os_repository())
            .collect();
        for r in &removed {
            for repo in &repos {
                let present = self
                    .store
                    .manifest_digest(repo, &ManifestRef::Tag(r.name.clone()))
                    .await;
                if let Ok(Some(_)) = present
                    && let Err(e) = self.store.delete_tag(repo, &r.name).await
                {
                    report.errors.push(TickError::new(TickStage::Collect, e));
                }
            }
            ledger.candidates.remove(&r.name);
            stream.graph.retain_releases(|n| n != r.name);
            report.removed.push(r.name.clone());
        }
        self.save(stream).await?;
        self.ledger.save(ledger).await?;
        Ok(())
    }

    /// Ticks until nothing is in flight (no run going, no release undecided), polling every
    /// `poll` while jobs run. Returns what all the ticks did.
    pub async fn run_until_idle(&self, ctx: &TickContext) -> Result<TickReport, StreamError> {
        self.run_until_idle_polling(ctx, Duration::from_millis(200))
            .await
    }

    /// [`Stream::run_until_idle`] with a polling interval.
    pub async fn run_until_idle_polling(
        &self,
        ctx: &TickContext,
        poll: Duration,
    ) -> Result<TickReport, StreamError> {
        let started = std::time::Instant::now();
        // Later ticks run at the context's time plus the time that has passed, so that retry
        // backoffs end.
        let at = |elapsed: Duration| {
            TickContext::at(ctx.now + chrono::TimeDelta::from_std(elapsed).unwrap_or_default())
        };
        let mut total = self.tick(ctx).await?;
        let mut last_errors = total.errors.len();
        while !total.is_idle() {
            let wait = match total.wake_at {
                Some(w) if total.running == 0 => (w - at(started.elapsed()).now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .max(poll),
                _ => poll,
            };
            tokio::time::sleep(wait).await;
            let next = self.tick(&at(started.elapsed())).await?;
            let progressed = !next.finished.is_empty()
                || !next.started.is_empty()
                || next.created.is_some()
                || !next.transitions.is_empty()
                || next.running > 0;
            total.absorb(next);
            // A stream that is stuck (nothing runs, nothing changes, and only errors come
            // back) is not waited on forever.
            if !progressed
                && total.running == 0
                && total.wake_at.is_none()
                && total.errors.len() > last_errors
            {
                break;
            }
            last_errors = total.errors.len();
        }
        Ok(total)
    }
}
