//! `ReleaseBuilder` on component images built by hand in a MemoryStore.

use crate::common;

use chrono::TimeZone;
use common::*;
use std::sync::Arc;

use okd_oci::{
    Digest, ManifestRef, ManifestView, MemoryStore, RawManifest, Store, StoreExt, StoreMap,
};
use okd_release::docker_config::DockerImageConfig;
use okd_release::{Error, Release, ReleaseBuilder, ReleaseDiff, annotations, write_release_layer};

const CONTENT: &str = "okd/scos-content";
pub(crate) const RELEASE: &str = "okd/scos-release";
const NAME: &str = "4.19.0-okd-scos.1";

const MCO_REFS: &str = "kind: ImageStream
apiVersion: image.openshift.io/v1
spec:
  tags:
  - name: machine-config-operator
    from:
      kind: DockerImage
      name: placeholder.url.oc.will.replace.this.org/placeholdernamespace:machine-config-operator
  - name: stream-coreos
    from:
      kind: DockerImage
      name: placeholder.url.oc.will.replace.this.org/placeholdernamespace:stream-coreos
  - name: pod
    from:
      kind: DockerImage
      name: placeholder.url.oc.will.replace.this.org/placeholdernamespace:pod
";

const OSIMAGEURL: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: machine-config-osimageurl
data:
  releaseVersion: 0.0.1-snapshot
  baseOSContainerImage: \"placeholder.url.oc.will.replace.this.org/placeholdernamespace:stream-coreos\"
  osVersion: 0.0.1-snapshot-machine-os
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: machine-config-operator
spec:
  template:
    spec:
      containers:
      - image: placeholder.url.oc.will.replace.this.org/placeholdernamespace:machine-config-operator
      - image: placeholder.url.oc.will.replace.this.org/placeholdernamespace:pod
";

fn created() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

fn component_config(labels: &[(&str, &str)], layers: &[&Layer]) -> Vec<u8> {
    let diff_ids: Vec<&Digest> = layers.iter().map(|l| &l.diff_id).collect();
    config_json(labels, "amd64", &diff_ids)
}

fn manifests_layer(files: &[(&str, &str)], mtime: u64) -> Layer {
    Layer::gzip_tar(|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_mtime(mtime);
        h.set_size(0);
        b.append_data(&mut h, "manifests", std::io::empty())
            .unwrap();
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_mtime(mtime);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, format!("manifests/{name}"), data.as_bytes())
                .unwrap();
        }
        // Not directly in manifests/: ignored.
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(mtime);
        h.set_size(2);
        b.append_data(&mut h, "manifests/sub/x.yaml", &b"{}"[..])
            .unwrap();
    })
}

/// Puts a component image and returns its pullspec by digest.
async fn component(
    store: &MemoryStore,
    tag: &str,
    labels: &[(&str, &str)],
    layers: &[&Layer],
) -> String {
    let m = put_image(
        store,
        CONTENT,
        Some(tag),
        component_config(labels, layers),
        layers,
    )
    .await;
    format!("quay.io/{CONTENT}@{}", m.digest())
}

pub(crate) struct Fixture {
    pub(crate) store: Arc<MemoryStore>,
    cvo: String,
    mco: String,
    os: String,
    pod: String,
    unused: String,
    cli: String,
}

impl Fixture {
    /// Every component image is read from the fixture's store.
    pub(crate) fn components(&self) -> StoreMap {
        StoreMap::offline().with_fallback(self.store.clone())
    }
}

