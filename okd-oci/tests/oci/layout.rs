//! `LayoutStore` against the OCI image-layout spec, and against `skopeo` and `umoci` as
//! independent readers and writers of the same directories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use okd_oci::{
    BlobWrite, ByteStream, Digest, Error, LayoutStore, MAX_MANIFEST_SIZE, ManifestRef, RawManifest,
    Store, StoreExt, media_type,
};
use serde_json::{Value, json};
use testkit::images::{MediaTypes, gzip_layer};
use testkit::tools::{run, umoci_unpack};

// ---------------------------------------------------------------------------------------------
// helpers

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

/// Every file and directory under `dir`, relative, sorted; directories end with `/`.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("dir entry");
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            if e.file_type().expect("file type").is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &e.path(), out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// A one-layer image: the gzip layer holds `files`; the config has a label and history.
struct TestImage {
    manifest: RawManifest,
    config: Bytes,
    layer: Bytes,
}

fn image(docker: bool, files: &[(&str, &str)]) -> TestImage {
    let files: Vec<_> = files
        .iter()
        .map(|(path, content)| (*path, 0o644, *content))
        .collect();
    let (layer, info) = gzip_layer(&files);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"io.openshift.release": "test"}},
        "rootfs": {"type": "layers", "diff_ids": [info.diff_id.to_string()]},
        "history": [{"created_by": "test layer"}],
    });
    let config = Bytes::from(serde_json::to_vec(&config).expect("config json"));
    let MediaTypes {
        manifest: mt,
        config: config_mt,
        layer: layer_mt,
    } = MediaTypes::of(docker);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt,
        "config": {"mediaType": config_mt, "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
        "layers": [{"mediaType": layer_mt, "digest": info.digest.to_string(), "size": info.size}],
    });
    // Pretty-printed on purpose: the store must keep these exact bytes, whitespace included.
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest json");
    TestImage {
        manifest: RawManifest::new(mt, bytes).expect("manifest"),
        config,
        layer,
    }
}

async fn put_image(store: &dyn Store, repo: &str, t: Option<&str>, img: &TestImage) {
    let put = |data: &Bytes| {
        let data = data.clone();
        async move {
            store
                .put_blob(repo, &Digest::sha256_of(&data), data.clone())
                .await
                .expect("put blob")
        }
    };
    put(&img.config).await;
    put(&img.layer).await;
    store
        .write_manifest(repo, &img.manifest, t)
        .await
        .expect("write manifest");
}

fn chunks(data: Vec<u8>, size: usize) -> ByteStream {
    let pieces: Vec<Result<Bytes, Error>> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(pieces))
}

const EMPTY_LAYOUT: [&str; 4] = ["blobs/", "blobs/sha256/", "index.json", "oci-layout"];

// ---------------------------------------------------------------------------------------------
// the layout itself

