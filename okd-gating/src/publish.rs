//! Promotion: what to publish for the newest accepted release, as the config's `publish` steps
//! say.
//!
//! [`plan_publications`] is pure: for the newest accepted release, every enabled step that has
//! not already published that release:
//! - `tagRef` ([`PublishTarget::Tag`]): tag `scos-4.19` of the stream's repository → the release;
//! - `imageStreamRef` ([`PublishTarget::Repository`]): the release's *component* tags (its
//!   image-references entries, `cli`, `installer`, …) into another repository, as the
//!   release-controller's `ensureImageStreamMatchesRelease` does. Without `tags`, every component
//!   not in `excludeTags`, once per release (the controller's `release.openshift.io/source-<name>`
//!   annotation is the state's publication record here); with `tags`, only those (minus
//!   `excludeTags`), planned again when the list changes. Which components a release has is
//!   known only from its image, so the action carries a [`ComponentSelection`] and the publisher
//!   applies it ([`ComponentSelection::select`]), reporting listed tags the release lacks;
//! - okd-streams' own [`PublishTarget::ReleaseCopy`]: the release image into another repository
//!   under its name.
//!
//! `verifyIssues` (Jira) and empty steps do nothing here.
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
    /// Target tag of the release image (empty when `components` is set: each component is
    /// tagged with its own name).
    pub tag: String,
    /// Publish the release's component tags instead of the release image (`imageStreamRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<ComponentSelection>,
}

/// Which component tags of a release an `imageStreamRef` step copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComponentSelection {
    /// Only these (empty: every component of the release).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Never these.
    #[serde(default)]
    pub exclude_tags: Vec<String>,
}

/// What a [`ComponentSelection`] picks from one release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectedComponents {
    /// Component tags to copy, each once.
    pub copy: Vec<String>,
    /// Listed tags the release does not have (the controller's "is not in the source tags").
    pub missing: Vec<String>,
}

impl ComponentSelection {
    /// Picks from the component tags `available` (in the release's order): without `tags`, every
    /// one not excluded; with `tags`, those of them not excluded, in the listed order, and the
    /// listed ones the release lacks as `missing`. An excluded tag is never missing.
    pub fn select<'a>(&self, available: impl IntoIterator<Item = &'a str>) -> SelectedComponents {
        let available: Vec<&str> = available.into_iter().collect();
        let mut seen: std::collections::BTreeSet<&str> =
            self.exclude_tags.iter().map(String::as_str).collect();
        let mut out = SelectedComponents::default();
        if self.tags.is_empty() {
            for tag in available {
                if seen.insert(tag) {
                    out.copy.push(tag.to_string());
                }
            }
            return out;
        }
        for tag in &self.tags {
            if !seen.insert(tag) {
                continue;
            }
            if available.contains(&tag.as_str()) {
                out.copy.push(tag.clone());
            } else {
                out.missing.push(tag.clone());
            }
        }
        out
    }
}

/// One component tag a component publication wrote or found in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTag {
    /// The tag (the component's name).
    pub name: String,
    /// The component's manifest digest, which the tag now points at.
    pub digest: Digest,
    /// False when the tag already pointed at it: nothing was written.
    pub written: bool,
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
    /// The release's component tags were published (an action with `components`).
    Components {
        /// Repository written.
        repository: String,
        /// The tags, each written or found in place.
        tags: Vec<ComponentTag>,
        /// Listed tags the release does not have: not published, to be reported.
        missing: Vec<String>,
    },
}

impl PublishOutcome {
    /// The record to keep in [`StreamState::published`].
    pub fn publication(&self, action: &PublishAction, at: DateTime<Utc>) -> Publication {
        let mut record = Publication {
            release: action.release.clone(),
            repository: String::new(),
            tag: action.tag.clone(),
            digest: None,
            components: Vec::new(),
            selected: action
                .components
                .as_ref()
                .map(|c| c.tags.clone())
                .unwrap_or_default(),
            at,
        };
        match self {
            PublishOutcome::Published { repository, digest }
            | PublishOutcome::AlreadyPublished { repository, digest } => {
                record.repository = repository.clone();
                record.digest = Some(digest.to_string());
            }
            PublishOutcome::Components {
                repository, tags, ..
            } => {
                record.repository = repository.clone();
                record.components = tags.iter().map(|t| t.name.clone()).collect();
                record.components.sort();
            }
        }
        record
    }
}

/// Publications due for the newest accepted release of `state`.
pub fn plan_publications(policy: &GatingPolicy, state: &StreamState) -> Vec<PublishAction> {
    let Some(latest) = state.latest_accepted() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in policy.publish.iter().filter(|r| !r.disabled) {
        let (repository, tag, components) = match &rule.target {
            PublishTarget::Tag { tag } => (None, tag.clone(), None),
            PublishTarget::ReleaseCopy { repository } => {
                (Some(repository.clone()), latest.name.clone(), None)
            }
            PublishTarget::Repository {
                namespace,
                name,
                tags,
                exclude_tags,
            } => {
                let repo = crate::policy::stream_repository(namespace, name);
                let selection = ComponentSelection {
                    tags: tags.clone(),
                    exclude_tags: exclude_tags.clone(),
                };
                (Some(repo), String::new(), Some(selection))
            }
            PublishTarget::VerifyIssues(_) | PublishTarget::Nothing => continue,
        };
        let done = state.published.get(&rule.name).is_some_and(|p| {
            p.release == latest.name
                && p.tag == tag
                // The controller's annotation records the release only: a changed
                // `excludeTags` waits for the next release, a changed `tags` list does not.
                && components.as_ref().is_none_or(|c| c.tags == p.selected)
        });
        if done {
            continue;
        }
        out.push(PublishAction {
            rule: rule.name.clone(),
            release: latest.name.clone(),
            pullspec: latest.pullspec.clone(),
            repository,
            tag,
            components,
        });
    }
    out
}

/// Performs publications.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Makes `action.tag` point at the release, or, for an action with `components`, each
    /// selected component tag at its component. Doing it twice does nothing the second time.
    async fn publish(&self, action: &PublishAction) -> Result<PublishOutcome, Error>;
}
