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
use crate::{Error, GoDuration};

/// The aggregator job the controller uses when an aggregated job names none.
pub const DEFAULT_AGGREGATOR_JOB: &str = "release-openshift-release-analysis-aggregator";

/// Share of analysis runs that must pass for an aggregated job to pass (the controller's
/// threshold for analysis entries).
pub const DEFAULT_PASS_THRESHOLD: f64 = 0.6;

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
}

impl UpgradeSource {
    /// The `upgradeFrom` keyword, for the four keyword sources.
    pub fn keyword(&self) -> Option<&'static str> {
        match self {
            UpgradeSource::Previous => Some("Previous"),
            UpgradeSource::PreviousMinus1 => Some("PreviousMinus1"),
            UpgradeSource::PreviousPatch => Some("PreviousPatch"),
            UpgradeSource::PreviousMinor => Some("PreviousMinor"),
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
    /// Copy the newest accepted release into another repository, tagged with its name.
    Repository {
        /// Namespace (empty: the stream's).
        namespace: String,
        /// Repository (image stream) name.
        name: String,
        /// Only these tags (component filter of the controller, kept for round trips).
        tags: Vec<String>,
        /// Not these tags.
        exclude_tags: Vec<String>,
    },
    /// Jira verification (not performed by okd-gating; kept for round trips).
    VerifyIssues(config::PublishVerifyIssues),
    /// A step with no action (e.g. `"issues": {}`): does nothing.
    Nothing,
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
    /// `periodic` (validated, not scheduled by okd-gating).
    pub periodic: std::collections::BTreeMap<String, config::ReleasePeriodic>,
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
    /// Garbage-collection limits.
    pub gc: GcPolicy,
    /// The rest of the config.
    pub extras: ConfigExtras,
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
                gc: GcPolicy::default(),
                extras: ConfigExtras::default(),
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

    /// Interprets a config (already validated, or not: this never fails). Rules of the
    /// controller's payload construction: a disabled job is disabled; an aggregated job is
    /// blocking even when marked optional; an optional job is informing; the rest block.
    /// Negative numbers count as zero. An aggregated job with no analysis runs is judged as a
    /// plain job. An upgrade job without an explicit source upgrades from `Previous` in an
    /// Integration stream and `PreviousPatch` in a Stable one.
    pub fn from_config(cfg: ReleaseConfig) -> GatingPolicy {
        let mode = if cfg.as_ == "Stable" {
            StreamMode::Stable
        } else {
            StreamMode::Integration
        };
        let clamp = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let mut extras = ConfigExtras {
            message: cfg.message,
            hide: cfg.hide,
            reference_mode: cfg.reference_mode,
            pull_secret_name: cfg.pull_secret_name,
            mirror_prefix: cfg.mirror_prefix,
            override_cli_image: cfg.override_cli_image,
            periodic: cfg.periodic,
            check: cfg.check,
            alternate_image_repository: cfg.alternate_image_repository,
            alternate_image_repository_secret_name: cfg.alternate_image_repository_secret_name,
            reference_release: cfg.reference_release,
            disable_manifest_list_mode: cfg.disable_manifest_list_mode,
            qualifiers: Default::default(),
        };
        let mut jobs = Vec::with_capacity(cfg.verify.len());
        for (name, v) in cfg.verify {
            if !v.qualifiers.is_empty() {
                extras.qualifiers.insert(name.clone(), v.qualifiers.clone());
            }
            let aggregation = v.aggregated_prow_job.as_ref().and_then(|a| {
                let count = clamp(a.analysis_job_count);
                (count > 0).then(|| Aggregation {
                    analysis_job_count: count,
                    aggregator_job: a
                        .prow_job
                        .as_ref()
                        .filter(|p| !p.name.is_empty())
                        .map_or(DEFAULT_AGGREGATOR_JOB.to_string(), |p| p.name.clone()),
                    pass_threshold: DEFAULT_PASS_THRESHOLD,
                })
            });
            let gate = if v.disabled {
                Gate::Disabled
            } else if v.aggregated_prow_job.is_some() || !v.optional {
                Gate::Blocking
            } else {
                Gate::Informing
            };
            let upgrade = v.upgrade.then(|| {
                source_from_config(&v.upgrade_from, v.upgrade_from_release.as_ref(), mode)
            });
            jobs.push(VerifyJob {
                prow_job: v.prow_job.map(|p| p.name).unwrap_or_default(),
                gate,
                asynchronous: v.async_,
                max_retries: clamp(v.max_retries),
                upgrade,
                aggregation,
                multi_job_analysis: v.multi_job_analysis,
                name,
            });
        }
        let publish = cfg
            .publish
            .into_iter()
            .map(|(name, p)| {
                let target = if let Some(t) = p.tag_ref {
                    PublishTarget::Tag { tag: t.name }
                } else if let Some(r) = p.image_stream_ref {
                    PublishTarget::Repository {
                        namespace: r.namespace,
                        name: r.name,
                        tags: r.tags,
                        exclude_tags: r.exclude_tags,
                    }
                } else if let Some(v) = p.verify_issues {
                    PublishTarget::VerifyIssues(v)
                } else {
                    PublishTarget::Nothing
                };
                PublishRule {
                    name,
                    disabled: p.disabled,
                    target,
                }
            })
            .collect();
        let sampled_upgrades = cfg
            .upgrade
            .into_iter()
            .map(|(platform, u)| SampledUpgrade {
                platform,
                prow_job: u.prow_job.map(|p| p.name).unwrap_or_default(),
                disabled: u.disabled,
            })
            .collect();
        GatingPolicy {
            name: cfg.name,
            mode,
            target: cfg.to,
            end_of_life: cfg.end_of_life,
            max_unready_releases: clamp(cfg.max_unready_releases),
            min_creation_interval: Duration::from_secs(
                u64::try_from(cfg.min_creation_interval_seconds).unwrap_or(0),
            ),
            expires: cfg.expires.map(GoDuration::as_std).filter(|d| !d.is_zero()),
            jobs,
            publish,
            sampled_upgrades,
            gc: GcPolicy::default(),
            extras,
        }
    }

    /// The `ReleaseConfig` this policy corresponds to. Builder-only settings that the JSON cannot
    /// express (pass thresholds other than 0.6, garbage-collection limits) are not included.
    pub fn to_config(&self) -> ReleaseConfig {
        let e = &self.extras;
        let mut verify = std::collections::BTreeMap::new();
        for j in &self.jobs {
            let (upgrade_from, upgrade_from_release) = match &j.upgrade {
                None => (String::new(), None),
                Some(s) => source_to_config(s, self.mode),
            };
            verify.insert(
                j.name.clone(),
                config::ReleaseVerification {
                    disabled: j.gate == Gate::Disabled,
                    optional: j.gate == Gate::Informing,
                    async_: j.asynchronous,
                    upgrade: j.upgrade.is_some(),
                    upgrade_from,
                    upgrade_from_release,
                    prow_job: (!j.prow_job.is_empty()).then(|| config::ProwJobVerification {
                        name: j.prow_job.clone(),
                    }),
                    max_retries: i64::from(j.max_retries),
                    aggregated_prow_job: j.aggregation.as_ref().map(|a| {
                        config::AggregatedProwJobVerification {
                            prow_job: (a.aggregator_job != DEFAULT_AGGREGATOR_JOB).then(|| {
                                config::ProwJobVerification {
                                    name: a.aggregator_job.clone(),
                                }
                            }),
                            analysis_job_count: i64::from(a.analysis_job_count),
                        }
                    }),
                    multi_job_analysis: j.multi_job_analysis,
                    qualifiers: e.qualifiers.get(&j.name).cloned().unwrap_or_default(),
                },
            );
        }
        let publish = self
            .publish
            .iter()
            .map(|p| {
                let mut out = config::ReleasePublish {
                    disabled: p.disabled,
                    ..Default::default()
                };
                match &p.target {
                    PublishTarget::Tag { tag } => {
                        out.tag_ref = Some(config::PublishTagReference { name: tag.clone() });
                    }
                    PublishTarget::Repository {
                        namespace,
                        name,
                        tags,
                        exclude_tags,
                    } => {
                        out.image_stream_ref = Some(config::PublishStreamReference {
                            name: name.clone(),
                            namespace: namespace.clone(),
                            tags: tags.clone(),
                            exclude_tags: exclude_tags.clone(),
                        });
                    }
                    PublishTarget::VerifyIssues(v) => out.verify_issues = Some(v.clone()),
                    PublishTarget::Nothing => {}
                }
                (p.name.clone(), out)
            })
            .collect();
        let upgrade = self
            .sampled_upgrades
            .iter()
            .map(|u| {
                (
                    u.platform.clone(),
                    config::UpgradeVerification {
                        disabled: u.disabled,
                        prow_job: (!u.prow_job.is_empty()).then(|| config::ProwJobVerification {
                            name: u.prow_job.clone(),
                        }),
                    },
                )
            })
            .collect();
        ReleaseConfig {
            name: self.name.clone(),
            message: e.message.clone(),
            hide: e.hide,
            end_of_life: self.end_of_life,
            as_: match self.mode {
                StreamMode::Integration => String::new(),
                StreamMode::Stable => "Stable".to_string(),
            },
            to: self.target.clone(),
            max_unready_releases: i64::from(self.max_unready_releases),
            min_creation_interval_seconds: i64::try_from(self.min_creation_interval.as_secs())
                .unwrap_or(i64::MAX),
            reference_mode: e.reference_mode.clone(),
            pull_secret_name: e.pull_secret_name.clone(),
            mirror_prefix: e.mirror_prefix.clone(),
            override_cli_image: e.override_cli_image.clone(),
            expires: self.expires.map(GoDuration),
            verify,
            periodic: e.periodic.clone(),
            publish,
            check: e.check.clone(),
            upgrade,
            alternate_image_repository: e.alternate_image_repository.clone(),
            alternate_image_repository_secret_name: e
                .alternate_image_repository_secret_name
                .clone(),
            reference_release: e.reference_release.clone(),
            disable_manifest_list_mode: e.disable_manifest_list_mode,
        }
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
                PublishTarget::Repository { name, .. } if name.is_empty() => {
                    return bad(format!("publish step {} has an empty repository", p.name));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn source_from_config(
    upgrade_from: &str,
    release: Option<&config::UpgradeRelease>,
    mode: StreamMode,
) -> UpgradeSource {
    if let Some(r) = release {
        if let Some(c) = &r.candidate {
            return UpgradeSource::Candidate {
                stream: c.stream.clone(),
                version: c.version.clone(),
                relative: u32::try_from(c.relative.max(0)).unwrap_or(u32::MAX),
            };
        }
        if let Some(p) = &r.prerelease {
            return UpgradeSource::Prerelease {
                lower: p.version_bounds.lower.clone(),
                upper: p.version_bounds.upper.clone(),
            };
        }
        if let Some(o) = &r.release {
            return UpgradeSource::Release {
                version: o.version.clone(),
                channel: o.channel.clone(),
                architecture: o.architecture.clone(),
            };
        }
    }
    match upgrade_from {
        "Previous" => UpgradeSource::Previous,
        "PreviousMinus1" => UpgradeSource::PreviousMinus1,
        "PreviousPatch" => UpgradeSource::PreviousPatch,
        "PreviousMinor" => UpgradeSource::PreviousMinor,
        _ => match mode {
            StreamMode::Integration => UpgradeSource::Previous,
            StreamMode::Stable => UpgradeSource::PreviousPatch,
        },
    }
}

fn source_to_config(
    s: &UpgradeSource,
    mode: StreamMode,
) -> (String, Option<config::UpgradeRelease>) {
    let default = match mode {
        StreamMode::Integration => UpgradeSource::Previous,
        StreamMode::Stable => UpgradeSource::PreviousPatch,
    };
    let release = match s {
        UpgradeSource::Candidate {
            stream,
            version,
            relative,
        } => config::UpgradeRelease {
            candidate: Some(config::UpgradeCandidate {
                stream: stream.clone(),
                version: version.clone(),
                relative: i64::from(*relative),
            }),
            ..Default::default()
        },
        UpgradeSource::Prerelease { lower, upper } => config::UpgradeRelease {
            prerelease: Some(config::UpgradePrerelease {
                version_bounds: config::VersionBounds {
                    lower: lower.clone(),
                    upper: upper.clone(),
                },
            }),
            ..Default::default()
        },
        UpgradeSource::Release {
            version,
            channel,
            architecture,
        } => config::UpgradeRelease {
            release: Some(config::OfficialRelease {
                version: version.clone(),
                channel: channel.clone(),
                architecture: architecture.clone(),
            }),
            ..Default::default()
        },
        keyword if *keyword == default => return (String::new(), None),
        keyword => return (keyword.keyword().unwrap_or_default().to_string(), None),
    };
    (String::new(), Some(release))
}

impl TryFrom<ReleaseConfig> for GatingPolicy {
    type Error = Error;
    /// Lenient interpretation, as the controller reads configs at run time.
    fn try_from(cfg: ReleaseConfig) -> Result<Self, Error> {
        validate::validate_release_config(&cfg, "<serde>", ParseMode::Lenient)?;
        Ok(GatingPolicy::from_config(cfg))
    }
}

impl From<GatingPolicy> for ReleaseConfig {
    fn from(p: GatingPolicy) -> ReleaseConfig {
        p.to_config()
    }
}

/// Builds a [`GatingPolicy`] in code; [`build`](GatingPolicyBuilder::build) validates it.
#[derive(Debug, Clone)]
pub struct GatingPolicyBuilder {
    policy: GatingPolicy,
}

impl GatingPolicyBuilder {
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
        self.policy.validate()?;
        Ok(self.policy)
    }
}
