//! What a stream's pipeline is made of: [`TektonSpec`], plain data that the stream code (or a
//! user) fills in and [`export`](super::export) turns into Tekton resources.
//!
//! A spec has *stages*, each one `okd-streams` invocation in the okd-streams image (assemble,
//! mirror, gate, promote, or anything else), and *jobs*, the gating jobs, each run by its own
//! command in its own image with `RELEASE_IMAGE_LATEST` / `RELEASE_IMAGE_INITIAL` set like the
//! release-controller sets them. [`StreamRun`](super::StreamRun) builds the usual layout.

use std::collections::BTreeMap;
use std::time::Duration;

use okd_gating::{Gate, JobCommand, VerifyJob};

use super::Value;

/// The Pipeline parameter naming the container image with the `okd-streams` CLI.
pub const IMAGE_PARAM: &str = "okd-streams-image";

/// Prefix of the pipeline task of a job: job `aws` runs as `verify-aws`.
pub const JOB_TASK_PREFIX: &str = "verify-";

/// Result of a job task: `Succeeded` or `Failed`.
pub const OUTCOME_RESULT: &str = "outcome";

/// Result of a job task: attempts made (`0` for an upgrade job without a source, recorded as a
/// pass without a run, as the release-controller does).
pub const ATTEMPTS_RESULT: &str = "attempts";

/// A stream's pipeline: stages, jobs, parameters and results. See the [module docs](super).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TektonSpec {
    /// The stream's name (shown in descriptions and annotations).
    pub stream: String,
    /// Prefix of the resource names (`<name>` for the Pipeline, `<name>-<task>` for Tasks); empty
    /// for one derived from the stream name.
    pub name: String,
    /// Default of the [`IMAGE_PARAM`] parameter.
    pub image: String,
    /// The credentials file in the [`Workspace::Credentials`](super::Workspace) workspace,
    /// passed to `okd-streams --authfile` and to jobs as `REGISTRY_AUTH_FILE`.
    pub auth_file: String,
    /// The stream's inputs, as Pipeline parameters.
    pub params: Vec<PipelineParam>,
    /// The okd-streams stages.
    pub stages: Vec<Stage>,
    /// The gating jobs.
    pub jobs: Vec<JobSpec>,
    /// Results the Pipeline reports.
    pub results: Vec<PipelineOutput>,
}

impl TektonSpec {
    /// An empty spec for `stream`, run with `image`.
    pub fn new(stream: impl Into<String>, image: impl Into<String>) -> TektonSpec {
        TektonSpec {
            stream: stream.into(),
            name: String::new(),
            image: image.into(),
            auth_file: DEFAULT_AUTH_FILE.to_string(),
            params: Vec::new(),
            stages: Vec::new(),
            jobs: Vec::new(),
            results: Vec::new(),
        }
    }
}

/// The key of a `kubernetes.io/dockerconfigjson` Secret, the default credentials file.
pub const DEFAULT_AUTH_FILE: &str = ".dockerconfigjson";

/// A Pipeline parameter: one of the stream's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineParam {
    /// Name (lowercase kebab-case).
    pub name: String,
    /// What it is.
    pub description: String,
    /// Default; without one the parameter must be given to every run.
    pub default: Option<String>,
}

impl PipelineParam {
    /// A parameter without default.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> PipelineParam {
        PipelineParam {
            name: name.into(),
            description: description.into(),
            default: None,
        }
    }

    /// Sets the default.
    pub fn default_value(mut self, value: impl Into<String>) -> PipelineParam {
        self.default = Some(value.into());
        self
    }
}

/// A result a stage writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultSpec {
    /// Name (lowercase kebab-case).
    pub name: String,
    /// What it holds.
    pub description: String,
}

impl ResultSpec {
    /// A result.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> ResultSpec {
        ResultSpec {
            name: name.into(),
            description: description.into(),
        }
    }
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The input is one of the values.
    In,
    /// The input is none of the values.
    NotIn,
}

/// A condition for a stage to run (a Tekton `when` expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// What is tested: parameters and task results only.
    pub input: Value,
    /// How.
    pub operator: Operator,
    /// Against what.
    pub values: Vec<String>,
}

/// One `okd-streams` invocation in the okd-streams image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Pipeline task name (lowercase kebab-case, e.g. `assemble`).
    pub name: String,
    /// What it does.
    pub description: String,
    /// Arguments after `okd-streams --authfile <credentials>`.
    pub args: Vec<Value>,
    /// Results it writes (to [`Value::result_path`]).
    pub results: Vec<ResultSpec>,
    /// Tasks that must finish first (results it reads order it too).
    pub run_after: Vec<String>,
    /// Conditions for it to run at all.
    pub when: Vec<Condition>,
    /// How long it may run; Tekton's default (one hour) when unset.
    pub timeout: Option<Duration>,
}

impl Stage {
    /// A stage running `okd-streams <args>`.
    pub fn new(name: impl Into<String>, description: impl Into<String>, args: Vec<Value>) -> Stage {
        Stage {
            name: name.into(),
            description: description.into(),
            args,
            results: Vec::new(),
            run_after: Vec::new(),
            when: Vec::new(),
            timeout: None,
        }
    }
}

