//! The part of [`StoreMap`] that opens registries. Everything that reaches the registry client is
//! in this file, so that a build without that client keeps offline maps only.

use std::fmt;
use std::sync::Arc;

use super::StoreMap;
use crate::registry::{Registries, RegistryOptions};
use crate::{Error, Store};

/// Opens one registry store per host, or none for an offline map.
pub(super) struct RegistryOpener(Option<Registries>);

impl RegistryOpener {
    pub(super) fn none() -> RegistryOpener {
        RegistryOpener(None)
    }

    /// The store of registry `host`; `named` gives the reference for the error of an offline map.
    pub(super) fn open(
        &self,
        host: &str,
        named: impl Fn() -> String,
    ) -> Result<Arc<dyn Store>, Error> {
        match &self.0 {
            Some(registries) => Ok(registries.get(host)? as Arc<dyn Store>),
            None => Err(Error::NoStore {
                reference: named(),
                reason: format!(
                    "registry {host} has no store of its own, and this store map opens no registries"
                ),
            }),
        }
    }
}

impl fmt::Debug for RegistryOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("opened on first use"),
            None => f.write_str("offline"),
        }
    }
}

impl StoreMap {
    /// A map that opens registries on first use with `options` (insecure hosts, auth file), one
    /// store per host for every clone of the map.
    pub fn new(options: RegistryOptions) -> StoreMap {
        StoreMap::with_opener(RegistryOpener(Some(Registries::new(options))))
    }

    /// The options registry stores are opened with; `None` for an offline map.
    pub fn registry_options(&self) -> Option<&RegistryOptions> {
        self.shared.registries.0.as_ref().map(Registries::options)
    }
}
