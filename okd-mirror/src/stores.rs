//! The stores a mirror reads from and writes to, one per location.
//!
//! A mirror touches several stores: the source registry (or two), the destination registry, a
//! layout on disk. An [`okd_oci::Resolver`] opens registries (one pooled store per host) and
//! layouts. [`StoreSet`] hands out one shared [`Store`] per location — a registry host, or
//! a layout directory — so that every image of a run goes through the same connection pool and
//! concurrency limits, and so that two references to the same registry are recognised as one
//! store (which is when blobs can be mounted instead of copied).
//!
//! ```
//! # async fn demo() -> Result<(), okd_mirror::Error> {
//! use std::sync::Arc;
//! use okd_mirror::StoreSet;
//! use okd_oci::MemoryStore;
//!
//! let stores = StoreSet::new();
//! stores.insert("quay.io", Arc::new(MemoryStore::new()));
//! let image = "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?;
//! assert_eq!(StoreSet::location_of(&image), "quay.io");
//! let store = stores.get(&image).await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use okd_oci::{ImageRef, Resolver, Store};

use crate::Error;

/// Opens the store for a location the set does not have yet.
#[async_trait]
pub trait StoreOpener: Send + Sync + fmt::Debug {
    /// Opens the store `image` lives in; `location` is [`StoreSet::location_of`] the image.
    /// `create` is true for a destination, which may be created (an empty layout directory).
    async fn open(
        &self,
        location: &str,
        image: &ImageRef,
        create: bool,
    ) -> Result<Arc<dyn Store>, Error>;
}

/// okd-oci's [`Resolver`] opens registries (one pooled store per host) and layouts (created for
/// destinations), so a program that already has one hands it to [`StoreSet::with_opener`].
#[async_trait]
impl StoreOpener for Resolver {
    async fn open(
        &self,
        _location: &str,
        image: &ImageRef,
        create: bool,
    ) -> Result<Arc<dyn Store>, Error> {
        Ok(self.store(image, create).await?)
    }
}

/// One shared store per location.
#[derive(Debug, Default)]
pub struct StoreSet {
    stores: Mutex<BTreeMap<String, Arc<dyn Store>>>,
    opener: Option<Arc<dyn StoreOpener>>,
}

impl StoreSet {
    /// A set that knows only the stores inserted into it.
    pub fn new() -> StoreSet {
        StoreSet::default()
    }

    /// A set that opens stores on first use with `opener`.
    pub fn with_opener(opener: Arc<dyn StoreOpener>) -> StoreSet {
        StoreSet {
            stores: Mutex::default(),
            opener: Some(opener),
        }
    }

    /// The location key of an image: its registry host (`quay.io`, `127.0.0.1:5000`), or
    /// `oci:` and the layout directory.
    pub fn location_of(image: &ImageRef) -> String {
        match image {
            ImageRef::Registry(r) => r.registry.clone(),
            ImageRef::Layout(l) => format!("oci:{}", l.path.display()),
        }
    }

    /// Registers `store` as the store of `location`, replacing any other.
    pub fn insert(&self, location: impl Into<String>, store: Arc<dyn Store>) {
        self.lock().insert(location.into(), store);
    }

    /// The store `image` lives in, opening it when needed.
    pub async fn get(&self, image: &ImageRef) -> Result<Arc<dyn Store>, Error> {
        self.open(image, false).await
    }

    /// The store `image` is to be written to, opening (and, for a layout, creating) it when
    /// needed.
    pub async fn get_for_write(&self, image: &ImageRef) -> Result<Arc<dyn Store>, Error> {
        self.open(image, true).await
    }

    async fn open(&self, image: &ImageRef, create: bool) -> Result<Arc<dyn Store>, Error> {
        let location = Self::location_of(image);
        if let Some(s) = self.lock().get(&location) {
            return Ok(s.clone());
        }
        let opener = self.opener.as_ref().ok_or_else(|| Error::NoStore {
            location: location.clone(),
            reason: "no store registered for this location".to_string(),
        })?;
        let store = opener.open(&location, image, create).await?;
        // Another task may have opened it meanwhile; keep the first so the store stays unique.
        Ok(self.lock().entry(location).or_insert(store).clone())
    }

    /// Every store opened so far, by location.
    pub fn opened(&self) -> Vec<(String, Arc<dyn Store>)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<dyn Store>>> {
        // Each update is one insert, so a poisoned map is still consistent.
        self.stores.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okd_oci::MemoryStore;

    #[tokio::test]
    async fn same_location_same_store() {
        let set = StoreSet::new();
        set.insert("reg.local:5000", Arc::new(MemoryStore::new()));
        let a = set
            .get(&"reg.local:5000/a:1".parse().unwrap())
            .await
            .unwrap();
        let b = set
            .get(&"reg.local:5000/b/c:2".parse().unwrap())
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[tokio::test]
    async fn unknown_location_is_named() {
        let err = StoreSet::new()
            .get(&"oci:/srv/mirror:x".parse().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("oci:/srv/mirror"), "{err}");
    }
}
