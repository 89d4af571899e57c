//! Checking a release config: load, validate, classify its jobs.
//!
//! Classification follows the controller's payload construction (`newReleasePayload`): a
//! disabled job is listed as disabled; an aggregated job contributes a blocking aggregator *and*
//! an informing analysis entry, both under the job's name; an optional job is informing; every
//! other job is blocking. Stable streams' sampled upgrade jobs are in none of the lists.
//!
//! ```
//! use okd_gating::{check_bytes, ParseMode};
//! let json = br#"{"name":"4.20.0-0.okd-scos","to":"release-scos","verify":{
//!   "aws":{"prowJob":{"name":"e2e-aws"}},
//!   "gcp":{"optional":true,"prowJob":{"name":"e2e-gcp"}}}}"#;
//! let report = check_bytes(json, "release-okd-scos-4.20.json", ParseMode::Strict)?;
//! assert_eq!(
//!     serde_json::to_string(&report.classification)?,
//!     r#"{"blocking":["aws"],"informing":["gcp"],"disabled":[]}"#
//! );
//! assert!(report.to_text().contains("blocking (1)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::{Error, Gate, GatingPolicy, ParseMode, PublishTarget, StreamMode};

/// The jobs of a policy by how they count, each list sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Classification {
    /// Jobs whose failure rejects a release (aggregators included).
    pub blocking: Vec<String>,
    /// Jobs that only inform (analysis entries of aggregated jobs included).
    pub informing: Vec<String>,
    /// Jobs that are not run.
    pub disabled: Vec<String>,
}

impl GatingPolicy {
    /// Classifies the policy's jobs.
    pub fn classify(&self) -> Classification {
        let mut c = Classification::default();
        for job in &self.jobs {
            match job.gate {
                Gate::Disabled => c.disabled.push(job.name.clone()),
                Gate::Blocking if job.aggregation.is_some() => {
                    c.blocking.push(job.name.clone());
                    c.informing.push(job.name.clone());
                }
                Gate::Blocking => c.blocking.push(job.name.clone()),
                Gate::Informing => c.informing.push(job.name.clone()),
            }
        }
        c.blocking.sort();
        c.informing.sort();
        c.disabled.sort();
        c
    }
}

/// The result of checking a config.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The file checked.
    pub file: String,
    /// The policy it holds.
    pub policy: GatingPolicy,
    /// Its jobs by how they count.
    pub classification: Classification,
}

/// Loads, validates and classifies a release config file.
pub fn check(path: &Path, mode: ParseMode) -> Result<CheckReport, Error> {
    let policy = GatingPolicy::load(path, mode)?;
    Ok(report(path.display().to_string(), policy))
}

/// Validates and classifies a release config held in memory; `file` names it.
pub fn check_bytes(bytes: &[u8], file: &str, mode: ParseMode) -> Result<CheckReport, Error> {
    let policy = GatingPolicy::from_json(bytes, file, mode)?;
    Ok(report(file.to_string(), policy))
}

fn report(file: String, policy: GatingPolicy) -> CheckReport {
    let classification = policy.classify();
    CheckReport {
        file,
        policy,
        classification,
    }
}

impl CheckReport {
    /// A human-readable rendering: the stream, then each list with what every job runs.
    pub fn to_text(&self) -> String {
        let p = &self.policy;
        let mut out = String::new();
        let mode = match p.mode {
            StreamMode::Integration => format!("Integration into {}", p.target),
            StreamMode::Stable => "Stable".to_string(),
        };
        let _ = writeln!(out, "{}: stream {} ({mode})", self.file, p.name);
        let mut limits = Vec::new();
        if p.max_unready_releases > 0 {
            limits.push(format!("max {} unready", p.max_unready_releases));
        }
        if !p.min_creation_interval.is_zero() {
            limits.push(format!(
                "min interval {}",
                crate::GoDuration(p.min_creation_interval)
            ));
        }
        if let Some(e) = p.expires {
            limits.push(format!("expires {}", crate::GoDuration(e)));
        }
        if !limits.is_empty() {
            let _ = writeln!(out, "limits: {}", limits.join(", "));
        }
        let c = &self.classification;
        for (title, names, informing) in [
            ("blocking", &c.blocking, false),
            ("informing", &c.informing, true),
            ("disabled", &c.disabled, false),
        ] {
            let _ = writeln!(out, "{title} ({}):", names.len());
            for name in names {
                let Some(job) = p.job(name) else { continue };
                let mut what = match (&job.aggregation, informing) {
                    (Some(a), false) => format!(
                        "aggregator {} over {} runs of {} (pass {}%)",
                        a.aggregator_job,
                        a.analysis_job_count,
                        job.prow_job,
                        (a.pass_threshold * 100.0).round()
                    ),
                    (Some(a), true) => {
                        format!("analysis: {} x {}", a.analysis_job_count, job.prow_job)
                    }
                    (None, _) => job.prow_job.clone(),
                };
                if job.max_retries > 0 && !(informing && job.aggregation.is_some()) {
                    let _ = write!(what, ", retries {}", job.max_retries);
                }
                if let Some(src) = &job.upgrade {
                    let _ = write!(what, ", upgrade from {}", describe_source(src));
                }
                if job.asynchronous {
                    what.push_str(", async");
                }
                if job.multi_job_analysis {
                    what.push_str(", multi-job analysis");
                }
                let _ = writeln!(out, "  {name}: {what}");
            }
        }
        let sampled: Vec<&str> = p
            .sampled_upgrades
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| u.platform.as_str())
            .collect();
        if !sampled.is_empty() {
            let _ = writeln!(out, "sampled upgrades: {}", sampled.join(", "));
        }
        for rule in p.publish.iter().filter(|r| !r.disabled) {
            let what = match &rule.target {
                PublishTarget::Tag { tag } => format!("tag {tag}"),
                PublishTarget::ReleaseCopy { repository } => {
                    format!("copy the release to {repository}")
                }
                PublishTarget::Repository {
                    namespace,
                    name,
                    tags,
                    exclude_tags,
                } => {
                    let repo = crate::policy::stream_repository(namespace, name);
                    let which = if tags.is_empty() {
                        "component tags".to_string()
                    } else {
                        format!("component tags {}", tags.join(", "))
                    };
                    let except = if exclude_tags.is_empty() {
                        String::new()
                    } else {
                        format!(" except {}", exclude_tags.join(", "))
                    };
                    format!("{which}{except} to {repo}")
                }
                PublishTarget::VerifyIssues(_) => "verify Jira issues".to_string(),
                PublishTarget::Nothing => "nothing".to_string(),
            };
            let _ = writeln!(out, "publish {}: {what}", rule.name);
        }
        out
    }
}

fn describe_source(s: &crate::UpgradeSource) -> String {
    use crate::UpgradeSource::*;
    match s {
        Candidate {
            stream,
            version,
            relative,
        } if *relative > 0 => format!("candidate {stream} {version} (skip {relative})"),
        Candidate {
            stream, version, ..
        } => format!("candidate {stream} {version}"),
        Prerelease { lower, upper } => format!("prerelease in ({lower}, {upper})"),
        Release {
            version, channel, ..
        } => format!("release {version} ({channel})"),
        keyword => keyword.keyword().unwrap_or_default().to_string(),
    }
}
