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

#[tokio::test]
async fn an_image_set_mirrors_its_channel_range_images_and_resources() {
    let r = registry_payload(PayloadSpec::new().components(24).operators(6)).await;
    let p = r.payload.clone();
    let next_spec = NextSpec {
        changed: 3,
        version: "4.19.0-okd-scos.2".into(),
        ..NextSpec::default()
    };
    let (next, _) = p.next(&r.store, &next_spec).await.unwrap();
    let dest = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let dstore = testkit::stores::plain_store(&dest);
    let (src, dst) = (r.host.clone(), dest.host());

    // Additional images: two by digest, one by tag; a component both releases share is blocked.
    let by_digest: Vec<_> = p.components[..2].iter().collect();
    let by_tag = &p.components[2];
    let blocked = p.components[3..]
        .iter()
        .find(|c| {
            next.component(&c.name)
                .is_some_and(|n| n.digest == c.digest)
        })
        .expect("a component both releases share");
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
    let resources = dir.path().join("cluster-resources");
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
    let auth = testkit::stores::empty_auth_file(dest.dir());
    let run = okd([
        "--insecure-registry",
        &src,
        "--insecure-registry",
        &dst,
        "--authfile",
        &auth.display().to_string(),
        "mirror",
        "--config",
        &isc.display().to_string(),
        "--to",
        &format!("docker://{dst}/site"),
        "--graph",
        &graph.display().to_string(),
        "--resources-dir",
        &resources.display().to_string(),
        "--signature-dir",
        &sigs.display().to_string(),
    ]);
    run.ok();
    let log = run.stderr();
    assert!(
        log.contains("blockedImages") && log.contains(blocked.digest.hex()),
        "{log}"
    );
    assert!(!log.contains("4.19.0-okd-scos.3"), "{log}");

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
    for c in &by_digest {
        let tag = format!("{}-{}", c.digest.algorithm().name(), c.digest.hex());
        let got = dstore
            .manifest_digest("site/okd/scos-content", &ManifestRef::Tag(tag))
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&c.digest));
    }
    let tag = format!("{}-{}", p.version, by_tag.name);
    let got = dstore
        .manifest_digest("site/okd/scos-content", &ManifestRef::Tag(tag))
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(&by_tag.digest));

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
    // Each release's signature as the ConfigMap clusters verify it with.
    for (release, signature) in [&p, &next].into_iter().zip(&signed) {
        let digest = release.release_digest();
        let file = resources
            .join("signatures")
            .join(format!("signature-sha256-{}.json", &digest.hex()[..16]));
        let cm: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let key = format!("sha256-{}-1", digest.hex());
        let carried = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            cm["binaryData"][key].as_str().unwrap(),
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
