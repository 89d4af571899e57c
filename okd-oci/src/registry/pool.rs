//! One [`RegistryStore`] per registry host, sharing options, so that the per-registry request
//! bound holds across a whole program.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{RegistryOptions, RegistryStore};
use crate::{Error, ImageRef, RegistryRef};

/// Hands out one [`RegistryStore`] per host.
///
/// ```
/// use okd_oci::ImageRef;
/// use okd_oci::registry::{Registries, RegistryOptions};
///
/// let registries = Registries::new(RegistryOptions::default());
/// let image: ImageRef = "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?;
/// let a = registries.for_image(&image)?;
/// let b = registries.get("quay.io")?;
/// assert!(std::sync::Arc::ptr_eq(&a, &b));
/// # Ok::<(), okd_oci::Error>(())
/// ```
#[derive(Debug)]
pub struct Registries {
    options: RegistryOptions,
    stores: Mutex<HashMap<String, Arc<RegistryStore>>>,
}

impl Registries {
    /// A pool using `options` for every registry.
    pub fn new(options: RegistryOptions) -> Registries {
        Registries {
            options,
            stores: Mutex::new(HashMap::new()),
        }
    }

    /// The options every store gets.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// The store for `host` (`quay.io`, `127.0.0.1:5000`).
    pub fn get(&self, host: &str) -> Result<Arc<RegistryStore>, Error> {
        // A poisoned lock only means another thread panicked between a lookup and an insert of
        // a fully built store; the map is still consistent.
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = stores.get(host) {
            return Ok(store.clone());
        }
        let store = Arc::new(RegistryStore::new(host, self.options.clone())?);
        stores.insert(host.to_string(), store.clone());
        Ok(store)
    }

    /// The store holding a registry reference.
    pub fn for_ref(&self, reference: &RegistryRef) -> Result<Arc<RegistryStore>, Error> {
        self.get(&reference.registry)
    }

    /// The store holding `image`, which must be a `docker://` reference.
    pub fn for_image(&self, image: &ImageRef) -> Result<Arc<RegistryStore>, Error> {
        match image {
            ImageRef::Registry(r) => self.for_ref(r),
            ImageRef::Layout(_) => Err(Error::InvalidReference {
                input: image.to_string(),
                reason: "an oci: layout reference, not a registry image".to_string(),
            }),
        }
    }
}
