//! Content stores and image primitives for okd-streams.
//!
//! `okd-oci` is the substrate the other okd-streams crates move images through:
//!
//! * [`Digest`] and [`ImageRef`]: validated digests and `docker://` / `oci:` references;
//! * [`RawManifest`]: manifests kept as their exact bytes, with typed views;
//! * [`Store`]: the async content-store trait, implemented by [`LayoutStore`] (an OCI image
//!   layout on disk), `RegistryStore` (the OCI distribution API, with the `registry` feature)
//!   and [`MemoryStore`];
//! * [`StoreMap`]: one shared store per registry host and layout directory, for any reference;
//! * [`append`]: new images made from a base image plus layers, without copying the base.
//!
//! The registry client is the `registry` feature, on by default. Without it okd-oci compiles no
//! HTTP or TLS crate; references to registries still parse, and opening one through
//! [`StoreMap`] is [`Error::RegistryDisabled`].
//!
//! ```
//! use okd_oci::{Digest, ImageRef};
//! let r: ImageRef = "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?;
//! assert_eq!(r.repository(), "okd/scos-release");
//! # Ok::<(), okd_oci::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod append;
pub mod config;
pub mod copy;
mod digest;
mod error;
pub mod layer;
mod layout;
mod manifest;
mod memory;
mod reference;
pub mod registry;
mod store;
mod store_map;

pub use config::ImageConfig;
pub use digest::{Digest, DigestAlgorithm, Hasher};
pub use error::Error;
pub use layout::LayoutStore;
pub use manifest::{BlobRef, MAX_MANIFEST_SIZE, ManifestView, RawManifest, media_type, oci_digest};
pub use memory::MemoryStore;
pub use reference::{
    ImageRef, LayoutRef, ManifestRef, RegistryRef, is_valid_repository, is_valid_tag,
};
#[cfg(feature = "registry")]
pub use registry::RegistryStore;
pub use store::{
    Blob, BlobWrite, ByteStream, Store, StoreCounters, StoreExt, StoreStats, verify_stream,
};
pub use store_map::{Access, Resolved, StoreKey, StoreMap, normalize_layout_path};

/// Re-export of the oci-spec image types used in okd-oci's public API.
pub use oci_spec::image as spec;

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
