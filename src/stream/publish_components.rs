//! The controller's `imageStreamRef` publication: a release's component tags copied into a
//! repository, each `<repository>:<component>` at the component's digest.
//!
//! The release's image-references say which components it has and where each is; the
//! [`ComponentSelection`] of the action picks among them. A component in the target store
//! (a stream that mirrors its components) is promoted with [`retag`]; one in another store (the
//! upstream's registry or layout, through the stream's [`okd_oci::StoreMap`]) is copied with
//! [`copy_image`]. Either way every blob and child manifest is present before the tag is
//! written, and a tag already at the component's digest is left alone.

use okd_gating::{ComponentSelection, ComponentTag, Error, PublishAction, PublishOutcome};
use okd_oci::copy::{Retag, copy_image, retag, same_store};
use okd_oci::{Access, Digest, ImageRef, ManifestRef};
use okd_release::Release;

use super::publish::{StorePublisher, publish_error};

impl StorePublisher {
    /// Publishes the component tags of `action`'s release that `selection` picks into `to`.
    pub(super) async fn publish_components(
        &self,
        action: &PublishAction,
        selection: &ComponentSelection,
        to: &str,
    ) -> Result<PublishOutcome, Error> {
        let (image, digest) = self.release_digest(action, to).await?;
        let release = Release::load(
            self.store.as_ref(),
            image.repository(),
            &ManifestRef::Digest(digest),
        )
        .await
        .map_err(|e| Error::ReleaseComponents {
            rule: action.rule.clone(),
            release: action.release.clone(),
            pullspec: action.pullspec.clone(),
            source: Box::new(e),
        })?;
        let selected = selection.select(release.components.keys().map(String::as_str));
        let mut tags = Vec::with_capacity(selected.copy.len());
        for name in selected.copy {
            let Some(component) = release.components.get(&name) else {
                continue;
            };
            let target = format!("{to}:{name}");
            let written = self
                .publish_component(&component.image, &component.digest, to, &name)
                .await
                .map_err(|e| publish_error(action, &target, e))?;
            tags.push(ComponentTag {
                name,
                digest: component.digest.clone(),
                written,
            });
        }
        Ok(PublishOutcome::Components {
            repository: to.to_string(),
            tags,
            missing: selected.missing,
        })
    }

    /// Points `tag` of `to` at the component `image` (manifest `digest`), making its content
    /// present first. False when the tag was already there.
    async fn publish_component(
        &self,
        image: &ImageRef,
        digest: &Digest,
        to: &str,
        tag: &str,
    ) -> Result<bool, okd_oci::Error> {
        let (src, src_repo) = match &self.sources {
            Some(map) => {
                let r = map.resolve(image, Access::Read).await?;
                (r.store, r.repository)
            }
            None => (self.store.clone(), image.repository().to_string()),
        };
        let dst = self.store.as_ref();
        if same_store(src.as_ref(), dst) {
            let outcome = retag(dst, &src_repo, to, digest, tag).await?;
            return Ok(matches!(outcome, Retag::Tagged(_)));
        }
        let current = dst
            .manifest_digest(to, &ManifestRef::Tag(tag.to_string()))
            .await?;
        if current.as_ref() == Some(digest) {
            return Ok(false);
        }
        let reference = ManifestRef::Digest(digest.clone());
        let (manifest, _) = copy_image(src.as_ref(), &src_repo, &reference, dst, to, None).await?;
        // The tag must name the component the release lists, not what a store answered.
        if manifest.digest() != digest {
            return Err(okd_oci::Error::DigestMismatch {
                what: format!("manifest {image} in {}/{src_repo}", src.location()),
                expected: digest.clone(),
                actual: manifest.digest().clone(),
            });
        }
        dst.write_manifest(to, &manifest, Some(tag)).await?;
        Ok(true)
    }
}
