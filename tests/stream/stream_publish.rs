//! The stream's publisher: okd-gating's publication plans carried out by tagging release images
//! in a store, idempotently.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use okd_gating::{Error, PublishAction, PublishOutcome, Publisher};
use okd_oci::{Digest, ManifestRef, MemoryStore, RawManifest, Store, StoreExt, media_type};
use okd_streams::stream::StorePublisher;

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

/// The action okd-gating plans for publish step `rule` of `release` at `pullspec`.
fn action(
    rule: &str,
    release: &str,
    pullspec: &str,
    repository: Option<&str>,
    tag: &str,
) -> PublishAction {
    PublishAction {
        rule: rule.into(),
        release: release.into(),
        pullspec: pullspec.into(),
        repository: repository.map(str::to_string),
        tag: tag.into(),
    }
}

async fn tagged(store: &MemoryStore, repo: &str, tag: &str) -> Option<Digest> {
    store
        .manifest_digest(repo, &ManifestRef::Tag(tag.into()))
        .await
        .unwrap()
}

#[tokio::test]
async fn publishes_a_release_once() {
    let store = Arc::new(MemoryStore::new());
    let old = "4.19.0-0.okd-scos-2025-01-01-000000";
    let new = "4.19.0-0.okd-scos-2025-01-01-120000";
    put_index(&store, SOURCE, old).await;
    let index = put_index(&store, SOURCE, new).await;
    let pullspec = format!("quay.io/{SOURCE}:{new}");
    // What okd-gating plans for an `imageStreamRef` and a `tagRef` step.
    let actions = [
        action("mirror", new, &pullspec, Some("okd/scos-archive"), new),
        action("tag", new, &pullspec, None, "scos-4.19"),
    ];

    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let now = Utc::now();
    for (action, repository) in actions.iter().zip(["okd/scos-archive", "okd/scos"]) {
        let outcome = publisher.publish(action).await.unwrap();
        assert!(
            matches!(outcome, PublishOutcome::Published { ref digest, .. } if digest == index.digest())
        );
        let record = outcome.publication(action, now);
        assert_eq!(
            (record.repository.as_str(), record.release.as_str()),
            (repository, new)
        );
        assert_eq!(record.digest, Some(index.digest().to_string()));
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
    assert_eq!(
        tagged(&store, "okd/scos-archive", new).await.as_ref(),
        Some(index.digest())
    );

    // Publishing again: nothing written.
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
async fn a_newer_release_moves_the_tag() {
    let store = Arc::new(MemoryStore::new());
    let first = put_image(&store, SOURCE, "one").await;
    let second = put_image(&store, SOURCE, "two").await;
    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    // Pullspecs by digest: no source tag needed.
    for (release, image) in [("r1", &first), ("r2", &second)] {
        let pullspec = format!("quay.io/{SOURCE}@{}", image.digest());
        let outcome = publisher
            .publish(&action("tag", release, &pullspec, None, "scos-4.19"))
            .await
            .unwrap();
        assert!(
            matches!(outcome, PublishOutcome::Published { .. }),
            "{outcome:?}"
        );
        assert_eq!(
            tagged(&store, "okd/scos", "scos-4.19").await.as_ref(),
            Some(image.digest())
        );
    }
}

#[tokio::test]
async fn failures_name_the_rule_and_release() {
    let store = Arc::new(MemoryStore::new());
    let publisher = StorePublisher::new(store, "okd/scos");
    let action = |pullspec: &str| action("tag", "r1", pullspec, None, "scos-4.19");
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
