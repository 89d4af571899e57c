//! The ConfigMaps clusters read, with the names, labels and keys upstream tools use.

use base64::Engine;
use okd_oci::Digest;
use okd_sign::configmap::{
    signature_config_map_file, verification_config_map, write_signature_config_map,
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
