//! okd-mirror's integration tests, linked as one test binary: one module per concern.

mod common;

mod corrupt_source;
mod engine;
mod faults_mirror;
mod layout;
mod outputs;
mod overlap;
mod registry;
