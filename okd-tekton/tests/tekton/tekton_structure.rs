//! The structure of exported pipelines: resource kinds, every parameter, result, task and
//! workspace reference resolved, ordering, and the errors for specs that cannot work.

use crate::tekton_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use okd_tekton::resource::{Pipeline, Task};
use okd_tekton::{
    Condition, Error, JobSpec, Operator, PipelineParam, Stage, StreamRun, TektonSpec, Value,
    Workspace,
};
use tekton_support::{IMAGE, TESTS_IMAGE, stream_spec};

/// Every `$(prefix.NAME…)` in `text`: the NAME parts.
fn refs<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let pat = format!("$({prefix}.");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let end = rest.find(')').unwrap();
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn task_strings(t: &Task) -> Vec<String> {
    let mut out = Vec::new();
    for s in &t.spec.steps {
        out.push(s.image.clone());
        out.extend(s.command.iter().cloned());
        out.extend(s.args.iter().cloned());
        out.extend(s.script.iter().cloned());
        out.extend(s.working_dir.iter().cloned());
        out.extend(s.env.iter().map(|e| e.value.clone()));
    }
    out
}

/// Checks every reference the way Tekton resolves them.
fn check_consistent(p: &Pipeline, tasks: &[Task]) {
    assert_eq!(p.api_version, "tekton.dev/v1");
    assert_eq!(p.kind, "Pipeline");
    let by_name: BTreeMap<&str, &Task> = tasks
        .iter()
        .map(|t| (t.metadata.name.as_str(), t))
        .collect();
    assert_eq!(by_name.len(), tasks.len(), "task names are unique");
    let pipeline_params: BTreeSet<&str> = p.spec.params.iter().map(|x| x.name.as_str()).collect();
    let pipeline_ws: BTreeSet<&str> = p.spec.workspaces.iter().map(|w| w.name.as_str()).collect();
    let names: Vec<&str> = p.spec.tasks.iter().map(|t| t.name.as_str()).collect();
    let mut used_params = BTreeSet::new();
    for (i, pt) in p.spec.tasks.iter().enumerate() {
        assert!(pt.name.len() <= 63, "{}", pt.name);
        let task = by_name[pt.task_ref.name.as_str()];
        assert_eq!(task.api_version, "tekton.dev/v1");
        assert_eq!(task.kind, "Task");
        assert!(task.metadata.name.len() <= 63, "{}", task.metadata.name);
        // runAfter names exist and come earlier.
        for after in &pt.run_after {
            let j = names.iter().position(|n| n == after).unwrap_or_else(|| {
                panic!("{}: runAfter {after} is no task", pt.name);
            });
            assert!(j < i, "{} runs after the later {after}", pt.name);
        }
        // Parameters passed are exactly those declared.
        let declared: BTreeSet<&str> = task.spec.params.iter().map(|x| x.name.as_str()).collect();
        let passed: BTreeSet<&str> = pt.params.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(declared, passed, "{}", pt.name);
        // Every reference inside the task is declared.
        for s in task_strings(task) {
            for r in refs(&s, "params") {
                assert!(declared.contains(r), "{}: $(params.{r})", pt.name);
            }
            for r in refs(&s, "results") {
                let r = r.strip_suffix(".path").unwrap();
                assert!(
                    task.spec.results.iter().any(|x| x.name == r),
                    "{}: {r}",
                    pt.name
                );
            }
            for r in refs(&s, "workspaces") {
                let r = r.strip_suffix(".path").unwrap();
                assert!(
                    task.spec.workspaces.iter().any(|x| x.name == r),
                    "{}: {r}",
                    pt.name
                );
            }
        }
        // Every value the pipeline passes resolves.
        let values = pt
            .params
            .iter()
            .map(|x| x.value.as_str())
            .chain(pt.when.iter().map(|w| w.input.as_str()));
        for v in values {
            for r in refs(v, "params") {
                assert!(pipeline_params.contains(r), "{}: $(params.{r})", pt.name);
                used_params.insert(r.to_string());
            }
            for r in refs(v, "tasks") {
                let (t, rest) = r.split_once(".results.").unwrap();
                let j = names.iter().position(|n| *n == t).unwrap();
                assert!(j < i, "{} reads the result of the later {t}", pt.name);
                let target = by_name[p.spec.tasks[j].task_ref.name.as_str()];
                assert!(
                    target.spec.results.iter().any(|x| x.name == rest),
                    "{t}.{rest}"
                );
            }
        }
        // Workspaces: every declared one bound to a pipeline workspace.
        for w in &task.spec.workspaces {
            let b = pt.workspaces.iter().find(|b| b.name == w.name).unwrap();
            assert!(pipeline_ws.contains(b.workspace.as_str()));
        }
    }
    assert_eq!(
        used_params,
        pipeline_params.iter().map(|s| s.to_string()).collect(),
        "every pipeline parameter is used"
    );
}