#[tokio::test]
async fn create_writes_a_spec_layout_and_open_checks_it() {
    let dir = tempdir();
    let root = dir.path().join("layout");
    LayoutStore::create(&root).await.expect("create");
    assert_eq!(
        std::fs::read(root.join("oci-layout")).expect("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let index = read_json(&root.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["manifests"], json!([]));
    assert!(root.join("blobs/sha256").is_dir());
    // The lock file is the only other thing; it is hidden.
    let listed = listing(&root);
    assert!(
        listed
            .iter()
            .all(|f| EMPTY_LAYOUT.contains(&f.as_str()) || f == ".index.json.lock"),
        "{listed:?}"
    );

    let err = LayoutStore::create(&root).await.expect_err("second create");
    assert!(matches!(err, Error::InvalidLayout { .. }), "{err}");
    LayoutStore::open(&root).await.expect("open");

    let store = LayoutStore::open_or_create(&root).await.expect("reopen");
    put_image(&store, "okd/x", Some("1"), &image(false, &[("a", "a")])).await;
    let again = LayoutStore::open_or_create(&root).await.expect("reopen");
    assert_eq!(again.list_tags("okd/x").await.expect("tags"), ["1"]);

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let err = LayoutStore::open(&empty).await.expect_err("not a layout");
    assert!(matches!(err, Error::InvalidLayout { .. }), "{err}");
    assert!(err.to_string().contains(&empty.display().to_string()));

    std::fs::write(
        empty.join("oci-layout"),
        br#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .expect("write");
    let err = LayoutStore::open(&empty).await.expect_err("future version");
    assert!(err.to_string().contains("2.0.0"), "{err}");
}

#[tokio::test]
async fn bad_blobs_are_rejected_and_leave_nothing_behind() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let good = vec![7u8; 300_000];
    let digest = Digest::sha256_of(&good);

    // Same size, different bytes.
    let mut evil = good.clone();
    evil[123_456] ^= 1;
    let err = store
        .write_blob("r", &digest, good.len() as u64, chunks(evil, 65_536))
        .await
        .expect_err("digest mismatch");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&digest.to_string()), "{err}");

    // Truncated: the stream ends early.
    let err = store
        .write_blob(
            "r",
            &digest,
            good.len() as u64,
            chunks(good[..100_000].to_vec(), 65_536),
        )
        .await
        .expect_err("truncated");
    assert!(
        matches!(
            err,
            Error::SizeMismatch {
                expected: 300_000,
                actual: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&digest.to_string()), "{err}");

    // Longer than announced.
    let mut long = good.clone();
    long.extend_from_slice(b"more");
    let err = store
        .write_blob("r", &digest, good.len() as u64, chunks(long, 65_536))
        .await
        .expect_err("too long");
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");

    // The source fails half way.
    let failing: ByteStream = Box::pin(
        futures::stream::iter(vec![Ok(Bytes::from(vec![7u8; 1000]))]).chain(futures::stream::once(
            async {
                Err(Error::io(
                    "source",
                    std::io::Error::other("connection reset"),
                ))
            },
        )),
    );
    let err = store
        .write_blob("r", &digest, good.len() as u64, failing)
        .await
        .expect_err("source error");
    assert!(err.to_string().contains("connection reset"), "{err}");

    assert_eq!(store.blob_size("r", &digest).await.expect("size"), None);
    assert!(!store.blob_path(&digest).exists());
    let listed = listing(dir.path());
    assert!(
        listed
            .iter()
            .all(|f| EMPTY_LAYOUT.contains(&f.as_str()) || f == ".index.json.lock"),
        "partial files visible: {listed:?}"
    );
    assert_eq!(store.stats().blobs_written, 0);

    // And the real bytes go in.
    let w = store
        .write_blob(
            "r",
            &digest,
            good.len() as u64,
            chunks(good.clone(), 65_536),
        )
        .await
        .expect("good write");
    assert_eq!(w, BlobWrite::Written);
    assert_eq!(std::fs::read(store.blob_path(&digest)).expect("blob"), good);
}

#[tokio::test]
async fn existing_blobs_are_skipped_and_reads_stream() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let size = data.len() as u64;
    let first = store
        .write_blob("a", &digest, size, chunks(data.clone(), 100_000))
        .await
        .expect("write");
    let second = store
        .write_blob("b", &digest, size, chunks(data.clone(), 100_000))
        .await
        .expect("write again");
    assert_eq!(
        (first, second),
        (BlobWrite::Written, BlobWrite::AlreadyPresent)
    );
    let stats = store.stats();
    assert_eq!(
        (
            stats.blobs_written,
            stats.blobs_skipped,
            stats.bytes_written
        ),
        (1, 1, size)
    );

    // The pool is shared: any repository has it, and mounting is free.
    assert_eq!(
        store.blob_size("other", &digest).await.expect("size"),
        Some(size)
    );
    assert!(store.mount_blob("c", "a", &digest).await.expect("mount"));
    let absent = Digest::sha256_of(b"absent");
    assert!(!store.mount_blob("c", "a", &absent).await.expect("mount"));
    assert_eq!(store.stats().blobs_mounted, 1);

    let blob = store.read_blob("x", &digest).await.expect("read");
    assert_eq!(blob.size, size);
    let pieces: Vec<Bytes> = blob.stream.map(|c| c.expect("chunk")).collect().await;
    assert!(pieces.len() > 1, "a 3 MB blob is read in pieces");
    assert!(pieces.iter().all(|p| p.len() <= 256 * 1024));
    assert_eq!(pieces.concat(), data);
    assert_eq!(store.get_blob("x", &digest, size).await.expect("get"), data);
    let err = store.read_blob("x", &absent).await.expect_err("absent");
    assert!(err.is_not_found(), "{err}");
}

