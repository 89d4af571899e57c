//! Promotion planning: what to publish for the newest accepted release, once; which component
//! tags an `imageStreamRef` step copies.
//!
//! Carrying the plans out in a store is the stream's publisher, tested with the stream.

#![allow(clippy::unwrap_used)]

use chrono::{TimeDelta, TimeZone, Utc};
use okd_gating::{
    ComponentSelection, ComponentTag, CreationState, GatingPolicy, Phase, PublishOutcome,
    PublishRule, PublishTarget, ReleaseRecord, StreamState, plan_publications,
};
use okd_oci::Digest;

const SOURCE: &str = "okd/release-scos";

fn policy() -> GatingPolicy {
    GatingPolicy::builder("4.19.0-0.okd-scos")
        .target("release-scos")
        .publish_tag("tag", "scos-4.19")
        .publish(PublishRule {
            name: "mirror".into(),
            disabled: false,
            target: PublishTarget::ReleaseCopy {
                repository: "okd/scos-archive".into(),
            },
        })
        .publish(PublishRule {
            name: "off".into(),
            disabled: true,
            target: PublishTarget::Tag {
                tag: "never".into(),
            },
        })
        .publish(PublishRule {
            name: "issues".into(),
            disabled: false,
            target: PublishTarget::Nothing,
        })
        .build()
        .unwrap()
}

fn accepted(name: &str, hours: i64, pullspec: &str) -> ReleaseRecord {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + TimeDelta::hours(hours);
    let mut r = ReleaseRecord::pending(name, pullspec, name, t);
    r.creation = CreationState::Succeeded;
    r.phase = Phase::Accepted;
    r
}

#[test]
fn plans_the_newest_accepted_release_once() {
    let old = "4.19.0-0.okd-scos-2025-01-01-000000";
    let new = "4.19.0-0.okd-scos-2025-01-01-120000";
    let mut state = StreamState::default();
    state
        .releases
        .push(accepted(old, 0, &format!("quay.io/{SOURCE}:{old}")));
    state
        .releases
        .push(accepted(new, 12, &format!("quay.io/{SOURCE}:{new}")));
    let mut rejected = accepted("4.19.0-0.okd-scos-2025-01-02-000000", 24, "x");
    rejected.phase = Phase::Rejected;
    state.releases.push(rejected);

    let p = policy();
    let actions = plan_publications(&p, &state);
    let summary: Vec<(&str, &str, &str, Option<&str>, &str)> = actions
        .iter()
        .map(|a| {
            (
                a.rule.as_str(),
                a.release.as_str(),
                a.pullspec.as_str(),
                a.repository.as_deref(),
                a.tag.as_str(),
            )
        })
        .collect();
    let pullspec = format!("quay.io/{SOURCE}:{new}");
    assert_eq!(
        summary,
        [
            (
                "mirror",
                new,
                pullspec.as_str(),
                Some("okd/scos-archive"),
                new
            ),
            ("tag", new, pullspec.as_str(), None, "scos-4.19"),
        ]
    );

    // What a publisher reports is what the state keeps; planning again then plans nothing.
    let digest = Digest::sha256_of(b"the release manifest");
    let now = Utc::now();
    for (action, already) in actions.iter().zip([false, true]) {
        let repository = action.repository.clone().unwrap_or("okd/scos".into());
        let outcome = if already {
            PublishOutcome::AlreadyPublished {
                repository,
                digest: digest.clone(),
            }
        } else {
            PublishOutcome::Published {
                repository,
                digest: digest.clone(),
            }
        };
        let record = outcome.publication(action, now);
        assert_eq!(
            (record.release.as_str(), record.tag.as_str(), record.at),
            (new, action.tag.as_str(), now)
        );
        assert_eq!(record.digest, Some(digest.to_string()));
        state.published.insert(action.rule.clone(), record);
    }
    assert_eq!(state.published["tag"].repository, "okd/scos");
    assert_eq!(state.published["mirror"].repository, "okd/scos-archive");
    assert!(plan_publications(&p, &state).is_empty());
}

#[test]
fn a_newer_acceptance_is_planned_again() {
    let mut state = StreamState::default();
    state.releases.push(accepted("r1", 0, "quay.io/x@sha256:1"));
    let p = policy();
    let tag_actions = |state: &StreamState| {
        plan_publications(&p, state)
            .into_iter()
            .filter(|a| a.rule == "tag")
            .collect::<Vec<_>>()
    };
    let first = tag_actions(&state);
    assert_eq!(first.len(), 1);
    let outcome = PublishOutcome::Published {
        repository: "okd/scos".into(),
        digest: Digest::sha256_of(b"r1"),
    };
    state
        .published
        .insert("tag".into(), outcome.publication(&first[0], Utc::now()));
    assert!(tag_actions(&state).is_empty());

    state.releases.push(accepted("r2", 5, "quay.io/x@sha256:2"));
    let again = tag_actions(&state);
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].release.as_str(), again[0].tag.as_str()),
        ("r2", "scos-4.19")
    );
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A policy with one `imageStreamRef` step `stable` into `okd/scos-stable`.
fn component_policy(tags: &[&str], exclude: &[&str]) -> GatingPolicy {
    GatingPolicy::builder("4.19.0-0.okd-scos")
        .target("release-scos")
        .publish(PublishRule {
            name: "stable".into(),
            disabled: false,
            target: PublishTarget::Repository {
                namespace: "okd".into(),
                name: "scos-stable".into(),
                tags: strings(tags),
                exclude_tags: strings(exclude),
            },
        })
        .build()
        .unwrap()
}

