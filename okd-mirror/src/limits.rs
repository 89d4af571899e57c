//! Concurrency limits per store location.
//!
//! Every request-making step holds one permit of each store it talks to. Permits of several
//! stores are taken in sorted location order, so two steps can never each hold one store and
//! wait for the other's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub(crate) struct Limits {
    per_store: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    pub(crate) fn new(per_store: usize) -> Limits {
        Limits {
            per_store: per_store.max(1),
            semaphores: Mutex::default(),
        }
    }

    fn semaphore(&self, location: &str) -> Arc<Semaphore> {
        let mut map = self.semaphores.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(location.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_store)))
            .clone()
    }

    /// One permit of each distinct location.
    pub(crate) async fn acquire(&self, locations: &[&str]) -> Vec<OwnedSemaphorePermit> {
        let mut locs: Vec<&str> = locations.to_vec();
        locs.sort_unstable();
        locs.dedup();
        let mut permits = Vec::with_capacity(locs.len());
        for l in locs {
            // The semaphores are never closed, so acquiring cannot fail; if it ever did, running
            // without the permit is safer than failing the copy.
            if let Ok(p) = self.semaphore(l).acquire_owned().await {
                permits.push(p);
            }
        }
        permits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_each_location_separately() {
        let limits = Limits::new(2);
        let a1 = limits.acquire(&["a", "b"]).await;
        let _a2 = limits.acquire(&["a"]).await;
        // "a" is exhausted, "b" still has one permit.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), limits.acquire(&["a"]))
                .await
                .is_err()
        );
        let _b = limits.acquire(&["b"]).await;
        drop(a1);
        let _a3 = limits.acquire(&["a", "a"]).await;
    }
}
