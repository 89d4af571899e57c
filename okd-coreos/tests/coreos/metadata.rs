//! File metadata of added layers: file capabilities kept as PAX xattrs (read back by Python's
//! tarfile), owners by number or by the base's names, canonical modes whatever the umask, and
//! the warning for owners of a prebuilt tarball.

use std::path::Path;
use std::process::Command;

use okd_coreos::Error;
use okd_coreos::file_tree::{LayerListing, open_layer};
use okd_coreos::layer_source::{DirSource, FileListSource, LayerSource, TarballSource};
use okd_coreos::layering::{LayeredImage, LayeredOutput};
use okd_coreos::owners::Owner;
use okd_oci::layer::{Compression, EntryMeta, LayerWriter};
use okd_oci::{MemoryStore, Store, StoreExt};

use crate::coreos_base::{tag, write_coreos_base};

/// `program` on PATH, or a panic naming the Debian package that has it.
fn tool(program: &str, package: &str) -> String {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is required by this test (apt-get install {package})"
    );
    program.to_string()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn layered(
    store: &MemoryStore,
    source: Box<dyn LayerSource>,
    canonical: bool,
) -> Result<LayeredOutput, Error> {
    if store.list_tags("fcos").await.unwrap_or_default().is_empty() {
        write_coreos_base(store, "fcos", "stable").await;
    }
    let mut image = LayeredImage::new(store, "fcos", &tag("stable")).boxed_layer(source);
    if canonical {
        image = image.canonical_modes();
    }
    image.write_to(store, "okd/node", None).await
}

async fn added_layer(store: &MemoryStore, out: &LayeredOutput) -> Vec<u8> {
    let digest = &out.layers[0].digest;
    store
        .get_blob("okd/node", digest, 1 << 24)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn file_capabilities_of_a_directory_become_pax_xattrs() {
    let setcap = tool("setcap", "libcap2-bin");
    let python = tool("python3", "python3");
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("tree/usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ping = bin.join("okd-ping");
    std::fs::write(&ping, b"\x7fELF").unwrap();
    run(Command::new(&setcap).arg("cap_net_raw+ep").arg(&ping));

    let store = MemoryStore::new();
    let source = Box::new(DirSource::new(temp.path().join("tree")));
    let out = layered(&store, source, false).await.unwrap();
    let tarball = temp.path().join("layer.tar.gz");
    std::fs::write(&tarball, added_layer(&store, &out).await).unwrap();

    // Python's tarfile, an independent reader, finds the record on the entry; its value is the
    // attribute's bytes exactly.
    let script = r#"
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember("usr/bin/okd-ping")
    v = m.pax_headers["SCHILY.xattr.security.capability"]
    print(v.encode("utf-8", "surrogateescape").hex())
print(os.getxattr(sys.argv[2], "security.capability").hex())
"#;
    let printed = run(Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&tarball)
        .arg(&ping));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(!lines[0].is_empty());
    assert_eq!(
        lines[0], lines[1],
        "the tar record holds the file's capability bytes"
    );
}

/// A checkout of the same files made under `umask`.
fn checkout(root: &Path, umask: &str) {
    let script = format!(
        "umask {umask} && mkdir -p {r}/usr/lib/okd && printf conf > {r}/usr/lib/okd/conf \
         && printf run > {r}/usr/lib/okd/run && chmod u+x {r}/usr/lib/okd/run",
        r = root.display()
    );
    run(Command::new("sh").arg("-c").arg(script));
}

#[tokio::test]
async fn canonical_modes_give_one_digest_under_any_umask() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b) = (temp.path().join("a"), temp.path().join("b"));
    checkout(&a, "002");
    checkout(&b, "022");
    let store = MemoryStore::new();
    let digest = |out: LayeredOutput| out.layers[0].digest.clone();
    let canon_a = digest(
        layered(&store, Box::new(DirSource::new(&a)), true)
            .await
            .unwrap(),
    );
    let canon_b = digest(
        layered(&store, Box::new(DirSource::new(&b)), true)
            .await
            .unwrap(),
    );
    assert_eq!(canon_a, canon_b);
    // Without the option the umask shows (g+w on one side): the option is what makes them equal.
    let raw_a = digest(
        layered(&store, Box::new(DirSource::new(&a)), false)
            .await
            .unwrap(),
    );
    let raw_b = digest(
        layered(&store, Box::new(DirSource::new(&b)), false)
            .await
            .unwrap(),
    );
    assert_ne!(raw_a, raw_b);

    let out = layered(&store, Box::new(DirSource::new(&a)), true)
        .await
        .unwrap();
    let blob = added_layer(&store, &out).await;
    let listing =
        LayerListing::read(open_layer(std::io::Cursor::new(blob), "l").unwrap(), "l").unwrap();
    let mode = |p: &str| {
        listing
            .entries
            .iter()
            .find(|e| e.path == p)
            .unwrap()
            .node
            .mode
    };
    assert_eq!(mode("usr/lib/okd"), 0o755);
    assert_eq!(mode("usr/lib/okd/conf"), 0o644);
    assert_eq!(mode("usr/lib/okd/run"), 0o755);
}

