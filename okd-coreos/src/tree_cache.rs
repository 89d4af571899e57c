//! [`TreeCache`]: layer listings by digest, streamed from a store once; [`image_tree`]: the
//! file tree of an image's layers.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use okd_oci::{Digest, Store};

use crate::Error;
use crate::file_tree::{FileTree, LayerListing, open_layer};
use crate::inspect::OsImageInfo;

/// Listings of layers by digest, in memory and optionally in a directory, so that a base is
/// read once however many images are built on it.
#[derive(Debug, Default)]
pub struct TreeCache {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<Digest, Arc<LayerListing>>>,
}

impl TreeCache {
    /// A cache in memory only.
    pub fn new() -> TreeCache {
        TreeCache::default()
    }

    /// A cache that also keeps listings as JSON files in `dir` (`<algorithm>-<hex>.json`).
    pub fn in_dir(dir: impl Into<PathBuf>) -> TreeCache {
        TreeCache {
            dir: Some(dir.into()),
            memory: Mutex::default(),
        }
    }

    fn file(&self, digest: &Digest) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{}.json", digest.to_string().replace(':', "-"))))
    }

    fn lookup(&self, digest: &Digest) -> Option<Arc<LayerListing>> {
        if let Some(hit) = self.memory.lock().ok()?.get(digest) {
            return Some(hit.clone());
        }
        let bytes = std::fs::read(self.file(digest)?).ok()?;
        // A damaged cache file is read again from the store rather than trusted.
        let listing: LayerListing = serde_json::from_slice(&bytes).ok()?;
        let listing = Arc::new(listing);
        if let Ok(mut m) = self.memory.lock() {
            m.insert(digest.clone(), listing.clone());
        }
        Some(listing)
    }

    fn store(&self, digest: &Digest, listing: Arc<LayerListing>) -> Result<(), Error> {
        if let Some(path) = self.file(digest) {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            let json = serde_json::to_vec(&*listing).map_err(|e| Error::io(&path, e.into()))?;
            let temp = path.with_extension("json.tmp");
            std::fs::write(&temp, json).map_err(|e| Error::io(&temp, e))?;
            std::fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))?;
        }
        if let Ok(mut m) = self.memory.lock() {
            m.insert(digest.clone(), listing);
        }
        Ok(())
    }

    /// The listing of layer `digest` of `repo`: from the cache, else streamed from the store
    /// (never held whole, never unpacked) and cached.
    pub async fn listing(
        &self,
        store: &dyn Store,
        repo: &str,
        digest: &Digest,
    ) -> Result<Arc<LayerListing>, Error> {
        if let Some(hit) = self.lookup(digest) {
            return Ok(hit);
        }
        let blob = store.read_blob(repo, digest).await?;
        let what = format!("{}/{repo}@{digest}", store.location());
        let listing = Arc::new(list_stream(blob.stream, what).await?);
        self.store(digest, listing.clone())?;
        Ok(listing)
    }
}

/// Lists a layer blob arriving as a stream: a blocking tar reader on one side, the chunks
/// handed over through a small channel so that memory stays bounded.
async fn list_stream(mut stream: okd_oci::ByteStream, what: String) -> Result<LayerListing, Error> {
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let name = what.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let chunks = ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        };
        let plain = open_layer(chunks, &name)?;
        LayerListing::read(plain, &name)
    });
    while let Some(chunk) = stream.next().await {
        let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            // The reader stopped (bad archive) or the store failed: the reader reports it.
            break;
        }
    }
    drop(tx);
    reader.await.map_err(|e| Error::Task {
        what: format!("listing {what}"),
        message: e.to_string(),
    })?
}

/// Blocking reads over chunks sent from async code.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The tree of an image's base layers: every layer of `info` up to and including the last one
/// of the base OS (all of them when `upto` is `None`), applied in order.
pub async fn image_tree(
    store: &dyn Store,
    repo: &str,
    info: &OsImageInfo,
    upto: Option<usize>,
    cache: &TreeCache,
) -> Result<FileTree, Error> {
    let mut tree = FileTree::new();
    let count = upto.map_or(info.layers.len(), |n| n.min(info.layers.len()));
    for layer in &info.layers[..count] {
        let listing = cache.listing(store, repo, &layer.digest).await?;
        tree.apply(&listing);
    }
    Ok(tree)
}
