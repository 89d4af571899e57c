//! One write at a time of a manifest into a repository.
//!
//! Images of one repository can share manifests: two releases mirrored into one repository
//! (oc-mirror's layout) share the children of every multi-arch component they both hold, and
//! name the unchanged components' manifests under two tags. docker-registry's filesystem
//! storage rewrites a manifest's link files in place, so two concurrent pushes of the same
//! manifest can make a third request find an empty link for a moment and refuse a list that
//! names it (`MANIFEST_BLOB_UNKNOWN`). The executor therefore writes each manifest into a
//! repository once at a time; a child (written by digest) that another image already wrote is
//! not written again, and a tagged manifest still gets its own tag, after the other write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use okd_oci::Digest;

/// Whether a manifest has been written into a repository by this run, behind its lock.
type WriteLock = Arc<tokio::sync::Mutex<bool>>;

/// A lock per manifest digest and destination (location, repository).
#[derive(Default)]
pub(super) struct ManifestLocks {
    locks: Mutex<HashMap<(String, String, Digest), WriteLock>>,
}

impl ManifestLocks {
    /// The lock of `digest` in `location`/`repo`.
    pub(super) fn of(&self, location: &str, repo: &str, digest: &Digest) -> WriteLock {
        // A poisoned lock only means a panic between a lookup and an insert; the map is whole.
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks
            .entry((location.to_string(), repo.to_string(), digest.clone()))
            .or_default()
            .clone()
    }
}
