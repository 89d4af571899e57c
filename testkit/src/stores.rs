//! Stores that reach a spawned [`Registry`](crate::Registry) (or a
//! [`FaultProxy`](crate::FaultProxy) in front of one) the way okd-streams users reach a
//! registry without TLS: the host marked insecure, and an empty auth file so that nothing the
//! machine's own `auth.json` or `~/.docker/config.json` holds takes part in a test.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = testkit::Registry::spawn().await?;
//! let store = testkit::stores::plain_store(&registry);
//! # let _ = store; Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use okd_oci::RegistryStore;
use okd_oci::registry::RegistryOptions;

use crate::Registry;

/// Writes `{"auths":{}}` to `dir/empty-auth.json` and returns its path.
pub fn empty_auth_file(dir: &Path) -> PathBuf {
    let path = dir.join("empty-auth.json");
    std::fs::write(&path, r#"{"auths":{}}"#).unwrap();
    path
}

/// Default options that reach `host` over plain HTTP with the empty auth file written in `dir`.
pub fn plain_options(host: &str, dir: &Path) -> RegistryOptions {
    RegistryOptions::default()
        .insecure_registry(host)
        .auth_file(empty_auth_file(dir))
}

/// A store for `registry` with [`plain_options`].
pub fn plain_store(registry: &Registry) -> RegistryStore {
    RegistryStore::new(
        &registry.host(),
        plain_options(&registry.host(), registry.dir()),
    )
    .unwrap()
}
