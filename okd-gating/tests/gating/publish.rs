//! Promotion planning: what to publish for the newest accepted release, once.
//!
//! Carrying the plans out in a store is the stream's publisher, tested with the stream.

#![allow(clippy::unwrap_used)]

use chrono::{TimeDelta, TimeZone, Utc};
use okd_gating::{
    CreationState, GatingPolicy, Phase, PublishOutcome, PublishRule, PublishTarget, ReleaseRecord,
    StreamState, plan_publications,
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
            target: PublishTarget::Repository {
                namespace: "okd".into(),
                name: "scos-archive".into(),
                tags: vec![],
                exclude_tags: vec![],
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
