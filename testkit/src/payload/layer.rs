//! Building layer blobs from a description of their entries and writing them to a store.
//!
//! File data is either given or seeded pseudo-random data (incompressible, like real binaries
//! after compression), produced while the tar is written, so no file is ever held in memory
//! whole. Small layers are built in memory; large ones go to an anonymous
//! temporary file and are streamed from it into the store, so memory stays bounded whatever the
//! layer size. Building happens on the blocking pool.

use std::io::{self, BufWriter, Read, Seek, Write};
use std::sync::OnceLock;

use bytes::Bytes;
use okd_oci::layer::{Compression, LayerInfo, LayerWriter};
use okd_oci::{ByteStream, Digest, Store, StoreExt, media_type};
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;

use super::PayloadError;
use super::component::ImageFormat;
use super::plan;

/// Layers whose data exceeds this are built in a temporary file rather than in memory.
const IN_MEMORY_LIMIT: u64 = 8 * 1024 * 1024;
/// Chunk size when streaming a layer file into a store.
const CHUNK: usize = 1024 * 1024;

/// One entry of a layer tar.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A directory with the given mode.
    Dir(String, u32),
    /// A regular file with the given mode and contents.
    File(String, u32, Vec<u8>),
    /// A regular file of `size` seeded random bytes, mode 0755.
    Random {
        path: String,
        size: u64,
        seed: [u8; 32],
    },
}

impl Entry {
    pub(crate) fn dir(path: impl Into<String>) -> Entry {
        Entry::Dir(path.into(), 0o755)
    }

    pub(crate) fn text(path: impl Into<String>, content: impl Into<String>) -> Entry {
        Entry::File(path.into(), 0o644, content.into().into_bytes())
    }

    pub(crate) fn random(path: impl Into<String>, size: u64, seed: u64, parts: &[&str]) -> Entry {
        Entry::Random {
            path: path.into(),
            size,
            seed: plan::derive(seed, parts),
        }
    }

    fn size(&self) -> u64 {
        match self {
            Entry::Dir(..) => 0,
            Entry::File(_, _, data) => data.len() as u64,
            Entry::Random { size, .. } => *size,
        }
    }
}

/// A layer to build.
#[derive(Debug, Clone)]
pub(crate) struct LayerPlan {
    /// What the layer is, for errors.
    pub what: String,
    pub entries: Vec<Entry>,
    /// Modification time of every entry.
    pub mtime: u64,
    pub compression: Compression,
}

/// A built layer: what it is and where its bytes are.
pub(crate) struct BuiltLayer {
    pub info: LayerInfo,
    body: Body,
}

enum Body {
    Memory(Bytes),
    File(std::fs::File),
}

enum Sink {
    Memory(Vec<u8>),
    File(BufWriter<std::fs::File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Memory(v) => v.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Memory(v) => v.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Size of the random pool file data is cut from.
const POOL: usize = 2 * 1024 * 1024;
/// File data is made of blocks of this size.
const BLOCK: usize = 64 * 1024;

/// 2 MiB of ChaCha output, made once per process.
fn pool() -> &'static [u8] {
    static POOL_DATA: OnceLock<Vec<u8>> = OnceLock::new();
    POOL_DATA.get_or_init(|| {
        let mut data = vec![0u8; POOL];
        plan::rng(0, &["pool"]).fill_bytes(&mut data);
        data
    })
}

/// Seeded data that gzip cannot compress, produced at memory-copy speed: each 64 KiB block is
/// a 32-byte header unique to the seed and block number, followed by a slice of the random
/// pool at an offset that header chooses. Repeats are farther apart than deflate's 32 KiB
/// window, so the data stays incompressible, and no two files share a block.
struct RandomReader {
    seed: [u8; 32],
    block: u64,
    /// Position inside the current block.
    pos: usize,
    header: [u8; 32],
    offset: usize,
}

impl RandomReader {
    fn new(seed: [u8; 32]) -> RandomReader {
        let mut r = RandomReader {
            seed,
            block: 0,
            pos: 0,
            header: [0; 32],
            offset: 0,
        };
        r.start_block();
        r
    }

    fn start_block(&mut self) {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.block.to_le_bytes());
        self.header = h.finalize().into();
        let pick = u64::from_le_bytes([
            self.header[0],
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
            self.header[5],
            self.header[6],
            self.header[7],
        ]);
        self.offset = (pick % (POOL - BLOCK) as u64) as usize;
        self.pos = 0;
    }
}

impl Read for RandomReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == BLOCK {
            self.block += 1;
            self.start_block();
        }
        let n = if self.pos < self.header.len() {
            let n = buf.len().min(self.header.len() - self.pos);
            buf[..n].copy_from_slice(&self.header[self.pos..self.pos + n]);
            n
        } else {
            let n = buf.len().min(BLOCK - self.pos);
            let start = self.offset + self.pos;
            buf[..n].copy_from_slice(&pool()[start..start + n]);
            n
        };
        self.pos += n;
        Ok(n)
    }
}