/// Several runs of a job judged together (an aggregated job): a batch passes when at least
/// `required` of its `runs` pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    /// Runs in a batch.
    pub runs: u32,
    /// Passing runs needed.
    pub required: u32,
}

/// A gating job, run as pipeline task `verify-<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The gating job's name (key of the policy's `verify`).
    pub name: String,
    /// Blocking or informing (passed on to the gate; the job task itself never fails).
    pub gate: Gate,
    /// Image to run in; the okd-streams image when unset.
    pub image: Option<String>,
    /// The program and its arguments, run without a shell.
    pub command: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// `JOB_NAME` (the prow job); the job's name when unset.
    pub prow_job: Option<String>,
    /// Extra attempts after a failure (the controller's `maxRetries`), with the controller's
    /// backoff between them.
    pub max_retries: u32,
    /// How long one run may take (the task's timeout covers every attempt).
    pub timeout: Duration,
    /// Several runs judged together.
    pub aggregate: Option<Aggregate>,
    /// An upgrade job: `RELEASE_IMAGE_INITIAL` is [`JobSpec::initial_image`], and when that is
    /// empty at run time the job passes without running.
    pub upgrade: bool,
    /// `RELEASE_IMAGE_LATEST`, the release under test; required ([`StreamRun`](super::StreamRun)
    /// fills it in).
    pub release_image: Option<Value>,
    /// `RELEASE_IMAGE_INITIAL` for upgrade jobs.
    pub initial_image: Option<Value>,
    /// `PAYLOAD_TAG`, the release's name.
    pub release_name: Option<Value>,
    /// Tasks that must finish first.
    pub run_after: Vec<String>,
}

impl JobSpec {
    /// A blocking job running `command` (program first).
    pub fn new<I, S>(name: impl Into<String>, command: I) -> JobSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        JobSpec {
            name: name.into(),
            gate: Gate::Blocking,
            image: None,
            command: command.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            prow_job: None,
            max_retries: 0,
            timeout: okd_gating::DEFAULT_TIMEOUT,
            aggregate: None,
            upgrade: false,
            release_image: None,
            initial_image: None,
            release_name: None,
            run_after: Vec::new(),
        }
    }

    /// The job of a gating policy run by a local command; `None` for disabled jobs. The
    /// command's working directory is not carried over (the step runs in the image's own).
    ///
    /// ```
    /// use okd_gating::{JobCommand, VerifyJob};
    /// use okd_tekton::JobSpec;
    /// let job = VerifyJob::informing("gcp", "e2e-gcp").max_retries(1);
    /// let spec = JobSpec::from_gating(&job, &JobCommand::new("openshift-tests", &["run", "e2e"]))
    ///     .expect("enabled");
    /// assert_eq!(spec.command, ["openshift-tests", "run", "e2e"]);
    /// assert_eq!(spec.prow_job.as_deref(), Some("e2e-gcp"));
    /// assert_eq!(spec.max_retries, 1);
    /// ```
    pub fn from_gating(job: &VerifyJob, command: &JobCommand) -> Option<JobSpec> {
        if job.gate == Gate::Disabled {
            return None;
        }
        let mut spec = JobSpec::new(
            job.name.clone(),
            std::iter::once(command.program.clone()).chain(command.args.iter().cloned()),
        );
        spec.gate = job.gate;
        spec.prow_job = Some(job.prow_job.clone());
        spec.max_retries = job.max_retries;
        spec.env = command.env.clone();
        spec.timeout = command.timeout.unwrap_or(okd_gating::DEFAULT_TIMEOUT);
        spec.upgrade = job.upgrade.is_some();
        spec.aggregate = job.aggregation.as_ref().map(|a| Aggregate {
            runs: a.analysis_job_count,
            // The smallest count that reaches the threshold, as okd-gating judges a batch.
            required: (a.pass_threshold * f64::from(a.analysis_job_count) - 1e-9)
                .ceil()
                .max(0.0) as u32,
        });
        Some(spec)
    }

    /// Sets the image.
    pub fn image(mut self, image: impl Into<String>) -> JobSpec {
        self.image = Some(image.into());
        self
    }

    /// Makes it informing.
    pub fn informing(mut self) -> JobSpec {
        self.gate = Gate::Informing;
        self
    }

    /// Sets the extra attempts.
    pub fn max_retries(mut self, n: u32) -> JobSpec {
        self.max_retries = n;
        self
    }

    /// Makes it an upgrade job.
    pub fn upgrade(mut self) -> JobSpec {
        self.upgrade = true;
        self
    }

    /// Sets the timeout of one run.
    pub fn timeout(mut self, timeout: Duration) -> JobSpec {
        self.timeout = timeout;
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> JobSpec {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Its pipeline task name: `verify-` and the name in lowercase kebab-case.
    pub fn task_name(&self) -> String {
        super::names::job_task_name(&self.name)
    }
}

/// A result the Pipeline reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOutput {
    /// Name.
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Its value: parameters and task results only.
    pub value: Value,
}
