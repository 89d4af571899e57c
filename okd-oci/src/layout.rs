//! [`LayoutStore`]: a [`Store`] backed by an OCI image layout directory.
//!
//! The layout is the one the OCI image spec defines and `skopeo`/`umoci` read and write: an
//! `oci-layout` file, `index.json`, and content-addressed `blobs/<alg>/<hex>`. One blob pool is
//! shared by every repository of the layout; a repository exists only through the names in
//! `index.json` (`org.opencontainers.image.ref.name` = `REPO:TAG`, or `TAG` for the unnamed
//! repository `""`), so `oci:/srv/okd:okd/release:4.19.0` and `oci:/srv/okd:4.19.0` address the
//! same directory.
//!
//! Writes never expose partial content. A blob is streamed into a hidden temp file in the layout,
//! verified against its digest and size, fsynced, and only then renamed into `blobs/`; on any
//! failure the temp file is removed. `index.json` is rewritten through a temp file and a rename
//! while holding an in-process mutex and an advisory lock on `.index.json.lock`, so concurrent
//! writers, in this process or another `okd-streams` process on the same layout, never lose an
//! entry. A process killed mid-write can leave a `.okd-tmp-*` file behind, which no reader
//! treats as content and which is safe to delete when no writer is running.
//!
//! Other tools: `skopeo` (containers/image) and `umoci` read and write these layouts, including
//! `REPO:TAG` names (both split `DIR:NAME` at the first colon, so `umoci unpack --image
//! /srv/okd:okd/release:4.19.0` works). Both, however, only look up `index.json` entries whose
//! media type is an OCI manifest or index: a Docker schema 2 image (what release images must be)
//! is stored and read back by okd-streams byte for byte, but those tools do not find it by name.
//!
//! ```
//! # async fn demo() -> Result<(), okd_oci::Error> {
//! use okd_oci::{LayoutStore, ManifestRef, RawManifest, Store, StoreExt, media_type};
//!
//! let dir = tempfile::tempdir().map_err(|e| okd_oci::Error::io("tempdir", e))?;
//! let store = LayoutStore::create(dir.path()).await?;
//! let config = bytes::Bytes::from_static(b"{}");
//! let config_digest = okd_oci::Digest::sha256_of(&config);
//! store.put_blob("okd/demo", &config_digest, config).await?;
//! let manifest = RawManifest::new(
//!     media_type::OCI_MANIFEST,
//!     format!(
//!         r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":2}},"layers":[]}}"#,
//!         media_type::OCI_MANIFEST, media_type::OCI_CONFIG, config_digest
//!     ),
//! )?;
//! store.write_manifest("okd/demo", &manifest, Some("v1")).await?;
//! assert_eq!(store.list_tags("okd/demo").await?, ["v1"]);
//! let read = store.read_manifest("okd/demo", &ManifestRef::Tag("v1".into())).await?;
//! assert_eq!(read.bytes(), manifest.bytes());
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod atomic;
mod index;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::store::{Blob, BlobWrite, ByteStream, Store, StoreCounters, StoreStats};
use crate::{
    Digest, Error, MAX_MANIFEST_SIZE, ManifestRef, RawManifest, is_valid_repository, is_valid_tag,
    media_type, verify_stream,
};
use index::{IndexEntry, IndexFile, MAX_INDEX_SIZE};

/// Contents of the `oci-layout` file okd-streams writes.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// Chunk size for streamed reads and the write buffer of streamed writes.
pub(crate) const IO_CHUNK: usize = 256 * 1024;

/// An OCI image layout directory used as a [`Store`].
#[derive(Debug)]
pub struct LayoutStore {
    root: PathBuf,
    /// Serialises `index.json` updates of this process, so that waiting happens here rather than
    /// in blocking threads parked on the file lock.
    index_update: tokio::sync::Mutex<()>,
    counters: StoreCounters,
}

/// Runs blocking file work off the runtime threads.
async fn blocking<T: Send + 'static>(
    what: &Path,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io(what, std::io::Error::other(e)))?
}

impl LayoutStore {
    /// Opens an existing layout, checking that `oci-layout`, `index.json` and `blobs/` are valid.
    pub async fn open(path: impl AsRef<Path>) -> Result<LayoutStore, Error> {
        let root = path.as_ref().to_path_buf();
        let check = root.clone();
        blocking(&root, move || validate(&check)).await?;
        Ok(Self::at(root))
    }

