//! okd-release against testkit's synthetic OKD payloads (190 components, multi-arch and OCI
//! images, operators with placeholders), and its release images read back by skopeo and umoci.

use std::collections::BTreeSet;

use std::sync::Arc;

use okd_oci::{LayoutStore, ManifestRef, MemoryStore, Store, StoreMap};
use okd_release::{
    Family, ImageReferences, Release, ReleaseBuilder, ReleaseDiff, ReleaseMetadata, annotations,
};
use testkit::payload::{NextSpec, Payload, PayloadSpec, generate};
use testkit::tools::{export_dir, run, skopeo_copy, umoci_unpack};

async fn payload(store: &dyn Store) -> Payload {
    generate(store, &PayloadSpec::new().layer_size(2048))
        .await
        .expect("generate payload")
}

async fn load(store: &dyn Store, p: &Payload) -> Release {
    Release::load(
        store,
        &p.release.repo,
        &ManifestRef::Tag(p.release.tag.clone()),
    )
    .await
    .expect("load release")
}

fn is_manifest(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

#[tokio::test]
async fn loads_a_full_size_payload() {
    let store = MemoryStore::new();
    let p = payload(&store).await;
    assert!(p.components.len() >= 190);
    let before = store.stats();
    let r = load(&store, &p).await;
    // Config and release layer only, whatever the size of the payload.
    assert_eq!(store.stats().blobs_read - before.blobs_read, 2);

    assert_eq!(r.digest, p.release.digest);
    assert_eq!(r.name, p.version);
    assert_eq!(r.version().unwrap().family(), Family::OkdScos);
    assert_eq!(r.platform(), "linux/amd64");
    assert_eq!(
        r.created()
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        p.release.created
    );
    assert_eq!(r.components.len(), p.components.len());
    for c in &p.components {
        let loaded = r.component(&c.name).expect("component");
        assert_eq!(loaded.pullspec, c.pullspec, "{}", c.name);
        assert_eq!(loaded.digest, c.digest, "{}", c.name);
        assert_eq!(loaded.commit(), Some(c.commit.as_str()), "{}", c.name);
    }
    let expected: Vec<&str> = {
        let mut v: Vec<&str> = p
            .release_files
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| is_manifest(n))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        r.manifests
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        expected
    );
    for m in &r.manifests {
        let f = p.release_file(&m.name).expect("release file");
        assert_eq!(
            m.digest,
            okd_oci::Digest::sha256_of(f.content.as_bytes()),
            "{}",
            m.name
        );
    }
    assert_eq!(
        r.component_versions
            .get("machine-os")
            .map(|v| v.version.as_str()),
        p.os_version()
    );
    assert_eq!(
        r.config.label(annotations::RELEASE_BASE_IMAGE_DIGEST),
        Some(p.release.base_digest.to_string().as_str())
    );
    let text = r.describe(okd_release::ImageColumns::Digest);
    assert!(
        text.starts_with(&format!("Name:      {}\n", p.version)),
        "{text}"
    );
}

#[tokio::test]
async fn documents_round_trip_byte_for_byte() {
    let store = MemoryStore::new();
    let p = payload(&store).await;
    let refs = p
        .release_file("image-references")
        .expect("image-references");
    let is = ImageReferences::parse(refs.content.as_bytes()).unwrap();
    assert_eq!(is.to_json(), refs.content);
    let meta = p
        .release_file("release-metadata")
        .expect("release-metadata");
    let m = ReleaseMetadata::parse(meta.content.as_bytes()).unwrap();
    assert_eq!(m.to_json(), meta.content);
}

#[tokio::test]
async fn diff_finds_exactly_the_changes() {
    let store = MemoryStore::new();
    let p = payload(&store).await;
    let (next, changes) = p
        .next(
            &store,
            &NextSpec {
                rebuilt: 3,
                changed: 4,
                added: 2,
                removed: 1,
                version: "4.19.0-okd-scos.2".into(),
                ..NextSpec::default()
            },
        )
        .await
        .expect("next payload");
    let a = load(&store, &p).await;
    let b = load(&store, &next).await;
    let diff = ReleaseDiff::between(&a, &b);
    let names = |v: &[okd_release::diff::ImageChange]| -> BTreeSet<String> {
        v.iter().map(|c| c.name.clone()).collect()
    };
    assert_eq!(names(&diff.changed), changes.changed);
    assert_eq!(names(&diff.rebuilt), changes.rebuilt);
    assert_eq!(
        diff.added
            .iter()
            .map(|c| c.name.clone())
            .collect::<BTreeSet<_>>(),
        changes.added
    );
    assert_eq!(
        diff.removed
            .iter()
            .map(|c| c.name.clone())
            .collect::<BTreeSet<_>>(),
        changes.removed
    );
    assert_eq!(diff.upgrade_from, Some(true));
    for c in &diff.changed {
        let url = c.compare_url.as_deref().expect("compare url");
        assert!(url.starts_with("https://github.com/openshift/"), "{url}");
        assert!(url.ends_with(&format!(
            "/compare/{}...{}",
            c.from_commit.as_deref().unwrap(),
            c.to_commit.as_deref().unwrap()
        )));
    }
}

