//! From an [`ImageRef`] to the store that holds it.
//!
//! Programs that take references from users (`docker://…` or `oci:…`) need one store object per
//! registry host and per layout directory, shared by every reference to it, so that per-registry
//! request bounds hold and mounts between repositories of one store are recognised.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{ImageRef, Resolver, registry::RegistryOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let resolver = Resolver::new(RegistryOptions::default());
//! let image: ImageRef = format!("oci:{}:okd/release:4.19", dir.path().display()).parse()?;
//! let target = resolver.resolve(&image, true).await?;
//! assert_eq!(target.repo, "okd/release");
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "registry")]
use crate::registry::Registries;
use crate::registry::RegistryOptions;
use crate::{Error, ImageRef, LayoutStore, ManifestRef, Store};

/// An image reference resolved to its store.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The store holding the repository.
    pub store: Arc<dyn Store>,
    /// The repository inside the store.
    pub repo: String,
    /// The manifest the reference names, if it names one (a digest wins over a tag).
    pub reference: Option<ManifestRef>,
}

impl Resolved {
    /// The manifest reference, or an error naming `image` when it has neither tag nor digest.
    pub fn manifest_ref(&self, image: &ImageRef) -> Result<ManifestRef, Error> {
        self.reference
            .clone()
            .ok_or_else(|| Error::InvalidReference {
                input: image.to_string(),
                reason: "needs a tag or a digest".to_string(),
            })
    }
}

/// Hands out one store per registry host and per layout directory.
#[derive(Debug)]
pub struct Resolver {
    #[cfg(feature = "registry")]
    registries: Registries,
    layouts: tokio::sync::Mutex<HashMap<PathBuf, Arc<LayoutStore>>>,
}

impl Resolver {
    /// A resolver whose registry stores use `options`.
    pub fn new(options: RegistryOptions) -> Resolver {
        // Without the registry client the options have nothing to configure.
        #[cfg(not(feature = "registry"))]
        let _ = options;
        Resolver {
            #[cfg(feature = "registry")]
            registries: Registries::new(options),
            layouts: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The registry pool.
    #[cfg(feature = "registry")]
    pub fn registries(&self) -> &Registries {
        &self.registries
    }

    /// The shared store of the registry `host` (`HOST[:PORT]`). Without the `registry` feature
    /// this is [`Error::RegistryDisabled`] naming the host.
    pub fn registry(&self, host: &str) -> Result<Arc<dyn Store>, Error> {
        #[cfg(feature = "registry")]
        return Ok(self.registries.get(host)? as Arc<dyn Store>);
        #[cfg(not(feature = "registry"))]
        return Err(Error::RegistryDisabled {
            reference: host.to_string(),
        });
    }

    /// The store for `image`. A layout that does not exist yet is created when `create` is true
    /// (a destination), and is an error otherwise (a source).
    pub async fn store(&self, image: &ImageRef, create: bool) -> Result<Arc<dyn Store>, Error> {
        match image {
            #[cfg(feature = "registry")]
            ImageRef::Registry(r) => Ok(self.registries.for_ref(r)? as Arc<dyn Store>),
            #[cfg(not(feature = "registry"))]
            ImageRef::Registry(_) => Err(Error::RegistryDisabled {
                reference: image.to_string(),
            }),
            ImageRef::Layout(l) => {
                let key = std::path::absolute(&l.path).unwrap_or_else(|_| l.path.clone());
                let mut layouts = self.layouts.lock().await;
                if let Some(store) = layouts.get(&key) {
                    return Ok(store.clone() as Arc<dyn Store>);
                }
                let store = if create {
                    LayoutStore::open_or_create(&l.path).await?
                } else {
                    LayoutStore::open(&l.path).await?
                };
                let store = Arc::new(store);
                layouts.insert(key, store.clone());
                Ok(store as Arc<dyn Store>)
            }
        }
    }

    /// Resolves `image` to its store, repository and manifest reference.
    pub async fn resolve(&self, image: &ImageRef, create: bool) -> Result<Resolved, Error> {
        Ok(Resolved {
            store: self.store(image, create).await?,
            repo: image.repository().to_string(),
            reference: image.manifest_ref(),
        })
    }
}
