//! Where gating state is kept between passes: in memory, or in a JSON file that survives a
//! crash at any point.
//!
//! [`FileStateStore`] writes the whole state to a temporary file in the same directory, flushes
//! it to disk, renames it over the state file and flushes the directory. A process killed at any
//! moment leaves either the old file or the new one, never a mix; a torn temporary file is never
//! read (loading reads only the state file itself) and is cleaned up by the next save. An
//! exclusive lock on `<file>.lock` keeps two processes from driving the same state.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), okd_gating::Error> {
//! use okd_gating::{FileStateStore, GatingState, StateStore};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStateStore::open(dir.path().join("state.json"))?;
//! assert_eq!(store.load().await?, GatingState::default());
//! let mut state = GatingState::default();
//! state.streams.insert("4.19.0-0.okd-scos".into(), Default::default());
//! store.save(&state).await?;
//! assert_eq!(store.load().await?, state);
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::Error;
use crate::record::{GatingState, STATE_FORMAT};

/// Persistence of [`GatingState`].
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// The last saved state, or the empty state when nothing was saved yet.
    async fn load(&self) -> Result<GatingState, Error>;
    /// Replaces the saved state.
    async fn save(&self, state: &GatingState) -> Result<(), Error>;
}

/// State kept in memory (tests, simulations, embedding).
#[derive(Debug, Clone, Default)]
pub struct MemoryStateStore {
    state: Arc<Mutex<Option<GatingState>>>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> MemoryStateStore {
        MemoryStateStore::default()
    }
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn load(&self) -> Result<GatingState, Error> {
        let guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(guard.clone().unwrap_or_default())
    }

    async fn save(&self, state: &GatingState) -> Result<(), Error> {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(state.clone());
        Ok(())
    }
}

/// State kept in a JSON file, replaced atomically on every save.
#[derive(Debug)]
pub struct FileStateStore {
    path: PathBuf,
    // Held for the store's lifetime: the OS releases it when the process dies.
    _lock: File,
    // One save at a time: a save removes temporary files it finds.
    writing: tokio::sync::Mutex<()>,
}

const TEMP_PREFIX: &str = ".okd-gating-state-";

impl FileStateStore {
    /// Opens the state file at `path` (which need not exist yet), taking an exclusive lock on
    /// `<path>.lock`. Fails when another process holds it.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileStateStore, Error> {
        let path = path.into();
        let lock_path = lock_path(&path);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        lock.try_lock().map_err(|e| Error::State {
            path: path.clone(),
            message: format!("locked by another process ({e})"),
        })?;
        Ok(FileStateStore {
            path,
            _lock: lock,
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn load_file(path: &Path) -> Result<GatingState, Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GatingState::default()),
        Err(e) => return Err(Error::io(path, e)),
    };
    parse_state_file(path, &bytes)
}

/// Parses the bytes of a state file `path` as [`FileStateStore`] writes it, without taking its
/// lock: for readers (servers, reports) next to the process driving the state. Every save
/// replaces the file by a rename, so bytes read in one `read` of the file are one whole state.
pub fn parse_state_file(path: &Path, bytes: &[u8]) -> Result<GatingState, Error> {
    let state: GatingState = serde_json::from_slice(bytes).map_err(|e| Error::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if state.format != STATE_FORMAT {
        return Err(Error::State {
            path: path.to_path_buf(),
            message: format!(
                "format {} is not the supported {STATE_FORMAT}",
                state.format
            ),
        });
    }
    Ok(state)
}

fn save_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = parent_dir(path);
    // Temporary files left by a process killed mid-write.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    // The rename is durable only once the directory entry is on disk.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(&dir, e))?;
    Ok(())
}

#[async_trait]
impl StateStore for FileStateStore {
    async fn load(&self) -> Result<GatingState, Error> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || load_file(&path))
            .await
            .map_err(|e| Error::State {
                path: self.path.clone(),
                message: format!("load task failed: {e}"),
            })?
    }

    async fn save(&self, state: &GatingState) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| Error::State {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let _guard = self.writing.lock().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || save_file(&path, &bytes))
            .await
            .map_err(|e| Error::State {
                path: self.path.clone(),
                message: format!("save task failed: {e}"),
            })?
    }
}
