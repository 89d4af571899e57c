//! The usual pipeline of a stream declared in a stream file.

use super::{
    ATTEMPTS_RESULT, Condition, JobSpec, OUTCOME_RESULT, Operator, PipelineOutput, PipelineParam,
    ResultSpec, Stage, TektonSpec, Value, Workspace,
};

/// The assemble stage.
pub const ASSEMBLE: &str = "assemble";
/// The mirror stage.
pub const MIRROR: &str = "mirror";
/// The gate stage.
pub const GATE: &str = "gate";
/// The promote stage.
pub const PROMOTE: &str = "promote";

/// Builds the usual pipeline of a stream declared in a stream file, every stage one
/// `okd-streams stream run FILE --once --stage STAGE` invocation.
///
/// ```text
/// assemble ─▶ mirror ─▶ verify-<job> … ─▶ gate ─▶ promote (when the gate says Accepted)
/// ```
///
/// Every stage gets `--state <state file>` (in the state workspace) and every stream input as
/// `<flag>=$(params.<name>)`; stages after `assemble` get `--release <its release-name result>`.
/// Stages write their results with `--result NAME=PATH`:
///
/// | stage | results |
/// |---|---|
/// | `assemble` | `release-name`, `release-image` (pullspec by digest), `upgrade-from-<job>` per upgrade job (the source's pullspec, empty when there is none) |
/// | `mirror` | `release-image` (the mirrored pullspec, which the jobs test) |
/// | `gate` | `phase` (`Accepted`, `Rejected`, `Ready` …) |
///
/// The gate gets each job's outcome as `--job-result JOB=OUTCOME` and `--job-attempts JOB=N`.
///
/// ```
/// use okd_tekton::{JobSpec, PipelineParam, StreamRun};
/// let spec = StreamRun::new("4.19.0-0.okd-scos", "quay.io/okd/okd-streams:v0.1.0", "stream.yaml")
///     .input(PipelineParam::new("upstream-release", "Upstream release image"), "--upstream")
///     .job(JobSpec::new("aws", ["openshift-tests", "run", "openshift/conformance/parallel"]))
///     .build();
/// let names: Vec<_> = spec.stages.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, ["assemble", "mirror", "gate", "promote"]);
/// assert_eq!(spec.jobs[0].run_after, ["mirror"]);
/// ```
#[derive(Debug, Clone)]
pub struct StreamRun {
    stream: String,
    image: String,
    file: String,
    state_file: Option<String>,
    inputs: Vec<(PipelineParam, String)>,
    mirror: bool,
    jobs: Vec<JobSpec>,
}

impl StreamRun {
    /// The pipeline of `stream`, declared in `file` (a path in the state workspace), run with
    /// the okd-streams `image`.
    pub fn new(
        stream: impl Into<String>,
        image: impl Into<String>,
        file: impl Into<String>,
    ) -> StreamRun {
        StreamRun {
            stream: stream.into(),
            image: image.into(),
            file: file.into(),
            state_file: Some("state.json".to_string()),
            inputs: Vec::new(),
            mirror: true,
            jobs: Vec::new(),
        }
    }

    /// The state file in the state workspace (`state.json` by default); `None` leaves it to
    /// the stream file.
    pub fn state_file(mut self, path: Option<String>) -> StreamRun {
        self.state_file = path;
        self
    }

    /// A stream input: a Pipeline parameter passed to every stage as `<flag>=<value>`.
    pub fn input(mut self, param: PipelineParam, flag: impl Into<String>) -> StreamRun {
        self.inputs.push((param, flag.into()));
        self
    }

    /// No mirror stage: jobs test the assembled image.
    pub fn without_mirror(mut self) -> StreamRun {
        self.mirror = false;
        self
    }

    /// A gating job. Its release image, release name, upgrade source and ordering are filled in.
    pub fn job(mut self, job: JobSpec) -> StreamRun {
        self.jobs.push(job);
        self
    }

    fn stage(&self, name: &str, description: &str) -> Stage {
        let in_state = |path: &str| Value::workspace(Workspace::State, format!("/{path}"));
        let mut args = vec![
            Value::text("stream"),
            Value::text("run"),
            in_state(&self.file),
            Value::text("--once"),
            Value::text("--stage"),
            Value::text(name),
        ];
        if let Some(state) = &self.state_file {
            args.push(Value::text("--state"));
            args.push(in_state(state));
        }
        for (param, flag) in &self.inputs {
            args.push(Value::text(format!("{flag}=")).then(Value::param(param.name.clone())));
        }
        if name != ASSEMBLE {
            args.push(Value::text("--release"));
            args.push(Value::task_result(ASSEMBLE, "release-name"));
        }
        Stage::new(name, description, args)
    }

