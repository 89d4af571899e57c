//! OKD release payloads: versions, image-references, release metadata, load, diff and build.
//!
//! A release payload is an image: the `cluster-version-operator` image plus one layer holding
//! `release-manifests/` — the `image-references` ImageStream naming every component image by
//! digest, the Cincinnati `release-metadata`, and the operators' manifests. This crate reads,
//! compares and writes such payloads byte-compatibly with `oc adm release`:
//!
//! * [`ReleaseVersion`]: semantic versions with the OKD/OCP naming families;
//! * [`ImageReferences`] and [`ReleaseMetadata`]: the two documents, written as `oc` writes them;
//! * [`graph`]: the Cincinnati upgrade-graph JSON;
//! * [`substitute`] and [`merge`]: operator-manifest merging with image and version substitution.
//!
//! ```
//! use okd_release::{Family, ReleaseVersion};
//! let v: ReleaseVersion = "4.19.0-okd-scos.19".parse()?;
//! assert_eq!(v.family(), Family::OkdScos);
//! # Ok::<(), okd_release::Error>(())
//! ```
#![deny(missing_docs)]

pub mod annotations;
mod component_versions;
mod error;
pub mod gojson;
pub mod graph;
pub mod image_references;
pub mod merge;
pub mod metadata;
pub mod substitute;
mod version;

pub use component_versions::{ALLOWED_COMPONENTS, ComponentVersion, ComponentVersions};
pub use error::Error;
pub use graph::Graph;
pub use image_references::{ImageReferences, TagReference};
pub use metadata::ReleaseMetadata;
pub use version::{CandidateKind, Family, MajorMinor, ReleaseVersion, TIMESTAMP_FORMAT};
