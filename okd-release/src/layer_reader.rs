//! Streaming a layer blob out of a store into a blocking tar reader.
//!
//! The blob's bytes are verified against its digest as they pass, decompressed (gzip, or plain
//! tar) on a blocking thread, and counted so that neither the compressed nor the uncompressed
//! size can exceed its limit. Whatever the reader leaves unread is drained, so the digest of the
//! whole blob is always checked before a result is returned.

use std::io::{self, BufRead, BufReader, Read};

use bytes::Bytes;
use futures::StreamExt;
use okd_oci::{BlobRef, Store};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::Error;

/// Size limits for reading one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerLimits {
    /// Largest blob accepted.
    pub compressed: u64,
    /// Largest uncompressed tar accepted.
    pub unpacked: u64,
}

/// Turns an I/O error back into the typed error it carries, if any.
pub(crate) fn from_io(e: io::Error, what: &str) -> Error {
    let carries = e
        .get_ref()
        .is_some_and(|inner| inner.is::<okd_oci::Error>() || inner.is::<Error>());
    if !carries {
        return Error::Layer {
            what: what.to_string(),
            reason: e.to_string(),
        };
    }
    let layer_err = |reason: String| Error::Layer {
        what: what.to_string(),
        reason,
    };
    match e.into_inner() {
        Some(inner) => match inner.downcast::<Error>() {
            Ok(e) => *e,
            Err(inner) => match inner.downcast::<okd_oci::Error>() {
                Ok(e) => Error::Oci(*e),
                Err(other) => layer_err(other.to_string()),
            },
        },
        None => layer_err("unreadable data".to_string()),
    }
}

/// Counts bytes read and fails once `limit` is passed.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    what: String,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(Error::TooLarge {
                what: format!("{} (uncompressed)", self.what),
                size: self.read,
                limit: self.limit,
            }));
        }
        Ok(n)
    }
}

/// Streams `layer` of `repo` through `scan`, which gets the uncompressed tar. `image` names the
/// image in errors. `scan` may fail with its own error type, into which this crate's converts.
pub(crate) async fn read_layer<T, E, F>(
    store: &dyn Store,
    repo: &str,
    layer: &BlobRef,
    image: &str,
    limits: LayerLimits,
    scan: F,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<Error> + Send + 'static,
    F: FnOnce(&mut dyn Read) -> Result<T, E> + Send + 'static,
{
    let what = format!("layer {} of {image}", layer.digest);
    if layer.size > limits.compressed {
        return Err(Error::TooLarge {
            what,
            size: layer.size,
            limit: limits.compressed,
        }
        .into());
    }
    if layer.media_type.ends_with("zstd") {
        return Err(Error::UnsupportedImage {
            image: image.to_string(),
            reason: format!("layer media type {} is not supported", layer.media_type),
        }
        .into());
    }
    let blob = store
        .read_blob(repo, &layer.digest)
        .await
        .map_err(Error::from)?;
    let verified =
        okd_oci::verify_stream(layer.digest.clone(), layer.size, what.clone(), blob.stream);
    let reader = StreamReader::new(
        verified.map(|r: Result<Bytes, okd_oci::Error>| r.map_err(io::Error::other)),
    );
    let bridge = SyncIoBridge::new(reader);
    let image = image.to_string();
    let digest = layer.digest.to_string();
    tokio::task::spawn_blocking(move || {
        let mut raw = BufReader::with_capacity(64 * 1024, bridge);
        let magic = raw.fill_buf().map_err(|e| from_io(e, &what))?;
        if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(Error::UnsupportedImage {
                image,
                reason: format!("layer {digest} is zstd-compressed, which is not supported"),
            }
            .into());
        }
        let plain: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut bounded = Bounded {
            inner: plain,
            read: 0,
            limit: limits.unpacked,
            what: what.clone(),
        };
        let out = scan(&mut bounded)?;
        // Read what is left so that the digest of the whole blob is checked.
        io::copy(&mut bounded, &mut io::sink()).map_err(|e| from_io(e, &what))?;
        Ok(out)
    })
    .await
    .map_err(|e| {
        E::from(Error::Layer {
            what: layer.digest.to_string(),
            reason: format!("reader thread failed: {e}"),
        })
    })?
}

/// Most bytes reserved up front for a tar entry's data. The size comes from the entry's header,
/// which is untrusted: a header announcing far more than follows must not cost that much memory.
const MAX_PREALLOCATION: u64 = 1 << 20;

