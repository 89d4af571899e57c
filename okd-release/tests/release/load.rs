//! `Release::load` on release images built by hand in a MemoryStore.

use crate::common;

use common::*;
use okd_oci::{Digest, ManifestRef, MemoryStore, RawManifest, Store, media_type};
use okd_release::{
    Error, ImageColumns, ImageReferences, LoadOptions, PlatformFilter, Release, ReleaseMetadata,
    TagReference, annotations,
};
use testkit::tampering::Tampering;

const NAME: &str = "4.19.0-okd-scos.1";

fn references() -> ImageReferences {
    let created = created();
    let mut is = ImageReferences::new(NAME, created);
    let mut cvo = TagReference::new("cluster-version-operator", &pullspec(1));
    cvo.set_annotation(annotations::BUILD_COMMIT_ID, "c0ffee");
    cvo.set_annotation(annotations::BUILD_COMMIT_REF, "");
    cvo.set_annotation(
        annotations::BUILD_SOURCE_LOCATION,
        "https://github.com/openshift/cluster-version-operator",
    );
    let mut os = TagReference::new("stream-coreos", &pullspec(2));
    os.set_annotation(annotations::BUILD_VERSIONS, "machine-os=9.0.20250510-0");
    os.set_annotation(
        annotations::BUILD_VERSION_DISPLAY_NAMES,
        "machine-os=CentOS Stream CoreOS",
    );
    let mut hyperkube = TagReference::new("hyperkube", &pullspec(3));
    hyperkube.set_annotation(annotations::BUILD_VERSIONS, "kubernetes=1.32.3");
    is.spec.tags = vec![cvo, hyperkube, os];
    is
}

fn metadata() -> ReleaseMetadata {
    let mut m = ReleaseMetadata::new(NAME);
    m.set_previous(["4.19.0-okd-scos.0"]).unwrap();
    m.metadata.insert(
        "url".into(),
        "https://github.com/okd-project/okd/releases/tag/4.19.0-okd-scos.1".into(),
    );
    m
}

fn files(refs: &ImageReferences, meta: &ReleaseMetadata) -> Vec<(String, Vec<u8>)> {
    vec![
        ("image-references".into(), refs.to_json().into_bytes()),
        ("release-metadata".into(), meta.to_json().into_bytes()),
        (
            "0000_00_cluster-version-operator_00_namespace.yaml".into(),
            b"kind: Namespace\n".to_vec(),
        ),
        (
            "0000_50_dns_deployment.yaml".into(),
            b"kind: Deployment\n".to_vec(),
        ),
        ("release.txt".into(), b"notes\n".to_vec()),
    ]
}

fn layer_of(files: &[(String, Vec<u8>)]) -> Layer {
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    release_layer(&borrowed)
}

async fn stored(layer: &Layer) -> (MemoryStore, RawManifest) {
    let store = MemoryStore::new();
    let m = put_release(&store, "okd/release", NAME, NAME, layer).await;
    (store, m)
}

async fn load(store: &MemoryStore) -> Result<Release, Error> {
    Release::load(store, "okd/release", &ManifestRef::Tag(NAME.into())).await
}

#[tokio::test]
async fn loads_everything_from_config_and_last_layer_only() {
    let layer = layer_of(&files(&references(), &metadata()));
    let (store, manifest) = stored(&layer).await;
    let before = store.stats();
    let r = load(&store).await.unwrap();
    let after = store.stats();
    // The config and the release layer: never the base layer, never a component.
    assert_eq!(after.blobs_read - before.blobs_read, 2);

    assert_eq!(r.name, NAME);
    assert_eq!(&r.digest, manifest.digest());
    assert_eq!(r.list_digest, None);
    assert_eq!(r.media_type, media_type::DOCKER_MANIFEST);
    assert_eq!(r.layer_digest, layer.digest);
    assert_eq!(r.platform(), "linux/amd64");
    assert_eq!(
        r.created().unwrap().to_rfc3339(),
        "2025-06-01T10:00:00+00:00"
    );
    assert_eq!(r.version().unwrap().sequence(), Some(1));
    assert_eq!(
        r.metadata.as_ref().unwrap().previous(),
        ["4.19.0-okd-scos.0"]
    );
    assert_eq!(r.references, references());
    assert_eq!(
        r.components.keys().collect::<Vec<_>>(),
        ["cluster-version-operator", "hyperkube", "stream-coreos"]
    );
    let cvo = r.component("cluster-version-operator").unwrap();
    assert_eq!(cvo.pullspec, pullspec(1));
    assert_eq!(
        cvo.digest.to_string(),
        pullspec(1).rsplit_once('@').unwrap().1
    );
    assert_eq!(cvo.commit(), Some("c0ffee"));
    assert_eq!(
        r.manifests
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        [
            "0000_00_cluster-version-operator_00_namespace.yaml",
            "0000_50_dns_deployment.yaml"
        ]
    );
    assert_eq!(
        r.manifests[1].digest,
        Digest::sha256_of(b"kind: Deployment\n")
    );
    assert_eq!(r.other_files.len(), 1);
    let os = r.component_versions.get("machine-os").unwrap();
    assert_eq!(os.version, "9.0.20250510-0");
    assert_eq!(os.display_name, "CentOS Stream CoreOS");
    assert_eq!(
        r.component_versions.get("kubernetes").unwrap().version,
        "1.32.3"
    );
    assert_eq!(r.component_tags["kubernetes"], "hyperkube");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(
        r.pull_spec,
        format!("memory/okd/release@{}", manifest.digest())
    );
}

