//! Test support for okd-streams: synthetic OKD payloads and a local docker-registry.
#![deny(missing_docs)]

pub mod gpg;
pub mod http_client;
pub mod images;
pub mod integrity;
pub mod payload;
pub mod proxy;
pub mod registry;
pub mod stores;
pub mod tampering;
pub mod tools;

pub use proxy::{FaultConfig, FaultProxy, FaultStats, HttpStats};
pub use registry::{Registry, RegistryBuilder, RegistryError};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
