//! The job tasks' scripts run for real under /bin/sh, with the result paths Tekton would
//! substitute: retries, outcomes, aggregated batches, upgrade jobs without a source, and
//! arguments passed through the shell verbatim.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use okd_tekton::{Aggregate, JobSpec, StreamRun};

struct Run {
    outcome: String,
    attempts: String,
    stdout: String,
}

/// Renders `job` in a pipeline, then runs its step script like Tekton would: results paths
/// substituted, the step's environment set (parameters replaced by `params`).
fn run_job(job: JobSpec, params: &[(&str, &str)], extra_env: &[(&str, &str)]) -> Run {
    let name = job.task_name();
    let spec = StreamRun::new("s", "quay.io/okd/okd-streams:v0.1.0", "stream.yaml")
        .job(job)
        .build();
    let r = okd_tekton::render(&spec).unwrap();
    let i = r
        .pipeline
        .spec
        .tasks
        .iter()
        .position(|t| t.name == name)
        .unwrap();
    let step = &r.tasks[i].spec.steps[0];
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let script = step
        .script
        .as_deref()
        .unwrap()
        .replace(
            "$(results.outcome.path)",
            &results.join("outcome").display().to_string(),
        )
        .replace(
            "$(results.attempts.path)",
            &results.join("attempts").display().to_string(),
        );
    assert!(!script.contains("$(results."), "{script}");
    let file = dir.path().join("script");
    std::fs::write(&file, &script).unwrap();
    let params: BTreeMap<&str, &str> = params.iter().copied().collect();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(&file)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for e in &step.env {
        let mut value = e.value.clone();
        for (k, v) in &params {
            value = value.replace(&format!("$(params.{k})"), v);
        }
        value = value.replace("$(workspaces.registry-credentials.path)", "/creds");
        assert!(!value.contains("$("), "{}={value}", e.name);
        cmd.env(&e.name, value);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the step itself never fails: {stdout}"
    );
    let read = |n: &str| std::fs::read_to_string(results.join(n)).unwrap();
    Run {
        outcome: read("outcome"),
        attempts: read("attempts"),
        stdout,
    }
}

const LATEST: (&str, &str) = (
    "mirror-release-image",
    "registry.example.com/okd/release@sha256:aa",
);
const NAME: (&str, &str) = (
    "assemble-release-name",
    "4.19.0-0.okd-scos-2025-01-30-032525",
);

fn sh(script: &str) -> JobSpec {
    JobSpec::new("job", ["sh", "-c", script])
}

#[test]
fn retries_until_attempts_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let r = run_job(
        sh("echo run >> \"$COUNT\"; exit 1").max_retries(1),
        &[LATEST, NAME],
        &[("COUNT", count.to_str().unwrap())],
    );
    assert_eq!(r.outcome, "Failed");
    assert_eq!(r.attempts, "2");
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "run\nrun\n");
    assert!(
        r.stdout.contains("job: Failed after 2 attempt(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_retry_that_passes_stops_there_and_sees_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let seen = dir.path().join("seen");
    let script = "n=$(cat \"$COUNT\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$COUNT\"; \
                  echo \"$RELEASE_IMAGE_LATEST $RELEASE_IMAGE_INITIAL $PAYLOAD_TAG $JOB_NAME $REGISTRY_AUTH_FILE\" > \"$SEEN\"; \
                  [ \"$n\" -ge 1 ]";
    let r = run_job(
        sh(script).max_retries(3),
        &[LATEST, NAME],
        &[
            ("COUNT", count.to_str().unwrap()),
            ("SEEN", seen.to_str().unwrap()),
        ],
    );
    assert_eq!(
        (r.outcome.as_str(), r.attempts.as_str()),
        ("Succeeded", "2")
    );
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "2\n");
    // A non-upgrade job starts from the release itself, like the release-controller's jobs.
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        format!(
            "{} {} {} job /creds/.dockerconfigjson\n",
            LATEST.1, LATEST.1, NAME.1
        )
    );
}

#[test]
fn upgrade_job_without_source_is_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let job = sh("touch \"$MARKER\"").upgrade();
    let r = run_job(
        job.clone(),
        &[LATEST, NAME, ("assemble-upgrade-from-job", "")],
        &[("MARKER", marker.to_str().unwrap())],
    );
    assert_eq!((r.outcome.as_str(), r.attempts.as_str()), ("NotRun", "0"));
    assert!(!marker.exists());
    // With a source it runs.
    let r = run_job(
        job,
        &[
            LATEST,
            NAME,
            (
                "assemble-upgrade-from-job",
                "quay.io/okd/scos-release:4.18.0-okd-scos.9",
            ),
        ],
        &[("MARKER", marker.to_str().unwrap())],
    );
    assert_eq!(
        (r.outcome.as_str(), r.attempts.as_str()),
        ("Succeeded", "1")
    );
    assert!(marker.exists());
}

#[test]
fn aggregated_batches_pass_on_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    // Runs 1 and 3 of each batch fail: one of three passes.
    let script = "n=$(cat \"$COUNT\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \"$COUNT\"; \
                  [ $((n % 3)) -eq 2 ]";
    let mut job = sh(script).max_retries(1);
    job.aggregate = Some(Aggregate {
        runs: 3,
        required: 2,
    });
    let r = run_job(
        job.clone(),
        &[LATEST, NAME],
        &[("COUNT", count.to_str().unwrap())],
    );
    assert_eq!((r.outcome.as_str(), r.attempts.as_str()), ("Failed", "2"));
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "6\n",
        "two batches of three"
    );
    assert!(
        r.stdout.contains("1 of 3 runs passed, 2 needed"),
        "{}",
        r.stdout
    );

    std::fs::remove_file(&count).unwrap();
    job.aggregate = Some(Aggregate {
        runs: 3,
        required: 1,
    });
    let r = run_job(job, &[LATEST, NAME], &[("COUNT", count.to_str().unwrap())]);
    assert_eq!(
        (r.outcome.as_str(), r.attempts.as_str()),
        ("Succeeded", "1")
    );
}

#[test]
fn arguments_reach_the_command_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tricky = "it's a \"test\" with $(date) and `id` and $HOME; exit 1";
    let job = JobSpec::new(
        "quoting",
        ["sh", "-c", "printf %s \"$1\" > \"$OUT\"", "sh", tricky],
    );
    let r = run_job(job, &[LATEST, NAME], &[("OUT", out.to_str().unwrap())]);
    assert_eq!(r.outcome, "Succeeded");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), tricky);
    assert!(Path::new(&out).exists());
}