// ---------------------------------------------------------------------------------------------
// manifests and index.json

#[tokio::test]
async fn manifests_are_refused_while_something_they_reference_is_missing() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let img = image(false, &[("etc/motd", "hi")]);
    store
        .put_blob("r", &Digest::sha256_of(&img.config), img.config.clone())
        .await
        .expect("config");
    let layer = Digest::sha256_of(&img.layer);
    let err = store
        .write_manifest("r", &img.manifest, Some("t"))
        .await
        .expect_err("layer missing");
    match &err {
        Error::MissingReference {
            missing, manifest, ..
        } => {
            assert_eq!(*missing, layer);
            assert_eq!(manifest, img.manifest.digest());
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(!store.blob_path(img.manifest.digest()).exists());
    assert!(store.list_tags("r").await.expect("tags").is_empty());

    // An index whose child manifest is absent.
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [{
            "mediaType": media_type::OCI_MANIFEST,
            "digest": img.manifest.digest().to_string(),
            "size": img.manifest.size(),
            "platform": {"os": "linux", "architecture": "amd64"},
        }],
    });
    let index = RawManifest::new(
        media_type::OCI_INDEX,
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index");
    let err = store
        .write_manifest("r", &index, Some("multi"))
        .await
        .expect_err("child missing");
    assert!(
        matches!(&err, Error::MissingReference { missing, .. } if missing == img.manifest.digest()),
        "{err}"
    );

    store
        .put_blob("r", &layer, img.layer.clone())
        .await
        .expect("layer");
    store
        .write_manifest("r", &img.manifest, None)
        .await
        .expect("complete manifest");
    store
        .write_manifest("r", &index, Some("multi"))
        .await
        .expect("complete index");
    let read = store.read_manifest("r", &tag("multi")).await.expect("read");
    assert_eq!(read, index);
}

