//! [`CommandJobRunner`]: verification jobs as local processes.
//!
//! Each job maps to a command (by verification job name, else by prow job name, else a default).
//! The process runs in its own process group with the job's environment, stdin closed, and its
//! stdout and stderr written to `<log dir>/<release>/<run name>.stdout` / `.stderr`. Exit code 0
//! passes; anything else fails. A run that outlives its timeout, or is cancelled, is killed with
//! its whole process group.
//!
//! ```no_run
//! # async fn demo() -> Result<(), okd_gating::Error> {
//! use std::time::Duration;
//! use okd_gating::{CommandJobRunner, JobCommand};
//! let runner = CommandJobRunner::new("/var/log/okd-gating")
//!     .with_command("aws", JobCommand::shell("./e2e.sh \"$RELEASE_IMAGE_LATEST\"").timeout(Duration::from_secs(4 * 3600)));
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
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
#[derive(Debug)]
pub struct CommandJobRunner {
    log_dir: PathBuf,
    commands: BTreeMap<String, JobCommand>,
    default: Option<JobCommand>,
    runs: Mutex<HashMap<String, Running>>,
    next: AtomicU64,
}

impl CommandJobRunner {
    /// A runner keeping logs under `log_dir`, with no commands yet.
    pub fn new(log_dir: impl Into<PathBuf>) -> CommandJobRunner {
        CommandJobRunner {
            log_dir: log_dir.into(),
            commands: BTreeMap::new(),
            default: None,
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
