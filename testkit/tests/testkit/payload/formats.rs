//! Release documents, operator image-references and OS labels compared with real samples.

use std::collections::BTreeMap;

use okd_oci::ManifestRef;
use serde_json::Value;
use testkit::payload::ComponentKind;

use super::common::*;

#[tokio::test]
async fn release_documents_have_the_shape_oc_writes() {
    let (_, p) = default_payload().await;
    let ours = &p.release_file("image-references").unwrap().content;
    assert!(!ours.ends_with('\n'));
    let sample = include_str!("../../data/image-references-4.1.0.excerpt.txt");
    // Up to the end of the first tag the key sequences match the real 4.1.0 image-references
    // (ours has no from-release annotation and no generation value, which the sample has).
    let theirs: Vec<String> = keys_in_order(sample)
        .into_iter()
        .filter(|k| k != "release.openshift.io/from-release")
        .collect();
    let ours_keys = keys_in_order(ours);
    let first_tag_end = theirs.iter().position(|k| k == "type").unwrap();
    let skip_annotations = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .filter(|k| !k.starts_with("io.openshift.build."))
            .cloned()
            .collect()
    };
    assert_eq!(
        skip_annotations(&ours_keys[..ours_keys.iter().position(|k| k == "type").unwrap() + 1]),
        skip_annotations(&theirs[..=first_tag_end])
    );
    assert!(ours.contains("\n        \"generation\": null,\n        \"importPolicy\": {},\n        \"referencePolicy\": {\n          \"type\": \"\"\n        }\n"), "{ours}");
    assert!(ours.ends_with("  \"status\": {\n    \"dockerImageRepository\": \"\"\n  }\n}"));

    let metadata = &p.release_file("release-metadata").unwrap().content;
    let sample = include_str!("../../data/release-metadata-4.1.0.json");
    assert_eq!(
        keys_in_order(metadata),
        ["kind", "version", "previous", "metadata", "url"]
    );
    assert_eq!(keys_in_order(sample)[..4], keys_in_order(metadata)[..4]);
}

#[tokio::test]
async fn machine_config_operator_references_match_upstream_shape() {
    let (_, p) = default_payload().await;
    let mco = p.component("machine-config-operator").unwrap();
    let ours: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(mco.image_references.as_ref().unwrap()).unwrap();
    let theirs: serde_yaml_ng::Value = serde_yaml_ng::from_str(include_str!(
        "../../data/operator-image-references-machine-config-operator.yaml"
    ))
    .unwrap();
    assert_eq!(ours["kind"], theirs["kind"]);
    assert_eq!(ours["apiVersion"], theirs["apiVersion"]);
    let map = |v: &serde_yaml_ng::Value| -> BTreeMap<String, String> {
        v["spec"]["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["from"]["kind"].as_str(), Some("DockerImage"));
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["from"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (ours, theirs) = (map(&ours), map(&theirs));
    // SCOS builds of the MCO name the OS stream-coreos where OCP has rhel-coreos.
    let mut common = 0;
    for (tag, from) in &theirs {
        let tag = tag.replace("rhel-coreos", "stream-coreos");
        if let Some(o) = ours.get(&tag) {
            assert_eq!(o, &from.replace("rhel-coreos", "stream-coreos"), "{tag}");
            common += 1;
        }
    }
    assert!(common >= 10, "{common} tags in common");
}

#[tokio::test]
async fn os_image_has_the_labels_of_a_real_scos_image() {
    let (store, p) = default_payload().await;
    let os = p.component("stream-coreos").unwrap();
    let samples: Value =
        serde_json::from_str(include_str!("../../data/okd-os-image-labels.json")).unwrap();
    let scos = samples
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("centos-stream-coreos-9"))
        .unwrap()
        .1;
    for key in scos.as_object().unwrap().keys() {
        assert!(os.labels.contains_key(key), "missing {key}");
    }
    assert_eq!(os.labels["ostree.bootable"], "true");
    assert_eq!(os.labels["containers.bootc"], "1");
    assert_eq!(
        os.labels["io.openshift.build.versions"],
        "machine-os=9.0.20250530-0"
    );
    assert_eq!(
        os.labels["io.openshift.build.version-display-names"],
        "machine-os=CentOS Stream CoreOS"
    );
    assert!(os.labels["ostree.linux"].ends_with(".x86_64"));
    assert_eq!(p.os_version(), Some("9.0.20250530-0"));
    // ostree.final-diffid names the last chunk layer; a derived layer follows it.
    let final_diffid = &os.labels["ostree.final-diffid"];
    assert_eq!(
        os.layers[os.layers.len() - 2].diff_id.to_string(),
        *final_diffid
    );
    assert_eq!(os.layers.len(), 7);
    let m = manifest(&store, CONTENT, ManifestRef::Digest(os.digest.clone())).await;
    let view = image_view(&m);
    let annotations = view.annotations().clone().unwrap_or_default();
    assert_eq!(annotations.get("ostree.final-diffid"), Some(final_diffid));
    assert!(
        view.layers()[1]
            .annotations()
            .as_ref()
            .is_some_and(|a| a.contains_key("ostree.components"))
    );
    let ext = p.component("stream-coreos-extensions").unwrap();
    assert_eq!(ext.labels["io.openshift.os.extensions"], "true");
    assert_eq!(ext.kind, ComponentKind::OsExtensions);
}
