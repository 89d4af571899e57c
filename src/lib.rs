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
//! | [`tekton`] | Tekton `Pipeline` and `Task` resources |
//!
//! and composes them: [`stream`] builds a whole stream — upstream payload, CoreOS layering,
//! overrides, version scheme, mirror, gating, promotions — from code or a YAML stream file, and
//! runs it one round at a time; [`stream::export`] turns it into a Tekton pipeline.
//!
//! This crate is a library only: the `okd-streams` command line is the `okd-streams-cli`
//! package, and the report pages are rendered by `okd-report` from [`stream::StreamHistory`].
//! The `schema` feature adds [`stream::schema`], the JSON schema of stream files.
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
pub use okd_tekton as tekton;

// The stream-file guide's and the README's Rust examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/stream-file.md")]
struct StreamFileGuide;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
