//! Each lint rule on layers from a directory, a file list and a tarball, against a base with
//! CoreOS's links.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use okd_coreos::Error;
use okd_coreos::file_tree::{FileTree, LayerListing, ListedEntry, Node};
use okd_coreos::layer_source::{LayerSource, TarballSource};
use okd_coreos::layering::{LayeredImage, LayeredOutput};
use okd_coreos::lint::{Severity, lint_layer, parse_kargs};
use okd_oci::MemoryStore;
use okd_oci::layer::{Compression, EntryMeta, LayerWriter};

use crate::coreos_base::{Item, tag, three_sources, write_coreos_base, write_transient_base};

async fn layer(source: Box<dyn LayerSource>, transient: bool) -> Result<LayeredOutput, Error> {
    let store = MemoryStore::new();
    if transient {
        write_transient_base(&store, "fcos", "stable").await;
    } else {
        write_coreos_base(&store, "fcos", "stable").await;
    }
    LayeredImage::new(&store, "fcos", &tag("stable"))
        .boxed_layer(source)
        .write_to(&store, "okd/node", Some("1"))
        .await
}

/// Every source of `items` is refused with rule `rule` on `path`.
async fn refused(items: &[Item<'_>], rule: &str, path: &str) {
    let temp = tempfile::tempdir().unwrap();
    for source in three_sources(temp.path(), items) {
        let what = source.describe();
        match layer(source, false).await {
            Err(Error::LintRefused { findings, .. }) => assert!(
                findings.contains(&format!("error[{rule}] /{path}:")),
                "{what}: {findings}"
            ),
            other => panic!("{what}: expected a lint refusal, got {other:?}"),
        }
    }
}

/// Every source of `items` is accepted with a warning of `rule` on `path`.
async fn warned(items: &[Item<'_>], rule: &str, path: &str, transient: bool) {
    let temp = tempfile::tempdir().unwrap();
    for source in three_sources(temp.path(), items) {
        let what = source.describe();
        let out = layer(source, transient)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.lint
                .findings
                .iter()
                .any(|f| f.rule == rule && f.path == path && f.severity == Severity::Warning),
            "{what}: {:?}",
            out.lint
        );
        assert!(!out.lint.has_errors());
    }
}

#[tokio::test]
async fn usr_etc_is_refused() {
    refused(
        &[Item::File("usr/etc/okd.conf", b"x", 0o644)],
        "etc-usretc",
        "usr/etc/okd.conf",
    )
    .await;
}

#[tokio::test]
async fn a_second_kernel_is_refused() {
    refused(
        &[Item::File("usr/lib/modules/6.15.0/vmlinuz", b"k2", 0o644)],
        "kernel",
        "usr/lib/modules/6.15.0/vmlinuz",
    )
    .await;
}

#[tokio::test]
async fn content_in_boot_is_a_warning() {
    warned(
        &[Item::File("boot/grub2/extra.cfg", b"x", 0o644)],
        "nonempty-boot",
        "boot/grub2/extra.cfg",
        false,
    )
    .await;
}

#[tokio::test]
async fn kargs_files_must_parse() {
    refused(
        &[Item::File(
            "usr/lib/bootc/kargs.d/10-okd.toml",
            b"kargs = \"not a list\"\n",
            0o644,
        )],
        "bootc-kargs",
        "usr/lib/bootc/kargs.d/10-okd.toml",
    )
    .await;
    let temp = tempfile::tempdir().unwrap();
    let good = [Item::File(
        "usr/lib/bootc/kargs.d/10-okd.toml",
        b"kargs = [\"mitigations=auto\"]\nmatch-architectures = [\"x86_64\"]\n",
        0o644,
    )];
    for source in three_sources(temp.path(), &good) {
        let out = layer(source, false).await.unwrap();
        assert!(out.lint.findings.is_empty(), "{:?}", out.lint);
    }
    assert_eq!(
        parse_kargs(b"kargs = [\"a=b\", \"c\"]").unwrap(),
        ["a=b", "c"]
    );
    assert!(parse_kargs(b"kargs = [\"a\"]\nextra = 1\n").is_err());
}

#[tokio::test]
async fn content_outside_usr_etc_var_is_refused() {
    refused(
        &[Item::File("srv/www/index.html", b"x", 0o644)],
        "outside-usr-etc-var",
        "srv/www/index.html",
    )
    .await;
}

#[tokio::test]
async fn content_outside_usr_etc_var_is_a_warning_on_a_transient_root() {
    warned(
        &[Item::File("srv/www/index.html", b"x", 0o644)],
        "outside-usr-etc-var",
        "srv/www/index.html",
        true,
    )
    .await;
}

#[tokio::test]
async fn runtime_directories_are_refused() {
    refused(
        &[Item::File("tmp/build.log", b"x", 0o644)],
        "runtime-dirs",
        "tmp/build.log",
    )
    .await;
    refused(
        &[Item::File("run/okd.pid", b"1", 0o644)],
        "runtime-dirs",
        "run/okd.pid",
    )
    .await;
    // Through the base's var/run → ../run link.
    refused(
        &[Item::File("var/run/okd.pid", b"1", 0o644)],
        "runtime-dirs",
        "run/okd.pid",
    )
    .await;
}

#[tokio::test]
async fn var_content_is_a_warning() {
    warned(
        &[Item::File("var/lib/okd/seed", b"x", 0o644)],
        "var-content",
        "var/lib/okd/seed",
        false,
    )
    .await;
}

#[tokio::test]
async fn hand_written_whiteouts_are_refused() {
    refused(
        &[Item::File("usr/lib/.wh.foo", b"", 0o644)],
        "whiteout",
        "usr/lib/.wh.foo",
    )
    .await;
}

fn tarball(
    temp: &std::path::Path,
    build: impl FnOnce(&mut LayerWriter<Vec<u8>>),
) -> Box<dyn LayerSource> {
    let mut w = LayerWriter::new(Vec::new(), Compression::None);
    build(&mut w);
    let (bytes, _) = w.finish().unwrap();
    let path = temp.join(format!("{}.tar", rand_name()));
    std::fs::write(&path, bytes).unwrap();
    Box::new(TarballSource::new(path))
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("t{}", N.fetch_add(1, Ordering::Relaxed))
}

#[tokio::test]
async fn hard_links_must_name_a_file_of_the_layer() {
    // Only a tarball holds hard links: a directory's are read as separate files and a file
    // list has none.
    let temp = tempfile::tempdir().unwrap();
    let meta = EntryMeta::default();
    let to_base = tarball(temp.path(), |w| {
        w.add_hardlink("usr/bin/sh", "usr/bin/bash", &meta).unwrap()
    });
    match layer(to_base, false).await {
        Err(Error::LintRefused { findings, .. }) => assert!(
            findings.contains("error[hardlink] /usr/bin/sh:"),
            "{findings}"
        ),
        other => panic!("{other:?}"),
    }
    let within = tarball(temp.path(), |w| {
        w.add_file("usr/bin/okd", 0o755, b"bin").unwrap();
        w.add_hardlink("usr/bin/okd-admin", "usr/bin/okd", &meta)
            .unwrap();
    });
    let out = layer(within, false).await.unwrap();
    assert!(out.lint.findings.is_empty(), "{:?}", out.lint);
}

#[tokio::test]
async fn non_utf8_names_are_refused() {
    // A file list takes UTF-8 paths only and a directory source refuses such names itself, so
    // the tarball is the source that can carry one.
    let temp = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    {
        let mut b = tar::Builder::new(&mut bytes);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, OsStr::from_bytes(b"usr/lib/caf\xe9"), &b"x"[..])
            .unwrap();
        b.finish().unwrap();
    }
    let path = temp.path().join("latin1.tar");
    std::fs::write(&path, &bytes).unwrap();
    match layer(Box::new(TarballSource::new(&path)), false).await {
        Err(Error::LintRefused { findings, .. }) => {
            assert!(findings.contains("error[utf8]"), "{findings}")
        }
        other => panic!("{other:?}"),
    }
    let dir = temp.path().join("tree/usr/lib");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"caf\xe9")), b"x").unwrap();
    let err = layer(
        Box::new(okd_coreos::layer_source::DirSource::new(
            temp.path().join("tree"),
        )),
        false,
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn var_run_must_stay_a_link() {
    // On a base without the link (CoreOS has it, and a layer's var/run then lands in /run).
    let layer = LayerListing {
        entries: vec![ListedEntry {
            path: "var/run".into(),
            utf8: true,
            node: Node::dir(0o755),
            size: 0,
            xattrs: Default::default(),
        }],
        files: Default::default(),
    };
    let report = lint_layer(&layer, &FileTree::new());
    assert!(report.errors().any(|f| f.rule == "var-run"), "{report:?}");
}

#[tokio::test]
async fn an_image_built_elsewhere_is_linted_layer_by_layer() {
    use okd_coreos::image_lint::{BaseOf, lint_image};
    use okd_coreos::tree_cache::TreeCache;

    let store = MemoryStore::new();
    let base = write_coreos_base(&store, "fcos", "stable").await;
    // The base's layer, then two added by another builder: one dropped by the node, one in /var.
    let mut layers = Vec::new();
    let blob = okd_oci::StoreExt::get_blob(&store, "fcos", &base.layers[0].digest, 1 << 24)
        .await
        .unwrap();
    layers.push((blob.to_vec(), base.layers[0].clone(), None));
    for path in ["srv/data", "var/lib/okd/seed"] {
        let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
        w.add_file(path, 0o644, b"x").unwrap();
        let (bytes, info) = w.finish().unwrap();
        layers.push((bytes, info, None));
    }
    crate::common::write_layers(&store, "fcos", "built", layers, 1, true, &[]).await;
    let cache = TreeCache::new();
    let found = lint_image(&store, "fcos", &tag("built"), None, BaseOf::Labels, &cache)
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        found[0]
            .report
            .errors()
            .any(|f| f.rule == "outside-usr-etc-var" && f.path == "srv/data")
    );
    assert!(found[1].report.warnings().any(|f| f.rule == "var-content"));
    assert!(!found[1].report.has_errors());
    let against = lint_image(
        &store,
        "fcos",
        &tag("built"),
        None,
        BaseOf::Image(&store, "fcos", &tag("stable")),
        &cache,
    )
    .await
    .unwrap();
    assert_eq!(against.len(), 2);
    assert_eq!(against[0].report, found[0].report);
    // An image not built on the base named is refused.
    let other = MemoryStore::new();
    crate::common::write_base_os(&other, "os", "base").await;
    let err = lint_image(
        &store,
        "fcos",
        &tag("built"),
        None,
        BaseOf::Image(&other, "os", &tag("base")),
        &cache,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not built on"), "{err}");
}
