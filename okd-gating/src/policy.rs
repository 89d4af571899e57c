//! [`GatingPolicy`]: what a stream requires before a release is accepted, in interpreted form.
//!
//! A policy is read from a release-controller `ReleaseConfig` (strict or lenient, see
//! [`ParseMode`]) or built in code with [`GatingPolicy::builder`]. It serialises back to the
//! `ReleaseConfig` JSON.
//!
//! ```
//! use std::time::Duration;
//! use okd_gating::{GatingPolicy, UpgradeSource, VerifyJob};
//!
//! let policy = GatingPolicy::builder("4.19.0-0.okd-scos")
//!     .target("release-scos")
//!     .max_unready_releases(1)
//!     .min_creation_interval(Duration::from_secs(12 * 3600))
//!     .expires(Duration::from_secs(72 * 3600))
//!     .job(VerifyJob::blocking("aws", "e2e-aws-ovn").max_retries(2))
//!     .job(VerifyJob::informing("aws-upgrade", "e2e-aws-ovn-upgrade").upgrade_from(UpgradeSource::Previous))
//!     .publish_tag("tag", "scos-4.19")
//!     .build()?;
//! assert_eq!(policy.classify().blocking, ["aws"]);
//! let json = serde_json::to_string(&policy)?;
//! let again: GatingPolicy = serde_json::from_str(&json)?;
//! assert_eq!(again, policy);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::time::Duration;

use crate::config::{self, ReleaseConfig};
use crate::validate::{self, ParseMode, has_retry_suffix};
use crate::{Error, PeriodicJob};

/// The aggregator job the controller uses when an aggregated job names none.
pub const DEFAULT_AGGREGATOR_JOB: &str = "release-openshift-release-analysis-aggregator";

/// Share of analysis runs that must pass for an aggregated job to pass (the controller's
/// threshold for analysis entries).
pub const DEFAULT_PASS_THRESHOLD: f64 = 0.6;

/// What happens to an upgrade job whose source resolves to no release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoUpgradeSource {
    /// The job is not started and shown as not run; a blocking one keeps the release Ready
    /// until a source appears (the controller's behaviour).
    #[default]
    KeepReady,
    /// The job is recorded as skipped (never as passed) and no longer holds the release.
    Skip,
}

/// What a stream does (`as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StreamMode {
    /// Payloads are built from the input images whenever they change.
    #[default]
    Integration,
    /// Payloads are tagged in by people; the stream only verifies and publishes them.
    Stable,
}

/// How a job's result counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Gate {
    /// A failure (retries exhausted) rejects the release.
    Blocking,
    /// Signal only: never rejects.
    Informing,
    /// Not run at all.
    Disabled,
}

/// Where an upgrade job upgrades from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UpgradeSource {
    /// The newest accepted release of the same stream.
    Previous,
    /// The second newest accepted release of the same stream (periodics only in the controller).
    PreviousMinus1,
    /// The highest accepted release of the same major.minor in a Stable stream.
    PreviousPatch,
    /// The highest accepted release of the previous minor in a Stable stream.
    PreviousMinor,
    /// The newest accepted release (skipping `relative`) of stream
    /// `<version>.0-0.<stream><to-suffix>`.
    Candidate {
        /// Stream kind, e.g. `okd`.
        stream: String,
        /// Minor version, e.g. `4.18`.
        version: String,
        /// Accepted releases to skip.
        relative: u32,
    },
    /// The highest accepted Stable release strictly between two versions.
    Prerelease {
        /// Lower bound (exclusive).
        lower: String,
        /// Upper bound (exclusive).
        upper: String,
    },
    /// An official release: `version` is a release name (that release) or a minor version such as
    /// `4.18` (its highest accepted release, looked up in stream `<channel>-<version>` first).
    Release {
        /// Release name or minor version.
        version: String,
        /// Channel kind, e.g. `stable`.
        channel: String,
        /// Architecture.
        architecture: String,
    },
    /// The release the candidate was built from (okd-streams' own source, keyword `Upstream`):
    /// so that a cluster on the upstream release has a tested edge into the stream.
    Upstream,
}

