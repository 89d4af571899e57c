//! The release image written byte for byte as `oc adm release new` writes it where that depends
//! on its inputs' details: operator file times with nanoseconds (PAX records), which Go's tar
//! writer rounds and `oc` truncates for `newest`, and base images with OCI (gzip, zstd) layers,
//! whose descriptors `oc` keeps as they are in its Docker schema 2 manifest.

use crate::common::{Layer, base_layer, config_json};

use std::sync::Arc;

use bytes::Bytes;
use chrono::TimeZone;
use okd_oci::{
    Digest, ManifestRef, MemoryStore, RawManifest, Store, StoreExt, StoreMap, media_type,
};
use okd_release::{Release, ReleaseBuilder, annotations};

const REPO: &str = "okd/scos-content";
const NAME: &str = "4.19.0-okd-scos.1";

/// A header block as Go's writer fills it: each field's bytes written out by hand, the checksum
/// (sum of the bytes, its own field counted as spaces) computed here.
fn go_block(fields: &[(usize, &[u8])]) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    for (at, bytes) in fields {
        b[*at..*at + bytes.len()].copy_from_slice(bytes);
    }
    let sum: u32 = b
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(x)
            }
        })
        .sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

/// Go's USTAR header for `name` (under 100 bytes), owner 0:0, no user or group names.
fn go_header(name: &str, mode: &[u8], size: usize, mtime: &[u8], kind: u8) -> Vec<u8> {
    let size = format!("{size:011o}\0");
    go_block(&[
        (0, name.as_bytes()),
        (100, mode),
        (108, b"0000000\0"),
        (116, b"0000000\0"),
        (124, size.as_bytes()),
        (136, mtime),
        (156, &[kind]),
        (257, b"ustar\x0000"),
        (329, b"0000000\x000000000\0"),
    ])
}

const DOC_A: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n";
const DOC_B: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
const DOC_C: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n";

/// The operator's `manifests/`, each file with a PAX `mtime` record as buildah and containers'
/// storage write them, and a different time in the header's own field (Go reads the record).
fn manifests_with_pax_times(files: &[(&str, &str, &str)]) -> Layer {
    Layer::gzip_tar(|b| {
        for (name, pax_mtime, data) in files {
            b.append_pax_extensions([("mtime", pax_mtime.as_bytes())])
                .unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_mode(0o644);
            h.set_mtime(1);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, format!("manifests/{name}"), data.as_bytes())
                .unwrap();
        }
    })
}

fn plain_tar(gz: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut plain).unwrap();
    plain
}