pub(crate) async fn fixture() -> Fixture {
    let store = MemoryStore::new();
    let base = base_layer();
    let cvo_top = manifests_layer(
        &[(
            "0000_00_cluster-version-operator_01_namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: openshift-cluster-version\n",
        )],
        1_748_000_000,
    );
    let cvo = component(
        &store,
        "cluster-version-operator",
        &[
            (annotations::RELEASE_OPERATOR, "true"),
            (annotations::BUILD_COMMIT_ID, "cvo-commit"),
            (
                annotations::BUILD_SOURCE_LOCATION,
                "https://github.com/openshift/cluster-version-operator",
            ),
        ],
        &[&base, &cvo_top],
    )
    .await;
    let mco_old = manifests_layer(
        &[("old.yaml", "apiVersion: v1\nkind: Secret\n")],
        1_700_000_000,
    );
    let mco_top = manifests_layer(
        &[
            ("image-references", MCO_REFS),
            ("0000_80_machine-config_05_osimageurl.yaml", OSIMAGEURL),
            ("deployment.yaml", DEPLOYMENT),
        ],
        1_748_100_000,
    );
    let mco = component(
        &store,
        "machine-config-operator",
        &[
            (annotations::RELEASE_OPERATOR, "true"),
            (annotations::BUILD_COMMIT_ID, "mco-commit"),
            (
                annotations::BUILD_SOURCE_LOCATION,
                "https://github.com/openshift/machine-config-operator",
            ),
        ],
        &[&base, &mco_old, &mco_top],
    )
    .await;
    let os_layer = Layer::with_writer(|w| {
        w.add_file("usr/lib/os-release", 0o644, b"ID=scos\n")
            .unwrap()
    });
    let os = component(
        &store,
        "stream-coreos",
        &[
            (annotations::BUILD_VERSIONS, "machine-os=9.0.20250510-0"),
            (
                annotations::BUILD_VERSION_DISPLAY_NAMES,
                "machine-os=CentOS Stream CoreOS",
            ),
        ],
        &[&os_layer],
    )
    .await;
    let pod_layer = Layer::with_writer(|w| w.add_file("pod", 0o755, b"pause").unwrap());
    let pod = component(&store, "pod", &[], &[&pod_layer]).await;
    let unused_layer = Layer::with_writer(|w| w.add_file("unused", 0o644, b"x").unwrap());
    let unused = component(&store, "unused", &[], &[&unused_layer]).await;
    let cli_layer = Layer::with_writer(|w| w.add_file("usr/bin/oc", 0o755, b"oc").unwrap());
    let cli = component(
        &store,
        "cli",
        &[(annotations::BUILD_VERSIONS, "kubectl=1.32.3")],
        &[&cli_layer],
    )
    .await;
    Fixture {
        store: Arc::new(store),
        cvo,
        mco,
        os,
        pod,
        unused,
        cli,
    }
}

pub(crate) fn builder(f: &Fixture) -> ReleaseBuilder {
    ReleaseBuilder::new()
        .name(NAME)
        .created(created())
        .component("cluster-version-operator", &f.cvo)
        .component("machine-config-operator", &f.mco)
        .component("stream-coreos", &f.os)
        .component("pod", &f.pod)
        .component("unused", &f.unused)
        .component("cli", &f.cli)
        .include("cli")
        .previous(["4.19.0-okd-scos.0"])
}

async fn load(store: &MemoryStore, repo: &str, tag: &str) -> Release {
    Release::load(store, repo, &ManifestRef::Tag(tag.into()))
        .await
        .unwrap()
}

