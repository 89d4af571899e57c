//! The tick state machine with a scripted job runner: creation only on new inputs and within
//! the limits, retries and rejection, manual verdicts and publication, runs lost with a process,
//! failed build attempts, garbage collection.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use okd_streams::gating::{
    Error, GatingPolicy, GcPolicy, JobHandle, JobRequest, JobResult, JobRunner, JobStatus, Phase,
    RunState, VerifyJob,
};
use okd_streams::oci::ManifestRef;
use okd_streams::stream::{
    MirrorRequest, MirrorStage, Promotion, Stream, StreamBuilder, StreamError, TickContext,
};

/// Finishes runs as scripted: job name → outcome of each attempt (missing: success). Runs of
/// jobs listed in `hold` stay running.
#[derive(Debug, Default)]
struct Scripted {
    outcomes: HashMap<String, Vec<RunState>>,
    hold: Vec<String>,
    runs: Mutex<HashMap<String, (String, u32)>>,
    started: Mutex<Vec<String>>,
}

impl Scripted {
    fn fail(mut self, job: &str, attempts: &[RunState]) -> Self {
        self.outcomes.insert(job.to_string(), attempts.to_vec());
        self
    }

    fn hold(mut self, job: &str) -> Self {
        self.hold.push(job.to_string());
        self
    }

    fn started(&self) -> Vec<String> {
        self.started.lock().unwrap().clone()
    }
}

#[async_trait]
impl JobRunner for Scripted {
    async fn start(&self, request: &JobRequest) -> Result<JobHandle, Error> {
        let handle = request.run_name();
        self.started.lock().unwrap().push(handle.clone());
        self.runs
            .lock()
            .unwrap()
            .insert(handle.clone(), (request.job.clone(), request.attempt));
        Ok(JobHandle(handle))
    }

    async fn poll(&self, handle: &JobHandle) -> Result<JobStatus, Error> {
        let runs = self.runs.lock().unwrap();
        let (job, attempt) = runs.get(&handle.0).ok_or_else(|| Error::UnknownHandle {
            handle: handle.0.clone(),
        })?;
        if self.hold.contains(job) {
            return Ok(JobStatus::Running);
        }
        let state = self
            .outcomes
            .get(job)
            .and_then(|o| o.get(*attempt as usize).copied())
            .unwrap_or(RunState::Succeeded);
        Ok(JobStatus::Finished(JobResult {
            state,
            exit_code: Some(i32::from(state != RunState::Succeeded)),
            timed_out: false,
            cancelled: false,
            log: None,
            message: String::new(),
        }))
    }

    async fn cancel(&self, _: &JobHandle) -> Result<(), Error> {
        Ok(())
    }
}

/// Fails its first `failures` calls.
#[derive(Debug)]
struct FlakyMirror {
    failures: Mutex<u32>,
}

#[async_trait]
impl MirrorStage for FlakyMirror {
    fn describe(&self) -> String {
        "flaky".to_string()
    }

    async fn mirror(&self, request: &MirrorRequest<'_>) -> Result<String, StreamError> {
        let mut left = self.failures.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return Err(StreamError::Check {
                check: "mirror".into(),
                release: request.version.into(),
                message: "registry unavailable".into(),
            });
        }
        Ok(format!("mirrored {}", request.version))
    }
}

fn builder(dir: &Path) -> StreamBuilder {
    StreamBuilder::new("4.19.0-0.okd-scos")
        .upstream_newest(
            &format!("oci:{}/upstream:okd/scos-release", dir.display()),
            "4.19.0-okd-scos.*",
        )
        .store(&format!("oci:{}/store", dir.display()))
        .namespace("okd-demo")
        .promote("next", Promotion::Tag("next".into()))
}

fn at(hour: u32) -> TickContext {
    TickContext::at(Utc.with_ymd_and_hms(2025, 6, 1, hour, 0, 0).unwrap())
}

fn phases(status: &okd_streams::stream::StreamStatus) -> Vec<(String, Phase)> {
    status
        .releases
        .iter()
        .map(|r| (r.name.clone(), r.phase))
        .collect()
}

