//! okd-streams' integration tests of the library alone: stream files and their schema, the
//! publisher, multi-arch streams, and a release-controller config's `imageStreamRef` steps run by a stream against a
//! docker-registry. The tests that run streams through the `okd-streams` binary are the
//! okd-streams-cli package's.

mod stream_file;
mod stream_image_stream_ref;
mod stream_multiarch;
mod stream_publish;
#[cfg(feature = "schema")]
mod stream_schema;
mod stream_signing;
