//! Mirror to disk: a release mirrored into a staging layout, then cut into an archive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use okd_oci::{Digest, ImageRef, StoreMap};

use super::format::{
    ARCHIVE_FORMAT, ArchiveEntry, ArchiveManifest, ArchiveRelease, HISTORY_PATH, blob_path,
    chunk_index,
};
use super::history::{DeliveredArchive, History};
use super::pack::{MIN_CHUNK_SIZE, PackFile, PackOptions, pack, pack_index};
use crate::progress::Progress;
use crate::run::{Instructions, MirrorOutcome, ReleaseRun, run_defaults};
use crate::{
    ComponentFilter, Error, ImageKind, MirrorOptions, Naming, PlatformChoice, ReleaseLoader,
    ReleaseMirror, ReleaseTarget,
};

/// A release mirrored into a transfer archive.
#[derive(Debug, Clone)]
pub struct ArchiveWrite {
    /// The release image.
    pub source: ImageRef,
    /// The archive directory; it must not hold chunks yet.
    pub dir: PathBuf,
    /// The size no chunk may exceed (at least [`MIN_CHUNK_SIZE`]).
    pub max_chunk_size: u64,
    /// What earlier archives delivered: their blobs are left out of this one.
    pub since: Option<History>,
    /// Which components to keep.
    pub filter: ComponentFilter,
    /// Keep manifest lists whole, or pick one platform.
    pub platform: PlatformChoice,
    /// Concurrency and retries of the mirror into the staging layout.
    pub options: MirrorOptions,
    /// The release's signatures, carried in the archive for the other side's ConfigMap.
    pub signatures: Vec<Vec<u8>>,
}

/// What writing an archive did.
#[derive(Debug, Clone)]
pub struct ArchiveOutcome {
    /// The archive's index.
    pub manifest: ArchiveManifest,
    /// Its history, this archive included.
    pub history: History,
    /// The mirror into the staging layout.
    pub mirror: MirrorOutcome,
    /// Bytes of all chunks, the index included.
    pub bytes: u64,
}

/// The default chunk size: 4 GiB, under the limit of FAT32 media and of many upload forms.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 30;

/// The repository the release gets inside the archive's layout.
const LAYOUT_REPOSITORY: &str = "okd/release";

impl ArchiveWrite {
    /// An archive of `source` into `dir` with every component, 4 GiB chunks and no history.
    pub fn new(source: ImageRef, dir: PathBuf) -> ArchiveWrite {
        ArchiveWrite {
            source,
            dir,
            max_chunk_size: DEFAULT_CHUNK_SIZE,
            since: None,
            filter: ComponentFilter::all(),
            platform: PlatformChoice::All,
            options: run_defaults(),
            signatures: Vec::new(),
        }
    }

    /// Mirrors the release into a staging layout inside the archive directory, then writes the
    /// chunks and, last, the index; the staging layout is removed.
    pub async fn run(
        &self,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        progress: Arc<dyn Progress>,
    ) -> Result<ArchiveOutcome, Error> {
        self.check_dir()?;
        let staging = tempfile::Builder::new()
            .prefix(".okd-staging-")
            .tempdir_in(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?;
        let to = format!("oci:{}:{LAYOUT_REPOSITORY}", staging.path().display());
        let mut run = ReleaseRun::new(ReleaseMirror {
            source: self.source.clone(),
            target: ReleaseTarget::parse(&to, Naming::Release)?,
        });
        run.filter = self.filter.clone();
        run.platform = self.platform.clone();
        run.options = self.options;
        run.instructions = Instructions::None;
        let mirror = run.run(stores, loader, progress).await?;
        let release = mirror
            .plan
            .images
            .iter()
            .find(|i| i.mapping.kind == ImageKind::Release)
            .ok_or_else(|| Error::Archive {
                path: self.dir.clone(),
                reason: format!("{} mirrored no release image", self.source),
            })?;
        let release = ArchiveRelease {
            source: self.source.to_string(),
            digest: release.digest.clone(),
            repository: LAYOUT_REPOSITORY.to_string(),
            tag: release
                .mapping
                .destination
                .tag()
                .unwrap_or_default()
                .to_string(),
            signatures: Vec::new(),
        };
        let blobs: BTreeMap<Digest, u64> = mirror
            .plan
            .blobs
            .iter()
            .map(|b| (b.digest.clone(), b.size))
            .collect();
        let job = Packing {
            dir: self.dir.clone(),
            staging: staging.path().to_path_buf(),
            max_chunk_size: self.max_chunk_size,
            since: self.since.clone().unwrap_or_default(),
            blobs,
            release,
            signatures: self.signatures.clone(),
        };
        let (manifest, history, bytes) = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| Error::Archive {
                path: self.dir.clone(),
                reason: format!("writing the chunks stopped: {e}"),
            })??;
        drop(staging);
        Ok(ArchiveOutcome {
            manifest,
            history,
            mirror,
            bytes,
        })
    }

