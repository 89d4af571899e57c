//! Multi-architecture releases: `release new --keep-manifest-list`, and `--platform` /
//! `--filter-by-os` on `release info|extract|new`, against docker-registry, with skopeo as the
//! independent reader.

use crate::cli_common;

use cli_common::{RegistryPayload, tool};
use okd_oci::{Digest, ManifestRef, RawManifest, Store, media_type};
use serde_json::Value;
use testkit::payload::{MultiArchPayload, PayloadSpec, generate_multi_arch};

const NAME: &str = "4.19.0-okd-scos.2";

/// docker-registry holding a multi-arch payload: the release and `cluster-version-operator`
/// are amd64 + arm64 lists.
async fn registry_multi_arch() -> (RegistryPayload, MultiArchPayload) {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let host = registry.host();
    let store = testkit::stores::plain_store(&registry);
    let auth = testkit::stores::empty_auth_file(registry.dir());
    let spec = PayloadSpec::new()
        .components(24)
        .layer_size(2048)
        .pullspec_prefix(format!("{host}/okd/scos-content"));
    let multi = generate_multi_arch(&store, &spec)
        .await
        .expect("generating the multi-arch payload");
    let flags = vec![
        "--insecure-registry".to_string(),
        host.clone(),
        "--authfile".to_string(),
        auth.display().to_string(),
    ];
    let r = RegistryPayload {
        registry,
        host,
        store,
        payload: multi.payload.clone(),
        flags,
    };
    (r, multi)
}

/// `skopeo inspect --raw` of `image`, parsed, and the digest of the bytes skopeo read.
fn skopeo_raw(image: &str) -> (Value, Digest) {
    let raw = testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{image}"),
    ]);
    let doc = serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{image}: {e}"));
    (doc, Digest::sha256_of(&raw))
}

/// `skopeo inspect --config` of `image`, parsed.
fn skopeo_config(image: &str) -> Value {
    let out = tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--config",
            &format!("docker://{image}"),
        ],
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{image}: {e}: {out}"))
}

fn platform_of(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap(),
        p["architecture"].as_str().unwrap()
    );
    if let Some(v) = p["variant"].as_str() {
        s.push('/');
        s.push_str(v);
    }
    s
}

fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn keep_manifest_list_appends_the_same_release_layer_to_every_child() {
    let (r, multi) = registry_multi_arch().await;
    let cvo = multi.payload.component("cluster-version-operator").unwrap();
    assert_eq!(cvo.platforms.len(), 2);
    let to = r.at("okd/multi-release");
    let out = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--name",
            NAME,
            "--keep-manifest-list",
            "--to-image",
            &to,
        ])
        .ok();
    let printed = out.split_whitespace().next().unwrap().to_string();

    // skopeo reads a manifest list, of the base list's media type, at the printed digest.
    let (list, list_digest) = skopeo_raw(&format!("{to}:{NAME}"));
    assert_eq!(list_digest.to_string(), printed);
    assert_eq!(list["mediaType"], media_type::DOCKER_MANIFEST_LIST);
    let entries = list["manifests"].as_array().unwrap();
    let platforms: Vec<String> = entries.iter().map(platform_of).collect();
    assert_eq!(platforms, multi.platforms);

    let mut release_layers = Vec::new();
    for (entry, base) in entries.iter().zip(&cvo.platforms) {
        let child = entry["digest"].as_str().unwrap();
        let (manifest, digest) = skopeo_raw(&format!("{to}@{child}"));
        assert_eq!(digest.to_string(), child);
        assert_eq!(manifest["mediaType"], media_type::DOCKER_MANIFEST);
        assert_eq!(entry["mediaType"], media_type::DOCKER_MANIFEST);
        assert_eq!(
            entry["size"].as_u64(),
            Some(skopeo_raw_len(&format!("{to}@{child}")))
        );
        let layers = layer_digests(&manifest);
        // The base child's layers, unchanged, then one release layer.
        let base_layers: Vec<String> = base.layers.iter().map(|l| l.digest.to_string()).collect();
        assert_eq!(
            &layers[..layers.len() - 1],
            base_layers.as_slice(),
            "{child}"
        );
        release_layers.push(layers.last().unwrap().clone());
        // Each child keeps its architecture and names its own base child, as oc labels it.
        let config = skopeo_config(&format!("{to}@{child}"));
        assert_eq!(config["architecture"], base.architecture.as_str());
        let labels = &config["config"]["Labels"];
        assert_eq!(labels["io.openshift.release"], NAME);
        assert_eq!(
            labels["io.openshift.release.base-image-digest"],
            base.digest.to_string()
        );
    }
    assert_eq!(release_layers.len(), 2);
    assert_eq!(release_layers[0], release_layers[1]);
    assert!(
        !multi
            .children
            .iter()
            .any(|c| c.release_layer.digest.to_string() == release_layers[0]),
        "the release layer was not rewritten for the new name"
    );

    // `release info --platform linux/arm64` reads the arm64 child of the new list.
    let info = r
        .okd(&[
            "release",
            "info",
            &format!("{to}:{NAME}"),
            "--platform",
            "linux/arm64",
        ])
        .ok();
    assert!(
        info.lines()
            .any(|l| l.starts_with("OS/Arch:") && l.ends_with("multi (linux/arm64)")),
        "{info}"
    );
    let arm_child = entries[1]["digest"].as_str().unwrap();
    assert!(
        info.lines().any(|l| l.contains("linux/arm64/v8")
            && l.contains(arm_child)
            && l.ends_with("(shown)")),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("Digest:") && l.ends_with(&printed)),
        "{info}"
    );
}

/// The size skopeo reports for the raw manifest of `image`.
fn skopeo_raw_len(image: &str) -> u64 {
    testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{image}"),
    ])
    .len() as u64
}

