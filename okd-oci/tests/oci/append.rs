//! Image appending: base image + new layers + edited config, checked for content, media types,
//! reproducibility and blob traffic, and read back by `skopeo` and `umoci`.

use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use okd_oci::append::{Append, DirLayer, NewLayer};
use okd_oci::layer::{Compression, LayerInfo, LayerWriter};
use okd_oci::{
    Digest, Error, ImageConfig, LayoutStore, ManifestRef, MemoryStore, RawManifest, Store,
    StoreExt, StoreStats, media_type,
};
use serde_json::{Value, json};
use testkit::images::{MediaTypes, gzip_layer};
use testkit::tools::{export_dir, run, skopeo_copy, umoci_unpack};

// ---------------------------------------------------------------------------------------------
// helpers

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 time")
}

/// A two-layer base image shaped like a `cluster-version-operator` image, with a config full of
/// fields okd-streams does not model.
struct Base {
    manifest: RawManifest,
    config: Value,
    layers: Vec<(Bytes, LayerInfo)>,
}

fn base_image(docker: bool) -> Base {
    let layers = vec![
        gzip_layer(&[("usr/bin/cluster-version-operator", 0o755, "#!/bin/true\n")]),
        gzip_layer(&[("etc/os-release", 0o644, "ID=scos\n")]),
    ];
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-30T03:25:25.123456789Z",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin"],
            "Entrypoint": ["/usr/bin/cluster-version-operator"],
            "Labels": {"io.openshift.build.commit.id": "abc123", "vendor": "OKD", "remove.me": "x"},
        },
        "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) LABEL vendor=OKD"]},
        "docker_version": "20.10.24",
        "x-vendor-extension": {"b": 1, "a": [1, 2]},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|(_, i)| i.diff_id.to_string()).collect::<Vec<_>>()},
        "history": [
            {"created": "2024-01-30T03:25:00Z", "created_by": "base layer 1"},
            {"created": "2024-01-30T03:25:10Z", "created_by": "LABEL vendor=OKD", "empty_layer": true},
            {"created": "2024-01-30T03:25:20Z", "created_by": "base layer 2"},
        ],
    });
    let config_bytes = serde_json::to_vec(&config).expect("json");
    let MediaTypes {
        manifest: mt,
        config: config_mt,
        layer: layer_mt,
    } = MediaTypes::of(docker);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt,
        "config": {"mediaType": config_mt, "size": config_bytes.len(), "digest": Digest::sha256_of(&config_bytes).to_string()},
        "layers": layers.iter().map(|(_, i)| json!({"mediaType": layer_mt, "size": i.size, "digest": i.digest.to_string()})).collect::<Vec<_>>(),
    });
    Base {
        manifest: RawManifest::new(mt, serde_json::to_vec_pretty(&manifest).expect("json"))
            .expect("manifest"),
        config,
        layers,
    }
}

async fn put_base(store: &dyn Store, repo: &str, t: &str, base: &Base) {
    for (bytes, info) in &base.layers {
        store
            .put_blob(repo, &info.digest, bytes.clone())
            .await
            .expect("layer");
    }
    let config = Bytes::from(serde_json::to_vec(&base.config).expect("json"));
    store
        .put_blob(repo, &Digest::sha256_of(&config), config)
        .await
        .expect("config");
    store
        .write_manifest(repo, &base.manifest, Some(t))
        .await
        .expect("base manifest");
}

fn manifest_json(m: &RawManifest) -> Value {
    serde_json::from_slice(m.bytes()).expect("manifest json")
}

async fn config_of(store: &dyn Store, repo: &str, m: &RawManifest) -> Value {
    let c = &m.references().expect("refs")[0];
    let bytes = store
        .get_blob(repo, &c.digest, 1 << 20)
        .await
        .expect("config blob");
    serde_json::from_slice(&bytes).expect("config json")
}

fn delta(after: StoreStats, before: StoreStats) -> StoreStats {
    StoreStats {
        blobs_written: after.blobs_written - before.blobs_written,
        bytes_written: after.bytes_written - before.bytes_written,
        blobs_skipped: after.blobs_skipped - before.blobs_skipped,
        blobs_mounted: after.blobs_mounted - before.blobs_mounted,
        blobs_read: after.blobs_read - before.blobs_read,
        manifests_written: after.manifests_written - before.manifests_written,
        manifests_read: after.manifests_read - before.manifests_read,
        retries: after.retries - before.retries,
    }
}

