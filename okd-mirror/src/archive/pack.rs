//! Cutting files into numbered tar chunks of bounded size, each hashed as it is written.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use okd_oci::{Digest, DigestAlgorithm, Hasher};

use super::format::{
    ArchiveEntry, ArchiveManifest, ChunkInfo, MANIFEST_DIGEST_PATH, MANIFEST_PATH, chunk_file_name,
};
use crate::Error;

/// The smallest chunk size accepted: below it the tar headers would be most of each chunk.
pub const MIN_CHUNK_SIZE: u64 = 1 << 20;

/// A tar header, and the unit file contents are padded to.
const BLOCK: u64 = 512;
/// The two zero blocks that end a tar file.
const END: u64 = 2 * BLOCK;

/// A file to put into the archive.
#[derive(Debug, Clone)]
pub(crate) struct PackFile {
    /// Its path in the tar.
    pub path: String,
    /// Where its bytes are on disk.
    pub source: PathBuf,
    /// Its size.
    pub size: u64,
    /// The digest of its bytes (for a blob, its name: the layout verified it when it was
    /// written).
    pub digest: Digest,
}

/// How to cut the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    /// The size no chunk may exceed, headers and padding included.
    pub max_chunk_size: u64,
}

/// The bytes a file takes in a tar: its header and its content padded to a block.
fn tar_cost(size: u64) -> u64 {
    BLOCK + size.div_ceil(BLOCK) * BLOCK
}

/// Writes `files` into chunks 1…N of `dir` and returns them with their entries.
pub(crate) fn pack(
    dir: &Path,
    files: &[PackFile],
    options: PackOptions,
) -> Result<(Vec<ChunkInfo>, Vec<ArchiveEntry>), Error> {
    let capacity = options.max_chunk_size.saturating_sub(END);
    let mut packer = Packer {
        dir,
        capacity,
        chunks: Vec::new(),
        entries: Vec::new(),
        current: None,
    };
    for file in files {
        if tar_cost(file.size) <= capacity {
            packer.whole(file)?;
        } else {
            packer.parts(file)?;
        }
    }
    packer.finish_chunk()?;
    Ok((packer.chunks, packer.entries))
}

/// Writes chunk 0: `files` (the layout's metadata and the history), then the manifest and its
/// digest. Fails when it does not fit in one chunk.
pub(crate) fn pack_index(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    manifest: &ArchiveManifest,
) -> Result<(), Error> {
    let mut text = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Serialize {
        what: MANIFEST_PATH.to_string(),
        reason: e.to_string(),
    })?;
    text.push(b'\n');
    let digest = format!("{}\n", Digest::sha256_of(&text));
    let mut all: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    all.push((MANIFEST_PATH, &text));
    all.push((MANIFEST_DIGEST_PATH, digest.as_bytes()));
    let size: u64 = all
        .iter()
        .map(|(_, b)| tar_cost(b.len() as u64))
        .sum::<u64>()
        + END;
    let path = dir.join(chunk_file_name(0));
    if size > manifest.max_chunk_size {
        return Err(Error::Archive {
            path,
            reason: format!(
                "the index needs {size} bytes, more than the chunk size {}; choose a larger size",
                manifest.max_chunk_size
            ),
        });
    }
    let mut chunk = ChunkWriter::create(dir, 0)?;
    for (name, bytes) in all {
        chunk.append(name, bytes.len() as u64, &mut &bytes[..])?;
    }
    chunk.finish().map(|_| ())
}

struct Packer<'a> {
    dir: &'a Path,
    capacity: u64,
    chunks: Vec<ChunkInfo>,
    entries: Vec<ArchiveEntry>,
    current: Option<ChunkWriter>,
}