fn build_blocking(plan: LayerPlan) -> Result<BuiltLayer, okd_oci::Error> {
    let total: u64 = plan.entries.iter().map(Entry::size).sum();
    let io_err = |e: io::Error| okd_oci::Error::Layer {
        what: plan.what.clone(),
        reason: e.to_string(),
    };
    let sink = if total > IN_MEMORY_LIMIT {
        Sink::File(BufWriter::with_capacity(
            CHUNK,
            tempfile::tempfile().map_err(io_err)?,
        ))
    } else {
        Sink::Memory(Vec::with_capacity(total as usize + 4096))
    };
    let mut w = LayerWriter::new(sink, plan.compression).with_mtime(plan.mtime);
    for entry in &plan.entries {
        match entry {
            Entry::Dir(path, mode) => w.add_dir(path, *mode)?,
            Entry::File(path, mode, data) => w.add_file(path, *mode, data)?,
            Entry::Random { path, size, seed } => {
                w.add_file_from(path, 0o755, *size, RandomReader::new(*seed))?
            }
        }
    }
    let (sink, info) = w.finish()?;
    let body = match sink {
        Sink::Memory(v) => Body::Memory(Bytes::from(v)),
        Sink::File(f) => {
            let mut file = f.into_inner().map_err(|e| io_err(e.into_error()))?;
            file.rewind().map_err(io_err)?;
            Body::File(file)
        }
    };
    Ok(BuiltLayer { info, body })
}

/// Builds a layer on the blocking pool.
pub(crate) async fn build(plan: LayerPlan) -> Result<BuiltLayer, PayloadError> {
    let what = plan.what.clone();
    tokio::task::spawn_blocking(move || build_blocking(plan))
        .await
        .map_err(|e| PayloadError::Task {
            layer: what,
            reason: e.to_string(),
        })?
        .map_err(PayloadError::from)
}

/// Writes a built layer's blob into `repo`.
pub(crate) async fn write(
    store: &dyn Store,
    repo: &str,
    layer: BuiltLayer,
) -> Result<LayerInfo, PayloadError> {
    let BuiltLayer { info, body } = layer;
    match body {
        Body::Memory(data) => {
            store.put_blob(repo, &info.digest, data).await?;
        }
        Body::File(file) => {
            let what = info.digest.to_string();
            let file = tokio::fs::File::from_std(file);
            let stream = futures::stream::try_unfold(file, move |mut file| {
                let what = what.clone();
                async move {
                    let mut buf = vec![0u8; CHUNK];
                    let n = file.read(&mut buf).await.map_err(|e| {
                        okd_oci::Error::io(format!("temporary file of layer {what}"), e)
                    })?;
                    if n == 0 {
                        return Ok(None);
                    }
                    buf.truncate(n);
                    Ok(Some((Bytes::from(buf), file)))
                }
            });
            let stream: ByteStream = Box::pin(stream);
            store
                .write_blob(repo, &info.digest, info.size, stream)
                .await?;
        }
    }
    Ok(info)
}

/// Builds a layer and writes it into `repo`.
pub(crate) async fn build_and_write(
    store: &dyn Store,
    repo: &str,
    plan: LayerPlan,
) -> Result<LayerInfo, PayloadError> {
    let built = build(plan).await?;
    write(store, repo, built).await
}

/// Makes `digest` present in `to` from `from` of the same store: nothing when it is there,
/// a mount when the store can, a streamed copy otherwise.
pub(crate) async fn ensure_blob(
    store: &dyn Store,
    to: &str,
    from: &str,
    digest: &Digest,
) -> Result<(), PayloadError> {
    if to == from || store.has_blob(to, digest).await? {
        return Ok(());
    }
    if store.mount_blob(to, from, digest).await? {
        return Ok(());
    }
    let blob = store.read_blob(from, digest).await?;
    store.write_blob(to, digest, blob.size, blob.stream).await?;
    Ok(())
}

/// The compression of layers that end up in Docker schema 2 images, which have no
/// uncompressed layer type okd-streams writes.
pub(crate) fn gzip_only(c: Compression) -> Compression {
    match c {
        Compression::None => Compression::GzipFast,
        other => other,
    }
}

/// The media type a layer has in a manifest of `format`.
pub(crate) fn layer_media_type(format: ImageFormat, info: &LayerInfo) -> String {
    match format {
        ImageFormat::Oci => info.media_type.clone(),
        ImageFormat::Docker => media_type::DOCKER_LAYER_GZIP.to_string(),
    }
}
