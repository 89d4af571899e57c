//! Reading a release payload for the mirror, with okd-release.
//!
//! [`PayloadLoader`] reads the release image's manifest, configuration and last layer (never the
//! components) through [`okd_release::Release`], and keeps what the mirror needs: the name from
//! `image-references`, the architecture, whether the image is a manifest list, and the components
//! in `image-references` order. A program that has loaded the release already turns it into a
//! [`ReleaseContent`] with [`ReleaseContent::from_release`] and plans from that, which reads the
//! payload no second time.

use async_trait::async_trait;
use okd_oci::{ImageRef, ManifestRef, Store};
use okd_release::{LoadOptions, PlatformFilter, Release};

use crate::{Component, Error, PlatformChoice, ReleaseContent, ReleaseLoader};

/// The [`ReleaseLoader`] for real payloads.
#[derive(Debug, Clone, Default)]
pub struct PayloadLoader {
    /// Which image of a multi-arch release to read `image-references` from (they are the same in
    /// every image of a release; amd64 unless a platform is chosen).
    pub platform: PlatformChoice,
}

#[async_trait]
impl ReleaseLoader for PayloadLoader {
    async fn load(&self, store: &dyn Store, image: &ImageRef) -> Result<ReleaseContent, Error> {
        let reference = image
            .manifest_ref()
            .unwrap_or_else(|| ManifestRef::Tag("latest".to_string()));
        let mut options = LoadOptions::default();
        if let PlatformChoice::Only(p) = &self.platform {
            options.platform = PlatformFilter::Platform(okd_release::Platform {
                os: p.os.clone(),
                architecture: p.architecture.clone(),
                variant: p.variant.clone(),
            });
        }
        let release = Release::load_with(store, image.repository(), &reference, &options)
            .await
            .map_err(|e| Error::Release {
                release: image.to_string(),
                source: Box::new(e),
            })?;
        ReleaseContent::from_release(image, &release)
    }
}

impl ReleaseContent {
    /// What the mirror needs of `release`, loaded from `image`: its components in
    /// `image-references` order (tags that name no image are skipped), its name, architecture
    /// and whether it is a manifest list.
    pub fn from_release(image: &ImageRef, release: &Release) -> Result<ReleaseContent, Error> {
        let mut components = Vec::new();
        for tag in release.references.tags() {
            let Some(pullspec) = tag.pullspec() else {
                continue;
            };
            let parsed: ImageRef =
                pullspec
                    .parse()
                    .map_err(|e: okd_oci::Error| Error::InvalidComponent {
                        release: image.to_string(),
                        component: tag.name.clone(),
                        source: Box::new(e),
                    })?;
            components.push(Component::new(tag.name.clone(), parsed));
        }
        let architecture = Some(release.config.architecture.clone()).filter(|a| !a.is_empty());
        Ok(ReleaseContent {
            image: image.clone(),
            version: release.references.name().to_string(),
            architecture,
            manifest_list: release.list_digest.is_some(),
            components,
        })
    }
}

/// A release already read: planning a mirror of `self.image` reads nothing more of the payload.
/// Any other image is not known to it.
#[async_trait]
impl ReleaseLoader for ReleaseContent {
    async fn load(&self, _store: &dyn Store, image: &ImageRef) -> Result<ReleaseContent, Error> {
        if image == &self.image {
            Ok(self.clone())
        } else {
            Err(Error::SourceNotFound {
                image: image.to_string(),
            })
        }
    }
}
