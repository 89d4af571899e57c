//! Checking an archive's chunks while extracting them into a staging layout.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use okd_oci::{Digest, DigestAlgorithm, Hasher, LayoutStore};

use super::format::{
    ARCHIVE_FORMAT, ArchiveEntry, ArchiveManifest, HISTORY_PATH, MANIFEST_DIGEST_PATH,
    MANIFEST_PATH, chunk_file_name, chunk_index, is_safe_path,
};
use super::history::History;
use super::in_place::{ArchiveStore, ChunkRange, InPlaceBlobs, stays_in_place};
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
    /// The layout it was extracted into, but for the blobs left in the chunks.
    pub layout: PathBuf,
    /// The blobs left in the chunks, read from there.
    pub in_place: Arc<InPlaceBlobs>,
}

impl Unpacked {
    /// The staging layout as a store, its large blobs read from the chunks.
    pub async fn store(&self) -> Result<ArchiveStore, okd_oci::Error> {
        let layout = LayoutStore::open(&self.layout).await?;
        Ok(ArchiveStore::new(layout, self.in_place.clone()))
    }

    /// True when the archive carries the blob: extracted, or left in the chunks.
    pub fn holds(&self, digest: &Digest) -> bool {
        self.in_place.size(digest).is_some()
            || self.layout.join(super::format::blob_path(digest)).is_file()
    }
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
/// (a new, empty directory), which becomes an OCI layout; blobs larger than any manifest stay
/// in the chunks ([`Unpacked::in_place`]). Fails on the first chunk that is missing, of the
/// wrong size, does not hash to its recorded SHA-256, or does not hold the files listed for it
/// in order, naming it; the staging directory is then only scratch.
pub fn unpack(dir: &Path, staging: &Path) -> Result<Unpacked, Error> {
    let index = read_index(dir)?;
    check_chunk_files(dir, &index.manifest)?;
    for (name, bytes) in &index.files {
        let target = staging.join(name);
        create_parent(&target)?;
        std::fs::write(&target, bytes).map_err(|e| Error::io(&target, e))?;
    }
    let in_place = extract_chunks(dir, staging, &index.manifest)?;
    Ok(Unpacked {
        manifest: index.manifest,
        history: index.history,
        layout: staging.to_path_buf(),
        in_place: Arc::new(in_place),
    })
}

/// Extracts and checks every chunk, as many at once as there are cores: hashing each chunk is
/// the restore's own CPU work, and chunks are independent, since each part of a blob split over
/// chunks is written at its offset. Returns where the blobs left in the chunks lie. The error of
/// the first failing chunk (in chunk order among those looked at) is returned; once one failed,
/// no other is started.
fn extract_chunks(
    dir: &Path,
    staging: &Path,
    manifest: &ArchiveManifest,
) -> Result<InPlaceBlobs, Error> {
    let plan = placements(&manifest.entries);
    let chunks = &manifest.chunks;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, chunks.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Error>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
    let ranges = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(chunk) = chunks.get(i) else { break };
                    let expected: Vec<Planned<'_>> = plan
                        .iter()
                        .filter(|p| p.entry.chunk == chunk.index)
                        .copied()
                        .collect();
                    let path = dir.join(&chunk.file);
                    match check_chunk(&path, &expected, staging, &chunk.sha256) {
                        Ok(found) => {
                            let mut all = ranges.lock().unwrap_or_else(|p| p.into_inner());
                            for (digest, at, range) in found {
                                all.entry(digest)
                                    .or_insert_with(BTreeMap::new)
                                    .insert(at, range);
                            }
                        }
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
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
        None => Ok(InPlaceBlobs::new(
            ranges.into_inner().unwrap_or_else(|p| p.into_inner()),
        )),
    }
}

/// What becomes of one entry of a chunk.
#[derive(Clone, Copy)]
struct Planned<'a> {
    entry: &'a ArchiveEntry,
    /// Where its bytes start in its target.
    offset: u64,
    /// The blob it is (a part of), when it stays in the chunk rather than being extracted.
    in_place: Option<&'a Digest>,
}