fn release_layer() -> NewLayer {
    let (bytes, info) = gzip_layer(&[
        (
            "release-manifests/release-metadata",
            0o644,
            r#"{"kind":"cincinnati-metadata-v0"}"#,
        ),
        ("release-manifests/image-references", 0o644, "{}"),
    ]);
    NewLayer::from_bytes(bytes, info)
}

/// The builder as release assembly uses it.
fn release_append<'a>(store: &'a dyn Store, repo: &str) -> Append<'a> {
    Append::new(store, repo, &tag("base"))
        .layer(release_layer())
        .label("io.openshift.release", "4.19.0-okd-scos.1")
        .label("io.openshift.release.base-image-digest", "sha256:feed")
        .remove_label("remove.me")
        .history("okd-streams release layer")
        .created(at("2025-06-01T12:00:00Z"))
}

// ---------------------------------------------------------------------------------------------
// what the new image is

#[tokio::test]
async fn docker_base_gives_a_docker_image_with_the_edits() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let base = base_image(true);
    put_base(&store, "okd/cvo", "base", &base).await;

    let before = store.stats();
    let out = release_append(&store, "okd/cvo")
        .write_to(&store, "okd/release", Some("4.19.0-okd-scos.1"))
        .await
        .expect("append");
    let traffic = delta(store.stats(), before);

    // Manifest family and media types.
    assert_eq!(out.media_type(), media_type::DOCKER_MANIFEST);
    let m = manifest_json(&out);
    assert_eq!(m["schemaVersion"], 2);
    assert_eq!(m["mediaType"], media_type::DOCKER_MANIFEST);
    assert_eq!(m["config"]["mediaType"], media_type::DOCKER_CONFIG);
    let layers = m["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 3);
    let base_m = manifest_json(&base.manifest);
    assert_eq!(
        layers[..2],
        base_m["layers"].as_array().expect("base layers")[..]
    );
    assert_eq!(layers[2]["mediaType"], media_type::DOCKER_LAYER_GZIP);

    // Config edits; everything else kept.
    let config = config_of(&store, "okd/release", &out).await;
    let new_diff_id = release_layer().info().diff_id.to_string();
    let mut diff_ids = base.config["rootfs"]["diff_ids"].clone();
    diff_ids
        .as_array_mut()
        .expect("array")
        .push(json!(new_diff_id));
    assert_eq!(config["rootfs"]["diff_ids"], diff_ids);
    assert_eq!(config["created"], "2025-06-01T12:00:00Z");
    let history = config["history"].as_array().expect("history");
    assert_eq!(history.len(), 4);
    assert_eq!(
        history[..3],
        base.config["history"].as_array().expect("history")[..]
    );
    assert_eq!(
        history[3],
        json!({"created": "2025-06-01T12:00:00Z", "created_by": "okd-streams release layer"})
    );
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["io.openshift.release"], "4.19.0-okd-scos.1");
    assert_eq!(labels["vendor"], "OKD");
    assert!(labels.get("remove.me").is_none());
    for kept in [
        "container_config",
        "docker_version",
        "x-vendor-extension",
        "architecture",
        "os",
    ] {
        assert_eq!(config[kept], base.config[kept], "{kept}");
    }
    assert_eq!(
        config["config"]["Entrypoint"],
        base.config["config"]["Entrypoint"]
    );

    // Blob traffic: base layers mounted (free in a layout), never read or written again.
    assert_eq!(traffic.blobs_mounted, 2);
    assert_eq!(traffic.blobs_written, 2, "new layer and config only");
    assert_eq!(traffic.blobs_read, 1, "only the base config is read");
    assert_eq!(traffic.manifests_written, 1);

    let read = store
        .read_manifest("okd/release", &tag("4.19.0-okd-scos.1"))
        .await
        .expect("read back");
    assert_eq!(read, out);
}

