//! Signature directories in the store layout `DIR/sha256=<hex>/signature-<n>`.

use std::io::Read;
use std::path::{Path, PathBuf};

use okd_oci::Digest;

use crate::error::Error;

/// Signatures bigger than this are refused unread. Real signatures are well under a kilobyte;
/// the cap keeps a hostile or broken store from filling memory.
pub const MAX_SIGNATURE_SIZE: u64 = 64 * 1024;

/// How many signatures are looked at per digest at most, so a store answering every index
/// cannot keep a reader busy forever.
pub const MAX_SIGNATURES: u32 = 64;

/// The store path of a digest's signature number `n` (from 1): `sha256=<hex>/signature-<n>`.
pub fn signature_path(digest: &Digest, n: u32) -> String {
    format!(
        "{}={}/signature-{n}",
        digest.algorithm().name(),
        digest.hex()
    )
}

/// A directory laid out as a signature store, the layout the cluster-version-operator reads over
/// HTTP(S).
#[derive(Debug, Clone)]
pub struct SignatureDir {
    root: PathBuf,
}

impl SignatureDir {
    /// The store rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SignatureDir { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of signature number `n` of `digest`.
    pub fn file(&self, digest: &Digest, n: u32) -> PathBuf {
        self.root.join(signature_path(digest, n))
    }

    /// Writes `signature` as the next free `signature-<n>` of `digest` and returns its path.
    ///
    /// The bytes go to a temporary file first, which is then linked in under the first free
    /// number: a reader never sees a half-written signature, and two writers never take the
    /// same number.
    pub fn add(&self, digest: &Digest, signature: &[u8]) -> Result<PathBuf, Error> {
        let first = self.file(digest, 1);
        let dir = first.parent().unwrap_or(&self.root).to_owned();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".signature-")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        std::io::Write::write_all(&mut tmp, signature)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(tmp.path(), e))?;
        let mut n = 1;
        loop {
            let path = self.file(digest, n);
            match std::fs::hard_link(tmp.path(), &path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }

    /// Reads the signatures of `digest` in order, `signature-1` up to the first missing number,
    /// each paired with its path. A file over [`MAX_SIGNATURE_SIZE`] is an error, not read.
    pub fn read(&self, digest: &Digest) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let mut out = Vec::new();
        for n in 1..=MAX_SIGNATURES {
            let path = self.file(digest, n);
            match read_capped(&path)? {
                Some(bytes) => out.push((path.display().to_string(), bytes)),
                None => break,
            }
        }
        Ok(out)
    }

    /// How many signatures `digest` has (consecutive from 1).
    pub fn count(&self, digest: &Digest) -> u32 {
        (1..=MAX_SIGNATURES)
            .take_while(|n| self.file(digest, *n).is_file())
            .count() as u32
    }
}

/// Reads a file of at most [`MAX_SIGNATURE_SIZE`] bytes; `None` when it does not exist.
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let too_large = |size| Error::TooLarge {
        location: path.display().to_string(),
        size,
        limit: MAX_SIGNATURE_SIZE,
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > MAX_SIGNATURE_SIZE {
        return Err(too_large(len));
    }
    // The file may grow after the size check: read one byte past the cap at most.
    let mut bytes = Vec::new();
    file.take(MAX_SIGNATURE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_SIGNATURE_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some(bytes))
}