/// What a publisher reports for `action` having written `names`.
fn components_published(names: &[&str]) -> PublishOutcome {
    PublishOutcome::Components {
        repository: "okd/scos-stable".into(),
        tags: names
            .iter()
            .map(|n| ComponentTag {
                name: n.to_string(),
                digest: Digest::sha256_of(n.as_bytes()),
                written: true,
            })
            .collect(),
        missing: vec![],
    }
}

#[test]
fn an_image_stream_ref_plans_component_tags_not_the_release() {
    let mut state = StreamState::default();
    state.releases.push(accepted("r1", 0, "quay.io/x@sha256:1"));
    let actions = plan_publications(&component_policy(&[], &["installer"]), &state);
    assert_eq!(actions.len(), 1, "{actions:?}");
    let a = &actions[0];
    assert_eq!(
        (a.rule.as_str(), a.repository.as_deref(), a.tag.as_str()),
        ("stable", Some("okd/scos-stable"), "")
    );
    assert_eq!(
        a.components,
        Some(ComponentSelection {
            tags: vec![],
            exclude_tags: strings(&["installer"]),
        })
    );
}

#[test]
fn without_tags_every_component_but_the_excluded_once() {
    let selection = ComponentSelection {
        tags: vec![],
        exclude_tags: strings(&["installer", "not-in-release"]),
    };
    let picked = selection.select(["cli", "installer", "cli", "must-gather"]);
    assert_eq!(picked.copy, strings(&["cli", "must-gather"]));
    // Nothing was listed, so nothing is missing; an excluded tag the release lacks is no warning.
    assert!(picked.missing.is_empty(), "{picked:?}");
}

#[test]
fn with_tags_only_those_and_the_missing_ones_named() {
    let selection = ComponentSelection {
        tags: strings(&["installer", "cli", "tests", "cli", "absent"]),
        exclude_tags: strings(&["tests"]),
    };
    let picked = selection.select(["cli", "installer", "tests", "must-gather"]);
    assert_eq!(picked.copy, strings(&["installer", "cli"]));
    assert_eq!(picked.missing, strings(&["absent"]));
}

#[test]
fn component_tags_are_published_once_per_release() {
    let mut state = StreamState::default();
    state.releases.push(accepted("r1", 0, "quay.io/x@sha256:1"));
    let policy = component_policy(&[], &["installer"]);
    let first = plan_publications(&policy, &state);
    let record = components_published(&["must-gather", "cli"]).publication(&first[0], Utc::now());
    // The record names the tags, sorted, and no single digest: there is none to sign.
    assert_eq!(
        (
            record.release.as_str(),
            record.repository.as_str(),
            record.digest.as_deref()
        ),
        ("r1", "okd/scos-stable", None)
    );
    assert_eq!(record.components, strings(&["cli", "must-gather"]));
    state.published.insert("stable".into(), record);
    assert!(plan_publications(&policy, &state).is_empty());

    // As the controller's source annotation: a changed excludeTags waits for the next release.
    let widened = component_policy(&[], &[]);
    assert!(plan_publications(&widened, &state).is_empty());
    state.releases.push(accepted("r2", 5, "quay.io/x@sha256:2"));
    let next = plan_publications(&widened, &state);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].release, "r2");
}

#[test]
fn a_changed_tags_list_publishes_the_same_release_again() {
    let mut state = StreamState::default();
    state.releases.push(accepted("r1", 0, "quay.io/x@sha256:1"));
    let policy = component_policy(&["cli"], &[]);
    let first = plan_publications(&policy, &state);
    assert_eq!(
        first[0].components.as_ref().map(|c| c.tags.clone()),
        Some(strings(&["cli"]))
    );
    let record = components_published(&["cli"]).publication(&first[0], Utc::now());
    assert_eq!(record.selected, strings(&["cli"]));
    state.published.insert("stable".into(), record);
    assert!(plan_publications(&policy, &state).is_empty());

    let more = component_policy(&["cli", "installer"], &[]);
    let again = plan_publications(&more, &state);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].release, "r1");
}

#[test]
fn a_config_written_back_keeps_image_stream_refs_and_leaves_release_copies_out() {
    let json = br#"{"name": "4.19.0-0.okd-scos", "to": "release-scos",
        "publish": {"stable": {"imageStreamRef": {"namespace": "okd", "name": "scos-stable",
            "tags": ["cli"], "excludeTags": ["installer"]}}}}"#;
    let policy = GatingPolicy::from_json(json, "c.json", okd_gating::ParseMode::Strict).unwrap();
    assert_eq!(
        policy.publish[0].target,
        PublishTarget::Repository {
            namespace: "okd".into(),
            name: "scos-stable".into(),
            tags: strings(&["cli"]),
            exclude_tags: strings(&["installer"]),
        }
    );
    let mut with_copy = policy.clone();
    with_copy.publish.push(PublishRule {
        name: "next".into(),
        disabled: false,
        target: PublishTarget::ReleaseCopy {
            repository: "okd/4-scos-next".into(),
        },
    });
    let config = with_copy.to_config();
    assert_eq!(
        config.publish.keys().collect::<Vec<_>>(),
        ["stable"],
        "{config:?}"
    );
    assert_eq!(GatingPolicy::from_config(config).publish, policy.publish);
}
