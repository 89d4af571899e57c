//! What a stream remembers besides its gating state: the candidate it is creating, the
//! sequence counter, and what each release was built from.
//!
//! Gating state (releases, phases, job runs, publications) lives in okd-gating's
//! [`StateStore`](okd_gating::StateStore). The [`Ledger`] holds what gating does not know about:
//! before a candidate is built, its *intent* — version, creation times, input hash and the inputs
//! by digest — is saved here, so that a process killed part way rebuilds exactly the same release
//! (same version, same digest) instead of a new one. [`FileLedger`] replaces its JSON file
//! atomically (temporary file, flush, rename, flush of the directory), as okd-gating's
//! `FileStateStore` does.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), okd_streams::stream::StreamError> {
//! use okd_streams::stream::{FileLedger, Ledger, LedgerStore};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileLedger::new(dir.path().join("ledger.json"));
//! let mut ledger = store.load().await?;
//! ledger.sequence = 3;
//! store.save(&ledger).await?;
//! assert_eq!(store.load().await?.sequence, 3);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okd_oci::{Digest, ImageRef};
use serde::{Deserialize, Serialize};

use super::StreamError;

/// Version of the ledger format.
pub const LEDGER_FORMAT: u32 = 1;

/// The inputs of one candidate, every image by digest. Images and digests are stored as the
/// strings they display as, so a ledger file reads the same as when they were plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The upstream release image (store reference by digest).
    pub upstream: ImageRef,
    /// The tag the upstream was found by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_tag: Option<String>,
    /// The upstream payload's own version (its release metadata), which is what a cluster
    /// installed from it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_version: Option<String>,
    /// The base OS image layered on (public pullspec by digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_base: Option<ImageRef>,
    /// Digests of the layers added to the OS image, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os_layers: Vec<Digest>,
    /// Digest of the OS Containerfile and its build context, when the OS is built from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_build: Option<Digest>,
    /// The layered OS image (public pullspec by digest), once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_image: Option<ImageRef>,
    /// The lint's warnings on the added OS layers (`warning[var-content] /var/…: …`); errors
    /// refuse the candidate instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os_lint: Vec<String>,
    /// Payload tag overrides (`name`, pullspec by digest), OS tags included.
    #[serde(default)]
    pub overrides: Vec<(String, ImageRef)>,
    /// Payload tags to drop (OS tags of another variant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A candidate being created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Its version.
    pub name: String,
    /// When the stream decided to create it (the gating record's creation time).
    pub created: DateTime<Utc>,
    /// The creation time written into the release image.
    pub image_created: DateTime<Utc>,
    /// Hash of the inputs.
    pub inputs_hash: String,
    /// The inputs.
    pub inputs: Inputs,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A release the stream built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its version.
    pub name: String,
    /// Manifest digest of the release image.
    pub digest: Digest,
    /// Store reference by digest.
    pub image: ImageRef,
    /// The creation time written into the image.
    pub image_created: DateTime<Utc>,
    /// What it was built from.
    pub inputs: Inputs,
    /// What the mirror stage did, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrored: Option<String>,
}

/// A stream's own state. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// [`LEDGER_FORMAT`].
    pub format: u32,
    /// The candidate being created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// The last sequence number handed out.
    #[serde(default)]
    pub sequence: u64,
    /// Built releases by version.
    #[serde(default)]
    pub candidates: BTreeMap<String, Candidate>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            format: LEDGER_FORMAT,
            intent: None,
            sequence: 0,
            candidates: BTreeMap::new(),
        }
    }
}

/// Persistence of a [`Ledger`].
#[async_trait]
pub trait LedgerStore: Send + Sync + std::fmt::Debug {
    /// The last saved ledger, or an empty one.
    async fn load(&self) -> Result<Ledger, StreamError>;
    /// Replaces the saved ledger.
    async fn save(&self, ledger: &Ledger) -> Result<(), StreamError>;
}

/// A ledger in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger(Arc<Mutex<Option<Ledger>>>);

