//! Writing the release image of an assembled payload.
//!
//! The content mirror copy and the preparation of the release image (the release layer, written
//! on a blocking thread, and the base image read from its store) run at once: both only read and
//! write things nobody names yet. The release image is pushed after the copy finished, so a
//! release never names content that is not there.

use okd_oci::{Access, ImageRef, ManifestRef, RawManifest, Resolved, Store, StoreMap};

use super::{ReleaseBuilder, build_err, check_reproduced, oci_layers_warning};
use crate::payload::{BuiltRelease, Payload};
use crate::release_image::{
    BaseImage, NewParts, push, read_base, release_config, schema2_manifest,
};
use crate::release_list::{BaseList, write_list};
use crate::{Error, ReleaseLayer};

/// What the release image is made of, read before anything is written.
struct Prepared {
    layer: ReleaseLayer,
    base: Resolved,
    /// The base image's top manifest (a list when the base is multi-arch).
    top: RawManifest,
    /// The base image of the chosen platform, unless a kept list is written instead.
    image: Option<BaseImage>,
}

impl ReleaseBuilder {
    /// Assembles the payload and writes the release image to `to_repo` of `to`, tagged `tag`
    /// (default: the release name). The base image is read through `stores`; its layers are
    /// mounted or copied, never rewritten.
    pub async fn build(
        &self,
        stores: &StoreMap,
        to: &dyn Store,
        to_repo: &str,
        tag: Option<&str>,
    ) -> Result<BuiltRelease, Error> {
        let mut payload = self.assemble(stores).await?;
        let tag = tag.unwrap_or(&payload.name).to_string();
        if !okd_oci::is_valid_tag(&tag) {
            return Err(build_err(
                &payload.name,
                format!("{tag:?} is not a valid tag; give a tag explicitly"),
            ));
        }
        let (prepared, ()) = tokio::try_join!(
            self.prepare(stores, &payload),
            self.copy_to_mirror(stores, &payload)
        )?;
        let written_to = format!("{}/{to_repo}:{tag}", to.location());
        let Prepared {
            layer,
            base,
            top,
            image,
        } = prepared;
        let Some(image) = image else {
            let base = BaseList {
                store: base.store.as_ref(),
                repo: &base.repository,
                list: &top,
                pullspec: &payload.base_pullspec,
            };
            let keep = self.list_architectures.as_ref();
            let list = write_list(base, keep, &payload, &layer, to, to_repo, &tag).await?;
            return Ok(BuiltRelease {
                digest: list.manifest.digest().clone(),
                manifest: list.manifest,
                config: list.config,
                layer_digest: layer.digest.clone(),
                layer_diff_id: layer.diff_id.clone(),
                written_to,
                children: list.children,
                pushed: true,
                payload,
            });
        };
        if let Some(w) = oci_layers_warning(&payload.base_pullspec, &image.layers) {
            payload.warnings.push(w);
        }
        let config = release_config(&image, &payload.name, payload.created, &layer).to_json();
        let manifest = schema2_manifest(config.as_bytes(), &image.layers, &layer)?;
        check_reproduced(&payload, &manifest)?;
        let parts = NewParts {
            layer: &layer,
            config: config.as_bytes(),
            manifest: &manifest,
        };
        if !self.dry_run {
            let to_tag = Some(tag.as_str());
            push(base.store.as_ref(), &image, parts, to, to_repo, to_tag).await?;
        }
        Ok(BuiltRelease {
            digest: manifest.digest().clone(),
            manifest,
            config: bytes::Bytes::from(config),
            layer_digest: layer.digest.clone(),
            layer_diff_id: layer.diff_id.clone(),
            written_to,
            children: Vec::new(),
            pushed: !self.dry_run,
            payload,
        })
    }

    /// Writes the release layer and reads the base image, writing nothing anywhere.
    async fn prepare(&self, stores: &StoreMap, payload: &Payload) -> Result<Prepared, Error> {
        let invalid = |reason: String| Error::InvalidPullspec {
            tag: self.base_tag.clone(),
            pullspec: payload.base_pullspec.clone(),
            reason,
        };
        let base_ref: ImageRef = payload
            .base_pullspec
            .parse()
            .map_err(|e: okd_oci::Error| invalid(e.to_string()))?;
        let reference = base_ref
            .manifest_ref()
            .ok_or_else(|| invalid("no tag or digest".to_string()))?;
        let (layer, (base, top)) = tokio::try_join!(release_layer(payload), async {
            let base = stores.resolve(&base_ref, Access::Read).await?;
            let top = base
                .store
                .read_manifest(&base.repository, &reference)
                .await?;
            Ok::<_, Error>((base, top))
        })?;
        if self.keep_manifest_list && top.is_index() {
            if self.dry_run {
                // Each child is written before the list that names it; a dry run of that
                // sequence would report digests of children it never checked were writable.
                return Err(build_err(
                    &payload.name,
                    "--dry-run cannot be combined with --keep-manifest-list: the list's images are written as they are made",
                ));
            }
            let image = None;
            return Ok(Prepared {
                layer,
                base,
                top,
                image,
            });
        }
        let image = read_base(
            base.store.as_ref(),
            &base.repository,
            &ManifestRef::Digest(top.digest().clone()),
            &payload.base_pullspec,
            &self.inspect.platform,
        )
        .await?;
        Ok(Prepared {
            layer,
            base,
            top,
            image: Some(image),
        })
    }
}

/// The payload's release layer, written on a blocking thread (it gzips every manifest).
pub(super) async fn release_layer(payload: &Payload) -> Result<ReleaseLayer, Error> {
    let payload = payload.clone();
    tokio::task::spawn_blocking(move || payload.release_layer())
        .await
        .map_err(|e| Error::Layer {
            what: "release layer".to_string(),
            reason: format!("writer thread failed: {e}"),
        })?
}