#[tokio::test]
async fn owners_by_number_and_by_the_base_names() {
    let store = MemoryStore::new();
    let files = FileListSource::new()
        .bytes("etc/okd/token", b"t".to_vec(), 0o600)
        .owned_by(Owner::Name("okd".into()), Owner::Name("okd".into()))
        .bytes("etc/okd/shared", b"s".to_vec(), 0o640)
        .owned_by(Owner::Id(0), Owner::Name("wheel".into()))
        .bytes("etc/okd/numeric", b"n".to_vec(), 0o644)
        .owned_by(Owner::Id(4242), Owner::Id(4343));
    let out = layered(&store, Box::new(files), false).await.unwrap();
    let blob = added_layer(&store, &out).await;
    let listing =
        LayerListing::read(open_layer(std::io::Cursor::new(blob), "l").unwrap(), "l").unwrap();
    let owner = |p: &str| {
        let e = listing.entries.iter().find(|e| e.path == p).unwrap();
        (e.node.uid, e.node.gid)
    };
    assert_eq!(owner("etc/okd/token"), (990, 985));
    assert_eq!(owner("etc/okd/shared"), (0, 10));
    assert_eq!(owner("etc/okd/numeric"), (4242, 4343));

    let unknown = FileListSource::new()
        .bytes("etc/okd/x", b"x".to_vec(), 0o644)
        .owned_by(Owner::Name("nobody-here".into()), Owner::Id(0));
    let err = layered(&store, Box::new(unknown), false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("user \"nobody-here\" is in neither /etc/passwd nor /usr/lib/passwd"),
        "{err}"
    );
}

#[tokio::test]
async fn non_root_owners_of_a_prebuilt_tarball_are_a_warning() {
    let temp = tempfile::tempdir().unwrap();
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    let alice = EntryMeta {
        uid: 1000,
        gid: 1000,
        ..EntryMeta::default()
    };
    w.add_dir("usr", 0o755).unwrap();
    w.add_dir("usr/lib", 0o755).unwrap();
    w.add_file_with("usr/lib/okd-data", 0o644, &alice, 1, &b"x"[..])
        .unwrap();
    let (bytes, _) = w.finish().unwrap();
    let path = temp.path().join("t.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    let store = MemoryStore::new();
    let out = layered(&store, Box::new(TarballSource::new(&path)), false)
        .await
        .unwrap();
    let owners: Vec<_> = out
        .lint
        .warnings()
        .filter(|f| f.rule == "tarball-owner")
        .collect();
    assert_eq!(owners.len(), 1, "{:?}", out.lint);
    assert_eq!(owners[0].path, "usr/lib/okd-data");
    assert!(owners[0].message.contains("1000:1000"));
}
