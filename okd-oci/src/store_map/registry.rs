//! The part of [`StoreMap`] that opens registries. Everything that reaches the registry client is
//! in this file: without okd-oci's `registry` feature a map opens no registry, and a registry
//! reference nobody mapped is [`Error::RegistryDisabled`].

use std::fmt;
use std::sync::Arc;

use super::StoreMap;
#[cfg(feature = "registry")]
use crate::registry::Registries;
use crate::registry::RegistryOptions;
use crate::{Error, Store};

/// Opens one registry store per host, or none for an offline map.
#[cfg(feature = "registry")]
pub(super) struct RegistryOpener(Option<Registries>);

/// Opens no registry: okd-oci was built without its `registry` feature.
#[cfg(not(feature = "registry"))]
pub(super) struct RegistryOpener;

#[cfg(not(feature = "registry"))]
impl RegistryOpener {
    pub(super) fn none() -> RegistryOpener {
        RegistryOpener
    }

    pub(super) fn open(
        &self,
        _host: &str,
        named: impl Fn() -> String,
    ) -> Result<Arc<dyn Store>, Error> {
        Err(Error::RegistryDisabled { reference: named() })
    }
}

#[cfg(not(feature = "registry"))]
impl fmt::Debug for RegistryOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no registry client")
    }
}

#[cfg(not(feature = "registry"))]
impl StoreMap {
    /// Without the `registry` feature: a map that opens layouts and serves the stores put into
    /// it; a registry reference nobody mapped is [`Error::RegistryDisabled`].
    pub fn new(options: RegistryOptions) -> StoreMap {
        let _ = options;
        StoreMap::with_opener(RegistryOpener)
    }

    /// The options registry stores are opened with: none without the `registry` feature.
    pub fn registry_options(&self) -> Option<&RegistryOptions> {
        None
    }
}

#[cfg(feature = "registry")]
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

#[cfg(feature = "registry")]
impl fmt::Debug for RegistryOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("opened on first use"),
            None => f.write_str("offline"),
        }
    }
}

#[cfg(feature = "registry")]
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
