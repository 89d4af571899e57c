//! `ReleaseDiff` between two releases loaded from a MemoryStore.

use crate::common;

use chrono::TimeZone;
use common::*;
use okd_oci::{ManifestRef, MemoryStore};
use okd_release::{
    ImageReferences, Release, ReleaseDiff, ReleaseMetadata, TagReference, annotations,
};

fn tag(name: &str, n: u32, commit: &str, versions: Option<&str>) -> TagReference {
    let mut t = TagReference::new(name, &pullspec(n));
    t.set_annotation(annotations::BUILD_COMMIT_ID, commit);
    t.set_annotation(
        annotations::BUILD_SOURCE_LOCATION,
        &format!("https://github.com/openshift/{name}"),
    );
    if let Some(v) = versions {
        t.set_annotation(annotations::BUILD_VERSIONS, v);
    }
    t
}

async fn release(
    store: &MemoryStore,
    name: &str,
    previous: &[&str],
    tags: Vec<TagReference>,
    manifests: &[(&str, &[u8])],
) -> Release {
    let mut refs = ImageReferences::new(name, chrono::Utc::now());
    refs.spec.tags = tags;
    refs.sort_tags();
    let mut meta = ReleaseMetadata::new(name);
    meta.set_previous(previous.iter().copied()).unwrap();
    let refs_json = refs.to_json();
    let meta_json = meta.to_json();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("image-references", refs_json.as_bytes()),
        ("release-metadata", meta_json.as_bytes()),
    ];
    files.extend_from_slice(manifests);
    put_release(store, "okd/release", name, name, &release_layer(&files)).await;
    Release::load(store, "okd/release", &ManifestRef::Tag(name.into()))
        .await
        .unwrap()
}

#[tokio::test]
async fn changed_rebuilt_added_removed() {
    let store = MemoryStore::new();
    let a = release(
        &store,
        "4.19.0-okd-scos.1",
        &[],
        vec![
            tag("cluster-version-operator", 1, "a1", None),
            tag("console", 2, "c1", None),
            tag("hyperkube", 3, "h1", Some("kubernetes=1.32.1")),
            tag("old-thing", 4, "o1", None),
        ],
        &[("x.yaml", b"kind: A\n"), ("y.yaml", b"kind: B\n")],
    )
    .await;
    let b = release(
        &store,
        "4.19.0-okd-scos.2",
        &["4.19.0-okd-scos.1"],
        vec![
            tag("cluster-version-operator", 1, "a1", None),
            tag("console", 5, "c2", None),
            tag("hyperkube", 6, "h1", Some("kubernetes=1.32.3")),
            tag("new-thing", 7, "n1", None),
        ],
        &[("x.yaml", b"kind: A2\n"), ("z.yaml", b"kind: C\n")],
    )
    .await;

    let diff = ReleaseDiff::between(&a, &b);
    assert!(!diff.identical);
    assert_eq!(diff.upgrade_from, Some(true));
    assert_eq!(ReleaseDiff::between(&b, &a).upgrade_from, Some(false));
    assert_eq!(diff.changed.len(), 1);
    assert_eq!(diff.changed[0].name, "console");
    assert_eq!(
        diff.changed[0].compare_url.as_deref(),
        Some("https://github.com/openshift/console/compare/c1...c2")
    );
    assert_eq!(
        diff.rebuilt.iter().map(|c| &c.name).collect::<Vec<_>>(),
        ["hyperkube"]
    );
    assert_eq!(diff.rebuilt[0].compare_url, None);
    assert_eq!(
        diff.added.iter().map(|c| &c.name).collect::<Vec<_>>(),
        ["new-thing"]
    );
    assert_eq!(
        diff.removed.iter().map(|c| &c.name).collect::<Vec<_>>(),
        ["old-thing"]
    );
    assert_eq!(diff.component_versions.len(), 1);
    assert_eq!(diff.component_versions[0].from.as_deref(), Some("1.32.1"));
    assert_eq!(diff.component_versions[0].to.as_deref(), Some("1.32.3"));
    assert_eq!(diff.manifests.changed, ["x.yaml"]);
    assert_eq!(diff.manifests.added, ["z.yaml"]);
    assert_eq!(diff.manifests.removed, ["y.yaml"]);

    let now = chrono::Utc.with_ymd_and_hms(2025, 6, 3, 10, 0, 0).unwrap();
    let d = |n: u32| pullspec(n).rsplit_once('@').unwrap().1.to_string();
    assert_eq!(
        diff.to_text(now, false),
        format!(
            "          FROM               TO
Name:     4.19.0-okd-scos.1  4.19.0-okd-scos.2
Created:  2d                 2d

Version:       4.19.0-okd-scos.1  4.19.0-okd-scos.2
Upgrade From:                     Yes

Component Versions:
  kubernetes 1.32.1 1.32.3

Images Changed:
  console   {} {}

Images Rebuilt:
  hyperkube {} {}

Images Added:
  new-thing {}

Images Removed:
  old-thing

",
            d(2),
            d(5),
            d(3),
            d(6),
            d(7)
        )
    );
    let with_commits = diff.to_text(now, true);
    assert!(
        with_commits.contains("  console   https://github.com/openshift/console/compare/c1...c2\n"),
        "{with_commits}"
    );
    assert!(
        with_commits.contains("  hyperkube https://github.com/openshift/hyperkube/commit/h1\n"),
        "{with_commits}"
    );
    assert!(
        with_commits.contains("  new-thing https://github.com/openshift/new-thing/commit/n1\n"),
        "{with_commits}"
    );

    let json: serde_json::Value = serde_json::from_str(&diff.to_json()).unwrap();
    assert_eq!(json["upgradeFrom"], true);
    assert_eq!(json["changed"][0]["fromCommit"], "c1");
    assert_eq!(json["removed"][0]["name"], "old-thing");
    assert_eq!(json["from"]["name"], "4.19.0-okd-scos.1");
}

#[tokio::test]
async fn identical_releases() {
    let store = MemoryStore::new();
    let a = release(&store, "4.19.0", &[], vec![tag("cli", 1, "x", None)], &[]).await;
    let diff = ReleaseDiff::between(&a, &a);
    assert!(diff.identical);
    assert!(diff.changed.is_empty() && diff.added.is_empty());
    assert_eq!(
        diff.to_text(chrono::Utc::now(), false),
        "Releases are identical\n"
    );
}
