//! `okd-streams mirror …`

use clap::Subcommand;

use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Lists what this command group will offer (none yet).
    Plan,
}

pub async fn run(c: MirrorCommand, _stores: &Stores) -> Result<(), CliError> {
    match c {
        MirrorCommand::Plan => {
            Err("okd-streams mirror: no subcommands are available in this build".into())
        }
    }
}
