//! A base OS whose tree has what matters to placement and linting on a real CoreOS node: the
//! links `usr/local → ../var/usrlocal`, `opt → var/opt`, `home → var/home`, `var/run → ../run`,
//! one kernel, passwd and group files in `/usr/lib`, and a directory owned by a system user; and
//! the three ways of giving a layer (directory, file list, tarball) the same content.
#![allow(dead_code)]

use std::path::Path;

use okd_coreos::layer_source::{DirSource, FileListSource, LayerSource, TarballSource};
use okd_oci::layer::{Compression, EntryMeta, LayerWriter};
use okd_oci::{ManifestRef, Store};

use crate::common::{BuiltImage, write_layers};

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/var/home/core:/bin/bash\nokd:x:990:985::/var/lib/okd:/sbin/nologin\n";
pub const GROUP: &str = "root:x:0:\nwheel:x:10:core\nokd:x:985:\n";

fn commit_layer(transient_root: bool) -> (Vec<u8>, okd_oci::layer::LayerInfo) {
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    for d in [
        "boot",
        "dev",
        "etc",
        "proc",
        "run",
        "sys",
        "sysroot",
        "sysroot/ostree",
        "usr",
        "usr/bin",
        "usr/lib",
        "usr/lib/modules",
        "usr/lib/modules/6.14.0",
        "usr/lib/ostree",
        "var",
        "var/home",
        "var/lib",
        "var/opt",
        "var/usrlocal",
        "var/usrlocal/bin",
    ] {
        w.add_dir(d, 0o755).unwrap();
    }
    w.add_dir("tmp", 0o1777).unwrap();
    let okd = EntryMeta {
        uid: 990,
        gid: 985,
        ..EntryMeta::default()
    };
    w.add_dir_with("var/lib/okd", 0o750, &okd).unwrap();
    w.add_symlink("usr/local", "../var/usrlocal").unwrap();
    w.add_symlink("opt", "var/opt").unwrap();
    w.add_symlink("home", "var/home").unwrap();
    w.add_symlink("var/run", "../run").unwrap();
    w.add_symlink("ostree", "sysroot/ostree").unwrap();
    w.add_file("usr/lib/modules/6.14.0/vmlinuz", 0o644, b"kernel")
        .unwrap();
    w.add_file("usr/bin/bash", 0o755, b"bash").unwrap();
    w.add_file("usr/lib/passwd", 0o644, PASSWD.as_bytes())
        .unwrap();
    w.add_file("usr/lib/group", 0o644, GROUP.as_bytes())
        .unwrap();
    w.add_file("etc/motd", 0o644, b"CoreOS\n").unwrap();
    let conf: &[u8] = if transient_root {
        b"[composefs]\nenabled = yes\n[root]\ntransient = true\n"
    } else {
        b"[composefs]\nenabled = yes\n"
    };
    w.add_file("usr/lib/ostree/prepare-root.conf", 0o644, conf)
        .unwrap();
    w.finish().unwrap()
}

/// Writes the CoreOS-shaped base into `repo:tag` of `store`.
pub async fn write_coreos_base(store: &dyn Store, repo: &str, tag: &str) -> BuiltImage {
    write_base(store, repo, tag, false).await
}

/// The same base, with `[root] transient = true` in its prepare-root.conf.
pub async fn write_transient_base(store: &dyn Store, repo: &str, tag: &str) -> BuiltImage {
    write_base(store, repo, tag, true).await
}

/// The unit the chunked base ships, in its `chrony` chunk.
pub const CHRONYD_UNIT: &str = "[Unit]\nDescription=NTP client/server\n[Service]\nExecStart=/usr/sbin/chronyd\n[Install]\nWantedBy=multi-user.target\n";

/// The CoreOS-shaped base with a second layer, a chunk annotated `ostree.components: chrony`
/// holding `usr/sbin/chronyd` and `usr/lib/systemd/system/chronyd.service`, as rpm-ostree
/// splits a base into chunks by package.
pub async fn write_chunked_coreos_base(store: &dyn Store, repo: &str, tag: &str) -> BuiltImage {
    let (bytes, info) = commit_layer(false);
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    for d in [
        "usr",
        "usr/lib",
        "usr/lib/systemd",
        "usr/lib/systemd/system",
        "usr/sbin",
    ] {
        w.add_dir(d, 0o755).unwrap();
    }
    w.add_file("usr/sbin/chronyd", 0o755, b"chronyd").unwrap();
    w.add_file(
        "usr/lib/systemd/system/chronyd.service",
        0o644,
        CHRONYD_UNIT.as_bytes(),
    )
    .unwrap();
    let (chunk, chunk_info) = w.finish().unwrap();
    write_layers(
        store,
        repo,
        tag,
        vec![
            (bytes, info, None),
            (chunk, chunk_info, Some("chrony".to_string())),
        ],
        2,
        true,
        &[],
    )
    .await
}

async fn write_base(store: &dyn Store, repo: &str, tag: &str, transient: bool) -> BuiltImage {
    let (bytes, info) = commit_layer(transient);
    write_layers(store, repo, tag, vec![(bytes, info, None)], 1, true, &[]).await
}

pub fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

/// What a test layer holds, given to each kind of source.
pub enum Item<'a> {
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
}

/// The three sources of the same items: a directory under `temp`, a file list, a tarball.
pub fn three_sources(temp: &Path, items: &[Item<'_>]) -> Vec<Box<dyn LayerSource>> {
    let dir = temp.join("tree");
    let mut list = FileListSource::new();
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    let mut dirs = std::collections::BTreeSet::new();
    for item in items {
        let path = match item {
            Item::File(p, _, _) | Item::Symlink(p, _) => *p,
        };
        let mut parent = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            if dirs.insert(parent.clone()) {
                w.add_dir(&parent, 0o755).unwrap();
            }
        }
        let on_disk = dir.join(path);
        std::fs::create_dir_all(on_disk.parent().unwrap()).unwrap();
        match item {
            Item::File(p, data, mode) => {
                std::fs::write(&on_disk, data).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&on_disk, std::fs::Permissions::from_mode(*mode)).unwrap();
                list = list.bytes(p, data.to_vec(), *mode);
                w.add_file(p, *mode, data).unwrap();
            }
            Item::Symlink(p, target) => {
                std::os::unix::fs::symlink(target, &on_disk).unwrap();
                list = list.symlink(p, target);
                w.add_symlink(p, target).unwrap();
            }
        }
    }
    let (bytes, _) = w.finish().unwrap();
    let tarball = temp.join("layer.tar.gz");
    std::fs::write(&tarball, bytes).unwrap();
    vec![
        Box::new(DirSource::new(dir)),
        Box::new(list),
        Box::new(TarballSource::new(tarball)),
    ]
}
