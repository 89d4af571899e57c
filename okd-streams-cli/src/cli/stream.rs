//! `okd-streams stream …`: run a stream file, look at it, override verdicts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use okd_streams::stream::jobs::{VerifyArgs, run_verify_with};
use okd_streams::stream::{
    JobOutcome, Stream, StreamFile, TickContext, TickReport, export, schema,
};

use super::{CliError, store::Stores};

mod serve;
mod verify;

use verify::VerifyFlags;

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Runs a stream file: tick after tick, or until nothing is in flight (--once).
    Run {
        /// The stream file.
        file: PathBuf,
        /// Tick until no job runs and no release is undecided, then exit.
        #[arg(long, conflicts_with = "interval")]
        once: bool,
        /// Time between rounds when nothing is in flight (default 5m).
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        interval: Option<Duration>,
        #[command(flatten)]
        stage: Box<StageArgs>,
    },
    /// Shows a stream's releases, their phases and jobs, and its publications.
    Status {
        /// The stream file.
        file: PathBuf,
    },
    /// Accepts a release whatever its jobs say.
    Accept {
        /// The stream file.
        file: PathBuf,
        /// The release.
        version: String,
        /// Why.
        #[arg(long, default_value = "Manually accepted")]
        reason: String,
    },
    /// Rejects a release whatever its jobs say.
    Reject {
        /// The stream file.
        file: PathBuf,
        /// The release.
        version: String,
        /// Why.
        #[arg(long, default_value = "Manually rejected")]
        reason: String,
    },
    /// Tags an accepted release of one stream into a Stable stream, whose own gate then
    /// decides it (nightly → 4-scos-next → 4-scos-stable).
    Promote {
        /// The stream file the release is in.
        from: PathBuf,
        /// The release.
        release: String,
        /// The Stable stream's file.
        #[arg(long)]
        to: PathBuf,
    },
    /// Writes the stream's report pages (index.html and one page per release).
    Report {
        /// The stream file.
        file: PathBuf,
        /// Directory to write the pages into.
        #[arg(long, short, default_value = "report")]
        out: PathBuf,
    },
    /// Serves streams over HTTP while they run: the Cincinnati /graph, the release-controller's
    /// API (/api/v1/…), the report pages and the signatures (access log with -v).
    Serve {
        /// The stream files (one stream each).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Writes the stream's upgrade graph of one channel (what `serve` answers on /graph).
    Graph {
        /// The stream file.
        file: PathBuf,
        /// The channel (`stable-scos-4`, `nightly`, a promotion name, …).
        #[arg(long, default_value = "")]
        channel: String,
        /// Cincinnati JSON or Graphviz DOT.
        #[arg(short = 'o', long = "output", default_value = "json", value_parser = ["json", "dot"])]
        output: String,
    },
    /// Exports the stream's stages as a Tekton Pipeline and Tasks.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Prints the JSON Schema of stream files.
    Schema,
    /// Runs payload checks on a release (what check jobs run).
    #[command(hide = true)]
    Verify(Box<VerifyFlags>),
}

/// Export formats.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A `tekton.dev/v1` Pipeline with one Task per stage and job.
    Tekton {
        /// The stream file.
        file: PathBuf,
        /// The okd-streams container image the stages run in.
        #[arg(long, default_value = "quay.io/okd/okd-streams:latest")]
        image: String,
        /// The stream file's path in the state workspace.
        #[arg(long, default_value = "stream.yaml")]
        workspace_file: String,
        /// Directory to write the YAML files into.
        #[arg(long, short, default_value = "tekton")]
        out: PathBuf,
    },
}

/// Running one stage of a round, as the exported Tekton tasks do.
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// Run only this stage: assemble, mirror, gate or promote.
    #[arg(long, requires = "once")]
    stage: Option<String>,
    /// State directory (instead of the stream file's).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Upstream release image (instead of the stream file's).
    #[arg(long, value_name = "IMAGE")]
    upstream: Option<String>,
    /// The release a stage after assemble works on.
    #[arg(long)]
    release: Option<String>,
    /// Write stage result NAME to PATH (release-name, release-image, phase,
    /// upgrade-from-<job>).
    #[arg(long = "result", value_name = "NAME=PATH")]
    results: Vec<String>,
    /// A job's outcome for the gate: JOB=Succeeded|Failed.
    #[arg(long = "job-result", value_name = "JOB=OUTCOME")]
    job_results: Vec<String>,
    /// Attempts a job made, for the gate: JOB=N.
    #[arg(long = "job-attempts", value_name = "JOB=N")]
    job_attempts: Vec<String>,
}

