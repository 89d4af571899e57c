//! Multi-arch streams against a docker-registry: a testkit upstream whose release and
//! `cluster-version-operator` are amd64 + arm64 lists, and an OS base list of the two
//! architectures. The stream's release must be a list whose images carry the same release
//! layer, the OS image must be layered on each architecture's base, and mirror, promotion and
//! signing must keep to the list's digest. skopeo and gpg are the independent readers.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use okd_streams::coreos::layer_source::{FileListSource, LayerContext, LayerSource};
use okd_streams::coreos::{Architecture, Variant};
use okd_streams::oci::append::Append;
use okd_streams::oci::{
    Digest, ImageRef, LayoutStore, ManifestRef, RawManifest, Store, media_type,
};
use okd_streams::release::{LoadOptions, PlatformFilter, Release};
use okd_streams::stream::mirror::ReleaseMirrorStage;
use okd_streams::stream::{
    CreatedFrom, OsLayering, Promotion, ReleaseArch, SigningFile, StreamBuilder, StreamError,
    StreamFile, TickContext,
};
use serde_json::{Value, json};
use testkit::gpg::GpgHome;
use testkit::payload::{MultiArchPayload, PayloadSpec, generate_multi_arch};

const STREAM: &str = "4.19.0-0.okd-scos";

/// The upstream: a multi-arch payload in the registry, and an OS base list whose arm64 image
/// is the amd64 one with an extra layer (so that each layered image shows which base it is
/// on). Returns the payload, the OS list's pullspec and its amd64 and arm64 manifests.
async fn upstream(
    registry: &testkit::Registry,
    dir: &Path,
) -> (MultiArchPayload, String, RawManifest, RawManifest) {
    let host = registry.host();
    let store = testkit::stores::plain_store(registry);
    let spec = PayloadSpec::new()
        .components(12)
        .layer_size(1024)
        .base_layer_size(2048)
        .pullspec_prefix(format!("{host}/okd/scos-content"));
    let multi = generate_multi_arch(&store, &spec).await.unwrap();
    let os = multi.payload.component("stream-coreos").unwrap().clone();
    let os_ref: ImageRef = os.pullspec.parse().unwrap();
    let repo = os_ref.repository().to_string();
    let amd = store
        .read_manifest(&repo, &ManifestRef::Digest(os.digest.clone()))
        .await
        .unwrap();
    let marker = FileListSource::new()
        .bytes("usr/share/okd-base-arch", b"arm64\n".to_vec(), 0o644)
        .build(&LayerContext::new(dir))
        .await
        .unwrap();
    let arm = Append::new(&store, &repo, &ManifestRef::Digest(os.digest.clone()))
        .layer(marker)
        .created("2025-01-01T00:00:00Z".parse().unwrap())
        .edit_config(|c| {
            c.value_mut().insert("architecture".into(), json!("arm64"));
            c.value_mut().insert("variant".into(), json!("v8"));
            Ok(())
        })
        .write_to(&store, &repo, None)
        .await
        .unwrap();
    let entry = |m: &RawManifest, platform: Value| json!({"mediaType": m.media_type(), "digest": m.digest().to_string(), "size": m.size(), "platform": platform});
    let list = json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST_LIST,
        "manifests": [
            entry(&amd, json!({"architecture": "amd64", "os": "linux"})),
            entry(&arm, json!({"architecture": "arm64", "os": "linux", "variant": "v8"})),
        ],
    });
    let list = RawManifest::new(
        media_type::DOCKER_MANIFEST_LIST,
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    store
        .write_manifest(&repo, &list, Some("os-multi"))
        .await
        .unwrap();
    (multi, format!("{host}/{repo}@{}", list.digest()), amd, arm)
}

/// `skopeo inspect --raw docker://IMAGE`, parsed, and the digest of the bytes read.
fn raw(image: &str) -> (Value, Digest) {
    let bytes = testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{image}"),
    ]);
    let doc = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{image}: {e}"));
    (doc, Digest::sha256_of(&bytes))
}

/// `skopeo inspect --config docker://IMAGE`, parsed.
fn config(image: &str) -> Value {
    let bytes = testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--config",
        &format!("docker://{image}"),
    ]);
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{image}: {e}"))
}

