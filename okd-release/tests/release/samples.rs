//! Byte-for-byte round trips of every image-references and release-metadata sample, and the
//! operator substitution cases from oc's unit tests.

use std::collections::BTreeMap;

use okd_release::substitute::{ImageMapper, ImageReference};
use okd_release::{ImageReferences, ReleaseMetadata, graph};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The samples were copied out of documentation, which adds a final newline `oc` never writes.
fn as_oc_writes(text: &str) -> &str {
    text.strip_suffix('\n').unwrap_or(text)
}

/// Removes an elision line (`...`) from an excerpt, and the comma it left dangling before it.
fn without_elision(text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = lines
        .iter()
        .position(|l| l.trim() == "..." || l.trim() == "...,")
        .expect("excerpt has an elision");
    lines.remove(i);
    let closes = lines
        .get(i)
        .is_some_and(|next| next.trim_start().starts_with([']', '}']));
    if closes {
        lines[i - 1] = lines[i - 1].trim_end_matches(',').to_string();
    }
    lines.join("\n")
}

/// The value of top-level key `key` of an indented Go document, re-indented as a document of
/// its own.
fn nested_document(text: &str, key: &str) -> String {
    let open = format!("  \"{key}\": {{");
    let mut out = vec!["{".to_string()];
    let mut inside = false;
    for line in text.lines() {
        if !inside {
            inside = line == open;
            continue;
        }
        if line == "  }," || line == "  }" {
            out.push("}".to_string());
            return out.join("\n");
        }
        out.push(line.strip_prefix("  ").expect("indented").to_string());
    }
    panic!("no {key} object");
}

#[test]
fn image_references_4_1_0_round_trips() {
    let text = without_elision(&data("image-references-4.1.0.excerpt.txt"));
    let is = ImageReferences::parse(text.as_bytes()).unwrap();
    assert_eq!(is.name(), "4.1.0");
    assert_eq!(is.tags()[0].generation, Some(2));
    assert_eq!(is.tags()[0].reference_policy.type_, "Source");
    assert_eq!(is.to_json(), text);
}

#[test]
fn image_references_from_release_info_round_trips() {
    let text = nested_document(
        &data("release-info-json-4.13.1.third-party-fixture.json"),
        "references",
    );
    let is = ImageReferences::parse(text.as_bytes()).unwrap();
    assert_eq!(is.tags()[0].generation, None);
    assert_eq!(is.tags()[0].annotations.as_ref().map(|a| a.len()), Some(3));
    assert_eq!(is.to_json(), text);
}

#[test]
fn image_references_cvo_minimal_gets_what_go_writes() {
    let text = data("image-references-cvo-testdata-minimal.json");
    let is = ImageReferences::parse(text.as_bytes()).unwrap();
    assert_eq!(is.name(), "1.0.0-test");
    // Written by hand in the CVO tests; Go fills in the non-omitempty fields when re-encoding.
    assert_eq!(
        is.to_json(),
        r#"{
  "kind": "ImageStream",
  "apiVersion": "image.openshift.io/v1",
  "metadata": {
    "name": "1.0.0-test"
  },
  "spec": {
    "lookupPolicy": {
      "local": false
    }
  },
  "status": {
    "dockerImageRepository": ""
  }
}"#
    );
}

#[test]
fn operator_image_references_parse() {
    let mco = data("operator-image-references-machine-config-operator.yaml");
    let is = ImageReferences::parse(mco.as_bytes()).unwrap();
    assert_eq!(is.tags().len(), 13);
    assert_eq!(
        is.tag("rhel-coreos-10").unwrap().pullspec(),
        Some("placeholder.url.oc.will.replace.this.org/placeholdernamespace:rhel10-coreos")
    );
    let cvo = data("operator-image-references-cluster-version-operator.yaml");
    let is = ImageReferences::parse(cvo.as_bytes()).unwrap();
    assert_eq!(is.tags()[0].name, "cluster-update-console-plugin");
}

#[test]
fn release_metadata_4_1_0_round_trips() {
    let text = data("release-metadata-4.1.0.json");
    let m = ReleaseMetadata::parse(text.as_bytes()).unwrap();
    m.validate().unwrap();
    assert_eq!(m.previous(), Vec::<String>::new());
    assert_eq!(m.to_json(), as_oc_writes(&text));
}

#[test]
fn release_metadata_4_16_15_round_trips_and_sorts_as_strings() {
    let text = without_elision(&data("release-metadata-4.16.15.excerpt.txt"));
    let m = ReleaseMetadata::parse(text.as_bytes()).unwrap();
    assert_eq!(m.previous(), ["4.15.18", "4.16.9"]);
    assert_eq!(m.to_json(), text);
    // Rebuilding the list the way `oc adm release new --previous` does gives the same order.
    let mut rebuilt = ReleaseMetadata::new("4.16.15");
    rebuilt.set_previous(["4.16.9", "4.15.18"]).unwrap();
    rebuilt.metadata = m.metadata.clone();
    assert_eq!(rebuilt.to_json(), text);
}

