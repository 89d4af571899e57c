//! Reading a release payload for the mirror, with okd-release.
//!
//! [`PayloadLoader`] reads the release image's manifest, configuration and last layer (never the
//! components) through [`okd_release::Release`], and keeps what the mirror needs: the name from
//! `image-references`, the architecture, whether the image is a manifest list, and the components
//! in `image-references` order.

use async_trait::async_trait;
use okd_oci::{ImageRef, ManifestRef, Store};
use okd_release::{LoadOptions, Release};

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
        let failed = |reason: String| Error::Release {
            release: image.to_string(),
            reason,
        };
        let reference = image
            .manifest_ref()
            .unwrap_or_else(|| ManifestRef::Tag("latest".to_string()));
        let mut options = LoadOptions::default();
        if let PlatformChoice::Only(p) = &self.platform {
            options.os = p.os.clone();
            options.architecture = p.architecture.clone();
            options.variant = p.variant.clone();
        }
        let release = Release::load_with(store, image.repository(), &reference, &options)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut components = Vec::new();
        for tag in &release.references.spec.tags {
            let Some(from) = tag.from.as_ref().filter(|f| f.kind == "DockerImage") else {
                continue;
            };
            let pullspec: ImageRef = from
                .name
                .parse()
                .map_err(|e: okd_oci::Error| failed(format!("component {:?}: {e}", tag.name)))?;
            components.push(Component::new(tag.name.clone(), pullspec));
        }
        let architecture = Some(release.config.architecture.clone()).filter(|a| !a.is_empty());
        Ok(ReleaseContent {
            image: image.clone(),
            version: release.references.metadata.name.clone(),
            architecture,
            manifest_list: release.list_digest.is_some(),
            components,
        })
    }
}
