//! What a stream report shows: plain data, filled from gating state with
//! [`ReportModel::from_stream`] or built directly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use okd_gating::{Gate, Phase};

/// Everything the report shows about one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportModel {
    /// The stream's name.
    pub stream: String,
    /// When the report was made (shown in the footer); none for no footer time.
    #[serde(default)]
    pub generated: Option<DateTime<Utc>>,
    /// Its releases, any order (the report shows them newest first).
    pub releases: Vec<ReleaseEntry>,
    /// Upgrade edges with their results.
    #[serde(default)]
    pub edges: Vec<UpgradeEdge>,
}

impl ReportModel {
    /// An empty report of `stream`.
    pub fn new(stream: impl Into<String>) -> ReportModel {
        ReportModel {
            stream: stream.into(),
            generated: None,
            releases: Vec::new(),
            edges: Vec::new(),
        }
    }

    /// The release called `name`.
    pub fn release(&self, name: &str) -> Option<&ReleaseEntry> {
        self.releases.iter().find(|r| r.name == name)
    }

    /// The release called `name`, mutably (to attach a diff, say).
    pub fn release_mut(&mut self, name: &str) -> Option<&mut ReleaseEntry> {
        self.releases.iter_mut().find(|r| r.name == name)
    }

    /// Releases newest first: by creation time, then name.
    pub fn newest_first(&self) -> Vec<&ReleaseEntry> {
        let mut out: Vec<&ReleaseEntry> = self.releases.iter().collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
        out
    }

    /// How many releases are in `phase`.
    pub fn count(&self, phase: Phase) -> usize {
        self.releases.iter().filter(|r| r.phase == phase).count()
    }
}

/// One release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseEntry {
    /// Release name (version).
    pub name: String,
    /// Its phase.
    pub phase: Phase,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Where its image is.
    pub pullspec: String,
    /// Its manifest digest, when known.
    #[serde(default)]
    pub digest: Option<String>,
    /// Why it is in its phase (`VerificationFailed`, `ManuallyAccepted`, …).
    #[serde(default)]
    pub reason: Option<String>,
    /// More about the phase.
    #[serde(default)]
    pub message: Option<String>,
    /// Its gating jobs.
    #[serde(default)]
    pub jobs: Vec<JobEntry>,
    /// What changed since the previous release.
    #[serde(default)]
    pub diff: Option<DiffSummary>,
    /// Whether the stream holds a valid signature of it by the stream's key.
    #[serde(default)]
    pub signed: bool,
}

impl ReleaseEntry {
    /// A release with no jobs and no diff.
    pub fn new(
        name: impl Into<String>,
        phase: Phase,
        created: DateTime<Utc>,
        pullspec: impl Into<String>,
    ) -> ReleaseEntry {
        ReleaseEntry {
            name: name.into(),
            phase,
            created,
            pullspec: pullspec.into(),
            digest: None,
            reason: None,
            message: None,
            jobs: Vec::new(),
            diff: None,
            signed: false,
        }
    }
}

/// The result of a job on a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobResult {
    /// Not started yet.
    NotStarted,
    /// Running, or failed with retries left.
    Pending,
    /// Passed.
    Succeeded,
    /// Failed with no retries left.
    Failed,
    /// Not started: an upgrade job with no release to upgrade from.
    NotRunNoUpgradeSource,
    /// Not started: nothing is configured to run it.
    NotRunNoRunner,
    /// Recorded as skipped, never run (an upgrade job with no source, in a stream that skips
    /// those). Not a pass.
    Skipped,
}

impl JobResult {
    /// How the report writes it.
    pub fn label(self) -> &'static str {
        match self {
            JobResult::NotStarted => "Not started",
            JobResult::Pending => "Pending",
            JobResult::Succeeded => "Succeeded",
            JobResult::Failed => "Failed",
            JobResult::NotRunNoUpgradeSource => "Not run: no upgrade source",
            JobResult::NotRunNoRunner => "Not run: no runner",
            JobResult::Skipped => "Skipped: never run",
        }
    }

    /// True for the results of jobs that never ran.
    pub fn never_ran(self) -> bool {
        matches!(
            self,
            JobResult::NotStarted
                | JobResult::NotRunNoUpgradeSource
                | JobResult::NotRunNoRunner
                | JobResult::Skipped
        )
    }
}

