//! The multi-arch parts of building a candidate (see [`super::arch`]): checking the upstream
//! has every architecture asked for, and layering the OS image of each architecture.

use okd_coreos::layering::LayeredImage;
use okd_oci::{Access, Digest, ImageRef, ManifestRef};
use okd_release::platform::ListChild;
use okd_release::{DEFAULT_BASE_TAG, Release};

use super::arch::select_architectures;
use super::manifest_list::{ListImage, write_list};
use super::{OsLayering, Stream, StreamError};

impl Stream {
    /// For a multi-arch stream: the upstream release and its `cluster-version-operator` (the
    /// base of each release image) must be manifest lists with every architecture asked for.
    /// Returns the architectures (Go names) the release will have; `None` when single-arch.
    pub(crate) async fn check_upstream_arch(
        &self,
        image: &ImageRef,
        release: &Release,
    ) -> Result<Option<Vec<String>>, StreamError> {
        if !self.arch.is_multi() {
            return Ok(None);
        }
        let shown = image.to_string();
        if release.list_digest.is_none() {
            return Err(self.arch.not_multi(&shown));
        }
        self.arch
            .select_children(release.list_children.clone(), &shown)?;
        let cvo = release
            .component(DEFAULT_BASE_TAG)
            .ok_or_else(|| StreamError::Upstream {
                upstream: shown.clone(),
                message: format!("the payload has no {DEFAULT_BASE_TAG} image to build on"),
            })?;
        let found = self.sources.resolve(&cvo.image, Access::Read).await?;
        let manifest = found
            .store
            .read_manifest(&found.repository, &ManifestRef::Digest(cvo.digest.clone()))
            .await?;
        let children = self.arch.select(&manifest, &cvo.pullspec)?;
        if children.is_empty() {
            return Err(self.arch.not_multi(&cvo.pullspec));
        }
        Ok(Some(
            children
                .into_iter()
                .map(|c| c.platform.architecture)
                .collect(),
        ))
    }

    /// The images of the list `image` (at `digest`) of the architectures `archs`.
    pub(crate) async fn list_children_of(
        &self,
        image: &ImageRef,
        digest: &Digest,
        archs: &[String],
    ) -> Result<Vec<ListChild>, StreamError> {
        let found = self.sources.resolve(image, Access::Read).await?;
        let manifest = found
            .store
            .read_manifest(&found.repository, &ManifestRef::Digest(digest.clone()))
            .await?;
        let shown = image.with_digest(digest.clone()).to_string();
        if !manifest.is_index() {
            return Err(self.arch.not_multi(&shown));
        }
        let children = okd_release::platform::list_children(&manifest, &shown)?;
        select_architectures(children, archs, &shown)
    }

    /// Layers `os` on the image of each of `archs` in the base list (`base` at `digest`),
    /// writes the layered images untagged and their list tagged `name`, and returns the list's
    /// public pullspec with the lint's findings.
    pub(crate) async fn layer_each_arch(
        &self,
        name: &str,
        os: &OsLayering,
        (base, digest): (&ImageRef, &Digest),
        archs: &[String],
    ) -> Result<(ImageRef, Vec<String>), StreamError> {
        let children = self.list_children_of(base, digest, archs).await?;
        let found = self.sources.resolve(base, Access::Read).await?;
        let repo_name = os.variant().payload_tags().os;
        let dest_repo = self.target.repository(&repo_name);
        let mut images = Vec::with_capacity(children.len());
        let mut lint = Vec::new();
        for child in &children {
            let layered = LayeredImage::new(
                found.store.as_ref(),
                &found.repository,
                &ManifestRef::Digest(child.digest.clone()),
            );
            let written = super::candidate::configure_layering(os, layered)
                .write_to(self.store.as_ref(), &dest_repo, None)
                .await
                .map_err(|e| StreamError::candidate(name, "layering", e))?;
            lint.extend(
                written
                    .lint
                    .findings
                    .iter()
                    .map(|f| format!("{}: {f}", child.platform)),
            );
            images.push(ListImage {
                platform: child.platform.clone(),
                manifest: written.manifest,
            });
        }
        let list = write_list(self.store.as_ref(), &dest_repo, &images, Some(name)).await?;
        let image = self
            .target
            .public_pullspec(&repo_name, list.digest())
            .parse()?;
        Ok((image, lint))
    }
}
