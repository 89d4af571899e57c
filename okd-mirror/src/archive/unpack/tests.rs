//! Extraction in parallel, and large blobs left in the chunks and read from there.

use super::*;
use crate::archive::format::{ArchiveRelease, blob_path};
use crate::archive::pack::{MIN_CHUNK_SIZE, PackFile, PackOptions, pack};
use okd_oci::Store;

/// Packs blobs of `sizes` into chunks of at most `max_chunk_size` in `out`; returns each blob
/// with its bytes, and the manifest.
fn packed(
    out: &Path,
    sizes: &[usize],
    max_chunk_size: u64,
) -> (Vec<(Digest, Vec<u8>)>, ArchiveManifest) {
    let src = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut originals = Vec::new();
    for (n, size) in sizes.iter().enumerate() {
        let bytes: Vec<u8> = (0..*size).map(|i| ((i + n) * 13 % 251) as u8).collect();
        let source = src.path().join(n.to_string());
        std::fs::write(&source, &bytes).unwrap();
        let digest = Digest::sha256_of(&bytes);
        files.push(PackFile {
            path: blob_path(&digest),
            source,
            size: *size as u64,
            digest: digest.clone(),
        });
        originals.push((digest, bytes));
    }
    let (chunks, entries) = pack(out, &files, PackOptions { max_chunk_size }).unwrap();
    let manifest = ArchiveManifest {
        format: ARCHIVE_FORMAT.to_string(),
        release: Some(ArchiveRelease {
            source: "quay.io/okd/scos-release:4.19.0-okd-scos.1".into(),
            digest: originals[0].0.clone(),
            repository: "okd/release".into(),
            tag: "4.19.0-okd-scos.1".into(),
            signatures: Vec::new(),
        }),
        image_set: None,
        max_chunk_size,
        chunks,
        entries,
        omitted: Vec::new(),
        omitted_bytes: 0,
    };
    (originals, manifest)
}

/// A blob split over several chunks is put back together whichever chunk is extracted first.
#[test]
fn chunks_extract_in_parallel_and_split_blobs_come_back_whole() {
    let (out, staging) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (originals, manifest) = packed(out.path(), &[700_000, 3_300_000, 10], MIN_CHUNK_SIZE);
    assert!(
        manifest
            .entries
            .iter()
            .filter(|e| e.part_of.is_some())
            .count()
            >= 3
    );
    let in_place = extract_chunks(out.path(), staging.path(), &manifest).unwrap();
    assert!(in_place.is_empty(), "blobs this small are extracted");
    for (digest, bytes) in &originals {
        let back = std::fs::read(staging.path().join(blob_path(digest))).unwrap();
        assert!(back == *bytes, "{digest} differs");
    }
}

/// Blobs larger than a manifest, whole in one chunk or split over several, are not written to
/// the staging layout; the store reads them from the chunks, and a chunk cut short after it was
/// checked fails the read, naming the chunk.
#[tokio::test]
async fn large_blobs_are_read_from_the_chunks() {
    let (out, staging) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mib = 1 << 20;
    let sizes = [5 * mib + 1, 10, 11 * mib];
    let (originals, manifest) = packed(out.path(), &sizes, 8 << 20);
    assert!(
        manifest.entries.iter().any(|e| e.part_of.is_some()),
        "the largest is split"
    );
    let in_place = extract_chunks(out.path(), staging.path(), &manifest).unwrap();
    assert_eq!(in_place.len(), 2);
    for (digest, bytes) in &originals {
        let extracted = staging.path().join(blob_path(digest)).is_file();
        assert_eq!(
            extracted,
            bytes.len() < mib,
            "{digest} extracted: {extracted}"
        );
    }

    let layout = okd_oci::LayoutStore::open_or_create(staging.path())
        .await
        .unwrap();
    let store = ArchiveStore::new(layout, Arc::new(in_place));
    for (digest, bytes) in &originals {
        let size = store.blob_size("okd/release", digest).await.unwrap();
        assert_eq!(size, Some(bytes.len() as u64));
        let blob = store.read_blob("okd/release", digest).await.unwrap();
        let back = blob.collect("a blob", u64::MAX).await.unwrap();
        assert!(back[..] == bytes[..], "{digest} read back differs");
    }

    let (largest, _) = &originals[2];
    let last = out.path().join(&manifest.chunks.last().unwrap().file);
    let len = std::fs::metadata(&last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let blob = store
        .read_blob_unverified("okd/release", largest)
        .await
        .unwrap();
    let err = blob.collect("a blob", u64::MAX).await.unwrap_err();
    assert!(
        matches!(err, okd_oci::Error::SizeMismatch { .. })
            && err.to_string().contains(&last.display().to_string()),
        "{err}"
    );
}