#[tokio::test]
async fn describes_like_oc() {
    let layer = layer_of(&files(&references(), &metadata()));
    let (store, manifest) = stored(&layer).await;
    let r = load(&store).await.unwrap();
    let d = manifest.digest();
    let expected = format!(
        "Name:           {NAME}
Digest:         {d}
Created:        2025-06-01T10:00:00Z
OS/Arch:        linux/amd64
Manifests:      2
Metadata files: 1

Pull From: memory/okd/release@{d}

Release Metadata:
  Version:  {NAME}
  Upgrades: 4.19.0-okd-scos.0
  Metadata:
    url: https://github.com/okd-project/okd/releases/tag/4.19.0-okd-scos.1

Component Versions:
  kubernetes 1.32.3         
  machine-os 9.0.20250510-0 CentOS Stream CoreOS

Images:
  NAME                     DIGEST
  cluster-version-operator {}
  hyperkube                {}
  stream-coreos            {}

",
        pullspec(1).rsplit_once('@').unwrap().1,
        pullspec(3).rsplit_once('@').unwrap().1,
        pullspec(2).rsplit_once('@').unwrap().1,
    );
    assert_eq!(r.describe(ImageColumns::Digest), expected);
    let commits = r.describe(ImageColumns::Commit);
    assert!(
        commits.contains("  cluster-version-operator https://github.com/openshift/cluster-version-operator c0ffee\n"),
        "{commits}"
    );
}

