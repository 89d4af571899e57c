//! Hostile operator images given to `ReleaseBuilder` (what `oc adm release new` extracts from
//! each operator's `manifests/`): links, hard links, devices, FIFOs and climbing paths are never
//! taken as manifests, and absurd or endless content ends in a typed error before the release is
//! written.

use crate::common;

use chrono::TimeZone;
use common::*;
use std::sync::Arc;

use okd_oci::{Digest, ManifestRef, MemoryStore, Store, StoreMap};
use okd_release::inspect::InspectOptions;
use okd_release::{Error, Release, ReleaseBuilder, annotations};

const CONTENT: &str = "okd/scos-content";
const RELEASE: &str = "okd/scos-release";
const NAME: &str = "4.19.0-okd-scos.7";
const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\n";

/// An operator image whose top layer is `top`; returns its pullspec by digest.
async fn operator(store: &MemoryStore, tag: &str, top: &Layer) -> String {
    let base = base_layer();
    let config = config_json(
        &[(annotations::RELEASE_OPERATOR, "true")],
        "amd64",
        &[&base.diff_id, &top.diff_id],
    );
    let m = put_image(store, CONTENT, Some(tag), config, &[&base, top]).await;
    format!("quay.io/{CONTENT}@{}", m.digest())
}

fn builder(cvo: &str, hostile: &str) -> ReleaseBuilder {
    ReleaseBuilder::new()
        .name(NAME)
        .created(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap())
        .component("cluster-version-operator", cvo)
        .component("hostile-operator", hostile)
}

async fn cvo(store: &MemoryStore) -> String {
    let top = Layer::gzip_tar(|b| {
        let h = Layer::raw_header(
            "manifests/0000_00_cvo_namespace.yaml",
            tar::EntryType::Regular,
            NAMESPACE.len() as u64,
        );
        b.append(&h, NAMESPACE.as_bytes()).unwrap();
    });
    operator(store, "cluster-version-operator", &top).await
}

#[tokio::test]
async fn only_regular_files_directly_in_manifests_are_taken() {
    let store = Arc::new(MemoryStore::new());
    let cvo = cvo(&store).await;
    let top = Layer::gzip_tar(|b| {
        let h = Layer::raw_header("manifests/", tar::EntryType::Directory, 0);
        b.append(&h, &[][..]).unwrap();
        let h = Layer::raw_header(
            "manifests/deployment.yaml",
            tar::EntryType::Regular,
            DEPLOYMENT.len() as u64,
        );
        b.append(&h, DEPLOYMENT.as_bytes()).unwrap();
        for h in [
            Layer::link_header(
                "manifests/shadow.yaml",
                tar::EntryType::Symlink,
                "/etc/shadow",
            ),
            Layer::link_header(
                "manifests/up.yaml",
                tar::EntryType::Symlink,
                "../../../etc/passwd",
            ),
            Layer::link_header("manifests/hard.yaml", tar::EntryType::Link, "../etc/shadow"),
            Layer::link_header(
                "manifests/again.yaml",
                tar::EntryType::Link,
                "manifests/deployment.yaml",
            ),
            Layer::raw_header("manifests/tty.yaml", tar::EntryType::Char, 0),
            Layer::raw_header("manifests/disk.yaml", tar::EntryType::Block, 0),
            Layer::raw_header("manifests/pipe.yaml", tar::EntryType::Fifo, 0),
        ] {
            b.append(&h, &[][..]).unwrap();
        }
        for name in [
            "manifests/../../etc/cron.d/evil.yaml",
            "manifests/sub/../../evil.yaml",
            "/etc/evil.yaml",
            "manifests/..",
        ] {
            let h = Layer::raw_header(name, tar::EntryType::Regular, 10);
            b.append(&h, &b"kind: Evil"[..]).unwrap();
        }
    });
    let hostile = operator(&store, "hostile-operator", &top).await;
    let built = builder(&cvo, &hostile)
        .build(
            &StoreMap::offline().with_fallback(store.clone()),
            store.as_ref(),
            RELEASE,
            None,
        )
        .await
        .unwrap();
    let release = Release::load(store.as_ref(), RELEASE, &ManifestRef::Tag(NAME.into()))
        .await
        .unwrap();
    assert_eq!(release.digest, built.digest);
    let names: Vec<&str> = release.manifests.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0000_00_cvo_namespace.yaml",
            "0000_50_hostile-operator_deployment.yaml"
        ]
    );
    assert!(release.other_files.is_empty(), "{:?}", release.other_files);
    let deployment = &release.manifests[1];
    assert_eq!(deployment.digest, Digest::sha256_of(DEPLOYMENT.as_bytes()));
}

