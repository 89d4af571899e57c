//! Filling a [`ReportModel`] from okd-gating and okd-release types.

use okd_gating::{
    Gate, GatingPolicy, GatingState, JobRole, JobRun, JobState, NotRun, ReleaseRecord, RunState,
    StreamState, UpgradeGraph,
};
use okd_release::ReleaseDiff;

use super::model::{
    Attempt, AttemptState, DiffSide, DiffSummary, ImageChange, ImageOnlyIn, JobEntry, JobResult,
    ManifestChanges, ReleaseEntry, ReportModel, UpgradeEdge, VersionChange,
};

impl ReportModel {
    /// The report of a stream's gating state under its policy: every release with its enabled
    /// jobs (and any job the policy no longer has but that ran), and every upgrade edge.
    ///
    /// ```
    /// use chrono::Utc;
    /// use okd_gating::{CreationState, GatingPolicy, ReleaseRecord, StreamState, VerifyJob};
    /// use okd_report::{JobResult, ReportModel};
    /// let policy = GatingPolicy::builder("s").target("release")
    ///     .job(VerifyJob::blocking("aws", "e2e-aws"))
    ///     .build()?;
    /// let mut state = StreamState::default();
    /// let mut r = ReleaseRecord::pending("s-1", "quay.io/x:1", "h", Utc::now());
    /// r.creation = CreationState::Succeeded;
    /// state.releases.push(r);
    /// let model = ReportModel::from_stream("s", &state, &policy);
    /// assert_eq!(model.releases[0].jobs[0].result, JobResult::NotStarted);
    /// # Ok::<(), okd_gating::Error>(())
    /// ```
    pub fn from_stream(stream: &str, state: &StreamState, policy: &GatingPolicy) -> ReportModel {
        ReportModel {
            stream: stream.to_string(),
            generated: None,
            releases: state
                .releases
                .iter()
                .map(|r| ReleaseEntry::from_record(r, policy))
                .collect(),
            edges: UpgradeEdge::from_graph(&state.graph),
        }
    }
}

impl ReportModel {
    /// Records that release `name` was built as `digest`, with what changed since the release
    /// built before it. Releases the model does not have are ignored.
    pub fn record_build(&mut self, name: &str, digest: &str, diff: Option<&ReleaseDiff>) {
        if let Some(entry) = self.release_mut(name) {
            entry.digest = Some(digest.to_string());
            entry.diff = diff.map(DiffSummary::from);
        }
    }
}

impl ReportModel {
    /// Records that release `name` is signed by the stream's key. Releases the model does not
    /// have are ignored.
    pub fn record_signature(&mut self, name: &str) {
        if let Some(entry) = self.release_mut(name) {
            entry.signed = true;
        }
    }

    /// The report of stream `stream` of a whole gating state; `None` when the state has no
    /// such stream.
    pub fn from_gating(
        state: &GatingState,
        stream: &str,
        policy: &GatingPolicy,
    ) -> Option<ReportModel> {
        state
            .streams
            .get(stream)
            .map(|s| ReportModel::from_stream(stream, s, policy))
    }
}

impl ReleaseEntry {
    /// A release as recorded, with the state of each job under `policy`.
    pub fn from_record(record: &ReleaseRecord, policy: &GatingPolicy) -> ReleaseEntry {
        let mut entry = ReleaseEntry::new(
            record.name.clone(),
            record.phase,
            record.created,
            record.pullspec.clone(),
        );
        entry.reason = record.reason.clone();
        entry.message = record.message.clone();
        if let Some(o) = &record.override_ {
            entry.reason.get_or_insert_with(|| o.reason.clone());
        }
        for status in okd_gating::job_statuses(policy, record) {
            // An aggregated job appears twice (aggregator and analysis); both describe the
            // same runs, so the blocking judgement stands for the job.
            if status.role == JobRole::Analysis {
                continue;
            }
            entry.jobs.push(job_entry(
                record,
                &status.name,
                status.gate,
                result(status.state, record.not_run.get(&status.name).copied()),
            ));
        }
        let mut unknown: Vec<&str> = record
            .runs
            .iter()
            .map(|r| r.job.as_str())
            .filter(|j| !entry.jobs.iter().any(|e| e.name == *j))
            .collect();
        unknown.dedup();
        for job in unknown {
            let runs: Vec<&JobRun> = record.runs_of(job).collect();
            let r = if runs.iter().all(|r| r.state == RunState::Skipped) {
                JobResult::Skipped
            } else if runs.iter().any(|r| r.state == RunState::Succeeded) {
                JobResult::Succeeded
            } else if runs.iter().any(|r| r.state == RunState::Pending) {
                JobResult::Pending
            } else {
                JobResult::Failed
            };
            entry.jobs.push(job_entry(record, job, Gate::Informing, r));
        }
        entry
    }
}

