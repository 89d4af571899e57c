//! Release gating for OKD streams: policy, verdicts, upgrade graph, promotion and simulation.
#![deny(missing_docs)]
