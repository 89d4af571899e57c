//! Argument parsing and dispatch for the `okd-streams` binary.

mod coreos;
mod gate;
mod jsonpath;
mod mirror;
mod output;
mod release;
mod store;
mod stream;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Errors the CLI reports: anything with a message and a cause chain.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// okd-streams: compose, build, mirror, gate and promote OKD streams.
#[derive(Debug, Parser)]
#[command(name = "okd-streams", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Registry to reach without TLS verification, over plain HTTP if it does not speak TLS
    /// (HOST[:PORT]; repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]", global = true)]
    pub insecure_registries: Vec<String>,
    /// Credentials file (containers auth.json or docker config.json format). The jobs a stream
    /// runs get its absolute path in REGISTRY_AUTH_FILE.
    #[arg(long, value_name = "PATH", global = true)]
    pub authfile: Option<PathBuf>,
    /// Directory of certificates for every registry, as skopeo's --cert-dir: *.crt files are
    /// trusted CAs, NAME.cert with NAME.key a client certificate. Without it each registry
    /// HOST[:PORT] uses the first existing $HOME/.config/containers/certs.d/HOST[:PORT],
    /// /etc/containers/certs.d/HOST[:PORT] or /etc/docker/certs.d/HOST[:PORT]. A stream's
    /// built-in checks get it as their own --cert-dir.
    #[arg(long = "cert-dir", value_name = "DIR", global = true)]
    pub cert_dir: Option<PathBuf>,
    /// registries.conf (containers-registries.conf(5), version 2) to apply, alone: insecure
    /// locations, blocked prefixes, mirrors and location rewrites for pulls. Without it:
    /// $CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf with its
    /// registries.conf.d drop-ins (or the per-user $HOME/.config/containers/registries.conf
    /// when it exists). The jobs a stream runs get a file given here (or by the variable) as
    /// CONTAINERS_REGISTRIES_CONF.
    #[arg(long = "registries-conf", value_name = "FILE", global = true)]
    pub registries_conf: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Release payloads: info, diff, new, extract (what `oc adm release` does).
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Mirror release payloads and images between registries and disk, or an oc-mirror
    /// ImageSetConfiguration (`mirror --config isc.yaml --to DEST`).
    Mirror(mirror::MirrorArgs),
    /// CoreOS: layered OS images, inspection, stream metadata.
    #[command(subcommand)]
    Coreos(coreos::CoreosCommand),
    /// Release gating: check and simulate release-controller configs.
    #[command(subcommand)]
    Gate(gate::GateCommand),
    /// Whole streams: run, status, accept/reject, export to Tekton, report.
    #[command(subcommand)]
    Stream(stream::StreamCommand),
}

/// Sets up log output on stderr; `RUST_LOG` overrides `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let stores = store::Stores::new(&cli.global)?;
    match cli.command {
        Command::Release(c) => release::run(c, &stores).await,
        Command::Mirror(c) => mirror::run(c, &stores).await,
        Command::Coreos(c) => coreos::run(c, &stores).await,
        Command::Gate(c) => gate::run(c).await,
        Command::Stream(c) => stream::run(c, &stores).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
