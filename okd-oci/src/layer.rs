//! Deterministic layer tarballs.
//!
//! A [`LayerWriter`] writes a tar stream, optionally gzip-compressed, into any [`Write`] sink
//! while computing both digests an image needs: the digest of the bytes written (the layer's
//! descriptor digest) and the digest of the uncompressed tar (its `diff_id`). Entries get fixed
//! owners (0:0, no names) and a fixed modification time, and gzip gets a zero header timestamp,
//! so the same entries in the same order always give the same digest.
//!
//! ```
//! use okd_oci::layer::{Compression, LayerWriter};
//!
//! let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
//! w.add_dir("etc", 0o755)?;
//! w.add_file("etc/motd", 0o644, b"welcome to OKD\n")?;
//! let (bytes, layer) = w.finish()?;
//! assert_eq!(layer.size, bytes.len() as u64);
//! assert_ne!(layer.digest, layer.diff_id);
//! # Ok::<(), okd_oci::Error>(())
//! ```

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use flate2::write::GzEncoder;

use crate::{Digest, DigestAlgorithm, Error, Hasher, media_type};

/// How a layer's tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar (`…layer.v1.tar`).
    None,
    /// gzip at the default level (`…layer.v1.tar+gzip`).
    Gzip,
    /// gzip at the fastest level, for large generated content.
    GzipFast,
}

impl Compression {
    /// The OCI media type of a layer compressed this way.
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => media_type::OCI_LAYER_TAR,
            Compression::Gzip | Compression::GzipFast => media_type::OCI_LAYER_GZIP,
        }
    }
}

/// Owner and extended attributes of one entry (the `*_with` methods of [`LayerWriter`]).
///
/// Owners are written as numbers only, as ostree reads them; extended attributes become PAX
/// `SCHILY.xattr.<name>` records, the form GNU tar, Python's tarfile and ostree's import read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryMeta {
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
    /// Extended attributes by name (`security.capability`), with their raw values.
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// What a finished layer is: the descriptor fields and its `diff_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Digest of the layer blob as written.
    pub digest: Digest,
    /// Size of the layer blob as written.
    pub size: u64,
    /// Digest of the uncompressed tar, for the image config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Media type for an OCI manifest.
    pub media_type: String,
}

/// A writer that hashes what passes through it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, hashing with SHA-256.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::new(DigestAlgorithm::Sha256),
        }
    }

    /// The inner writer, the digest and the byte count of what was written.
    pub fn into_parts(self) -> (W, Digest, u64) {
        let len = self.hasher.len();
        (self.inner, self.hasher.finish(), len)
    }
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

// One sink per layer being written, so its size does not matter; with the zlib-rs backend
// (turned on by rPGP in okd-sign) the gzip variant is the larger one.
#[allow(clippy::large_enum_variant)]
enum Sink<W: Write> {
    Plain(HashingWriter<W>),
    Gzip(GzEncoder<HashingWriter<W>>),
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

/// Writes a deterministic layer into `W`. See the [module docs](self).
pub struct LayerWriter<W: Write> {
    tar: tar::Builder<HashingWriter<Sink<W>>>,
    compression: Compression,
    mtime: u64,
}

impl<W: Write> std::fmt::Debug for LayerWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerWriter")
            .field("compression", &self.compression)
            .field("mtime", &self.mtime)
            .finish()
    }
}

fn layer_err(path: &str, e: io::Error) -> Error {
    Error::Layer {
        what: path.to_string(),
        reason: e.to_string(),
    }
}

