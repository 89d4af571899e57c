#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
mod changes;
mod error;
pub mod graph;
pub mod nodes;
pub mod pages;
pub mod range;
mod server;
mod signatures;
pub mod snapshot;
mod source;

pub use error::ServeError;
pub use server::{MAX_URI_LEN, Server};
pub use source::ServedStream;
