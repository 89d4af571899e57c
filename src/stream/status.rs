//! A stream's releases at a glance, and manual verdicts (`accept`/`reject`, as
//! `release-tool.py accept|reject` sets `spec.payloadOverride`).

use std::fmt;

use okd_gating::{
    Channel, JobState, NotRun, Override, OverridePhase, Phase, Publication, ReleaseRecord, RunKind,
    RunState, evaluate,
};
use okd_release::graph::Node;

use super::{Stream, StreamError};

/// One release of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStatus {
    /// Its version.
    pub name: String,
    /// Its phase.
    pub phase: Phase,
    /// Why, for terminal phases.
    pub reason: Option<String>,
    /// Manifest digest, once built.
    pub digest: Option<String>,
    /// Where it is.
    pub image: String,
    /// Each job with its state.
    pub jobs: Vec<JobLine>,
    /// The periodics that ran against it, or could not.
    pub periodics: Vec<PeriodicLine>,
}

/// A periodic job's runs against one release, as `stream status` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicLine {
    /// The periodic.
    pub name: String,
    /// Its runs against the release.
    pub runs: u32,
    /// The state of the newest run.
    pub last: Option<RunState>,
    /// Why it was not started, when the last pass left it out.
    pub not_run: Option<NotRun>,
}

impl fmt::Display for PeriodicLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.last, self.not_run) {
            (_, Some(why)) => write!(f, "periodic {}: {why}", self.name),
            (Some(RunState::Skipped), None) => write!(
                f,
                "periodic {}: Skipped (never run: no upgrade source)",
                self.name
            ),
            (Some(state), None) => {
                write!(f, "periodic {}: {state:?} ({} runs)", self.name, self.runs)
            }
            (None, None) => write!(f, "periodic {}: not started", self.name),
        }
    }
}

fn periodic_lines(policy: &okd_gating::GatingPolicy, r: &ReleaseRecord) -> Vec<PeriodicLine> {
    policy
        .periodics
        .iter()
        .filter_map(|p| {
            let runs: Vec<_> = r
                .runs
                .iter()
                .filter(|x| x.kind == RunKind::Periodic && x.job == p.name)
                .collect();
            let not_run = r.not_run.get(&p.name).copied();
            (!runs.is_empty() || not_run.is_some()).then(|| PeriodicLine {
                name: p.name.clone(),
                runs: runs.len() as u32,
                last: runs.iter().max_by_key(|x| x.attempt).map(|x| x.state),
                not_run,
            })
        })
        .collect()
}

/// One job of a release, as `stream status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLine {
    /// The job.
    pub name: String,
    /// Its state (`Unknown` for a job that has not run).
    pub state: JobState,
    /// Why it was not started, when the last pass left it out.
    pub not_run: Option<NotRun>,
    /// True for the informing line of an aggregated job's analysis runs (its deciding line is
    /// the aggregator's, under the job's name).
    pub analysis: bool,
}

impl fmt::Display for JobLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = if self.analysis { " [analysis]" } else { "" };
        match (self.state, self.not_run) {
            (JobState::Unknown, Some(why)) => write!(f, "job {}{role}: {why}", self.name),
            (JobState::Skipped, _) => {
                write!(
                    f,
                    "job {}{role}: Skipped (never run: no upgrade source)",
                    self.name
                )
            }
            (state, _) => write!(f, "job {}{role}: {state:?}", self.name),
        }
    }
}

/// A stream's state at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    /// The stream.
    pub stream: String,
    /// Its releases, oldest first.
    pub releases: Vec<ReleaseStatus>,
    /// The last publication of each publish step.
    pub published: Vec<(String, Publication)>,
    /// The candidate being created, if a tick was interrupted while creating it.
    pub creating: Option<String>,
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "stream {}", self.stream)?;
        if self.releases.is_empty() {
            writeln!(f, "  no releases yet")?;
        }
        for r in &self.releases {
            let reason = r
                .reason
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
            writeln!(
                f,
                "  {:<40} {:<9}{reason}",
                r.name,
                format!("{:?}", r.phase)
            )?;
            if let Some(d) = &r.digest {
                writeln!(f, "      {d}")?;
            }
            for job in &r.jobs {
                writeln!(f, "      {job}")?;
            }
            for p in &r.periodics {
                writeln!(f, "      {p}")?;
            }
        }
        for (rule, p) in &self.published {
            writeln!(
                f,
                "  published {rule}: {} -> {}:{}",
                p.release, p.repository, p.tag
            )?;
        }
        if let Some(c) = &self.creating {
            writeln!(f, "  creating {c}")?;
        }
        Ok(())
    }
}