/// The layer digests of a manifest document.
fn layers(doc: &Value) -> Vec<String> {
    doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// `(architecture, digest)` of each entry of a list document.
fn entries(doc: &Value) -> Vec<(String, String)> {
    doc["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"].as_str().unwrap().to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_arch_stream_builds_a_list_with_an_os_image_layered_per_architecture() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test (apt-get install docker-registry)");
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let (multi, os_list, amd_os, arm_os) = upstream(&registry, dir.path()).await;
    let gpg = GpgHome::new();
    let fpr = gpg.generate("okd-multi <releases@example.invalid>", "ed25519", None);
    let key = gpg.write("release.key", &gpg.export_secret(&fpr, None, true));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let stream = StreamBuilder::new(STREAM)
        .upstream_image(&format!(
            "docker://{host}/okd/scos-release:{}",
            multi.payload.version
        ))
        .os(OsLayering::new(Variant::Scos)
            .base(os_list.parse().unwrap())
            .layer(FileListSource::new().bytes("etc/okd-multi", b"layered\n".to_vec(), 0o644)))
        .arch(ReleaseArch::Multi)
        .store(&format!("docker://{host}/team"))
        .insecure_registry(&host)
        .created_from(CreatedFrom::Inputs)
        .mirror_release(ReleaseMirrorStage::new(&format!(
            "docker://{host}/mirror/release"
        )))
        .promote("next", Promotion::Repository("4-scos-next".into()))
        .signing(SigningFile {
            key: key.display().to_string(),
            passphrase_file: None,
            identity: None,
        })
        .state_dir(dir.path().join("state"))
        .build()
        .await
        .unwrap();
    let report = stream.run_until_idle(&TickContext::now()).await.unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let created = report.created.clone().expect("a release was created");

    // The release is a list of both architectures, by the digest the stream recorded.
    let release_image = format!("{host}/{}:{}", stream.release_repository(), created.name);
    let (list, list_digest) = raw(&release_image);
    assert_eq!(list["mediaType"], media_type::DOCKER_MANIFEST_LIST);
    assert_eq!(list_digest.to_string(), created.digest);
    let children = entries(&list);
    let archs: Vec<&str> = children.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(archs, ["amd64", "arm64"]);

    // Both images carry the same release layer on their architecture's CVO image.
    let repo = format!("{host}/{}", stream.release_repository());
    let mut release_layers = Vec::new();
    for ((arch, digest), upstream_child) in children.iter().zip(&multi.children) {
        let (doc, _) = raw(&format!("{repo}@{digest}"));
        let got = layers(&doc);
        let (up, _) = raw(&format!(
            "{host}/okd/scos-release@{}",
            upstream_child.digest
        ));
        let base = layers(&up);
        assert_eq!(got.len(), base.len(), "{arch}: one release layer replaced");
        assert_eq!(got[..base.len() - 1], base[..base.len() - 1], "{arch}");
        release_layers.push(got.last().unwrap().clone());
        assert_eq!(config(&format!("{repo}@{digest}"))["architecture"], *arch);
    }
    assert_eq!(release_layers[0], release_layers[1]);

    // The arm64 image reads as a multi payload naming the layered OS list.
    let arm = Release::load_with(
        stream.store().as_ref(),
        &stream.release_repository(),
        &ManifestRef::Tag(created.name.clone()),
        &LoadOptions {
            platform: PlatformFilter::from_arg("linux/arm64").unwrap(),
            ..LoadOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(arm.config.architecture, "arm64");
    assert_eq!(
        arm.list_digest.as_ref().unwrap().to_string(),
        created.digest
    );
    let metadata = &arm.metadata.as_ref().unwrap().metadata;
    assert_eq!(metadata["release.openshift.io/architecture"], "multi");
    let os_image = created.os_image.clone().expect("the OS was layered");
    assert_eq!(arm.component("stream-coreos").unwrap().pullspec, os_image);

    // Each layered OS image is its architecture's base plus the same added layer.
    let (os_doc, _) = raw(&os_image);
    let os_children = entries(&os_doc);
    let os_repo = os_image.split('@').next().unwrap();
    let mut added = Vec::new();
    for ((arch, digest), base) in os_children.iter().zip([&amd_os, &arm_os]) {
        let (doc, _) = raw(&format!("{os_repo}@{digest}"));
        let got = layers(&doc);
        let base: Value = serde_json::from_slice(base.bytes()).unwrap();
        let base = layers(&base);
        assert_eq!(got.len(), base.len() + 1, "{arch}");
        assert_eq!(
            got[..base.len()],
            base[..],
            "{arch}: layered on its own base"
        );
        added.push(got.last().unwrap().clone());
        assert_eq!(
            config(&format!("{os_repo}@{digest}"))["architecture"],
            *arch
        );
    }
    assert_eq!(added[0], added[1], "the same layer on both architectures");
    assert_eq!(os_children.len(), 2);

    // Mirror and promotion copy the list itself.
    let (_, mirrored) = raw(&format!("{host}/mirror/release:{}-multi", created.name));
    assert_eq!(mirrored.to_string(), created.digest);
    let (_, promoted) = raw(&format!(
        "{host}/{}:{}",
        stream.target().repository("4-scos-next"),
        created.name
    ));
    assert_eq!(promoted.to_string(), created.digest);

    // The published release is signed by the list's digest, the one clusters pull by.
    let hex = created.digest.strip_prefix("sha256:").unwrap();
    let signature = dir
        .path()
        .join(format!("state/signatures/sha256={hex}/signature-1"));
    let out = gpg.output(&["--decrypt", &signature.display().to_string()]);
    assert!(
        out.status.success(),
        "gpg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claim: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claim["critical"]["image"]["docker-manifest-digest"],
        created.digest.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_architecture_the_upstream_lacks_is_refused_before_anything_is_pushed() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test (apt-get install docker-registry)");
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let (multi, os_list, _, _) = upstream(&registry, dir.path()).await;
    let yaml = format!(
        "name: {STREAM}
store: docker://{host}/team
insecure_registries: ['{host}']
state: {state}
upstream:
  image: docker://{host}/okd/scos-release:{version}
arch: [amd64, s390x]
os:
  variant: scos
  base: {os_list}
  layers:
    - files:
        - {{ path: etc/okd-multi, content: layered }}
",
        state = dir.path().join("state").display(),
        version = multi.payload.version,
    );
    let path = dir.path().join("stream.yaml");
    let stream = StreamFile::parse(&yaml, &path)
        .unwrap()
        .to_builder(&path)
        .unwrap()
        .build()
        .await
        .unwrap();
    let report = stream.tick(&TickContext::now()).await.unwrap();
    assert!(report.created.is_none(), "{report}");
    let error = report.errors.first().expect("the tick failed").error();
    match error {
        StreamError::MissingArchitecture {
            missing, available, ..
        } => {
            assert_eq!(missing, &["s390x"]);
            assert_eq!(available, &["linux/amd64", "linux/arm64/v8"]);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(error.to_string().contains("s390x"), "{error}");
    let store = testkit::stores::plain_store(&registry);
    for name in ["release", "stream-coreos"] {
        let repo = stream.target().repository(name);
        let tags = store.list_tags(&repo).await.unwrap_or_default();
        assert!(tags.is_empty(), "{repo} has {tags:?}");
    }
}

#[test]
fn the_stream_file_takes_multi_or_a_list_of_architectures() {
    let file = |arch: &str| {
        StreamFile::parse(
            &format!("name: x\nstore: oci:y\nupstream: {{image: a:b}}\narch: {arch}\n"),
            "s.yaml",
        )
    };
    let b = file("multi")
        .unwrap()
        .to_builder(Path::new("s.yaml"))
        .unwrap();
    assert!(format!("{b:?}").contains("Multi"));
    let b = file("[x86_64, arm64]").unwrap();
    assert!(b.to_builder(Path::new("s.yaml")).is_ok());
    let bad = file("[amd64, sparc]")
        .unwrap()
        .to_builder(Path::new("s.yaml"))
        .unwrap_err();
    assert!(bad.to_string().contains("arch[1]"), "{bad}");
    let keyword = file("every").unwrap_err();
    assert!(keyword.to_string().contains("arch"), "{keyword}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_layout_a_multi_arch_release_is_an_oci_index_of_oci_images() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = LayoutStore::open_or_create(dir.path().join("upstream"))
        .await
        .unwrap();
    let spec = PayloadSpec::new().components(12).layer_size(512);
    let multi = generate_multi_arch(&upstream, &spec).await.unwrap();
    let stream = StreamBuilder::new(STREAM)
        .upstream_image(&format!(
            "oci:{}:okd/scos-release:{}",
            dir.path().join("upstream").display(),
            multi.payload.version
        ))
        .arch(ReleaseArch::only([
            Architecture::Aarch64,
            Architecture::X86_64,
        ]))
        .store(&format!("oci:{}", dir.path().join("out").display()))
        .build()
        .await
        .unwrap();
    let report = stream.run_until_idle(&TickContext::now()).await.unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let created = report.created.clone().expect("a release was created");
    let store = stream.store();
    let repo = stream.release_repository();
    let top = store
        .read_manifest(&repo, &ManifestRef::Tag(created.name.clone()))
        .await
        .unwrap();
    assert_eq!(top.media_type(), media_type::OCI_INDEX);
    assert_eq!(top.digest().to_string(), created.digest);
    // skopeo reads the same index from the layout.
    let layout = format!(
        "oci:{}:{repo}:{}",
        dir.path().join("out").display(),
        created.name
    );
    let bytes = testkit::tools::skopeo(&["inspect", "--raw", &layout]);
    assert_eq!(Digest::sha256_of(&bytes).to_string(), created.digest);
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let children = entries(&doc);
    let archs: Vec<&str> = children.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(archs, ["amd64", "arm64"], "in the upstream list's order");
    for (_, digest) in &children {
        let child = store
            .read_manifest(&repo, &ManifestRef::Digest(digest.parse().unwrap()))
            .await
            .unwrap();
        assert_eq!(child.media_type(), media_type::OCI_MANIFEST);
    }
    let arm = Release::load_with(
        store.as_ref(),
        &repo,
        &ManifestRef::Tag(created.name.clone()),
        &LoadOptions {
            platform: PlatformFilter::from_arg("linux/arm64").unwrap(),
            ..LoadOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(arm.config.architecture, "arm64");
    assert_eq!(arm.name, created.name);
}

#[tokio::test]
async fn a_containerfile_build_is_refused_in_a_multi_arch_stream() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: {STREAM}
store: oci:{out}
state: {out}.state
upstream: {{ image: 'quay.io/okd/scos-release:4.19.0-okd-scos.1' }}
arch: multi
os: {{ variant: scos, containerfile: Containerfile }}
",
        out = dir.path().join("out").display()
    );
    let path = dir.path().join("s.yaml");
    let err = StreamFile::parse(&yaml, &path)
        .unwrap()
        .to_builder(&path)
        .unwrap()
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StreamError::Invalid { field, .. } if field == "os.containerfile"),
        "{err}"
    );
}
