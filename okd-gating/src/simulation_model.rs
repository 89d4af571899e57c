//! The model a simulation runs against: job durations, flake and failure rates, how often
//! inputs change, the horizon. Read from YAML or JSON (see [`simulate`](crate::simulate)).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::duration::ModelDuration;

/// The model of one job; absent fields come from `default_job`, then from built-in defaults
/// (2 h, ±25 %, 5 % flakes, 2 % true failures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobModel {
    /// Mean duration of a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<ModelDuration>,
    /// Relative spread of durations: a run takes `duration × (1 ± jitter)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_jitter: Option<f64>,
    /// Probability that a run of a healthy candidate fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flake_rate: Option<f64>,
    /// Probability that a candidate is truly broken for this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved {
    pub(crate) duration: Duration,
    pub(crate) jitter: f64,
    pub(crate) flake: f64,
    pub(crate) failure: f64,
}

impl JobModel {
    pub(crate) fn resolve(&self, default: &JobModel) -> Resolved {
        Resolved {
            duration: self
                .duration
                .or(default.duration)
                .map_or(Duration::from_secs(7200), |d| d.0),
            jitter: self
                .duration_jitter
                .or(default.duration_jitter)
                .unwrap_or(0.25),
            flake: self.flake_rate.or(default.flake_rate).unwrap_or(0.05),
            failure: self.failure_rate.or(default.failure_rate).unwrap_or(0.02),
        }
    }
}

fn default_seed() -> u64 {
    1
}
fn default_horizon() -> ModelDuration {
    ModelDuration(Duration::from_secs(28 * 86400))
}
fn default_change() -> ModelDuration {
    ModelDuration(Duration::from_secs(2 * 3600))
}
fn default_creation() -> ModelDuration {
    ModelDuration(Duration::from_secs(20 * 60))
}

/// What the simulator assumes about the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationModel {
    /// Random seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time span (default 28 days).
    #[serde(default = "default_horizon")]
    pub horizon: ModelDuration,
    /// Mean time between input changes (default 2 h).
    #[serde(default = "default_change")]
    pub input_change_interval: ModelDuration,
    /// Time to create a candidate (default 20 min).
    #[serde(default = "default_creation")]
    pub creation_duration: ModelDuration,
    /// Probability that creating a candidate fails.
    #[serde(default)]
    pub creation_failure_rate: f64,
    /// Defaults for every job.
    #[serde(default)]
    pub default_job: JobModel,
    /// Per-job models, by verification job name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobModel>,
    /// Exact input changes and job results instead of random ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<SimulationScript>,
}

/// A scripted simulation: inputs change at these times, and each job's runs end with these
/// results, in the order the runs start. A run past the end of its job's list never ends (its
/// release stays undecided), so a script that is too short is seen, not filled in. Replaying the
/// results a stream's jobs gave reaches the stream's phases and edges: both decide through
/// [`step`](crate::step).
///
/// ```yaml
/// script:
///   input_changes: [0s, 24h]
///   results: { e2e: [Failed, Succeeded, Failed, Failed], upgrade: [Succeeded] }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationScript {
    /// When inputs change, from the start of the simulation.
    #[serde(default)]
    pub input_changes: Vec<ModelDuration>,
    /// Results of each job's runs (verification job name → `Succeeded`/`Failed` in start order).
    #[serde(default)]
    pub results: BTreeMap<String, Vec<crate::RunState>>,
}

impl Default for SimulationModel {
    fn default() -> Self {
        SimulationModel {
            seed: default_seed(),
            horizon: default_horizon(),
            input_change_interval: default_change(),
            creation_duration: default_creation(),
            creation_failure_rate: 0.0,
            default_job: JobModel::default(),
            jobs: BTreeMap::new(),
            script: None,
        }
    }
}

impl SimulationModel {
    /// Parses a model from YAML or JSON; `file` names it in errors.
    pub fn from_yaml(bytes: &[u8], file: &str) -> Result<SimulationModel, Error> {
        let model: SimulationModel = if bytes.iter().all(u8::is_ascii_whitespace) {
            SimulationModel::default()
        } else {
            serde_yaml_ng::from_slice(bytes).map_err(|e| Error::Syntax {
                file: file.to_string(),
                message: e.to_string(),
            })?
        };
        model.validate(file)?;
        Ok(model)
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<SimulationModel, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        SimulationModel::from_yaml(&bytes, &path.display().to_string())
    }

    fn validate(&self, file: &str) -> Result<(), Error> {
        let bad = |field: String, message: &str| {
            Err(Error::InvalidModel {
                file: file.to_string(),
                field,
                message: message.to_string(),
            })
        };
        if self.horizon.0.is_zero() {
            return bad("horizon".into(), "must be positive");
        }
        if self.input_change_interval.0 < Duration::from_secs(1) {
            return bad("input_change_interval".into(), "must be at least 1s");
        }
        if !(0.0..=1.0).contains(&self.creation_failure_rate) {
            return bad("creation_failure_rate".into(), "must be in [0, 1]");
        }
        let models = std::iter::once(("default_job".to_string(), &self.default_job)).chain(
            self.jobs
                .iter()
                .map(|(name, m)| (format!("jobs.{name}"), m)),
        );
        for (name, m) in models {
            for (field, rate) in [
                ("flake_rate", m.flake_rate),
                ("failure_rate", m.failure_rate),
                ("duration_jitter", m.duration_jitter),
            ] {
                if rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
                    return bad(format!("{name}.{field}"), "must be in [0, 1]");
                }
            }
            if m.duration.is_some_and(|d| d.0.is_zero()) {
                return bad(format!("{name}.duration"), "must be positive");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_defaults_and_validation() {
        let m = SimulationModel::from_yaml(b"", "m.yaml").unwrap();
        assert_eq!(m, SimulationModel::default());
        let m = SimulationModel::from_yaml(
            b"default_job: {flake_rate: 0.2}\njobs: {aws: {duration: 30m}}\n",
            "m.yaml",
        )
        .unwrap();
        let r = m.jobs["aws"].resolve(&m.default_job);
        assert_eq!(r.duration, Duration::from_secs(1800));
        assert_eq!(r.flake, 0.2);
        assert_eq!(r.failure, 0.02);
        let e = SimulationModel::from_yaml(b"jobs: {aws: {flake_rate: 2}}", "m.yaml").unwrap_err();
        assert!(
            matches!(e, Error::InvalidModel { ref field, .. } if field == "jobs.aws.flake_rate"),
            "{e}"
        );
        assert!(matches!(
            SimulationModel::from_yaml(b"horizn: 3d", "m.yaml"),
            Err(Error::Syntax { .. })
        ));
        let j = SimulationModel::from_yaml(br#"{"horizon": "365d", "seed": 9}"#, "m.json").unwrap();
        assert_eq!(j.horizon.0, Duration::from_secs(365 * 86400));
    }
}