#[tokio::test]
async fn loads_from_a_manifest_list() {
    let layer = layer_of(&files(&references(), &metadata()));
    let store = MemoryStore::new();
    let base = base_layer();
    let amd = put_image(
        &store,
        "okd/release",
        None,
        config_json(&[], "amd64", &[&base.diff_id, &layer.diff_id]),
        &[&base, &layer],
    )
    .await;
    let arm = put_image(
        &store,
        "okd/release",
        None,
        config_json(&[], "arm64", &[&base.diff_id, &layer.diff_id]),
        &[&base, &layer],
    )
    .await;
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST_LIST,
        "manifests": [
            {"mediaType": media_type::DOCKER_MANIFEST, "size": arm.size(), "digest": arm.digest().to_string(),
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": media_type::DOCKER_MANIFEST, "size": amd.size(), "digest": amd.digest().to_string(),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    });
    let list = RawManifest::new(
        media_type::DOCKER_MANIFEST_LIST,
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    store
        .write_manifest("okd/release", &list, Some(NAME))
        .await
        .unwrap();

    let r = load(&store).await.unwrap();
    assert_eq!(&r.digest, amd.digest());
    assert_eq!(r.list_digest.as_ref(), Some(list.digest()));
    assert_eq!(r.platform(), "multi (linux/amd64)");
    assert_eq!(r.pull_digest(), list.digest());

    assert_eq!(r.list_children.len(), 2);
    assert_eq!(&r.list_children[1].digest, amd.digest());
    let arm_options = LoadOptions {
        platform: PlatformFilter::from_arg("linux/arm64").unwrap(),
        ..LoadOptions::default()
    };
    let r = Release::load_with(
        &store,
        "okd/release",
        &ManifestRef::Tag(NAME.into()),
        &arm_options,
    )
    .await
    .unwrap();
    assert_eq!(&r.digest, arm.digest());
    let s390x = LoadOptions {
        platform: PlatformFilter::from_arg("linux/s390x").unwrap(),
        ..LoadOptions::default()
    };
    let err = Release::load_with(
        &store,
        "okd/release",
        &ManifestRef::Tag(NAME.into()),
        &s390x,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::PlatformNotFound { available, .. } if available.len() == 2),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_image_references_is_an_error() {
    let mut f = files(&references(), &metadata());
    let full = f[0].1.clone();
    f[0].1 = full[..full.len() / 2].to_vec();
    let (store, _) = stored(&layer_of(&f)).await;
    let err = load(&store).await.unwrap_err();
    assert!(matches!(err, Error::InvalidDocument { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("release-manifests/image-references"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_release_metadata_is_an_error() {
    let mut f = files(&references(), &metadata());
    f[1].1 = b"{\"kind\": \"cincinnati-metadata-v0\", \"previous\": 4}".to_vec();
    let (store, _) = stored(&layer_of(&f)).await;
    let err = load(&store).await.unwrap_err();
    assert!(matches!(err, Error::InvalidDocument { .. }), "{err}");
    assert!(err.to_string().contains("release-metadata"), "{err}");
}

#[tokio::test]
async fn component_by_tag_loads_with_a_warning() {
    let mut refs = references();
    refs.spec.tags[1] = TagReference::new("hyperkube", "quay.io/okd/scos-content:hyperkube");
    let (store, _) = stored(&layer_of(&files(&refs, &metadata()))).await;
    // As `oc adm release info` reads it: the tag is kept, it just has no digest.
    let release = load(&store).await.unwrap();
    assert!(release.component("hyperkube").is_none());
    assert!(release.references.tag("hyperkube").is_some());
    assert!(release.component("stream-coreos").is_some());
    assert_eq!(
        release.warnings,
        ["tag \"hyperkube\" does not point to a digest: quay.io/okd/scos-content:hyperkube"]
    );
}

#[tokio::test]
async fn dot_dot_entry_is_refused() {
    let refs = references().to_json();
    let layer = Layer::gzip_tar(|b| {
        let h = Layer::raw_header(
            "release-manifests/image-references",
            tar::EntryType::Regular,
            refs.len() as u64,
        );
        b.append(&h, refs.as_bytes()).unwrap();
        let h = Layer::raw_header(
            "release-manifests/../etc/passwd",
            tar::EntryType::Regular,
            4,
        );
        b.append(&h, &b"root"[..]).unwrap();
    });
    let (store, _) = stored(&layer).await;
    let err = load(&store).await.unwrap_err();
    match &err {
        Error::UnsafeEntry { entry, .. } => assert_eq!(entry, "release-manifests/../etc/passwd"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn symlink_entry_is_refused() {
    let layer = Layer::with_writer(|w| {
        w.add_dir("release-manifests", 0o777).unwrap();
        w.add_symlink("release-manifests/image-references", "/etc/passwd")
            .unwrap();
    });
    let (store, _) = stored(&layer).await;
    let err = load(&store).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnsafeEntry { entry, .. } if entry == "release-manifests/image-references"),
        "{err}"
    );
}

#[tokio::test]
async fn image_without_release_manifests_is_not_a_release() {
    let (store, _) = stored(&base_layer()).await;
    let err = load(&store).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotARelease { file, .. } if file.is_empty()),
        "{err}"
    );
    assert!(err.to_string().contains("is not a release image"), "{err}");

    let (store, _) = stored(&release_layer(&[("release-metadata", b"{}")])).await;
    let err = load(&store).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotARelease { file, .. } if file == "image-references"),
        "{err}"
    );
}

#[tokio::test]
async fn sizes_are_bounded() {
    let layer = layer_of(&files(&references(), &metadata()));
    let (store, _) = stored(&layer).await;
    let reference = ManifestRef::Tag(NAME.into());
    for options in [
        LoadOptions {
            max_layer_size: 100,
            ..LoadOptions::default()
        },
        LoadOptions {
            max_unpacked_size: 2048,
            ..LoadOptions::default()
        },
        LoadOptions {
            max_file_size: 100,
            ..LoadOptions::default()
        },
    ] {
        let err = Release::load_with(&store, "okd/release", &reference, &options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{options:?}: {err}");
    }
}

#[tokio::test]
async fn warnings_for_inconsistent_metadata() {
    let mut meta = metadata();
    meta.version = "4.19.0-okd-scos.2".into();
    meta.metadata.insert("n".into(), serde_json::json!(1));
    let mut refs = references();
    let mut extra = TagReference::new("rhel-coreos", &pullspec(9));
    extra.set_annotation(annotations::BUILD_VERSIONS, "kubernetes=1.31.0");
    refs.spec.tags.push(extra);
    let (store, _) = stored(&layer_of(&files(&refs, &meta))).await;
    let r = load(&store).await.unwrap();
    assert_eq!(r.name, "4.19.0-okd-scos.2");
    assert_eq!(r.warnings.len(), 4, "{:#?}", r.warnings);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("differs from the image-references name"))
    );
    assert!(r.warnings.iter().any(|w| w.contains("not strings: n")));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("multiple versions or display names") && w.contains("kubernetes"))
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("io.openshift.release label"))
    );
    assert!(r.describe(ImageColumns::Digest).contains("\nWarnings:\n* "));
}

#[tokio::test]
async fn tampered_layer_is_refused() {
    let layer = layer_of(&files(&references(), &metadata()));
    let (store, _) = stored(&layer).await;
    // A byte of the gzip header's timestamp: the layer still decompresses, only its digest
    // gives it away.
    let tampering = Tampering::new(store, 4);
    tampering.tamper_with(layer.digest.clone());
    let err = Release::load(&tampering, "okd/release", &ManifestRef::Tag(NAME.into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Oci(okd_oci::Error::DigestMismatch { expected, .. }) if expected == &layer.digest),
        "{err}"
    );
}