    /// Creates a new layout at `path` (creating the directory if needed). Fails when `path`
    /// already holds a layout.
    pub async fn create(path: impl AsRef<Path>) -> Result<LayoutStore, Error> {
        Self::init(path.as_ref(), false).await
    }

    /// Opens the layout at `path`, creating it first when there is none.
    pub async fn open_or_create(path: impl AsRef<Path>) -> Result<LayoutStore, Error> {
        Self::init(path.as_ref(), true).await
    }

    async fn init(path: &Path, reuse: bool) -> Result<LayoutStore, Error> {
        let root = path.to_path_buf();
        let r = root.clone();
        blocking(&root, move || {
            if reuse && r.join("oci-layout").exists() {
                // No lock needed to open, so a read-only layout can be opened too.
                return validate(&r);
            }
            std::fs::create_dir_all(&r).map_err(|e| Error::io(&r, e))?;
            // Under the lock, so that two processes creating the same layout cannot overwrite
            // an index.json the other already wrote to.
            let _lock = atomic::lock_layout(&r)?;
            if r.join("oci-layout").exists() {
                if reuse {
                    return validate(&r);
                }
                return Err(Error::InvalidLayout {
                    path: r,
                    reason: "already an OCI image layout".to_string(),
                });
            }
            let blobs = r.join("blobs").join("sha256");
            std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
            let index = r.join("index.json");
            if index.exists() {
                // Left by an interrupted create: keep it if it is sound.
                index::read_blocking(&r)?;
            } else {
                atomic::replace_file(&r, &index, &IndexFile::empty().to_bytes())?;
            }
            // Last, so that a layout is never valid before all its parts exist.
            atomic::replace_file(&r, &r.join("oci-layout"), OCI_LAYOUT)
        })
        .await?;
        Ok(Self::at(root))
    }

    fn at(root: PathBuf) -> LayoutStore {
        LayoutStore {
            root,
            index_update: tokio::sync::Mutex::new(()),
            counters: StoreCounters::default(),
        }
    }

    /// The layout directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where a blob lives (or would live) in the layout: `blobs/<alg>/<hex>`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Every repository with at least one tag, sorted; the unnamed repository is `""`.
    pub async fn repositories(&self) -> Result<Vec<String>, Error> {
        Ok(self.read_index().await?.repositories())
    }

    async fn read_index(&self) -> Result<IndexFile, Error> {
        let path = self.root.join("index.json");
        let bytes = read_limited(&path, MAX_INDEX_SIZE, |size| {
            index::too_large(&self.root, size)
        })
        .await?;
        IndexFile::parse(&bytes, &self.root)
    }

