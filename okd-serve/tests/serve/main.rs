//! okd-serve against state files written by okd-gating's and okd-streams' own stores.

mod serve_api;
mod serve_graph;
mod serve_input;
mod serve_writes;
mod support;
