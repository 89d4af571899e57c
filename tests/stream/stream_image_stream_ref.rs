//! A release-controller config's `imageStreamRef` publish steps, run by a stream against a
//! docker-registry: the accepted release's component tags land in the target repository at the
//! components' digests, as the controller copies them, checked with skopeo.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use okd_streams::oci::{LayoutStore, ManifestRef};
use okd_streams::release::Release;
use okd_streams::stream::{Stream, StreamFile, TickContext, TickReport};
use testkit::payload::{Payload, PayloadSpec, generate};

/// A small upstream payload.
async fn upstream(dir: &Path) -> Payload {
    let layout = LayoutStore::open_or_create(dir.join("upstream"))
        .await
        .unwrap();
    let spec = PayloadSpec::new()
        .components(12)
        .layer_size(1024)
        .base_layer_size(2048);
    generate(&layout, &spec).await.unwrap()
}

/// Runs a stream into `docker://HOST/team` whose gating is a release-controller config with
/// the `publish` steps `publish` (JSON), until nothing more can happen. Returns the tick report
/// and the release it accepted, as read back from the registry, and the stream.
async fn run_stream(dir: &Path, host: &str, publish: &str) -> (TickReport, Release, Stream) {
    let config = format!(
        r#"{{"name": "4.19.0-0.okd-scos", "to": "release-scos", "maxUnreadyReleases": 1, "publish": {publish}, "verify": {{}}}}"#
    );
    let yaml = format!(
        "name: 4.19.0-0.okd-scos
store: docker://{host}/team
insecure_registries: ['{host}']
namespace: okd-demo
state: {dir}/state
upstream:
  repository: oci:{dir}/upstream:okd/scos-release
  tags: '4.19.0-okd-scos.*'
version: {{ scheme: sequence, version: 4.19.0, label: okd-scos }}
created_from: inputs
gating:
  release_controller: {config}
",
        dir = dir.display()
    );
    let path = dir.join("stream.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let file = StreamFile::parse(&yaml, &path).unwrap();
    let stream = file.to_builder(&path).unwrap().build().await.unwrap();
    let report = stream.run_until_idle(&TickContext::now()).await.unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let created = report.created.as_ref().expect("a release was created");
    let release = Release::load(
        stream.store().as_ref(),
        &stream.release_repository(),
        &ManifestRef::Tag(created.name.clone()),
    )
    .await
    .unwrap();
    (report, release, stream)
}

/// The digest `skopeo inspect` finds at `docker://HOST/REPO:TAG` (that of the manifest or
/// index the tag points at).
fn inspect(host: &str, repo: &str, tag: &str) -> String {
    let out = testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{host}/{repo}:{tag}"),
    ]);
    let info: serde_json::Value = serde_json::from_slice(&out).unwrap();
    info["Digest"].as_str().unwrap().to_string()
}

/// The tags `skopeo list-tags` finds in `docker://HOST/REPO`, sorted.
fn list_tags(host: &str, repo: &str) -> Vec<String> {
    let out = testkit::tools::skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{host}/{repo}"),
    ]);
    let tags: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut tags: Vec<String> = tags["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

/// Each of `names` is at `REPO:<name>` with the release's digest for it (also the upstream
/// payload's: the stream builds its release from those components).
fn assert_components_published(
    host: &str,
    repo: &str,
    names: &[&str],
    release: &Release,
    up: &Payload,
) {
    for name in names {
        let want = release.components[*name].digest.to_string();
        assert_eq!(inspect(host, repo, name), want, "{repo}:{name}");
        assert_eq!(
            up.component(name).unwrap().digest.to_string(),
            want,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_component_but_the_excluded_is_published_once() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test");
    let host = registry.host().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(tmp.path()).await;
    let publish = r#"{"stable": {"imageStreamRef": {"namespace": "okd", "name": "scos-stable", "excludeTags": ["etcd", "pod"]}}}"#;
    let (report, release, stream) = run_stream(tmp.path(), &host, publish).await;

    let names: Vec<&str> = release.components.keys().map(String::as_str).collect();
    assert!(
        names.contains(&"etcd") && names.contains(&"pod"),
        "{names:?}"
    );
    let published: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !["etcd", "pod"].contains(n))
        .collect();
    assert!(published.len() >= 5, "{names:?}");
    // Exactly the components not excluded: not the excluded ones, not the release image.
    assert_eq!(list_tags(&host, "okd/scos-stable"), published);
    assert_components_published(&host, "okd/scos-stable", &published, &release, &up);
    let printed = report.to_string();
    for name in &published {
        assert!(
            printed.contains(&format!("-> okd/scos-stable:{name} (stable)")),
            "{printed}"
        );
    }
    assert!(report.warnings.is_empty(), "{report}");

    // Once per release: another round publishes nothing, and the tags stay.
    let again = stream.run_until_idle(&TickContext::now()).await.unwrap();
    assert!(again.published.is_empty(), "{again}");
    assert_eq!(list_tags(&host, "okd/scos-stable"), published);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_tags_only_and_a_missing_one_is_said_out_loud() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test");
    let host = registry.host().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(tmp.path()).await;
    let publish = r#"{"picked": {"imageStreamRef": {"namespace": "okd", "name": "scos-picked", "tags": ["etcd", "hyperkube", "pod", "no-such-component"], "excludeTags": ["pod"]}}}"#;
    let (report, release, _) = run_stream(tmp.path(), &host, publish).await;

    assert!(release.components.contains_key("pod"));
    assert_eq!(list_tags(&host, "okd/scos-picked"), ["etcd", "hyperkube"]);
    assert_components_published(
        &host,
        "okd/scos-picked",
        &["etcd", "hyperkube"],
        &release,
        &up,
    );
    assert_eq!(report.warnings.len(), 1, "{report}");
    let printed = report.to_string();
    assert!(
        printed.contains("warning")
            && printed.contains("no-such-component")
            && printed.contains("picked"),
        "{printed}"
    );
}
