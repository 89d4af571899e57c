//! Hostile layering inputs: prebuilt tarballs whose entries would write outside the image root,
//! link out of it or create device nodes, and directories holding FIFOs. Each is refused with
//! an error naming the entry, and nothing is written to the destination.

use crate::common;

use std::io::Write;
use std::path::Path;

use common::write_base_os;
use okd_coreos::Error;
use okd_coreos::layer_source::{DirSource, TarballSource};
use okd_coreos::layering::LayeredImage;
use okd_oci::{ManifestRef, MemoryStore, Store};

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

/// A ustar header with a raw name and link target, bypassing the tar crate's own path checks.
fn header(name: &str, kind: tar::EntryType, link: &str, size: u64) -> tar::Header {
    testkit::images::raw_tar_header(name, kind, link, size, 0o644)
}

/// A tarball holding a harmless file, then `hostile`; gzip-compressed when `gzip`.
fn tarball(dir: &Path, name: &str, hostile: tar::Header, gzip: bool) -> std::path::PathBuf {
    let mut b = tar::Builder::new(Vec::new());
    b.append(
        &header("opt/okd/tool", tar::EntryType::Regular, "", 3),
        &b"ok\n"[..],
    )
    .unwrap();
    let data = vec![b'x'; hostile.size().unwrap() as usize];
    b.append(&hostile, &data[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let bytes = if gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    } else {
        tar
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn tarballs_escaping_the_root_or_holding_devices_are_refused() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "dotdot",
            header("../../etc/cron.d/okd", tar::EntryType::Regular, "", 4),
            "`..`",
        ),
        (
            "nested-dotdot",
            header(
                "usr/lib/../../../root/.ssh/authorized_keys",
                tar::EntryType::Regular,
                "",
                4,
            ),
            "`..`",
        ),
        (
            "absolute",
            header("/etc/shadow", tar::EntryType::Regular, "", 4),
            "absolute",
        ),
        (
            "hardlink-out",
            header(
                "usr/bin/passwd",
                tar::EntryType::Link,
                "../../etc/shadow",
                0,
            ),
            "hard link",
        ),
        (
            "hardlink-absolute",
            header("usr/bin/passwd", tar::EntryType::Link, "/etc/shadow", 0),
            "hard link",
        ),
        (
            "symlink-out",
            header(
                "usr/lib/escape",
                tar::EntryType::Symlink,
                "../../../../etc",
                0,
            ),
            "out of the image root",
        ),
        (
            "char-device",
            header("dev/mem", tar::EntryType::Char, "", 0),
            "character device",
        ),
        (
            "block-device",
            header("dev/sda", tar::EntryType::Block, "", 0),
            "block device",
        ),
        (
            "fifo",
            header("run/okd.pipe", tar::EntryType::Fifo, "", 0),
            "FIFO",
        ),
    ];
    for (name, hostile, reason) in cases {
        let entry = String::from_utf8_lossy(&hostile.path_bytes()).into_owned();
        for gzip in [false, true] {
            let path = tarball(
                dir.path(),
                &format!("{name}-{gzip}.tar"),
                hostile.clone(),
                gzip,
            );
            let err = LayeredImage::new(&store, "os", &tag("base"))
                .layer(TarballSource::new(&path))
                .write_to(&store, "os", Some(name))
                .await
                .unwrap_err();
            match &err {
                Error::Oci(okd_oci::Error::UnsafeTarEntry {
                    archive,
                    entry: e,
                    reason: r,
                }) => {
                    assert_eq!(archive, &path);
                    assert_eq!(e, &entry, "{err}");
                    assert!(r.contains(reason), "{name}: {err}");
                }
                other => panic!("{name} (gzip {gzip}): expected UnsafeTarEntry, got {other:?}"),
            }
        }
    }
    assert_eq!(
        store.list_tags("os").await.unwrap(),
        ["base"],
        "nothing was tagged"
    );
}

#[tokio::test]
async fn links_that_stay_inside_the_image_are_kept() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    // A relative link within the tree, an absolute one (resolved inside the image by whoever
    // unpacks it) and a hard link to an earlier entry.
    let mut b = tar::Builder::new(Vec::new());
    b.append(
        &header("usr/lib/okd/tool", tar::EntryType::Regular, "", 3),
        &b"ok\n"[..],
    )
    .unwrap();
    for h in [
        header(
            "usr/bin/tool",
            tar::EntryType::Symlink,
            "../lib/okd/tool",
            0,
        ),
        header(
            "etc/localtime",
            tar::EntryType::Symlink,
            "/usr/share/zoneinfo/UTC",
            0,
        ),
        header("usr/bin/tool2", tar::EntryType::Link, "usr/lib/okd/tool", 0),
    ] {
        b.append(&h, &[][..]).unwrap();
    }
    let path = dir.path().join("ok.tar");
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    LayeredImage::new(&store, "os", &tag("base"))
        .layer(TarballSource::new(&path))
        .write_to(&store, "os", Some("linked"))
        .await
        .unwrap();
    assert_eq!(store.list_tags("os").await.unwrap(), ["base", "linked"]);
}

#[tokio::test]
async fn a_tarball_that_is_not_a_tar_is_refused() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&[0x55; 700]).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .layer(TarballSource::new(&path))
        .write_to(&store, "os", Some("t"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Oci(okd_oci::Error::Layer { what, .. }) if what.contains("random.tar.gz")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_directory_holding_a_fifo_is_refused() {
    let store = MemoryStore::new();
    write_base_os(&store, "os", "base").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    let pipe = dir.path().join("run/okd.pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo (coreutils) is needed for this test");
    assert!(status.success());
    let err = LayeredImage::new(&store, "os", &tag("base"))
        .layer(DirSource::new(dir.path()))
        .write_to(&store, "os", Some("t"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("okd.pipe"), "{err}");
    assert!(err.to_string().contains("fifo"), "{err}");
    assert_eq!(store.list_tags("os").await.unwrap(), ["base"]);
}
