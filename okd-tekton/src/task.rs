//! The Tasks: one per stage (`okd-streams` in the okd-streams image) and one per gating job (the
//! job's command in a small POSIX shell wrapper that retries like the release-controller and
//! writes the outcome as results).

use std::fmt::Write as _;
use std::time::Duration;

use okd_gating::{Gate, retry_backoff};

use super::resource::{
    API_VERSION, EnvVar, ObjectMeta, ParamSpec, Step, Task, TaskResult, TaskSpec,
    WorkspaceDeclaration,
};
use super::value::TaskScope;
use super::{
    ATTEMPTS_RESULT, Error, IMAGE_PARAM, JobSpec, OUTCOME_RESULT, Stage, TektonSpec, Value,
    Workspace,
};

/// A Task and what its pipeline task must pass to it.
#[derive(Debug)]
pub(crate) struct BuiltTask {
    pub task: Task,
    /// (task parameter, pipeline-level value).
    pub params: Vec<(String, String)>,
    /// Workspaces it declares.
    pub workspaces: Vec<Workspace>,
}

fn meta(name: &str, spec: &TektonSpec, display: String) -> ObjectMeta {
    let mut meta = ObjectMeta {
        name: name.to_string(),
        ..ObjectMeta::default()
    };
    meta.labels.insert(
        "app.kubernetes.io/part-of".to_string(),
        "okd-streams".to_string(),
    );
    meta.annotations
        .insert("tekton.dev/displayName".to_string(), display);
    meta.annotations
        .insert("okd-streams/stream".to_string(), spec.stream.clone());
    meta
}

fn workspace_decl(w: Workspace) -> WorkspaceDeclaration {
    match w {
        Workspace::Credentials => WorkspaceDeclaration {
            name: w.name().to_string(),
            description: "Registry credentials (containers auth.json or docker config.json)."
                .to_string(),
            read_only: true,
        },
        Workspace::State => WorkspaceDeclaration {
            name: w.name().to_string(),
            description: "The stream's state (and stream file), kept between runs.".to_string(),
            read_only: false,
        },
    }
}

fn param_decls(params: &[(String, String)]) -> Vec<ParamSpec> {
    params
        .iter()
        .map(|(name, outer)| ParamSpec {
            name: name.clone(),
            type_: "string".to_string(),
            description: format!("Set by the pipeline to {outer}."),
            default: None,
        })
        .collect()
}

fn auth_file(spec: &TektonSpec) -> Value {
    Value::workspace(Workspace::Credentials, format!("/{}", spec.auth_file))
}

/// The Task of a stage.
pub(crate) fn stage_task(spec: &TektonSpec, stage: &Stage, name: &str) -> BuiltTask {
    let mut scope = TaskScope::default();
    let image = scope.render(&Value::param(IMAGE_PARAM));
    let mut args = vec!["--authfile".to_string(), scope.render(&auth_file(spec))];
    args.extend(stage.args.iter().map(|a| scope.render(a)));
    let step = Step {
        name: "okd-streams".to_string(),
        image,
        command: vec!["okd-streams".to_string()],
        args,
        working_dir: Some(scope.render(&Value::workspace(Workspace::State, ""))),
        ..Step::default()
    };
    let workspaces = vec![Workspace::Credentials, Workspace::State];
    let task = Task {
        api_version: API_VERSION.to_string(),
        kind: "Task".to_string(),
        metadata: meta(name, spec, format!("{}: {}", spec.stream, stage.name)),
        spec: TaskSpec {
            description: stage.description.clone(),
            params: param_decls(&scope.params),
            results: stage
                .results
                .iter()
                .map(|r| TaskResult {
                    name: r.name.clone(),
                    type_: "string".to_string(),
                    description: r.description.clone(),
                })
                .collect(),
            workspaces: workspaces.iter().copied().map(workspace_decl).collect(),
            steps: vec![step],
        },
    };
    BuiltTask {
        task,
        params: scope.params,
        workspaces,
    }
}

/// Environment variables the pipeline sets for every job; a job may not set them itself.
pub(crate) const JOB_ENV: [&str; 5] = [
    "RELEASE_IMAGE_LATEST",
    "RELEASE_IMAGE_INITIAL",
    "PAYLOAD_TAG",
    "JOB_NAME",
    "REGISTRY_AUTH_FILE",
];

