//! Promotion: planning publications and tagging release images in a store, idempotently.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeDelta, TimeZone, Utc};
use okd_gating::{
    CreationState, Error, GatingPolicy, Phase, PublishAction, PublishOutcome, PublishRule,
    PublishTarget, Publisher, ReleaseRecord, StorePublisher, StreamState, plan_publications,
};
use okd_oci::{Digest, ManifestRef, MemoryStore, RawManifest, Store, StoreExt, media_type};

const SOURCE: &str = "okd/release-scos";

async fn put_image(store: &MemoryStore, repo: &str, seed: &str) -> RawManifest {
    let config = Bytes::from(format!("{{\"created\":\"{seed}\"}}"));
    let layer = Bytes::from(format!("layer bytes of {seed}"));
    let (cd, ld) = (Digest::sha256_of(&config), Digest::sha256_of(&layer));
    store.put_blob(repo, &cd, config.clone()).await.unwrap();
    store.put_blob(repo, &ld, layer.clone()).await.unwrap();
    // Unusual spacing on purpose: the published bytes must be these, not a re-serialisation.
    let manifest = format!(
        "{{\"schemaVersion\": 2, \"mediaType\": \"{}\",\n  \"config\": {{\"mediaType\": \"{}\", \"digest\": \"{cd}\", \"size\": {}}},\n  \"layers\": [{{\"mediaType\": \"{}\", \"digest\": \"{ld}\", \"size\": {}}}]}}",
        media_type::OCI_MANIFEST,
        media_type::OCI_CONFIG,
        config.len(),
        media_type::OCI_LAYER_GZIP,
        layer.len()
    );
    let m = RawManifest::new(media_type::OCI_MANIFEST, manifest.into_bytes()).unwrap();
    store.write_manifest(repo, &m, None).await.unwrap();
    m
}

async fn put_index(store: &MemoryStore, repo: &str, tag: &str) -> RawManifest {
    let a = put_image(store, repo, &format!("{tag}-amd64")).await;
    let b = put_image(store, repo, &format!("{tag}-arm64")).await;
    let index = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"manifests\":[{{\"mediaType\":\"{}\",\"digest\":\"{}\",\"size\":{},\"platform\":{{\"architecture\":\"amd64\",\"os\":\"linux\"}}}},{{\"mediaType\":\"{}\",\"digest\":\"{}\",\"size\":{},\"platform\":{{\"architecture\":\"arm64\",\"os\":\"linux\"}}}}]}}",
        media_type::OCI_INDEX,
        media_type::OCI_MANIFEST,
        a.digest(),
        a.size(),
        media_type::OCI_MANIFEST,
        b.digest(),
        b.size()
    );
    let m = RawManifest::new(media_type::OCI_INDEX, index.into_bytes()).unwrap();
    store.write_manifest(repo, &m, Some(tag)).await.unwrap();
    m
}

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

#[tokio::test]
async fn publishes_the_newest_accepted_release_once() {
    let store = Arc::new(MemoryStore::new());
    let old = "4.19.0-0.okd-scos-2025-01-01-000000";
    let new = "4.19.0-0.okd-scos-2025-01-01-120000";
    put_index(&store, SOURCE, old).await;
    let index = put_index(&store, SOURCE, new).await;

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
    let summary: Vec<(&str, &str, Option<&str>, &str)> = actions
        .iter()
        .map(|a| {
            (
                a.rule.as_str(),
                a.release.as_str(),
                a.repository.as_deref(),
                a.tag.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("mirror", new, Some("okd/scos-archive"), new),
            ("tag", new, None, "scos-4.19"),
        ]
    );

    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let now = Utc::now();
    for action in &actions {
        let outcome = publisher.publish(action).await.unwrap();
        assert!(
            matches!(outcome, PublishOutcome::Published { ref digest, .. } if digest == index.digest())
        );
        state
            .published
            .insert(action.rule.clone(), outcome.publication(action, now));
    }
    // Exact bytes under the tag, children present.
    let published = store
        .read_manifest("okd/scos", &ManifestRef::Tag("scos-4.19".into()))
        .await
        .unwrap();
    assert_eq!(published.bytes(), index.bytes());
    for child in index.references().unwrap() {
        let m = store
            .read_manifest("okd/scos", &ManifestRef::Digest(child.digest.clone()))
            .await
            .unwrap();
        for blob in m.references().unwrap() {
            assert!(store.has_blob("okd/scos", &blob.digest).await.unwrap());
        }
    }
    assert!(store.stats().blobs_mounted >= 4, "{:?}", store.stats());

    // Planning again: nothing to do. Publishing again anyway: nothing written.
    assert!(plan_publications(&p, &state).is_empty());
    let written = store.stats().manifests_written;
    for action in &actions {
        assert!(matches!(
            publisher.publish(action).await.unwrap(),
            PublishOutcome::AlreadyPublished { .. }
        ));
    }
    assert_eq!(store.stats().manifests_written, written);
    assert_eq!(store.list_tags("okd/scos").await.unwrap(), ["scos-4.19"]);
}

#[tokio::test]
async fn a_newer_acceptance_moves_the_tag() {
    let store = Arc::new(MemoryStore::new());
    let first = put_image(&store, SOURCE, "one").await;
    let second = put_image(&store, SOURCE, "two").await;
    let mut state = StreamState::default();
    // Pullspecs by digest: no source tag needed.
    state.releases.push(accepted(
        "r1",
        0,
        &format!("quay.io/{SOURCE}@{}", first.digest()),
    ));
    let p = policy();
    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let publish_all = |state: &StreamState| {
        let actions: Vec<PublishAction> = plan_publications(&p, state)
            .into_iter()
            .filter(|a| a.rule == "tag")
            .collect();
        actions
    };
    for a in publish_all(&state) {
        let o = publisher.publish(&a).await.unwrap();
        state
            .published
            .insert(a.rule.clone(), o.publication(&a, Utc::now()));
    }
    let tag = ManifestRef::Tag("scos-4.19".into());
    assert_eq!(
        store
            .manifest_digest("okd/scos", &tag)
            .await
            .unwrap()
            .as_ref(),
        Some(first.digest())
    );
    state.releases.push(accepted(
        "r2",
        5,
        &format!("quay.io/{SOURCE}@{}", second.digest()),
    ));
    let actions = publish_all(&state);
    assert_eq!(actions.len(), 1);
    publisher.publish(&actions[0]).await.unwrap();
    assert_eq!(
        store
            .manifest_digest("okd/scos", &tag)
            .await
            .unwrap()
            .as_ref(),
        Some(second.digest())
    );
}

#[tokio::test]
async fn failures_name_the_rule_and_release() {
    let store = Arc::new(MemoryStore::new());
    let publisher = StorePublisher::new(store, "okd/scos");
    let action = |pullspec: &str| PublishAction {
        rule: "tag".into(),
        release: "r1".into(),
        pullspec: pullspec.into(),
        repository: None,
        tag: "scos-4.19".into(),
    };
    let err = publisher
        .publish(&action("not a pullspec!"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidPullspec { ref release, .. } if release == "r1"),
        "{err}"
    );
    let err = publisher
        .publish(&action(&format!("quay.io/{SOURCE}:missing")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Publish { ref rule, ref target, .. } if rule == "tag" && target == "okd/scos:scos-4.19"),
        "{err}"
    );
}