#[tokio::test]
async fn tags_live_in_index_json_per_repository() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let (a, b, c) = (
        image(false, &[("a", "1")]),
        image(true, &[("b", "2")]),
        image(false, &[("c", "3")]),
    );
    put_image(&store, "okd/scos-release", Some("4.19.0"), &a).await;
    put_image(&store, "okd/scos-content", Some("4.19.0"), &b).await;
    put_image(&store, "", Some("latest"), &c).await;

    let index = read_json(&dir.path().join("index.json"));
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .expect("name")
        })
        .collect();
    assert_eq!(
        names,
        [
            "okd/scos-release:4.19.0",
            "okd/scos-content:4.19.0",
            "latest"
        ]
    );
    assert_eq!(
        index["manifests"][1]["mediaType"],
        media_type::DOCKER_MANIFEST
    );
    assert_eq!(index["manifests"][1]["size"], b.manifest.size());

    assert_eq!(
        store.repositories().await.expect("repos"),
        ["", "okd/scos-content", "okd/scos-release"]
    );
    assert_eq!(store.list_tags("").await.expect("tags"), ["latest"]);
    let read = store
        .read_manifest("okd/scos-content", &tag("4.19.0"))
        .await
        .expect("read");
    assert_eq!(read.bytes(), b.manifest.bytes());
    assert_eq!(read.media_type(), media_type::DOCKER_MANIFEST);
    let err = store
        .read_manifest("okd/other", &tag("4.19.0"))
        .await
        .expect_err("other repo");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        store
            .manifest_digest("okd/scos-release", &tag("4.19.0"))
            .await
            .expect("digest"),
        Some(a.manifest.digest().clone())
    );

    // Re-tagging replaces the entry instead of adding one.
    put_image(&store, "okd/scos-release", Some("4.19.0"), &c).await;
    let index = read_json(&dir.path().join("index.json"));
    assert_eq!(index["manifests"].as_array().expect("manifests").len(), 3);
    assert_eq!(
        index["manifests"][0]["digest"],
        c.manifest.digest().to_string()
    );

    store
        .delete_tag("okd/scos-release", "4.19.0")
        .await
        .expect("delete");
    assert!(
        store
            .list_tags("okd/scos-release")
            .await
            .expect("tags")
            .is_empty()
    );
    // The manifest stays readable by digest.
    store
        .read_manifest(
            "okd/scos-release",
            &ManifestRef::Digest(c.manifest.digest().clone()),
        )
        .await
        .expect("by digest");
    let err = store
        .delete_tag("okd/scos-release", "4.19.0")
        .await
        .expect_err("already gone");
    assert!(err.is_not_found(), "{err}");

    // Names that are not valid repositories or tags are refused before anything is written.
    let err = store
        .write_manifest("Upper/Case", &a.manifest, Some("x"))
        .await
        .expect_err("bad repo");
    assert!(matches!(err, Error::InvalidReference { .. }), "{err}");
    let err = store
        .write_manifest("okd/x", &a.manifest, Some("bad tag"))
        .await
        .expect_err("bad tag");
    assert!(matches!(err, Error::InvalidReference { .. }), "{err}");
}

#[tokio::test]
async fn untagged_manifests_are_read_by_digest() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    let docker = image(true, &[("d", "d")]);
    put_image(&store, "r", None, &docker).await;
    assert_eq!(
        read_json(&dir.path().join("index.json"))["manifests"],
        json!([])
    );
    let by_digest = ManifestRef::Digest(docker.manifest.digest().clone());
    let m = store.read_manifest("any", &by_digest).await.expect("read");
    assert_eq!(m, docker.manifest);

    // An OCI manifest without a mediaType field is recognised by its shape.
    let config = Digest::sha256_of(&docker.config);
    let bare = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{config}","size":{}}},"layers":[]}}"#,
        media_type::OCI_CONFIG,
        docker.config.len()
    );
    let bare_digest = Digest::sha256_of(bare.as_bytes());
    store
        .put_blob("r", &bare_digest, Bytes::from(bare.clone()))
        .await
        .expect("put");
    let m = store
        .read_manifest("r", &ManifestRef::Digest(bare_digest.clone()))
        .await
        .expect("read bare");
    assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
    assert_eq!(m.bytes().as_ref(), bare.as_bytes());

    // A manifest blob damaged on disk is refused, naming the digest it should have.
    let mut damaged = docker.manifest.bytes().to_vec();
    let last = damaged.len() - 2;
    damaged[last] = b' ';
    std::fs::write(store.blob_path(docker.manifest.digest()), &damaged).expect("damage");
    let err = store
        .read_manifest("r", &by_digest)
        .await
        .expect_err("damaged");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&docker.manifest.digest().to_string()),
        "{err}"
    );
    std::fs::write(
        store.blob_path(docker.manifest.digest()),
        docker.manifest.bytes(),
    )
    .expect("repair");

    // A layer is not a manifest.
    let layer = ManifestRef::Digest(Digest::sha256_of(&docker.layer));
    assert_eq!(
        store.manifest_digest("r", &layer).await.expect("head"),
        None
    );
    assert_eq!(
        store.manifest_digest("r", &by_digest).await.expect("head"),
        Some(docker.manifest.digest().clone())
    );
}

