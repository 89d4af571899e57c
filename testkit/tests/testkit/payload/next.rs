//! `Payload::next`: exact change sets, and refusals.

use std::collections::BTreeSet;

use okd_oci::{MemoryStore, Store};
use serde_json::Value;
use testkit::payload::{NextSpec, PayloadError, generate};

use super::common::*;

#[tokio::test]
async fn next_changes_exactly_the_requested_components() {
    let (store, old) = default_payload().await;
    let next = NextSpec {
        rebuilt: 6,
        changed: 5,
        added: 4,
        removed: 3,
        version: "4.19.0-okd-scos.2".to_string(),
        seed: 42,
    };
    let (new, changes) = old.next(&store, &next).await.unwrap();
    assert_eq!(changes.rebuilt.len(), 6);
    assert_eq!(changes.changed.len(), 5);
    assert_eq!(changes.added.len(), 4);
    assert_eq!(changes.removed.len(), 3);
    let old_names: BTreeSet<&str> = old.component_names().into_iter().collect();
    let new_names: BTreeSet<&str> = new.component_names().into_iter().collect();
    let added: BTreeSet<&str> = new_names.difference(&old_names).copied().collect();
    let removed: BTreeSet<&str> = old_names.difference(&new_names).copied().collect();
    assert_eq!(added, changes.added.iter().map(String::as_str).collect());
    assert_eq!(
        removed,
        changes.removed.iter().map(String::as_str).collect()
    );
    assert_eq!(new.components.len(), 190 + 4 - 3);
    let mut rebuilt = BTreeSet::new();
    let mut changed = BTreeSet::new();
    for name in old_names.intersection(&new_names) {
        let (a, b) = (old.component(name).unwrap(), new.component(name).unwrap());
        match (a.digest == b.digest, a.commit == b.commit) {
            (true, true) => {}
            (false, true) => {
                rebuilt.insert(name.to_string());
            }
            (false, false) => {
                changed.insert(name.to_string());
            }
            (true, false) => panic!("{name}: same digest, different commit"),
        }
    }
    assert_eq!(rebuilt, changes.rebuilt);
    assert_eq!(changed, changes.changed);
    assert!(changes.added.iter().any(|n| n.ends_with("-operator")));

    assert_eq!(new.previous, ["4.19.0-okd-scos.1"]);
    let metadata: Value =
        serde_json::from_str(&new.release_file("release-metadata").unwrap().content).unwrap();
    assert_eq!(
        metadata["previous"],
        serde_json::json!(["4.19.0-okd-scos.1"])
    );
    assert_eq!(metadata["version"], "4.19.0-okd-scos.2");
    assert_ne!(new.release.digest, old.release.digest);

    // Both releases stay in the store; the new one lists the new components.
    for p in [&old, &new] {
        let refs = image_references(&release_entries(&store, p).await);
        let names: BTreeSet<&str> = refs["spec"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, p.component_names().into_iter().collect());
    }
    let tags: BTreeSet<String> = store
        .list_tags(CONTENT)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for name in &changes.removed {
        assert!(!tags.contains(name), "{name} still tagged");
        assert!(tags.contains(&format!("4.19.0-okd-scos.1-{name}")));
    }
    for c in &new.components {
        assert!(
            tags.contains(&format!("4.19.0-okd-scos.2-{}", c.name)),
            "{}",
            c.name
        );
    }

    // The same request from the same payload gives the same next release.
    let (again, changes_again) = old.next(&store, &next).await.unwrap();
    assert_eq!(again.release.digest, new.release.digest);
    assert_eq!(changes_again, changes);
}

#[tokio::test]
async fn next_refuses_impossible_requests() {
    let store = MemoryStore::new();
    let p = generate(&store, &small().components(10)).await.unwrap();
    let err = p
        .next(
            &store,
            &NextSpec {
                removed: 50,
                version: "4.19.0-okd-scos.2".into(),
                ..NextSpec::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PayloadError::InvalidSpec {
                field: "removed",
                ..
            }
        ),
        "{err}"
    );
    let err = p
        .next(
            &store,
            &NextSpec {
                version: p.version.clone(),
                ..NextSpec::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PayloadError::InvalidSpec {
                field: "version",
                ..
            }
        ),
        "{err}"
    );
}