async fn assemble_error(top: &Layer, options: InspectOptions) -> Error {
    let store = Arc::new(MemoryStore::new());
    let cvo = cvo(&store).await;
    let hostile = operator(&store, "hostile-operator", top).await;
    let err = builder(&cvo, &hostile)
        .inspect_options(options)
        .build(
            &StoreMap::offline().with_fallback(store.clone()),
            store.as_ref(),
            RELEASE,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        store.list_tags(RELEASE).await.unwrap().is_empty(),
        "nothing is tagged after {err}"
    );
    err
}

#[tokio::test]
async fn announced_sizes_are_bounded() {
    // A small manifest, then one whose header announces 2^62 bytes.
    let top = Layer::gzip_tar(|b| {
        let h = Layer::raw_header("manifests/a.yaml", tar::EntryType::Regular, 8);
        b.append(&h, &b"kind: A\n"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_path("manifests/huge.yaml").unwrap();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(1 << 62);
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
    });
    let err = assemble_error(&top, InspectOptions::default()).await;
    assert!(
        matches!(&err, Error::TooLarge { what, size, .. }
            if what.contains("manifests/huge.yaml") && *size == 1 << 62),
        "{err:?}"
    );

    // Many files each under the per-file limit, together over the per-operator one.
    let top = Layer::gzip_tar(|b| {
        for i in 0..4 {
            let h = Layer::raw_header(
                &format!("manifests/{i}.yaml"),
                tar::EntryType::Regular,
                1000,
            );
            b.append(&h, &[b'#'; 1000][..]).unwrap();
        }
    });
    let options = InspectOptions {
        max_manifests_size: 2500,
        ..InspectOptions::default()
    };
    let err = assemble_error(&top, options).await;
    assert!(
        matches!(&err, Error::TooLarge { limit: 2500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_gzip_bomb_in_an_operator_layer_is_refused() {
    // A file outside manifests/ announcing 4 GiB, followed by zeros: skipping it means reading
    // it, and the unpacked bound stops that.
    let mut filler = Layer::raw_header("usr/share/filler", tar::EntryType::Regular, 0);
    filler.set_size(4 << 30);
    filler.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, filler.as_bytes()).unwrap();
    std::io::Write::write_all(&mut gz, &vec![0u8; 64 << 20]).unwrap();
    let bytes = gz.finish().unwrap();
    let top = Layer {
        digest: Digest::sha256_of(&bytes),
        diff_id: Digest::sha256_of(b"not checked"),
        bytes,
    };
    let options = InspectOptions {
        max_unpacked_size: 16 << 20,
        ..InspectOptions::default()
    };
    let err = assemble_error(&top, options).await;
    assert!(
        matches!(&err, Error::TooLarge { what, limit, .. }
            if what.contains("uncompressed") && *limit == 16 << 20),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deeply_nested_operator_manifest_is_refused_quickly() {
    let doc = format!("{{\"kind\":{}", "[".repeat(100_000));
    let top = Layer::gzip_tar(|b| {
        let h = Layer::raw_header(
            "manifests/deep.json",
            tar::EntryType::Regular,
            doc.len() as u64,
        );
        b.append(&h, doc.as_bytes()).unwrap();
    });
    let err = assemble_error(&top, InspectOptions::default()).await;
    assert!(
        matches!(&err, Error::InvalidManifest { file, reason }
            if file == "hostile-operator/deep.json" && reason.contains("nested deeper than 128")),
        "{err:?}"
    );
}
