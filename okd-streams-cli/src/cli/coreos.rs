//! `okd-streams coreos …`: layered OS images, OS image inspection, stream metadata look-ups.

mod inspect;
mod layer;
mod lint;
mod stream_metadata;

use clap::Subcommand;

use super::{CliError, store::Stores};

#[derive(Debug, Subcommand)]
pub enum CoreosCommand {
    /// Derives an OS image from a base OS image: adds directories and files as new layers, sets
    /// labels; the base layers are never copied or rewritten.
    Layer(Box<layer::LayerArgs>),
    /// Lints the layers an OS image adds on its base: what a CoreOS node would lose, refuse or
    /// apply on new installs only. Exits non-zero on errors.
    Lint(lint::LintArgs),
    /// Shows an OS image: ostree labels, machine-os version, which layers are the base OS and
    /// which were added.
    Inspect(inspect::InspectArgs),
    /// Looks up artifacts (URL and SHA-256) in a CoreOS stream metadata file.
    StreamMetadata(stream_metadata::StreamMetadataArgs),
}

pub async fn run(c: CoreosCommand, stores: &Stores) -> Result<(), CliError> {
    match c {
        CoreosCommand::Layer(a) => layer::run(*a, stores).await,
        CoreosCommand::Lint(a) => lint::run(a, stores).await,
        CoreosCommand::Inspect(a) => inspect::run(a, stores).await,
        CoreosCommand::StreamMetadata(a) => stream_metadata::run(a),
    }
}