#[tokio::test]
async fn foreign_entries_and_files_are_tolerated_and_kept() {
    let dir = tempdir();
    let root = dir.path();
    LayoutStore::create(root).await.expect("create");
    let foreign = json!({
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": "application/vnd.example.unknown+json",
             "digest": format!("sha384:{}", "ab".repeat(48)), "size": 12,
             "annotations": {"org.opencontainers.image.ref.name": "okd/odd:1", "x": "y"},
             "platform": {"os": "linux", "architecture": "s390x"}},
            {"mediaType": media_type::OCI_MANIFEST,
             "digest": Digest::sha256_of(b"elsewhere").to_string(), "size": 9}
        ],
        "annotations": {"made.by": "another tool"}
    });
    std::fs::write(
        root.join("index.json"),
        serde_json::to_vec(&foreign).expect("json"),
    )
    .expect("write index");
    std::fs::write(root.join("manifest.json"), b"[]").expect("extra file");
    std::fs::create_dir_all(root.join("blobs/sha512")).expect("extra dir");
    std::fs::write(root.join("blobs/README"), b"not a blob").expect("extra blob file");

    let store = LayoutStore::open(root).await.expect("open");
    assert_eq!(store.list_tags("okd/odd").await.expect("tags"), ["1"]);
    let err = store
        .read_manifest("okd/odd", &tag("1"))
        .await
        .expect_err("unknown type");
    assert!(
        err.to_string()
            .contains("application/vnd.example.unknown+json"),
        "{err}"
    );

    put_image(&store, "okd/new", Some("1"), &image(false, &[("n", "n")])).await;
    let index = read_json(&root.join("index.json"));
    assert_eq!(index["annotations"], foreign["annotations"]);
    assert_eq!(index["manifests"][0], foreign["manifests"][0]);
    assert_eq!(index["manifests"][1], foreign["manifests"][1]);
    assert_eq!(index["manifests"].as_array().expect("manifests").len(), 3);
    assert!(root.join("manifest.json").exists());
}

