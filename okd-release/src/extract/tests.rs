use okd_oci::{MemoryStore, StoreExt};
use testkit::payload::{PayloadSpec, generate};
use testkit::tampering::Tampering;

use super::*;

#[test]
fn paths() {
    let rel = |name| release_path(clean_entry_name(name));
    assert_eq!(rel("./release-manifests/a.yaml"), Some("a.yaml"));
    assert_eq!(rel("release-manifests"), Some(""));
    assert_eq!(rel("release-manifests/"), Some(""));
    assert_eq!(rel("release-manifestsx/a"), None);
    assert_eq!(rel("manifests/a"), None);
    assert_eq!(safe_parts("a/./b").unwrap(), ["a", "b"]);
    assert!(safe_parts("a/../../b").is_err());
    assert!(safe_parts("").unwrap().is_empty());
}

fn layer(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o444);
        if kind.is_symlink() {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

const LIMITS: Limits = Limits {
    file: 1 << 20,
    total: 1 << 20,
};

/// Stages the uncompressed tar `data` and places it, as an extraction does after verifying.
fn unpack(data: &[u8], dir: &Path, limits: Limits) -> Result<(usize, u64), ExtractError> {
    stage(&mut &data[..], dir, "t", limits)?.place(dir)
}

fn entries_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn unpacks_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), b"old").unwrap();
    let data = layer(&[
        ("release-manifests/", tar::EntryType::Directory, b""),
        (
            "release-manifests/a.yaml",
            tar::EntryType::Regular,
            b"kind: A\n",
        ),
        (
            "release-manifests/sub/b.json",
            tar::EntryType::Regular,
            b"{}",
        ),
        ("usr/bin/x", tar::EntryType::Regular, b"not ours"),
    ]);
    let (n, bytes) = unpack(&data, dir.path(), LIMITS).unwrap();
    assert_eq!((n, bytes), (2, 10));
    assert_eq!(
        std::fs::read(dir.path().join("a.yaml")).unwrap(),
        b"kind: A\n"
    );
    assert_eq!(std::fs::read(dir.path().join("sub/b.json")).unwrap(), b"{}");
    assert!(!dir.path().join("usr").exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn refuses_escapes_and_links_without_writing() {
    for (entries, bad) in [
        (
            vec![(
                "release-manifests/../evil",
                tar::EntryType::Regular,
                &b"x"[..],
            )],
            "release-manifests/../evil",
        ),
        (
            vec![("release-manifests/l", tar::EntryType::Symlink, &b""[..])],
            "release-manifests/l",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![(
            "release-manifests/ok.yaml",
            tar::EntryType::Regular,
            &b"k"[..],
        )];
        all.extend(entries);
        let e = unpack(&layer(&all), dir.path(), LIMITS).unwrap_err();
        assert!(
            matches!(&e, ExtractError::UnsafeEntry { entry, .. } if entry == bad),
            "{e}"
        );
        assert!(e.to_string().contains("unsafe entry"), "{e}");
        assert_eq!(entries_in(dir.path()), 0);
    }
}

#[cfg(unix)]
#[test]
fn does_not_follow_links_in_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("sub")).unwrap();
    let data = layer(&[(
        "release-manifests/sub/b.json",
        tar::EntryType::Regular,
        b"{}",
    )]);
    let e = unpack(&data, dir.path(), LIMITS).unwrap_err();
    assert!(
        matches!(&e, ExtractError::LinkInTarget { path } if *path == dir.path().join("sub")),
        "{e}"
    );
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(entries_in(outside.path()), 0);
    // A link in place of a file is replaced, not written through.
    let target = outside.path().join("victim");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("a.yaml")).unwrap();
    let data = layer(&[("release-manifests/a.yaml", tar::EntryType::Regular, b"new")]);
    unpack(&data, dir.path(), LIMITS).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert_eq!(std::fs::read(dir.path().join("a.yaml")).unwrap(), b"new");
}

#[test]
fn refuses_oversized_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b'x'; 100];
    let data = layer(&[("release-manifests/big", tar::EntryType::Regular, &big)]);
    let limits = Limits {
        file: 10,
        total: 1000,
    };
    let e = unpack(&data, dir.path(), limits).unwrap_err();
    assert!(
        matches!(
            &e,
            ExtractError::TooLarge { path, size: 100, file_limit: 10, .. } if path == "big"
        ),
        "{e}"
    );
    assert!(e.to_string().contains("too large"), "{e}");
    assert_eq!(entries_in(dir.path()), 0);
}

