//! The `gating` section of stream files: limits and verification jobs.

use std::collections::BTreeMap;
use std::time::Duration;

use okd_gating::{JobCommand, UpgradeSource, VerifyJob};
use serde::{Deserialize, Serialize};

use crate::stream::{Check, StreamBuilder, StreamError};

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
            });
        }
        let timeout = self
            .timeout
            .as_deref()
            .map(|t| duration(stream, &format!("{field}.timeout"), t))
            .transpose()?;
        let with_timeout = |c: JobCommand| match timeout {
            Some(t) => c.timeout(t),
            None => c,
        };
        Ok(match (&self.check, &self.command, &self.shell) {
            (Some(c), None, None) => b.check_job(
                job,
                match c {
                    CheckFile::Images => Check::Images,
                    CheckFile::Manifests => Check::Manifests,
                    CheckFile::Os => Check::Os,
                    CheckFile::Upgrade => Check::Upgrade,
                },
            ),
            (None, Some(cmd), None) => {
                let Some((program, args)) = cmd.split_first() else {
                    return Err(StreamError::invalid(
                        stream,
                        format!("{field}.command"),
                        "empty command",
                    ));
                };
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                b.job(job, with_timeout(JobCommand::new(program, &args)))
            }
            (None, None, Some(script)) => b.job(job, with_timeout(JobCommand::shell(script))),
            _ => {
                return Err(StreamError::invalid(
                    stream,
                    field,
                    "give exactly one of `check`, `command` and `shell`",
                ));
            }
        })
    }
}
