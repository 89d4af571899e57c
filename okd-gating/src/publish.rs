//! Promotion: what to publish for the newest accepted release, as the config's `publish` steps
//! say.
//!
//! [`plan_publications`] is pure: for the newest accepted release, every enabled `tagRef` step
//! (tag `scos-4.19` → that release) and `imageStreamRef` step (the release copied into another
//! repository under its own name) that has not already published that release. The
//! controller's `imageStreamRef` also copies the release's component tags; okd-gating knows
//! releases, not their components, and plans the release image only. `verifyIssues` (Jira) and
//! empty steps do nothing here.
//!
//! A [`Publisher`] performs an action. okd-gating decides and never moves image content: the
//! publisher over a content store is the stream's (`okd_streams::stream::StorePublisher`, which
//! promotes with `okd_oci::copy::retag`). Publishing is idempotent twice over: the plan skips
//! what the state records as done, and a publisher does nothing when the tag already points at
//! the release.
//!
//! ```
//! use chrono::Utc;
//! use okd_gating::{CreationState, GatingPolicy, Phase, ReleaseRecord, StreamState, plan_publications};
//!
//! let policy = GatingPolicy::builder("4.19.0-0.okd-scos").target("release-scos")
//!     .publish_tag("tag", "scos-4.19").build()?;
//! let mut state = StreamState::default();
//! let name = "4.19.0-0.okd-scos-2025-01-01-000000";
//! let mut r = ReleaseRecord::pending(name, "quay.io/okd/release-scos:x", "h", Utc::now());
//! r.creation = CreationState::Succeeded;
//! r.phase = Phase::Accepted;
//! state.releases.push(r);
//! let actions = plan_publications(&policy, &state);
//! assert_eq!((actions[0].release.as_str(), actions[0].tag.as_str()), (name, "scos-4.19"));
//! # Ok::<(), okd_gating::Error>(())
//! ```

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okd_oci::Digest;

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