#[tokio::test]
async fn builds_a_release_oc_would_recognise() {
    let f = fixture().await;
    let before = f.store.stats();
    let built = builder(&f)
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap();
    let after = f.store.stats();
    // Only the release layer and the config are new bytes; the base layers are mounted.
    assert_eq!(after.blobs_written - before.blobs_written, 2);
    assert_eq!(after.blobs_mounted - before.blobs_mounted, 2);
    assert_eq!(
        built.summary(),
        format!("{} {NAME} 2025-06-01T12:00:00Z", built.digest)
    );
    assert_eq!(built.payload.pruned, ["unused"]);
    assert_eq!(
        built.payload.operators,
        ["cluster-version-operator", "machine-config-operator"]
    );

    let r = load(&f.store, RELEASE, NAME).await;
    assert_eq!(r.digest, built.digest);
    assert_eq!(r.name, NAME);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(
        r.metadata.as_ref().unwrap().previous(),
        ["4.19.0-okd-scos.0"]
    );
    assert_eq!(r.references.created(), Some(created()));
    assert_eq!(
        r.components.keys().collect::<Vec<_>>(),
        [
            "cli",
            "cluster-version-operator",
            "machine-config-operator",
            "pod",
            "stream-coreos"
        ]
    );
    let mco = r.component("machine-config-operator").unwrap();
    assert_eq!(mco.commit(), Some("mco-commit"));
    assert_eq!(mco.annotations[annotations::BUILD_COMMIT_REF], "");
    assert_eq!(
        r.component_versions.get("machine-os").unwrap().display_name,
        "CentOS Stream CoreOS"
    );
    assert_eq!(
        r.component_versions.get("kubectl").unwrap().version,
        "1.32.3"
    );

    // Manifests: renamed, top layer only, substituted.
    let names: Vec<&str> = r.manifests.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0000_00_cluster-version-operator_01_namespace.yaml",
            "0000_50_machine-config-operator_deployment.yaml",
            "0000_80_machine-config_05_osimageurl.yaml",
        ]
    );
    let osimageurl = OSIMAGEURL
        .replace("0.0.1-snapshot-machine-os", "9.0.20250510-0")
        .replace("0.0.1-snapshot", NAME)
        .replace(
            "placeholder.url.oc.will.replace.this.org/placeholdernamespace:stream-coreos",
            &f.os,
        );
    assert_eq!(
        r.manifests[2].digest,
        Digest::sha256_of(osimageurl.as_bytes())
    );
    let deployment = DEPLOYMENT
        .replace(
            "placeholder.url.oc.will.replace.this.org/placeholdernamespace:machine-config-operator",
            &f.mco,
        )
        .replace(
            "placeholder.url.oc.will.replace.this.org/placeholdernamespace:pod",
            &f.pod,
        );
    assert_eq!(
        r.manifests[1].digest,
        Digest::sha256_of(deployment.as_bytes())
    );

    // Image: Docker schema 2, CVO layers + one, labels and history as oc writes them.
    let manifest = f
        .store
        .read_manifest(RELEASE, &ManifestRef::Tag(NAME.into()))
        .await
        .unwrap();
    assert_eq!(manifest.media_type(), okd_oci::media_type::DOCKER_MANIFEST);
    assert!(
        String::from_utf8_lossy(manifest.bytes())
            .starts_with("{\n   \"schemaVersion\": 2,\n   \"mediaType\"")
    );
    let ManifestView::Image(view) = manifest.view().unwrap() else {
        panic!()
    };
    assert_eq!(view.layers().len(), 3);
    assert_eq!(
        view.layers()[2].media_type().to_string(),
        okd_oci::media_type::DOCKER_LAYER_GZIP
    );
    let cvo_digest = f.cvo.rsplit_once('@').unwrap().1;
    assert_eq!(r.config.label(annotations::RELEASE), Some(NAME));
    assert_eq!(
        r.config.label(annotations::RELEASE_BASE_IMAGE_DIGEST),
        Some(cvo_digest)
    );
    assert_eq!(r.config.labels.len(), 2);
    let config_bytes = f
        .store
        .get_blob(RELEASE, &r.config_digest, 1 << 20)
        .await
        .unwrap();
    let config = DockerImageConfig::parse(&config_bytes).unwrap();
    assert_eq!(config.to_json().as_bytes(), &config_bytes[..]);
    assert_eq!(config.history.len(), 3);
    assert_eq!(config.history[0].comment, "Release image for OpenShift");
    assert_eq!(config.rootfs.as_ref().unwrap().diff_ids.len(), 3);
    assert_eq!(
        config.rootfs.as_ref().unwrap().diff_ids[2],
        built.layer_diff_id.to_string()
    );
    assert_eq!(
        config.config.as_ref().unwrap().entrypoint,
        ["/usr/bin/cluster-version-operator"]
    );
    let sizes: u64 = view.layers().iter().map(|l| l.size()).sum();
    assert_eq!(config.size as u64, sizes);
    assert!(
        String::from_utf8_lossy(&config_bytes).starts_with(
            "{\"id\":\"\",\"created\":\"2025-06-01T12:00:00Z\",\"container_config\":{},"
        )
    );
}

#[tokio::test]
async fn same_inputs_same_digest() {
    let f = fixture().await;
    let source = f.components();
    let a = builder(&f)
        .build(&source, &*f.store, "a/release", None)
        .await
        .unwrap();
    let b = builder(&f)
        .concurrency(1)
        .build(&source, &*f.store, "b/release", None)
        .await
        .unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.layer_digest, b.layer_digest);
    let later = builder(&f)
        .created(created() + chrono::Duration::seconds(1))
        .build(&source, &*f.store, "c/release", None)
        .await
        .unwrap();
    assert_ne!(a.digest, later.digest);
    // image-references records the creation time.
    assert_ne!(a.layer_diff_id, later.layer_diff_id);
}

#[tokio::test]
async fn release_layer_is_laid_out_as_oc_writes_it() {
    let f = fixture().await;
    let payload = builder(&f).assemble(&f.components()).await.unwrap();
    let layer = payload.release_layer().unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&layer.bytes[..]),
        &mut plain,
    )
    .unwrap();
    assert_eq!(Digest::sha256_of(&plain), layer.diff_id);
    let mut archive = tar::Archive::new(&plain[..]);
    let entries: Vec<(String, u32, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().display().to_string(),
                e.header().mode().unwrap(),
                e.header().mtime().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("release-manifests".to_string(), 0o777, 1_748_100_000),
            (
                "release-manifests/image-references".to_string(),
                0o444,
                1_748_100_000
            ),
            (
                "release-manifests/release-metadata".to_string(),
                0o444,
                1_748_100_000
            ),
            (
                "release-manifests/0000_00_cluster-version-operator_01_namespace.yaml".to_string(),
                0o444,
                1_748_000_000
            ),
            (
                "release-manifests/0000_80_machine-config_05_osimageurl.yaml".to_string(),
                0o444,
                1_748_100_000
            ),
            (
                "release-manifests/0000_50_machine-config-operator_deployment.yaml".to_string(),
                0o444,
                1_748_100_000
            ),
        ]
    );
    // The same documents through the public writer give the same tar.
    let again = write_release_layer(
        payload.references.to_json().as_bytes(),
        payload.metadata.to_json().as_bytes(),
        &payload.files,
        payload.newest,
    )
    .unwrap();
    assert_eq!(again.diff_id, layer.diff_id);
}