#[tokio::test]
async fn operator_pax_mtimes_are_rounded_as_go_rounds_them() {
    let store = MemoryStore::new();
    let base = base_layer();
    let top = manifests_with_pax_times(&[
        ("0000_00_a.yaml", "1748000000.5", DOC_A),
        ("0000_00_b.yaml", "1748000000.499999999", DOC_B),
        ("0000_00_c.yaml", "1747999999.75", DOC_C),
    ]);
    let config = config_json(
        &[(annotations::RELEASE_OPERATOR, "true")],
        "amd64",
        &[&base.diff_id, &top.diff_id],
    );
    let cvo = crate::common::put_image(&store, REPO, None, config, &[&base, &top]).await;
    let store = Arc::new(store);
    let payload = ReleaseBuilder::new()
        .name(NAME)
        .created(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap())
        .component(
            "cluster-version-operator",
            &format!("quay.io/{REPO}@{}", cvo.digest()),
        )
        .assemble(&StoreMap::offline().with_fallback(store.clone()))
        .await
        .unwrap();
    // `newest` is the largest time truncated: 1747999999.75 < 1748000000.5, so 1748000000.
    assert_eq!(payload.newest, 1_748_000_000);
    let layer = payload.release_layer().unwrap();
    let plain = plain_tar(&layer.bytes);

    let mut archive = tar::Archive::new(&plain[..]);
    let mut headers = Vec::new();
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let at = e.raw_header_position() as usize;
        headers.push((e.path().unwrap().display().to_string(), at, e.size()));
    }
    let block = |i: usize| &plain[headers[i].1..headers[i].1 + 512];
    let names: Vec<&str> = headers.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "release-manifests",
            "release-manifests/image-references",
            "release-manifests/release-metadata",
            "release-manifests/0000_00_a.yaml",
            "release-manifests/0000_00_b.yaml",
            "release-manifests/0000_00_c.yaml",
        ]
    );
    // 1748000000 = 0o15014056400.
    assert_eq!(
        block(0),
        go_header("release-manifests", b"0000777\0", 0, b"15014056400\0", b'5')
    );
    // .5 rounds up, .499999999 down, .75 up: Go's `Time.Round(time.Second)`.
    let expected = [
        ("0000_00_a.yaml", DOC_A, b"15014056401\0"),
        ("0000_00_b.yaml", DOC_B, b"15014056400\0"),
        ("0000_00_c.yaml", DOC_C, b"15014056400\0"),
    ];
    for (i, (name, doc, mtime)) in expected.iter().enumerate() {
        let name = format!("release-manifests/{name}");
        assert_eq!(
            block(3 + i),
            go_header(&name, b"0000444\0", doc.len(), *mtime, b'0'),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_unparseable_pax_mtime_fails_the_build_naming_the_entry() {
    let store = MemoryStore::new();
    let top = manifests_with_pax_times(&[("0000_00_a.yaml", "1748000000.5x", DOC_A)]);
    let config = config_json(
        &[(annotations::RELEASE_OPERATOR, "true")],
        "amd64",
        &[&top.diff_id],
    );
    let cvo = crate::common::put_image(&store, REPO, None, config, &[&top]).await;
    let err = ReleaseBuilder::new()
        .name(NAME)
        .component(
            "cluster-version-operator",
            &format!("quay.io/{REPO}@{}", cvo.digest()),
        )
        .assemble(&StoreMap::offline().with_fallback(Arc::new(store)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, okd_release::Error::Layer { .. }), "{err:?}");
    assert!(
        text.contains("manifests/0000_00_a.yaml") && text.contains("1748000000.5x"),
        "{text}"
    );
}

/// A zstd layer made by the `zstd` tool, so that its bytes are what other tools write.
fn zstd_layer() -> Layer {
    let plain = Layer::gzip_tar(|b| {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_mtime(1_748_000_000);
        h.set_size(6);
        b.append_data(&mut h, "usr/share/zstd-file", &b"zstd!\n"[..])
            .unwrap();
    });
    let tar = plain_tar(&plain.bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.tar");
    std::fs::write(&path, &tar).unwrap();
    testkit::tools::require("zstd");
    let bytes = testkit::tools::run("zstd", &["-q", "-c", path.to_str().unwrap()]);
    Layer {
        digest: Digest::sha256_of(&bytes),
        diff_id: Digest::sha256_of(&tar),
        bytes,
    }
}

/// An OCI image manifest of `layers` (each with its media type), written to `repo` of `store`.
async fn put_oci_image(
    store: &dyn Store,
    repo: &str,
    config: Vec<u8>,
    layers: &[(&Layer, &str)],
) -> RawManifest {
    let config_digest = Digest::sha256_of(&config);
    let config_size = config.len();
    store
        .put_blob(repo, &config_digest, Bytes::from(config))
        .await
        .unwrap();
    for (l, _) in layers {
        store
            .put_blob(repo, &l.digest, Bytes::from(l.bytes.clone()))
            .await
            .unwrap();
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "size": config_size, "digest": config_digest.to_string()},
        "layers": layers.iter().map(|(l, t)| serde_json::json!({
            "mediaType": t, "size": l.bytes.len(), "digest": l.digest.to_string()
        })).collect::<Vec<_>>(),
    });
    let raw = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    store.write_manifest(repo, &raw, None).await.unwrap();
    raw
}

#[cfg(feature = "registry")]
#[tokio::test]
async fn oci_and_zstd_base_layers_keep_their_media_types_in_the_registry() {
    let registry = testkit::Registry::spawn().await.expect("docker-registry");
    let host = registry.host();
    let store = Arc::new(testkit::stores::plain_store(&registry));
    let lower = zstd_layer();
    let top = manifests_with_pax_times(&[("0000_00_a.yaml", "1748000000", DOC_A)]);
    let config = config_json(
        &[(annotations::RELEASE_OPERATOR, "true")],
        "amd64",
        &[&lower.diff_id, &top.diff_id],
    );
    let cvo = put_oci_image(
        store.as_ref(),
        REPO,
        config,
        &[
            (&lower, media_type::OCI_LAYER_ZSTD),
            (&top, media_type::OCI_LAYER_GZIP),
        ],
    )
    .await;
    let built = ReleaseBuilder::new()
        .name(NAME)
        .component(
            "cluster-version-operator",
            &format!("{host}/{REPO}@{}", cvo.digest()),
        )
        .build(
            &StoreMap::offline().with_fallback(store.clone()),
            store.as_ref(),
            "okd/scos-release",
            None,
        )
        .await
        .unwrap();

    // skopeo, reading what the registry serves, sees the base descriptors as the base has them.
    let url = format!("docker://{host}/okd/scos-release:{NAME}");
    let raw = testkit::tools::skopeo(&["inspect", "--raw", "--tls-verify=false", &url]);
    assert_eq!(Digest::sha256_of(&raw), built.digest);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["mediaType"], media_type::DOCKER_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], media_type::DOCKER_CONFIG);
    let layers: Vec<(&str, &str)> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["mediaType"].as_str().unwrap(),
                l["digest"].as_str().unwrap(),
            )
        })
        .collect();
    let (lower_digest, top_digest, release_digest) = (
        lower.digest.to_string(),
        top.digest.to_string(),
        built.layer_digest.to_string(),
    );
    assert_eq!(
        layers,
        [
            (media_type::OCI_LAYER_ZSTD, lower_digest.as_str()),
            (media_type::OCI_LAYER_GZIP, top_digest.as_str()),
            (media_type::DOCKER_LAYER_GZIP, release_digest.as_str()),
        ]
    );
    // The release reader takes it. containers/image does not take OCI layer types inside a
    // Docker schema 2 manifest, which is why the build says so.
    let warning = built
        .payload
        .warnings
        .iter()
        .find(|w| w.contains("containers/image"))
        .expect("a warning about the OCI layer types");
    assert!(
        warning.contains(media_type::OCI_LAYER_ZSTD)
            && warning.contains(media_type::OCI_LAYER_GZIP),
        "{warning}"
    );
    testkit::tools::require("skopeo");
    let parsed = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &url])
        .output()
        .unwrap();
    assert!(!parsed.status.success());
    let stderr = String::from_utf8_lossy(&parsed.stderr);
    assert!(
        stderr.contains("unsupported docker v2s2 media type"),
        "{stderr}"
    );
    let release = Release::load(
        store.as_ref(),
        "okd/scos-release",
        &ManifestRef::Tag(NAME.into()),
    )
    .await
    .unwrap();
    assert_eq!(release.name, NAME);
}