impl UpgradeSource {
    /// The `upgradeFrom` keyword, for the four keyword sources.
    pub fn keyword(&self) -> Option<&'static str> {
        match self {
            UpgradeSource::Previous => Some("Previous"),
            UpgradeSource::PreviousMinus1 => Some("PreviousMinus1"),
            UpgradeSource::PreviousPatch => Some("PreviousPatch"),
            UpgradeSource::PreviousMinor => Some("PreviousMinor"),
            UpgradeSource::Upstream => Some("Upstream"),
            _ => None,
        }
    }
}

/// An aggregated job: `analysis_job_count` runs judged together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aggregation {
    /// Runs per attempt.
    pub analysis_job_count: u32,
    /// Name of the aggregator job (reported; okd-gating judges the runs itself).
    pub aggregator_job: String,
    /// Share of runs that must pass, in (0, 1].
    pub pass_threshold: f64,
}

/// One verification job of a policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerifyJob {
    /// The name (key of `verify`).
    pub name: String,
    /// The prow job (or, for local runners, the command key) to run.
    pub prow_job: String,
    /// How the result counts. Aggregated jobs are always blocking.
    pub gate: Gate,
    /// Not waited for before a verdict (informing jobs only).
    pub asynchronous: bool,
    /// Extra attempts after a failure.
    pub max_retries: u32,
    /// The upgrade source, for upgrade jobs.
    pub upgrade: Option<UpgradeSource>,
    /// Aggregation, for aggregated jobs.
    pub aggregation: Option<Aggregation>,
    /// The job analyses the payload's other jobs.
    pub multi_job_analysis: bool,
}

impl VerifyJob {
    fn new(name: &str, prow_job: &str, gate: Gate) -> VerifyJob {
        VerifyJob {
            name: name.to_string(),
            prow_job: prow_job.to_string(),
            gate,
            asynchronous: false,
            max_retries: 0,
            upgrade: None,
            aggregation: None,
            multi_job_analysis: false,
        }
    }

    /// A blocking job.
    pub fn blocking(name: &str, prow_job: &str) -> VerifyJob {
        VerifyJob::new(name, prow_job, Gate::Blocking)
    }

    /// An informing job.
    pub fn informing(name: &str, prow_job: &str) -> VerifyJob {
        VerifyJob::new(name, prow_job, Gate::Informing)
    }

    /// An aggregated job: `count` runs of `prow_job`, blocking, passing when at least
    /// [`DEFAULT_PASS_THRESHOLD`] of them pass.
    pub fn aggregated(name: &str, prow_job: &str, count: u32) -> VerifyJob {
        let mut job = VerifyJob::new(name, prow_job, Gate::Blocking);
        job.aggregation = Some(Aggregation {
            analysis_job_count: count,
            aggregator_job: DEFAULT_AGGREGATOR_JOB.to_string(),
            pass_threshold: DEFAULT_PASS_THRESHOLD,
        });
        job
    }

    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> VerifyJob {
        self.max_retries = n;
        self
    }

    /// Makes this an upgrade job from `source`.
    pub fn upgrade_from(mut self, source: UpgradeSource) -> VerifyJob {
        self.upgrade = Some(source);
        self
    }

    /// Marks the job asynchronous (not waited for).
    pub fn asynchronous(mut self) -> VerifyJob {
        self.asynchronous = true;
        self
    }

    /// Disables the job.
    pub fn disabled(mut self) -> VerifyJob {
        self.gate = Gate::Disabled;
        self
    }

    /// Sets the pass threshold of an aggregated job.
    pub fn pass_threshold(mut self, threshold: f64) -> VerifyJob {
        if let Some(a) = self.aggregation.as_mut() {
            a.pass_threshold = threshold;
        }
        self
    }

