//! testkit's integration tests, linked as one test binary: one module per concern.

mod payload;
mod registry;
mod tools;
