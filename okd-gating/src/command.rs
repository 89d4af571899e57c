//! [`CommandJobRunner`]: verification jobs as local processes.
//!
//! Each job maps to a command (by verification job name, else by prow job name, else a default).
//! The process runs in its own process group with the job's environment, stdin closed, and its
//! stdout and stderr written to `<log dir>/<release>/<run name>.stdout` / `.stderr`. Exit code 0
//! passes; anything else fails. A run that outlives its timeout, or is cancelled, is killed with
//! its whole process group.
//!
//! The environment is, from weakest to strongest: the runner's process environment, what
//! [`CommandJobRunner::with_env`] sets for every job (for instance `REGISTRY_AUTH_FILE`, so that
//! skopeo, podman and oc in every job use the credentials the runner's owner uses), the
//! command's own [`JobCommand::env`], and the request's release variables
//! ([`JobRequest::environment`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), okd_gating::Error> {
//! use std::time::Duration;
//! use okd_gating::{CommandJobRunner, JobCommand};
//! let runner = CommandJobRunner::new("/var/log/okd-gating")
//!     .with_env("REGISTRY_AUTH_FILE", "/etc/okd-gating/auth.json")
//!     .with_command("aws", JobCommand::shell("./e2e.sh \"$RELEASE_IMAGE_LATEST\"").timeout(Duration::from_secs(4 * 3600)));
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::Error;
use crate::record::RunState;
use crate::runner::{JobHandle, JobRequest, JobResult, JobRunner, JobStatus};

/// The default timeout of a job: four hours, the length of the longest CI jobs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// A command to run for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCommand {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment (the job's own environment wins on conflicts).
    pub env: BTreeMap<String, String>,
    /// Kill it after this long (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// Working directory.
    pub dir: Option<PathBuf>,
}

impl JobCommand {
    /// Runs `program` with `args`.
    pub fn new(program: &str, args: &[&str]) -> JobCommand {
        JobCommand {
            program: program.to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            timeout: None,
            dir: None,
        }
    }