    /// Applies `change` to `index.json` under both locks and replaces the file when it reports a
    /// change.
    async fn update_index<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut IndexFile) -> Result<(T, bool), Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _guard = self.index_update.lock().await;
        let root = self.root.clone();
        blocking(&self.root, move || {
            let _lock = atomic::lock_layout(&root)?;
            let mut index = index::read_blocking(&root)?;
            let (out, changed) = change(&mut index)?;
            if changed {
                atomic::replace_file(&root, &root.join("index.json"), &index.to_bytes())?;
            }
            Ok(out)
        })
        .await
    }

    async fn file_size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        let path = self.blob_path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Streams `data` into a temp file and renames it to the blob's path once the stream ended
    /// cleanly. On failure or cancellation the temp file is removed.
    async fn store_stream(&self, digest: &Digest, data: ByteStream) -> Result<u64, Error> {
        let root = self.root.clone();
        let temp = blocking(&self.root, move || atomic::temp_file(&root)).await?;
        let (file, temp_path) = temp.into_parts();
        let written = atomic::fill(file, &temp_path, data).await;
        let dest = self.blob_path(digest);
        match written {
            Ok(n) => blocking(&dest.clone(), move || atomic::publish(temp_path, &dest))
                .await
                .map(|()| n),
            Err(e) => {
                // Removing the temp file is a blocking unlink: keep it off the runtime threads.
                let removal = tokio::task::spawn_blocking(move || drop(temp_path)).await;
                if let Err(join) = removal {
                    tracing::warn!("removing a temp file of {digest}: {join}");
                }
                Err(e)
            }
        }
    }

    async fn load_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<RawManifest>, Error> {
        let index = self.read_index().await?;
        let (digest, declared) = match reference {
            ManifestRef::Tag(tag) => match index.find_tag(repo, tag) {
                None => return Ok(None),
                Some(entry) => {
                    if !media_type::is_manifest(&entry.media_type) {
                        return Err(Error::UnsupportedMediaType {
                            what: format!("{}:{}", self.location(), index::ref_name(repo, tag)),
                            media_type: entry.media_type.clone(),
                        });
                    }
                    let digest = entry.parsed_digest().ok_or_else(|| Error::InvalidLayout {
                        path: self.root.clone(),
                        reason: format!(
                            "index.json entry {} has digest {:?}, which okd-streams cannot verify",
                            index::ref_name(repo, tag),
                            entry.digest
                        ),
                    })?;
                    (digest, Some(entry.clone()))
                }
            },
            ManifestRef::Digest(d) => (
                d.clone(),
                index
                    .find_digest(d)
                    .filter(|e| media_type::is_manifest(&e.media_type))
                    .cloned(),
            ),
        };
        let what = format!("{}{reference}", self.location());
        if let Some(entry) = &declared
            && entry.size > MAX_MANIFEST_SIZE as u64
        {
            return Err(Error::ManifestTooLarge {
                what,
                size: entry.size,
                limit: MAX_MANIFEST_SIZE as u64,
            });
        }
        let path = self.blob_path(&digest);
        let bytes = match read_limited(&path, MAX_MANIFEST_SIZE as u64, |size| {
            Error::ManifestTooLarge {
                what: what.clone(),
                size,
                limit: MAX_MANIFEST_SIZE as u64,
            }
        })
        .await
        {
            Ok(b) => b,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let bytes = bytes::Bytes::from(bytes);
        let media_type = match declared {
            Some(entry) => entry.media_type,
            None => RawManifest::sniff(bytes.clone())?.media_type().to_string(),
        };
        RawManifest::verified(&media_type, bytes, &digest).map(Some)
    }

    fn manifest_not_found(&self, repo: &str, reference: &ManifestRef) -> Error {
        Error::ManifestNotFound {
            location: self.location(),
            repo: repo.to_string(),
            reference: reference.to_string(),
        }
    }
}

/// Checks the three things the image-layout spec requires.
fn validate(root: &Path) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidLayout {
        path: root.to_path_buf(),
        reason,
    };
    let header = root.join("oci-layout");
    let text = match std::fs::read(&header) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(invalid("no oci-layout file".to_string()));
        }
        Err(e) => return Err(Error::io(&header, e)),
    };
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "imageLayoutVersion")]
        image_layout_version: String,
    }
    let h: Header =
        serde_json::from_slice(&text).map_err(|e| invalid(format!("oci-layout: {e}")))?;
    if !h.image_layout_version.starts_with("1.") {
        return Err(invalid(format!(
            "imageLayoutVersion {:?} (okd-streams reads 1.x)",
            h.image_layout_version
        )));
    }
    if !root.join("index.json").exists() {
        return Err(invalid("no index.json".to_string()));
    }
    index::read_blocking(root)?;
    if !root.join("blobs").is_dir() {
        return Err(invalid("no blobs directory".to_string()));
    }
    Ok(())
}

/// Reads a whole file, refusing (with `too_large(size)`) one over `limit` before reading it.
async fn read_limited(
    path: &Path,
    limit: u64,
    too_large: impl Fn(u64) -> Error,
) -> Result<Vec<u8>, Error> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io(path, e))?;
    let size = file.metadata().await.map_err(|e| Error::io(path, e))?.len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut buf = Vec::with_capacity(size as usize);
    // `take` guards against a file that grew after the size check.
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

fn check_name(location: &str, repo: &str, tag: Option<&str>) -> Result<(), Error> {
    let input = || match tag {
        Some(t) => format!("{location}:{}", index::ref_name(repo, t)),
        None => format!("{location}:{repo}"),
    };
    if !repo.is_empty() && !is_valid_repository(repo) {
        return Err(Error::InvalidReference {
            input: input(),
            reason: format!("invalid repository {repo:?}"),
        });
    }
    if let Some(t) = tag
        && !is_valid_tag(t)
    {
        return Err(Error::InvalidReference {
            input: input(),
            reason: format!("invalid tag {t:?}"),
        });
    }
    Ok(())
}