/// Runs of one attempt.
fn runs_per_attempt(job: &JobSpec) -> u32 {
    job.aggregate.map_or(1, |a| a.runs.max(1))
}

/// The longest a job task can take: every run of every attempt plus the waits between.
pub(crate) fn job_timeout(job: &JobSpec) -> Duration {
    let attempts = job.max_retries.saturating_add(1);
    let runs = job
        .timeout
        .saturating_mul(runs_per_attempt(job))
        .saturating_mul(attempts);
    (1..attempts).fold(runs, |t, retry| t.saturating_add(retry_backoff(retry)))
}

/// The Task of a job.
pub(crate) fn job_task(spec: &TektonSpec, job: &JobSpec, name: &str) -> Result<BuiltTask, Error> {
    let job_err = |reason: String| Error::Job {
        job: job.name.clone(),
        reason,
    };
    let Some(latest) = &job.release_image else {
        return Err(job_err(
            "no release image (RELEASE_IMAGE_LATEST) is set".to_string(),
        ));
    };
    let mut scope = TaskScope::default();
    let image = match &job.image {
        Some(image) => image.clone(),
        None => scope.render(&Value::param(IMAGE_PARAM)),
    };
    let latest = scope.render(latest);
    let initial = match (&job.initial_image, job.upgrade) {
        (Some(v), true) => scope.render(v),
        (None, true) => {
            return Err(job_err(
                "an upgrade job needs an initial image (RELEASE_IMAGE_INITIAL)".to_string(),
            ));
        }
        // Like the release-controller: a non-upgrade job starts from the release itself.
        (_, false) => latest.clone(),
    };
    let mut env = vec![
        EnvVar {
            name: "RELEASE_IMAGE_LATEST".to_string(),
            value: latest,
        },
        EnvVar {
            name: "RELEASE_IMAGE_INITIAL".to_string(),
            value: initial,
        },
    ];
    if let Some(tag) = &job.release_name {
        env.push(EnvVar {
            name: "PAYLOAD_TAG".to_string(),
            value: scope.render(tag),
        });
    }
    env.push(EnvVar {
        name: "JOB_NAME".to_string(),
        value: job.prow_job.clone().unwrap_or_else(|| job.name.clone()),
    });
    env.push(EnvVar {
        name: "REGISTRY_AUTH_FILE".to_string(),
        value: scope.render(&auth_file(spec)),
    });
    for (k, v) in &job.env {
        if JOB_ENV.contains(&k.as_str()) {
            return Err(job_err(format!(
                "environment variable {k} is set by the pipeline"
            )));
        }
        env.push(EnvVar {
            name: k.clone(),
            value: v.clone(),
        });
    }
    let script = job_script(job)?;
    let step = Step {
        name: "run".to_string(),
        image,
        script: Some(script),
        env,
        ..Step::default()
    };
    let gate = match job.gate {
        Gate::Blocking => "blocking",
        Gate::Informing => "informing",
        Gate::Disabled => "disabled",
    };
    let workspaces = vec![Workspace::Credentials];
    let task = Task {
        api_version: API_VERSION.to_string(),
        kind: "Task".to_string(),
        metadata: meta(name, spec, format!("{}: {}", spec.stream, job.name)),
        spec: TaskSpec {
            description: format!(
                "The {gate} gating job {:?} of stream {:?}. Writes its outcome as results; the gate decides what it means.",
                job.name, spec.stream
            ),
            params: param_decls(&scope.params),
            results: vec![
                TaskResult {
                    name: OUTCOME_RESULT.to_string(),
                    type_: "string".to_string(),
                    description: "Succeeded or Failed.".to_string(),
                },
                TaskResult {
                    name: ATTEMPTS_RESULT.to_string(),
                    type_: "string".to_string(),
                    description: "Attempts made; 0 when an upgrade job had no release to upgrade from (outcome NotRun).".to_string(),
                },
            ],
            workspaces: workspaces.iter().copied().map(workspace_decl).collect(),
            steps: vec![step],
        },
    };
    Ok(BuiltTask {
        task,
        params: scope.params,
        workspaces,
    })
}

