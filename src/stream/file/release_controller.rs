//! `gating: { release_controller: …, runners: … }`: a release-controller `ReleaseConfig` run as
//! it is, with a map from its Prow job names to what runs them on this machine.
//!
//! The config's verify jobs, limits, expiry, end of life, `as`, publish steps and upgrade
//! sources are taken from the JSON (read leniently, as the controller reads it at run time).
//! Prow does not exist here, so every job that can run needs a runner: the entry of `runners`
//! whose key is the job's `prowJob` name, else the one with the longest glob key matching it
//! (`*-upgrade*` wins over `*`), and failing both the same for its `verify` key. A blocking job no runner matches is a load error
//! naming it; an informing one is shown as "not run: no runner"; a disabled one never runs.
//!
//! ```
//! use okd_streams::stream::StreamFile;
//! let f = StreamFile::parse(r#"
//! name: 4.19.0-0.okd-scos
//! store: oci:target/okd-demo
//! upstream: { image: docker://quay.io/okd/scos-release:4.19.0-okd-scos.1 }
//! gating:
//!   release_controller:
//!     name: 4.19.0-0.okd-scos
//!     to: release-scos
//!     verify:
//!       aws: { prowJob: { name: periodic-e2e-aws } }
//!       gcp: { optional: true, prowJob: { name: periodic-e2e-gcp } }
//!   runners:
//!     periodic-e2e-aws: { check: images }
//! "#, "rc.yaml")?;
//! let b = f.to_builder("rc.yaml".as_ref())?;
//! # let _ = b;
//! let missing = StreamFile::parse(r#"
//! name: s
//! store: oci:target/okd-demo
//! upstream: { image: docker://quay.io/okd/scos-release:4.19.0-okd-scos.1 }
//! gating:
//!   release_controller: { name: s, to: release, verify: { aws: { prowJob: { name: e2e-aws } } } }
//! "#, "rc.yaml")?;
//! let e = missing.to_builder("rc.yaml".as_ref()).unwrap_err();
//! assert!(e.to_string().contains("gating.release_controller.verify.aws"), "{e}");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use globset::Glob;
use okd_gating::{Gate, GatingPolicy, JobCommand, ParseMode};
use serde::{Deserialize, Serialize};

use super::gating::{CheckFile, duration};
use crate::stream::{Check, RunnerAction, StreamBuilder, StreamError};

/// Where the `ReleaseConfig` is: a JSON file, or the document itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ReleaseControllerFile {
    /// A path to the JSON file (`_releases/release-okd-scos-4.19.json`).
    Path(PathBuf),
    /// The JSON document inline.
    Inline(serde_json::Value),
}

/// What runs a Prow job locally: one of `check`, `command`, `shell`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunnerFile {
    /// A built-in payload check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckFile>,
    /// A program and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A shell script (`sh -c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Kill the job after this long (default 4h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// The policy a `release_controller` entry declares, renamed to the stream.
pub(super) fn load_policy(
    source: &ReleaseControllerFile,
    stream: &str,
) -> Result<GatingPolicy, StreamError> {
    let field = "gating.release_controller";
    let (bytes, name) = match source {
        ReleaseControllerFile::Path(p) => (
            std::fs::read(p).map_err(|e| StreamError::io(p, e))?,
            p.display().to_string(),
        ),
        ReleaseControllerFile::Inline(v) => {
            let bytes = serde_json::to_vec(v)
                .map_err(|e| StreamError::invalid(stream, field, e.to_string()))?;
            (bytes, "inline config".to_string())
        }
    };
    let mut policy = GatingPolicy::from_json(&bytes, &name, ParseMode::Lenient)
        .map_err(|e| StreamError::invalid(stream, field, e.to_string()))?;
    // The stream's state, release names and `Previous` are keyed by the stream file's name.
    policy.name = stream.to_string();
    Ok(policy)
}