#[tokio::test]
async fn info_and_extract_read_the_platform_asked_for() {
    let (r, multi) = registry_multi_arch().await;
    let release = r.release_ref();
    let (amd, arm) = (&multi.children[0], &multi.children[1]);

    let doc = r
        .okd(&["release", "info", &release, "-o", "okd-json"])
        .json();
    assert_eq!(doc["contentDigest"], amd.digest.to_string());
    assert_eq!(doc["listDigest"], multi.list_digest.to_string());
    let listed: Vec<(String, String)> = doc["listManifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["platform"].as_str().unwrap().to_string(),
                c["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("linux/amd64".to_string(), amd.digest.to_string()),
            ("linux/arm64/v8".to_string(), arm.digest.to_string()),
        ]
    );

    for flags in [
        ["--platform", "linux/arm64"],
        ["--platform", "linux/arm64/v8"],
        ["--filter-by-os", "arm64"],
    ] {
        let doc = r
            .okd(&[
                "release", "info", &release, "-o", "okd-json", flags[0], flags[1],
            ])
            .json();
        assert_eq!(doc["contentDigest"], arm.digest.to_string(), "{flags:?}");
        assert_eq!(doc["architecture"], "arm64", "{flags:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("arm");
    let run = r.okd(&[
        "release",
        "extract",
        &release,
        "--platform",
        "linux/arm64",
        "--to",
        &to.display().to_string(),
    ]);
    run.ok();
    assert!(
        run.stderr().contains(&multi.list_digest.to_string()),
        "{}",
        run.stderr()
    );
    let refs = std::fs::read_to_string(to.join("image-references")).unwrap();
    assert_eq!(
        refs,
        multi
            .payload
            .release_file("image-references")
            .unwrap()
            .content
    );
}

#[tokio::test]
async fn a_missing_platform_is_an_error_naming_the_platforms_of_the_list() {
    let (r, _multi) = registry_multi_arch().await;
    let release = r.release_ref();
    let err = r
        .okd(&["release", "info", &release, "--platform", "linux/s390x"])
        .fails();
    for want in ["linux/s390x", "linux/amd64", "linux/arm64/v8"] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let err = r
        .okd(&["release", "info", &release, "--filter-by-os", "linux/.*"])
        .fails();
    assert!(err.contains("several images"), "{err}");
    let err = r
        .okd(&["release", "info", &release, "--platform", "linux"])
        .fails();
    assert!(err.contains("invalid platform \"linux\""), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("none");
    let err = r
        .okd(&[
            "release",
            "extract",
            &release,
            "--platform",
            "linux/ppc64le",
            "--to",
            &to.display().to_string(),
        ])
        .fails();
    assert!(
        err.contains("linux/ppc64le") && err.contains("linux/arm64/v8"),
        "{err}"
    );
    assert!(!to.join("image-references").exists());
}

#[tokio::test]
async fn a_one_child_list_of_any_architecture_loads_without_a_flag() {
    let (r, multi) = registry_multi_arch().await;
    let arm = &multi.children[1];
    let child = r
        .store
        .read_manifest("okd/scos-release", &ManifestRef::Digest(arm.digest.clone()))
        .await
        .unwrap();
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST_LIST,
        "manifests": [{
            "mediaType": child.media_type(),
            "size": child.size(),
            "digest": child.digest().to_string(),
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        }],
    });
    let list = RawManifest::new(
        media_type::DOCKER_MANIFEST_LIST,
        serde_json::to_vec_pretty(&list).unwrap(),
    )
    .unwrap();
    r.store
        .write_manifest("okd/scos-release", &list, Some("arm64-only"))
        .await
        .unwrap();
    let image = r.at("okd/scos-release:arm64-only");

    let info = r.okd(&["release", "info", &image]).ok();
    assert!(info.contains("multi (linux/arm64)"), "{info}");
    assert!(info.contains(&list.digest().to_string()), "{info}");
    let doc = r.okd(&["release", "info", &image, "-o", "okd-json"]).json();
    assert_eq!(doc["contentDigest"], arm.digest.to_string());

    // Asking for another platform explicitly still fails, naming the one the list has.
    let err = r
        .okd(&["release", "info", &image, "--platform", "linux/amd64"])
        .fails();
    assert!(err.contains("linux/arm64/v8"), "{err}");
}

#[tokio::test]
async fn without_keep_manifest_list_new_builds_one_image_of_the_chosen_platform() {
    let (r, multi) = registry_multi_arch().await;
    let cvo = multi.payload.component("cluster-version-operator").unwrap();
    for (flags, base) in [
        (vec![], &cvo.platforms[0]),
        (vec!["--platform", "linux/arm64"], &cvo.platforms[1]),
    ] {
        let to = r.at(&format!("okd/single-{}", base.architecture));
        let release_ref = r.release_ref();
        let mut args = vec![
            "release",
            "new",
            "--from-release",
            &release_ref,
            "--name",
            NAME,
            "--to-image",
            &to,
        ];
        args.extend(flags.iter().copied());
        r.okd(&args).ok();
        let (manifest, _) = skopeo_raw(&format!("{to}:{NAME}"));
        assert_eq!(manifest["mediaType"], media_type::DOCKER_MANIFEST);
        let layers = layer_digests(&manifest);
        let base_layers: Vec<String> = base.layers.iter().map(|l| l.digest.to_string()).collect();
        assert_eq!(&layers[..layers.len() - 1], base_layers.as_slice());
        let config = skopeo_config(&format!("{to}:{NAME}"));
        assert_eq!(config["architecture"], base.architecture.as_str());
    }
    let err = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--keep-manifest-list",
            "--platform",
            "linux/arm64",
            "--to-image",
            &r.at("okd/never"),
        ])
        .stderr();
    assert!(err.contains("cannot be used with"), "{err}");
}