#[test]
fn okd_scos_stream_layout() {
    let spec = stream_spec("release-okd-scos-4.19.json");
    let r = okd_tekton::render(&spec).unwrap();
    check_consistent(&r.pipeline, &r.tasks);
    let p = &r.pipeline;
    assert_eq!(p.metadata.name, "okd-stream-4-19-0-0-okd-scos");
    let names: Vec<&str> = p.spec.tasks.iter().map(|t| t.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "assemble",
            "gate",
            "mirror",
            "promote",
            "verify-agent-single-node-ipv6",
            "verify-aws",
            "verify-aws-upgrade",
            "verify-aws-upgrade-minor",
            "verify-gcp",
            "verify-metal-ovn-assisted",
            "verify-vsphere",
        ]
    );
    assert_eq!(&names[..2], ["assemble", "mirror"]);
    assert_eq!(&names[names.len() - 2..], ["gate", "promote"]);
    let task = |n: &str| p.spec.tasks.iter().find(|t| t.name == n).unwrap();
    // The gate waits for every job; the jobs wait for the mirror.
    let gate = task("gate");
    assert_eq!(gate.run_after.len(), 7);
    assert!(gate.run_after.iter().all(|n| n.starts_with("verify-")));
    assert_eq!(task("verify-gcp").run_after, ["mirror"]);
    // Promotion only of accepted releases.
    let promote = task("promote");
    assert_eq!(promote.when.len(), 1);
    assert_eq!(promote.when[0].input, "$(tasks.gate.results.phase)");
    assert_eq!(promote.when[0].operator, "in");
    assert_eq!(promote.when[0].values, ["Accepted"]);
    // Pipeline parameters: the image and the stream's inputs.
    let params: Vec<(&str, Option<&str>)> = p
        .spec
        .params
        .iter()
        .map(|x| (x.name.as_str(), x.default.as_deref()))
        .collect();
    assert_eq!(
        params,
        [
            ("okd-streams-image", Some(IMAGE)),
            (
                "upstream-release",
                Some("quay.io/okd/scos-release:4.19.0-okd-scos.1")
            ),
            ("os-image", None),
            ("target-repo", Some("registry.example.com/okd/scos-release")),
            ("version", Some("")),
        ]
    );
    let ws: Vec<&str> = p.spec.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(ws, ["registry-credentials", "state"]);
    let results: Vec<&str> = p.spec.results.iter().map(|x| x.value.as_str()).collect();
    assert_eq!(
        results,
        [
            "$(tasks.assemble.results.release-name)",
            "$(tasks.mirror.results.release-image)",
            "$(tasks.gate.results.phase)"
        ]
    );
}