fn quote(job: &JobSpec, word: &str) -> Result<String, Error> {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .map_err(|e| Error::Job {
            job: job.name.clone(),
            reason: format!("cannot quote {word:?} for the shell: {e}"),
        })
}

/// The wrapper script of a job. The step never fails on the job's failure: the gate reads the
/// outcome, so that a rejected release is still recorded.
pub(crate) fn job_script(job: &JobSpec) -> Result<String, Error> {
    if job.command.is_empty() {
        return Err(Error::Job {
            job: job.name.clone(),
            reason: "the command is empty".to_string(),
        });
    }
    let command = job
        .command
        .iter()
        .map(|w| quote(job, w))
        .collect::<Result<Vec<_>, _>>()?
        .join(" ");
    let attempts = job.max_retries.saturating_add(1);
    let waits: Vec<String> = (0..attempts)
        .map(|a| retry_backoff(a).as_secs().to_string())
        .collect();
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(
        "# Runs a gating job, retrying like the release-controller, and writes its outcome.\n",
    );
    s.push_str("set -u\n");
    let _ = writeln!(s, "job={}", quote(job, &job.name)?);
    if job.upgrade {
        s.push_str(concat!(
            "if [ -z \"$RELEASE_IMAGE_INITIAL\" ]; then\n",
            "  echo \"$job: no release to upgrade from; not run\"\n",
            "  printf %s NotRun > \"$(results.outcome.path)\"\n",
            "  printf %s 0 > \"$(results.attempts.path)\"\n",
            "  exit 0\n",
            "fi\n",
        ));
    }
    s.push_str("outcome=Failed\nattempts=0\n");
    let _ = writeln!(s, "for wait in {}; do", waits.join(" "));
    s.push_str(concat!(
        "  if [ \"$wait\" -gt 0 ]; then\n",
        "    echo \"$job: retrying in ${wait}s\"\n",
        "    sleep \"$wait\"\n",
        "  fi\n",
        "  attempts=$((attempts + 1))\n",
    ));
    let _ = writeln!(s, "  echo \"$job: attempt $attempts of {attempts}\"");
    match job.aggregate {
        None => {
            let _ = writeln!(s, "  if {command}; then");
            s.push_str("    outcome=Succeeded\n    break\n  fi\n");
        }
        Some(agg) => {
            let runs = agg.runs.max(1);
            s.push_str("  passed=0\n  run=0\n");
            let _ = writeln!(s, "  while [ \"$run\" -lt {runs} ]; do");
            s.push_str("    run=$((run + 1))\n");
            let _ = writeln!(s, "    if {command}; then");
            s.push_str("      passed=$((passed + 1))\n    fi\n  done\n");
            let _ = writeln!(
                s,
                "  echo \"$job: $passed of {runs} runs passed, {} needed\"",
                agg.required
            );
            let _ = writeln!(s, "  if [ \"$passed\" -ge {} ]; then", agg.required);
            s.push_str("    outcome=Succeeded\n    break\n  fi\n");
        }
    }
    s.push_str(concat!(
        "done\n",
        "printf %s \"$outcome\" > \"$(results.outcome.path)\"\n",
        "printf %s \"$attempts\" > \"$(results.attempts.path)\"\n",
        "echo \"$job: $outcome after $attempts attempt(s)\"\n",
    ));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_covers_attempts_and_backoff() {
        let job = JobSpec::new("aws", ["true"])
            .timeout(Duration::from_secs(3600))
            .max_retries(2);
        // Three runs, no wait before the first retry, two minutes before the second.
        assert_eq!(job_timeout(&job), Duration::from_secs(3 * 3600 + 120));
    }

    #[test]
    fn script_quotes_the_command() {
        let job = JobSpec::new(
            "it's",
            ["sh", "-c", "echo \"$RELEASE_IMAGE_LATEST\" $(date)"],
        );
        let s = job_script(&job).unwrap();
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(
            s.contains("job='it'\"'\"'s'\n") || s.contains("job=\"it's\"\n"),
            "{s}"
        );
        assert!(s.contains("if sh -c '"), "{s}");
        assert!(s.contains("for wait in 0; do"), "{s}");
    }
}