#[tokio::test]
async fn manifests_over_4_mib_are_refused() {
    let dir = tempdir();
    let store = LayoutStore::create(dir.path()).await.expect("create");
    // A syntactically valid index, padded past the limit.
    let mut big = String::from(r#"{"schemaVersion":2,"manifests":[],"annotations":{"pad":""#);
    big.push_str(&"x".repeat(MAX_MANIFEST_SIZE));
    big.push_str(r#""}}"#);
    let digest = Digest::sha256_of(big.as_bytes());
    store
        .put_blob("r", &digest, Bytes::from(big.clone()))
        .await
        .expect("blob");

    let err = store
        .read_manifest("r", &ManifestRef::Digest(digest.clone()))
        .await
        .expect_err("by digest");
    assert!(matches!(err, Error::ManifestTooLarge { .. }), "{err}");

    // Tagged by another tool, once with its true size and once with a lie.
    for declared in [big.len(), 100] {
        let index = json!({"schemaVersion": 2, "manifests": [{
            "mediaType": media_type::OCI_INDEX, "digest": digest.to_string(), "size": declared,
            "annotations": {"org.opencontainers.image.ref.name": "big"}}]});
        std::fs::write(
            dir.path().join("index.json"),
            serde_json::to_vec(&index).expect("json"),
        )
        .expect("write");
        let err = store
            .read_manifest("", &tag("big"))
            .await
            .expect_err("by tag");
        assert!(matches!(err, Error::ManifestTooLarge { .. }), "{err}");
    }

    // And none can be written: RawManifest itself refuses to hold one.
    let err = RawManifest::new(media_type::OCI_INDEX, big.into_bytes()).expect_err("too big");
    assert!(matches!(err, Error::ManifestTooLarge { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tagged_writes_keep_every_index_entry() {
    let dir = tempdir();
    // Two stores on one directory stand for two processes: they share no in-process lock,
    // so only the advisory file lock keeps their index updates apart.
    let first = Arc::new(LayoutStore::create(dir.path()).await.expect("create"));
    let second = Arc::new(LayoutStore::open(dir.path()).await.expect("open"));
    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let img = image(i % 3 == 0, &[("n", &i.to_string())]);
            let repo = if i % 4 == 0 { "" } else { "okd/many" };
            put_image(store.as_ref(), repo, Some(&format!("t{i}")), &img).await;
            (repo, format!("t{i}"), img.manifest.digest().clone())
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        expected.push(t.await.expect("task"));
    }
    let store = LayoutStore::open(dir.path()).await.expect("open");
    let index = read_json(&dir.path().join("index.json"));
    assert_eq!(index["manifests"].as_array().expect("manifests").len(), 48);
    for (repo, t, digest) in expected {
        assert_eq!(
            store.manifest_digest(repo, &tag(&t)).await.expect("digest"),
            Some(digest),
            "{repo}:{t}"
        );
    }
    let tags: BTreeSet<String> = store
        .list_tags("okd/many")
        .await
        .expect("tags")
        .into_iter()
        .collect();
    assert_eq!(tags.len(), 36);
}

/// Tags each child process writes.
const PER_CHILD: usize = 40;

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// Run by `writers_in_separate_processes_keep_every_index_entry` in child processes.
#[tokio::test]
#[ignore = "helper: runs only as a child process of another test, which sets OKD_LAYOUT_CHILD"]
async fn child_process_writer() {
    let spec = std::env::var("OKD_LAYOUT_CHILD").expect("OKD_LAYOUT_CHILD");
    let mut parts = spec.split('|');
    let (path, prefix, start) = (
        parts.next().expect("path"),
        parts.next().expect("prefix"),
        parts
            .next()
            .expect("start")
            .parse::<u128>()
            .expect("start time"),
    );
    let store = LayoutStore::open(path).await.expect("open");
    let images: Vec<TestImage> = (0..PER_CHILD)
        .map(|i| image(false, &[("p", &format!("{prefix}{i}"))]))
        .collect();
    // Start together with the other children, so that their index updates really overlap.
    let wait = start.saturating_sub(unix_millis());
    tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
    for (i, img) in images.iter().enumerate() {
        put_image(&store, "okd/procs", Some(&format!("{prefix}{i}")), img).await;
    }
}

#[tokio::test]
async fn writers_in_separate_processes_keep_every_index_entry() {
    let dir = tempdir();
    LayoutStore::create(dir.path()).await.expect("create");
    let exe = std::env::current_exe().expect("test binary");
    let start = unix_millis() + 700;
    let prefixes = ["a", "b", "c", "d"];
    let children: Vec<_> = prefixes
        .iter()
        .map(|prefix| {
            Command::new(&exe)
                .args(["--exact", "child_process_writer", "--ignored", "--quiet"])
                .env(
                    "OKD_LAYOUT_CHILD",
                    format!("{}|{prefix}|{start}", dir.path().display()),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "child writer failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = LayoutStore::open(dir.path()).await.expect("open");
    assert_eq!(
        store.list_tags("okd/procs").await.expect("tags").len(),
        prefixes.len() * PER_CHILD
    );
}

// ---------------------------------------------------------------------------------------------
// skopeo and umoci

async fn layout_with_images(dir: &Path) -> (PathBuf, TestImage) {
    let root = dir.join("ours");
    let oci = image(false, &[("etc/okd-release", "4.19.0\n")]);
    let store = LayoutStore::create(&root).await.expect("create");
    put_image(&store, "", Some("latest"), &oci).await;
    put_image(&store, "okd/release", Some("4.19.0"), &oci).await;
    // Docker schema 2 images live in layouts too, but containers/image only looks up
    // index.json entries of OCI media types, so skopeo cannot address this one by name.
    put_image(
        &store,
        "okd/docker",
        Some("v2s2"),
        &image(true, &[("d", "d")]),
    )
    .await;
    (root, oci)
}

#[tokio::test]
async fn skopeo_reads_the_exact_bytes_we_wrote() {
    let dir = tempdir();
    let (root, oci) = layout_with_images(dir.path()).await;
    let r = root.display();
    for name in ["latest", "okd/release:4.19.0"] {
        let raw = run("skopeo", &["inspect", "--raw", &format!("oci:{r}:{name}")]);
        assert_eq!(raw, oci.manifest.bytes().as_ref(), "manifest of {name}");
        let config = run(
            "skopeo",
            &["inspect", "--config", "--raw", &format!("oci:{r}:{name}")],
        );
        assert_eq!(config, oci.config.as_ref(), "config of {name}");
    }
}

#[tokio::test]
async fn skopeo_copies_what_we_wrote() {
    let dir = tempdir();
    let (root, oci) = layout_with_images(dir.path()).await;
    let other = dir.path().join("copy");
    let (r, o) = (root.display(), other.display());
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("oci:{r}:okd/release:4.19.0"),
            &format!("oci:{o}:okd/copied:1"),
        ],
    );
    let copy = LayoutStore::open(&other).await.expect("open copy");
    let m = copy
        .read_manifest("okd/copied", &tag("1"))
        .await
        .expect("read");
    assert_eq!(m, oci.manifest, "an OCI image is copied byte for byte");
    for blob in m.references().expect("refs") {
        copy.get_blob("", &blob.digest, blob.size)
            .await
            .expect("blob");
    }
}

#[tokio::test]
async fn we_read_what_skopeo_writes() {
    let dir = tempdir();
    let (root, oci) = layout_with_images(dir.path()).await;
    let dest = dir.path().join("skopeo-made");
    let (r, d) = (root.display(), dest.display());
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--format",
            "oci",
            &format!("oci:{r}:latest"),
            &format!("oci:{d}:okd/scos-release:4.19.0-okd-scos.1"),
        ],
    );
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("oci:{r}:okd/release:4.19.0"),
            &format!("oci:{d}:plain"),
        ],
    );
    let store = LayoutStore::open(&dest).await.expect("open skopeo layout");
    assert_eq!(
        store.repositories().await.expect("repos"),
        ["", "okd/scos-release"]
    );
    assert_eq!(
        store.list_tags("okd/scos-release").await.expect("tags"),
        ["4.19.0-okd-scos.1"]
    );
    let m = store
        .read_manifest("okd/scos-release", &tag("4.19.0-okd-scos.1"))
        .await
        .expect("read");
    assert_eq!(m.digest(), oci.manifest.digest());
    let plain = store.read_manifest("", &tag("plain")).await.expect("read");
    for blob in m
        .references()
        .expect("refs")
        .into_iter()
        .chain(plain.references().expect("refs"))
    {
        store
            .get_blob("", &blob.digest, blob.size)
            .await
            .expect("blob");
    }

    // We can add to a layout skopeo made, and skopeo still reads it all.
    let added = image(false, &[("z", "z")]);
    put_image(&store, "okd/added", Some("1"), &added).await;
    let raw = run(
        "skopeo",
        &["inspect", "--raw", &format!("oci:{d}:okd/added:1")],
    );
    assert_eq!(raw, added.manifest.bytes().as_ref());
    run("skopeo", &["inspect", "--raw", &format!("oci:{d}:plain")]);
}

#[tokio::test]
async fn umoci_unpacks_what_we_wrote() {
    let dir = tempdir();
    let (root, _) = layout_with_images(dir.path()).await;
    // umoci splits `DIR:NAME` at the first colon, so `REPO:TAG` names work as well as plain tags.
    for (name, bundle) in [("latest", "b1"), ("okd/release:4.19.0", "b2")] {
        let bundle = dir.path().join(bundle);
        umoci_unpack(&root, name, &bundle);
        assert_eq!(
            std::fs::read_to_string(bundle.join("rootfs/etc/okd-release")).expect("file"),
            "4.19.0\n"
        );
    }
}