#[test]
fn stage_and_job_steps() {
    let spec = stream_spec("release-okd-scos-4.19.json");
    let r = okd_tekton::render(&spec).unwrap();
    let task = |n: &str| {
        let i = r
            .pipeline
            .spec
            .tasks
            .iter()
            .position(|t| t.name == n)
            .unwrap();
        (&r.pipeline.spec.tasks[i], &r.tasks[i])
    };
    let (_, assemble) = task("assemble");
    let step = &assemble.spec.steps[0];
    assert_eq!(step.image, "$(params.okd-streams-image)");
    assert_eq!(step.command, ["okd-streams"]);
    assert_eq!(
        step.args[..9],
        [
            "--authfile",
            "$(workspaces.registry-credentials.path)/.dockerconfigjson",
            "stream",
            "run",
            "$(workspaces.state.path)/stream.yaml",
            "--once",
            "--stage",
            "assemble",
            "--state",
        ]
    );
    assert!(
        step.args
            .contains(&"--upstream=$(params.upstream-release)".to_string())
    );
    assert!(
        step.args
            .contains(&"release-image=$(results.release-image.path)".to_string())
    );
    // One upgrade-source result per upgrade job.
    let results: Vec<&str> = assemble
        .spec
        .results
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(
        results,
        [
            "release-name",
            "release-image",
            "upgrade-from-aws-upgrade",
            "upgrade-from-aws-upgrade-minor"
        ]
    );
    let creds = &assemble.spec.workspaces[0];
    assert_eq!(
        (creds.name.as_str(), creds.read_only),
        ("registry-credentials", true)
    );

    // A blocking job with retries: the controller's backoff and a timeout covering it all.
    let (aws_pt, aws) = task("verify-aws");
    let step = &aws.spec.steps[0];
    assert_eq!(step.image, TESTS_IMAGE);
    let env: BTreeMap<&str, &str> = step
        .env
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        env["RELEASE_IMAGE_LATEST"],
        "$(params.mirror-release-image)"
    );
    assert_eq!(
        env["RELEASE_IMAGE_INITIAL"],
        "$(params.mirror-release-image)"
    );
    assert_eq!(env["PAYLOAD_TAG"], "$(params.assemble-release-name)");
    assert_eq!(
        env["JOB_NAME"],
        "periodic-ci-openshift-release-master-okd-scos-4.19-e2e-aws-ovn"
    );
    assert_eq!(env["TEST_SUITE"], "openshift/conformance/parallel");
    let script = step.script.as_deref().unwrap();
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert!(script.contains("for wait in 0 0 120; do"), "{script}");
    assert!(
        !script.contains("RELEASE_IMAGE_INITIAL\" ]"),
        "not an upgrade job"
    );
    // Three four-hour runs and two minutes of backoff.
    assert_eq!(aws_pt.timeout.as_deref(), Some("12h2m0s"));
    let passed: BTreeMap<&str, &str> = aws_pt
        .params
        .iter()
        .map(|x| (x.name.as_str(), x.value.as_str()))
        .collect();
    assert_eq!(
        passed["mirror-release-image"],
        "$(tasks.mirror.results.release-image)"
    );

    // An upgrade job starts from its own source, and passes without a run when there is none.
    let (_, up) = task("verify-aws-upgrade-minor");
    let env: BTreeMap<&str, &str> = up.spec.steps[0]
        .env
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        env["RELEASE_IMAGE_INITIAL"],
        "$(params.assemble-upgrade-from-aws-upgrade-minor)"
    );
    assert!(
        up.spec.steps[0]
            .script
            .as_deref()
            .unwrap()
            .contains("no release to upgrade from")
    );

    // The gate reads every outcome.
    let (_, gate) = task("gate");
    let args = &gate.spec.steps[0].args;
    assert!(args.contains(&"aws=$(params.verify-aws-outcome)".to_string()));
    assert!(args.contains(&"aws=$(params.verify-aws-attempts)".to_string()));
    assert!(args.contains(&"$(params.assemble-release-name)".to_string()));
}

#[test]
fn nightly_scale_with_aggregated_jobs() {
    // The OCP nightly: about ninety jobs, five of them aggregated.
    let spec = stream_spec("release-ocp-4.19.json");
    assert!(spec.jobs.len() > 80, "{}", spec.jobs.len());
    let r = okd_tekton::render(&spec).unwrap();
    check_consistent(&r.pipeline, &r.tasks);
    assert_eq!(r.tasks.len(), spec.jobs.len() + 4);
    let aggregated: Vec<&JobSpec> = spec.jobs.iter().filter(|j| j.aggregate.is_some()).collect();
    assert_eq!(aggregated.len(), 5);
    for job in aggregated {
        let agg = job.aggregate.unwrap();
        assert!(agg.runs >= agg.required && agg.required > 0, "{agg:?}");
        let i = r
            .pipeline
            .spec
            .tasks
            .iter()
            .position(|t| t.name == job.task_name())
            .unwrap();
        let script = r.tasks[i].spec.steps[0].script.as_deref().unwrap();
        assert!(
            script.contains(&format!("while [ \"$run\" -lt {} ]; do", agg.runs)),
            "{script}"
        );
        assert!(script.contains(&format!("if [ \"$passed\" -ge {} ]; then", agg.required)));
    }
}

#[test]
fn yaml_files_read_back() {
    let spec = stream_spec("release-okd-scos-4.19.json");
    let dir = tempfile::tempdir().unwrap();
    let files = okd_tekton::export(&spec, dir.path()).unwrap();
    assert_eq!(files.len(), 12);
    assert_eq!(files[0], dir.path().join("pipeline.yaml"));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("apiVersion: tekton.dev/v1\nkind: Pipeline\n"),
        "{text}"
    );
    assert!(text.contains("taskRef:"), "camelCase keys: {text}");
    assert!(text.contains("runAfter:"), "{text}");
    let back: Pipeline = serde_yaml_ng::from_str(&text).unwrap();
    let rendered = okd_tekton::render(&spec).unwrap();
    assert_eq!(back, rendered.pipeline);
    let gate = std::fs::read_to_string(dir.path().join("task-gate.yaml")).unwrap();
    let back: Task = serde_yaml_ng::from_str(&gate).unwrap();
    assert_eq!(back.kind, "Task");
    // Nothing else is left in the directory (temporary files are renamed into place).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 12);
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".yaml") && !n.starts_with('.'))
    );
}