    /// Marks the job as analysing the payload's other jobs.
    pub fn multi_job_analysis(mut self) -> VerifyJob {
        self.multi_job_analysis = true;
        self
    }

    /// True when the job runs at all.
    pub fn is_enabled(&self) -> bool {
        self.gate != Gate::Disabled
    }
}

/// What a publish step does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PublishTarget {
    /// Point `tag` (in the stream's target repository) at the newest accepted release.
    Tag {
        /// The tag, e.g. `scos-4.19`.
        tag: String,
    },
    /// okd-streams' own step (the stream file's `promotions: [{ name, repository }]`): copy the
    /// newest accepted release image into `repository`, tagged with the release's name. The
    /// release-controller has no such step, so [`GatingPolicy::to_config`] leaves it out of the
    /// config it writes.
    ReleaseCopy {
        /// Target repository, e.g. `okd/4-scos-next`.
        repository: String,
    },
    /// The controller's `imageStreamRef`: copy the newest accepted release's component tags
    /// (one per image-references entry, e.g. `cli`, `installer`) into another repository, each
    /// under its own name. Without `tags`, every component not in `exclude_tags` is copied once
    /// per release; with `tags`, only those (minus `exclude_tags`), and a listed tag the release
    /// lacks is a warning naming it.
    Repository {
        /// Namespace (empty: the repository is `name` alone).
        namespace: String,
        /// Repository (image stream) name.
        name: String,
        /// Only these component tags (empty: all of them).
        tags: Vec<String>,
        /// Never these component tags.
        exclude_tags: Vec<String>,
    },
    /// Jira verification (not performed by okd-gating; kept for round trips).
    VerifyIssues(config::PublishVerifyIssues),
    /// A step with no action (e.g. `"issues": {}`): does nothing.
    Nothing,
}

/// The repository an image stream reference names: `namespace/name`, or `name` alone.
pub(crate) fn stream_repository(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// A named publish step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishRule {
    /// The step's name (key of `publish`).
    pub name: String,
    /// Skip this step.
    pub disabled: bool,
    /// What it does.
    pub target: PublishTarget,
}

/// A sampled upgrade job of a Stable stream (the `upgrade` map).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampledUpgrade {
    /// Platform label, e.g. `aws`.
    pub platform: String,
    /// Prow job.
    pub prow_job: String,
    /// Skip it.
    pub disabled: bool,
}

/// Garbage-collection limits (the controller's are fixed at five of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GcPolicy {
    /// Newest accepted releases always kept (at least one is kept whatever this says).
    pub keep_accepted: usize,
    /// Failed releases kept.
    pub keep_failed: usize,
    /// Rejected releases kept.
    pub keep_rejected: usize,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            keep_accepted: 5,
            keep_failed: 5,
            keep_rejected: 5,
        }
    }
}

/// Parts of a `ReleaseConfig` that do not take part in gating decisions, carried so that a
/// policy serialises back to the config it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigExtras {
    /// `message`.
    pub message: String,
    /// `hide`.
    pub hide: bool,
    /// `referenceMode`.
    pub reference_mode: String,
    /// `pullSecretName`.
    pub pull_secret_name: String,
    /// `mirrorPrefix`.
    pub mirror_prefix: String,
    /// `overrideCLIImage`.
    pub override_cli_image: String,
    /// `check`.
    pub check: std::collections::BTreeMap<String, config::ReleaseCheck>,
    /// `alternateImageRepository`.
    pub alternate_image_repository: String,
    /// `alternateImageRepositorySecretName`.
    pub alternate_image_repository_secret_name: String,
    /// `referenceRelease`.
    pub reference_release: Option<config::ReferenceRelease>,
    /// `disableManifestListMode`.
    pub disable_manifest_list_mode: bool,
    /// `qualifiers` of each verify job, by job name.
    pub qualifiers:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>,
}

