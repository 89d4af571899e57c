#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod claim;
pub mod configmap;
mod error;
#[cfg(feature = "registry")]
pub mod http_store;
pub mod keys;
mod sign;
pub mod source;
pub mod store;
pub mod verify;

pub use claim::Claim;
pub use error::Error;
#[cfg(feature = "registry")]
pub use http_store::HttpStore;
pub use keys::{Keyring, SigningKey};
pub use sign::sign_claim;
pub use source::{SignatureSource, verify_any};
pub use store::{MAX_SIGNATURE_SIZE, SignatureDir, signature_path};
pub use verify::{Expectation, Verified, verify_signature};
