//! Reading a [`ReleaseConfig`] as a [`GatingPolicy`] and writing it back.
//!
//! The interpretation follows the controller's payload construction (`newReleasePayload`) and
//! upgrade-source defaults (`getUpgradeTagAndPullSpec`); see [`GatingPolicy::from_config`].

use std::time::Duration;

use crate::config::{self, ReleaseConfig};
use crate::policy::{
    Aggregation, ConfigExtras, DEFAULT_AGGREGATOR_JOB, DEFAULT_PASS_THRESHOLD, GcPolicy,
    NoUpgradeSource, PublishRule, PublishTarget, SampledUpgrade,
};
use crate::validate::{self, ParseMode};
use crate::{
    Error, Gate, GatingPolicy, GoDuration, PeriodicJob, PeriodicSchedule, StreamMode,
    UpgradeSource, VerifyJob,
};

impl GatingPolicy {
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
        let periodics = cfg
            .periodic
            .into_iter()
            .map(|(name, p)| periodic_from_config(name, p, mode))
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
            periodics,
            gc: GcPolicy::default(),
            extras,
            no_upgrade_source: NoUpgradeSource::default(),
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
            periodic: self
                .periodics
                .iter()
                .map(|p| periodic_to_config(p, self.mode))
                .collect(),
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
}

/// A periodic's source defaults to `PreviousMinus1` (`PreviousPatch` in a Stable stream).
fn periodic_default(mode: StreamMode) -> UpgradeSource {
    match mode {
        StreamMode::Integration => UpgradeSource::PreviousMinus1,
        StreamMode::Stable => UpgradeSource::PreviousPatch,
    }
}

fn periodic_from_config(name: String, p: config::ReleasePeriodic, mode: StreamMode) -> PeriodicJob {
    let upgrade = p.upgrade.then(|| {
        if p.upgrade_from.is_empty() && p.upgrade_from_release.is_none() {
            periodic_default(mode)
        } else {
            source_from_config(&p.upgrade_from, p.upgrade_from_release.as_ref(), mode)
        }
    });
    PeriodicJob {
        prow_job: p.prow_job.map(|j| j.name).unwrap_or_default(),
        schedule: PeriodicSchedule::from_config(&p.interval, &p.cron),
        upgrade,
        name,
    }
}

fn periodic_to_config(p: &PeriodicJob, mode: StreamMode) -> (String, config::ReleasePeriodic) {
    let (interval, cron) = p.schedule.to_config();
    let (upgrade_from, upgrade_from_release) = match &p.upgrade {
        None => (String::new(), None),
        Some(s) if *s == periodic_default(mode) => (String::new(), None),
        Some(s) => match source_to_config(s, mode) {
            // The verify default is not the periodic one: name it.
            (k, None) if k.is_empty() => (s.keyword().unwrap_or_default().to_string(), None),
            other => other,
        },
    };
    (
        p.name.clone(),
        config::ReleasePeriodic {
            interval,
            cron,
            upgrade: p.upgrade.is_some(),
            upgrade_from,
            upgrade_from_release,
            prow_job: (!p.prow_job.is_empty()).then(|| config::ProwJobVerification {
                name: p.prow_job.clone(),
            }),
        },
    )
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
        "Upstream" => UpgradeSource::Upstream,
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
