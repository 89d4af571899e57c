//! Crash-safe file replacement and the cross-process lock of a layout.
//!
//! Everything a layout exposes appears by `rename(2)` of a complete, fsynced temp file created in
//! the layout directory itself (same filesystem, so the rename is atomic), under a hidden name
//! that readers ignore. The blocking functions here run inside `spawn_blocking`.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use tempfile::{NamedTempFile, TempPath};
use tokio::io::AsyncWriteExt;

use crate::{ByteStream, Error};

/// Prefix of temp files; hidden so that tools listing the layout skip them.
pub(crate) const TEMP_PREFIX: &str = ".okd-tmp-";

/// The advisory lock file serialising `index.json` updates across processes.
pub(crate) const LOCK_FILE: &str = ".index.json.lock";

/// Published files are readable by everyone (before umask), as skopeo's are.
const MODE: u32 = 0o644;

/// A new empty temp file in `dir`.
pub(crate) fn temp_file(dir: &Path) -> Result<NamedTempFile, Error> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(Permissions::from_mode(MODE))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))
}

/// Moves a complete temp file to `dest`, creating `dest`'s directory if needed, and makes the
/// rename durable.
pub(crate) fn publish(temp: TempPath, dest: &Path) -> Result<(), Error> {
    let parent = parent_of(dest);
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    temp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    sync_dir(&parent)
}

/// Replaces `dest` with `data` atomically: temp file in `dir`, fsync, rename, fsync of the
/// directory.
pub(crate) fn replace_file(dir: &Path, dest: &Path, data: &[u8]) -> Result<(), Error> {
    let mut temp = temp_file(dir)?;
    temp.write_all(data)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(temp.path(), e))?;
    publish(temp.into_temp_path(), dest)
}

/// fsyncs a directory so that a rename inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Takes the layout's exclusive lock, blocking until it is free. The lock is released when the
/// returned file is dropped (or the process dies, so a crash never leaves it held).
pub(crate) fn lock_layout(root: &Path) -> Result<File, Error> {
    let path = root.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

/// Writes a stream into a temp file and makes it durable; returns the byte count.
pub(crate) async fn fill(
    file: std::fs::File,
    path: &Path,
    mut data: ByteStream,
) -> Result<u64, Error> {
    let mut out =
        tokio::io::BufWriter::with_capacity(super::IO_CHUNK, tokio::fs::File::from_std(file));
    let mut n = 0u64;
    while let Some(chunk) = data.next().await {
        let chunk = chunk?;
        n += chunk.len() as u64;
        out.write_all(&chunk)
            .await
            .map_err(|e| Error::io(path, e))?;
    }
    out.flush().await.map_err(|e| Error::io(path, e))?;
    out.get_ref()
        .sync_all()
        .await
        .map_err(|e| Error::io(path, e))?;
    Ok(n)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_leaves_only_the_destination() {
        let dir = tempfile::tempdir().expect("must succeed");
        let dest = dir.path().join("index.json");
        replace_file(dir.path(), &dest, b"one").expect("must succeed");
        replace_file(dir.path(), &dest, b"two").expect("must succeed");
        assert_eq!(std::fs::read(&dest).expect("must succeed"), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("must succeed")
            .map(|e| e.expect("must succeed").file_name())
            .collect();
        assert_eq!(names, ["index.json"]);
    }

    #[test]
    fn lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().expect("must succeed");
        let held = lock_layout(dir.path()).expect("must succeed");
        let other = File::open(dir.path().join(LOCK_FILE)).expect("must succeed");
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().expect("must succeed");
    }
}
