//! The release layer alone, as `oc adm release new --to-file` writes it: no image, no push.
//!
//! ```no_run
//! # async fn demo(stores: okd_oci::StoreMap, base: okd_release::Release) -> Result<(), okd_release::Error> {
//! use okd_release::ReleaseBuilder;
//! use okd_release::builder::write_layer_file;
//!
//! let (payload, layer) = ReleaseBuilder::from_release(base)
//!     .name("4.19.0-okd-scos.2")
//!     .build_layer(&stores)
//!     .await?;
//! write_layer_file(&layer, std::path::Path::new("release.tar.gz"), payload.created)?;
//! # Ok(()) }
//! ```

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use okd_oci::StoreMap;

use super::ReleaseBuilder;
use crate::{Error, Payload, ReleaseLayer};

impl ReleaseBuilder {
    /// Copies the components into the content mirror, unless this is a dry run.
    pub(super) async fn copy_to_mirror(
        &self,
        stores: &StoreMap,
        payload: &Payload,
    ) -> Result<(), Error> {
        if let (Some(m), false) = (&self.mirror, self.dry_run) {
            m.copy_all(stores, &payload.mirrored, self.concurrency)
                .await?;
        }
        Ok(())
    }

    /// Assembles the payload and writes its gzip'd `release-manifests/` layer, without reading
    /// the base image or writing an image. The content mirror, if any, is filled as for
    /// [`ReleaseBuilder::build`] (not in a dry run).
    pub async fn build_layer(&self, stores: &StoreMap) -> Result<(Payload, ReleaseLayer), Error> {
        let payload = self.assemble(stores).await?;
        let (layer, ()) = tokio::try_join!(
            super::build::release_layer(&payload),
            self.copy_to_mirror(stores, &payload)
        )?;
        Ok((payload, layer))
    }
}

/// Writes `layer` to `path` whole or not at all (a temporary file in the same directory, then a
/// rename), dated `created` as `oc` dates the file it writes. Blocking.
pub fn write_layer_file(
    layer: &ReleaseLayer,
    path: &Path,
    created: DateTime<Utc>,
) -> Result<(), Error> {
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    tmp.write_all(&layer.bytes).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A temporary file is private; the tarball is not.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(failed)?;
    }
    tmp.as_file()
        .set_modified(std::time::SystemTime::from(created))
        .map_err(failed)?;
    tmp.as_file().sync_all().map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}
