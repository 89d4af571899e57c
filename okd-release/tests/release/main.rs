//! okd-release's integration tests, linked as one test binary: one module per concern.

mod common;

mod build;
mod diff;
mod extra_manifests;
mod faults_build;
mod fidelity;
mod hostile_layers;
mod hostile_operators;
mod lint;
mod load;
mod multi_arch;
mod payload;
mod samples;
mod versions;
