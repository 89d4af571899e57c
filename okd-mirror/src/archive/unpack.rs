//! Checking an archive's chunks while extracting them into a staging layout.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use okd_oci::{Digest, DigestAlgorithm, Hasher};

use super::format::{
    ARCHIVE_FORMAT, ArchiveEntry, ArchiveManifest, HISTORY_PATH, MANIFEST_DIGEST_PATH,
    MANIFEST_PATH, chunk_file_name, chunk_index, is_safe_path,
};
use super::history::History;
use super::pack::HashingReader;
use crate::Error;

/// Most bytes one file of the index chunk may have (the manifest of a large payload is a few
/// MiB).
const INDEX_FILE_LIMIT: u64 = 256 << 20;

/// The checked index of an archive.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub manifest: ArchiveManifest,
    pub history: History,
    /// The other files of chunk 0 (`oci-layout`, `index.json`, the history), checked against
    /// the manifest.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// An archive extracted and checked.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// Its manifest.
    pub manifest: ArchiveManifest,
    /// Its history (what it and the archives before it delivered).
    pub history: History,
    /// The layout it was extracted into.
    pub layout: PathBuf,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Archive {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads and checks chunk 0 of the archive in `dir`.
pub(crate) fn read_index(dir: &Path) -> Result<Index, Error> {
    let path = dir.join(chunk_file_name(0));
    if !path.is_file() {
        return Err(bad(
            &path,
            "missing: chunk 0 holds the archive's index (is this an okd-streams archive, copied whole?)",
        ));
    }
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries()
        .map_err(|e| bad(&path, format!("not a tar file: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(&path, format!("truncated or corrupt: {e}")))?;
        let name = entry_path(&entry, &path)?;
        if entry.size() > INDEX_FILE_LIMIT {
            return Err(bad(&path, format!("{name} is too large for an index file")));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(&path, format!("truncated or corrupt at {name}: {e}")))?;
        files.insert(name, bytes);
    }
    let text = files
        .remove(MANIFEST_PATH)
        .ok_or_else(|| bad(&path, format!("no {MANIFEST_PATH}: not an archive index")))?;
    let recorded = files
        .remove(MANIFEST_DIGEST_PATH)
        .ok_or_else(|| bad(&path, format!("no {MANIFEST_DIGEST_PATH}")))?;
    let actual = Digest::sha256_of(&text);
    if String::from_utf8_lossy(&recorded).trim() != actual.to_string() {
        return Err(bad(
            &path,
            format!("{MANIFEST_PATH} is corrupt (it hashes to {actual})"),
        ));
    }
    let manifest: ArchiveManifest =
        serde_json::from_slice(&text).map_err(|e| bad(&path, format!("{MANIFEST_PATH}: {e}")))?;
    if manifest.format != ARCHIVE_FORMAT {
        return Err(bad(
            &path,
            format!(
                "archive format {:?}, this version reads {ARCHIVE_FORMAT:?}",
                manifest.format
            ),
        ));
    }
    check_index_files(&path, &manifest, &files)?;
    let history = match files.get(HISTORY_PATH) {
        Some(bytes) => {
            serde_json::from_slice(bytes).map_err(|e| bad(&path, format!("{HISTORY_PATH}: {e}")))?
        }
        None => return Err(bad(&path, format!("no {HISTORY_PATH}"))),
    };
    Ok(Index {
        manifest,
        history,
        files,
    })
}

/// Chunk 0 holds exactly the files the manifest lists for it, each with its digest.
fn check_index_files(
    path: &Path,
    manifest: &ArchiveManifest,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    let listed: Vec<&ArchiveEntry> = manifest.entries.iter().filter(|e| e.chunk == 0).collect();
    if listed.len() != files.len() {
        return Err(bad(
            path,
            format!(
                "holds {} files, the manifest lists {}",
                files.len(),
                listed.len()
            ),
        ));
    }
    for entry in listed {
        let bytes = files
            .get(&entry.path)
            .ok_or_else(|| bad(path, format!("{} is missing", entry.path)))?;
        if Digest::sha256_of(bytes) != entry.digest {
            return Err(bad(path, format!("{} is corrupt", entry.path)));
        }
    }
    Ok(())
}

fn entry_path<R: Read>(entry: &tar::Entry<'_, R>, chunk: &Path) -> Result<String, Error> {
    let name = entry
        .path()
        .map_err(|e| bad(chunk, format!("unreadable file name: {e}")))?
        .to_string_lossy()
        .into_owned();
    if !is_safe_path(&name) {
        return Err(bad(chunk, format!("unsafe path {name:?}")));
    }
    Ok(name)
}

/// Checks every chunk of the archive in `dir` against its index and extracts it into `staging`
/// (a new, empty directory), which becomes an OCI layout. Fails on the first chunk that is
/// missing, of the wrong size, does not hash to its recorded SHA-256, or does not hold the
/// files listed for it in order, naming it; the staging directory is then only scratch.
pub fn unpack(dir: &Path, staging: &Path) -> Result<Unpacked, Error> {
    let index = read_index(dir)?;
    check_chunk_files(dir, &index.manifest)?;
    for (name, bytes) in &index.files {
        let target = staging.join(name);
        create_parent(&target)?;
        std::fs::write(&target, bytes).map_err(|e| Error::io(&target, e))?;
    }
    extract_chunks(dir, staging, &index.manifest)?;
    Ok(Unpacked {
        manifest: index.manifest,
        history: index.history,
        layout: staging.to_path_buf(),
    })
}

/// Extracts and checks every chunk, as many at once as there are cores: hashing each chunk is
/// the restore's own CPU work, and chunks are independent, since each part of a blob split over
/// chunks is written at its offset. The error of the first failing chunk (in chunk order among
/// those looked at) is returned; once one failed, no other is started.
fn extract_chunks(dir: &Path, staging: &Path, manifest: &ArchiveManifest) -> Result<(), Error> {
    let offsets = part_offsets(&manifest.entries);
    let chunks = &manifest.chunks;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, chunks.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Error>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(chunk) = chunks.get(i) else { break };
                    let expected: Vec<(&ArchiveEntry, u64)> = manifest
                        .entries
                        .iter()
                        .zip(&offsets)
                        .filter(|(e, _)| e.chunk == chunk.index)
                        .map(|(e, o)| (e, *o))
                        .collect();
                    if let Err(e) =
                        check_chunk(&dir.join(&chunk.file), &expected, staging, &chunk.sha256)
                    {
                        failed.store(true, Ordering::SeqCst);
                        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                }
            });
        }
    });
    match results
        .into_iter()
        .find_map(|r| r.into_inner().unwrap_or_else(|p| p.into_inner()))
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Where each entry's bytes start in its target: the sum of the earlier parts of the same blob,
/// 0 for an entry written whole.
fn part_offsets(entries: &[ArchiveEntry]) -> Vec<u64> {
    let mut written: HashMap<String, u64> = HashMap::new();
    entries
        .iter()
        .map(|e| match &e.part_of {
            Some(_) => {
                let at = written.entry(e.target()).or_insert(0);
                let offset = *at;
                *at += e.size;
                offset
            }
            None => 0,
        })
        .collect()
}

