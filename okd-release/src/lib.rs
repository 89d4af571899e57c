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
//! * [`substitute`] and [`merge`]: operator-manifest merging with image and version substitution;
//! * [`Release::load`]: what `oc adm release info` reads, from any [`okd_oci::Store`], and
//!   [`Release::describe`], what it prints;
//! * [`platform`]: which child of a manifest list is read (`--platform`, `--filter-by-os`);
//! * [`ReleaseDiff`]: what `oc adm release info A B` shows;
//! * [`ReleaseBuilder`]: what `oc adm release new` does;
//! * [`extract`]: what `oc adm release extract` does, writing `release-manifests/` byte for byte;
//! * [`lint`]: what the cluster-version operator will apply, per cluster profile;
//! * [`content_mirror`]: copying a release's components into its own repository while it is
//!   built (`oc adm release new --mirror`);
//! * [`ReleaseInfo`]: the JSON document of `oc adm release info -o json`, which
//!   `okd-streams release info -o json` prints, and [`InfoDocument`], okd-streams' own
//!   (`-o okd-json`).
//!
//! ```
//! use okd_release::{Family, ReleaseVersion};
//! let v: ReleaseVersion = "4.19.0-okd-scos.19".parse()?;
//! assert_eq!(v.family(), Family::OkdScos);
//! # Ok::<(), okd_release::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod annotations;
pub mod builder;
pub mod component_versions;
pub mod config;
pub mod content_mirror;
pub mod diff;
pub mod docker_config;
mod error;
pub mod extract;
mod flow_depth;
pub mod gojson;
pub mod gotar;
pub mod graph;
pub mod image_references;
pub mod info;
pub mod inspect;
mod layer_reader;
pub mod lint;
pub mod load;
pub mod merge;
pub mod metadata;
pub mod mod_time;
pub mod object_meta;
pub mod payload;
pub mod platform;
pub mod release_image;
mod release_list;
pub mod substitute;
mod tabwriter;
pub mod version;

pub use builder::{BuiltRelease, DEFAULT_BASE_TAG, Payload, ReleaseBuilder};
pub use component_versions::{ALLOWED_COMPONENTS, ComponentVersion, ComponentVersions};
pub use config::{ImageConfig, MAX_CONFIG_SIZE};
pub use content_mirror::ContentMirror;
pub use diff::ReleaseDiff;
pub use error::Error;
pub use extract::{ExtractError, Extracted};
pub use graph::Graph;
pub use image_references::{ImageReferences, TagReference};
pub use info::{ImageColumns, InfoDocument, ReleaseInfo};
pub use inspect::InspectOptions;
pub use load::{Component, LoadOptions, RELEASE_MANIFESTS, Release, ReleaseFile};
pub use metadata::ReleaseMetadata;
pub use platform::{ListChild, Platform, PlatformFilter};
pub use release_image::{HISTORY_COMMENT, ReleaseLayer, write_release_layer};
pub use version::{CandidateKind, Family, MajorMinor, ReleaseVersion, TIMESTAMP_FORMAT};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