/// Each entry's offset in its target, and whether it stays in its chunk: the entries of a blob
/// (whole, or its parts) that [`stays_in_place`] do; every other file is extracted.
fn placements(entries: &[ArchiveEntry]) -> Vec<Planned<'_>> {
    let mut sizes: HashMap<&Digest, u64> = HashMap::new();
    for e in entries {
        if let Some(blob) = blob_of(e) {
            *sizes.entry(blob).or_insert(0) += e.size;
        }
    }
    entries
        .iter()
        .zip(part_offsets(entries))
        .map(|(entry, offset)| Planned {
            entry,
            offset,
            in_place: blob_of(entry).filter(|b| stays_in_place(sizes[b])),
        })
        .collect()
}

/// The blob an entry is or is a part of; `None` for the layout's other files.
fn blob_of(entry: &ArchiveEntry) -> Option<&Digest> {
    match &entry.part_of {
        Some(blob) => Some(blob),
        None => (entry.path == super::format::blob_path(&entry.digest)).then_some(&entry.digest),
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

/// A blob part left in a chunk: the blob, where the part starts in it, and where it lies.
type InPlacePart = (Digest, u64, ChunkRange);

/// Extracts one chunk and checks its SHA-256 against the index; returns the parts left in it.
fn check_chunk(
    path: &Path,
    expected: &[Planned<'_>],
    staging: &Path,
    sha256: &Digest,
) -> Result<Vec<InPlacePart>, Error> {
    let (actual, in_place) = extract_chunk(path, expected, staging)?;
    if actual != *sha256 {
        return Err(bad(
            path,
            format!("corrupt: it hashes to {actual}, the index says {sha256}"),
        ));
    }
    Ok(in_place)
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
/// SHA-256 of the whole file and the parts left in it. A part left in place is still read (and
/// so hashed) through, and its length checked, but not written.
fn extract_chunk(
    path: &Path,
    expected: &[Planned<'_>],
    staging: &Path,
) -> Result<(Digest, Vec<InPlacePart>), Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = HashingReader {
        inner: io::BufReader::with_capacity(1 << 20, file),
        hasher: Hasher::new(DigestAlgorithm::Sha256),
    };
    let mut in_place = Vec::new();
    {
        let mut archive = tar::Archive::new(&mut reader);
        let entries = archive
            .entries()
            .map_err(|e| bad(path, format!("not a tar file: {e}")))?;
        let mut wanted = expected.iter();
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(path, format!("corrupt: {e}")))?;
            let name = entry_path(&entry, path)?;
            let Some(want) = wanted.next() else {
                return Err(bad(
                    path,
                    format!("holds {name}, which the index does not list"),
                ));
            };
            if want.entry.path != name || want.entry.size != entry.size() {
                return Err(bad(
                    path,
                    format!(
                        "holds {name} where the index lists {} ({} bytes)",
                        want.entry.path, want.entry.size
                    ),
                ));
            }
            let copied = match want.in_place {
                Some(blob) => {
                    let range = ChunkRange {
                        file: path.to_path_buf(),
                        offset: entry.raw_file_position(),
                        len: want.entry.size,
                    };
                    in_place.push((blob.clone(), want.offset, range));
                    io::copy(&mut entry, &mut io::sink())
                }
                None => write_entry(&mut entry, want, staging)?,
            }
            .map_err(|e| bad(path, format!("truncated or corrupt at {name}: {e}")))?;
            if copied != want.entry.size {
                return Err(bad(path, format!("truncated at {name}")));
            }
        }
        if let Some(missing) = wanted.next() {
            return Err(bad(
                path,
                format!(
                    "does not hold {}, which the index lists",
                    missing.entry.path
                ),
            ));
        }
    }
    // The end-of-archive blocks and anything after them are part of what was hashed.
    io::copy(&mut reader, &mut io::sink()).map_err(|e| Error::io(path, e))?;
    Ok((reader.hasher.finish(), in_place))
}

/// Writes an entry into the staging layout: a part of a blob at its offset, whichever chunk is
/// extracted first; anything else whole. The outer result is the output's error, the inner the
/// chunk's.
fn write_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    want: &Planned<'_>,
    staging: &Path,
) -> Result<io::Result<u64>, Error> {
    let out = staging.join(want.entry.target());
    create_parent(&out)?;
    let mut output = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(want.entry.part_of.is_none())
        .open(&out)
        .map_err(|e| Error::io(&out, e))?;
    output
        .seek(io::SeekFrom::Start(want.offset))
        .map_err(|e| Error::io(&out, e))?;
    Ok(io::copy(entry, &mut output))
}

fn create_parent(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