fn small() -> TektonSpec {
    StreamRun::new("s", IMAGE, "stream.yaml")
        .input(
            PipelineParam::new("upstream-release", "Upstream."),
            "--upstream",
        )
        .job(JobSpec::new("aws", ["true"]))
        .build()
}

#[test]
fn refuses_broken_specs_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fails = |spec: &TektonSpec| {
        let err = okd_tekton::export(spec, &out).unwrap_err();
        assert!(!out.exists(), "nothing written for {err}");
        err
    };

    let mut s = small();
    s.stages[0].args.push(Value::param("nope"));
    let e = fails(&s);
    assert!(
        matches!(&e, Error::UnknownParam { task, param } if task == "assemble" && param == "nope"),
        "{e}"
    );

    let mut s = small();
    s.params
        .push(PipelineParam::new("unused", "Nobody reads it."));
    assert!(matches!(fails(&s), Error::UnusedParam { param } if param == "unused"));

    let mut s = small();
    s.stages[1]
        .args
        .push(Value::task_result("assemble", "digest"));
    assert!(
        matches!(fails(&s), Error::UnknownResult { target, result, .. } if target == "assemble" && result == "digest")
    );

    let mut s = small();
    s.stages[1].run_after.push("nowhere".into());
    assert!(matches!(fails(&s), Error::UnknownTask { target, .. } if target == "nowhere"));

    // assemble waits for promote, which waits for the gate, which waits for assemble.
    let mut s = small();
    s.stages[0].run_after.push("promote".into());
    let e = fails(&s);
    assert!(
        matches!(&e, Error::Cycle { tasks } if tasks.contains(&"assemble".to_string())),
        "{e}"
    );

    let mut s = small();
    s.stages[0].name = "Assemble".into();
    assert!(matches!(
        fails(&s),
        Error::InvalidName { what: "stage", .. }
    ));

    let mut s = small();
    s.stages.push(Stage::new("gate", "again", vec![]));
    assert!(matches!(fails(&s), Error::Duplicate { name, .. } if name == "gate"));

    let mut s = small();
    s.jobs[0].command = vec!["echo".into(), "$(params.upstream-release)".into()];
    assert!(matches!(fails(&s), Error::LiteralVariable { .. }));

    let mut s = small();
    s.jobs[0]
        .env
        .insert("RELEASE_IMAGE_LATEST".into(), "x".into());
    assert!(matches!(fails(&s), Error::Job { job, .. } if job == "aws"));

    let mut s = small();
    s.jobs[0].command.clear();
    assert!(matches!(fails(&s), Error::Job { .. }));

    let mut s = small();
    s.jobs[0].release_image = None;
    assert!(matches!(fails(&s), Error::Job { .. }));

    // A workspace path means nothing to a when expression.
    let mut s = small();
    s.stages[3].when.push(Condition {
        input: Value::workspace(Workspace::State, "/x"),
        operator: Operator::NotIn,
        values: vec!["".into()],
    });
    assert!(matches!(fails(&s), Error::MisplacedReference { .. }));

    // A job writes only its outcome and attempts.
    let mut s = small();
    s.jobs[0].release_image = Some(Value::result_path("release-image"));
    assert!(matches!(fails(&s), Error::MisplacedReference { .. }));
}

#[test]
fn long_names_fit_kubernetes_labels() {
    let long = "x".repeat(80);
    let spec = StreamRun::new(format!("4.19.0-0.{long}"), IMAGE, "stream.yaml")
        .job(JobSpec::new(format!("{long}-a").as_str(), ["true"]).upgrade())
        .job(JobSpec::new(format!("{long}-b").as_str(), ["true"]))
        .job(JobSpec::new("plain", ["true"]).timeout(Duration::from_secs(60)))
        .without_mirror()
        .build();
    let r = okd_tekton::render(&spec).unwrap();
    check_consistent(&r.pipeline, &r.tasks);
    let names: BTreeSet<&str> = r.tasks.iter().map(|t| t.metadata.name.as_str()).collect();
    assert_eq!(names.len(), r.tasks.len());
    assert!(names.iter().all(|n| n.len() <= 63));
    let plain = r
        .pipeline
        .spec
        .tasks
        .iter()
        .find(|t| t.name == "verify-plain")
        .unwrap();
    assert_eq!(
        plain.run_after,
        ["assemble"],
        "no mirror: jobs test the assembled image"
    );
    assert_eq!(plain.timeout.as_deref(), Some("0h1m0s"));
}
