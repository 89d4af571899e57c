//! From any image reference to the one shared store that holds it.
//!
//! A program that takes references from its users (`docker://host[:port]/repo…`, a bare
//! `host/repo…`, `oci:PATH[:REF]`) needs one store object per registry host and per layout
//! directory for its whole run, shared by every reference to it: per-registry request bounds
//! hold only then, and mounts between repositories of one store are recognised only then.
//! [`StoreMap`] is that table, for release loading, the mirror, streams and the command line.
//!
//! * Stores are keyed by [`StoreKey`]: registries by host with port (`host:5000` and
//!   `docker://host:5000` are one store), layouts by their absolute, lexically normalised path
//!   ([`normalize_layout_path`]: `mirror`, `./mirror` and `/cwd/x/../mirror` are one store).
//! * A store can be put in for any key ([`StoreMap::insert`], [`StoreMap::alias`]): a registry
//!   host then reads from and writes to that store — a layout or registry holding a copy acts as
//!   that registry, as a mirror does — and a layout key is served by a store already open.
//! * A fallback ([`StoreMap::with_fallback`]) serves, for reading, images of every registry
//!   host that has no store of its own: component images read from a mirror or from a layout
//!   holding a whole payload. The fallback belongs to one handle; clones share every store.
//! * Otherwise registry stores are opened on first use with the map's
//!   [`RegistryOptions`](crate::registry::RegistryOptions) (insecure hosts, auth file), and
//!   layouts are opened — for [`Access::Read`] they must exist, for [`Access::Write`] they are
//!   created. A map made with [`StoreMap::offline`] opens no registry: a registry reference
//!   without a store of its own (or a fallback) is [`Error::NoStore`], naming the reference.
//!
//! Precedence for a registry image: its host's own store, then (reading) the fallback, then the
//! registry itself.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use std::sync::Arc;
//! use okd_oci::{Access, ImageRef, MemoryStore, StoreMap};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let map = StoreMap::offline();
//! let mirror = Arc::new(MemoryStore::new());
//! map.alias("quay.io", mirror.clone());
//!
//! let image: ImageRef = "docker://quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?;
//! let found = map.resolve(&image, Access::Read).await?;
//! assert_eq!(found.repository, "okd/scos-release");
//! assert!(Arc::ptr_eq(&found.store, &(mirror as Arc<dyn okd_oci::Store>)));
//!
//! // Two spellings of one layout directory are one store.
//! let a: ImageRef = format!("oci:{}:okd/release:4.19", dir.path().display()).parse()?;
//! let b: ImageRef = format!("oci:{}/.:okd/other:1", dir.path().display()).parse()?;
//! let written = map.store(&a, Access::Write).await?;
//! assert!(Arc::ptr_eq(&written, &map.store(&b, Access::Read).await?));
//!
//! // Nothing serves another registry in an offline map; the error names the reference.
//! let other: ImageRef = "registry.example/okd/x:1".parse()?;
//! let err = map.store(&other, Access::Read).await.unwrap_err();
//! assert!(err.to_string().contains("registry.example/okd/x:1"));
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod key;
mod registry;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

pub use key::{StoreKey, normalize_layout_path};

use crate::{Error, ImageRef, LayoutStore, ManifestRef, Store};
use registry::RegistryOpener;

/// Whether a store is opened to read from or to write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A source: a layout must exist; the fallback serves unmapped registry hosts.
    Read,
    /// A destination: a missing layout is created; the fallback does not apply.
    Write,
}

/// An image reference resolved to its store (see [`StoreMap::resolve`]).
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The reference as given.
    pub image: ImageRef,
    /// The store holding it.
    pub store: Arc<dyn Store>,
    /// The repository inside the store.
    pub repository: String,
}

impl Resolved {
    /// What to look the manifest up by (a digest wins over a tag), or an error naming the image
    /// when it has neither.
    pub fn manifest_ref(&self) -> Result<ManifestRef, Error> {
        self.image
            .manifest_ref()
            .ok_or_else(|| Error::InvalidReference {
                input: self.image.to_string(),
                reason: "needs a tag or a digest".to_string(),
            })
    }
}

/// One shared store per registry host and per layout directory. See the [module docs](self).
#[derive(Clone)]
pub struct StoreMap {
    shared: Arc<Shared>,
    fallback: Option<Arc<dyn Store>>,
}

struct Shared {
    /// Stores put in for a key, and layouts opened so far. Registries opened by the map live in
    /// the opener, so that a fallback is never shadowed by a registry someone else opened.
    stores: Mutex<BTreeMap<StoreKey, Arc<dyn Store>>>,
    /// Held while a layout is opened, so that two tasks opening one layout get one store.
    opening: tokio::sync::Mutex<()>,
    registries: RegistryOpener,
}

