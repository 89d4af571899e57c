//! Hostile release images: what an untrusted registry or payload author could put in a release
//! image's manifest, configuration or release layer. Each must end in a typed error naming the
//! offending input (or, for content the loader does not look at, be ignored), without panicking,
//! allocating from announced sizes, or reading unbounded amounts of data.

use crate::common;

use std::io::Write;

use bytes::Bytes;
use common::*;
use okd_oci::{
    Digest, DigestAlgorithm, ManifestRef, MemoryStore, RawManifest, Store, StoreExt, media_type,
};
use okd_release::{Error, ImageReferences, LoadOptions, Release, TagReference};

const REPO: &str = "okd/release";
const NAME: &str = "4.19.0-okd-scos.1";

fn image_references() -> String {
    let created = created();
    let mut is = ImageReferences::new(NAME, created);
    is.spec.tags = vec![TagReference::new("cluster-version-operator", &pullspec(1))];
    is.to_json()
}

fn tag() -> ManifestRef {
    ManifestRef::Tag(NAME.into())
}

async fn load_layer(layer: &Layer) -> Result<Release, Error> {
    let store = MemoryStore::new();
    put_release(&store, REPO, NAME, NAME, layer).await;
    Release::load(&store, REPO, &tag()).await
}

/// A release layer holding a valid image-references, then `hostile` (an entry header and its
/// data), then a harmless manifest.
fn layer_with(hostile: tar::Header, data: &[u8]) -> Layer {
    let refs = image_references();
    Layer::gzip_tar(|b| {
        let h = Layer::raw_header("release-manifests/", tar::EntryType::Directory, 0);
        b.append(&h, &[][..]).unwrap();
        let h = Layer::raw_header(
            "release-manifests/image-references",
            tar::EntryType::Regular,
            refs.len() as u64,
        );
        b.append(&h, refs.as_bytes()).unwrap();
        b.append(&hostile, data).unwrap();
        let h = Layer::raw_header(
            "release-manifests/0000_50_x.yaml",
            tar::EntryType::Regular,
            5,
        );
        b.append(&h, &b"kind:"[..]).unwrap();
    })
}

fn assert_unsafe(err: &Error, expected_entry: &str) {
    match err {
        Error::UnsafeEntry { entry, image, .. } => {
            assert_eq!(entry, expected_entry, "{err}");
            assert!(image.contains(REPO), "the error names the image: {err}");
        }
        other => panic!("expected UnsafeEntry for {expected_entry:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn links_devices_and_fifos_in_release_manifests_are_refused() {
    let cases = [
        Layer::link_header(
            "release-manifests/passwd",
            tar::EntryType::Link,
            "../../../../etc/shadow",
        ),
        Layer::link_header(
            "release-manifests/alias.yaml",
            tar::EntryType::Link,
            "release-manifests/image-references",
        ),
        Layer::link_header(
            "release-manifests/root",
            tar::EntryType::Symlink,
            "../../../../../",
        ),
        Layer::raw_header("release-manifests/tty", tar::EntryType::Char, 0),
        Layer::raw_header("release-manifests/sda", tar::EntryType::Block, 0),
        Layer::raw_header("release-manifests/pipe", tar::EntryType::Fifo, 0),
    ];
    for header in cases {
        let name = String::from_utf8_lossy(&header.path_bytes()).into_owned();
        let err = load_layer(&layer_with(header, &[])).await.unwrap_err();
        assert_unsafe(&err, &name);
    }
}

#[tokio::test]
async fn paths_climbing_out_of_release_manifests_are_refused() {
    for name in [
        "release-manifests/a/b/../../../../etc/passwd",
        "/release-manifests/../../etc/cron.d/okd",
        "./release-manifests/./../root/.ssh/authorized_keys",
    ] {
        let header = Layer::raw_header(name, tar::EntryType::Regular, 4);
        let err = load_layer(&layer_with(header, b"evil")).await.unwrap_err();
        assert_unsafe(&err, name);
    }
}

#[tokio::test]
async fn absolute_paths_stay_inside_the_layer() {
    // Outside release-manifests/: ignored, whatever it is.
    for header in [
        Layer::raw_header("/etc/passwd", tar::EntryType::Regular, 4),
        Layer::link_header("/usr/bin/sh", tar::EntryType::Symlink, "/bin/busybox"),
        Layer::raw_header("/dev/sda", tar::EntryType::Block, 0),
    ] {
        let data: &[u8] = if header.entry_type().is_file() {
            b"root"
        } else {
            &[]
        };
        let release = load_layer(&layer_with(header, data)).await.unwrap();
        let names: Vec<&str> = release.manifests.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["0000_50_x.yaml"]);
        assert!(release.other_files.is_empty());
    }
    // An absolute name inside release-manifests/ is read relative to the layer, as `oc` does.
    let header = Layer::raw_header(
        "/release-manifests/0000_10_abs.yaml",
        tar::EntryType::Regular,
        3,
    );
    let release = load_layer(&layer_with(header, b"a: ")).await.unwrap();
    let names: Vec<&str> = release.manifests.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["0000_10_abs.yaml", "0000_50_x.yaml"]);
}

