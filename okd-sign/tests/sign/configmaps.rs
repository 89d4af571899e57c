//! The ConfigMaps clusters read, with the names, labels and keys upstream tools use.

use base64::Engine;
use okd_oci::Digest;
use okd_sign::configmap::{
    MIRRORED_SIGNATURES_JSON, MIRRORED_SIGNATURES_YAML, signature_config_map_file,
    verification_config_map, write_mirrored_signatures, write_signature_config_map,
};

use crate::support::TestKey;

#[test]
fn the_verification_config_map_carries_key_and_store() {
    let key = TestKey::new("ed25519", true, None);
    let cm = verification_config_map(
        "okd-example",
        &key.keyring(),
        "https://example.invalid/sigs",
    );
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["namespace"], "openshift-config-managed");
    assert_eq!(
        cm["metadata"]["annotations"]["release.openshift.io/verification-config-map"],
        ""
    );
    assert_eq!(
        cm["data"]["store-okd-example"],
        "https://example.invalid/sigs"
    );
    let armored = cm["data"]["verifier-public-key-okd-example"]
        .as_str()
        .unwrap();
    // The key in the ConfigMap is the keyring again, as a cluster would load it.
    let reloaded = okd_sign::Keyring::from_bytes(armored.as_bytes()).unwrap();
    assert_eq!(
        reloaded.fingerprints(),
        std::slice::from_ref(&key.fingerprint)
    );
}

#[test]
fn the_signature_config_map_is_what_oc_writes() {
    let digest: Digest = "sha256:874a0c414befe51f4e9040ebc139355122491eb76d15ccb964ccf3630e6ded1e"
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_signature_config_map(dir.path(), &digest, &[b"one".to_vec(), b"two".to_vec()])
        .unwrap();
    assert_eq!(
        signature_config_map_file(&digest),
        "signature-sha256-874a0c414befe51f.json"
    );
    assert_eq!(
        path,
        dir.path().join("signature-sha256-874a0c414befe51f.json")
    );
    let cm: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let name = format!("sha256-{}", digest.hex());
    assert_eq!(cm["metadata"]["name"], name.as_str());
    assert_eq!(cm["metadata"]["namespace"], "openshift-config-managed");
    assert_eq!(
        cm["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        b64.decode(cm["binaryData"][format!("{name}-1")].as_str().unwrap())
            .unwrap(),
        b"one"
    );
    assert_eq!(
        b64.decode(cm["binaryData"][format!("{name}-2")].as_str().unwrap())
            .unwrap(),
        b"two"
    );
}

#[test]
fn the_mirrored_signatures_config_map_is_what_oc_mirror_writes() {
    let dir = tempfile::tempdir().unwrap();
    let a = Digest::sha256_of(b"release a");
    let b = Digest::sha256_of(b"release b");
    let releases = vec![
        (a.clone(), vec![b"a1".to_vec()]),
        (b.clone(), vec![b"b1".to_vec(), b"b2".to_vec()]),
        // A release listed twice is kept once, as oc-mirror's duplicate check keeps it.
        (a.clone(), vec![b"again".to_vec()]),
    ];
    let written = write_mirrored_signatures(dir.path(), &releases).unwrap();
    assert_eq!(
        written,
        [
            dir.path().join(MIRRORED_SIGNATURES_JSON),
            dir.path().join(MIRRORED_SIGNATURES_YAML)
        ]
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written[0]).unwrap()).unwrap();
    let yaml: serde_json::Value =
        serde_yaml_ng::from_slice(&std::fs::read(&written[1]).unwrap()).unwrap();
    assert_eq!(json, yaml);
    assert_eq!(json["metadata"]["name"], "mirrored-release-signatures");
    assert_eq!(json["metadata"]["namespace"], "openshift-config-managed");
    assert_eq!(
        json["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
    let data = json["binaryData"].as_object().unwrap();
    let decode = |k: String| {
        base64::engine::general_purpose::STANDARD
            .decode(data[&k].as_str().unwrap())
            .unwrap()
    };
    assert_eq!(data.len(), 3);
    assert_eq!(decode(format!("sha256-{}-1", a.hex())), b"a1");
    assert_eq!(decode(format!("sha256-{}-2", b.hex())), b"b1");
    assert_eq!(decode(format!("sha256-{}-3", b.hex())), b"b2");
    // Nothing to carry, nothing written.
    let empty = tempfile::tempdir().unwrap();
    assert!(
        write_mirrored_signatures(empty.path(), &[])
            .unwrap()
            .is_empty()
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