#[tokio::test]
async fn rebuild_with_override_and_diff() {
    let f = fixture().await;
    let source = f.components();
    builder(&f)
        .build(&source, &*f.store, RELEASE, None)
        .await
        .unwrap();
    let first = load(&f.store, RELEASE, NAME).await;

    let os2_layer = Layer::with_writer(|w| {
        w.add_file("usr/lib/os-release", 0o644, b"ID=scos\nV=2\n")
            .unwrap()
    });
    let os2 = component(
        &f.store,
        "stream-coreos-2",
        &[(annotations::BUILD_VERSIONS, "machine-os=9.0.20250601-0")],
        &[&os2_layer],
    )
    .await;
    let built = ReleaseBuilder::from_release(first.clone())
        .name("4.19.0-okd-scos.2")
        .override_arg(&format!("stream-coreos={os2}"))
        .unwrap()
        .include("cli")
        .previous(["4.19.0-okd-scos.1"])
        .created(created() + chrono::Duration::days(1))
        .build(&source, &*f.store, RELEASE, None)
        .await
        .unwrap();
    let second = load(&f.store, RELEASE, "4.19.0-okd-scos.2").await;
    assert_eq!(second.digest, built.digest);
    assert_eq!(
        second.references.metadata.annotations[annotations::RELEASE_FROM_RELEASE],
        first.image
    );
    let os = second.component("stream-coreos").unwrap();
    assert_eq!(os.pullspec, os2);
    assert_eq!(os.annotations[annotations::RELEASE_OVERRIDE], "true");
    assert_eq!(
        second.component_versions.get("machine-os").unwrap().version,
        "9.0.20250601-0"
    );
    // The substituted OS image changed in the MCO manifest.
    let osimageurl = |r: &Release| {
        r.manifests
            .iter()
            .find(|m| m.name.contains("osimageurl"))
            .unwrap()
            .digest
            .clone()
    };
    assert_ne!(osimageurl(&first), osimageurl(&second));

    let diff = ReleaseDiff::between(&first, &second);
    assert_eq!(diff.upgrade_from, Some(true));
    assert_eq!(
        diff.rebuilt
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["stream-coreos"]
    );
    assert!(diff.changed.is_empty() && diff.added.is_empty() && diff.removed.is_empty());
    assert_eq!(
        diff.manifests.changed,
        ["0000_80_machine-config_05_osimageurl.yaml"]
    );
    assert_eq!(diff.component_versions[0].component, "machine-os");
}

#[tokio::test]
async fn canonical_rebuild_reproduces_the_digest() {
    let f = fixture().await;
    let source = f.components();
    // As with oc, tags kept only by an explicit include are pruned by a rebuild that does not
    // repeat the include; without one, the rebuild is canonical.
    let first = builder(&f).exclude("cli");
    let built = first
        .build(&source, &*f.store, RELEASE, None)
        .await
        .unwrap();
    let release = load(&f.store, RELEASE, NAME).await;
    let again = ReleaseBuilder::from_release(release.clone())
        .verify_reproduction(true)
        .build(&source, &*f.store, "okd/rebuilt", None)
        .await
        .unwrap();
    assert_eq!(again.digest, built.digest);
    assert_eq!(again.payload.created, created());

    // A release whose digest cannot be reproduced is refused before anything is tagged.
    let mut tampered = release;
    tampered.digest = Digest::sha256_of(b"something else");
    let err = ReleaseBuilder::from_release(tampered)
        .verify_reproduction(true)
        .build(&source, &*f.store, "okd/refused", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotReproduced { .. }), "{err}");
    assert!(f.store.list_tags("okd/refused").await.unwrap().is_empty());
}

