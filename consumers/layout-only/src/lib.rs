//! Reads OKD release payloads from OCI image layouts, with okd-streams built without its
//! registry client (`default-features = false`): what a tool that only handles layouts on disk
//! compiles.
//!
//! ```no_run
//! # async fn demo() -> Result<(), okd_release::Error> {
//! let image = "oci:/srv/okd:okd/scos-release:4.19.0-okd-scos.19".parse()?;
//! let release = okd_layout_consumer::load_release(&image).await?;
//! println!("{} has {} components", release.name, release.components.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use okd_oci::{Error as OciError, ImageRef, LayoutStore};
use okd_release::{Error, Release};

/// Loads the release `image` names from its OCI layout (`oci:DIR:REPO:TAG`).
///
/// A registry reference is refused with [`okd_oci::Error::RegistryDisabled`], since this
/// program has no registry client.
pub async fn load_release(image: &ImageRef) -> Result<Release, Error> {
    let ImageRef::Layout(layout) = image else {
        return Err(OciError::RegistryDisabled {
            reference: image.to_string(),
        }
        .into());
    };
    let store = LayoutStore::open(&layout.path).await?;
    Release::load_image(&store, image).await
}
