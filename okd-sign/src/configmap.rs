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

/// Writes the signature ConfigMap of `digest` into `dir` as JSON, whole or not at all, and
/// returns its path.
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
    write_whole(&path, text.as_bytes())?;
    Ok(path)
}

/// The name oc-mirror gives the one ConfigMap holding every mirrored release's signatures.
pub const MIRRORED_SIGNATURES_NAME: &str = "mirrored-release-signatures";
/// The file oc-mirror writes that ConfigMap to, as JSON, in its cluster resources.
pub const MIRRORED_SIGNATURES_JSON: &str = "signature-configmap.json";
/// The same ConfigMap as YAML, next to it.
pub const MIRRORED_SIGNATURES_YAML: &str = "signature-configmap.yaml";

/// The ConfigMap oc-mirror writes after mirroring an image set: one object,
/// `mirrored-release-signatures` with the signatures label, holding every release's signatures
/// under `binaryData` keys `sha256-<hex>-<n>`, `n` counting from 1 across the whole ConfigMap as
/// oc-mirror numbers them. The cluster-version operator takes every key that starts with the
/// release's `sha256-<hex>-`, whatever its number. A release listed twice is kept once.
///
/// oc-mirror also writes `createdBy`, `createdAt` and version annotations; they are
/// informational and left out, so that one image set gives the same bytes every time. `None`
/// when no release has a signature: oc-mirror then writes no ConfigMap.
///
/// ```
/// use okd_oci::Digest;
/// let a = Digest::sha256_of(b"release a");
/// let b = Digest::sha256_of(b"release b");
/// let cm = okd_sign::configmap::mirrored_signatures_config_map(&[
///     (a.clone(), vec![b"sig".to_vec()]),
///     (b.clone(), vec![b"sig".to_vec(), b"another".to_vec()]),
/// ])
/// .unwrap();
/// let keys: Vec<&String> = cm["binaryData"].as_object().unwrap().keys().collect();
/// assert!(keys.contains(&&format!("sha256-{}-1", a.hex())));
/// assert!(keys.contains(&&format!("sha256-{}-3", b.hex())));
/// ```
pub fn mirrored_signatures_config_map(releases: &[(Digest, Vec<Vec<u8>>)]) -> Option<Value> {
    let mut data = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut n = 0;
    for (digest, signatures) in releases {
        if !seen.insert(digest) {
            continue;
        }
        for sig in signatures {
            n += 1;
            data.insert(
                format!("{}-{n}", digest_key_prefix(digest)),
                base64::engine::general_purpose::STANDARD.encode(sig),
            );
        }
    }
    (!data.is_empty()).then(|| {
        json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": MIRRORED_SIGNATURES_NAME,
                "namespace": NAMESPACE,
                "labels": { SIGNATURES_LABEL: "" },
            },
            "binaryData": data,
        })
    })
}

/// Writes [`mirrored_signatures_config_map`] into `dir` as [`MIRRORED_SIGNATURES_JSON`] and
/// [`MIRRORED_SIGNATURES_YAML`], each whole or not at all, and returns their paths (none when
/// no release has a signature).
pub fn write_mirrored_signatures(
    dir: &std::path::Path,
    releases: &[(Digest, Vec<Vec<u8>>)],
) -> Result<Vec<std::path::PathBuf>, crate::Error> {
    let Some(cm) = mirrored_signatures_config_map(releases) else {
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let json = serde_json::to_string(&cm).unwrap_or_default();
    let yaml = serde_yaml_ng::to_string(&cm).unwrap_or_default();
    let mut written = Vec::new();
    for (file, text) in [
        (MIRRORED_SIGNATURES_JSON, json),
        (MIRRORED_SIGNATURES_YAML, yaml),
    ] {
        let path = dir.join(file);
        write_whole(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Writes through a temporary file in the same directory and a rename.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> Result<(), crate::Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| crate::Error::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| crate::Error::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| crate::Error::io(path, e.error))?;
    Ok(())
}