/// `members` gzip members, each 1 MiB of zeros: a blob of about a kilobyte per MiB it expands to.
fn gzip_bomb(prefix: &[u8], members: usize) -> Vec<u8> {
    let mut first = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    first.write_all(prefix).unwrap();
    let mut out = first.finish().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = gz.finish().unwrap();
    out.reserve(member.len() * members);
    for _ in 0..members {
        out.extend_from_slice(&member);
    }
    out
}

fn raw_layer(bytes: Vec<u8>) -> Layer {
    Layer {
        digest: Digest::sha256_of(&bytes),
        // Not checked by the loader; the bomb has no meaningful diff_id.
        diff_id: Digest::sha256_of(b"bomb"),
        bytes,
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_at_the_unpacked_limit() {
    // A tar entry announcing 8 GiB of data outside release-manifests/, then 8 GiB of zeros
    // in about 8 MB of gzip: the reader skips the entry's data by reading it, and the unpacked
    // bound stops it long before the end.
    let mut header = Layer::raw_header("usr/share/filler", tar::EntryType::Regular, 0);
    header.set_size(8 << 30);
    header.set_cksum();
    let bomb = raw_layer(gzip_bomb(header.as_bytes(), 8 * 1024));
    assert!(bomb.bytes.len() < 16 << 20, "{} bytes", bomb.bytes.len());
    let store = MemoryStore::new();
    put_release(&store, REPO, NAME, NAME, &bomb).await;
    let options = LoadOptions {
        max_unpacked_size: 256 << 20,
        ..LoadOptions::default()
    };
    let err = Release::load_with(&store, REPO, &tag(), &options)
        .await
        .unwrap_err();
    match &err {
        Error::TooLarge { what, limit, size } => {
            assert!(what.contains("uncompressed"), "{err}");
            assert!(what.contains(&bomb.digest.to_string()), "{err}");
            assert_eq!(*limit, 256 << 20);
            assert!(*size > *limit && *size < *limit + (1 << 20), "{err}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_with_the_default_limits() {
    // 16 GiB of zeros after the release-manifests/ directory; the default bound is 2 GiB.
    let dir = Layer::raw_header("release-manifests/", tar::EntryType::Directory, 0);
    let mut filler = Layer::raw_header("release-manifests.img", tar::EntryType::Regular, 0);
    filler.set_size(16 << 30);
    filler.set_cksum();
    let mut prefix = dir.as_bytes().to_vec();
    prefix.extend_from_slice(filler.as_bytes());
    let bomb = raw_layer(gzip_bomb(&prefix, 16 * 1024));
    let err = load_layer(&bomb).await.unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { limit, .. } if *limit == LoadOptions::default().max_unpacked_size),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_file_announcing_an_absurd_size_is_refused_before_reading() {
    let mut header = Layer::raw_header("release-manifests/huge.yaml", tar::EntryType::Regular, 0);
    // The largest size a ustar header's octal field holds (8 GiB - 1), and a base-256 one.
    header.set_size(0o777_7777_7777);
    header.set_cksum();
    let err = load_layer(&layer_with(header, &[])).await.unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { what, size, .. }
            if what.contains("release-manifests/huge.yaml") && *size == 0o777_7777_7777),
        "{err:?}"
    );
    let mut header = tar::Header::new_gnu();
    header.set_path("release-manifests/huge2.yaml").unwrap();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(1 << 62);
    header.set_cksum();
    let err = load_layer(&layer_with(header, &[])).await.unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { size, .. } if *size == 1 << 62),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_truncated_file_is_an_error_not_a_short_read() {
    // The header announces 1 MiB, the stream ends after 5 bytes.
    let refs = image_references();
    // Written by hand: a tar::Builder would end the archive before the truncated entry.
    let mut bytes = Vec::new();
    let h = Layer::raw_header(
        "release-manifests/image-references",
        tar::EntryType::Regular,
        refs.len() as u64,
    );
    bytes.extend_from_slice(h.as_bytes());
    bytes.extend_from_slice(refs.as_bytes());
    bytes.resize(bytes.len().next_multiple_of(512), 0);
    let h = Layer::raw_header(
        "release-manifests/cut.yaml",
        tar::EntryType::Regular,
        1 << 20,
    );
    bytes.extend_from_slice(h.as_bytes());
    bytes.extend_from_slice(b"kind:");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let err = load_layer(&raw_layer(gz.finish().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Layer { reason, .. }
            if reason.contains("release-manifests/cut.yaml") && reason.contains("1048576")),
        "{err:?}"
    );
}

/// A registry that serves one fixed manifest for every manifest request, whatever it holds,
/// and the blobs of a MemoryStore: the descriptors of a hostile manifest reach the loader as
/// they would from an untrusted registry, without any store's own checks on writing.
#[derive(Debug)]
struct Serving {
    blobs: MemoryStore,
    manifest: RawManifest,
}

#[async_trait::async_trait]
impl Store for Serving {
    fn location(&self) -> String {
        "hostile.example".to_string()
    }
    async fn blob_size(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, okd_oci::Error> {
        self.blobs.blob_size(repo, digest).await
    }
    async fn read_blob(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<okd_oci::Blob, okd_oci::Error> {
        self.blobs.read_blob(repo, digest).await
    }
    async fn write_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: okd_oci::ByteStream,
    ) -> Result<okd_oci::BlobWrite, okd_oci::Error> {
        self.blobs.write_blob(repo, digest, size, data).await
    }
    async fn mount_blob(&self, _: &str, _: &str, _: &Digest) -> Result<bool, okd_oci::Error> {
        Ok(false)
    }
    async fn read_manifest(&self, _: &str, _: &ManifestRef) -> Result<RawManifest, okd_oci::Error> {
        Ok(self.manifest.clone())
    }
    async fn manifest_digest(
        &self,
        _: &str,
        _: &ManifestRef,
    ) -> Result<Option<Digest>, okd_oci::Error> {
        Ok(Some(self.manifest.digest().clone()))
    }
    async fn write_manifest(
        &self,
        _: &str,
        _: &RawManifest,
        _: Option<&str>,
    ) -> Result<(), okd_oci::Error> {
        Ok(())
    }
    async fn list_tags(&self, _: &str) -> Result<Vec<String>, okd_oci::Error> {
        Ok(vec![NAME.to_string()])
    }
    async fn delete_tag(&self, _: &str, _: &str) -> Result<(), okd_oci::Error> {
        Ok(())
    }
    fn stats(&self) -> okd_oci::StoreStats {
        self.blobs.stats()
    }
}

/// Stores a config and a release layer, and serves a manifest for them whose JSON `edit`
/// changed. Returns the store, or the error of wrapping the edited bytes as a manifest.
async fn serving(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Serving, okd_oci::Error> {
    let blobs = MemoryStore::new();
    let layer = release_layer(&[("image-references", image_references().as_bytes())]);
    let config = config_json(&[], "amd64", &[&layer.diff_id]);
    let config_digest = Digest::sha256_of(&config);
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "size": config.len(), "digest": config_digest.to_string()},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "size": layer.bytes.len(), "digest": layer.digest.to_string()}],
    });
    blobs
        .put_blob(REPO, &config_digest, Bytes::from(config))
        .await
        .unwrap();
    blobs
        .put_blob(REPO, &layer.digest, Bytes::from(layer.bytes.clone()))
        .await
        .unwrap();
    edit(&mut manifest);
    let manifest = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    )?;
    Ok(Serving { blobs, manifest })
}