#[tokio::test]
async fn builder_reassembles_what_testkit_wrote() {
    let store = Arc::new(MemoryStore::new());
    let p = payload(store.as_ref()).await;
    let r = load(store.as_ref(), &p).await;
    let assembled = ReleaseBuilder::from_release(r)
        .assemble(&StoreMap::offline().with_fallback(store.clone()))
        .await
        .expect("assemble");

    // As `oc adm release new` does, a rebuild keeps only operators, the tags their
    // image-references name, and the base: testkit's generator adds components nothing refers
    // to, which such a rebuild drops.
    let needed: BTreeSet<&str> = p
        .components
        .iter()
        .filter(|c| c.is_operator)
        .flat_map(|c| {
            c.references
                .iter()
                .map(String::as_str)
                .chain([c.name.as_str()])
        })
        .chain(["cluster-version-operator"])
        .collect();
    let unneeded: Vec<&str> = p
        .component_names()
        .into_iter()
        .filter(|n| !needed.contains(n))
        .collect();
    assert_eq!(assembled.pruned, unneeded);

    let mut theirs = ImageReferences::parse(
        p.release_file("image-references")
            .unwrap()
            .content
            .as_bytes(),
    )
    .unwrap();
    theirs
        .spec
        .tags
        .retain(|t| needed.contains(t.name.as_str()));
    assert_eq!(assembled.references.to_json(), theirs.to_json());
    assert_eq!(
        assembled.metadata.to_json(),
        p.release_file("release-metadata").unwrap().content
    );
    let ours: Vec<(&str, &[u8])> = assembled
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.data.as_slice()))
        .collect();
    let theirs: Vec<(&str, &[u8])> = p
        .release_files
        .iter()
        .filter(|f| f.name != "image-references" && f.name != "release-metadata")
        .map(|f| (f.name.as_str(), f.content.as_bytes()))
        .collect();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.0, b.0);
        assert_eq!(
            String::from_utf8_lossy(a.1),
            String::from_utf8_lossy(b.1),
            "{}",
            a.0
        );
    }
}

#[tokio::test]
async fn built_release_in_a_layout_is_read_by_skopeo_and_umoci() {
    let tmp = tempfile::tempdir().unwrap();
    let source = Arc::new(MemoryStore::new());
    let p = payload(source.as_ref()).await;
    let r = load(source.as_ref(), &p).await;
    let layout = LayoutStore::create(tmp.path().join("layout"))
        .await
        .unwrap();
    let built = ReleaseBuilder::from_release(r)
        .name("4.19.0-okd-scos.7")
        .previous([p.version.as_str()])
        .build(
            &StoreMap::offline().with_fallback(source.clone()),
            &layout,
            "okd/scos-release",
            None,
        )
        .await
        .expect("build");

    // Our own reader first: base layers were copied across stores.
    let back = Release::load(
        &layout,
        "okd/scos-release",
        &ManifestRef::Tag("4.19.0-okd-scos.7".into()),
    )
    .await
    .unwrap();
    assert_eq!(back.digest, built.digest);
    assert_eq!(
        back.metadata.as_ref().unwrap().previous(),
        [p.version.as_str()]
    );
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);

    let exported = tmp.path().join("docker-dir");
    export_dir(&layout, "okd/scos-release", &built.manifest, &exported).await;
    let inspect: serde_json::Value = serde_json::from_slice(&run(
        "skopeo",
        &["inspect", &format!("dir:{}", exported.display())],
    ))
    .unwrap();
    assert_eq!(
        inspect["Labels"]["io.openshift.release"],
        "4.19.0-okd-scos.7"
    );
    assert_eq!(inspect["Digest"], built.digest.to_string());
    let converted = tmp.path().join("converted");
    skopeo_copy(
        &format!("dir:{}", exported.display()),
        &format!("oci:{}:release", converted.display()),
    );
    let bundle = tmp.path().join("bundle");
    umoci_unpack(&converted, "release", &bundle);
    let rm = bundle.join("rootfs/release-manifests");
    assert_eq!(
        std::fs::read_to_string(rm.join("image-references")).unwrap(),
        built.payload.references.to_json()
    );
    assert_eq!(
        std::fs::read_to_string(rm.join("release-metadata")).unwrap(),
        built.payload.metadata.to_json()
    );
    for f in &built.payload.files {
        assert_eq!(
            std::fs::read(rm.join(&f.name)).unwrap(),
            f.data,
            "{}",
            f.name
        );
    }
}