async fn tag_digest(stream: &Stream, tag: &str) -> Option<String> {
    stream
        .store()
        .manifest_digest(&stream.release_repository(), &ManifestRef::Tag(tag.into()))
        .await
        .unwrap()
        .map(|d| d.to_string())
}

#[tokio::test]
async fn creates_only_on_new_inputs_and_within_the_unready_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p1 = common::upstream(dir, 1).await;
    let runner = Arc::new(Scripted::default().hold("e2e"));
    let stream = builder(dir)
        .job(
            VerifyJob::blocking("e2e", "e2e"),
            okd_streams::gating::JobCommand::shell("true"),
        )
        .runner(runner.clone())
        .build()
        .await
        .unwrap();

    let first = stream.tick(&at(12)).await.unwrap();
    let created = first
        .created
        .clone()
        .expect("a release from the first inputs");
    assert_eq!(created.name, "4.19.0-0.okd-scos-2025-06-01-120000");
    assert_eq!(first.started, ["4.19.0-0.okd-scos-2025-06-01-120000-e2e"]);
    assert!(!first.is_idle());

    // Same inputs: nothing new, the job is polled and still runs.
    let again = stream.tick(&at(13)).await.unwrap();
    assert!(again.created.is_none() && again.started.is_empty());
    assert_eq!(again.running, 1);

    // New upstream, but one release is still undecided (maxUnreadyReleases 1).
    common::advance(dir, &p1, 2).await;
    let blocked = stream.tick(&at(14)).await.unwrap();
    assert!(blocked.created.is_none(), "{blocked}");
    assert_eq!(runner.started().len(), 1);
    assert_eq!(phases(&stream.status().await.unwrap()).len(), 1);
}

#[tokio::test]
async fn retries_reject_and_a_manual_accept_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let runner = Arc::new(Scripted::default().fail("e2e", &[RunState::Failed, RunState::Failed]));
    let stream = builder(dir)
        .job(
            VerifyJob::blocking("e2e", "e2e").max_retries(1),
            okd_streams::gating::JobCommand::shell("true"),
        )
        .job(
            VerifyJob::informing("gcp", "gcp"),
            okd_streams::gating::JobCommand::shell("true"),
        )
        .runner(runner.clone())
        .build()
        .await
        .unwrap();
    let report = stream.run_until_idle(&at(12)).await.unwrap();
    let name = report.created.as_ref().unwrap().name.clone();
    assert!(report.published.is_empty(), "{report}");
    let mut started = runner.started();
    started.sort();
    assert_eq!(
        started,
        [
            format!("{name}-e2e"),
            format!("{name}-e2e-1"),
            format!("{name}-gcp")
        ]
    );
    let status = stream.status().await.unwrap();
    assert_eq!(phases(&status), [(name.clone(), Phase::Rejected)]);
    assert_eq!(
        status.releases[0].reason.as_deref(),
        Some("VerificationFailed")
    );
    assert_eq!(tag_digest(&stream, "next").await, None);

    stream
        .accept(&name, "Manually accepted per TRT")
        .await
        .unwrap();
    let after = stream.tick(&at(13)).await.unwrap();
    assert_eq!(after.published.len(), 1, "{after}");
    assert_eq!(tag_digest(&stream, "next").await, status.releases[0].digest);
    // Publishing is not repeated.
    assert!(stream.tick(&at(14)).await.unwrap().published.is_empty());

    let e = stream.accept("4.19.0-nope", "x").await.unwrap_err();
    assert!(e.to_string().contains("4.19.0-nope"), "{e}");
}