    fn with_results(mut stage: Stage, results: Vec<ResultSpec>) -> Stage {
        for r in &results {
            stage.args.push(Value::text("--result"));
            stage
                .args
                .push(Value::text(format!("{}=", r.name)).then(Value::result_path(r.name.clone())));
        }
        stage.results = results;
        stage
    }

    /// The spec.
    pub fn build(mut self) -> TektonSpec {
        let mut spec = TektonSpec::new(self.stream.clone(), self.image.clone());
        spec.params = self.inputs.iter().map(|(p, _)| p.clone()).collect();

        let mut assemble_results = vec![
            ResultSpec::new("release-name", "Name of the release assembled."),
            ResultSpec::new(
                "release-image",
                "Pullspec by digest of the release assembled.",
            ),
        ];
        for job in self.jobs.iter().filter(|j| j.upgrade) {
            assemble_results.push(ResultSpec::new(
                upgrade_result(job),
                format!(
                    "Pullspec of the release job {:?} upgrades from; empty when there is none.",
                    job.name
                ),
            ));
        }
        let assemble = Self::with_results(
            self.stage(
                ASSEMBLE,
                "Assembles the stream's next release from its inputs, when they changed.",
            ),
            assemble_results,
        );
        spec.stages.push(assemble);

        let mut tested = (ASSEMBLE, "release-image");
        if self.mirror {
            let mut mirror = Self::with_results(
                self.stage(MIRROR, "Mirrors the release to the stream's targets."),
                vec![ResultSpec::new(
                    "release-image",
                    "Pullspec by digest of the mirrored release.",
                )],
            );
            mirror.run_after = vec![ASSEMBLE.to_string()];
            spec.stages.push(mirror);
            tested = (MIRROR, "release-image");
        }
        let before_jobs = tested.0.to_string();

        let mut gate = self.stage(
            GATE,
            "Records the jobs' outcomes and decides: Accepted, Rejected or still Ready.",
        );
        for mut job in std::mem::take(&mut self.jobs) {
            if job.release_image.is_none() {
                job.release_image = Some(Value::task_result(tested.0, tested.1));
            }
            if job.release_name.is_none() {
                job.release_name = Some(Value::task_result(ASSEMBLE, "release-name"));
            }
            if job.upgrade && job.initial_image.is_none() {
                job.initial_image = Some(Value::task_result(ASSEMBLE, upgrade_result(&job)));
            }
            if job.run_after.is_empty() {
                job.run_after = vec![before_jobs.clone()];
            }
            let task = job.task_name();
            for (flag, result) in [
                ("--job-result", OUTCOME_RESULT),
                ("--job-attempts", ATTEMPTS_RESULT),
            ] {
                gate.args.push(Value::text(flag));
                gate.args.push(
                    Value::text(format!("{}=", job.name))
                        .then(Value::task_result(task.clone(), result)),
                );
            }
            gate.run_after.push(task);
            spec.jobs.push(job);
        }
        if gate.run_after.is_empty() {
            gate.run_after.push(before_jobs);
        }
        let gate = Self::with_results(
            gate,
            vec![ResultSpec::new(
                "phase",
                "The release's phase after the gate: Accepted, Rejected, Ready, …",
            )],
        );
        spec.stages.push(gate);

        let mut promote = self.stage(
            PROMOTE,
            "Publishes the accepted release to the stream's channels and tags.",
        );
        promote.run_after = vec![GATE.to_string()];
        promote.when = vec![Condition {
            input: Value::task_result(GATE, "phase"),
            operator: Operator::In,
            values: vec!["Accepted".to_string()],
        }];
        spec.stages.push(promote);

        spec.results = vec![
            PipelineOutput {
                name: "release-name".to_string(),
                description: "Name of the release this run assembled.".to_string(),
                value: Value::task_result(ASSEMBLE, "release-name"),
            },
            PipelineOutput {
                name: "release-image".to_string(),
                description: "Pullspec by digest of the release the jobs tested.".to_string(),
                value: Value::task_result(tested.0, tested.1),
            },
            PipelineOutput {
                name: "phase".to_string(),
                description: "The release's phase after the gate.".to_string(),
                value: Value::task_result(GATE, "phase"),
            },
        ];
        spec
    }
}

/// The assemble result holding job `job`'s upgrade source.
fn upgrade_result(job: &JobSpec) -> String {
    upgrade_from_result(&job.name)
}

/// The name of the assemble stage's result that holds the upgrade source of job `job`:
/// `upgrade-from-<job>`, cut to a label with a hash suffix when it is too long. A stage run
/// matches `--result` names against this exactly.
///
/// ```
/// assert_eq!(okd_tekton::upgrade_from_result("aws-upgrade"), "upgrade-from-aws-upgrade");
/// assert_eq!(okd_tekton::upgrade_from_result(&"x".repeat(80)).len(), 63);
/// ```
pub fn upgrade_from_result(job: &str) -> String {
    super::names::fit(&format!("upgrade-from-{}", super::names::to_label(job)))
}
