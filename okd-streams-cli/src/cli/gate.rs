//! `okd-streams gate …`: check and simulate release-controller gating configs.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use okd_gating::{
    GatingPolicy, ModelDuration, ParseMode, SimulationModel, SimulationReport, check, simulate,
};
use serde::Serialize;

use super::CliError;
use super::output::{OutputFormat, print_json, print_text};

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Validates a release-controller config (ReleaseConfig JSON) and lists its blocking,
    /// informing and disabled jobs.
    Check(CheckArgs),
    /// Runs a config against a model of job durations and flake rates and reports how often
    /// releases would be accepted.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config file.
    #[arg(value_name = "CONFIG.json")]
    pub config: PathBuf,
    /// Validate like the CI of openshift/release (unknown fields and questionable combinations
    /// are errors) instead of like the controller at run time.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The config file.
    #[arg(value_name = "CONFIG.json")]
    pub config: PathBuf,
    /// The model (YAML or JSON): horizon, input change interval, job durations, flake and
    /// failure rates. Every field is optional.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Simulated days (overrides the model's horizon).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: Option<u32>,
    /// Random seed (overrides the model's).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Parse the config strictly (see `gate check --strict`).
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub async fn run(c: GateCommand) -> Result<(), CliError> {
    // Both are quick, pure and file-bound; keep them off the runtime threads all the same.
    let work = move || match c {
        GateCommand::Check(a) => run_check(a),
        GateCommand::Simulate(a) => run_simulate(a),
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("gate: worker thread failed: {e}"))?
}

fn mode(strict: bool) -> ParseMode {
    if strict {
        ParseMode::Strict
    } else {
        ParseMode::Lenient
    }
}

#[derive(Debug, Serialize)]
struct CheckDocument<'a> {
    file: &'a str,
    stream: &'a str,
    blocking: &'a [String],
    informing: &'a [String],
    disabled: &'a [String],
}

fn run_check(a: CheckArgs) -> Result<(), CliError> {
    let report = check(&a.config, mode(a.strict))?;
    if a.output.is_json() {
        let c = &report.classification;
        return print_json(&CheckDocument {
            file: &report.file,
            stream: &report.policy.name,
            blocking: &c.blocking,
            informing: &c.informing,
            disabled: &c.disabled,
        });
    }
    print_text(&report.to_text())
}

fn run_simulate(a: SimulateArgs) -> Result<(), CliError> {
    let policy = GatingPolicy::load(&a.config, mode(a.strict))?;
    let mut model = match &a.model {
        Some(path) => SimulationModel::load(path)?,
        None => SimulationModel::default(),
    };
    if let Some(days) = a.days {
        model.horizon = ModelDuration(Duration::from_secs(u64::from(days) * 86_400));
    }
    if let Some(seed) = a.seed {
        model.seed = seed;
    }
    let report = simulate(&policy, &model)?;
    if a.output.is_json() {
        return print_json(&report);
    }
    print_text(&simulation_text(&report))
}

fn simulation_text(r: &SimulationReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stream {}: {:.0} simulated days, seed {}",
        r.stream, r.horizon_days, r.seed
    );
    let _ = writeln!(out, "input changes:      {}", r.input_changes);
    let _ = writeln!(out, "releases created:   {}", r.releases_created);
    let _ = writeln!(
        out,
        "accepted:           {} ({:.1} per week)",
        r.accepted, r.accepted_per_week
    );
    let _ = writeln!(
        out,
        "rejected:           {} ({} only by flakes)",
        r.rejected, r.rejected_only_by_flakes
    );
    let _ = writeln!(out, "failed:             {}", r.failed);
    let _ = writeln!(out, "undecided:          {}", r.undecided);
    let t = &r.time_to_acceptance;
    let _ = writeln!(
        out,
        "change to accepted: mean {:.1} h, p50 {:.1} h, p90 {:.1} h, max {:.1} h ({} never accepted)",
        t.mean_hours, t.p50_hours, t.p90_hours, t.max_hours, t.never_accepted
    );
    let _ = writeln!(
        out,
        "job runs:           {} ({} retries, {:.0} h)",
        r.job_runs, r.retries, r.job_hours
    );
    if !r.jobs.is_empty() {
        let width = r.jobs.keys().map(String::len).max().unwrap_or(0).max(3);
        let _ = writeln!(
            out,
            "\n{:<width$}  {:>6}  {:>8}  {:>6}  {:>8}",
            "JOB", "RUNS", "FAILURES", "FLAKES", "HOURS"
        );
        for (name, j) in &r.jobs {
            let _ = writeln!(
                out,
                "{name:<width$}  {:>6}  {:>8}  {:>6}  {:>8.0}",
                j.runs, j.failures, j.flakes, j.hours
            );
        }
    }
    out
}
