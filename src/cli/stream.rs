//! `okd-streams stream …`

use clap::Subcommand;

use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Lists what this command group will offer (none yet).
    Plan,
}

pub async fn run(c: StreamCommand, _stores: &Stores) -> Result<(), CliError> {
    match c {
        StreamCommand::Plan => {
            Err("okd-streams stream: no subcommands are available in this build".into())
        }
    }
}
