//! `RegistryStore` against a real `docker-registry`: round trips, skips, mounts, refusals.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use bytes::Bytes;
use futures::StreamExt;
use okd_oci::registry::RegistryStore;
use okd_oci::{BlobWrite, ByteStream, Digest, Error, ManifestRef, RawManifest, Store, StoreExt};
use registry_support::{Flavor, image, index, push, random_bytes, store};
use testkit::Registry;

async fn spawn() -> (Registry, RegistryStore) {
    let registry = Registry::spawn().await.expect("docker-registry starts");
    let store = store(&registry);
    (registry, store)
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(t.to_string())
}

#[tokio::test]
async fn multi_layer_images_round_trip_byte_exact() {
    let (_registry, store) = spawn().await;
    for (flavor, repo) in [(Flavor::Docker, "okd/docker"), (Flavor::Oci, "okd/oci")] {
        let img = image(flavor, 1, 4);
        push(&store, repo, &img, Some("4.19.0")).await;

        let by_tag = store
            .read_manifest(repo, &tag("4.19.0"))
            .await
            .expect("by tag");
        assert_eq!(by_tag.bytes(), img.manifest.bytes(), "{flavor:?} bytes");
        assert_eq!(by_tag.digest(), img.manifest.digest());
        assert_eq!(by_tag.media_type(), img.manifest.media_type());
        let by_digest = store
            .read_manifest(repo, &ManifestRef::Digest(img.manifest.digest().clone()))
            .await
            .expect("by digest");
        assert_eq!(by_digest, img.manifest);
        assert_eq!(
            store
                .manifest_digest(repo, &tag("4.19.0"))
                .await
                .expect("HEAD"),
            Some(img.manifest.digest().clone())
        );
        for (digest, data) in &img.blobs {
            assert_eq!(
                store.blob_size(repo, digest).await.expect("HEAD"),
                Some(data.len() as u64)
            );
            let back = store.get_blob(repo, digest, 1 << 20).await.expect("blob");
            assert_eq!(&back, data);
        }
        assert_eq!(store.list_tags(repo).await.expect("tags"), vec!["4.19.0"]);
    }
    let stats = store.stats();
    assert_eq!(stats.manifests_written, 2);
    assert_eq!(stats.blobs_written, 10);
    assert_eq!(stats.retries, 0);
}

#[tokio::test]
async fn manifest_lists_and_indexes_round_trip_byte_exact() {
    let (_registry, store) = spawn().await;
    for (flavor, repo) in [(Flavor::Docker, "okd/list"), (Flavor::Oci, "okd/index")] {
        let amd = image(flavor, 10, 2);
        let arm = image(flavor, 11, 2);
        push(&store, repo, &amd, None).await;
        push(&store, repo, &arm, None).await;
        let list = index(flavor, &[&amd.manifest, &arm.manifest]);
        store
            .write_manifest(repo, &list, Some("multi"))
            .await
            .expect("push list");

        let back = store
            .read_manifest(repo, &tag("multi"))
            .await
            .expect("read list");
        assert_eq!(back, list, "{flavor:?}");
        assert!(back.is_index());
        let child = store
            .read_manifest(repo, &ManifestRef::Digest(arm.manifest.digest().clone()))
            .await
            .expect("child");
        assert_eq!(child.bytes(), arm.manifest.bytes());
    }
}

