//! Mirroring of OKD release payloads and images between registries and OCI layouts.
//!
//! A mirror goes through three stages:
//!
//! 1. a [`MirrorSpec`] says what to mirror: release images (expanded through their
//!    `image-references` into one image per component, filtered by [`ComponentFilter`] and named
//!    by a [`ReleaseTarget`]) and additional images;
//! 2. [`MirrorPlan::build`] reads the sources and asks the destinations what they already have,
//!    giving every image and the deduplicated set of blobs with the bytes still to move — which
//!    is all a `--dry-run` shows;
//! 3. [`execute`] carries the plan out with bounded concurrency per store, mounts and skips, and
//!    retries, and returns a [`MirrorReport`].
//!
//! From a plan come the outputs clusters need: an ImageDigestMirrorSet ([`idms`]), a legacy
//! ImageContentSourcePolicy ([`icsp`]), the matching `install-config.yaml` sections, and a
//! mapping file for `oc image mirror -f` ([`mapping`]). A [`run::ReleaseRun`] or
//! [`run::ImageRun`] does the whole flow and writes those outputs, the way the `okd-streams
//! mirror` commands and a stream's mirror stage use it.
//!
//! Every future of the engine is `Send`, so a multi-threaded runtime can spawn it directly.
//!
//! Any [`okd_oci::Store`] can be a source or a destination: registry to registry, registry to an
//! OCI layout on disk, layout to registry for air-gapped sites, layout to layout. A run that was
//! interrupted is simply run again: the destination is asked what it has, and only what is
//! missing moves.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use okd_mirror::{execute, ImageMapping, MirrorOptions, MirrorPlan};
//! use okd_mirror::progress::NoProgress;
//! use okd_oci::{MemoryStore, StoreMap};
//!
//! // One store per location for the whole run: here two in memory, standing for two registries.
//! let stores = StoreMap::offline();
//! stores.alias("quay.io", Arc::new(MemoryStore::new()));
//! stores.alias("mirror.local", Arc::new(MemoryStore::new()));
//! let mapping = ImageMapping::image(
//!     "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?,
//!     "mirror.local/okd/release:4.19.0-okd-scos.19".parse()?,
//! );
//! let options = MirrorOptions::default();
//! let plan = MirrorPlan::for_mappings(vec![vec![mapping]], &Default::default(), &stores, &options, &NoProgress)
//!     .await?;
//! println!("{} bytes to copy", plan.totals.bytes_to_copy);
//! let report = execute(&plan, &options, Arc::new(NoProgress)).await;
//! report.check()?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod archive;
mod blobs;
mod blocked;
mod error;
mod execute;
mod filter;
pub mod icsp;
pub mod idms;
pub mod imageset;
pub mod instructions;
pub mod itms;
mod limits;
mod loader;
pub mod mapping;
mod naming;
mod plan;
mod platform;
pub mod progress;
mod release;
mod report;
mod retry;
pub mod run;
mod source;
mod spec;

pub use blobs::{BlobAction, BlobKey, BlobTarget, PlannedBlob};
pub use blocked::BlockedImages;
pub use error::Error;
pub use execute::execute;
pub use filter::ComponentFilter;
pub use loader::PayloadLoader;
pub use mapping::{ImageKind, ImageMapping};
pub use naming::{Naming, ReleaseTarget, arch_suffix, parse_repository};
pub use plan::{MirrorPlan, PlanTotals, PlannedImage};
pub use platform::{Platform, PlatformChoice, select_child};
pub use release::{
    Component, Expansion, ReleaseContent, ReleaseLoader, expand_release, release_arch,
};
pub use report::{BlobReport, Failure, ImageReport, ImageStatus, MirrorReport, ReportTotals};
pub use retry::{RetryPolicy, is_retryable};
pub use spec::{DEFAULT_JOBS, MirrorOptions, MirrorSpec, ReleaseMirror, request_cap};

/// The engine's futures can be spawned on a multi-threaded runtime: this compiles only while
/// each of them is `Send`.
#[cfg(test)]
#[allow(dead_code)]
fn futures_are_send(
    stores: &okd_oci::StoreMap,
    loader: &dyn ReleaseLoader,
    spec: &MirrorSpec,
    plan: &MirrorPlan,
    options: &MirrorOptions,
    progress: std::sync::Arc<dyn progress::Progress>,
) {
    fn send<T: Send>(_: T) {}
    send(MirrorPlan::build(
        spec,
        stores,
        loader,
        options,
        progress.as_ref(),
    ));
    send(MirrorPlan::for_mappings(
        Vec::new(),
        &spec.platform,
        stores,
        options,
        progress.as_ref(),
    ));
    send(execute(plan, options, progress.clone()));
    send(stores.store(&spec.releases[0].source, okd_oci::Access::Write));
    let release = run::ReleaseRun::new(spec.releases[0].clone());
    send(release.run(stores, loader, progress.clone()));
    let image = run::ImageRun::new(spec.images[0].clone());
    send(image.run(stores, progress));
}

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
