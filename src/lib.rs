//! okd-streams: compose your own OKD stream in Rust.
//!
//! This facade re-exports the member crates, each with one job:
//!
//! | crate | job |
//! |---|---|
//! | [`oci`] | content stores (OCI layout, registry, memory), raw manifests, image appending |
//! | [`release`] | release payloads: versions, image-references, metadata, load, diff, build |
//! | [`coreos`] | CoreOS variants, OS versions, stream metadata, layered OS images |
//! | [`mirror`] | mirroring payloads between registries and disk |
//! | [`gating`] | gating policy, verdicts, upgrade graph, promotion, simulation |
//!
//! and composes them: [`stream`] builds a whole stream — upstream payload, CoreOS layering,
//! overrides, version scheme, mirror, gating, promotions — from code or a YAML stream file, and
//! runs it one round at a time; [`report`] renders a stream's release pages and [`tekton`]
//! exports its stages as a Tekton pipeline.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod stream;

pub use okd_coreos as coreos;
pub use okd_gating as gating;
pub use okd_mirror as mirror;
pub use okd_oci as oci;
pub use okd_release as release;
pub mod report;
pub mod tekton;

// The stream-file guide's Rust example is compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/stream-file.md")]
struct StreamFileGuide;
