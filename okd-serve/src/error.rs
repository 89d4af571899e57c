//! Errors of okd-serve, each naming the input that failed.

use std::path::PathBuf;

/// Why a stream cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The stream file does not load or declares an invalid stream.
    #[error("stream file {}: {source}", file.display())]
    StreamFile {
        /// The file.
        file: PathBuf,
        /// Why.
        source: Box<okd_streams::stream::StreamError>,
    },
    /// The stream keeps no state in files (nothing to serve from).
    #[error("stream file {}: the stream has no state directory", file.display())]
    NoStateDir {
        /// The file.
        file: PathBuf,
    },
    /// Two served stream files name the same stream.
    #[error("stream {name:?} is served twice ({})", file.display())]
    DuplicateStream {
        /// The stream name.
        name: String,
        /// The second file naming it.
        file: PathBuf,
    },
    /// Reading a state file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A state file does not parse.
    #[error(transparent)]
    Gating(#[from] Box<okd_gating::Error>),
    /// A ledger file does not parse.
    #[error("ledger {}: {message}", path.display())]
    Ledger {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The listener failed.
    #[error("serving HTTP: {0}")]
    Listen(std::io::Error),
}