/// Why a `--platform` mirror replaces a list by the chosen image instead of pushing the original
/// list with only that child present (oc-mirror's sparse lists): Debian's docker-registry
/// (distribution 2.8) refuses an index whose children are not all in the repository, and so
/// would every registry that keeps distribution's default validation.
#[tokio::test]
async fn docker_registry_refuses_a_list_whose_child_is_missing() {
    let (_registry, store) = spawn().await;
    let amd = image(Flavor::Oci, 20, 1);
    let arm = image(Flavor::Oci, 21, 1);
    push(&store, "okd/sparse", &amd, None).await;
    let list = index(Flavor::Oci, &[&amd.manifest, &arm.manifest]);
    let err = store
        .write_manifest("okd/sparse", &list, Some("sparse"))
        .await
        .expect_err("a list with a missing child is refused");
    // The registry's 400 MANIFEST_BLOB_UNKNOWN, naming the child it lacks.
    assert!(
        matches!(&err, okd_oci::Error::MissingReference { missing, .. } if missing == arm.manifest.digest()),
        "{err}"
    );
    assert_eq!(
        store
            .manifest_digest("okd/sparse", &tag("sparse"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn head_skips_present_blobs_and_mounts_across_repositories() {
    let (_registry, store) = spawn().await;
    let data = random_bytes(5, 10_000);
    let digest = Digest::sha256_of(&data);
    assert_eq!(
        store
            .put_blob("okd/a", &digest, data.clone())
            .await
            .unwrap(),
        BlobWrite::Written
    );
    assert_eq!(
        store
            .put_blob("okd/a", &digest, data.clone())
            .await
            .unwrap(),
        BlobWrite::AlreadyPresent
    );
    assert_eq!(store.stats().blobs_skipped, 1);
    assert_eq!(store.stats().blobs_written, 1);

    assert!(
        store
            .mount_blob("okd/b", "okd/a", &digest)
            .await
            .expect("mount")
    );
    assert_eq!(store.stats().blobs_mounted, 1);
    assert_eq!(
        store.blob_size("okd/b", &digest).await.unwrap(),
        Some(10_000)
    );

    // A source repository without the blob: the registry opens an upload session (202)
    // instead, which counts as "not mounted" and leaves nothing behind.
    let absent = Digest::sha256_of(b"nowhere");
    assert!(
        !store
            .mount_blob("okd/c", "okd/a", &absent)
            .await
            .expect("202 path")
    );
    assert_eq!(store.stats().blobs_mounted, 1);
    assert_eq!(store.blob_size("okd/c", &absent).await.unwrap(), None);
}

fn stream_of(data: Bytes) -> ByteStream {
    Box::pin(futures::stream::iter(
        data.chunks(1000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    ))
}

#[tokio::test]
async fn blobs_that_do_not_match_their_digest_are_never_visible() {
    let (_registry, store) = spawn().await;
    let claimed = random_bytes(6, 5000);
    let digest = Digest::sha256_of(&claimed);
    let actual = random_bytes(7, 5000);

    let err = store
        .write_blob("okd/x", &digest, 5000, stream_of(actual.clone()))
        .await
        .expect_err("wrong bytes");
    // The client does not hash uploads: the registry computes the digest and refuses the blob.
    match &err {
        Error::DigestRejected { expected, what } => {
            assert_eq!(expected, &digest);
            assert!(what.contains(&digest.to_string()), "{what}");
            assert!(what.contains("DIGEST_INVALID"), "{what}");
        }
        other => panic!("expected the registry to refuse the digest, got {other:?}"),
    }
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert_eq!(store.blob_size("okd/x", &digest).await.unwrap(), None);

    let short = store
        .write_blob("okd/x", &digest, 5000, stream_of(claimed.slice(..4000)))
        .await
        .expect_err("short stream");
    assert!(
        matches!(short, Error::SizeMismatch { actual: 4000, .. }),
        "{short:?}"
    );
    let long = store
        .write_blob("okd/x", &digest, 4000, stream_of(claimed.clone()))
        .await
        .expect_err("long stream");
    // Nothing beyond the announced size leaves: the client stops the body at its surplus, or
    // the transport ends it at `Content-Length` and the registry refuses the cut-off bytes.
    assert!(
        matches!(
            long,
            Error::SizeMismatch { .. } | Error::DigestRejected { .. }
        ),
        "{long:?}"
    );
    assert_eq!(store.blob_size("okd/x", &digest).await.unwrap(), None);
    assert_eq!(store.stats().blobs_written, 0);
}

#[tokio::test]
async fn manifests_missing_a_blob_are_refused_and_never_tagged() {
    let (_registry, store) = spawn().await;
    let img = image(Flavor::Oci, 3, 2);
    // Everything but the last layer.
    for (digest, data) in &img.blobs[..2] {
        store
            .put_blob("okd/partial", digest, data.clone())
            .await
            .unwrap();
    }
    let err = store
        .write_manifest("okd/partial", &img.manifest, Some("latest"))
        .await
        .expect_err("missing layer");
    match &err {
        Error::MissingReference {
            missing, manifest, ..
        } => {
            assert_eq!(missing, &img.blobs[2].0);
            assert_eq!(manifest, img.manifest.digest());
        }
        other => panic!("expected MissingReference, got {other:?}"),
    }
    assert!(err.to_string().contains(&img.blobs[2].0.to_string()));
    assert!(store.list_tags("okd/partial").await.unwrap().is_empty());
}

#[tokio::test]
async fn absent_things_have_typed_errors() {
    let (registry, store) = spawn().await;
    let err = store
        .read_manifest("okd/none", &tag("1"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let d = Digest::sha256_of(b"x");
    let err = store.read_blob("okd/none", &d).await.unwrap_err();
    assert!(matches!(err, Error::BlobNotFound { .. }), "{err:?}");
    assert_eq!(
        store.manifest_digest("okd/none", &tag("1")).await.unwrap(),
        None
    );
    assert!(store.list_tags("okd/none").await.unwrap().is_empty());
    assert_eq!(store.location(), registry.host());
}

#[tokio::test]
async fn tags_are_listed_sorted_and_deleted() {
    let (_registry, store) = spawn().await;
    let img = image(Flavor::Docker, 4, 1);
    push(&store, "okd/tags", &img, Some("b")).await;
    store
        .write_manifest("okd/tags", &img.manifest, Some("a"))
        .await
        .unwrap();
    store
        .write_manifest("okd/tags", &img.manifest, Some("c"))
        .await
        .unwrap();
    assert_eq!(
        store.list_tags("okd/tags").await.unwrap(),
        vec!["a", "b", "c"]
    );
    match store.delete_tag("okd/tags", "b").await {
        Ok(()) => assert_eq!(store.list_tags("okd/tags").await.unwrap(), vec!["a", "c"]),
        Err(Error::TagDeleteRefused {
            status, message, ..
        }) => {
            // distribution 2.8 deletes manifests by digest only, which would take "a" and "c"
            // with it: the refusal says so and names them, and nothing is deleted.
            assert_eq!(status, Some(400), "{message}");
            assert!(message.contains("by digest only"), "{message}");
            assert!(message.contains("a, c"), "{message}");
            assert_eq!(
                store.list_tags("okd/tags").await.unwrap(),
                vec!["a", "b", "c"]
            );
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }

    // A tag alone on its manifest is deleted on every registry, by digest where need be; the
    // other tags stay.
    let solo = image(Flavor::Docker, 5, 1);
    push(&store, "okd/tags", &solo, Some("solo")).await;
    store.delete_tag("okd/tags", "solo").await.unwrap();
    let left = store.list_tags("okd/tags").await.unwrap();
    assert!(!left.contains(&"solo".to_string()), "{left:?}");
    assert!(left.contains(&"a".to_string()) && left.contains(&"c".to_string()));
    assert_eq!(
        store
            .manifest_digest("okd/tags", &tag("a"))
            .await
            .unwrap()
            .as_ref(),
        Some(img.manifest.digest())
    );
    assert!(matches!(
        store.delete_tag("okd/tags", "solo").await,
        Err(Error::ManifestNotFound { .. })
    ));
}

/// docker-registry itself refuses manifests over 4 MiB, so an oversized answer comes from a
/// minimal server that announces 5 MiB and then sends almost nothing: a client that tried to
/// read the body would hang or fail differently.
#[tokio::test]
async fn oversized_manifests_are_refused_before_reading() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                loop {
                    let Ok(n) = conn.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let answer = if head.starts_with("GET /v2/ ") {
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_string()
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{{",
                            okd_oci::media_type::OCI_MANIFEST,
                            5 * 1024 * 1024
                        )
                    };
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let store =
        RegistryStore::new(&host, registry_support::options_for(&host, dir.path())).unwrap();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        store.read_manifest("okd/big", &tag("huge")),
    )
    .await
    .expect("refused without waiting for the body")
    .unwrap_err();
    match err {
        Error::ManifestTooLarge { size, limit, .. } => {
            assert_eq!(size, 5 * 1024 * 1024);
            assert_eq!(limit, okd_oci::MAX_MANIFEST_SIZE as u64);
        }
        other => panic!("expected ManifestTooLarge, got {other:?}"),
    }
    server.abort();
}

/// A deterministic byte source that never holds more than one chunk.
fn generated(seed: u64, size: u64) -> ByteStream {
    const CHUNK: u64 = 1 << 20;
    Box::pin(
        futures::stream::iter(0..size.div_ceil(CHUNK)).map(move |i| {
            let len = CHUNK.min(size - i * CHUNK) as usize;
            Ok(random_bytes(seed.wrapping_add(i), len))
        }),
    )
}

async fn digest_of(mut s: ByteStream) -> (Digest, u64) {
    let mut h = okd_oci::Hasher::new(okd_oci::DigestAlgorithm::Sha256);
    while let Some(chunk) = s.next().await {
        h.update(&chunk.expect("chunk"));
    }
    let n = h.len();
    (h.finish(), n)
}

#[tokio::test]
async fn large_blobs_stream_both_ways() {
    const SIZE: u64 = 256 * 1024 * 1024;
    let (_registry, store) = spawn().await;
    let (digest, _) = digest_of(generated(99, SIZE)).await;
    let written = store
        .write_blob("okd/large", &digest, SIZE, generated(99, SIZE))
        .await
        .expect("upload");
    assert_eq!(written, BlobWrite::Written);
    assert_eq!(store.stats().bytes_written, SIZE);
    let blob = store
        .read_blob("okd/large", &digest)
        .await
        .expect("download");
    assert_eq!(blob.size, SIZE);
    // read_blob verifies digest and size as the last chunk passes.
    let (back, n) = digest_of(blob.stream).await;
    assert_eq!((back, n), (digest, SIZE));
}

#[tokio::test]
async fn raw_manifest_debug_and_store_debug_are_tidy() {
    let (_registry, store) = spawn().await;
    let text = format!("{store:?}");
    assert!(text.contains("RegistryStore"));
    let m = RawManifest::new(
        okd_oci::media_type::OCI_INDEX,
        br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
    )
    .unwrap();
    store
        .write_manifest("okd/empty", &m, Some("empty"))
        .await
        .expect("empty index");
    assert_eq!(
        store
            .read_manifest("okd/empty", &tag("empty"))
            .await
            .unwrap(),
        m
    );
}