#[tokio::test]
async fn oci_base_gives_an_oci_image() {
    let store = MemoryStore::new();
    let base = base_image(false);
    put_base(&store, "okd/base", "base", &base).await;
    let (bytes, mut info) = gzip_layer(&[("x", 0o644, "x")]);
    // A layer described with the Docker type still gets the OCI type in an OCI image.
    info.media_type = media_type::DOCKER_LAYER_GZIP.to_string();
    let out = Append::new(&store, "okd/base", &tag("base"))
        .layer(
            NewLayer::from_bytes(bytes, info)
                .created_by("COPY x /")
                .comment("layered"),
        )
        .created(at("2025-01-01T00:00:00Z"))
        .write_to(&store, "okd/layered", Some("1"))
        .await
        .expect("append");
    assert_eq!(out.media_type(), media_type::OCI_MANIFEST);
    let m = manifest_json(&out);
    assert_eq!(m["mediaType"], media_type::OCI_MANIFEST);
    assert_eq!(m["config"]["mediaType"], media_type::OCI_CONFIG);
    assert_eq!(m["layers"][2]["mediaType"], media_type::OCI_LAYER_GZIP);
    let config = config_of(&store, "okd/layered", &out).await;
    assert_eq!(
        config["history"][3],
        json!({"created": "2025-01-01T00:00:00Z", "created_by": "COPY x /", "comment": "layered"})
    );
    // MemoryStore keeps repositories apart: the base layers were mounted into the new one.
    assert_eq!(store.stats().blobs_mounted, 2);
}

#[tokio::test]
async fn same_inputs_give_the_same_digest() {
    let dir = tempdir();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("manifests")).expect("mkdir");
    std::fs::write(tree.join("manifests/0000_00_cvo.yaml"), "kind: Namespace\n").expect("write");

    let first = LayoutStore::create(dir.path().join("a"))
        .await
        .expect("create");
    let second = LayoutStore::create(dir.path().join("b"))
        .await
        .expect("create");
    let base = base_image(true);
    put_base(&first, "okd/cvo", "base", &base).await;
    put_base(&second, "elsewhere", "base", &base).await;

    let layer = DirLayer::new(&tree)
        .prefix("release-manifests")
        .build()
        .await
        .expect("layer");
    let layer_again = DirLayer::new(&tree)
        .prefix("release-manifests")
        .build()
        .await
        .expect("layer");
    assert_eq!(layer.info(), layer_again.info());

    let one = release_append(&first, "okd/cvo")
        .layer(layer.clone())
        .write_to(&first, "okd/release", Some("one"))
        .await
        .expect("first");
    let two = release_append(&first, "okd/cvo")
        .layer(layer_again)
        .write_to(&first, "okd/release", Some("two"))
        .await
        .expect("second");
    let three = release_append(&second, "elsewhere")
        .layer(layer.clone())
        .write_to(&second, "okd/release", Some("three"))
        .await
        .expect("other layout");
    assert_eq!(one.digest(), two.digest());
    assert_eq!(one.bytes(), three.bytes());

    let later = release_append(&first, "okd/cvo")
        .layer(layer)
        .created(at("2025-06-01T12:00:01Z"))
        .write_to(&first, "okd/release", Some("later"))
        .await
        .expect("later");
    assert_ne!(
        later.digest(),
        one.digest(),
        "the creation time is part of the image"
    );
}

#[tokio::test]
async fn blobs_move_only_when_they_must() {
    let dir = tempdir();
    let layout = LayoutStore::create(dir.path()).await.expect("create");
    let base = base_image(true);
    put_base(&layout, "okd/cvo", "base", &base).await;
    let base_bytes: u64 = base.layers.iter().map(|(b, _)| b.len() as u64).sum();

    // Same repository: nothing to do for the base layers.
    let before = layout.stats();
    release_append(&layout, "okd/cvo")
        .write_to(&layout, "okd/cvo", Some("release"))
        .await
        .expect("same repo");
    let t = delta(layout.stats(), before);
    assert_eq!((t.blobs_mounted, t.blobs_written, t.blobs_read), (0, 2, 1));

    // Another store whose destination already has everything: nothing is read but the config.
    let memory = MemoryStore::new();
    put_base(&memory, "okd/cvo", "base", &base).await;
    let before = layout.stats();
    let src_before = memory.stats();
    release_append(&memory, "okd/cvo")
        .write_to(&layout, "okd/mirror", Some("1"))
        .await
        .expect("from memory");
    let t = delta(layout.stats(), before);
    assert_eq!(
        (t.blobs_written, t.blobs_skipped),
        (0, 2),
        "layer and config already there"
    );
    let s = delta(memory.stats(), src_before);
    assert_eq!(
        s.blobs_read, 1,
        "the base layers are not read when the destination has them"
    );

    // ...and into an empty store they are copied, streamed, exactly once.
    let fresh = LayoutStore::create(dir.path().join("fresh"))
        .await
        .expect("create");
    let src_before = memory.stats();
    release_append(&memory, "okd/cvo")
        .write_to(&fresh, "okd/release", Some("1"))
        .await
        .expect("to fresh layout");
    let t = fresh.stats();
    assert_eq!(
        t.blobs_written, 4,
        "two base layers, the new layer, the config"
    );
    let new_bytes = release_layer().info().size;
    assert!(t.bytes_written > base_bytes + new_bytes);
    assert_eq!(delta(memory.stats(), src_before).blobs_read, 3);

    // A second append to the same destination copies no base layer again.
    let src_before = memory.stats();
    let before = fresh.stats();
    release_append(&memory, "okd/cvo")
        .label("another", "label")
        .write_to(&fresh, "okd/release", Some("2"))
        .await
        .expect("again");
    let t = delta(fresh.stats(), before);
    assert_eq!(
        (t.blobs_written, t.blobs_skipped),
        (1, 1),
        "new config; layer already there"
    );
    assert_eq!(delta(memory.stats(), src_before).blobs_read, 1);
}

