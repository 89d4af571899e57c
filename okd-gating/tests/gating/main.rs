//! okd-gating's integration tests, linked as one test binary: one module per concern.

mod command_runner;
mod end_to_end;
mod no_source;
mod periodic;
mod properties;
mod publish;
mod sampled;
mod samples;
mod simulate;
mod state_machine;
mod state_store;
