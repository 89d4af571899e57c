//! What to mirror, where, and how hard to push.
//!
//! A [`MirrorSpec`] names release images (each expanded into its components and sent to a
//! [`ReleaseTarget`]), additional images, the component filter and the platform choice.
//! [`MirrorOptions`] holds the knobs of a run: concurrency per store and retries.
//!
//! ```
//! use okd_mirror::{ComponentFilter, MirrorSpec, Naming, ReleaseMirror, ReleaseTarget};
//!
//! let spec = MirrorSpec {
//!     releases: vec![ReleaseMirror {
//!         source: "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?,
//!         target: ReleaseTarget::parse("mirror.local:5000/okd/release", Naming::Release)?,
//!     }],
//!     filter: ComponentFilter::new(&[], &["rhel-coreos*".to_string()])?,
//!     ..MirrorSpec::default()
//! };
//! assert_eq!(spec.releases.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use okd_oci::ImageRef;

use crate::{
    BlockedImages, ComponentFilter, ImageMapping, PlatformChoice, ReleaseTarget, RetryPolicy,
};

/// A release image to mirror with its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseMirror {
    /// The release image (tag or digest; `docker://` or `oci:`).
    pub source: ImageRef,
    /// Where it and its components go.
    pub target: ReleaseTarget,
}

/// Everything one mirror run moves.
#[derive(Debug, Clone, Default)]
pub struct MirrorSpec {
    /// Release images, expanded through their `image-references`.
    pub releases: Vec<ReleaseMirror>,
    /// Images mirrored on their own.
    pub images: Vec<ImageMapping>,
    /// Which release components to keep.
    pub filter: ComponentFilter,
    /// Keep manifest lists whole, or pick one platform.
    pub platform: PlatformChoice,
    /// Images never mirrored (oc-mirror's `blockedImages`), release components included.
    pub blocked: BlockedImages,
}

/// Knobs of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorOptions {
    /// Operations in flight per store (registry host or layout), for blobs and manifests alike.
    pub jobs: usize,
    /// Retries of each blob and manifest copy.
    pub retry: RetryPolicy,
    /// Ask each destination for every blob while planning (a `HEAD` per blob and repository),
    /// so that the plan knows exactly what is in place and what to move, as a dry run must.
    /// When `false`, blobs of images missing at the destination are planned as
    /// [`CopyIfMissing`](crate::BlobAction::CopyIfMissing): the store checks as the upload opens
    /// (for a registry, one `POST` both finds a present blob and opens the upload), which saves
    /// one request per blob and lets copying start sooner. Images already complete are skipped
    /// either way.
    pub check_blobs: bool,
}

/// The default number of operations in flight per store.
pub const DEFAULT_JOBS: usize = 8;

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            jobs: DEFAULT_JOBS,
            retry: RetryPolicy::default(),
            check_blobs: true,
        }
    }
}

/// The per-registry request cap a run with `jobs` operations in flight per store needs: every
/// blob copy holds a request at its source and at its destination, and manifest writes have
/// permits of their own next to the blob permits. With a lower cap, a copy whose source
/// download is open can wait for a destination request, leaving the download's body unread.
///
/// ```
/// assert!(okd_mirror::request_cap(16) > 16);
/// assert!(okd_mirror::request_cap(0) >= 2);
/// ```
pub fn request_cap(jobs: usize) -> usize {
    jobs.max(1) + crate::execute::manifest_streams(jobs)
}
