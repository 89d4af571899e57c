//! Disk to mirror: an archive checked whole, then its release pushed to a registry, with the
//! mirror configuration for the cluster. An archive of an image set is pushed under the
//! destination as a prefix instead, in oc-mirror's layout ([`crate::imageset`]).

use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::{Access, Digest, ImageRef, Store, StoreKey, StoreMap};

use super::format::ArchiveManifest;
use super::refill::{ReleaseAt, refill_releases};
use super::unpack::{Unpacked, unpack};
use crate::idms::ImageDigestMirrorSet;
use crate::imageset::ClusterResources;
use crate::instructions::{MirrorSet, dedupe_sort, registry_repository};
use crate::progress::Progress;
use crate::run::{Instructions, MirrorOutcome, ReleaseRun, run_defaults, write_atomic};
use crate::{Error, MirrorOptions, ReleaseLoader, ReleaseMirror, ReleaseTarget};

/// The file oc-mirror names its ImageDigestMirrorSet, written into
/// [`ArchiveRestore::cluster_resources`].
pub const IDMS_FILE: &str = "idms-oc-mirror.yaml";

/// An archive restored into a registry.
#[derive(Debug, Clone)]
pub struct ArchiveRestore {
    /// The archive directory.
    pub dir: PathBuf,
    /// Where the release and its components go. For an archive of an image set, its
    /// repository is the prefix the set goes under, and its naming is not used.
    pub target: ReleaseTarget,
    /// Concurrency and retries of the push.
    pub options: MirrorOptions,
    /// Where to extract the archive's small files (manifests, configs, the layout's index)
    /// before pushing; blobs larger than a manifest are read from the chunks. A temporary
    /// directory inside it is used and removed; the system's temporary directory when `None`.
    pub staging: Option<PathBuf>,
    /// Where to write [`IDMS_FILE`], when given.
    pub cluster_resources: Option<PathBuf>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The archive's index.
    pub manifest: ArchiveManifest,
    /// The push.
    pub mirror: MirrorOutcome,
    /// The mirror sets: every source repository of the release, the release's own included, to
    /// the destination.
    pub sets: Vec<MirrorSet>,
    /// Each release's signatures the archive carried, by its digest.
    pub signatures: Vec<(Digest, Vec<Vec<u8>>)>,
    /// The files written into [`ArchiveRestore::cluster_resources`].
    pub written: Vec<PathBuf>,
    /// For an image set, the cluster resources oc-mirror writes (also written into
    /// [`ArchiveRestore::cluster_resources`]).
    pub resources: Option<ClusterResources>,
}

impl ArchiveRestore {
    /// A restore of `dir` to `target` with the default options.
    pub fn new(dir: PathBuf, target: ReleaseTarget) -> ArchiveRestore {
        ArchiveRestore {
            dir,
            target,
            options: run_defaults(),
            staging: None,
            cluster_resources: None,
        }
    }

    /// Checks every chunk and extracts its small files, checks that the blobs an earlier archive delivered are
    /// at the destination, and only then pushes blobs, manifests and tags (the release tag
    /// last) and writes the mirror configuration.
    pub async fn run(
        &self,
        stores: &StoreMap,
        loader: &dyn ReleaseLoader,
        progress: Arc<dyn Progress>,
    ) -> Result<RestoreOutcome, Error> {
        let staging = match &self.staging {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                tempfile::Builder::new()
                    .prefix(".okd-restore-")
                    .tempdir_in(dir)
            }
            None => tempfile::Builder::new().prefix("okd-restore-").tempdir(),
        }
        .map_err(|e| Error::io(self.staging.clone().unwrap_or_default(), e))?;
        let (dir, into) = (self.dir.clone(), staging.path().to_path_buf());
        let unpacked = tokio::task::spawn_blocking(move || unpack(&dir, &into))
            .await
            .map_err(|e| Error::Archive {
                path: self.dir.clone(),
                reason: format!("checking the chunks stopped: {e}"),
            })??;
        // The push reads the staging layout through the map: its large blobs from the chunks.
        let _serving = Serving::start(stores, &unpacked).await?;
        if let Some(set) = unpacked.manifest.image_set.clone() {
            return crate::imageset::restore_set(self, &set, unpacked, stores, loader, progress)
                .await;
        }
        let release = unpacked
            .manifest
            .release
            .clone()
            .ok_or_else(|| Error::Archive {
                path: self.dir.clone(),
                reason: "its index names neither a release nor an image set".to_string(),
            })?;
        self.check_omitted(stores, &unpacked.manifest).await?;
        self.refill(stores, &unpacked, &release).await?;