#[tokio::test]
async fn index_bases_need_a_platform() {
    let store = MemoryStore::new();
    let amd = base_image(false);
    put_base(&store, "okd/multi", "amd64", &amd).await;
    let mut arm = base_image(false);
    arm.config["architecture"] = json!("arm64");
    let config = serde_json::to_vec(&arm.config).expect("json");
    let mut m = manifest_json(&arm.manifest);
    m["config"]["digest"] = json!(Digest::sha256_of(&config).to_string());
    m["config"]["size"] = json!(config.len());
    arm.manifest = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("manifest");
    put_base(&store, "okd/multi", "arm64", &arm).await;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [
            {"mediaType": media_type::OCI_MANIFEST, "digest": amd.manifest.digest().to_string(), "size": amd.manifest.size(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": media_type::OCI_MANIFEST, "digest": arm.manifest.digest().to_string(), "size": arm.manifest.size(), "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    });
    let index = RawManifest::new(
        media_type::OCI_INDEX,
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index");
    store
        .write_manifest("okd/multi", &index, Some("multi"))
        .await
        .expect("index");

    let err = Append::new(&store, "okd/multi", &tag("multi"))
        .write_to(&store, "okd/out", Some("x"))
        .await
        .expect_err("index without platform");
    assert!(matches!(err, Error::NotAnImage { .. }), "{err}");
    assert!(err.to_string().contains("okd/multi:multi"), "{err}");

    let out = Append::new(&store, "okd/multi", &tag("multi"))
        .platform("linux", "arm64")
        .created(at("2025-01-01T00:00:00Z"))
        .write_to(&store, "okd/out", Some("arm64"))
        .await
        .expect("arm64 child");
    assert_eq!(
        config_of(&store, "okd/out", &out).await["architecture"],
        "arm64"
    );

    let err = Append::new(&store, "okd/multi", &tag("multi"))
        .platform("linux", "s390x")
        .write_to(&store, "okd/out", Some("s390x"))
        .await
        .expect_err("no such platform");
    assert!(
        matches!(&err, Error::PlatformNotFound { platform, .. } if platform == "linux/s390x"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_bases_and_layers_are_refused_before_anything_is_written() {
    let store = MemoryStore::new();
    let mut broken = base_image(true);
    broken.config["rootfs"]["diff_ids"]
        .as_array_mut()
        .expect("array")
        .pop();
    let config = serde_json::to_vec(&broken.config).expect("json");
    let mut m = manifest_json(&broken.manifest);
    m["config"]["digest"] = json!(Digest::sha256_of(&config).to_string());
    m["config"]["size"] = json!(config.len());
    broken.manifest = RawManifest::new(
        media_type::DOCKER_MANIFEST,
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("manifest");
    put_base(&store, "okd/broken", "base", &broken).await;
    put_base(&store, "okd/good", "base", &base_image(true)).await;

    let dest = MemoryStore::new();
    let err = release_append(&store, "okd/broken")
        .write_to(&dest, "okd/out", Some("x"))
        .await
        .expect_err("diff_ids do not match layers");
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&Digest::sha256_of(&config).to_string()),
        "{err}"
    );

    let (bytes, mut info) = gzip_layer(&[("z", 0o644, "z")]);
    info.media_type = media_type::OCI_LAYER_ZSTD.to_string();
    let err = release_append(&store, "okd/good")
        .layer(NewLayer::from_bytes(bytes, info.clone()))
        .write_to(&dest, "okd/out", Some("x"))
        .await
        .expect_err("zstd in a Docker image");
    assert!(matches!(err, Error::UnsupportedMediaType { .. }), "{err}");
    assert!(err.to_string().contains(&info.digest.to_string()), "{err}");

    let err = release_append(&store, "okd/absent")
        .write_to(&dest, "okd/out", Some("x"))
        .await
        .expect_err("no base");
    assert!(err.is_not_found(), "{err}");

    // A layer whose bytes do not match its description: the manifest is never written.
    let (bytes, info) = gzip_layer(&[("y", 0o644, "y")]);
    let (other, _) = gzip_layer(&[("y", 0o644, "not y")]);
    let lying = NewLayer::from_bytes(other, info.clone());
    let err = release_append(&store, "okd/good")
        .layer(lying)
        .write_to(&dest, "okd/out", Some("x"))
        .await
        .expect_err("lying layer");
    assert!(err.to_string().contains(&info.digest.to_string()), "{err}");
    drop(bytes);

    assert_eq!(dest.stats().manifests_written, 0);
    assert!(dest.list_tags("okd/out").await.expect("tags").is_empty());
}

// ---------------------------------------------------------------------------------------------
// layers from directories and tarballs

fn tree(root: &Path) {
    let mk = |p: &str| std::fs::create_dir_all(root.join(p)).expect("mkdir");
    let write = |p: &str, content: &str, mode: u32| {
        std::fs::write(root.join(p), content).expect("write");
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    };
    mk("usr/bin");
    mk("etc/okd");
    mk("var/empty");
    std::fs::set_permissions(
        root.join("var/empty"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    write("usr/bin/okd-tool", "#!/bin/sh\necho okd\n", 0o755);
    write("usr/bin/setuid-tool", "x", 0o4755);
    write("etc/okd/config.yaml", "stream: scos\n", 0o600);
    write("etc/okd/Z-last", "z", 0o644);
    write("etc/okd/a-first", "a", 0o644);
    symlink("config.yaml", root.join("etc/okd/current")).expect("symlink");
    symlink("../../usr/bin/okd-tool", root.join("etc/okd/tool")).expect("symlink");
}

fn unpack(layer_path: &Path, gz: bool) -> Vec<(String, tar::EntryType, u32, u64, u64, String)> {
    let file = std::fs::File::open(layer_path).expect("open");
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut archive = tar::Archive::new(reader);
    archive
        .entries()
        .expect("entries")
        .map(|e| {
            let mut e = e.expect("entry");
            let h = e.header().clone();
            let path = e.path().expect("path").display().to_string();
            let mut content = String::new();
            if h.entry_type() == tar::EntryType::Symlink {
                content = e
                    .link_name()
                    .expect("link")
                    .expect("target")
                    .display()
                    .to_string();
            } else {
                e.read_to_string(&mut content).expect("content");
            }
            (
                path,
                h.entry_type(),
                h.mode().expect("mode"),
                h.uid().expect("uid"),
                h.mtime().expect("mtime"),
                content,
            )
        })
        .collect()
}

/// The blob bytes of a built layer, written out so the test can open them.
async fn layer_bytes(layer: &NewLayer, dir: &Path) -> std::path::PathBuf {
    let store = LayoutStore::open_or_create(dir).await.expect("layout");
    let info = layer.info().clone();
    // A NewLayer hands its bytes only to a store: put them in a layout through a throwaway image.
    let base = base_image(false);
    put_base(&store, "scratch", "base", &base).await;
    Append::new(&store, "scratch", &tag("base"))
        .layer(layer.clone())
        .created(at("2025-01-01T00:00:00Z"))
        .write_to(&store, "scratch", None)
        .await
        .expect("write layer");
    store.blob_path(&info.digest)
}

#[tokio::test]
async fn dir_layers_are_deterministic_and_faithful() {
    let dir = tempdir();
    let root = dir.path().join("tree");
    tree(&root);
    let layer = DirLayer::new(&root)
        .prefix("opt/okd")
        .mtime(1_700_000_000)
        .build()
        .await
        .expect("build");

    // Different mtimes on disk, same layer.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(root.join("etc/okd/a-first"), "a").expect("rewrite");
    let again = DirLayer::new(&root)
        .prefix("opt/okd")
        .mtime(1_700_000_000)
        .build()
        .await
        .expect("build");
    assert_eq!(layer.info(), again.info());

    let path = layer_bytes(&layer, &dir.path().join("layout")).await;
    let entries = unpack(&path, true);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "opt",
            "opt/okd",
            "opt/okd/etc",
            "opt/okd/etc/okd",
            "opt/okd/etc/okd/Z-last",
            "opt/okd/etc/okd/a-first",
            "opt/okd/etc/okd/config.yaml",
            "opt/okd/etc/okd/current",
            "opt/okd/etc/okd/tool",
            "opt/okd/usr",
            "opt/okd/usr/bin",
            "opt/okd/usr/bin/okd-tool",
            "opt/okd/usr/bin/setuid-tool",
            "opt/okd/var",
            "opt/okd/var/empty",
        ]
    );
    let find = |n: &str| entries.iter().find(|e| e.0 == n).expect(n);
    assert_eq!(find("opt/okd/usr/bin/okd-tool").2, 0o755);
    assert_eq!(find("opt/okd/usr/bin/setuid-tool").2, 0o4755);
    assert_eq!(find("opt/okd/etc/okd/config.yaml").2, 0o600);
    assert_eq!(find("opt/okd/var/empty").2, 0o700);
    assert_eq!(find("opt/okd/etc/okd/config.yaml").5, "stream: scos\n");
    let link = find("opt/okd/etc/okd/tool");
    assert_eq!(
        (link.1, link.5.as_str()),
        (tar::EntryType::Symlink, "../../usr/bin/okd-tool")
    );
    assert!(entries.iter().all(|e| e.3 == 0 && e.4 == 1_700_000_000));

    // The digests in the info are those of the bytes.
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(Digest::sha256_of(&bytes), layer.info().digest);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut plain)
        .expect("gunzip");
    assert_eq!(Digest::sha256_of(&plain), layer.info().diff_id);
}

#[tokio::test]
async fn dir_layers_refuse_escaping_links_and_special_files() {
    let dir = tempdir();
    for (name, target) in [
        ("absolute", "/etc/passwd"),
        ("up", "../../outside"),
        ("deep", "../a/../../outside"),
    ] {
        let root = dir.path().join(name);
        std::fs::create_dir_all(root.join("a")).expect("mkdir");
        symlink(target, root.join("a/link")).expect("symlink");
        let err = DirLayer::new(&root).build().await.expect_err("escape");
        match &err {
            Error::SymlinkEscapes { path, target: t } => {
                assert_eq!(path, &root.join("a/link"));
                assert_eq!(t, Path::new(target));
            }
            other => panic!("{name}: unexpected {other}"),
        }
    }
    // Each link stays inside on its own, but following one through the other leaves the tree.
    let root = dir.path().join("chain");
    std::fs::create_dir_all(root.join("x")).expect("mkdir");
    symlink("..", root.join("x/up")).expect("symlink");
    symlink("x/up/..", root.join("sneaky")).expect("symlink");
    let err = DirLayer::new(&root)
        .build()
        .await
        .expect_err("chained escape");
    assert!(
        matches!(&err, Error::SymlinkEscapes { path, .. } if path == &root.join("sneaky")),
        "{err}"
    );

    let root = dir.path().join("fifo");
    std::fs::create_dir_all(&root).expect("mkdir");
    run("mkfifo", &[&root.join("pipe").display().to_string()]);
    let err = DirLayer::new(&root).build().await.expect_err("fifo");
    assert!(
        matches!(&err, Error::UnsupportedFileType { path, kind } if path == &root.join("pipe") && kind == "fifo"),
        "{err}"
    );

    let root = dir.path().join("socket");
    std::fs::create_dir_all(&root).expect("mkdir");
    let _listener = std::os::unix::net::UnixListener::bind(root.join("sock")).expect("bind socket");
    let err = DirLayer::new(&root).build().await.expect_err("socket");
    assert!(
        matches!(&err, Error::UnsupportedFileType { path, kind } if path == &root.join("sock") && kind == "socket"),
        "{err}"
    );

    let err = DirLayer::new(dir.path().join("missing"))
        .build()
        .await
        .expect_err("missing");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn prebuilt_tarballs_are_measured() {
    let dir = tempdir();
    for (name, compression) in [
        ("l.tar.gz", Compression::Gzip),
        ("l.tar", Compression::None),
    ] {
        let mut w = LayerWriter::new(Vec::new(), compression);
        w.add_file("opt/extension", 0o644, b"payload")
            .expect("file");
        let (bytes, info) = w.finish().expect("finish");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let layer = NewLayer::from_tarball(&path).await.expect("inspect");
        assert_eq!(layer.info(), &info, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// independent readers

#[tokio::test]
async fn umoci_and_skopeo_read_appended_images() {
    let dir = tempdir();
    let layout_dir = dir.path().join("layout");
    let store = LayoutStore::create(&layout_dir).await.expect("create");
    let files = dir.path().join("files");
    tree(&files);

    // OCI: umoci unpacks it straight from our layout.
    put_base(&store, "okd/os", "base", &base_image(false)).await;
    let layer = DirLayer::new(&files).build().await.expect("layer");
    let layered = Append::new(&store, "okd/os", &tag("base"))
        .layer(layer.clone())
        .label("io.openshift.build.versions", "machine-os=9.0.20250601-0")
        .created(at("2025-06-01T00:00:00Z"))
        .write_to(&store, "okd/layered", Some("9.0"))
        .await
        .expect("append");
    let bundle = dir.path().join("bundle-oci");
    umoci_unpack(&layout_dir, "okd/layered:9.0", &bundle);
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/os-release")).expect("base file"),
        "ID=scos\n"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/okd/config.yaml")).expect("new file"),
        "stream: scos\n"
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("etc/okd/current")).expect("link"),
        Path::new("config.yaml")
    );
    let mode = std::fs::metadata(rootfs.join("usr/bin/okd-tool"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let raw = run(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci:{}:okd/layered:9.0", layout_dir.display()),
        ],
    );
    assert_eq!(raw, layered.bytes().as_ref());

    // Docker schema 2 (release images): skopeo parses our manifest and config and converts the
    // image to OCI, which umoci then unpacks with the appended files in place.
    put_base(&store, "okd/cvo", "base", &base_image(true)).await;
    let release = release_append(&store, "okd/cvo")
        .layer(layer)
        .write_to(&store, "okd/release", Some("4.19.0"))
        .await
        .expect("append");
    let exported = dir.path().join("docker-dir");
    export_dir(&store, "okd/release", &release, &exported).await;
    let inspect: Value = serde_json::from_slice(&run(
        "skopeo",
        &["inspect", &format!("dir:{}", exported.display())],
    ))
    .expect("skopeo inspect json");
    assert_eq!(
        inspect["Labels"]["io.openshift.release"],
        "4.19.0-okd-scos.1"
    );
    assert_eq!(inspect["Layers"].as_array().expect("layers").len(), 4);
    let converted = dir.path().join("converted");
    skopeo_copy(
        &format!("dir:{}", exported.display()),
        &format!("oci:{}:release", converted.display()),
    );
    let bundle = dir.path().join("bundle-docker");
    umoci_unpack(&converted, "release", &bundle);
    let rootfs = bundle.join("rootfs");
    assert!(rootfs.join("usr/bin/cluster-version-operator").is_file());
    assert_eq!(
        std::fs::read_to_string(rootfs.join("release-manifests/release-metadata"))
            .expect("release layer"),
        r#"{"kind":"cincinnati-metadata-v0"}"#
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/okd/a-first")).expect("dir layer"),
        "a"
    );

    // What skopeo converted, okd-streams reads.
    let back = LayoutStore::open(&converted).await.expect("open");
    let m = back.read_manifest("", &tag("release")).await.expect("read");
    let config = ImageConfig::from_bytes(
        &back
            .get_blob("", &m.references().expect("refs")[0].digest, 1 << 20)
            .await
            .expect("config"),
        &m.references().expect("refs")[0].digest,
    )
    .expect("config");
    assert_eq!(
        config.label("io.openshift.release"),
        Some("4.19.0-okd-scos.1")
    );
    assert_eq!(config.diff_ids().expect("diff ids").len(), 4);
}
