//! `okd-streams mirror --config isc.yaml --to DEST`: an oc-mirror ImageSetConfiguration with a
//! channel range over a graph file, additional images by digest and by tag, and a blocked
//! pattern, mirrored between two docker-registries; the destination is walked and the cluster
//! resources compared with what oc-mirror's rules give.

use std::collections::BTreeSet;

use crate::cli_common::{self, okd, registry_payload, tool};
use okd_oci::{Digest, ManifestRef, Store};
use testkit::payload::{NextSpec, PayloadSpec};

const CHANNEL: &str = "4-scos-stable";

/// The graph file: releases .1 and .2 of the payload, and a .3 the range leaves out.
fn graph_file(host: &str, digests: [&Digest; 2]) -> serde_json::Value {
    let node = |n: u32, digest: String| {
        serde_json::json!({
            "version": format!("4.19.0-okd-scos.{n}"),
            "payload": format!("{host}/okd/scos-release@{digest}"),
            "metadata": {"io.openshift.upgrades.graph.release.channels": CHANNEL},
        })
    };
    let never = format!("sha256:{}", "0".repeat(64));
    serde_json::json!({
        "nodes": [node(1, digests[0].to_string()), node(2, digests[1].to_string()), node(3, never)],
        "edges": [[0, 1], [1, 2]],
        "conditionalEdges": [],
    })
}

/// `(object name, source, mirrors)` of every entry of a mirror-set file, sorted.
fn entries(yaml: &str, list: &str) -> BTreeSet<(String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
        let v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
        let name = v["metadata"]["name"].as_str().unwrap().to_string();
        for e in v["spec"][list].as_array().unwrap() {
            let mirrors = e["mirrors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            out.insert((
                name.clone(),
                e["source"].as_str().unwrap().to_string(),
                mirrors,
            ));
        }
    }
    out
}

fn entry(name: &str, source: String, mirror: String) -> (String, String, Vec<String>) {
    (name.to_string(), source, vec![mirror])
}

/// Two releases in a source registry, the configuration and graph file naming them, and their
/// signatures in a signature store directory.
struct Fixture {
    r: cli_common::RegistryPayload,
    next: testkit::payload::Payload,
    by_digest: Vec<testkit::payload::Component>,
    by_tag: testkit::payload::Component,
    blocked: testkit::payload::Component,
    dir: tempfile::TempDir,
    graph: std::path::PathBuf,
    isc: std::path::PathBuf,
    sigs: std::path::PathBuf,
    signed: Vec<Vec<u8>>,
}

async fn fixture() -> Fixture {
    let r = registry_payload(PayloadSpec::new().components(24).operators(6)).await;
    let p = r.payload.clone();
    let next_spec = NextSpec {
        changed: 3,
        version: "4.19.0-okd-scos.2".into(),
        ..NextSpec::default()
    };
    let (next, _) = p.next(&r.store, &next_spec).await.unwrap();
    let src = r.host.clone();

    // Additional images: two by digest, one by tag; a component both releases share is blocked.
    let by_digest: Vec<_> = p.components[..2].to_vec();
    let by_tag = p.components[2].clone();
    let blocked = p.components[3..]
        .iter()
        .find(|c| {
            next.component(&c.name)
                .is_some_and(|n| n.digest == c.digest)
        })
        .expect("a component both releases share")
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("graph.json");
    std::fs::write(
        &graph,
        graph_file(&src, [p.release_digest(), next.release_digest()]).to_string(),
    )
    .unwrap();
    let isc = dir.path().join("isc.yaml");
    std::fs::write(&isc, format!(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    graph: true\n    channels:\n    - name: {CHANNEL}\n      type: okd\n      minVersion: 4.19.0-okd-scos.1\n      maxVersion: 4.19.0-okd-scos.2\n  additionalImages:\n  - name: {src}/okd/scos-content@{}\n  - name: {src}/okd/scos-content@{}\n  - name: {src}/okd/scos-content:{}-{}\n  blockedImages:\n  - name: {}\n",
        by_digest[0].digest, by_digest[1].digest, p.version, by_tag.name, blocked.digest.hex(),
    )).unwrap();
    // Both releases signed into one signature store directory.
    let key = crate::cli_sign::new_key("ed25519");
    let sigs = dir.path().join("signatures");
    let mut signed = Vec::new();
    for release in [
        r.release_ref(),
        r.at(&format!("okd/scos-release:{}", next.version)),
    ] {
        let out = r
            .okd(&[
                "release",
                "sign",
                &release,
                "--key",
                &key.secret.display().to_string(),
                "--signature-dir",
                &sigs.display().to_string(),
            ])
            .ok();
        signed.push(std::fs::read(out.trim()).unwrap());
    }
    Fixture {
        r,
        next,
        by_digest,
        by_tag,
        blocked,
        dir,
        graph,
        isc,
        sigs,
        signed,
    }
}

