//! `okd-streams release …`

use clap::Subcommand;

use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Lists what this command group will offer (none yet).
    Plan,
}

pub async fn run(c: ReleaseCommand, _stores: &Stores) -> Result<(), CliError> {
    match c {
        ReleaseCommand::Plan => {
            Err("okd-streams release: no subcommands are available in this build".into())
        }
    }
}
