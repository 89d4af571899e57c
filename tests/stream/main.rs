//! okd-streams' integration tests of the library alone: stream files and their schema, and the
//! publisher. The tests that run streams through the `okd-streams` binary are the
//! okd-streams-cli package's.

mod stream_file;
mod stream_publish;
#[cfg(feature = "schema")]
mod stream_schema;
mod stream_signing;