fn result(state: JobState, not_run: Option<NotRun>) -> JobResult {
    match (state, not_run) {
        (JobState::Unknown, Some(NotRun::NoUpgradeSource)) => JobResult::NotRunNoUpgradeSource,
        (JobState::Unknown, Some(NotRun::NoRunner)) => JobResult::NotRunNoRunner,
        (JobState::Unknown, None) => JobResult::NotStarted,
        (JobState::Pending, _) => JobResult::Pending,
        (JobState::Success, _) => JobResult::Succeeded,
        (JobState::Failure, _) => JobResult::Failed,
        (JobState::Skipped, _) => JobResult::Skipped,
    }
}

fn job_entry(record: &ReleaseRecord, job: &str, gate: Gate, result: JobResult) -> JobEntry {
    let mut runs: Vec<&JobRun> = record.runs_of(job).collect();
    runs.sort_by_key(|r| (r.attempt, r.kind, r.started));
    JobEntry {
        name: job.to_string(),
        gate,
        result,
        upgrade_from: runs
            .iter()
            .rev()
            .find_map(|r| r.upgrade_from.as_ref().map(|f| f.name.clone())),
        attempts: runs
            .iter()
            .map(|r| Attempt::from_run(&record.name, r))
            .collect(),
    }
}

impl Attempt {
    /// A recorded run of a job of release `release`.
    pub fn from_run(release: &str, run: &JobRun) -> Attempt {
        Attempt {
            name: run.run_name(release),
            state: match run.state {
                RunState::Pending => AttemptState::Pending,
                RunState::Succeeded => AttemptState::Succeeded,
                RunState::Failed => AttemptState::Failed,
                RunState::Skipped => AttemptState::Skipped,
            },
            started: (!run.skipped).then_some(run.started),
            finished: run.finished,
            log: run.log.clone(),
            skipped: run.skipped,
        }
    }
}

impl UpgradeEdge {
    /// Every edge of an upgrade graph with its counts.
    pub fn from_graph(graph: &UpgradeGraph) -> Vec<UpgradeEdge> {
        graph
            .edges()
            .map(|(from, to, c)| UpgradeEdge {
                from: from.to_string(),
                to: to.to_string(),
                success: c.success,
                failure: c.failure,
            })
            .collect()
    }
}

fn change(c: &okd_release::diff::ImageChange) -> ImageChange {
    ImageChange {
        name: c.name.clone(),
        from_pullspec: c.from_pullspec.clone(),
        to_pullspec: c.to_pullspec.clone(),
        from_commit: c.from_commit.clone(),
        to_commit: c.to_commit.clone(),
        to_source: c.to_source.clone(),
        compare_url: c.compare_url.clone(),
    }
}

fn only_in(c: &okd_release::diff::ImageOnlyIn) -> ImageOnlyIn {
    ImageOnlyIn {
        name: c.name.clone(),
        pullspec: c.pullspec.clone(),
        commit: c.commit.clone(),
        source: c.source.clone(),
    }
}

impl From<&ReleaseDiff> for DiffSummary {
    fn from(d: &ReleaseDiff) -> DiffSummary {
        let side = |s: &okd_release::diff::DiffSide| DiffSide {
            name: s.name.clone(),
            pull_spec: s.pull_spec.clone(),
            digest: s.digest.clone(),
        };
        DiffSummary {
            from: side(&d.from),
            to: side(&d.to),
            identical: d.identical,
            upgrade_from: d.upgrade_from,
            changed: d.changed.iter().map(change).collect(),
            rebuilt: d.rebuilt.iter().map(change).collect(),
            added: d.added.iter().map(only_in).collect(),
            removed: d.removed.iter().map(only_in).collect(),
            component_versions: d
                .component_versions
                .iter()
                .map(|v| VersionChange {
                    component: v.component.clone(),
                    display_name: v.display_name.clone(),
                    from: v.from.clone(),
                    to: v.to.clone(),
                })
                .collect(),
            manifests: ManifestChanges {
                changed: d.manifests.changed.clone(),
                added: d.manifests.added.clone(),
                removed: d.manifests.removed.clone(),
            },
            text: None,
        }
    }
}
