//! okd-coreos's integration tests, linked as one test binary: one module per concern.

mod common;

mod documents;
mod hostile_layer_inputs;
mod inspect;
mod layering;
mod overrides;
mod version_props;
mod versions;