#[tokio::test]
async fn absurd_descriptor_sizes_are_refused_before_anything_is_read() {
    for size in [1u64 << 63, u64::MAX, 1 << 40] {
        let store = serving(|m| m["layers"][0]["size"] = size.into())
            .await
            .unwrap();
        let err = Release::load(&store, REPO, &tag()).await.unwrap_err();
        assert!(
            matches!(&err, Error::TooLarge { size: s, .. } if *s == size),
            "layer size {size}: {err:?}"
        );
        assert_eq!(store.stats().blobs_read, 1, "only the config was read");

        let store = serving(|m| m["config"]["size"] = size.into())
            .await
            .unwrap();
        let err = Release::load(&store, REPO, &tag()).await.unwrap_err();
        assert!(
            matches!(&err, Error::TooLarge { what, size: s, .. } if *s == size && what.contains("config")),
            "config size {size}: {err:?}"
        );
        assert_eq!(store.stats().blobs_read, 0, "nothing was read");
    }
}

#[tokio::test]
async fn descriptor_sizes_that_lie_fail_verification() {
    for delta in [-1i64, 1] {
        let store = serving(|m| {
            let size = m["layers"][0]["size"].as_i64().unwrap();
            m["layers"][0]["size"] = (size + delta).into();
        })
        .await
        .unwrap();
        let err = Release::load(&store, REPO, &tag()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Oci(okd_oci::Error::SizeMismatch { .. })),
            "{delta}: {err:?}"
        );
    }
}

