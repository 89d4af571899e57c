//! Publishing into the stream's store: okd-gating decides what to publish
//! ([`plan_publications`](okd_gating::plan_publications)), [`StorePublisher`] does it.
//!
//! A [`PublishAction`] names a release by pullspec and a target repository and tag.
//! [`StorePublisher`] finds the release's manifest digest in the repository of its pullspec
//! (by the pullspec's digest, else its tag, else the release name as tag) and promotes it with
//! [`okd_oci::copy::retag`]: every blob and child manifest is made present in the target
//! (mounted when the store can, copied otherwise), then the exact manifest bytes are written
//! under the tag. Publishing is idempotent twice over: the plan skips what the gating state
//! records as done, and the publisher writes nothing when the tag already points at the digest.
//!
//! An action with `components` (the controller's `imageStreamRef`) publishes the release's
//! component tags instead: the release's image-references are read from the store, and each
//! selected component `cli` becomes `<repository>:cli` at the component's digest, read from
//! wherever its pullspec resolves through the stream's [`StoreMap`] (see
//! [`StorePublisher::with_sources`]): retagged within the target store, copied from another
//! one, content first and tag last either way.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use okd_gating::{PublishAction, PublishOutcome, Publisher};
//! use okd_oci::{Digest, MemoryStore, RawManifest, Store, StoreExt, media_type};
//! use okd_streams::stream::StorePublisher;
//!
//! let store = Arc::new(MemoryStore::new());
//! let config = bytes::Bytes::from_static(b"{}");
//! let cd = Digest::sha256_of(&config);
//! store.put_blob("okd/release-scos", &cd, config.clone()).await?;
//! let manifest = format!(r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[]}}"#,
//!     media_type::OCI_MANIFEST, media_type::OCI_CONFIG, cd);
//! let m = RawManifest::new(media_type::OCI_MANIFEST, manifest.into_bytes())?;
//! store.write_manifest("okd/release-scos", &m, Some("4.19.0-0.okd-scos-2025-01-01-000000")).await?;
//!
//! let publisher = StorePublisher::new(store.clone(), "okd/scos");
//! let action = PublishAction {
//!     rule: "tag".into(),
//!     release: "4.19.0-0.okd-scos-2025-01-01-000000".into(),
//!     pullspec: "quay.io/okd/release-scos:4.19.0-0.okd-scos-2025-01-01-000000".into(),
//!     repository: None,
//!     tag: "scos-4.19".into(),
//!     components: None,
//! };
//! assert!(matches!(publisher.publish(&action).await?, PublishOutcome::Published { .. }));
//! assert!(matches!(publisher.publish(&action).await?, PublishOutcome::AlreadyPublished { .. }));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use okd_gating::{Error, PublishAction, PublishOutcome, Publisher};
use okd_oci::copy::{Retag, retag};
use okd_oci::{Digest, ImageRef, ManifestRef, Store, StoreMap};

/// Publishes by promoting release images within one [`okd_oci::Store`].
#[derive(Debug, Clone)]
pub struct StorePublisher {
    pub(super) store: Arc<dyn Store>,
    repository: String,
    pub(super) sources: Option<StoreMap>,
}

impl StorePublisher {
    /// Publishes into `repository` of `store` (when an action names none). Release images are
    /// read from the repository of their pullspec in the same store.
    pub fn new(store: Arc<dyn Store>, repository: &str) -> StorePublisher {
        StorePublisher {
            store,
            repository: repository.to_string(),
            sources: None,
        }
    }

    /// Reads the components of a release (for `imageStreamRef` steps) through `sources`, the
    /// stream's map from registries to stores. Without it, components are read from the
    /// repository of their pullspec in the publisher's own store.
    pub fn with_sources(mut self, sources: StoreMap) -> StorePublisher {
        self.sources = Some(sources);
        self
    }

    /// The release image's repository and manifest digest in the store.
    pub(super) async fn release_digest(
        &self,
        action: &PublishAction,
        target: &str,
    ) -> Result<(ImageRef, Digest), Error> {
        let source: ImageRef = action
            .pullspec
            .parse()
            .map_err(|e| Error::InvalidPullspec {
                release: action.release.clone(),
                pullspec: action.pullspec.clone(),
                source: Box::new(e),
            })?;
        let from = source.repository();
        let wrap = |e: okd_oci::Error| publish_error(action, target, e);
        let digest = match source.manifest_ref() {
            Some(ManifestRef::Digest(d)) => d,
            by_tag => {
                // A pullspec without tag or digest names the release by its own name.
                let tag = by_tag.unwrap_or_else(|| ManifestRef::Tag(action.release.clone()));
                self.store
                    .manifest_digest(from, &tag)
                    .await
                    .map_err(wrap)?
                    .ok_or_else(|| {
                        wrap(okd_oci::Error::ManifestNotFound {
                            location: self.store.location(),
                            repo: from.to_string(),
                            reference: tag.to_string(),
                        })
                    })?
            }
        };
        Ok((source, digest))
    }
}

/// A store error of `action`, naming its rule, release and `target`.
pub(super) fn publish_error(action: &PublishAction, target: &str, e: okd_oci::Error) -> Error {
    Error::Publish {
        rule: action.rule.clone(),
        release: action.release.clone(),
        target: target.to_string(),
        source: Box::new(e),
    }
}

#[async_trait]
impl Publisher for StorePublisher {
    async fn publish(&self, action: &PublishAction) -> Result<PublishOutcome, Error> {
        let to = action
            .repository
            .clone()
            .unwrap_or_else(|| self.repository.clone());
        if let Some(selection) = &action.components {
            return self.publish_components(action, selection, &to).await;
        }
        let target = format!("{to}:{}", action.tag);
        let (source, digest) = self.release_digest(action, &target).await?;
        let outcome = retag(
            self.store.as_ref(),
            source.repository(),
            &to,
            &digest,
            &action.tag,
        )
        .await
        .map_err(|e| publish_error(action, &target, e))?;
        Ok(match outcome {
            Retag::AlreadyTagged => PublishOutcome::AlreadyPublished {
                repository: to,
                digest,
            },
            Retag::Tagged(_) => PublishOutcome::Published {
                repository: to,
                digest,
            },
        })
    }
}