async fn open_with(
    file: &Path,
    stores: &Stores,
    stage: Option<&StageArgs>,
) -> Result<Stream, CliError> {
    let f = StreamFile::load(file)?;
    let mut builder = f
        .to_builder(file)?
        .registry_options(stores.map().registry_options().cloned().unwrap_or_default());
    if let Some(s) = stage {
        if let Some(dir) = &s.state {
            builder = builder.state_dir(dir);
        }
        if let Some(u) = &s.upstream {
            builder = builder.upstream_image(u);
        }
    }
    Ok(builder.build().await?)
}

async fn open(file: &Path, stores: &Stores) -> Result<Stream, CliError> {
    open_with(file, stores, None).await
}

fn pair<'a>(arg: &'a str, what: &str) -> Result<(&'a str, &'a str), CliError> {
    arg.split_once('=')
        .ok_or_else(|| format!("{what} {arg:?} is not NAME=VALUE").into())
}

async fn run_stage(stream: &Stream, args: &StageArgs, stage: &str) -> Result<(), CliError> {
    let ctx = TickContext::now();
    let release = || {
        args.release
            .clone()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| CliError::from(format!("--stage {stage} needs --release")))
    };
    let outcome = match stage {
        "assemble" => stream.assemble(&ctx).await?,
        "mirror" => stream.mirrored(&release()?).await?,
        "gate" => {
            let mut attempts = std::collections::BTreeMap::new();
            for a in &args.job_attempts {
                let (job, n) = pair(a, "--job-attempts")?;
                attempts.insert(
                    job.to_string(),
                    n.parse::<u32>()
                        .map_err(|e| format!("--job-attempts {a}: {e}"))?,
                );
            }
            let mut outcomes = Vec::new();
            for r in &args.job_results {
                let (job, state) = pair(r, "--job-result")?;
                let state = match state {
                    "Succeeded" => okd_streams::gating::RunState::Succeeded,
                    "Failed" => okd_streams::gating::RunState::Failed,
                    // An upgrade job with nothing to upgrade from: nothing to record, said.
                    "NotRun" => {
                        println!("job {job}: not run: no upgrade source (nothing recorded)");
                        continue;
                    }
                    other => {
                        return Err(format!(
                            "--job-result {job}: {other:?} is not Succeeded, Failed or NotRun"
                        )
                        .into());
                    }
                };
                outcomes.push(JobOutcome {
                    job: job.to_string(),
                    state,
                    attempts: attempts.get(job).copied().unwrap_or(1),
                });
            }
            stream.gate(&ctx, &release()?, &outcomes).await?
        }
        "promote" => stream.promote(&ctx).await?,
        other => {
            return Err(
                format!("unknown stage {other:?} (assemble, mirror, gate, promote)").into(),
            );
        }
    };
    print!("{}", outcome.report);
    for r in &args.results {
        let (name, path) = pair(r, "--result")?;
        let value = match name {
            "release-name" => outcome.release.clone().unwrap_or_default(),
            "release-image" => outcome.image.clone().unwrap_or_default(),
            "phase" => outcome.phase.map(|p| format!("{p:?}")).unwrap_or_default(),
            // Exactly the name the export gave the result (long names carry a hash suffix):
            // a prefix match would hand one job another job's source.
            upgrade if upgrade.starts_with("upgrade-from-") => outcome
                .upgrade_from
                .iter()
                .find(|(job, _)| okd_tekton::upgrade_from_result(job) == upgrade)
                .map(|(_, from)| from.clone())
                .unwrap_or_default(),
            other => return Err(format!("unknown stage result {other:?}").into()),
        };
        std::fs::write(path, value).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

/// How long `stream run` waits before its next tick: soon while runs go or releases wait on
/// jobs, never past the time the gate asked to be woken at (a retry backoff, the creation
/// interval), and at most `interval`.
fn next_tick(
    report: &TickReport,
    interval: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let busy = report.running > 0 || (!report.undecided.is_empty() && !report.stalled);
    let mut wait = if busy {
        Duration::from_secs(2).min(interval)
    } else {
        interval
    };
    if let Some(at) = report.wake_at {
        wait = wait.min((at - now).to_std().unwrap_or(Duration::ZERO));
    }
    wait
}

pub async fn run(c: StreamCommand, stores: &Stores) -> Result<(), CliError> {
    match c {
        StreamCommand::Run {
            file,
            once,
            interval,
            stage,
        } => {
            let stream = open_with(&file, stores, Some(&stage)).await?;
            if let Some(name) = &stage.stage {
                return run_stage(&stream, &stage, name).await;
            }
            if once {
                let report = stream.run_until_idle(&TickContext::now()).await?;
                print!("{report}");
                return match report.errors.first() {
                    // The work failed: say so in the exit status, with the first cause.
                    Some(e) => Err(format!(
                        "stream {}: {} error(s), first: {e}",
                        stream.name(),
                        report.errors.len()
                    )
                    .into()),
                    None => Ok(()),
                };
            }
            let interval = interval.unwrap_or(Duration::from_secs(300));
            loop {
                let report = stream.tick(&TickContext::now()).await?;
                print!("{report}");
                tokio::time::sleep(next_tick(&report, interval, chrono::Utc::now())).await;
            }
        }
        StreamCommand::Status { file } => {
            let stream = open(&file, stores).await?;
            print!("{}", stream.status().await?);
            Ok(())
        }
        StreamCommand::Accept {
            file,
            version,
            reason,
        } => {
            let stream = open(&file, stores).await?;
            stream.accept(&version, &reason).await?;
            println!("{version}: accepted ({reason})");
            Ok(())
        }
        StreamCommand::Reject {
            file,
            version,
            reason,
        } => {
            let stream = open(&file, stores).await?;
            stream.reject(&version, &reason).await?;
            println!("{version}: rejected ({reason})");
            Ok(())
        }
        StreamCommand::Promote { from, release, to } => {
            let source = open(&from, stores).await?;
            let stable = open(&to, stores).await?;
            let adopted = stable.adopt(&source, &release).await?;
            let already = if adopted.already {
                " (already there)"
            } else {
                ""
            };
            println!(
                "{release}: {} -> {} {}{already}",
                source.name(),
                stable.name(),
                adopted.image
            );
            Ok(())
        }
        StreamCommand::Report { file, out } => {
            let stream = open(&file, stores).await?;
            let history = stream.history().await?;
            let mut model = okd_report::ReportModel::from_stream(
                stream.name(),
                &history.state,
                stream.policy(),
            );
            model.generated = Some(chrono::Utc::now());
            for b in &history.builds {
                model.record_build(&b.name, &b.digest, b.diff.as_ref());
            }
            if let Some(signer) = stream.signer() {
                for r in &history.state.releases {
                    let digest = r
                        .pullspec
                        .rsplit_once('@')
                        .and_then(|(_, d)| d.parse().ok());
                    if digest.is_some_and(|d| signer.is_signed(&d)) {
                        model.record_signature(&r.name);
                    }
                }
            }
            let written =
                tokio::task::spawn_blocking(move || okd_report::write(&model, &out)).await??;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
        StreamCommand::Serve { files, listen } => serve::serve(&files, listen).await,
        StreamCommand::Graph {
            file,
            channel,
            output,
        } => serve::graph(&file, &channel, &output).await,
        StreamCommand::Export(ExportCommand::Tekton {
            file,
            image,
            workspace_file,
            out,
        }) => {
            let stream = open(&file, stores).await?;
            let spec = export::tekton_spec(&stream, &image, &workspace_file);
            let written =
                tokio::task::spawn_blocking(move || okd_tekton::export(&spec, &out)).await??;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
        StreamCommand::Schema => {
            print!("{}", schema::stream_schema());
            Ok(())
        }
        StreamCommand::Verify(flags) => {
            // The command's global registry options (registries.conf, auth file, --cert-dir),
            // with the job's insecure hosts added.
            let args = VerifyArgs::from(*flags);
            for line in run_verify_with(&args, stores.options().clone()).await? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};

    #[test]
    fn the_next_tick_comes_no_later_than_the_gate_asked() {
        let now = Utc::now();
        let hour = Duration::from_secs(3600);
        let idle = TickReport::default();
        assert_eq!(next_tick(&idle, hour, now), hour);
        let backoff = TickReport {
            wake_at: Some(now + TimeDelta::seconds(120)),
            ..TickReport::default()
        };
        assert_eq!(next_tick(&backoff, hour, now), Duration::from_secs(120));
        let late = TickReport {
            wake_at: Some(now - TimeDelta::seconds(5)),
            ..TickReport::default()
        };
        assert_eq!(next_tick(&late, hour, now), Duration::ZERO);
        let running = TickReport {
            running: 1,
            ..TickReport::default()
        };
        assert_eq!(next_tick(&running, hour, now), Duration::from_secs(2));
        let stalled = TickReport {
            undecided: vec!["r".into()],
            stalled: true,
            ..TickReport::default()
        };
        assert_eq!(next_tick(&stalled, hour, now), hour);
    }
}