#[tokio::test]
async fn digest_algorithms_other_than_sha256_and_sha512_are_refused() {
    for (field, alg, hex_len) in [
        ("layers", "sha384", 96),
        ("layers", "md5", 32),
        ("config", "sha1", 40),
        ("layers", "blake3", 64),
    ] {
        let bogus = format!("{alg}:{}", "a".repeat(hex_len));
        let store = serving(|m| match field {
            "layers" => m["layers"][0]["digest"] = bogus.clone().into(),
            _ => m["config"]["digest"] = bogus.clone().into(),
        })
        .await
        .unwrap();
        let err = Release::load(&store, REPO, &tag()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Oci(okd_oci::Error::InvalidManifest { reason, .. }) if reason.contains(alg)),
            "{alg}: {err:?}"
        );
        // The config comes before the layers; nothing is read under the bogus digest.
        let expected_reads = if field == "config" { 0 } else { 1 };
        assert_eq!(store.stats().blobs_read, expected_reads, "{alg} in {field}");
    }
    // Digests that are not even well-formed never become a manifest.
    let err = serving(|m| m["layers"][0]["digest"] = format!("SHA256:{}", "a".repeat(64)).into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, okd_oci::Error::InvalidManifest { .. }),
        "{err:?}"
    );

    // A component pinned by an unsupported digest is named with its tag.
    let created = created();
    let mut is = ImageReferences::new(NAME, created);
    is.spec.tags = vec![TagReference::new(
        "cluster-version-operator",
        &format!("quay.io/okd/scos-content@sha1:{}", "b".repeat(40)),
    )];
    let layer = release_layer(&[("image-references", is.to_json().as_bytes())]);
    let err = load_layer(&layer).await.unwrap_err();
    match &err {
        Error::InvalidPullspec { tag, reason, .. } => {
            assert_eq!(tag, "cluster-version-operator");
            assert!(reason.contains("sha1"), "{err}");
        }
        other => panic!("expected InvalidPullspec, got {other:?}"),
    }
}

#[tokio::test]
async fn sha512_layers_are_verified_like_sha256_ones() {
    let layer = release_layer(&[("image-references", image_references().as_bytes())]);
    let sha512 = Digest::of(DigestAlgorithm::Sha512, &layer.bytes);
    let store = MemoryStore::new();
    store
        .put_blob(REPO, &sha512, Bytes::from(layer.bytes.clone()))
        .await
        .unwrap();
    let config = config_json(&[], "amd64", &[&layer.diff_id]);
    let config_digest = Digest::sha256_of(&config);
    store
        .put_blob(REPO, &config_digest, Bytes::from(config.clone()))
        .await
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "size": config.len(), "digest": config_digest.to_string()},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "size": layer.bytes.len(), "digest": sha512.to_string()}],
    });
    let raw = RawManifest::new(
        media_type::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    store.write_manifest(REPO, &raw, Some(NAME)).await.unwrap();
    let release = Release::load(&store, REPO, &tag()).await.unwrap();
    assert_eq!(release.layer_digest, sha512);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_documents_are_refused_without_quadratic_parsing() {
    // JSON that does not parse as JSON is read again as YAML, and the YAML scanner spends time
    // proportional to the nesting depth on every token: at 300 000 levels that is many minutes
    // of one thread, so the load runs in a task the test can stop waiting for.
    for doc in [
        format!("{{\"kind\":{}", "[".repeat(300_000)),
        "a: {".repeat(300_000),
    ] {
        let layer = release_layer(&[("image-references", doc.as_bytes())]);
        let task = tokio::spawn(async move { load_layer(&layer).await });
        let err = tokio::time::timeout(std::time::Duration::from_secs(60), task)
            .await
            .expect("the nesting is refused before the YAML scanner sees it")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidDocument { file, .. } if file.contains("image-references")),
            "{err:?}"
        );
    }
}