/// A stream's gating policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ReleaseConfig", into = "ReleaseConfig")]
pub struct GatingPolicy {
    /// Stream name (release names are `<name>-<timestamp>` in Integration streams).
    pub name: String,
    /// Integration or Stable.
    pub mode: StreamMode,
    /// Target repository (`to`).
    pub target: String,
    /// The stream is no longer synced.
    pub end_of_life: bool,
    /// Undecided releases allowed before creation stops (0: no limit).
    pub max_unready_releases: u32,
    /// Minimum time between two releases.
    pub min_creation_interval: Duration,
    /// Accepted releases beyond the kept ones expire after this.
    pub expires: Option<Duration>,
    /// Verification jobs, sorted by name.
    pub jobs: Vec<VerifyJob>,
    /// Publish steps, sorted by name.
    pub publish: Vec<PublishRule>,
    /// Sampled upgrade jobs (Stable streams), sorted by platform.
    pub sampled_upgrades: Vec<SampledUpgrade>,
    /// Periodic jobs, sorted by name.
    pub periodics: Vec<PeriodicJob>,
    /// Garbage-collection limits.
    pub gc: GcPolicy,
    /// The rest of the config.
    pub extras: ConfigExtras,
    /// What an upgrade job with no source does. Not part of the `ReleaseConfig` JSON (the
    /// controller always keeps the release Ready), so it does not survive a trip through it.
    pub no_upgrade_source: NoUpgradeSource,
}

impl GatingPolicy {
    /// Starts a policy for stream `name` (Integration, no jobs, no limits).
    pub fn builder(name: &str) -> GatingPolicyBuilder {
        GatingPolicyBuilder {
            policy: GatingPolicy {
                name: name.to_string(),
                mode: StreamMode::Integration,
                target: String::new(),
                end_of_life: false,
                max_unready_releases: 0,
                min_creation_interval: Duration::ZERO,
                expires: None,
                jobs: Vec::new(),
                publish: Vec::new(),
                sampled_upgrades: Vec::new(),
                periodics: Vec::new(),
                gc: GcPolicy::default(),
                extras: ConfigExtras::default(),
                no_upgrade_source: NoUpgradeSource::KeepReady,
            },
        }
    }

    /// Parses and validates a `ReleaseConfig` document; `file` names it in errors.
    pub fn from_json(bytes: &[u8], file: &str, mode: ParseMode) -> Result<GatingPolicy, Error> {
        let cfg = validate::parse_release_config(bytes, file, mode)?;
        Ok(GatingPolicy::from_config(cfg))
    }

