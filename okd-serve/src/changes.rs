//! What changed in each release: its diff against the release the stream built before it, as
//! `okd-streams stream report` shows it, for the live pages and the release API.
//!
//! Release images never change under their digest, so a diff is computed once per pair of
//! digests and kept for the life of the server; the stream's store is opened read-only on the
//! first request that needs it. A diff that cannot be computed (the store is unreachable, an
//! image is gone) is left out and logged, and the page is served without it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use okd_oci::{Access, Store, StoreMap};
use okd_release::{Release, ReleaseDiff};
use okd_streams::stream::Candidate;

use crate::snapshot::StreamView;

/// Diffs by (previous digest, digest), and the stores they were read from, by stream.
#[derive(Default)]
pub(crate) struct Changes {
    stores: tokio::sync::Mutex<HashMap<String, Arc<dyn Store>>>,
    diffs: Mutex<HashMap<(String, String), Arc<ReleaseDiff>>>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

/// The releases `view` built, oldest first (by creation time, then name), as `stream report`
/// orders them.
fn built(view: &StreamView) -> Vec<&Candidate> {
    let mut built: Vec<&Candidate> = view
        .state
        .releases
        .iter()
        .filter_map(|r| view.ledger.candidates.get(&r.name))
        .collect();
    built.sort_by_key(|c| {
        view.state
            .release(&c.name)
            .map(|r| (r.created, r.name.clone()))
    });
    built
}

impl Changes {
    /// The diff of every built release of `view` against the one built before it, by name.
    pub(crate) async fn of_stream(&self, view: &StreamView) -> BTreeMap<String, Arc<ReleaseDiff>> {
        let built = built(view);
        let mut out = BTreeMap::new();
        for pair in built.windows(2) {
            if let Some(d) = self.between(view, pair[0], pair[1]).await {
                out.insert(pair[1].name.clone(), d);
            }
        }
        out
    }

    /// The diff of release `name` of `view` against the one built before it, alone (what the
    /// release API needs, without diffing the whole stream).
    pub(crate) async fn of_release(
        &self,
        view: &StreamView,
        name: &str,
    ) -> Option<Arc<ReleaseDiff>> {
        let built = built(view);
        let i = built.iter().position(|c| c.name == name)?;
        let prev = *built.get(i.checked_sub(1)?)?;
        self.between(view, prev, built[i]).await
    }

    /// The diff `prev` → `cur`, from the cache or computed once; `None` (logged) when it cannot
    /// be computed.
    async fn between(
        &self,
        view: &StreamView,
        prev: &Candidate,
        cur: &Candidate,
    ) -> Option<Arc<ReleaseDiff>> {
        let key = (prev.digest.to_string(), cur.digest.to_string());
        let known = self
            .diffs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if known.is_some() {
            return known;
        }
        match self.compute(view, prev, cur).await {
            Ok(d) => {
                let d = Arc::new(d);
                self.diffs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, d.clone());
                Some(d)
            }
            Err(e) => {
                tracing::warn!(release = %cur.name, error = %e, "no diff for this release");
                None
            }
        }
    }

    async fn compute(
        &self,
        view: &StreamView,
        prev: &Candidate,
        cur: &Candidate,
    ) -> Result<ReleaseDiff, Box<dyn std::error::Error + Send + Sync>> {
        let store = self.store(view).await?;
        let a = Release::load_image(store.as_ref(), &prev.image).await?;
        let b = Release::load_image(store.as_ref(), &cur.image).await?;
        Ok(ReleaseDiff::between(&a, &b))
    }

    async fn store(
        &self,
        view: &StreamView,
    ) -> Result<Arc<dyn Store>, Box<dyn std::error::Error + Send + Sync>> {
        let mut stores = self.stores.lock().await;
        if let Some(s) = stores.get(&view.served.name) {
            return Ok(s.clone());
        }
        let map = StoreMap::new(view.served.registry_options.clone());
        let store = okd_streams::stream::builder::open_location(
            &map,
            &view.served.target.location,
            Access::Read,
        )
        .await?;
        stores.insert(view.served.name.clone(), store.clone());
        Ok(store)
    }
}