impl Stream {
    /// The releases, their phases and jobs, and the publications.
    pub async fn status(&self) -> Result<StreamStatus, StreamError> {
        let (stream, ledger) = self.load_state().await?;
        let mut releases: Vec<&okd_gating::ReleaseRecord> = stream.releases.iter().collect();
        releases.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
        let releases = releases
            .into_iter()
            .map(|r| {
                let e = evaluate(&self.policy, r);
                ReleaseStatus {
                    name: r.name.clone(),
                    phase: r.phase,
                    reason: r.reason.clone(),
                    digest: ledger.candidates.get(&r.name).map(|c| c.digest.to_string()),
                    image: r.pullspec.clone(),
                    jobs: e
                        .jobs
                        .iter()
                        .map(|j| JobLine {
                            name: j.name.clone(),
                            state: j.state,
                            not_run: r.not_run.get(&j.name).copied(),
                            analysis: j.role == okd_gating::JobRole::Analysis,
                        })
                        .collect(),
                    periodics: periodic_lines(&self.policy, r),
                }
            })
            .collect();
        Ok(StreamStatus {
            stream: self.name().to_string(),
            releases,
            published: stream.published.into_iter().collect(),
            creating: ledger.intent.map(|i| i.name),
        })
    }

    /// Accepts `release` whatever its jobs say; the next tick publishes it if it is the newest
    /// accepted release.
    pub async fn accept(&self, release: &str, reason: &str) -> Result<(), StreamError> {
        self.set_override(release, OverridePhase::Accepted, reason)
            .await
    }

    /// Rejects `release` whatever its jobs say.
    pub async fn reject(&self, release: &str, reason: &str) -> Result<(), StreamError> {
        self.set_override(release, OverridePhase::Rejected, reason)
            .await
    }

    async fn set_override(
        &self,
        release: &str,
        phase: OverridePhase,
        reason: &str,
    ) -> Result<(), StreamError> {
        let mut all = self.state.load().await?;
        let stream = all.streams.entry(self.name().to_string()).or_default();
        let record = stream
            .release_mut(release)
            .ok_or_else(|| StreamError::UnknownRelease {
                stream: self.name().to_string(),
                release: release.to_string(),
            })?;
        record.override_ = Some(Override {
            phase,
            reason: reason.to_string(),
        });
        let e = evaluate(&self.policy, record);
        record.phase = e.phase;
        record.reason = e.reason;
        record.message = e.message;
        self.state.save(&all).await?;
        Ok(())
    }

    /// The upgrade graph of the stream's releases in `channel` (Cincinnati JSON), from the
    /// results of its upgrade jobs.
    pub async fn upgrade_graph(&self, channel: &str) -> Result<okd_release::Graph, StreamError> {
        let (stream, _) = self.load_state().await?;
        let channel = Channel::parse(channel)?;
        Ok(stream
            .graph
            .to_cincinnati(&self.graph_nodes(&stream)?, &channel))
    }

    /// The upgrade graph as Graphviz DOT.
    pub async fn upgrade_graph_dot(&self) -> Result<String, StreamError> {
        let (stream, _) = self.load_state().await?;
        Ok(stream.graph.to_dot(&self.graph_nodes(&stream)?))
    }

    fn graph_nodes(&self, stream: &okd_gating::StreamState) -> Result<Vec<Node>, StreamError> {
        let mut nodes = Vec::new();
        let mut releases: Vec<&okd_gating::ReleaseRecord> = stream
            .releases
            .iter()
            .filter(|r| r.phase == Phase::Accepted)
            .collect();
        releases.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
        for r in releases {
            nodes.push(Node::new(r.name.parse()?, r.pullspec.clone()));
        }
        Ok(nodes)
    }
}

/// What a stream has built: its gating state, and for each built release, oldest first, its
/// digest and what changed since the release built before it. Plain data for report pages and
/// servers (`okd-report` renders it).
#[derive(Debug, Clone)]
pub struct StreamHistory {
    /// The gating state: releases, their jobs and the upgrade graph.
    pub state: okd_gating::StreamState,
    /// The built releases, oldest first.
    pub builds: Vec<BuiltRelease>,
}

/// One built release of a [`StreamHistory`].
#[derive(Debug, Clone)]
pub struct BuiltRelease {
    /// Its version.
    pub name: String,
    /// The release image's manifest digest.
    pub digest: String,
    /// What changed since the release built before it (none for the first).
    pub diff: Option<okd_release::ReleaseDiff>,
}

impl Stream {
    /// The stream's history: its gating state, and every built release with its digest and
    /// the diff from the one built before it (release images are read from the stream's store).
    pub async fn history(&self) -> Result<StreamHistory, StreamError> {
        let (stream, ledger) = self.load_state().await?;
        let mut built: Vec<&super::Candidate> = stream
            .releases
            .iter()
            .filter_map(|r| ledger.candidates.get(&r.name))
            .collect();
        built.sort_by(|a, b| {
            let created = |c: &super::Candidate| stream.release(&c.name).map(|r| r.created);
            created(a)
                .cmp(&created(b))
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut builds = Vec::with_capacity(built.len());
        let mut previous: Option<okd_release::Release> = None;
        for c in built {
            let release = okd_release::Release::load_image(self.store.as_ref(), &c.image).await?;
            builds.push(BuiltRelease {
                name: c.name.clone(),
                digest: c.digest.to_string(),
                diff: previous
                    .as_ref()
                    .map(|p| okd_release::ReleaseDiff::between(p, &release)),
            });
            previous = Some(release);
        }
        Ok(StreamHistory {
            state: stream,
            builds,
        })
    }
}