/// The runner for a job named `name` running `prow_job`: the key naming the prow job exactly,
/// else the longest glob matching it; then the same for `name`.
fn runner_for<'a>(
    runners: &'a BTreeMap<String, RunnerFile>,
    prow_job: &str,
    name: &str,
    stream: &str,
) -> Result<Option<&'a RunnerFile>, StreamError> {
    for wanted in [prow_job, name] {
        if let Some(exact) = runners.get(wanted) {
            return Ok(Some(exact));
        }
        let mut best: Option<(&str, &RunnerFile)> = None;
        for (pattern, runner) in runners {
            let glob = Glob::new(pattern).map_err(|e| {
                StreamError::invalid(stream, format!("gating.runners.{pattern}"), e.to_string())
            })?;
            let longer = best.is_none_or(|(b, _)| pattern.len() > b.len());
            if longer && glob.compile_matcher().is_match(wanted) {
                best = Some((pattern, runner));
            }
        }
        if let Some((_, runner)) = best {
            return Ok(Some(runner));
        }
    }
    Ok(None)
}

/// Adds the policy's jobs to `b` with their runners, and the policy itself. Periodics and
/// sampled upgrades never gate on their own, so one without a runner is shown as not run.
pub(super) fn add_to(
    mut policy: GatingPolicy,
    runners: &BTreeMap<String, RunnerFile>,
    mut b: StreamBuilder,
    stream: &str,
) -> Result<StreamBuilder, StreamError> {
    let jobs = std::mem::take(&mut policy.jobs);
    for job in jobs {
        let field = format!("gating.release_controller.verify.{}", job.name);
        if !job.is_enabled() {
            policy.jobs.push(job);
            continue;
        }
        b = match runner_for(runners, &job.prow_job, &job.name, stream)? {
            Some(runner) => match runner.action(stream, &field)? {
                RunnerAction::Check(c) => b.check_job(job, c),
                RunnerAction::Command(c) => b.job(job, c),
            },
            None if job.gate == Gate::Blocking => {
                return Err(StreamError::invalid(
                    stream,
                    field,
                    format!(
                        "blocking job {} (prow job {}) has no runner: map it under gating.runners",
                        job.name, job.prow_job
                    ),
                ));
            }
            None => b.unrunnable_job(job),
        };
    }
    let periodics = policy
        .periodics
        .iter()
        .map(|p| (format!("periodic.{}", p.name), &p.prow_job, &p.name));
    let sampled = policy
        .sampled_upgrades
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| (format!("upgrade.{}", u.platform), &u.prow_job, &u.platform));
    for (field, prow_job, name) in periodics.chain(sampled) {
        let field = format!("gating.release_controller.{field}");
        b = match runner_for(runners, prow_job, name, stream)? {
            Some(runner) => b.prow_job_runs(prow_job, runner.action(stream, &field)?),
            None => b.prow_job_unrunnable(prow_job),
        };
    }
    for p in &policy.periodics {
        if let okd_gating::PeriodicSchedule::Invalid { interval, cron } = &p.schedule {
            return Err(StreamError::invalid(
                stream,
                format!("gating.release_controller.periodic.{}", p.name),
                format!(
                    "needs exactly one of a valid interval or cron (interval {interval:?}, cron {cron:?}); \
                     the release-controller would never run it"
                ),
            ));
        }
    }
    Ok(b.policy(policy))
}

impl RunnerFile {
    /// What this runs; `field` names the entry in errors.
    pub(super) fn action(&self, stream: &str, field: &str) -> Result<RunnerAction, StreamError> {
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
            (Some(c), None, None) => RunnerAction::Check(Check::from(*c)),
            (None, Some(cmd), None) => {
                let Some((program, args)) = cmd.split_first() else {
                    return Err(StreamError::invalid(
                        stream,
                        format!("{field}.command"),
                        "empty command",
                    ));
                };
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                RunnerAction::Command(with_timeout(JobCommand::new(program, &args)))
            }
            (None, None, Some(script)) => {
                RunnerAction::Command(with_timeout(JobCommand::shell(script)))
            }
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