/// The state of one attempt of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttemptState {
    /// Running.
    Pending,
    /// Passed.
    Succeeded,
    /// Failed.
    Failed,
    /// Never run: recorded as skipped.
    Skipped,
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// What the run is called (`<release>-<job>-1`, `…-analysis-3`).
    pub name: String,
    /// Its state.
    pub state: AttemptState,
    /// When it started.
    #[serde(default)]
    pub started: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default)]
    pub finished: Option<DateTime<Utc>>,
    /// Its log: a URL or a file path.
    #[serde(default)]
    pub log: Option<String>,
    /// Recorded without running anything (an upgrade job with no release to upgrade from, in
    /// a stream that skips those): not a pass.
    #[serde(default, alias = "noop")]
    pub skipped: bool,
}

/// One gating job of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEntry {
    /// The job's name.
    pub name: String,
    /// Blocking or informing.
    pub gate: Gate,
    /// Its result.
    pub result: JobResult,
    /// Its runs, in order.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// The release an upgrade job upgraded from.
    #[serde(default)]
    pub upgrade_from: Option<String>,
}

/// An upgrade edge with its results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeEdge {
    /// Source release.
    pub from: String,
    /// Target release.
    pub to: String,
    /// Successful upgrade runs.
    pub success: u32,
    /// Failed upgrade runs.
    pub failure: u32,
}

/// What changed between a release and the one before it. The serde form reads the JSON that
/// `okd_release::ReleaseDiff::to_json` writes (what `okd-streams release diff --output json`
/// prints); [`From<&ReleaseDiff>`](okd_release::ReleaseDiff) converts in memory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    /// The earlier release.
    pub from: DiffSide,
    /// The later release.
    pub to: DiffSide,
    /// Both have the same digest.
    #[serde(default)]
    pub identical: bool,
    /// Whether the earlier release is in the later one's upgrade sources (`previous`).
    #[serde(default)]
    pub upgrade_from: Option<bool>,
    /// Components built from a new commit.
    #[serde(default)]
    pub changed: Vec<ImageChange>,
    /// Components rebuilt from the same (or an unknown) commit.
    #[serde(default)]
    pub rebuilt: Vec<ImageChange>,
    /// Components only in the later release.
    #[serde(default)]
    pub added: Vec<ImageOnlyIn>,
    /// Components only in the earlier release.
    #[serde(default)]
    pub removed: Vec<ImageOnlyIn>,
    /// Component versions that differ (`kubernetes`, `machine-os`).
    #[serde(default)]
    pub component_versions: Vec<VersionChange>,
    /// Manifest files that differ.
    #[serde(default)]
    pub manifests: ManifestChanges,
    /// The text form (`oc adm release info A B`), shown as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl DiffSummary {
    /// Reads the JSON form of a release diff.
    pub fn from_json(json: &str) -> Result<DiffSummary, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Sets the text form.
    pub fn with_text(mut self, text: impl Into<String>) -> DiffSummary {
        self.text = Some(text.into());
        self
    }
}

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSide {
    /// Release name.
    pub name: String,
    /// Pullspec.
    #[serde(default)]
    pub pull_spec: String,
    /// Digest.
    #[serde(default)]
    pub digest: String,
}

/// A component whose image differs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageChange {
    /// The component (payload tag).
    pub name: String,
    /// Its earlier pullspec.
    #[serde(default)]
    pub from_pullspec: String,
    /// Its later pullspec.
    #[serde(default)]
    pub to_pullspec: String,
    /// Its earlier commit.
    #[serde(default)]
    pub from_commit: Option<String>,
    /// Its later commit.
    #[serde(default)]
    pub to_commit: Option<String>,
    /// Its source repository.
    #[serde(default)]
    pub to_source: Option<String>,
    /// A link comparing the commits.
    #[serde(default)]
    pub compare_url: Option<String>,
}

/// A component in one release only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOnlyIn {
    /// The component.
    pub name: String,
    /// Its pullspec.
    #[serde(default)]
    pub pullspec: String,
    /// Its commit.
    #[serde(default)]
    pub commit: Option<String>,
    /// Its source repository.
    #[serde(default)]
    pub source: Option<String>,
}

/// A component version that differs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionChange {
    /// The component (`kubernetes`).
    pub component: String,
    /// Its display name.
    #[serde(default)]
    pub display_name: String,
    /// Earlier version.
    #[serde(default)]
    pub from: Option<String>,
    /// Later version.
    #[serde(default)]
    pub to: Option<String>,
}

/// Manifest files that differ.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ManifestChanges {
    /// In both, with other contents.
    #[serde(default)]
    pub changed: Vec<String>,
    /// Only in the later release.
    #[serde(default)]
    pub added: Vec<String>,
    /// Only in the earlier release.
    #[serde(default)]
    pub removed: Vec<String>,
}
