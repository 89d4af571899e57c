//! `okd-streams coreos …`

use clap::Subcommand;

use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum CoreosCommand {
    /// Lists what this command group will offer (none yet).
    Plan,
}

pub async fn run(c: CoreosCommand, _stores: &Stores) -> Result<(), CliError> {
    match c {
        CoreosCommand::Plan => {
            Err("okd-streams coreos: no subcommands are available in this build".into())
        }
    }
}
