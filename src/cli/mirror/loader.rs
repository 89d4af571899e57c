//! Reading a release image for the mirror with okd-release.

use async_trait::async_trait;
use okd_mirror::{Component, Error, ReleaseContent, ReleaseLoader};
use okd_oci::{ImageRef, Store};
use okd_release::Release;

/// A [`ReleaseLoader`] over [`Release::load_image`]: only the release image's manifest, config
/// and last layer are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReleaseReader;

#[async_trait]
impl ReleaseLoader for ReleaseReader {
    async fn load(&self, store: &dyn Store, image: &ImageRef) -> Result<ReleaseContent, Error> {
        let failed = |reason: String| Error::Release {
            release: image.to_string(),
            reason,
        };
        let release = Release::load_image(store, image)
            .await
            .map_err(|e| failed(e.to_string()))?;
        // In image-references order; a tag without an image is not a component.
        let components = release
            .references
            .tags()
            .iter()
            .filter_map(|t| release.component(&t.name))
            .map(|c| Component::new(c.name.clone(), c.image.clone()))
            .collect();
        Ok(ReleaseContent {
            image: image.clone(),
            version: release.references.name().to_string(),
            architecture: Some(release.config.architecture.clone()).filter(|a| !a.is_empty()),
            manifest_list: release.list_digest.is_some(),
            components,
        })
    }
}
