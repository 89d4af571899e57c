//! The claim format: the real OKD message parses, and only the fields clusters accept exist.

use okd_sign::Claim;

#[test]
fn the_okd_sample_message_parses() {
    let bytes = include_bytes!("../data/release-signature-message-okd-scos-4.12.json");
    let claim = Claim::from_json(bytes).expect("the OKD message parses");
    assert_eq!(claim.critical.kind, okd_sign::claim::CLAIM_TYPE);
    assert_eq!(
        claim.digest(),
        "sha256:874a0c414befe51f4e9040ebc139355122491eb76d15ccb964ccf3630e6ded1e"
    );
    assert_eq!(
        claim.identity(),
        "registry.ci.openshift.org/origin/release-scos:4.12.0-0.okd-scos-2022-10-22-232744"
    );
    assert_eq!(claim.optional.creator, "openshift release-controller");
    assert_eq!(claim.optional.timestamp, 1666481349);
}

#[test]
fn a_new_claim_has_exactly_the_fields_the_operator_decodes() {
    let digest = okd_oci::Digest::sha256_of(b"m");
    let claim = Claim::new(&digest, "quay.io/a/b:1");
    let value: serde_json::Value = serde_json::from_slice(&claim.to_json()).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&value), ["critical", "optional"]);
    assert_eq!(keys(&value["critical"]), ["identity", "image", "type"]);
    assert_eq!(
        keys(&value["critical"]["image"]),
        ["docker-manifest-digest"]
    );
    assert_eq!(keys(&value["critical"]["identity"]), ["docker-reference"]);
    assert_eq!(keys(&value["optional"]), ["creator", "timestamp"]);
    assert_eq!(value["critical"]["type"], "atomic container signature");
}

#[test]
fn an_unknown_field_is_refused_as_clusters_refuse_it() {
    let with_extra = br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"sha256:00"},"identity":{"docker-reference":"a/b:1"}},"optional":{"creator":"x","timestamp":1,"extra":true}}"#;
    assert!(Claim::from_json(with_extra).is_err());
}