/// Extracts one chunk and checks its SHA-256 against the index.
fn check_chunk(
    path: &Path,
    expected: &[(&ArchiveEntry, u64)],
    staging: &Path,
    sha256: &Digest,
) -> Result<(), Error> {
    let actual = extract_chunk(path, expected, staging)?;
    if actual != *sha256 {
        return Err(bad(
            path,
            format!("corrupt: it hashes to {actual}, the index says {sha256}"),
        ));
    }
    Ok(())
}

/// Every chunk the index lists is there, in order and of its size, and no other is.
fn check_chunk_files(dir: &Path, manifest: &ArchiveManifest) -> Result<(), Error> {
    for (i, chunk) in manifest.chunks.iter().enumerate() {
        let index = i as u32 + 1;
        if chunk.index != index || chunk.file != chunk_file_name(index) {
            return Err(bad(
                &dir.join(chunk_file_name(0)),
                format!("the index lists chunk {} as number {index}", chunk.file),
            ));
        }
        let path = dir.join(&chunk.file);
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(bad(
                    &path,
                    format!(
                        "missing: the archive has {} chunks after the index",
                        manifest.chunks.len()
                    ),
                ));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        if size != chunk.size {
            return Err(bad(
                &path,
                format!(
                    "truncated or padded: {size} bytes, the index says {}",
                    chunk.size
                ),
            ));
        }
    }
    let last = manifest.chunks.len() as u32;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if chunk_index(&name).is_some_and(|i| i > last) {
            return Err(bad(
                &entry.path(),
                format!(
                    "not part of this archive, whose last chunk is {}",
                    chunk_file_name(last)
                ),
            ));
        }
    }
    Ok(())
}

