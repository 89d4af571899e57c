//! Test support for okd-streams: synthetic OKD payloads and a local docker-registry.
#![deny(missing_docs)]

pub mod payload;
pub mod proxy;
pub mod registry;

pub use proxy::{FaultConfig, FaultProxy, FaultStats};
pub use registry::{Registry, RegistryBuilder, RegistryError};