    /// Runs `script` with `sh -c`.
    pub fn shell(script: &str) -> JobCommand {
        JobCommand::new("sh", &["-c", script])
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> JobCommand {
        self.timeout = Some(timeout);
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> JobCommand {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Sets the working directory.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> JobCommand {
        self.dir = Some(dir.into());
        self
    }
}

#[derive(Debug)]
struct Running {
    result: Arc<Mutex<Option<JobResult>>>,
    cancel: Option<oneshot::Sender<()>>,
}

/// Runs verification jobs as local processes.
pub struct CommandJobRunner {
    log_dir: PathBuf,
    commands: BTreeMap<String, JobCommand>,
    default: Option<JobCommand>,
    env: BTreeMap<String, OsString>,
    runs: Mutex<HashMap<String, Running>>,
    next: AtomicU64,
}

impl fmt::Debug for CommandJobRunner {
    // The values set with `with_env` may be secrets: only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandJobRunner")
            .field("log_dir", &self.log_dir)
            .field("commands", &self.commands)
            .field("default", &self.default)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CommandJobRunner {
    /// A runner keeping logs under `log_dir`, with no commands yet.
    pub fn new(log_dir: impl Into<PathBuf>) -> CommandJobRunner {
        CommandJobRunner {
            log_dir: log_dir.into(),
            commands: BTreeMap::new(),
            default: None,
            env: BTreeMap::new(),
            runs: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }

    /// Runs `command` for the job whose verification name or prow job name is `key`.
    pub fn with_command(mut self, key: &str, command: JobCommand) -> CommandJobRunner {
        self.commands.insert(key.to_string(), command);
        self
    }

    /// Runs `command` for jobs without a command of their own.
    pub fn with_default(mut self, command: JobCommand) -> CommandJobRunner {
        self.default = Some(command);
        self
    }

    /// Sets `key` to `value` in the environment of every job this runner starts. A job whose
    /// command sets `key` itself ([`JobCommand::env`]) keeps its own value, and the release
    /// variables of the request ([`JobRequest::environment`]) cannot be replaced this way.
    ///
    /// `Debug` output shows the names of these variables, never their values.
    pub fn with_env(mut self, key: &str, value: impl Into<OsString>) -> CommandJobRunner {
        self.env.insert(key.to_string(), value.into());
        self
    }

    /// Where the logs of a run go: `(stdout, stderr)`.
    pub fn log_paths(&self, request: &JobRequest) -> (PathBuf, PathBuf) {
        let dir = self.log_dir.join(safe_name(&request.release.name));
        let base = safe_name(&request.run_name());
        (
            dir.join(format!("{base}.stdout")),
            dir.join(format!("{base}.stderr")),
        )
    }

    fn command_for(&self, request: &JobRequest) -> Result<&JobCommand, Error> {
        self.commands
            .get(&request.job)
            .or_else(|| self.commands.get(&request.prow_job))
            .or(self.default.as_ref())
            .ok_or_else(|| Error::NoCommand {
                job: request.job.clone(),
                prow_job: request.prow_job.clone(),
            })
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn create_log(path: &Path) -> Result<std::fs::File, std::io::Error> {
    Ok(tokio::fs::File::create(path).await?.into_std().await)
}

fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    // The child leads its own process group, so this reaches everything it started.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[async_trait]
impl JobRunner for CommandJobRunner {
    async fn start(&self, request: &JobRequest) -> Result<JobHandle, Error> {
        let command = self.command_for(request)?.clone();
        let fail = |message: String| Error::StartFailed {
            release: request.release.name.clone(),
            job: request.job.clone(),
            message,
        };
        let (out_path, err_path) = self.log_paths(request);
        if let Some(dir) = out_path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::io(dir, e))?;
        }
        let stdout = create_log(&out_path)
            .await
            .map_err(|e| Error::io(&out_path, e))?;
        let stderr = create_log(&err_path)
            .await
            .map_err(|e| Error::io(&err_path, e))?;
        let mut cmd = tokio::process::Command::new(&command.program);
        cmd.args(&command.args)
            .envs(&self.env)
            .envs(&command.env)
            .envs(request.environment())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &command.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(format!("{}: {e}", command.program)))?;
        let pid = child.id();
        let timeout = command.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let result = Arc::new(Mutex::new(None));
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let log = out_path.display().to_string();
        let slot = result.clone();
        tokio::spawn(async move {
            let ended = tokio::select! {
                status = child.wait() => Ok(status),
                _ = tokio::time::sleep(timeout) => Err(false),
                _ = cancel_rx => Err(true),
            };
            let outcome = match ended {
                Ok(Ok(status)) => {
                    // Whatever the job left running in its group goes with it.
                    kill_group(pid);
                    let code = status.code();
                    JobResult {
                        state: if status.success() {
                            RunState::Succeeded
                        } else {
                            RunState::Failed
                        },
                        exit_code: code,
                        timed_out: false,
                        cancelled: false,
                        log: Some(log),
                        message: match code {
                            Some(c) => format!("exited with code {c}"),
                            None => "killed by a signal".to_string(),
                        },
                    }
                }
                Ok(Err(e)) => JobResult {
                    state: RunState::Failed,
                    exit_code: None,
                    timed_out: false,
                    cancelled: false,
                    log: Some(log),
                    message: format!("cannot wait for the process: {e}"),
                },
                Err(cancelled) => {
                    kill_group(pid);
                    let _ = child.wait().await;
                    JobResult {
                        state: RunState::Failed,
                        exit_code: None,
                        timed_out: !cancelled,
                        cancelled,
                        log: Some(log),
                        message: if cancelled {
                            "cancelled".to_string()
                        } else {
                            format!("timed out after {}", crate::GoDuration(timeout))
                        },
                    }
                }
            };
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        });
        let id = format!(
            "{}#{}",
            request.run_name(),
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        self.runs().insert(
            id.clone(),
            Running {
                result,
                cancel: Some(cancel_tx),
            },
        );
        Ok(JobHandle(id))
    }

    async fn poll(&self, handle: &JobHandle) -> Result<JobStatus, Error> {
        let runs = self.runs();
        let run = runs.get(&handle.0).ok_or_else(|| Error::UnknownHandle {
            handle: handle.0.clone(),
        })?;
        let result = run
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(match result {
            Some(r) => JobStatus::Finished(r),
            None => JobStatus::Running,
        })
    }

    async fn cancel(&self, handle: &JobHandle) -> Result<(), Error> {
        let mut runs = self.runs();
        let run = runs
            .get_mut(&handle.0)
            .ok_or_else(|| Error::UnknownHandle {
                handle: handle.0.clone(),
            })?;
        if let Some(tx) = run.cancel.take() {
            let _ = tx.send(());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReleaseRef, RunKind};

    fn request(job: &str) -> JobRequest {
        JobRequest {
            release: ReleaseRef {
                name: "4.19.0-okd-scos.2".into(),
                pullspec: "quay.io/okd/scos-release:4.19.0-okd-scos.2".into(),
            },
            job: job.into(),
            prow_job: format!("periodic-{job}"),
            kind: RunKind::Verify,
            attempt: 0,
            upgrade_from: None,
            multi_job_analysis: false,
            started: chrono::Utc::now(),
        }
    }

    async fn stdout_of(runner: &CommandJobRunner, job: &str) -> String {
        let req = request(job);
        let handle = runner.start(&req).await.unwrap();
        for _ in 0..600 {
            if let JobStatus::Finished(r) = runner.poll(&handle).await.unwrap() {
                assert_eq!(r.state, RunState::Succeeded, "{r:?}");
                return std::fs::read_to_string(runner.log_paths(&req).0).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {job} did not finish within 30 s");
    }

    const PRINT: &str = "echo \"auth=${REGISTRY_AUTH_FILE-unset} latest=$RELEASE_IMAGE_LATEST\"";

    #[tokio::test]
    async fn runner_environment_reaches_every_job_beneath_the_jobs_own() {
        let dir = tempfile::tempdir().unwrap();
        let runner = CommandJobRunner::new(dir.path())
            .with_env("REGISTRY_AUTH_FILE", "/etc/okd/auth.json")
            .with_env("RELEASE_IMAGE_LATEST", "quay.io/elsewhere/release:x")
            .with_command("plain", JobCommand::shell(PRINT))
            .with_command(
                "own",
                JobCommand::shell(PRINT).env("REGISTRY_AUTH_FILE", "/home/ci/auth.json"),
            )
            .with_default(JobCommand::shell(PRINT));
        let release = "quay.io/okd/scos-release:4.19.0-okd-scos.2";
        assert_eq!(
            stdout_of(&runner, "plain").await,
            format!("auth=/etc/okd/auth.json latest={release}\n")
        );
        assert_eq!(
            stdout_of(&runner, "other").await,
            format!("auth=/etc/okd/auth.json latest={release}\n"),
            "the default command gets it too"
        );
        assert_eq!(
            stdout_of(&runner, "own").await,
            format!("auth=/home/ci/auth.json latest={release}\n"),
            "a command's own value wins"
        );
    }

    #[tokio::test]
    async fn without_runner_environment_nothing_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let runner = CommandJobRunner::new(dir.path()).with_default(JobCommand::shell(
            "echo \"auth=${OKD_GATING_TEST_RUNNER_ONLY-unset}\"",
        ));
        assert_eq!(stdout_of(&runner, "e2e").await, "auth=unset\n");
        let runner = runner.with_env("OKD_GATING_TEST_RUNNER_ONLY", "set");
        assert_eq!(stdout_of(&runner, "e2e").await, "auth=set\n");
    }

    #[test]
    fn debug_shows_names_not_values() {
        let runner = CommandJobRunner::new("/tmp/logs").with_env("REGISTRY_TOKEN", "s3cret-value");
        let debug = format!("{runner:?}");
        assert!(debug.contains("REGISTRY_TOKEN"), "{debug}");
        assert!(!debug.contains("s3cret-value"), "{debug}");
    }
}