        let source: ImageRef = format!(
            "oci:{}:{}:{}",
            unpacked.layout.display(),
            release.repository,
            release.tag
        )
        .parse()?;
        let mut run = ReleaseRun::new(ReleaseMirror {
            source,
            target: self.target.clone(),
        });
        run.options = self.options;
        // Blobs an earlier archive delivered are not in this layout: find them at the
        // destination while planning rather than reading them from the layout.
        run.options.check_blobs |= !unpacked.manifest.omitted.is_empty();
        run.instructions = Instructions::None;
        let mirror = run.run(stores, loader, progress).await?;

        let sets = self.sets(&mirror, &release.source)?;
        let mut written = Vec::new();
        if let Some(dir) = &self.cluster_resources {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let path = dir.join(IDMS_FILE);
            let idms = ImageDigestMirrorSet::new("idms-release-0", &sets);
            write_atomic(&path, idms.to_yaml()?.as_bytes())?;
            written.push(path);
        }
        let signatures = vec![(
            release.digest.clone(),
            read_signatures(&unpacked, &release.signatures)?,
        )];
        Ok(RestoreOutcome {
            manifest: unpacked.manifest,
            mirror,
            sets,
            signatures,
            written,
            resources: None,
        })
    }

    /// An archive made since an earlier one relies on the destination having what the earlier
    /// ones delivered: check before pushing anything.
    async fn check_omitted(
        &self,
        stores: &StoreMap,
        manifest: &ArchiveManifest,
    ) -> Result<(), Error> {
        if manifest.omitted.is_empty() {
            return Ok(());
        }
        let repo = &self.target.repository;
        let store = stores.store(repo, Access::Read).await?;
        for digest in &manifest.omitted {
            if store.blob_size(repo.repository(), digest).await?.is_none() {
                return Err(Error::Archive {
                    path: self.dir.clone(),
                    reason: format!(
                        "{digest} was delivered by an earlier archive but is not in {}; restore the earlier archives first",
                        self.target.to
                    ),
                });
            }
        }
        Ok(())
    }

    /// Reads back into the layout the release image's blobs an earlier archive delivered.
    async fn refill(
        &self,
        stores: &StoreMap,
        unpacked: &Unpacked,
        release: &super::ArchiveRelease,
    ) -> Result<(), Error> {
        if unpacked.manifest.omitted.is_empty() {
            return Ok(());
        }
        let repo = match (&self.target.release_image, &self.target.release_repository) {
            (Some(image), _) => image.clone(),
            (None, Some(repo)) => repo.clone(),
            (None, None) => self.target.repository.clone(),
        };
        let at = stores.resolve(&repo, Access::Write).await?;
        let releases = [ReleaseAt {
            repository: &release.repository,
            tag: &release.tag,
            destination: at.store.as_ref(),
            destination_repository: &at.repository,
            destination_name: &self.target.to,
        }];
        refill_releases(&self.dir, &unpacked.store().await?, &releases).await?;
        Ok(())
    }

    /// The plan's sets, plus the release's own repository (the layout it was read from is no
    /// source a cluster knows).
    fn sets(&self, mirror: &MirrorOutcome, release_source: &str) -> Result<Vec<MirrorSet>, Error> {
        let mut sets = mirror.plan.mirror_sets();
        let origin: ImageRef = release_source.parse()?;
        if let (Some(source), Some(to)) = (
            registry_repository(&origin),
            registry_repository(&self.target.repository),
        ) {
            sets.push(MirrorSet::new(source, [to]));
        }
        Ok(dedupe_sort(sets))
    }
}

/// The staging layout served from the map, with the blobs left in the chunks, for as long as
/// this lives.
struct Serving<'a> {
    stores: &'a StoreMap,
    key: StoreKey,
}

impl<'a> Serving<'a> {
    async fn start(stores: &'a StoreMap, unpacked: &Unpacked) -> Result<Serving<'a>, Error> {
        let store: Arc<dyn Store> = Arc::new(unpacked.store().await?);
        let key = StoreKey::layout(&unpacked.layout);
        stores.insert(key.clone(), store);
        Ok(Serving { stores, key })
    }
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.stores.remove(&self.key);
    }
}

fn read_signatures(unpacked: &Unpacked, files: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    files
        .iter()
        .map(|p| {
            let path = unpacked.layout.join(p);
            std::fs::read(&path).map_err(|e| Error::io(path, e))
        })
        .collect()
}
