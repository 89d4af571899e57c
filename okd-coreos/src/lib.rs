//! CoreOS variants, OS versions, stream metadata and layered OS images for okd-streams.
//!
//! * [`Variant`]: Fedora CoreOS, CentOS Stream CoreOS, RHEL CoreOS or your own, with their
//!   streams ([`FcosStream`], [`ScosStream`], [`RhelStream`]), the payload tags their OS images
//!   go under and their `machine-os` display names;
//! * [`OsVersion`]: the four CoreOS version schemes, parsed, printed back exactly and ordered;
//! * [`StreamMetadata`], [`CoreosRelease`], [`ReleaseIndex`], [`Updates`], [`CosaBuilds`]: the
//!   CoreOS JSON documents, round-tripped without losing a field, with typed look-ups;
//! * [`labels`]: the labels OS images carry and the `name=value` lists release tooling reads;
//! * [`inspect`]: which layers of an OS image are the base OS and which were added, and what
//!   each chunk holds;
//! * [`layering`]: derive an OS image from a base by appending layers ([`layer_source`]) and
//!   setting labels, without copying the base; [`extensions`] builds an extensions image;
//! * [`file_tree`], [`placement`], [`lint`]: the base image's file tree read from its layer
//!   headers, added layers placed through the base's symbolic links, and the lint of what a
//!   node's import will keep;
//! * [`changes`], [`machine_config`]: units enabled and base paths removed in the image, and the
//!   MachineConfig of kernel arguments and units for nodes already running;
//! * [`overrides`]: the `name=pullspec` overrides that put an OS image into a release payload.
//!
//! ```
//! use okd_coreos::{OsVersion, Variant};
//!
//! let v: OsVersion = "10.0.20250628-0".parse()?;
//! assert!(Variant::Scos.uses_version_scheme(&v));
//! assert_eq!(Variant::Scos.payload_tags().os, "stream-coreos");
//! # Ok::<(), okd_coreos::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod arch;
pub mod changes;
pub mod checksum;
pub mod cloud;
pub mod containerfile;
pub mod coreos_release;
pub mod cosa_builds;
mod error;
pub mod extensions;
pub mod file_tree;
pub mod image_lint;
pub mod inspect;
pub mod labels;
pub mod layer_source;
pub mod layering;
pub mod lint;
pub mod machine_config;
pub mod os_stream;
pub mod overrides;
pub mod owners;
pub mod placement;
pub mod release_index;
pub mod rhcos_extensions;
pub mod stream;
pub mod timestamp;
pub mod tree_cache;
pub mod updates;
pub mod variant;
pub mod version;

pub use arch::Architecture;
pub use checksum::Sha256;
pub use cloud::Extra;
pub use coreos_release::{CoreosRelease, Media, OciImage, PlatformImage, RegionImage, ReleaseArch};
pub use cosa_builds::{CosaBuild, CosaBuilds, PolicyCleanup};
pub use error::Error;
pub use os_stream::{FCOS_BUILDS_BASE_URL, FcosStream, OsStream, RhelStream, ScosStream};
pub use release_index::{IndexCommit, IndexOciImage, IndexRelease, ReleaseIndex};
pub use stream::{Arch, Artifact, ImageFormat, Metadata, PlatformArtifacts, Pxe, StreamMetadata};
pub use timestamp::Timestamp;
pub use updates::{Reason, Rollout, UpdateMetadata, UpdateRelease, Updates};
pub use variant::{BaseDistro, CustomVariant, MACHINE_OS_CONTENT_TAG, PayloadTags, Variant};
pub use version::{
    BaseImageVersion, CosaVersion, FcosBuild, FcosVersion, OkdMachineOsVersion, OsVersion,
};

// The README's example is compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
