//! The stream's publisher: okd-gating's publication plans carried out by tagging release images,
//! or a release's component tags, in a store, idempotently.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use okd_gating::{ComponentSelection, Error, PublishAction, PublishOutcome, Publisher};
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
        components: None,
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

/// A generated payload in `store`: release `okd/scos-release`, components `okd/scos-content`.
async fn payload(store: &MemoryStore) -> testkit::payload::Payload {
    let spec = testkit::payload::PayloadSpec::new()
        .components(12)
        .layer_size(512)
        .base_layer_size(1024);
    testkit::payload::generate(store, &spec).await.unwrap()
}

fn components_action(pullspec: &str, tags: &[&str], exclude: &[&str]) -> PublishAction {
    PublishAction {
        components: Some(ComponentSelection {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            exclude_tags: exclude.iter().map(|t| t.to_string()).collect(),
        }),
        ..action(
            "stable",
            "4.19.0-okd-scos.1",
            pullspec,
            Some("okd/scos-stable"),
            "",
        )
    }
}

#[tokio::test]
async fn component_tags_are_promoted_within_the_store() {
    let store = Arc::new(MemoryStore::new());
    let up = payload(&store).await;
    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let action = components_action(up.release_pullspec(), &[], &["installer"]);
    let outcome = publisher.publish(&action).await.unwrap();
    let PublishOutcome::Components {
        repository,
        tags,
        missing,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(repository, "okd/scos-stable");
    assert!(missing.is_empty(), "{missing:?}");
    let mut want: Vec<&str> = up.component_names();
    want.retain(|n| *n != "installer");
    let mut got: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    got.sort();
    assert_eq!(got, want);
    for t in tags {
        assert!(t.written, "{t:?}");
        let component = up.component(&t.name).unwrap();
        assert_eq!(&t.digest, &component.digest);
        assert_eq!(
            tagged(&store, "okd/scos-stable", &t.name).await.as_ref(),
            Some(&component.digest)
        );
        // Children and blobs are there too (the multi-arch `cli` is an index).
        testkit::integrity::assert_complete(
            store.as_ref(),
            "okd/scos-stable",
            &ManifestRef::Digest(component.digest.clone()),
        )
        .await;
    }
    assert_eq!(tagged(&store, "okd/scos-stable", "installer").await, None);
    // One store: every blob was mounted, none transferred.
    assert!(store.stats().blobs_mounted > 0, "{:?}", store.stats());

    // Again: every tag is in place, nothing written.
    let written = store.stats().manifests_written;
    let PublishOutcome::Components { tags, .. } = publisher.publish(&action).await.unwrap() else {
        panic!("not a component publication")
    };
    assert!(tags.iter().all(|t| !t.written), "{tags:?}");
    assert_eq!(store.stats().manifests_written, written);
}

#[tokio::test]
async fn a_listed_tag_the_release_lacks_is_reported_not_published() {
    let store = Arc::new(MemoryStore::new());
    let up = payload(&store).await;
    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let action = components_action(up.release_pullspec(), &["cli", "nope"], &[]);
    let outcome = publisher.publish(&action).await.unwrap();
    let PublishOutcome::Components { tags, missing, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["cli"]
    );
    assert_eq!(missing, &["nope"]);
    assert_eq!(store.list_tags("okd/scos-stable").await.unwrap(), ["cli"]);
}

#[tokio::test]
async fn a_component_nowhere_to_be_found_names_its_tag() {
    // The release alone, without its components.
    let full = MemoryStore::new();
    let up = payload(&full).await;
    let store = Arc::new(MemoryStore::new());
    let release = up.release_pullspec().parse::<okd_oci::ImageRef>().unwrap();
    okd_oci::copy::copy_image(
        &full,
        release.repository(),
        &release.manifest_ref().unwrap(),
        store.as_ref(),
        release.repository(),
        None,
    )
    .await
    .unwrap();
    let publisher = StorePublisher::new(store.clone(), "okd/scos");
    let err = publisher
        .publish(&components_action(up.release_pullspec(), &["etcd"], &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Publish { ref target, .. } if target == "okd/scos-stable:etcd"),
        "{err}"
    );
    assert!(store.list_tags("okd/scos-stable").await.unwrap().is_empty());
}