/// Reads the `size` bytes of data of tar entry `name` (`size` already checked against the
/// caller's limit), failing when the archive ends before them. `what` names the layer.
pub(crate) fn read_entry_data(
    entry: &mut dyn Read,
    size: u64,
    name: &str,
    what: &str,
) -> Result<Vec<u8>, Error> {
    let mut data = Vec::with_capacity(size.min(MAX_PREALLOCATION) as usize);
    entry
        .take(size)
        .read_to_end(&mut data)
        .map_err(|e| from_io(e, what))?;
    if (data.len() as u64) < size {
        return Err(Error::Layer {
            what: what.to_string(),
            reason: format!(
                "entry {name:?} announces {size} bytes but the archive ends after {}",
                data.len()
            ),
        });
    }
    Ok(data)
}

/// The path of a tar entry with leading `./` and `/` removed.
pub(crate) fn clean_entry_name(name: &str) -> &str {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix("./") {
            n = rest;
        } else if let Some(rest) = n.strip_prefix('/') {
            n = rest;
        } else {
            return n;
        }
    }
}

/// The reader under a tar archive that ends the archive where Go's `archive/tar` does.
///
/// Go's reader takes a stream that ends right after an entry's data — no padding to the next
/// block, no end-of-archive blocks, as `umoci insert` 0.4 writes layers — as the end of the
/// archive; the tar crate refuses it. Once the data of the entry just walked has been read whole
/// (`data_end`), an end of stream is padded with the zeros the tar crate expects. An end inside
/// an entry's data stays an error.
pub(crate) struct GoTail<'r> {
    inner: &'r mut dyn Read,
    pos: u64,
    data_end: std::rc::Rc<std::cell::Cell<u64>>,
    zeros: u64,
}

impl Read for GoTail<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.zeros == 0 {
            let n = self.inner.read(buf)?;
            self.pos += n as u64;
            if n > 0 || buf.is_empty() || self.pos < self.data_end.get() {
                return Ok(n);
            }
            // Two zero blocks after the padding, then the real end.
            self.zeros = self.pos.next_multiple_of(512) - self.pos + 1024;
            self.data_end.set(u64::MAX);
        }
        let n = buf
            .len()
            .min(usize::try_from(self.zeros).unwrap_or(usize::MAX));
        buf[..n].fill(0);
        self.zeros -= n as u64;
        Ok(n)
    }
}

/// Calls `each` on every entry of the tar `stream`, as Go's `archive/tar` walks it (see
/// [`GoTail`]); `each` returns `false` to stop. Whatever `each` leaves of an entry's data is
/// read before the next entry. `what` names the layer in errors.
pub(crate) fn go_entries<E: From<Error>>(
    stream: &mut dyn Read,
    what: &str,
    mut each: impl FnMut(&mut tar::Entry<'_, GoTail<'_>>) -> Result<bool, E>,
) -> Result<(), E> {
    let data_end = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut archive = tar::Archive::new(GoTail {
        inner: stream,
        pos: 0,
        data_end: data_end.clone(),
        zeros: 0,
    });
    for entry in archive.entries().map_err(|e| from_io(e, what))? {
        let mut entry = entry.map_err(|e| from_io(e, what))?;
        data_end.set(u64::MAX);
        if !each(&mut entry)? {
            return Ok(());
        }
        io::copy(&mut entry, &mut io::sink()).map_err(|e| from_io(e, what))?;
        data_end.set(entry.raw_file_position().saturating_add(entry.size()));
    }
    Ok(())
}

#[cfg(test)]
mod go_tail_tests {
    use super::*;

    fn names(data: &[u8]) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        go_entries(&mut &data[..], "t", |e| {
            out.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
            Ok::<_, Error>(true)
        })?;
        Ok(out)
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn an_archive_ending_after_the_last_data_ends_there() {
        let full = tar_of(&[("a", b"one"), ("b", b"hi\n")]);
        assert_eq!(names(&full).unwrap(), ["a", "b"]);
        // What umoci 0.4 writes: no padding after the last data, no end-of-archive blocks.
        let cut = &full[..512 + 512 + 512 + 3];
        assert_eq!(names(cut).unwrap(), ["a", "b"]);
    }

    #[test]
    fn an_archive_ending_inside_data_is_an_error() {
        let full = tar_of(&[("a", &[7u8; 2000])]);
        assert!(names(&full[..512 + 1000]).is_err());
    }
}