    /// Reads a `ReleaseConfig` file.
    pub fn load(path: &Path, mode: ParseMode) -> Result<GatingPolicy, Error> {
        let cfg = validate::load_release_config(path, mode)?;
        Ok(GatingPolicy::from_config(cfg))
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&VerifyJob> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// Checks the rules a policy built in code must follow (the strict rules, in policy terms).
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |message: String| {
            Err(Error::InvalidPolicy {
                policy: self.name.clone(),
                message,
            })
        };
        if self.name.is_empty() {
            return bad("the stream name is empty".into());
        }
        if self.mode == StreamMode::Integration && self.target.is_empty() {
            return bad("an Integration stream needs a target".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for j in &self.jobs {
            if j.name.is_empty() {
                return bad("a job has an empty name".into());
            }
            if !names.insert(j.name.as_str()) {
                return bad(format!("job {} is defined twice", j.name));
            }
            if has_retry_suffix(&j.name) {
                return bad(format!("job {} ends in -<digits>", j.name));
            }
            if j.is_enabled() && j.prow_job.is_empty() {
                return bad(format!("job {} names no prow job", j.name));
            }
            if j.asynchronous && (j.gate != Gate::Informing || j.max_retries != 0) {
                return bad(format!(
                    "job {}: an async job must be informing with no retries",
                    j.name
                ));
            }
            if let Some(a) = &j.aggregation {
                if j.gate == Gate::Informing {
                    return bad(format!(
                        "job {}: an aggregated job cannot be informing",
                        j.name
                    ));
                }
                if a.analysis_job_count == 0 {
                    return bad(format!("job {}: an aggregated job needs runs", j.name));
                }
                if !(a.pass_threshold > 0.0 && a.pass_threshold <= 1.0) {
                    return bad(format!(
                        "job {}: pass threshold {} is not in (0, 1]",
                        j.name, a.pass_threshold
                    ));
                }
            }
        }
        for p in &self.publish {
            match &p.target {
                PublishTarget::Tag { tag } if tag.is_empty() => {
                    return bad(format!("publish step {} has an empty tag", p.name));
                }
                PublishTarget::Repository { name, .. }
                | PublishTarget::ReleaseCopy { repository: name }
                    if name.is_empty() =>
                {
                    return bad(format!("publish step {} has an empty repository", p.name));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Builds a [`GatingPolicy`] in code; [`build`](GatingPolicyBuilder::build) validates it.
#[derive(Debug, Clone)]
pub struct GatingPolicyBuilder {
    policy: GatingPolicy,
}

impl GatingPolicyBuilder {
    /// Sets what an upgrade job with no source does.
    pub fn no_upgrade_source(mut self, rule: NoUpgradeSource) -> Self {
        self.policy.no_upgrade_source = rule;
        self
    }

    /// Sets the target repository (`to`).
    pub fn target(mut self, to: &str) -> Self {
        self.policy.target = to.to_string();
        self
    }

    /// Makes the stream Stable.
    pub fn stable(mut self) -> Self {
        self.policy.mode = StreamMode::Stable;
        self
    }

    /// Sets `maxUnreadyReleases`.
    pub fn max_unready_releases(mut self, n: u32) -> Self {
        self.policy.max_unready_releases = n;
        self
    }

    /// Sets `minCreationIntervalSeconds`.
    pub fn min_creation_interval(mut self, d: Duration) -> Self {
        self.policy.min_creation_interval = d;
        self
    }

    /// Sets `expires`.
    pub fn expires(mut self, d: Duration) -> Self {
        self.policy.expires = Some(d);
        self
    }

    /// Adds a verification job.
    pub fn job(mut self, job: VerifyJob) -> Self {
        self.policy.jobs.push(job);
        self
    }

    /// Adds a periodic job.
    pub fn periodic(mut self, periodic: PeriodicJob) -> Self {
        self.policy.periodics.push(periodic);
        self
    }

    /// Adds a sampled upgrade platform (Stable streams: the `upgrade` map).
    pub fn sampled_upgrade(mut self, platform: &str, prow_job: &str) -> Self {
        self.policy.sampled_upgrades.push(SampledUpgrade {
            platform: platform.to_string(),
            prow_job: prow_job.to_string(),
            disabled: false,
        });
        self
    }

    /// Adds a `tagRef` publish step.
    pub fn publish_tag(mut self, step: &str, tag: &str) -> Self {
        self.policy.publish.push(PublishRule {
            name: step.to_string(),
            disabled: false,
            target: PublishTarget::Tag {
                tag: tag.to_string(),
            },
        });
        self
    }

    /// Adds a publish step.
    pub fn publish(mut self, rule: PublishRule) -> Self {
        self.policy.publish.push(rule);
        self
    }

    /// Sets garbage-collection limits.
    pub fn gc(mut self, gc: GcPolicy) -> Self {
        self.policy.gc = gc;
        self
    }

    /// Validates and returns the policy (jobs and publish steps sorted by name).
    pub fn build(mut self) -> Result<GatingPolicy, Error> {
        self.policy.jobs.sort_by(|a, b| a.name.cmp(&b.name));
        self.policy.publish.sort_by(|a, b| a.name.cmp(&b.name));
        self.policy.periodics.sort_by(|a, b| a.name.cmp(&b.name));
        self.policy
            .sampled_upgrades
            .sort_by(|a, b| a.platform.cmp(&b.platform));
        self.policy.validate()?;
        Ok(self.policy)
    }
}
