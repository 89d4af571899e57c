//! The `gating` section of stream files: limits and verification jobs, or a release-controller
//! config with runners (see [`super::release_controller`]).

use std::collections::BTreeMap;
use std::time::Duration;

use okd_gating::{NoUpgradeSource, UpgradeSource, VerifyJob};
use serde::{Deserialize, Serialize};

use super::release_controller::{self, ReleaseControllerFile, RunnerFile};
use crate::stream::{Check, RunnerAction, StreamBuilder, StreamError};

/// Gating limits and jobs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GatingFile {
    /// Undecided releases allowed before creation waits (default 1; 0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unready_releases: Option<u32>,
    /// Minimum time between two releases (`12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_creation_interval: Option<String>,
    /// Accepted releases beyond the five newest are removed after this (`72h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Verification jobs by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jobs: BTreeMap<String, JobFile>,
    /// A release-controller `ReleaseConfig` (path or inline) whose jobs, limits and upgrade
    /// sources the stream follows; then `max_unready_releases`, `min_creation_interval`,
    /// `expires` and `jobs` are not given here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_controller: Option<ReleaseControllerFile>,
    /// What runs the release-controller config's Prow jobs: by job name or glob.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runners: BTreeMap<String, RunnerFile>,
    /// What an upgrade job with no release to upgrade from does: `keep_ready` (default, as
    /// the controller: not run, a blocking one keeps the release Ready) or `skip` (recorded as
    /// skipped, never as passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_upgrade_source: Option<NoUpgradeSourceFile>,
}

/// `no_upgrade_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoUpgradeSourceFile {
    /// Not run; a blocking one keeps the release Ready.
    KeepReady,
    /// Recorded as skipped.
    Skip,
}

impl From<NoUpgradeSourceFile> for NoUpgradeSource {
    fn from(f: NoUpgradeSourceFile) -> NoUpgradeSource {
        match f {
            NoUpgradeSourceFile::KeepReady => NoUpgradeSource::KeepReady,
            NoUpgradeSourceFile::Skip => NoUpgradeSource::Skip,
        }
    }
}

impl From<CheckFile> for Check {
    fn from(c: CheckFile) -> Check {
        match c {
            CheckFile::Images => Check::Images,
            CheckFile::Manifests => Check::Manifests,
            CheckFile::Os => Check::Os,
            CheckFile::Upgrade => Check::Upgrade,
        }
    }
}

impl GatingFile {
    /// Adds this section to `b`.
    pub(super) fn add_to(
        &self,
        mut b: StreamBuilder,
        n: &str,
    ) -> Result<StreamBuilder, StreamError> {
        if let Some(rule) = self.no_upgrade_source {
            b = b.no_upgrade_source(rule.into());
        }
        if let Some(rc) = &self.release_controller {
            let local = [
                ("max_unready_releases", self.max_unready_releases.is_some()),
                (
                    "min_creation_interval",
                    self.min_creation_interval.is_some(),
                ),
                ("expires", self.expires.is_some()),
                ("jobs", !self.jobs.is_empty()),
            ];
            if let Some((field, _)) = local.iter().find(|(_, set)| *set) {
                return Err(StreamError::invalid(
                    n,
                    format!("gating.{field}"),
                    "the release-controller config sets this; give it there",
                ));
            }
            let policy = release_controller::load_policy(rc, n)?;
            return release_controller::add_to(policy, &self.runners, b, n);
        }
        if let Some(pattern) = self.runners.keys().next() {
            return Err(StreamError::invalid(
                n,
                format!("gating.runners.{pattern}"),
                "runners map the jobs of a release_controller config; give one",
            ));
        }
        b = b.max_unready_releases(self.max_unready_releases.unwrap_or(1));
        if let Some(i) = &self.min_creation_interval {
            b = b.min_creation_interval(duration(n, "gating.min_creation_interval", i)?);
        }
        if let Some(e) = &self.expires {
            b = b.expires(duration(n, "gating.expires", e)?);
        }
        for (name, job) in &self.jobs {
            b = job.add_to(b, n, name)?;
        }
        Ok(b)
    }
}

/// How a job's result counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GateFile {
    /// A failure rejects the release.
    #[default]
    Blocking,
    /// Signal only.
    Informing,
    /// Not run.
    Disabled,
}

/// A built-in payload check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckFile {
    /// Every referenced image resolves.
    Images,
    /// Every manifest parses.
    Manifests,
    /// The OS tag points at the stream's OS image.
    Os,
    /// The release upgrades from the source.
    Upgrade,
}

/// Where an upgrade job upgrades from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpgradeFromFile {
    /// The newest accepted release of the stream.
    Previous,
    /// The second newest.
    PreviousMinus1,
    /// The highest accepted release of the same minor in a Stable stream of the same state
    /// (or the upstream the release was built from).
    PreviousPatch,
    /// The same for the previous minor.
    PreviousMinor,
    /// The release the candidate was built from: a tested edge from the upstream.
    Upstream,
}

/// A verification job: one of `check`, `command`, `shell`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// Blocking (default), informing or disabled.
    #[serde(default)]
    pub gate: GateFile,
    /// A built-in payload check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckFile>,
    /// A program and its arguments; it gets `RELEASE_IMAGE_LATEST` and
    /// `RELEASE_IMAGE_INITIAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A shell script (`sh -c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Kill the job after this long (`1h`; default 4h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Extra attempts after a failure.
    #[serde(default)]
    pub retries: u32,
    /// Makes this an upgrade job from this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_from: Option<UpgradeFromFile>,
}

pub(super) fn duration(stream: &str, field: &str, text: &str) -> Result<Duration, StreamError> {
    humantime::parse_duration(text).map_err(|e| {
        StreamError::invalid(stream, field, format!("{text:?} is not a duration: {e}"))
    })
}

impl JobFile {
    pub(super) fn add_to(
        &self,
        b: StreamBuilder,
        stream: &str,
        name: &str,
    ) -> Result<StreamBuilder, StreamError> {
        let field = format!("gating.jobs.{name}");
        let mut job = match self.gate {
            GateFile::Blocking => VerifyJob::blocking(name, name),
            GateFile::Informing => VerifyJob::informing(name, name),
            GateFile::Disabled => VerifyJob::blocking(name, name).disabled(),
        };
        job = job.max_retries(self.retries);
        if let Some(u) = self.upgrade_from {
            job = job.upgrade_from(match u {
                UpgradeFromFile::Previous => UpgradeSource::Previous,
                UpgradeFromFile::PreviousMinus1 => UpgradeSource::PreviousMinus1,
                UpgradeFromFile::PreviousPatch => UpgradeSource::PreviousPatch,
                UpgradeFromFile::PreviousMinor => UpgradeSource::PreviousMinor,
                UpgradeFromFile::Upstream => UpgradeSource::Upstream,
            });
        }
        let run = RunnerFile {
            check: self.check,
            command: self.command.clone(),
            shell: self.shell.clone(),
            timeout: self.timeout.clone(),
        };
        Ok(match run.action(stream, &field)? {
            RunnerAction::Check(c) => b.check_job(job, c),
            RunnerAction::Command(c) => b.job(job, c),
        })
    }
}
