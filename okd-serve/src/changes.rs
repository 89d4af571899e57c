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

impl Changes {
    /// The diff of every built release of `view` against the one built before it, by name.
    pub(crate) async fn of_stream(&self, view: &StreamView) -> BTreeMap<String, Arc<ReleaseDiff>> {
        let mut built: Vec<(&str, &okd_streams::stream::Candidate)> = view
            .state
            .releases
            .iter()
            .filter_map(|r| {
                view.ledger
                    .candidates
                    .get(&r.name)
                    .map(|c| (r.name.as_str(), c))
            })
            .collect();
        built.sort_by_key(|(name, _)| {
            view.state
                .release(name)
                .map(|r| (r.created, r.name.clone()))
        });
        let mut out = BTreeMap::new();
        for pair in built.windows(2) {
            let (prev, cur) = (pair[0].1, pair[1].1);
            let key = (prev.digest.to_string(), cur.digest.to_string());
            let known = self
                .diffs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned();
            let diff = match known {
                Some(d) => d,
                None => match self.compute(view, prev, cur).await {
                    Ok(d) => {
                        let d = Arc::new(d);
                        self.diffs
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(key, d.clone());
                        d
                    }
                    Err(e) => {
                        tracing::warn!(release = %cur.name, error = %e, "no diff for this release");
                        continue;
                    }
                },
            };
            out.insert(cur.name.clone(), diff);
        }
        out
    }

    async fn compute(
        &self,
        view: &StreamView,
        prev: &okd_streams::stream::Candidate,
        cur: &okd_streams::stream::Candidate,
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
