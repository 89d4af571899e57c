//! The ConfigMaps clusters read: the verification ConfigMap of a release payload, and the
//! signature ConfigMap a mirror carries to a disconnected cluster.

use std::collections::BTreeMap;

use base64::Engine;
use okd_oci::Digest;
use serde_json::{Value, json};

use crate::keys::Keyring;

/// Namespace of both ConfigMaps.
pub const NAMESPACE: &str = "openshift-config-managed";

/// The annotation that marks the payload ConfigMap the cluster-version-operator takes its
/// verification keys and stores from.
pub const VERIFICATION_ANNOTATION: &str = "release.openshift.io/verification-config-map";

/// The label on ConfigMaps holding release signatures.
pub const SIGNATURES_LABEL: &str = "release.openshift.io/verification-signatures";

/// The payload manifest file name of the verification ConfigMap. The operator uses the first such
/// ConfigMap of the payload in file order, so the name sorts before `0000_90_cluster-update-keys_*`
/// that upstream payloads carry.
pub const VERIFICATION_MANIFEST_FILE: &str = "0000_00_okd-streams_verification-configmap.yaml";

/// The verification ConfigMap: `verifier-public-key-<name>` holds the armored keyring and
/// `store-<name>` the signature store URL. It carries the cluster-profile annotations so that
/// the operator applies it on every profile.
pub fn verification_config_map(name: &str, keyring: &Keyring, store_url: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "release-verification",
            "namespace": NAMESPACE,
            "annotations": {
                VERIFICATION_ANNOTATION: "",
                "include.release.openshift.io/ibm-cloud-managed": "true",
                "include.release.openshift.io/self-managed-high-availability": "true",
                "include.release.openshift.io/single-node-developer": "true",
            },
        },
        "data": {
            format!("verifier-public-key-{name}"): keyring.armored(),
            format!("store-{name}"): store_url,
        },
    })
}

/// The verification ConfigMap as YAML, the form payload manifests have.
pub fn verification_config_map_yaml(name: &str, keyring: &Keyring, store_url: &str) -> String {
    serde_yaml_ng::to_string(&verification_config_map(name, keyring, store_url)).unwrap_or_default()
}

/// `sha256-<hex>`: the digest with `-` for `:`, as ConfigMap names and keys use it.
pub fn digest_key_prefix(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().name(), digest.hex())
}

/// The signature ConfigMap `oc adm release mirror --release-image-signature-to-dir` writes:
/// name `sha256-<hex>`, the signatures label, `binaryData` keys `sha256-<hex>-<n>` from 1.
pub fn signature_config_map(digest: &Digest, signatures: &[Vec<u8>]) -> Value {
    let prefix = digest_key_prefix(digest);
    let data: BTreeMap<String, String> = signatures
        .iter()
        .enumerate()
        .map(|(i, sig)| {
            (
                format!("{prefix}-{}", i + 1),
                base64::engine::general_purpose::STANDARD.encode(sig),
            )
        })
        .collect();
    json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": prefix,
            "namespace": NAMESPACE,
            "labels": { SIGNATURES_LABEL: "" },
        },
        "binaryData": data,
    })
}

/// The file name oc gives a signature ConfigMap: `signature-sha256-<first 16 hex>.json`.
pub fn signature_config_map_file(digest: &Digest) -> String {
    let hex = digest.hex();
    format!(
        "signature-{}-{}.json",
        digest.algorithm().name(),
        &hex[..hex.len().min(16)]
    )
}

/// Writes the signature ConfigMap of `digest` into `dir` as JSON and returns its path.
pub fn write_signature_config_map(
    dir: &std::path::Path,
    digest: &Digest,
    signatures: &[Vec<u8>],
) -> Result<std::path::PathBuf, crate::Error> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let path = dir.join(signature_config_map_file(digest));
    let mut text =
        serde_json::to_string_pretty(&signature_config_map(digest, signatures)).unwrap_or_default();
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| crate::Error::io(&path, e))?;
    Ok(path)
}