#[tokio::test]
async fn refuses_a_layer_that_decompresses_past_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let filler = vec![0u8; 64 * 1024];
    let tarball = layer(&[
        ("release-manifests/a.yaml", tar::EntryType::Regular, b"a"),
        ("other/zeros", tar::EntryType::Regular, &filler),
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &tarball).unwrap();
    let data = gz.finish().unwrap();
    assert!(data.len() < 4096, "the test layer should compress well");
    let store = MemoryStore::new();
    let digest = okd_oci::Digest::sha256_of(&data);
    let blob = BlobRef {
        digest: digest.clone(),
        size: data.len() as u64,
        media_type: okd_oci::media_type::DOCKER_LAYER_GZIP.to_string(),
    };
    store.put_blob("r", &digest, data.into()).await.unwrap();
    let limits = LayerLimits {
        compressed: 1 << 20,
        unpacked: 16 * 1024,
    };
    let target = dir.path().to_path_buf();
    let e = read_layer(&store, "r", &blob, "t", limits, move |layer_tar| {
        stage(layer_tar, &target, "t", LIMITS)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ExtractError::Release(Error::TooLarge { limit: 16384, .. })
        ),
        "{e}"
    );
    assert_eq!(entries_in(dir.path()), 0);
}

/// The release image of a generated payload, and the store holding it.
async fn payload() -> (MemoryStore, testkit::payload::Payload, ImageRef) {
    let store = MemoryStore::new();
    let p = generate(&store, &PayloadSpec::new().components(12))
        .await
        .unwrap();
    let image = format!("quay.io/{}:{}", p.release.repo, p.release.tag)
        .parse()
        .unwrap();
    (store, p, image)
}

#[tokio::test]
async fn extracts_the_release_manifests_byte_for_byte() {
    let (store, p, image) = payload().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let done = extract(&store, &image, &out).await.unwrap();
    assert_eq!(done.release.name, p.version);
    assert_eq!(done.files, p.release_files.len());
    let expected: u64 = p.release_files.iter().map(|f| f.content.len() as u64).sum();
    assert_eq!(done.bytes, expected);
    assert_eq!(entries_in(&out), p.release_files.len());
    for f in &p.release_files {
        assert_eq!(
            std::fs::read(out.join(&f.name)).unwrap(),
            f.content.as_bytes(),
            "{}",
            f.name
        );
    }
}

#[tokio::test]
async fn a_layer_that_fails_its_digest_leaves_nothing() {
    let (store, p, image) = payload().await;
    let release = Release::load_image(&store, &image).await.unwrap();
    let size = store
        .blob_size(&p.release.repo, &release.layer_digest)
        .await
        .unwrap()
        .unwrap();
    // The last bytes: every file is staged before the damage is read.
    let store = Tampering::new(store, size as usize - 1);
    store.tamper_with(release.layer_digest.clone());
    let dir = tempfile::tempdir().unwrap();
    let e = unpack_release(
        &store,
        &p.release.repo,
        release,
        dir.path(),
        &LoadOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ExtractError::Release(_)), "{e}");
    assert_eq!(
        entries_in(dir.path()),
        0,
        "no file and no staging directory"
    );
}

#[tokio::test]
async fn refuses_an_image_that_is_not_a_release() {
    let (store, p, _) = payload().await;
    let hyperkube = p.component("hyperkube").unwrap();
    let image: ImageRef = format!("quay.io/{}:{}", p.content_repo, hyperkube.name)
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let never = dir.path().join("never");
    let e = extract(&store, &image, &never).await.unwrap_err();
    assert!(e.to_string().contains("not a release image"), "{e}");
    assert!(!never.exists());
}

#[test]
fn refuses_a_layer_without_release_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let data = layer(&[("usr/bin/x", tar::EntryType::Regular, b"x")]);
    let e = unpack(&data, dir.path(), LIMITS).unwrap_err();
    assert!(matches!(&e, ExtractError::NoReleaseManifests { .. }), "{e}");
    assert_eq!(entries_in(dir.path()), 0);
}
