//! Test support for okd-streams: synthetic OKD payloads and a local docker-registry.
#![deny(missing_docs)]

pub mod payload;
