//! [`NewLayer`]: a layer blob to put on top of a base image, with the facts an image needs.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use tempfile::TempPath;
use tokio_util::io::ReaderStream;

use super::tar_entries::check_entries;
use crate::layer::LayerInfo;
use crate::{ByteStream, DigestAlgorithm, Error, Hasher, media_type};

/// Chunk size for streaming a layer file.
const CHUNK: usize = 256 * 1024;

/// A layer to append: where its bytes are, and its digest, size, `diff_id` and media type.
///
/// The bytes are only read when the layer is written, and they are verified against
/// [`LayerInfo::digest`] and [`LayerInfo::size`] on the way into the destination store.
///
/// ```
/// use okd_oci::append::NewLayer;
/// use okd_oci::layer::{Compression, LayerWriter};
///
/// let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
/// w.add_file("etc/okd-release", 0o644, b"4.19.0\n")?;
/// let (bytes, info) = w.finish()?;
/// let layer = NewLayer::from_bytes(bytes, info).created_by("okd-streams release layer");
/// assert_eq!(layer.info().media_type, okd_oci::media_type::OCI_LAYER_GZIP);
/// # Ok::<(), okd_oci::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NewLayer {
    source: Source,
    info: LayerInfo,
    created_by: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Bytes(Bytes),
    /// A file okd-streams built; removed when the last clone of the layer is dropped.
    Temp(Arc<TempPath>),
}

impl NewLayer {
    /// A layer whose blob is the file at `path`, described by `info`.
    pub fn from_file(path: impl Into<PathBuf>, info: LayerInfo) -> NewLayer {
        Self::with_source(Source::File(path.into()), info)
    }

    /// A layer whose blob is held in memory.
    pub fn from_bytes(data: impl Into<Bytes>, info: LayerInfo) -> NewLayer {
        Self::with_source(Source::Bytes(data.into()), info)
    }

    /// A layer from a prebuilt tarball, plain or gzip-compressed: reads the file once to compute
    /// its digest, size and `diff_id` (the digest of the uncompressed tar), and to check its
    /// entries. An absolute or `..` path, a hard link out of the archive, a relative symbolic
    /// link climbing above the image root, a device or a FIFO is refused with
    /// [`Error::UnsafeTarEntry`] naming the entry.
    pub async fn from_tarball(path: impl Into<PathBuf>) -> Result<NewLayer, Error> {
        let path = path.into();
        let p = path.clone();
        let info = tokio::task::spawn_blocking(move || inspect_tarball(&p))
            .await
            .map_err(|e| Error::io(&path, io::Error::other(e)))??;
        Ok(Self::from_file(path, info))
    }

    pub(crate) fn from_temp(temp: TempPath, info: LayerInfo) -> NewLayer {
        Self::with_source(Source::Temp(Arc::new(temp)), info)
    }

    fn with_source(source: Source, info: LayerInfo) -> NewLayer {
        NewLayer {
            source,
            info,
            created_by: None,
            comment: None,
        }
    }

    /// Sets the `created_by` of this layer's history entry.
    pub fn created_by(mut self, created_by: impl Into<String>) -> NewLayer {
        self.created_by = Some(created_by.into());
        self
    }

    /// Sets the `comment` of this layer's history entry.
    pub fn comment(mut self, comment: impl Into<String>) -> NewLayer {
        self.comment = Some(comment.into());
        self
    }

    /// Digest, size, `diff_id` and media type of the layer.
    pub fn info(&self) -> &LayerInfo {
        &self.info
    }

    /// The blob's bytes (compressed as written), read synchronously from where they are.
    pub fn reader(&self) -> Result<Box<dyn Read + Send>, Error> {
        match &self.source {
            Source::Bytes(b) => Ok(Box::new(io::Cursor::new(b.clone()))),
            Source::File(p) => Ok(Box::new(
                std::fs::File::open(p).map_err(|e| Error::io(p, e))?,
            )),
            Source::Temp(t) => {
                let p: &Path = t;
                Ok(Box::new(
                    std::fs::File::open(p).map_err(|e| Error::io(p, e))?,
                ))
            }
        }
    }