    fn check_dir(&self) -> Result<(), Error> {
        if self.max_chunk_size < MIN_CHUNK_SIZE {
            return Err(Error::Archive {
                path: self.dir.clone(),
                reason: format!(
                    "a chunk size of {} bytes is below the minimum of {MIN_CHUNK_SIZE}",
                    self.max_chunk_size
                ),
            });
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            if chunk_index(&entry.file_name().to_string_lossy()).is_some() {
                return Err(Error::Archive {
                    path: self.dir.clone(),
                    reason: "already holds an archive; write each archive to a new directory"
                        .to_string(),
                });
            }
        }
        Ok(())
    }
}

/// The blocking part: listing the staging layout and writing the chunks.
struct Packing {
    dir: PathBuf,
    staging: PathBuf,
    max_chunk_size: u64,
    since: History,
    /// The blobs (not manifests) of the mirrored images.
    blobs: BTreeMap<Digest, u64>,
    release: ArchiveRelease,
    signatures: Vec<Vec<u8>>,
}

impl Packing {
    fn run(mut self) -> Result<(ArchiveManifest, History, u64), Error> {
        let (mut files, omitted) = self.content()?;
        files.extend(self.signature_files()?);
        let options = PackOptions {
            max_chunk_size: self.max_chunk_size,
        };
        let (chunks, content_entries) = pack(&self.dir, &files, options)?;

        let delivered: BTreeMap<Digest, u64> = self
            .blobs
            .iter()
            .filter(|(d, _)| !self.since.delivered(d))
            .map(|(d, s)| (d.clone(), *s))
            .collect();
        let history = self.since.clone().with(
            DeliveredArchive {
                release: self.release.source.clone(),
                digest: self.release.digest.clone(),
                blobs: delivered.len(),
                bytes: delivered.values().sum(),
            },
            &delivered,
        );
        let index_files = self.index_files(&history)?;
        let mut entries: Vec<ArchiveEntry> = index_files
            .iter()
            .map(|(path, bytes)| ArchiveEntry {
                chunk: 0,
                path: path.clone(),
                size: bytes.len() as u64,
                digest: Digest::sha256_of(bytes),
                part_of: None,
            })
            .collect();
        entries.extend(content_entries);
        let omitted_bytes = omitted.iter().filter_map(|d| self.blobs.get(d)).sum();
        let manifest = ArchiveManifest {
            format: ARCHIVE_FORMAT.to_string(),
            release: self.release,
            max_chunk_size: self.max_chunk_size,
            chunks,
            entries,
            omitted,
            omitted_bytes,
        };
        pack_index(&self.dir, &index_files, &manifest)?;
        let index_size = std::fs::metadata(self.dir.join(super::chunk_file_name(0)))
            .map_err(|e| Error::io(&self.dir, e))?
            .len();
        let bytes = index_size + manifest.chunks.iter().map(|c| c.size).sum::<u64>();
        Ok((manifest, history, bytes))
    }

    /// The staging layout's blobs, less those an earlier archive delivered (manifests are
    /// always kept), and the digests left out.
    fn content(&self) -> Result<(Vec<PackFile>, Vec<Digest>), Error> {
        let dir = self.staging.join("blobs").join("sha256");
        let mut files = Vec::new();
        let mut omitted = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Hidden files are temp files of writes that did not finish.
            let Ok(digest) = format!("sha256:{name}").parse::<Digest>() else {
                continue;
            };
            if self.blobs.contains_key(&digest) && self.since.delivered(&digest) {
                omitted.push(digest);
                continue;
            }
            let size = entry
                .metadata()
                .map_err(|e| Error::io(entry.path(), e))?
                .len();
            files.push(PackFile {
                path: blob_path(&digest),
                source: entry.path(),
                size,
                digest,
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        omitted.sort();
        Ok((files, omitted))
    }

    /// The signatures as files of a signature store (`signatures/sha256=<hex>/signature-N`).
    fn signature_files(&mut self) -> Result<Vec<PackFile>, Error> {
        let digest = &self.release.digest;
        let dir = format!("signatures/{}={}", digest.algorithm().name(), digest.hex());
        let mut files = Vec::new();
        for (i, bytes) in self.signatures.iter().enumerate() {
            let path = format!("{dir}/signature-{}", i + 1);
            let source = self.staging.join(&path);
            write_file(&source, bytes)?;
            self.release.signatures.push(path.clone());
            files.push(PackFile {
                path,
                source,
                size: bytes.len() as u64,
                digest: Digest::sha256_of(bytes),
            });
        }
        Ok(files)
    }

    fn index_files(&self, history: &History) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let read = |name: &str| {
            let path = self.staging.join(name);
            std::fs::read(&path).map_err(|e| Error::io(path, e))
        };
        let mut history_json =
            serde_json::to_vec_pretty(history).map_err(|e| Error::Serialize {
                what: HISTORY_PATH.to_string(),
                reason: e.to_string(),
            })?;
        history_json.push(b'\n');
        Ok(vec![
            ("oci-layout".to_string(), read("oci-layout")?),
            ("index.json".to_string(), read("index.json")?),
            (HISTORY_PATH.to_string(), history_json),
        ])
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}
