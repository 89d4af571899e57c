//! Containerfile builds with Debian's buildah on a CoreOS-shaped base holding a static busybox
//! (Debian's busybox-static), so that `RUN` steps execute.

use okd_coreos::Error;
use okd_coreos::containerfile::{ContainerfileBuild, ImageBuilder};
use okd_coreos::inspect::{LayerRole, inspect};
use okd_coreos::labels;
use okd_oci::layer::{Compression, LayerWriter};
use okd_oci::{ManifestRef, MemoryStore, Store, StoreExt};

use crate::common::write_layers;
use crate::coreos_base::tag;

/// The CoreOS-shaped base plus a layer with `/usr/bin/busybox`, `sh` and `mkdir` links to it,
/// and `bin → usr/bin`; both are the base OS (`ostree.final-diffid` names the second).
pub async fn write_busybox_base(store: &dyn Store, repo: &str, t: &str) {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("a static busybox is required by this test (apt-get install busybox-static)");
    let data = std::fs::read(busybox).unwrap();
    let scratch = MemoryStore::new();
    crate::coreos_base::write_coreos_base(&scratch, "b", "b").await;
    let m = scratch.read_manifest("b", &tag("b")).await.unwrap();
    let info = inspect(&scratch, "b", &tag("b"), None).await.unwrap();
    let first = scratch
        .get_blob("b", &info.layers[0].digest, 1 << 24)
        .await
        .unwrap();
    drop(m);
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    w.add_symlink("bin", "usr/bin").unwrap();
    w.add_dir("usr", 0o755).unwrap();
    w.add_dir("usr/bin", 0o755).unwrap();
    w.add_file("usr/bin/busybox", 0o755, &data).unwrap();
    w.add_symlink("usr/bin/sh", "busybox").unwrap();
    w.add_symlink("usr/bin/mkdir", "busybox").unwrap();
    let (bytes, second) = w.finish().unwrap();
    let first_info = okd_oci::layer::LayerInfo {
        digest: info.layers[0].digest.clone(),
        size: info.layers[0].size,
        diff_id: info.layers[0].diff_id.clone(),
        media_type: info.layers[0].media_type.clone(),
    };
    write_layers(
        store,
        repo,
        t,
        vec![
            (first.to_vec(), first_info, None),
            (bytes, second, Some("busybox".into())),
        ],
        2,
        true,
        &[],
    )
    .await;
}

fn containerfile(dir: &std::path::Path, run: &str) -> ContainerfileBuild {
    std::fs::write(
        dir.join("Containerfile"),
        format!("ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN {run}\nLABEL io.okd-demo.built=true\n"),
    )
    .unwrap();
    ContainerfileBuild::new(dir.join("Containerfile"), dir)
        .storage_driver("vfs")
        .isolation("chroot")
}

#[tokio::test]
async fn buildah_runs_a_containerfile_on_the_base() {
    let temp = tempfile::tempdir().unwrap();
    ImageBuilder::Buildah
        .find()
        .unwrap_or_else(|e| panic!("this test needs buildah: {e}"));
    let store = MemoryStore::new();
    write_busybox_base(&store, "fcos", "stable").await;
    let build = containerfile(
        temp.path(),
        "mkdir -p /usr/lib/okd && echo built > /usr/lib/okd/release",
    );
    let out = build
        .build(
            &store,
            "fcos",
            &tag("stable"),
            &store,
            "okd/node",
            Some("built"),
        )
        .await
        .unwrap();
    let info = inspect(
        &store,
        "okd/node",
        &ManifestRef::Digest(out.digest.clone()),
        None,
    )
    .await
    .unwrap();
    assert!(info.ostree.bootable, "ostree.bootable is kept");
    assert_eq!(
        info.labels.get("io.okd-demo.built").map(String::as_str),
        Some("true")
    );
    assert!(info.labels.contains_key(labels::OSTREE_FINAL_DIFFID));
    let derived: Vec<_> = info
        .layers
        .iter()
        .filter(|l| l.role == LayerRole::Derived)
        .collect();
    assert_eq!(derived.len(), 1, "{:?}", info.layers);
    // The RUN step's file is in the added layer.
    let blob = store
        .get_blob("okd/node", &derived[0].digest, 1 << 24)
        .await
        .unwrap();
    let listing = okd_coreos::file_tree::LayerListing::read(
        okd_coreos::file_tree::open_layer(std::io::Cursor::new(blob.to_vec()), "l").unwrap(),
        "l",
    )
    .unwrap();
    assert!(
        listing
            .entries
            .iter()
            .any(|e| e.path == "usr/lib/okd/release"),
        "{listing:?}"
    );
    // buildah's empty /etc/hostname and /etc/resolv.conf are reported.
    assert!(
        out.lint.warnings().any(|f| f.rule == "buildah-injected"),
        "{:?}",
        out.lint
    );

    // A RUN step that writes where the node drops content is refused by the lint.
    let bad = containerfile(temp.path(), "mkdir -p /srv/www");
    let err = bad
        .build(
            &store,
            "fcos",
            &tag("stable"),
            &store,
            "okd/node",
            Some("bad"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LintRefused { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("error[outside-usr-etc-var] /srv/www"),
        "{err}"
    );
    assert!(store.read_manifest("okd/node", &tag("bad")).await.is_err());
}

#[test]
fn a_missing_builder_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let err = ImageBuilder::Buildah
        .find_on(empty.path().as_os_str())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`buildah` is needed to build a Containerfile and is not on PATH (install the `buildah` package)"
    );
    assert!(
        ImageBuilder::Buildah.find().is_ok(),
        "buildah is installed for these tests (apt-get install buildah)"
    );
}
