//! `skopeo` and `umoci` as independent readers and writers of what `RegistryStore` moves.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use okd_oci::{Digest, ManifestRef, Store, StoreExt};
use registry_support::{Flavor, image, index, push, store};
use testkit::Registry;
use testkit::tools::run;

#[tokio::test]
async fn skopeo_reads_exactly_the_bytes_we_pushed() {
    let registry = Registry::spawn().await.expect("registry");
    let store = store(&registry);
    let docker = image(Flavor::Docker, 41, 3);
    let oci = image(Flavor::Oci, 42, 2);
    push(&store, "okd/interop", &docker, Some("docker")).await;
    push(&store, "okd/interop", &oci, Some("oci")).await;
    let list = index(Flavor::Oci, &[&oci.manifest]);
    store
        .write_manifest("okd/interop", &list, Some("index"))
        .await
        .expect("index");

    for (tag, ours) in [
        ("docker", &docker.manifest),
        ("oci", &oci.manifest),
        ("index", &list),
    ] {
        let out = run(
            "skopeo",
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{}/okd/interop:{tag}", registry.host()),
            ],
        );
        assert_eq!(
            out,
            ours.bytes().as_ref(),
            "skopeo saw other bytes for {tag}"
        );
        assert_eq!(&Digest::sha256_of(&out), ours.digest());
    }
}

#[tokio::test]
async fn what_skopeo_copies_in_we_read() {
    let registry = Registry::spawn().await.expect("registry");
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let layout = layout.to_str().expect("utf-8 path");
    // An image written by umoci, with one real layer from a directory tree.
    run("umoci", &["init", "--layout", layout]);
    run("umoci", &["new", "--image", &format!("{layout}:base")]);
    let bundle = work.path().join("bundle");
    let bundle = bundle.to_str().expect("utf-8 path");
    run(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{layout}:base"),
            bundle,
        ],
    );
    std::fs::create_dir_all(work.path().join("bundle/rootfs/etc")).expect("mkdir");
    std::fs::write(
        work.path().join("bundle/rootfs/etc/okd-release"),
        "4.19.0-okd-scos.1\n",
    )
    .expect("write file");
    run(
        "umoci",
        &["repack", "--image", &format!("{layout}:layered"), bundle],
    );
    let dest = format!("docker://{}/okd/from-skopeo:4.19", registry.host());
    run(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{layout}:layered"),
            &dest,
        ],
    );
    let raw = run("skopeo", &["inspect", "--raw", "--tls-verify=false", &dest]);

    let store = store(&registry);
    let manifest = store
        .read_manifest("okd/from-skopeo", &ManifestRef::Tag("4.19".into()))
        .await
        .expect("read what skopeo pushed");
    assert_eq!(manifest.bytes().as_ref(), raw.as_slice());
    let refs = manifest.references().expect("references");
    assert!(refs.len() >= 2, "config and at least one layer: {refs:?}");
    for r in &refs {
        let data = store
            .get_blob("okd/from-skopeo", &r.digest, 64 << 20)
            .await
            .expect("blob verifies");
        assert_eq!(data.len() as u64, r.size);
    }
    assert_eq!(
        store
            .manifest_digest("okd/from-skopeo", &ManifestRef::Tag("4.19".into()))
            .await
            .expect("HEAD"),
        Some(Digest::sha256_of(&raw))
    );
}