impl StoreMap {
    fn with_opener(registries: RegistryOpener) -> StoreMap {
        StoreMap {
            shared: Arc::new(Shared {
                stores: Mutex::default(),
                opening: tokio::sync::Mutex::new(()),
                registries,
            }),
            fallback: None,
        }
    }

    /// A map that opens layouts and serves the stores put into it, and never opens a registry.
    pub fn offline() -> StoreMap {
        StoreMap::with_opener(RegistryOpener::none())
    }

    /// `store` is the store at `key`, replacing what served it before (a layout opened already,
    /// or an earlier insert). Every clone of the map sees it.
    pub fn insert(&self, key: StoreKey, store: Arc<dyn Store>) {
        self.lock().insert(key, store);
    }

    /// Stops serving `key` from the store put in for it (or the layout opened for it), and
    /// returns that store; the next use of `key` opens it afresh. Every clone of the map sees it.
    pub fn remove(&self, key: &StoreKey) -> Option<Arc<dyn Store>> {
        self.lock().remove(key)
    }

    /// Images of registry `host` (`quay.io`, `127.0.0.1:5000`) are read from and written to
    /// `store`, in the repository their reference names.
    pub fn alias(&self, host: &str, store: Arc<dyn Store>) {
        self.insert(StoreKey::Registry(host.to_string()), store);
    }

    /// This handle reads images of every registry host without a store of its own from
    /// `store`. Clones made before keep their own fallback.
    pub fn with_fallback(mut self, store: Arc<dyn Store>) -> StoreMap {
        self.fallback = Some(store);
        self
    }

    /// The fallback of this handle.
    pub fn fallback(&self) -> Option<&Arc<dyn Store>> {
        self.fallback.as_ref()
    }

    /// The registry hosts given a store of their own ([`StoreMap::insert`], [`StoreMap::alias`]),
    /// in host order: what another program needs to read the same images the same way.
    pub fn aliases(&self) -> Vec<(String, Arc<dyn Store>)> {
        self.lock()
            .iter()
            .filter_map(|(k, s)| match k {
                StoreKey::Registry(host) => Some((host.clone(), s.clone())),
                StoreKey::Layout(_) => None,
            })
            .collect()
    }

    /// True when images of registry `host` are served without opening that registry: it has a
    /// store of its own, or this handle has a fallback.
    pub fn covers(&self, host: &str) -> bool {
        self.fallback.is_some()
            || self
                .lock()
                .contains_key(&StoreKey::Registry(host.to_string()))
    }

    /// The store holding `image`.
    pub async fn store(&self, image: &ImageRef, access: Access) -> Result<Arc<dyn Store>, Error> {
        let key = StoreKey::of(image);
        if let (StoreKey::Registry(_), Access::Read, Some(fallback)) =
            (&key, access, &self.fallback)
        {
            if let Some(own) = self.lock().get(&key) {
                return Ok(own.clone());
            }
            return Ok(fallback.clone());
        }
        self.open(&key, access, || image.to_string()).await
    }

    /// `image` resolved to its store and repository.
    pub async fn resolve(&self, image: &ImageRef, access: Access) -> Result<Resolved, Error> {
        Ok(Resolved {
            store: self.store(image, access).await?,
            repository: image.repository().to_string(),
            image: image.clone(),
        })
    }

    /// The store at `key` itself (the fallback does not apply: a location names one store).
    pub async fn store_at(&self, key: &StoreKey, access: Access) -> Result<Arc<dyn Store>, Error> {
        self.open(key, access, || key.to_string()).await
    }

    async fn open(
        &self,
        key: &StoreKey,
        access: Access,
        named: impl Fn() -> String,
    ) -> Result<Arc<dyn Store>, Error> {
        if let Some(store) = self.lock().get(key) {
            return Ok(store.clone());
        }
        match key {
            StoreKey::Registry(host) => self.shared.registries.open(host, named),
            StoreKey::Layout(path) => {
                let _opening = self.shared.opening.lock().await;
                if let Some(store) = self.lock().get(key) {
                    return Ok(store.clone());
                }
                let store: Arc<dyn Store> = Arc::new(match access {
                    Access::Read => LayoutStore::open(path).await?,
                    Access::Write => LayoutStore::open_or_create(path).await?,
                });
                self.lock().insert(key.clone(), store.clone());
                Ok(store)
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<StoreKey, Arc<dyn Store>>> {
        // Every update is one insert of a complete store, so a poisoned map is still consistent.
        self.shared.stores.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for StoreMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.lock().keys().map(StoreKey::to_string).collect();
        f.debug_struct("StoreMap")
            .field("stores", &keys)
            .field("fallback", &self.fallback.as_ref().map(|s| s.location()))
            .field("registries", &self.shared.registries)
            .finish()
    }
}

#[cfg(test)]
mod tests;