impl<W: Write> LayerWriter<W> {
    /// A writer into `sink` with entries dated at the Unix epoch.
    pub fn new(sink: W, compression: Compression) -> Self {
        let hashed = HashingWriter::new(sink);
        let sink = match compression {
            Compression::None => Sink::Plain(hashed),
            Compression::Gzip => Sink::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(hashed, flate2::Compression::default()),
            ),
            Compression::GzipFast => Sink::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(hashed, flate2::Compression::fast()),
            ),
        };
        let mut tar = tar::Builder::new(HashingWriter::new(sink));
        tar.mode(tar::HeaderMode::Deterministic);
        LayerWriter {
            tar,
            compression,
            mtime: 0,
        }
    }

    /// Dates every following entry at `mtime` (seconds since the epoch) instead of 0.
    pub fn with_mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        self.header_with(kind, mode, size, &EntryMeta::default())
    }

    fn header_with(
        &self,
        kind: tar::EntryType,
        mode: u32,
        size: u64,
        meta: &EntryMeta,
    ) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(self.mtime);
        h.set_uid(meta.uid);
        h.set_gid(meta.gid);
        h
    }

    /// Writes the PAX extended header carrying `meta`'s xattrs, if it has any, so that it
    /// applies to the entry written next.
    fn pax_xattrs(&mut self, path: &str, meta: &EntryMeta) -> Result<(), Error> {
        if meta.xattrs.is_empty() {
            return Ok(());
        }
        let mut records = Vec::new();
        for (name, value) in &meta.xattrs {
            records.extend(pax_record(&format!("SCHILY.xattr.{name}"), value));
        }
        let mut h = self.header(tar::EntryType::XHeader, 0o644, records.len() as u64);
        // The name of an extended header is informative only; keep it short and fixed.
        self.tar
            .append_data(&mut h, "PaxHeaders/entry", &records[..])
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a directory.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<(), Error> {
        self.add_dir_with(path, mode, &EntryMeta::default())
    }

    /// Adds a directory with the given owner and extended attributes.
    pub fn add_dir_with(&mut self, path: &str, mode: u32, meta: &EntryMeta) -> Result<(), Error> {
        self.pax_xattrs(path, meta)?;
        let mut h = self.header_with(tar::EntryType::Directory, mode, 0, meta);
        self.tar
            .append_data(&mut h, path, io::empty())
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a regular file of `size` bytes read from `reader`, with the given owner and
    /// extended attributes.
    pub fn add_file_with(
        &mut self,
        path: &str,
        mode: u32,
        meta: &EntryMeta,
        size: u64,
        reader: impl Read,
    ) -> Result<(), Error> {
        self.pax_xattrs(path, meta)?;
        let mut h = self.header_with(tar::EntryType::Regular, mode, size, meta);
        self.tar
            .append_data(&mut h, path, reader.take(size))
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a symbolic link with the given owner and extended attributes.
    pub fn add_symlink_with(
        &mut self,
        path: &str,
        target: &str,
        meta: &EntryMeta,
    ) -> Result<(), Error> {
        self.pax_xattrs(path, meta)?;
        let mut h = self.header_with(tar::EntryType::Symlink, 0o777, 0, meta);
        self.tar
            .append_link(&mut h, path, target)
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a hard link at `path` to the earlier entry `target` of the same layer.
    pub fn add_hardlink(
        &mut self,
        path: &str,
        target: &str,
        meta: &EntryMeta,
    ) -> Result<(), Error> {
        let mut h = self.header_with(tar::EntryType::Link, 0o644, 0, meta);
        self.tar
            .append_link(&mut h, path, target)
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a regular file with the given contents.
    pub fn add_file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<(), Error> {
        self.add_file_from(path, mode, data.len() as u64, data)
    }

    /// Adds a regular file of `size` bytes read from `reader`, without holding it in memory.
    pub fn add_file_from(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        reader: impl Read,
    ) -> Result<(), Error> {
        let mut h = self.header(tar::EntryType::Regular, mode, size);
        self.tar
            .append_data(&mut h, path, reader.take(size))
            .map_err(|e| layer_err(path, e))
    }

    /// Adds a symbolic link at `path` pointing to `target`.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), Error> {
        let mut h = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.tar
            .append_link(&mut h, path, target)
            .map_err(|e| layer_err(path, e))
    }

    /// Finishes the tar and the compression, returning the sink and what was written.
    pub fn finish(self) -> Result<(W, LayerInfo), Error> {
        let compression = self.compression;
        let hashed = self
            .tar
            .into_inner()
            .map_err(|e| layer_err("end of archive", e))?;
        let (sink, diff_id, _) = hashed.into_parts();
        let outer = match sink {
            Sink::Plain(w) => w,
            Sink::Gzip(gz) => gz.finish().map_err(|e| layer_err("gzip trailer", e))?,
        };
        let (w, digest, size) = outer.into_parts();
        Ok((
            w,
            LayerInfo {
                digest,
                size,
                diff_id,
                media_type: compression.oci_media_type().to_string(),
            },
        ))
    }
}

/// One PAX record, `"<len> <key>=<value>\n"`, where `<len>` counts the whole record including
/// its own digits.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // space, '=', newline
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(c: Compression) -> (Vec<u8>, LayerInfo) {
        let mut w = LayerWriter::new(Vec::new(), c);
        w.add_dir("usr", 0o755).unwrap();
        w.add_file("usr/hello", 0o644, b"hi").unwrap();
        w.add_symlink("usr/link", "hello").unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn same_entries_same_digest() {
        let (a, la) = build(Compression::Gzip);
        let (b, lb) = build(Compression::Gzip);
        assert_eq!(a, b);
        assert_eq!(la, lb);
        assert_eq!(la.digest, Digest::sha256_of(&a));
    }

    #[test]
    fn pax_record_length_counts_itself() {
        for value_len in [0usize, 1, 5, 90, 95, 990, 1000] {
            let value = vec![b'v'; value_len];
            let record = pax_record("SCHILY.xattr.user.x", &value);
            let (len, _) = std::str::from_utf8(&record)
                .unwrap()
                .split_once(' ')
                .unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), record.len());
        }
    }

    #[test]
    fn xattrs_and_owners_are_read_back() {
        let mut w = LayerWriter::new(Vec::new(), Compression::None);
        let mut meta = EntryMeta {
            uid: 1000,
            gid: 1001,
            ..EntryMeta::default()
        };
        meta.xattrs
            .insert("security.capability".to_string(), vec![1, 0, 0, 2, 0xff]);
        w.add_file_with("usr/bin/ping", 0o755, &meta, 2, &b"hi"[..])
            .unwrap();
        let (bytes, _) = w.finish().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("usr/bin/ping"));
        assert_eq!(e.header().uid().unwrap(), 1000);
        assert_eq!(e.header().gid().unwrap(), 1001);
        let pax: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| {
                let x = x.unwrap();
                (x.key().unwrap().to_string(), x.value_bytes().to_vec())
            })
            .collect();
        assert_eq!(
            pax,
            [(
                "SCHILY.xattr.security.capability".to_string(),
                vec![1, 0, 0, 2, 0xff]
            )]
        );
        assert!(entries.next().is_none());
    }

    #[test]
    fn plain_tar_digest_is_diff_id() {
        let (bytes, l) = build(Compression::None);
        assert_eq!(l.digest, l.diff_id);
        assert_eq!(l.digest, Digest::sha256_of(&bytes));
    }

    #[test]
    fn gzip_diff_id_is_digest_of_uncompressed() {
        let (gz, l) = build(Compression::Gzip);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(l.diff_id, Digest::sha256_of(&plain));
        let mut archive = tar::Archive::new(&plain[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["usr", "usr/hello", "usr/link"]);
    }
}