#[test]
fn release_metadata_from_release_info_round_trips() {
    let text = nested_document(
        &data("release-info-json-4.13.1.third-party-fixture.json"),
        "metadata",
    );
    let m = ReleaseMetadata::parse(text.as_bytes()).unwrap();
    assert_eq!(
        m.url(),
        Some("https://access.redhat.com/errata/RHSA-2023:3304")
    );
    assert_eq!(m.to_json(), text);
}

#[test]
fn release_metadata_cvo_minimal_gets_what_go_writes() {
    let text = data("release-metadata-cvo-testdata-minimal.json");
    let m = ReleaseMetadata::parse(text.as_bytes()).unwrap();
    m.validate().unwrap();
    assert_eq!(
        m.to_json(),
        "{\n  \"kind\": \"cincinnati-metadata-v0\",\n  \"version\": \"1.0.0-test\",\n  \"previous\": null\n}"
    );
}

#[test]
fn release_metadata_cvo_multi_gets_sorted_keys() {
    let text = data("release-metadata-cvo-testdata-multi.json");
    let m = ReleaseMetadata::parse(text.as_bytes()).unwrap();
    assert!(m.is_multi_arch());
    assert_eq!(m.channels(), ["channel-c", "channel-a", "channel-b"]);
    // Hand-written with unsorted keys; Go writes map keys sorted.
    assert_eq!(
        m.to_json(),
        r#"{
  "kind": "cincinnati-metadata-v0",
  "version": "1.0.0-abc",
  "previous": [
    "1.1.1",
    "1.2.2"
  ],
  "metadata": {
    "io.openshift.upgrades.graph.release.channels": "channel-c,channel-a,channel-b",
    "release.openshift.io/architecture": "multi",
    "url": "https://example.com/v1.0.0-abc"
  }
}"#
    );
}

#[test]
fn graph_node_sample_round_trips() {
    let text = data("cincinnati-graph-node-4.16.0-ec.0.excerpt.txt");
    let node: graph::Node = serde_json::from_str(&text).unwrap();
    assert_eq!(node.version.to_string(), "4.16.0-ec.0");
    assert_eq!(node.channels().len(), 3);
    assert_eq!(
        serde_json::to_string_pretty(&node).unwrap(),
        as_oc_writes(&text)
    );
}

#[derive(serde::Deserialize)]
struct SubstitutionCase {
    name: String,
    images: BTreeMap<String, ImageReference>,
    #[serde(default)]
    input: String,
    #[serde(default)]
    output: String,
    #[serde(default)]
    error: bool,
}

#[test]
fn every_oc_substitution_case() {
    let cases: Vec<SubstitutionCase> =
        serde_json::from_str(&data("manifest-image-substitution-cases.oc-unit-test.json")).unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        match ImageMapper::new(&case.images) {
            Ok(mapper) => {
                assert!(!case.error, "{}: expected an error", case.name);
                let out = mapper.apply(case.input.as_bytes());
                assert_eq!(String::from_utf8_lossy(&out), case.output, "{}", case.name);
            }
            Err(e) => assert!(case.error, "{}: unexpected error {e}", case.name),
        }
    }
}

#[test]
fn mco_placeholders_are_replaced() {
    let refs = ImageReferences::parse(
        data("operator-image-references-machine-config-operator.yaml").as_bytes(),
    )
    .unwrap();
    let mut release = ImageReferences::new("4.19.0-okd-scos.3", chrono::Utc::now());
    for tag in refs.tags() {
        let pullspec = format!("quay.io/okd/scos-content@sha256:{:064x}", tag.name.len());
        release
            .spec
            .tags
            .push(okd_release::TagReference::new(&tag.name, &pullspec));
    }
    let transform = okd_release::substitute::OperatorTransform::new(
        "machine-config-operator",
        &refs,
        &release,
        false,
    )
    .unwrap();
    let manifest = data("operator-manifest-with-placeholders-mco-osimageurl.yaml");
    let out = String::from_utf8(
        transform
            .apply(manifest.as_bytes(), "mco/osimageurl.yaml")
            .unwrap(),
    )
    .unwrap();
    let os = release.tag("rhel-coreos").unwrap().pullspec().unwrap();
    let ext = release
        .tag("rhel-coreos-extensions")
        .unwrap()
        .pullspec()
        .unwrap();
    assert!(
        out.contains(&format!("baseOSContainerImage: \"{os}\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("baseOSExtensionsContainerImage: \"{ext}\"")),
        "{out}"
    );
    assert!(out.contains("releaseVersion: 4.19.0-okd-scos.3"), "{out}");
    assert!(!out.contains("placeholder"), "{out}");
    // Only the substituted spans changed.
    assert_eq!(out.lines().count(), manifest.lines().count());
}

#[test]
fn image_config_from_release_info_round_trips() {
    let text = nested_document(
        &data("release-info-json-4.13.1.third-party-fixture.json"),
        "config",
    );
    let c = okd_release::docker_config::DockerImageConfig::parse(text.as_bytes()).unwrap();
    assert_eq!(c.history.len(), 6);
    assert_eq!(c.history[0].comment, "Release image for OpenShift");
    assert_eq!(c.size, 151043186);
    assert_eq!(c.to_json_indent(), text);
}