#[tokio::test]
async fn payload_without_cluster_version_operator_is_an_error() {
    let f = fixture().await;
    let err = ReleaseBuilder::new()
        .name(NAME)
        .component("machine-config-operator", &f.mco)
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Build { .. }), "{err}");
    assert!(
        err.to_string().contains("\"cluster-version-operator\""),
        "{err}"
    );
    assert!(f.store.list_tags(RELEASE).await.unwrap().is_empty());

    let err = ReleaseBuilder::new()
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no component images"), "{err}");
}

#[tokio::test]
async fn operator_referencing_a_missing_tag_is_an_error() {
    let f = fixture().await;
    let err = builder(&f)
        .exclude("pod")
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingImageTag { tag, .. } if tag == "pod"),
        "{err}"
    );
    let ok = builder(&f)
        .exclude("pod")
        .allow_missing_images(true)
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap();
    assert!(!ok.payload.references.tags().iter().any(|t| t.name == "pod"));
}

#[tokio::test]
async fn bad_inputs_are_typed_errors() {
    let f = fixture().await;
    let source = f.components();
    let err = builder(&f)
        .name("4.19")
        .assemble(&source)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVersion { input, .. } if input == "4.19"),
        "{err}"
    );

    let weird = component(
        &f.store,
        "weird",
        &[(annotations::BUILD_VERSIONS, "kernel-rt=5.14.0")],
        &[&Layer::with_writer(|w| {
            w.add_file("x", 0o644, b"w").unwrap()
        })],
    )
    .await;
    let err = builder(&f)
        .component("weird", &weird)
        .assemble(&source)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidComponentVersions { tag, .. } if tag == "weird"),
        "{err}"
    );
    assert!(
        builder(&f)
            .component("weird", &weird)
            .allow_component("kernel-rt")
            .assemble(&source)
            .await
            .is_ok()
    );

    let bad_manifest = manifests_layer(&[("broken.yaml", "kind: OnlyKind\n")], 1);
    let bad_op = component(
        &f.store,
        "bad-operator",
        &[(annotations::RELEASE_OPERATOR, "true")],
        &[&bad_manifest],
    )
    .await;
    let err = builder(&f)
        .component("bad-operator", &bad_op)
        .assemble(&source)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidManifest { file, .. } if file == "bad-operator/broken.yaml"),
        "{err}"
    );
    assert!(
        builder(&f)
            .component("bad-operator", &bad_op)
            .skip_manifest_check(true)
            .assemble(&source)
            .await
            .is_ok()
    );

    let err = builder(&f)
        .component("ghost", "quay.io/okd/scos-content:does-not-exist")
        .assemble(&source)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Oci(e) if e.is_not_found()), "{err}");

    assert!(ReleaseBuilder::new().override_arg("no-equals").is_err());
    let err = builder(&f)
        .name("4.19.0+build.1")
        .build(&source, &*f.store, RELEASE, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a valid tag"), "{err}");
}

#[tokio::test]
async fn pullspecs_by_tag_are_resolved_to_digests() {
    let f = fixture().await;
    let payload = builder(&f)
        .component("pod", "quay.io/okd/scos-content:pod")
        .assemble(&f.components())
        .await
        .unwrap();
    assert_eq!(
        payload.references.tag("pod").unwrap().pullspec(),
        Some(f.pod.as_str())
    );
}

#[tokio::test]
async fn base_image_is_read_from_a_manifest_list() {
    let f = fixture().await;
    let cvo = f
        .store
        .read_manifest(
            CONTENT,
            &ManifestRef::Tag("cluster-version-operator".into()),
        )
        .await
        .unwrap();
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": okd_oci::media_type::DOCKER_MANIFEST_LIST,
        "manifests": [{"mediaType": okd_oci::media_type::DOCKER_MANIFEST, "size": cvo.size(),
                       "digest": cvo.digest().to_string(), "platform": {"os": "linux", "architecture": "amd64"}}]
    });
    let list = RawManifest::new(
        okd_oci::media_type::DOCKER_MANIFEST_LIST,
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    f.store
        .write_manifest(CONTENT, &list, Some("cvo-multi"))
        .await
        .unwrap();
    let built = builder(&f)
        .component(
            "cluster-version-operator",
            &format!("quay.io/{CONTENT}@{}", list.digest()),
        )
        .build(&f.components(), &*f.store, RELEASE, None)
        .await
        .unwrap();
    let r = load(&f.store, RELEASE, NAME).await;
    assert_eq!(r.digest, built.digest);
    // The label names the platform image the layers came from.
    assert_eq!(
        r.config.label(annotations::RELEASE_BASE_IMAGE_DIGEST),
        Some(cvo.digest().to_string().as_str())
    );
}
