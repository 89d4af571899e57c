//! Placement through the base's links, and parents that keep the base's mode and owner, for
//! layers from a directory, a file list and a tarball.

use okd_coreos::Error;
use okd_coreos::file_tree::{LayerListing, ListedEntry, NodeKind, open_layer};
use okd_coreos::layer_source::{FileListSource, LayerContext, LayerSource, TarballSource};
use okd_coreos::layering::{LayeredImage, LayeredOutput};
use okd_oci::layer::{Compression, LayerWriter};
use okd_oci::{MemoryStore, StoreExt};

use crate::coreos_base::{Item, tag, three_sources, write_coreos_base};

async fn layer_listing(store: &MemoryStore, repo: &str, out: &LayeredOutput) -> LayerListing {
    let digest = &out.layers.last().unwrap().digest;
    let blob = store.get_blob(repo, digest, 1 << 24).await.unwrap();
    let reader = open_layer(std::io::Cursor::new(blob.to_vec()), "layer").unwrap();
    LayerListing::read(reader, "layer").unwrap()
}

fn entry<'l>(listing: &'l LayerListing, path: &str) -> Option<&'l ListedEntry> {
    listing.entries.iter().find(|e| e.path == path)
}

async fn layer_on_base(
    source: Box<dyn LayerSource>,
) -> Result<(MemoryStore, LayeredOutput), Error> {
    let store = MemoryStore::new();
    write_coreos_base(&store, "fcos", "stable").await;
    let out = LayeredImage::new(&store, "fcos", &tag("stable"))
        .boxed_layer(source)
        .write_to(&store, "okd/node", Some("1"))
        .await?;
    Ok((store, out))
}

#[tokio::test]
async fn usr_local_is_placed_where_the_base_link_points() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File(
        "usr/local/bin/hello",
        b"#!/bin/sh\necho hi\n",
        0o755,
    )];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let (store, out) = layer_on_base(source).await.unwrap();
        let listing = layer_listing(&store, "okd/node", &out).await;
        let hello = entry(&listing, "var/usrlocal/bin/hello")
            .unwrap_or_else(|| panic!("{what}: {listing:?}"));
        assert_eq!(hello.node.mode, 0o755, "{what}");
        assert!(
            entry(&listing, "usr/local").is_none(),
            "{what}: the base's link is kept"
        );
        assert!(
            listing
                .entries
                .iter()
                .all(|e| !e.path.starts_with("usr/local")),
            "{what}"
        );
        assert!(
            out.moved
                .iter()
                .any(|m| m.from == "usr/local/bin/hello" && m.to == "var/usrlocal/bin/hello"),
            "{what}"
        );
        // /var content reaches new installs only: the node would not update it.
        assert!(
            out.lint
                .warnings()
                .any(|f| f.rule == "var-content" && f.path == "var/usrlocal/bin/hello"),
            "{what}: {:?}",
            out.lint
        );
    }
}

#[tokio::test]
async fn opt_and_home_follow_their_links() {
    let temp = tempfile::tempdir().unwrap();
    let items = [
        Item::File("opt/tool/run", b"x", 0o755),
        Item::File("home/core/.profile", b"y", 0o644),
    ];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let (store, out) = layer_on_base(source).await.unwrap();
        let listing = layer_listing(&store, "okd/node", &out).await;
        assert!(
            entry(&listing, "var/opt/tool/run").is_some(),
            "{what}: {listing:?}"
        );
        assert!(
            entry(&listing, "var/home/core/.profile").is_some(),
            "{what}"
        );
        assert!(
            entry(&listing, "opt").is_none() && entry(&listing, "home").is_none(),
            "{what}"
        );
    }
}

#[tokio::test]
async fn parents_keep_the_base_mode_and_owner() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("var/lib/okd/state.json", b"{}", 0o640)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let (store, out) = layer_on_base(source).await.unwrap();
        let listing = layer_listing(&store, "okd/node", &out).await;
        let dir = entry(&listing, "var/lib/okd").unwrap();
        assert_eq!(
            (dir.node.mode, dir.node.uid, dir.node.gid),
            (0o750, 990, 985),
            "{what}"
        );
        let var = entry(&listing, "var").unwrap();
        assert_eq!((var.node.mode, var.node.uid), (0o755, 0), "{what}");
    }
}

#[tokio::test]
async fn a_path_through_a_file_is_refused_with_the_reason() {
    let temp = tempfile::tempdir().unwrap();
    let items = [Item::File("etc/motd/extra", b"x", 0o644)];
    for source in three_sources(temp.path(), &items) {
        let what = source.describe();
        let err = layer_on_base(source).await.expect_err("must be refused");
        let msg = err.to_string();
        assert!(
            msg.contains("cannot be placed: /etc/motd is not a directory"),
            "{what}: {msg}"
        );
    }
}

#[tokio::test]
async fn a_link_of_the_layer_is_followed_by_later_entries() {
    let temp = tempfile::tempdir().unwrap();
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    w.add_dir("usr/lib/okd-4.19", 0o755).unwrap();
    w.add_symlink("usr/lib/okd-current", "okd-4.19").unwrap();
    w.add_file("usr/lib/okd-current/release", 0o644, b"4.19")
        .unwrap();
    let (bytes, _) = w.finish().unwrap();
    let path = temp.path().join("layer.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    let (store, out) = layer_on_base(Box::new(TarballSource::new(&path)))
        .await
        .unwrap();
    let listing = layer_listing(&store, "okd/node", &out).await;
    assert!(
        entry(&listing, "usr/lib/okd-4.19/release").is_some(),
        "{listing:?}"
    );
    assert_eq!(
        entry(&listing, "usr/lib/okd-current").unwrap().node.kind,
        NodeKind::Symlink("okd-4.19".into())
    );
}

#[tokio::test]
async fn a_layer_that_needs_no_change_keeps_its_digest() {
    let temp = tempfile::tempdir().unwrap();
    let files = FileListSource::new().bytes("usr/lib/okd/release", b"4.19\n".to_vec(), 0o644);
    let built = files.build(&LayerContext::new(temp.path())).await.unwrap();
    let (_, out) = layer_on_base(Box::new(files)).await.unwrap();
    assert_eq!(out.layers[0].digest, built.info().digest);
    assert!(
        out.moved.is_empty() && out.lint.findings.is_empty(),
        "{:?}",
        out.lint
    );
}
