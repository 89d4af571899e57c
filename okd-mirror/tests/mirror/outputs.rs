//! Mirror configuration and mapping outputs, compared as text with what `oc` prints.

use crate::common;

use std::sync::Arc;

use common::*;
use okd_mirror::Naming;
use okd_mirror::icsp::ImageContentSourcePolicy;
use okd_mirror::idms::ImageDigestMirrorSet;
use okd_mirror::instructions::MirrorSet;
use okd_mirror::mapping;
use okd_mirror::progress::NoProgress;
use okd_mirror::run::{Instructions, Outputs};
use okd_oci::{MemoryStore, StoreMap};

fn sample(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The mirror sets of oc's own unit test of its instructions.
fn oc_test_sets() -> Vec<MirrorSet> {
    vec![
        MirrorSet::new("quay/another/test", ["registry/another/test"]),
        MirrorSet::new("quay/ocp/test", ["registry/ocp/test"]),
    ]
}

#[test]
fn idms_instructions_match_oc() {
    let text = ImageDigestMirrorSet::new("example", &oc_test_sets())
        .instructions()
        .unwrap();
    assert_eq!(text, sample("release-mirror-idms-output.oc-unit-test.txt"));
}

#[test]
fn icsp_instructions_match_oc() {
    let text = ImageContentSourcePolicy::new("example", &oc_test_sets())
        .instructions()
        .unwrap();
    assert_eq!(text, sample("release-mirror-icsp-output.oc-unit-test.txt"));
}

#[test]
fn idms_document_and_install_config_section() {
    let idms = ImageDigestMirrorSet::new("example", &oc_test_sets());
    let expected = sample("release-mirror-idms-output.oc-unit-test.txt");
    let doc = idms.to_yaml().unwrap();
    assert!(expected.ends_with(&doc));
    assert!(doc.starts_with("apiVersion: config.openshift.io/v1\n"));
    let section = idms.install_config_yaml().unwrap();
    assert!(section.starts_with("imageDigestSources:\n- mirrors:\n"));
    assert!(expected.contains(&format!("install-config.yaml:\n\n{section}\n\n")));
}

/// A whole release mirror reproduces what `oc adm release mirror` printed for 4.5.4: the same
/// source repositories (release and art-dev content) mirrored to one repository.
#[tokio::test]
async fn release_mirror_prints_what_oc_printed_for_4_5_4() {
    let src = arc(MemoryStore::new());
    let mut p = payload(
        src.as_ref(),
        "quay.io",
        "openshift-release-dev/ocp-release",
        "openshift-release-dev/ocp-v4.0-art-dev",
        "4.5.4-x86_64",
        &["cli", "installer", "machine-config-operator"],
    )
    .await;
    // image-references metadata.name of that release is the version without the arch.
    p.release.version = "4.5.4".to_string();
    let dst = arc(MemoryStore::new());
    let stores = StoreMap::offline();
    stores.alias("quay.io", src);
    stores.alias("localhost:5000", dst.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut opts = release_run(
        "quay.io/openshift-release-dev/ocp-release:4.5.4-x86_64",
        "localhost:5000/ocp4/openshift4",
        Naming::Release,
    );
    opts.instructions = Instructions::Icsp;
    opts.outputs = Outputs {
        idms: Some(dir.path().join("idms.yaml")),
        icsp: Some(dir.path().join("icsp.yaml")),
        mapping: Some(dir.path().join("mapping.txt")),
        install_config: Some(dir.path().join("install-config.yaml")),
        report: Some(dir.path().join("report.json")),
    };
    let loader = StaticReleases::with(p.release.clone());
    let outcome = opts
        .run(&stores, &loader, Arc::new(NoProgress))
        .await
        .unwrap();

    let expected = sample("release-mirror-real-output-4.5.4.excerpt.txt");
    // The excerpt's first line names the release that was mirrored.
    let expected = expected.split_once('\n').unwrap().1;
    assert_eq!(outcome.instructions, expected);

    let sets = vec![
        MirrorSet::new(
            "quay.io/openshift-release-dev/ocp-release",
            ["localhost:5000/ocp4/openshift4"],
        ),
        MirrorSet::new(
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev",
            ["localhost:5000/ocp4/openshift4"],
        ),
    ];
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(
        read("idms.yaml"),
        ImageDigestMirrorSet::new("example", &sets)
            .to_yaml()
            .unwrap()
    );
    assert_eq!(
        read("icsp.yaml"),
        ImageContentSourcePolicy::new("example", &sets)
            .to_yaml()
            .unwrap()
    );
    assert!(read("install-config.yaml").starts_with("imageDigestSources:\n"));

    // The mapping file lists every image in `oc image mirror -f` form, release first as oc
    // prints it, then the components in `image-references` order.
    let lines = read("mapping.txt");
    let parsed = mapping::parse(&lines, "mapping.txt").unwrap();
    assert_eq!(parsed.len(), 4);
    assert_eq!(
        lines.lines().nth(1).unwrap(),
        format!(
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@{} localhost:5000/ocp4/openshift4:4.5.4-x86_64-cli",
            p.components[0].1.digest()
        )
    );
    assert_eq!(
        lines.lines().next().unwrap(),
        "quay.io/openshift-release-dev/ocp-release:4.5.4-x86_64 localhost:5000/ocp4/openshift4:4.5.4-x86_64"
    );

    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(report["totals"]["images_written"], 4);
    assert_eq!(
        report["totals"]["blobs_copied"],
        report["blobs"].as_array().unwrap().len()
    );
}
