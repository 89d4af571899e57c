//! `okd-streams gate …`

use clap::Subcommand;

use super::CliError;

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Lists what this command group will offer (none yet).
    Plan,
}

pub async fn run(c: GateCommand) -> Result<(), CliError> {
    match c {
        GateCommand::Plan => {
            Err("okd-streams gate: no subcommands are available in this build".into())
        }
    }
}
