//! Mirror to disk: a release mirrored into a staging layout, then cut into an archive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use okd_oci::{Digest, ImageRef, StoreMap};

use super::format::{
    ARCHIVE_FORMAT, ArchiveEntry, ArchiveImageSet, ArchiveManifest, ArchiveRelease, HISTORY_PATH,
    blob_path, chunk_index,
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
        check_archive_dir(&self.dir, self.max_chunk_size)?;
        let staging = staging_dir(&self.dir)?;
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
        let signatures = vec![(release.digest.clone(), self.signatures.clone())];
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
        let job = Packing {
            dir: self.dir.clone(),
            staging: staging.path().to_path_buf(),
            max_chunk_size: self.max_chunk_size,
            since: self.since.clone().unwrap_or_default(),
            blobs: plan_blobs(&mirror.plan),
            carried: Carried::Release(release),
            signatures,
        };
        let (manifest, history, bytes) = job.run_blocking().await?;
        drop(staging);
        Ok(ArchiveOutcome {
            manifest,
            history,
            mirror,
            bytes,
        })
    }
}

/// The blobs (not manifests) of a plan's images, with their sizes.
pub(crate) fn plan_blobs(plan: &crate::MirrorPlan) -> BTreeMap<Digest, u64> {
    plan.blobs
        .iter()
        .map(|b| (b.digest.clone(), b.size))
        .collect()
}

/// A temporary layout inside the archive directory, removed when dropped.
pub(crate) fn staging_dir(dir: &Path) -> Result<tempfile::TempDir, Error> {
    tempfile::Builder::new()
        .prefix(".okd-staging-")
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, e))
}

/// Refuses a chunk size below the minimum and a directory that already holds an archive;
/// creates the directory.
pub(crate) fn check_archive_dir(dir: &Path, max_chunk_size: u64) -> Result<(), Error> {
    if max_chunk_size < MIN_CHUNK_SIZE {
        return Err(Error::Archive {
            path: dir.to_path_buf(),
            reason: format!(
                "a chunk size of {max_chunk_size} bytes is below the minimum of {MIN_CHUNK_SIZE}"
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if chunk_index(&entry.file_name().to_string_lossy()).is_some() {
            return Err(Error::Archive {
                path: dir.to_path_buf(),
                reason: "already holds an archive; write each archive to a new directory"
                    .to_string(),
            });
        }
    }
    Ok(())
}

/// What an archive carries.
pub(crate) enum Carried {
    /// One release.
    Release(ArchiveRelease),
    /// An image set.
    ImageSet(ArchiveImageSet),
}

impl Carried {
    /// The history's line for this archive.
    fn delivered(&self, blobs: &BTreeMap<Digest, u64>) -> DeliveredArchive {
        let (release, digest) = match self {
            Carried::Release(r) => (r.source.clone(), Some(r.digest.clone())),
            Carried::ImageSet(s) => (
                format!(
                    "image set of {} release(s) and {} image(s)",
                    s.releases.len(),
                    s.images.len()
                ),
                None,
            ),
        };
        DeliveredArchive {
            release,
            digest,
            blobs: blobs.len(),
            bytes: blobs.values().sum(),
        }
    }

    /// Records the signature files written for the release of `digest`.
    fn add_signatures(&mut self, digest: &Digest, paths: Vec<String>) {
        match self {
            Carried::Release(r) if &r.digest == digest => r.signatures.extend(paths),
            Carried::Release(_) => {}
            Carried::ImageSet(s) => {
                if let Some(r) = s.releases.iter_mut().find(|r| &r.digest == digest) {
                    r.signatures.extend(paths);
                }
            }
        }
    }
}

/// The blocking part: listing the staging layout and writing the chunks.
pub(crate) struct Packing {
    pub dir: PathBuf,
    pub staging: PathBuf,
    pub max_chunk_size: u64,
    pub since: History,
    /// The blobs (not manifests) of the mirrored images.
    pub blobs: BTreeMap<Digest, u64>,
    pub carried: Carried,
    /// Each release's signatures, by its digest.
    pub signatures: Vec<(Digest, Vec<Vec<u8>>)>,
}

impl Packing {
    /// Writes the chunks on a blocking thread.
    pub(crate) async fn run_blocking(self) -> Result<(ArchiveManifest, History, u64), Error> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || self.run())
            .await
            .map_err(|e| Error::Archive {
                path: dir,
                reason: format!("writing the chunks stopped: {e}"),
            })?
    }

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
        let history = self
            .since
            .clone()
            .with(self.carried.delivered(&delivered), &delivered);
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
        let (release, image_set) = match self.carried {
            Carried::Release(r) => (Some(r), None),
            Carried::ImageSet(s) => (None, Some(s)),
        };
        let manifest = ArchiveManifest {
            format: ARCHIVE_FORMAT.to_string(),
            release,
            image_set,
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
        let mut files = Vec::new();
        for (digest, signatures) in std::mem::take(&mut self.signatures) {
            let dir = format!("signatures/{}={}", digest.algorithm().name(), digest.hex());
            let mut paths = Vec::new();
            for (i, bytes) in signatures.iter().enumerate() {
                let path = format!("{dir}/signature-{}", i + 1);
                let source = self.staging.join(&path);
                write_file(&source, bytes)?;
                paths.push(path.clone());
                files.push(PackFile {
                    path,
                    source,
                    size: bytes.len() as u64,
                    digest: Digest::sha256_of(bytes),
                });
            }
            self.carried.add_signatures(&digest, paths);
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
