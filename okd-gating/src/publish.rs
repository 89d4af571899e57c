//! Promotion: publishing the newest accepted release as the config's `publish` steps say.
//!
//! [`plan_publications`] is pure: for the newest accepted release, every enabled `tagRef` step
//! (tag `scos-4.19` → that release) and `imageStreamRef` step (the release copied into another
//! repository under its own name) that has not already published that release. The
//! controller's `imageStreamRef` also copies the release's component tags; okd-gating knows
//! releases, not their components, and copies the release image only. `verifyIssues` (Jira) and
//! empty steps do nothing here.
//!
//! A [`Publisher`] performs an action. [`StorePublisher`] tags the release image in a target
//! repository of any [`okd_oci::Store`]: it reads the manifest by digest and writes those exact
//! bytes under the tag, after making every blob and child manifest present in the target
//! (mounted when the store can, copied otherwise). Publishing is idempotent twice over: the plan
//! skips what the state records as done, and the publisher does nothing when the tag already
//! points at the digest.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use okd_gating::{PublishAction, PublishOutcome, Publisher, StorePublisher};
//! use okd_oci::{Digest, MemoryStore, RawManifest, Store, StoreExt, media_type};
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
//! };
//! assert!(matches!(publisher.publish(&action).await?, PublishOutcome::Published { .. }));
//! assert!(matches!(publisher.publish(&action).await?, PublishOutcome::AlreadyPublished { .. }));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okd_oci::{Digest, ImageRef, ManifestRef, Store};

use crate::record::{Publication, StreamState};
use crate::{Error, GatingPolicy, PublishTarget};

/// One publication to make.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishAction {
    /// The publish step.
    pub rule: String,
    /// The release.
    pub release: String,
    /// Where the release image is (its repository and tag or digest are used).
    pub pullspec: String,
    /// Target repository; `None`: the publisher's own (the stream's target).
    pub repository: Option<String>,
    /// Target tag.
    pub tag: String,
}

/// What a publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The tag now points at the release.
    Published {
        /// Repository written.
        repository: String,
        /// Manifest digest.
        digest: Digest,
    },
    /// The tag already pointed at the release: nothing written.
    AlreadyPublished {
        /// Repository.
        repository: String,
        /// Manifest digest.
        digest: Digest,
    },
}

impl PublishOutcome {
    /// The record to keep in [`StreamState::published`].
    pub fn publication(&self, action: &PublishAction, at: DateTime<Utc>) -> Publication {
        let (PublishOutcome::Published { repository, digest }
        | PublishOutcome::AlreadyPublished { repository, digest }) = self;
        Publication {
            release: action.release.clone(),
            repository: repository.clone(),
            tag: action.tag.clone(),
            digest: Some(digest.to_string()),
            at,
        }
    }
}

/// Publications due for the newest accepted release of `state`.
pub fn plan_publications(policy: &GatingPolicy, state: &StreamState) -> Vec<PublishAction> {
    let Some(latest) = state.latest_accepted() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in policy.publish.iter().filter(|r| !r.disabled) {
        let (repository, tag) = match &rule.target {
            PublishTarget::Tag { tag } => (None, tag.clone()),
            PublishTarget::Repository {
                namespace, name, ..
            } => {
                let repo = if namespace.is_empty() {
                    name.clone()
                } else {
                    format!("{namespace}/{name}")
                };
                (Some(repo), latest.name.clone())
            }
            PublishTarget::VerifyIssues(_) | PublishTarget::Nothing => continue,
        };
        if state
            .published
            .get(&rule.name)
            .is_some_and(|p| p.release == latest.name && p.tag == tag)
        {
            continue;
        }
        out.push(PublishAction {
            rule: rule.name.clone(),
            release: latest.name.clone(),
            pullspec: latest.pullspec.clone(),
            repository,
            tag,
        });
    }
    out
}

/// Performs publications.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Makes `action.tag` point at the release. Doing it twice does nothing the second time.
    async fn publish(&self, action: &PublishAction) -> Result<PublishOutcome, Error>;
}

/// Publishes by tagging release images within an [`okd_oci::Store`].
#[derive(Debug, Clone)]
pub struct StorePublisher {
    store: Arc<dyn Store>,
    repository: String,
}

impl StorePublisher {
    /// Publishes into `repository` of `store` (when an action names none). Release images are
    /// read from the repository of their pullspec in the same store.
    pub fn new(store: Arc<dyn Store>, repository: &str) -> StorePublisher {
        StorePublisher {
            store,
            repository: repository.to_string(),
        }
    }
}

#[async_trait]
impl Publisher for StorePublisher {
    async fn publish(&self, action: &PublishAction) -> Result<PublishOutcome, Error> {
        let source: ImageRef = action
            .pullspec
            .parse()
            .map_err(|e| Error::InvalidPullspec {
                release: action.release.clone(),
                pullspec: action.pullspec.clone(),
                source: Box::new(e),
            })?;
        let from = source.repository().to_string();
        let to = action
            .repository
            .clone()
            .unwrap_or_else(|| self.repository.clone());
        let wrap = |e: okd_oci::Error| Error::Publish {
            rule: action.rule.clone(),
            release: action.release.clone(),
            target: format!("{to}:{}", action.tag),
            source: Box::new(e),
        };
        let reference = match source.manifest_ref() {
            Some(ManifestRef::Digest(d)) => ManifestRef::Digest(d),
            Some(ManifestRef::Tag(t)) => ManifestRef::Tag(t),
            None => ManifestRef::Tag(action.release.clone()),
        };
        let digest = match reference {
            ManifestRef::Digest(d) => d,
            tag => self
                .store
                .manifest_digest(&from, &tag)
                .await
                .map_err(wrap)?
                .ok_or_else(|| {
                    wrap(okd_oci::Error::ManifestNotFound {
                        location: self.store.location(),
                        repo: from.clone(),
                        reference: tag.to_string(),
                    })
                })?,
        };
        match okd_oci::copy::retag(self.store.as_ref(), &from, &to, &digest, &action.tag)
            .await
            .map_err(wrap)?
        {
            okd_oci::copy::Retag::AlreadyTagged => Ok(PublishOutcome::AlreadyPublished {
                repository: to,
                digest,
            }),
            okd_oci::copy::Retag::Tagged(_) => Ok(PublishOutcome::Published {
                repository: to,
                digest,
            }),
        }
    }
}