impl Packer<'_> {
    /// The chunk being written, started when there is none yet.
    fn chunk(&mut self) -> Result<&mut ChunkWriter, Error> {
        if self.current.is_none() {
            let index = self.chunks.len() as u32 + 1;
            self.current = Some(ChunkWriter::create(self.dir, index)?);
        }
        // Set just above when it was empty.
        self.current.as_mut().ok_or_else(|| Error::Archive {
            path: self.dir.to_path_buf(),
            reason: "no chunk open".to_string(),
        })
    }

    fn room(&self) -> u64 {
        self.capacity - self.current.as_ref().map_or(0, |c| c.used)
    }

    fn finish_chunk(&mut self) -> Result<(), Error> {
        if let Some(chunk) = self.current.take() {
            self.chunks.push(chunk.finish()?);
        }
        Ok(())
    }

    fn whole(&mut self, file: &PackFile) -> Result<(), Error> {
        if tar_cost(file.size) > self.room() {
            self.finish_chunk()?;
        }
        let mut input = open(&file.source)?;
        let chunk = self.chunk()?;
        chunk.append(&file.path, file.size, &mut input)?;
        let index = chunk.index;
        self.entries.push(ArchiveEntry {
            chunk: index,
            path: file.path.clone(),
            size: file.size,
            digest: file.digest.clone(),
            part_of: None,
        });
        Ok(())
    }

    /// A file larger than a chunk: consecutive parts, each filling what is left of a chunk.
    fn parts(&mut self, file: &PackFile) -> Result<(), Error> {
        let mut input = open(&file.source)?;
        let mut left = file.size;
        let mut part = 0;
        while left > 0 {
            // Whole blocks only, so that a part and its padding fill the room exactly.
            let mut take = (self.room().saturating_sub(BLOCK) / BLOCK * BLOCK).min(left);
            if take < BLOCK.min(left) {
                self.finish_chunk()?;
                take = (self.room().saturating_sub(BLOCK) / BLOCK * BLOCK).min(left);
            }
            part += 1;
            let path = format!("{}.part-{part:04}", file.path);
            let mut hashing = HashingReader {
                inner: (&mut input).take(take),
                hasher: Hasher::new(DigestAlgorithm::Sha256),
            };
            let chunk = self.chunk()?;
            chunk.append(&path, take, &mut hashing)?;
            let index = chunk.index;
            self.entries.push(ArchiveEntry {
                chunk: index,
                path,
                size: take,
                digest: hashing.hasher.finish(),
                part_of: Some(file.digest.clone()),
            });
            left -= take;
        }
        Ok(())
    }
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|e| Error::io(path, e))
}

/// One chunk being written: to a hidden file renamed into place once complete, hashed as the
/// bytes go out.
struct ChunkWriter {
    index: u32,
    partial: PathBuf,
    path: PathBuf,
    used: u64,
    builder: tar::Builder<HashingWriter<BufWriter<File>>>,
}

impl ChunkWriter {
    fn create(dir: &Path, index: u32) -> Result<ChunkWriter, Error> {
        let name = chunk_file_name(index);
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let file = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let writer = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Hasher::new(DigestAlgorithm::Sha256),
        };
        let mut builder = tar::Builder::new(writer);
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(ChunkWriter {
            index,
            partial,
            path,
            used: 0,
            builder,
        })
    }

    fn append(&mut self, name: &str, size: u64, data: &mut dyn Read) -> Result<(), Error> {
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        header
            .set_path(name)
            .map_err(|e| Error::io(self.partial.join(name), e))?;
        header.set_cksum();
        self.builder
            .append(&header, data)
            .map_err(|e| Error::io(&self.partial, e))?;
        self.used += tar_cost(size);
        Ok(())
    }

    fn finish(self) -> Result<ChunkInfo, Error> {
        let partial = self.partial;
        let writer = self
            .builder
            .into_inner()
            .map_err(|e| Error::io(&partial, e))?;
        let (buffered, hasher) = (writer.inner, writer.hasher);
        let size = hasher.len();
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(&partial, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, &self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(ChunkInfo {
            index: self.index,
            file: chunk_file_name(self.index),
            size,
            sha256: hasher.finish(),
        })
    }
}

/// Hashes and counts what passes through to `inner`.
pub(crate) struct HashingWriter<W> {
    pub inner: W,
    pub hasher: Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes and counts what is read from `inner`.
pub(crate) struct HashingReader<R> {
    pub inner: R,
    pub hasher: Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, size: usize) -> PackFile {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let source = dir.join(name);
        std::fs::write(&source, &bytes).unwrap();
        PackFile {
            path: format!("blobs/sha256/{name}"),
            source,
            size: size as u64,
            digest: Digest::sha256_of(&bytes),
        }
    }

    #[test]
    fn chunks_stay_under_the_limit_and_big_files_are_split() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let max = MIN_CHUNK_SIZE;
        let files = vec![
            file(src.path(), "a", 600_000),
            file(src.path(), "b", 600_000),
            file(src.path(), "big", 2_500_000),
            file(src.path(), "c", 10),
        ];
        let (chunks, entries) = pack(
            out.path(),
            &files,
            PackOptions {
                max_chunk_size: max,
            },
        )
        .unwrap();
        assert!(chunks.len() >= 4, "{chunks:?}");
        for c in &chunks {
            let len = std::fs::metadata(out.path().join(&c.file)).unwrap().len();
            assert_eq!(len, c.size);
            assert!(len <= max, "{} is {len} bytes", c.file);
            let bytes = std::fs::read(out.path().join(&c.file)).unwrap();
            assert_eq!(Digest::sha256_of(&bytes), c.sha256);
        }
        let parts: Vec<_> = entries.iter().filter(|e| e.part_of.is_some()).collect();
        assert!(parts.len() >= 3, "{entries:?}");
        assert_eq!(parts.iter().map(|p| p.size).sum::<u64>(), 2_500_000);
        // No partial files are left.
        let names: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }
}
