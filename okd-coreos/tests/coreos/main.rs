//! okd-coreos's integration tests, linked as one test binary: one module per concern.

mod common;
mod containerfile;
mod coreos_base;

mod documents;
mod hostile_layer_inputs;
mod inspect;
mod layering;
mod lint;
mod metadata;
mod overrides;
mod placement;
mod units_removals;
mod version_props;
mod versions;
