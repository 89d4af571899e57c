//! What earlier archives already delivered, so that the next one carries only what is new.

use std::collections::BTreeMap;
use std::path::Path;

use okd_oci::Digest;
use serde::{Deserialize, Serialize};

use super::unpack::read_index;
use crate::Error;

/// Every blob delivered by an archive and the archives before it (`okd-mirror/history.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The archives, oldest first.
    pub archives: Vec<DeliveredArchive>,
    /// Every blob they delivered, with its size.
    pub blobs: BTreeMap<Digest, u64>,
}

/// One archive of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredArchive {
    /// The release it carried, or a description of the image set.
    pub release: String,
    /// The release's digest (none for an image set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Blobs it added to the history.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
}

impl History {
    /// Reads a history from an archive directory (its chunk 0), from chunk 0 itself, or from a
    /// `history.json` file extracted from one.
    pub fn load(path: &Path) -> Result<History, Error> {
        let is_chunk = path.extension().is_some_and(|e| e == "tar");
        if path.is_dir() || is_chunk {
            let dir = if is_chunk {
                path.parent().unwrap_or(Path::new("."))
            } else {
                path
            };
            return Ok(read_index(dir)?.history);
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Archive {
            path: path.to_path_buf(),
            reason: format!("not a history file: {e}"),
        })
    }

    /// Whether an earlier archive delivered `digest`.
    pub fn delivered(&self, digest: &Digest) -> bool {
        self.blobs.contains_key(digest)
    }

    /// This history with one more archive and the blobs it delivered.
    pub fn with(mut self, archive: DeliveredArchive, blobs: &BTreeMap<Digest, u64>) -> History {
        self.blobs
            .extend(blobs.iter().map(|(d, s)| (d.clone(), *s)));
        self.archives.push(archive);
        self
    }
}