#[async_trait]
impl LedgerStore for MemoryLedger {
    async fn load(&self) -> Result<Ledger, StreamError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default())
    }

    async fn save(&self, ledger: &Ledger) -> Result<(), StreamError> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(ledger.clone());
        Ok(())
    }
}

/// A ledger in a JSON file, replaced atomically.
#[derive(Debug, Clone)]
pub struct FileLedger {
    path: PathBuf,
}

impl FileLedger {
    /// The ledger at `path` (need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> FileLedger {
        FileLedger { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn load_file(path: &Path) -> Result<Ledger, StreamError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ledger::default()),
        Err(e) => return Err(StreamError::io(path, e)),
    };
    let ledger: Ledger = serde_json::from_slice(&bytes).map_err(|e| StreamError::File {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if ledger.format != LEDGER_FORMAT {
        return Err(StreamError::File {
            file: path.to_path_buf(),
            message: format!(
                "ledger format {} is not the supported {LEDGER_FORMAT}",
                ledger.format
            ),
        });
    }
    Ok(ledger)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader sees the old file or the new one, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StreamError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| StreamError::io(&dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".okd-streams-")
        .tempfile_in(&dir)
        .map_err(|e| StreamError::io(&dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| StreamError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| StreamError::io(path, e.error))?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StreamError::io(&dir, e))?;
    Ok(())
}

#[async_trait]
impl LedgerStore for FileLedger {
    async fn load(&self) -> Result<Ledger, StreamError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || load_file(&path))
            .await
            .map_err(|e| StreamError::io(&self.path, std::io::Error::other(e)))?
    }

    async fn save(&self, ledger: &Ledger) -> Result<(), StreamError> {
        let bytes = serde_json::to_vec_pretty(ledger).map_err(|e| StreamError::File {
            file: self.path.clone(),
            message: e.to_string(),
        })?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes))
            .await
            .map_err(|e| StreamError::io(&self.path, std::io::Error::other(e)))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger as okd-streams wrote it when images and digests were plain strings: an intent
    /// left by an interrupted tick and a candidate with every input.
    const FORMAT_1: &str = include_str!("../../tests/data/stream/ledger-format-1.json");

    #[tokio::test]
    async fn a_format_1_ledger_loads_typed_and_saves_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileLedger::new(dir.path().join("ledger.json"));
        std::fs::write(store.path(), FORMAT_1).unwrap();
        let ledger = store.load().await.unwrap();

        let intent = ledger.intent.as_ref().unwrap();
        assert_eq!(intent.inputs.upstream.repository(), "okd/scos-release");
        assert_eq!(intent.inputs.upstream.tag(), Some("4.19.0-okd-scos.2"));
        let c = &ledger.candidates["4.19.0-0.okd-scos-2025-01-01-000000"];
        assert_eq!(c.digest, c.image.digest().unwrap().clone());
        assert!(matches!(&c.image, ImageRef::Layout(l) if l.repository == "okd/release-scos"));
        assert_eq!(
            c.inputs.os_base.as_ref().and_then(ImageRef::tag),
            Some("4.19")
        );
        assert_eq!(c.inputs.os_layers[0].hex(), "7".repeat(64));
        assert_eq!(c.inputs.overrides[1].1.repository(), "library/busybox");
        assert_eq!(c.inputs.os_image, Some(c.inputs.overrides[0].1.clone()));

        // Saved unchanged: the same bytes (the file ends in a newline, serde_json writes none).
        store.save(&ledger).await.unwrap();
        let saved = std::fs::read_to_string(store.path()).unwrap();
        assert_eq!(saved, FORMAT_1.trim_end());
    }

    #[test]
    fn an_image_that_does_not_parse_names_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let bad = FORMAT_1.replace("quay.io/okd/scos-release@", "quay.io/okd/Scos-Release@");
        std::fs::write(&path, bad).unwrap();
        let err = load_file(&path).unwrap_err();
        assert!(
            matches!(err, StreamError::File { ref file, .. } if file == &path),
            "{err}"
        );
        assert!(err.to_string().contains("Scos-Release"), "{err}");
    }
}
