//! `CommandJobRunner` runs real processes: environment, logs, exit codes, timeouts, cancel.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use okd_gating::{
    CommandJobRunner, Error, JobCommand, JobHandle, JobRequest, JobResult, JobRunner, JobStatus,
    ReleaseRef, RunKind, RunState,
};

fn request(job: &str, upgrade: bool) -> JobRequest {
    JobRequest {
        release: ReleaseRef {
            name: "4.19.0-okd-scos.2".into(),
            pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.2".into(),
        },
        job: job.into(),
        prow_job: format!("periodic-{job}"),
        kind: RunKind::Verify,
        attempt: 0,
        upgrade_from: upgrade.then(|| ReleaseRef {
            name: "4.19.0-okd-scos.1".into(),
            pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.1".into(),
        }),
        multi_job_analysis: false,
        started: Utc::now(),
    }
}

async fn wait(runner: &CommandJobRunner, handle: &JobHandle) -> JobResult {
    for _ in 0..600 {
        match runner.poll(handle).await.unwrap() {
            JobStatus::Finished(r) => return r,
            JobStatus::Running => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("job did not finish within 30 s");
}

#[tokio::test]
async fn passes_the_release_environment_and_keeps_logs() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandJobRunner::new(dir.path()).with_command(
        "upgrade",
        JobCommand::shell(
            "echo \"latest=$RELEASE_IMAGE_LATEST\"; echo \"initial=$RELEASE_IMAGE_INITIAL\"; \
                 echo \"job=$JOB_NAME extra=$EXTRA\"; echo oops >&2",
        )
        .env("EXTRA", "yes"),
    );
    let req = request("upgrade", true);
    let handle = runner.start(&req).await.unwrap();
    let result = wait(&runner, &handle).await;
    assert_eq!(result.state, RunState::Succeeded, "{result:?}");
    assert_eq!(result.exit_code, Some(0));
    let (out, err) = runner.log_paths(&req);
    assert_eq!(result.log.as_deref(), Some(out.to_str().unwrap()));
    let stdout = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        stdout,
        "latest=quay.io/okd/scos-release:4.19.0-okd-scos.2\n\
         initial=quay.io/okd/scos-release:4.19.0-okd-scos.1\n\
         job=periodic-upgrade extra=yes\n"
    );
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "oops\n");
    assert!(out.ends_with("4.19.0-okd-scos.2/4.19.0-okd-scos.2-upgrade.stdout"));
}

#[tokio::test]
async fn a_non_upgrade_job_starts_from_the_release_itself() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandJobRunner::new(dir.path())
        .with_default(JobCommand::shell("echo \"$RELEASE_IMAGE_INITIAL\""));
    let req = request("e2e", false);
    let handle = runner.start(&req).await.unwrap();
    assert_eq!(wait(&runner, &handle).await.state, RunState::Succeeded);
    let stdout = std::fs::read_to_string(runner.log_paths(&req).0).unwrap();
    assert_eq!(stdout, "quay.io/okd/scos-release:4.19.0-okd-scos.2\n");
}

#[tokio::test]
async fn exit_codes_decide_pass_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandJobRunner::new(dir.path())
        .with_command("periodic-bad", JobCommand::shell("exit 3"))
        .with_command("good", JobCommand::new("true", &[]));
    let bad = runner.start(&request("bad", false)).await.unwrap();
    let result = wait(&runner, &bad).await;
    assert_eq!(result.state, RunState::Failed);
    assert_eq!(result.exit_code, Some(3));
    assert!(!result.timed_out);
    let good = runner.start(&request("good", false)).await.unwrap();
    assert_eq!(wait(&runner, &good).await.state, RunState::Succeeded);
}

fn alive(pid: i32) -> bool {
    // A zombie has exited; only a running or sleeping process counts.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_timeout_kills_the_job_and_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let runner = CommandJobRunner::new(dir.path()).with_command(
        "slow",
        JobCommand::shell(&script).timeout(Duration::from_millis(500)),
    );
    let started = std::time::Instant::now();
    let handle = runner.start(&request("slow", false)).await.unwrap();
    let result = wait(&runner, &handle).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(result.state, RunState::Failed);
    assert!(result.timed_out, "{result:?}");
    assert!(result.message.contains("timed out"), "{}", result.message);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if !alive(pid) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn cancel_stops_a_running_job() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandJobRunner::new(dir.path()).with_default(JobCommand::shell("sleep 60"));
    let handle = runner.start(&request("e2e", false)).await.unwrap();
    assert_eq!(runner.poll(&handle).await.unwrap(), JobStatus::Running);
    runner.cancel(&handle).await.unwrap();
    let result = wait(&runner, &handle).await;
    assert!(result.cancelled);
    assert_eq!(result.state, RunState::Failed);
}

#[tokio::test]
async fn unknown_jobs_and_handles_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandJobRunner::new(dir.path());
    assert!(matches!(
        runner.start(&request("e2e", false)).await,
        Err(Error::NoCommand { ref job, .. }) if job == "e2e"
    ));
    assert!(matches!(
        runner.poll(&JobHandle("nope".into())).await,
        Err(Error::UnknownHandle { .. })
    ));
    let missing = CommandJobRunner::new(dir.path())
        .with_default(JobCommand::new("/nonexistent/okd-gating-test-binary", &[]));
    assert!(matches!(
        missing.start(&request("e2e", false)).await,
        Err(Error::StartFailed { .. })
    ));
}
