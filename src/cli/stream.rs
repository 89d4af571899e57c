//! `okd-streams stream …`: run a stream file, look at it, override verdicts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use okd_streams::stream::jobs::{VerifyArgs, run_verify};
use okd_streams::stream::{Stream, StreamFile, TickContext, schema};

use super::{CliError, store::Stores};

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
    /// Prints the JSON Schema of stream files.
    Schema,
    /// Runs payload checks on a release (what check jobs run).
    #[command(hide = true)]
    Verify(VerifyArgs),
}

async fn open(file: &Path, stores: &Stores) -> Result<Stream, CliError> {
    let f = StreamFile::load(file)?;
    let builder = f
        .to_builder(file)?
        .registry_options(stores.resolver().registries().options().clone());
    Ok(builder.build().await?)
}

pub async fn run(c: StreamCommand, stores: &Stores) -> Result<(), CliError> {
    match c {
        StreamCommand::Run {
            file,
            once,
            interval,
        } => {
            let stream = open(&file, stores).await?;
            if once {
                let report = stream.run_until_idle(&TickContext::now()).await?;
                print!("{report}");
                return Ok(());
            }
            let interval = interval.unwrap_or(Duration::from_secs(300));
            loop {
                let report = stream.tick(&TickContext::now()).await?;
                print!("{report}");
                let wait = if report.running > 0 || !report.undecided.is_empty() {
                    Duration::from_secs(2).min(interval)
                } else {
                    interval
                };
                tokio::time::sleep(wait).await;
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
        StreamCommand::Schema => {
            print!("{}", schema::stream_schema());
            Ok(())
        }
        StreamCommand::Verify(args) => {
            for line in run_verify(&args).await? {
                println!("{line}");
            }
            Ok(())
        }
    }
}