    pub(crate) fn history_created_by(&self) -> Option<&str> {
        self.created_by.as_deref()
    }

    pub(crate) fn history_comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The blob's bytes, streamed.
    pub(crate) async fn stream(&self) -> Result<ByteStream, Error> {
        let path: &Path = match &self.source {
            Source::Bytes(b) => {
                let b = b.clone();
                return Ok(Box::pin(futures::stream::once(async move { Ok(b) })));
            }
            Source::File(p) => p,
            Source::Temp(t) => t,
        };
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        let path = path.to_path_buf();
        Ok(Box::pin(
            ReaderStream::with_capacity(file, CHUNK).map_err(move |e| Error::io(path.clone(), e)),
        ))
    }
}

/// A reader that hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn inspect_tarball(path: &Path) -> Result<LayerInfo, Error> {
    let io_err = |e: io::Error| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut file, &mut magic).map_err(io_err)?;
    let magic = &magic[..got];
    drop(file);
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut raw = HashingReader {
        inner: io::BufReader::with_capacity(CHUNK, file),
        hasher: Hasher::new(DigestAlgorithm::Sha256),
    };
    let gzip_err = |e: io::Error| Error::Layer {
        what: path.display().to_string(),
        reason: format!("gzip: {e}"),
    };
    let (diff_id, media_type) = if magic.starts_with(&[0x1f, 0x8b]) {
        let mut plain = HashingReader {
            inner: flate2::read::MultiGzDecoder::new(&mut raw),
            hasher: Hasher::new(DigestAlgorithm::Sha256),
        };
        check_entries(&mut plain, path)?;
        // Padding after the tar's end marker is part of the diff_id.
        io::copy(&mut plain, &mut io::sink()).map_err(gzip_err)?;
        let diff_id = plain.hasher.finish();
        // Whatever follows the gzip members still belongs to the blob.
        io::copy(&mut raw, &mut io::sink()).map_err(io_err)?;
        (diff_id, media_type::OCI_LAYER_GZIP)
    } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
        return Err(Error::Layer {
            what: path.display().to_string(),
            reason: "zstd tarballs are not supported; give gzip or plain tar".to_string(),
        });
    } else {
        check_entries(&mut raw, path)?;
        io::copy(&mut raw, &mut io::sink()).map_err(io_err)?;
        (raw.hasher.clone().finish(), media_type::OCI_LAYER_TAR)
    };
    let size = raw.hasher.len();
    Ok(LayerInfo {
        digest: raw.hasher.finish(),
        size,
        diff_id,
        media_type: media_type.to_string(),
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Compression, LayerWriter};

    fn tarball(c: Compression) -> (tempfile::NamedTempFile, LayerInfo) {
        let mut w = LayerWriter::new(Vec::new(), c);
        w.add_file("a", 0o644, b"hello").expect("must succeed");
        let (bytes, info) = w.finish().expect("must succeed");
        let mut f = tempfile::NamedTempFile::new().expect("must succeed");
        std::io::Write::write_all(&mut f, &bytes).expect("must succeed");
        (f, info)
    }

    #[test]
    fn inspects_gzip_and_plain_tarballs() {
        for c in [Compression::Gzip, Compression::None] {
            let (f, expected) = tarball(c);
            assert_eq!(inspect_tarball(f.path()).expect("must succeed"), expected);
        }
    }

    #[test]
    fn corrupt_gzip_names_the_file() {
        let mut f = tempfile::NamedTempFile::new().expect("must succeed");
        std::io::Write::write_all(&mut f, &[0x1f, 0x8b, 8, 0, 1, 2, 3]).expect("must succeed");
        let err = inspect_tarball(f.path()).expect_err("must fail");
        assert!(
            err.to_string().contains(&f.path().display().to_string()),
            "{err}"
        );
    }
}