#[async_trait]
impl Store for LayoutStore {
    fn location(&self) -> String {
        format!("oci:{}", self.root.display())
    }

    async fn blob_size(&self, _repo: &str, digest: &Digest) -> Result<Option<u64>, Error> {
        self.file_size(digest).await
    }

    async fn read_blob(&self, repo: &str, digest: &Digest) -> Result<Blob, Error> {
        let path = self.blob_path(digest);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::BlobNotFound {
                    location: self.location(),
                    repo: repo.to_string(),
                    digest: digest.clone(),
                });
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::io(&path, e))?
            .len();
        StoreCounters::bump(&self.counters.blobs_read);
        let stream = ReaderStream::with_capacity(file, IO_CHUNK)
            .map_err(move |e| Error::io(path.clone(), e));
        Ok(Blob {
            size,
            stream: Box::pin(stream),
        })
    }

    async fn write_blob(
        &self,
        _repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
    ) -> Result<BlobWrite, Error> {
        // A file of another size under this name is damaged; writing replaces it.
        if self.file_size(digest).await? == Some(size) {
            StoreCounters::bump(&self.counters.blobs_skipped);
            return Ok(BlobWrite::AlreadyPresent);
        }
        let what = format!("blob {digest} for {}", self.location());
        let verified = verify_stream(digest.clone(), size, what, data);
        let n = self.store_stream(digest, verified).await?;
        StoreCounters::bump(&self.counters.blobs_written);
        StoreCounters::add(&self.counters.bytes_written, n);
        Ok(BlobWrite::Written)
    }

    async fn mount_blob(
        &self,
        _repo: &str,
        _from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        // Every repository of a layout shares one blob pool.
        let present = self.file_size(digest).await?.is_some();
        if present {
            StoreCounters::bump(&self.counters.blobs_mounted);
        }
        Ok(present)
    }

    async fn read_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        let m = self
            .load_manifest(repo, reference)
            .await?
            .ok_or_else(|| self.manifest_not_found(repo, reference))?;
        StoreCounters::bump(&self.counters.manifests_read);
        Ok(m)
    }

    async fn manifest_digest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<Option<Digest>, Error> {
        match reference {
            ManifestRef::Tag(tag) => {
                let index = self.read_index().await?;
                Ok(index
                    .find_tag(repo, tag)
                    .and_then(IndexEntry::parsed_digest))
            }
            // Any blob can be asked about; one that is not a manifest is simply not one.
            ManifestRef::Digest(_) => match self.load_manifest(repo, reference).await {
                Ok(m) => Ok(m.map(|m| m.digest().clone())),
                Err(
                    Error::InvalidManifest { .. }
                    | Error::ManifestTooLarge { .. }
                    | Error::UnsupportedMediaType { .. },
                ) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    async fn write_manifest(
        &self,
        repo: &str,
        manifest: &RawManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        check_name(&self.location(), repo, tag)?;
        for r in manifest.references()? {
            if self.file_size(&r.digest).await?.is_none() {
                return Err(Error::MissingReference {
                    location: self.location(),
                    repo: repo.to_string(),
                    manifest: manifest.digest().clone(),
                    missing: r.digest,
                });
            }
        }
        let digest = manifest.digest();
        if self.file_size(digest).await? != Some(manifest.size()) {
            let bytes = manifest.bytes().clone();
            let data: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
            self.store_stream(digest, data).await?;
        }
        if let Some(tag) = tag {
            let entry = IndexEntry::named(
                manifest.media_type(),
                digest,
                manifest.size(),
                index::ref_name(repo, tag),
            );
            let (repo, tag) = (repo.to_string(), tag.to_string());
            self.update_index(move |index| Ok(((), index.set_tag(&repo, &tag, entry))))
                .await?;
        }
        StoreCounters::bump(&self.counters.manifests_written);
        Ok(())
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        Ok(self.read_index().await?.tags(repo))
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        let (r, t) = (repo.to_string(), tag.to_string());
        let removed = self
            .update_index(move |index| {
                let removed = index.remove_tag(&r, &t);
                Ok((removed, removed))
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(self.manifest_not_found(repo, &ManifestRef::Tag(tag.to_string())))
        }
    }

    fn stats(&self) -> StoreStats {
        self.counters.snapshot()
    }
}