#[tokio::test]
async fn runs_lost_with_a_process_are_started_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let state = dir.join("state");
    let first = Arc::new(Scripted::default().hold("e2e"));
    let name = {
        let stream = builder(dir)
            .state_dir(&state)
            .job(
                VerifyJob::blocking("e2e", "e2e"),
                okd_streams::gating::JobCommand::shell("true"),
            )
            .runner(first.clone())
            .build()
            .await
            .unwrap();
        let r = stream.tick(&at(12)).await.unwrap();
        assert_eq!(r.running, 1);
        r.created.unwrap().name
    };
    // A new process: its runner knows nothing of the first one's runs.
    let second = Arc::new(Scripted::default());
    let stream = builder(dir)
        .state_dir(&state)
        .job(
            VerifyJob::blocking("e2e", "e2e"),
            okd_streams::gating::JobCommand::shell("true"),
        )
        .runner(second.clone())
        .build()
        .await
        .unwrap();
    let r = stream.run_until_idle(&at(13)).await.unwrap();
    assert_eq!(r.restarted, [format!("{name}-e2e")], "{r}");
    assert_eq!(second.started(), [format!("{name}-e2e")]);
    assert!(r.created.is_none(), "no second release: {r}");
    assert_eq!(
        phases(&stream.status().await.unwrap()),
        [(name, Phase::Accepted)]
    );
}

#[tokio::test]
async fn a_failed_build_attempt_is_retried_with_the_same_version_then_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let stream = builder(dir)
        .mirror(Arc::new(FlakyMirror {
            failures: Mutex::new(1),
        }))
        .build()
        .await
        .unwrap();
    let r1 = stream.tick(&at(12)).await.unwrap();
    assert!(r1.created.is_none());
    assert!(
        r1.errors.iter().any(|e| e.contains("registry unavailable")),
        "{r1}"
    );
    let creating = stream.status().await.unwrap().creating;
    assert_eq!(
        creating.as_deref(),
        Some("4.19.0-0.okd-scos-2025-06-01-120000")
    );
    // An hour later the same candidate is finished, not a new one named after the new time.
    let r2 = stream.tick(&at(13)).await.unwrap();
    let c = r2.created.expect("the planned release");
    assert!(c.resumed);
    assert_eq!(c.name, "4.19.0-0.okd-scos-2025-06-01-120000");
    assert_eq!(
        c.mirrored.as_deref(),
        Some("mirrored 4.19.0-0.okd-scos-2025-06-01-120000")
    );
    assert_eq!(
        tag_digest(&stream, &c.name).await.as_deref(),
        Some(c.digest.as_str())
    );

    // A stream whose mirror never works marks the candidate Failed after its attempts.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let stream = builder(dir)
        .mirror(Arc::new(FlakyMirror {
            failures: Mutex::new(u32::MAX),
        }))
        .creation_attempts(2)
        .build()
        .await
        .unwrap();
    stream.tick(&at(12)).await.unwrap();
    stream.tick(&at(12)).await.unwrap();
    let status = stream.status().await.unwrap();
    assert_eq!(status.releases[0].phase, Phase::Failed);
    assert_eq!(
        status.releases[0].reason.as_deref(),
        Some("CreateReleaseFailed")
    );
    assert!(status.creating.is_none());
}

#[tokio::test]
async fn rejected_releases_beyond_the_limit_are_collected_with_their_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p = common::upstream(dir, 1).await;
    let mut policy = GatingPolicy::builder("4.19.0-0.okd-scos")
        .target("okd-demo/release")
        .max_unready_releases(1)
        .gc(GcPolicy {
            keep_accepted: 5,
            keep_failed: 5,
            keep_rejected: 1,
        })
        .build()
        .unwrap();
    policy.jobs.clear();
    let stream = builder(dir)
        .policy(policy)
        .job(
            VerifyJob::blocking("e2e", "e2e"),
            okd_streams::gating::JobCommand::shell("true"),
        )
        .runner(Arc::new(
            Scripted::default().fail("e2e", &[RunState::Failed]),
        ))
        .build()
        .await
        .unwrap();
    let first = stream
        .run_until_idle(&at(12))
        .await
        .unwrap()
        .created
        .unwrap()
        .name;
    assert!(tag_digest(&stream, &first).await.is_some());
    common::advance(dir, &p, 2).await;
    // The second release is rejected too: only one rejected release is kept.
    let second = stream.run_until_idle(&at(13)).await.unwrap();
    assert!(second.created.is_some());
    assert_eq!(second.removed, std::slice::from_ref(&first), "{second}");
    assert_eq!(tag_digest(&stream, &first).await, None);
    let names: Vec<(String, Phase)> = phases(&stream.status().await.unwrap());
    assert_eq!(names.len(), 1, "{names:?}");
}