impl Fixture {
    /// `okd-streams` with the source and `dst` registries insecure and an empty auth file.
    fn okd(&self, dst: &testkit::Registry, args: &[&str]) -> cli_common::Run {
        let auth = testkit::stores::empty_auth_file(dst.dir());
        let mut all: Vec<String> = [
            "--insecure-registry",
            &self.r.host,
            "--insecure-registry",
            &dst.host(),
            "--authfile",
            &auth.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        okd(all)
    }

    /// `mirror --config` arguments up to `--to`.
    fn config_args(&self) -> Vec<String> {
        [
            "mirror",
            "--config",
            &self.isc.display().to_string(),
            "--graph",
            &self.graph.display().to_string(),
            "--signature-dir",
            &self.sigs.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

#[tokio::test]
async fn an_image_set_mirrors_its_channel_range_images_and_resources() {
    let f = fixture().await;
    let dest = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let resources = f.dir.path().join("cluster-resources");
    let mut args = f.config_args();
    args.extend([
        "--to".to_string(),
        format!("docker://{}/site", dest.host()),
        "--resources-dir".to_string(),
        resources.display().to_string(),
    ]);
    let run = f.okd(&dest, &args.iter().map(String::as_str).collect::<Vec<_>>());
    run.ok();
    let log = run.stderr();
    assert!(
        log.contains("blockedImages") && log.contains(f.blocked.digest.hex()),
        "{log}"
    );
    assert!(!log.contains("4.19.0-okd-scos.3"), "{log}");
    check_destination(&f, &dest, &resources, &f.r.host).await;
}

/// Mirror to disk with chunks small enough to need several, the source registry stopped, the
/// archive restored into a fresh registry: the same images, tags and resources as a mirror
/// registry to registry gives.
#[tokio::test]
async fn an_image_set_goes_through_a_transfer_archive() {
    let mut f = fixture().await;
    let archive = f.dir.path().join("transfer");
    let mut args = f.config_args();
    args.extend([
        "--to".to_string(),
        format!("archive:{}", archive.display()),
        "--max-archive-size".to_string(),
        "1MiB".to_string(),
    ]);
    let dest = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    f.okd(&dest, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    let chunks = std::fs::read_dir(&archive)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("okd-mirror_")
        })
        .count();
    assert!(chunks > 2, "{chunks} chunks");
    // The same set again, since the first archive: nothing but manifests and the index.
    let again = f.dir.path().join("again");
    let mut args = f.config_args();
    args.extend([
        "--to".to_string(),
        format!("archive:{}", again.display()),
        "--since".to_string(),
        archive.display().to_string(),
    ]);
    let run = f.okd(&dest, &args.iter().map(String::as_str).collect::<Vec<_>>());
    run.ok();
    let log = run.stderr();
    assert!(log.contains("blobs left out as delivered before"), "{log}");
    let src = f.r.host.clone();
    // The other side has no way to the source.
    f.r.registry = testkit::Registry::spawn().await.unwrap();

    // Restored alone into a registry that never got the first archive, the second one is
    // refused before anything is pushed.
    let empty = testkit::Registry::spawn().await.unwrap();
    let err = f
        .okd(
            &empty,
            &[
                "mirror",
                "archive",
                &again.display().to_string(),
                "--to",
                &format!("docker://{}/site", empty.host()),
            ],
        )
        .fails_after_log();
    assert!(err.contains("restore the earlier archives first"), "{err}");
    assert_eq!(stored_files(&empty), 0, "nothing was pushed");

    let resources = f.dir.path().join("restored-resources");
    let run = f.okd(
        &dest,
        &[
            "mirror",
            "archive",
            &archive.display().to_string(),
            "--to",
            &format!("docker://{}/site", dest.host()),
            "--cluster-resources",
            &resources.display().to_string(),
        ],
    );
    run.ok();
    check_destination(&f, &dest, &resources, &src).await;
    // On top of the first, the second restores: every blob it left out is there.
    let resources = f.dir.path().join("again-resources");
    f.okd(
        &dest,
        &[
            "mirror",
            "archive",
            &again.display().to_string(),
            "--to",
            &format!("docker://{}/site", dest.host()),
            "--cluster-resources",
            &resources.display().to_string(),
        ],
    )
    .ok();
    check_destination(&f, &dest, &resources, &src).await;
}

/// Files in a registry's storage.
fn stored_files(registry: &testkit::Registry) -> usize {
    let mut dirs = vec![registry.dir().join("storage")];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else {
                files += 1;
            }
        }
    }
    files
}

/// The destination holds both releases, every component but the blocked one and the
/// additional images, and the resources are what oc-mirror's rules give.
async fn check_destination(
    f: &Fixture,
    dest: &testkit::Registry,
    resources: &std::path::Path,
    src: &str,
) {
    let dstore = testkit::stores::plain_store(dest);
    let dst = dest.host();
    let p = &f.r.payload;
    let next = &f.next;
    let blocked = &f.blocked;
    // Both releases and every component but the blocked one, by oc-mirror's tags.
    for release in [&p, &next] {
        let tag = format!("{}-x86_64", release.version);
        let got = dstore
            .manifest_digest(
                "site/openshift/release-images",
                &ManifestRef::Tag(tag.clone()),
            )
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(release.release_digest()), "{tag}");
        for c in &release.components {
            let tag = format!("{}-x86_64-{}", release.version, c.name);
            let got = dstore
                .manifest_digest("site/openshift/release", &ManifestRef::Tag(tag.clone()))
                .await
                .unwrap();
            if c.name == blocked.name {
                assert_eq!(got, None, "{tag} is blocked");
            } else {
                assert_eq!(got.as_ref(), Some(&c.digest), "{tag}");
            }
        }
    }
    let image = format!(
        "docker://{dst}/site/openshift/release-images:{}-x86_64",
        next.version
    );
    let inspected: serde_json::Value =
        serde_json::from_str(&tool("skopeo", &["inspect", "--tls-verify=false", &image])).unwrap();
    assert_eq!(inspected["Digest"], next.release_digest().to_string());
    for c in &f.by_digest {
        let tag = format!("{}-{}", c.digest.algorithm().name(), c.digest.hex());
        let got = dstore
            .manifest_digest("site/okd/scos-content", &ManifestRef::Tag(tag))
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&c.digest));
    }
    let tag = format!("{}-{}", p.version, f.by_tag.name);
    let got = dstore
        .manifest_digest("site/okd/scos-content", &ManifestRef::Tag(tag))
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(&f.by_tag.digest));

    // What oc-mirror's rules give: release sources repository-scoped (the path changes), the
    // additional images namespace-scoped (the path is kept), by-tag images in the ITMS.
    let idms = std::fs::read_to_string(resources.join("idms-oc-mirror.yaml")).unwrap();
    assert_eq!(
        entries(&idms, "imageDigestMirrors"),
        BTreeSet::from([
            entry(
                "idms-release-0",
                format!("{src}/okd/scos-content"),
                format!("{dst}/site/openshift/release")
            ),
            entry(
                "idms-release-0",
                format!("{src}/okd/scos-release"),
                format!("{dst}/site/openshift/release-images")
            ),
            entry(
                "idms-generic-0",
                format!("{src}/okd"),
                format!("{dst}/site/okd")
            ),
        ])
    );
    let itms = std::fs::read_to_string(resources.join("itms-oc-mirror.yaml")).unwrap();
    assert_eq!(
        entries(&itms, "imageTagMirrors"),
        BTreeSet::from([entry(
            "itms-generic-0",
            format!("{src}/okd"),
            format!("{dst}/site/okd")
        )])
    );
    // The graph of what was mirrored, pointing at the mirror by the same digests.
    let graph: serde_json::Value =
        serde_json::from_slice(&std::fs::read(resources.join("graph.json")).unwrap()).unwrap();
    let payloads: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["payload"].as_str().unwrap())
        .collect();
    assert_eq!(
        payloads,
        [
            format!("{dst}/site/openshift/release-images@{}", p.release_digest()),
            format!(
                "{dst}/site/openshift/release-images@{}",
                next.release_digest()
            ),
        ]
    );
    assert_eq!(graph["edges"], serde_json::json!([[0, 1]]));
    // Both releases' signatures in oc-mirror's one ConfigMap, numbered across it.
    let cm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(resources.join("signature-configmap.json")).unwrap())
            .unwrap();
    assert_eq!(cm["metadata"]["name"], "mirrored-release-signatures");
    assert_eq!(cm["metadata"]["namespace"], "openshift-config-managed");
    assert!(resources.join("signature-configmap.yaml").is_file());
    for (n, (release, signature)) in [p, next].into_iter().zip(&f.signed).enumerate() {
        let key = format!("sha256-{}-{}", release.release_digest().hex(), n + 1);
        let carried = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            cm["binaryData"][&key]
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {cm}")),
        )
        .unwrap();
        assert_eq!(&carried, signature);
    }
}

#[test]
fn sections_okd_streams_cannot_mirror_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let isc = dir.path().join("isc.yaml");
    std::fs::write(&isc, "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  operators:\n  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n").unwrap();
    let err = cli_common::okd([
        "mirror",
        "--config",
        &isc.display().to_string(),
        "--to",
        "mirror.local:5000/site",
    ])
    .fails();
    assert!(
        err.contains("mirror.operators") && err.contains("isc.yaml"),
        "{err}"
    );
}
