//! The mirror stage: copying a candidate release and its component images somewhere else before
//! it is verified, as the release-controller waits for its mirror job before it decides.
//!
//! A [`MirrorStage`] is called once per candidate, after the release image is written and
//! before the candidate counts as created. It must be idempotent: after an interruption it is
//! called again for the same release and copies only what is missing.

use std::sync::Arc;

use async_trait::async_trait;
use okd_oci::{ImageRef, Store};

use super::{ImageSources, StreamError};

/// A candidate to mirror.
#[derive(Debug, Clone)]
pub struct MirrorRequest<'a> {
    /// The release version.
    pub version: &'a str,
    /// The release image in the stream's store, by digest.
    pub image: &'a ImageRef,
    /// The stream's store.
    pub store: &'a Arc<dyn Store>,
    /// Where the release's component images are read.
    pub sources: &'a ImageSources,
}

/// Mirrors a candidate release. See the [module docs](self).
#[async_trait]
pub trait MirrorStage: Send + Sync + std::fmt::Debug {
    /// What the stage does, for reports (`mirror to docker://mirror.local/okd`).
    fn describe(&self) -> String;

    /// Mirrors the release; returns a one-line summary of what moved.
    async fn mirror(&self, request: &MirrorRequest<'_>) -> Result<String, StreamError>;
}