/// Extracts one chunk, checking that it holds exactly `expected` in order, and returns the
/// SHA-256 of the whole file.
fn extract_chunk(
    path: &Path,
    expected: &[(&ArchiveEntry, u64)],
    staging: &Path,
) -> Result<Digest, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = HashingReader {
        inner: io::BufReader::with_capacity(1 << 20, file),
        hasher: Hasher::new(DigestAlgorithm::Sha256),
    };
    {
        let mut archive = tar::Archive::new(&mut reader);
        let entries = archive
            .entries()
            .map_err(|e| bad(path, format!("not a tar file: {e}")))?;
        let mut wanted = expected.iter();
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(path, format!("corrupt: {e}")))?;
            let name = entry_path(&entry, path)?;
            let Some((want, offset)) = wanted.next() else {
                return Err(bad(
                    path,
                    format!("holds {name}, which the index does not list"),
                ));
            };
            if want.path != name || want.size != entry.size() {
                return Err(bad(
                    path,
                    format!(
                        "holds {name} where the index lists {} ({} bytes)",
                        want.path, want.size
                    ),
                ));
            }
            let target = want.target();
            let out = staging.join(&target);
            create_parent(&out)?;
            // A part of a blob goes at its offset, whichever chunk is extracted first;
            // anything else is written whole.
            let mut output = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(want.part_of.is_none())
                .open(&out)
                .map_err(|e| Error::io(&out, e))?;
            output
                .seek(io::SeekFrom::Start(*offset))
                .map_err(|e| Error::io(&out, e))?;
            let copied = io::copy(&mut entry, &mut output)
                .map_err(|e| bad(path, format!("truncated or corrupt at {name}: {e}")))?;
            if copied != want.size {
                return Err(bad(path, format!("truncated at {name}")));
            }
        }
        if let Some((missing, _)) = wanted.next() {
            return Err(bad(
                path,
                format!("does not hold {}, which the index lists", missing.path),
            ));
        }
    }
    // The end-of-archive blocks and anything after them are part of what was hashed.
    io::copy(&mut reader, &mut io::sink()).map_err(|e| Error::io(path, e))?;
    Ok(reader.hasher.finish())
}

fn create_parent(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::format::blob_path;
    use crate::archive::pack::{MIN_CHUNK_SIZE, PackFile, PackOptions, pack};

    /// A blob split over several chunks is put back together whichever chunk is extracted first.
    #[test]
    fn chunks_extract_in_parallel_and_split_blobs_come_back_whole() {
        let (src, out, staging) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let mut files = Vec::new();
        let mut originals = Vec::new();
        for (name, size) in [("a", 700_000usize), ("big", 3_300_000), ("c", 10)] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 13 % 251) as u8).collect();
            let source = src.path().join(name);
            std::fs::write(&source, &bytes).unwrap();
            let digest = Digest::sha256_of(&bytes);
            files.push(PackFile {
                path: blob_path(&digest),
                source,
                size: size as u64,
                digest: digest.clone(),
            });
            originals.push((digest, bytes));
        }
        let options = PackOptions {
            max_chunk_size: MIN_CHUNK_SIZE,
        };
        let (chunks, entries) = pack(out.path(), &files, options).unwrap();
        assert!(entries.iter().filter(|e| e.part_of.is_some()).count() >= 3);
        let manifest = ArchiveManifest {
            format: ARCHIVE_FORMAT.to_string(),
            release: Some(crate::archive::format::ArchiveRelease {
                source: "quay.io/okd/scos-release:4.19.0-okd-scos.1".into(),
                digest: originals[0].0.clone(),
                repository: "okd/release".into(),
                tag: "4.19.0-okd-scos.1".into(),
                signatures: Vec::new(),
            }),
            image_set: None,
            max_chunk_size: MIN_CHUNK_SIZE,
            chunks,
            entries,
            omitted: Vec::new(),
            omitted_bytes: 0,
        };
        extract_chunks(out.path(), staging.path(), &manifest).unwrap();
        for (digest, bytes) in &originals {
            let back = std::fs::read(staging.path().join(blob_path(digest))).unwrap();
            assert!(back == *bytes, "{digest} differs");
        }
    }
}
