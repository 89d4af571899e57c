//! The mirror stage: copying a candidate release and its component images somewhere else before
//! it is verified, as the release-controller waits for its mirror job before it decides.
//!
//! A [`MirrorStage`] is called once per candidate, after the release image is written and
//! before the candidate counts as created. It must be idempotent: after an interruption it is
//! called again for the same release and copies only what is missing.

use std::sync::Arc;

use async_trait::async_trait;
use okd_mirror::run::{Instructions, ReleaseRun};
use okd_oci::{ImageRef, Store};

use super::StreamError;

/// The `to` prefix of a stage that writes a transfer archive per release.
pub const ARCHIVE_PREFIX: &str = "archive:";

/// A candidate to mirror.
#[derive(Debug, Clone)]
pub struct MirrorRequest<'a> {
    /// The release version.
    pub version: &'a str,
    /// The release image in the stream's store, by digest.
    pub image: &'a ImageRef,
    /// The stream's store.
    pub store: &'a Arc<dyn Store>,
    /// Where the release's component images are read.
    pub sources: &'a okd_oci::StoreMap,
}

/// Mirrors a candidate release. See the [module docs](self).
#[async_trait]
pub trait MirrorStage: Send + Sync + std::fmt::Debug {
    /// What the stage does, for reports (`mirror to docker://mirror.local/okd`).
    fn describe(&self) -> String;

    /// Mirrors the release; returns a one-line summary of what moved.
    async fn mirror(&self, request: &MirrorRequest<'_>) -> Result<String, StreamError>;
}

/// The mirror stage on okd-mirror: the release and its components go to `to` (what
/// `okd-streams mirror release SRC --to TO` does), with an ImageDigestMirrorSet written per
/// release when asked.
///
/// ```
/// use okd_streams::mirror::Naming;
/// use okd_streams::stream::mirror::ReleaseMirrorStage;
/// let stage = ReleaseMirrorStage::new("docker://mirror.local:5000/okd/release")
///     .naming(Naming::Content)
///     .exclude("rhel-coreos*")
///     .idms_dir("target/okd-demo.state/idms");
/// assert!(okd_streams::stream::MirrorStage::describe(&stage).contains("mirror.local"));
/// ```
#[derive(Debug, Clone)]
pub struct ReleaseMirrorStage {
    to: String,
    naming: okd_mirror::Naming,
    include: Vec<String>,
    exclude: Vec<String>,
    idms_dir: Option<std::path::PathBuf>,
    max_archive_size: Option<u64>,
    options: okd_oci::registry::RegistryOptions,
}

impl ReleaseMirrorStage {
    /// Mirrors to repository `to` (`docker://HOST/REPO` or `oci:PATH:REPO`), or writes a
    /// transfer archive per release into `DIR/<version>/` for `archive:DIR`.
    pub fn new(to: &str) -> ReleaseMirrorStage {
        ReleaseMirrorStage {
            to: to.to_string(),
            naming: okd_mirror::Naming::Release,
            include: Vec::new(),
            exclude: Vec::new(),
            idms_dir: None,
            max_archive_size: None,
            options: okd_oci::registry::RegistryOptions::default(),
        }
    }

    /// How mirrored images are tagged.
    pub fn naming(mut self, naming: okd_mirror::Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Mirrors only components matching `pattern` (repeatable; all when none).
    pub fn include(mut self, pattern: &str) -> Self {
        self.include.push(pattern.to_string());
        self
    }

    /// Leaves out components matching `pattern`.
    pub fn exclude(mut self, pattern: &str) -> Self {
        self.exclude.push(pattern.to_string());
        self
    }

    /// Writes `<version>.idms.yaml` into `dir` for every release mirrored.
    pub fn idms_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.idms_dir = Some(dir.into());
        self
    }

    /// With `archive:DIR`, the size no chunk exceeds
    /// ([`DEFAULT_CHUNK_SIZE`](okd_mirror::archive::DEFAULT_CHUNK_SIZE) otherwise).
    pub fn max_archive_size(mut self, bytes: u64) -> Self {
        self.max_archive_size = Some(bytes);
        self
    }

    /// Registry options for the destination.
    pub fn registry_options(mut self, options: okd_oci::registry::RegistryOptions) -> Self {
        self.options = options;
        self
    }
}

#[async_trait]
impl MirrorStage for ReleaseMirrorStage {
    fn describe(&self) -> String {
        format!("mirror to {}", self.to)
    }

    async fn mirror(&self, request: &MirrorRequest<'_>) -> Result<String, StreamError> {
        let fail = |e: okd_mirror::Error| StreamError::Mirror {
            release: request.version.to_string(),
            source: Box::new(e),
        };
        // The destination is opened with the stage's registry options; the release and its
        // components are read from the stores the stream reads them from. The release is read
        // once: for the stores of its components, and as what the mirror plans from.
        let jobs = okd_mirror::run::run_defaults().jobs;
        let stores = okd_oci::StoreMap::new(
            self.options
                .clone()
                .max_concurrent_requests(okd_mirror::request_cap(jobs)),
        );
        stores.insert(okd_oci::StoreKey::of(request.image), request.store.clone());
        let release =
            okd_release::Release::load_image(request.store.as_ref(), request.image).await?;
        // Components are read where the stream reads them.
        for c in release.components.values() {
            if let Ok(store) = request.sources.store(&c.image, okd_oci::Access::Read).await {
                stores.insert(okd_oci::StoreKey::of(&c.image), store);
            }
        }
        let content =
            okd_mirror::ReleaseContent::from_release(request.image, &release).map_err(fail)?;
        if let Some(dir) = self.to.strip_prefix(ARCHIVE_PREFIX) {
            return self.archive(request, &stores, &content, dir).await;
        }
        let mut run = ReleaseRun::new(okd_mirror::ReleaseMirror {
            source: request.image.clone(),
            target: okd_mirror::ReleaseTarget::parse(&self.to, self.naming).map_err(fail)?,
        });
        run.filter =
            okd_mirror::ComponentFilter::new(&self.include, &self.exclude).map_err(fail)?;
        run.instructions = Instructions::None;
        if let Some(d) = &self.idms_dir {
            std::fs::create_dir_all(d).map_err(|e| StreamError::io(d, e))?;
            run.outputs.idms = Some(d.join(format!("{}.idms.yaml", request.version)));
        }
        let outcome = run
            .run(
                &stores,
                &content,
                Arc::new(okd_mirror::progress::NoProgress),
            )
            .await
            .map_err(fail)?;
        let t = &outcome.report.totals;
        Ok(format!(
            "{} images to {} ({} written, {} present), {} bytes copied, {} blobs mounted, {} present",
            t.images,
            self.to,
            t.images_written,
            t.images_present,
            t.bytes_copied,
            t.blobs_mounted,
            t.blobs_skipped
        ))
    }
}

impl ReleaseMirrorStage {
    /// Writes the release's archive into `DIR/<version>/`. A complete archive there (its index
    /// is written last) means an earlier round did it; anything else there is what an
    /// interrupted round left, and is replaced.
    async fn archive(
        &self,
        request: &MirrorRequest<'_>,
        stores: &okd_oci::StoreMap,
        content: &okd_mirror::ReleaseContent,
        dir: &str,
    ) -> Result<String, StreamError> {
        let fail = |e: okd_mirror::Error| StreamError::Mirror {
            release: request.version.to_string(),
            source: Box::new(e),
        };
        let dir = std::path::Path::new(dir).join(request.version);
        let index = dir.join(okd_mirror::archive::chunk_file_name(0));
        if index.is_file() {
            return Ok(format!("archive {} already written", dir.display()));
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StreamError::io(&dir, e)),
        }
        let mut write = okd_mirror::archive::ArchiveWrite::new(request.image.clone(), dir.clone());
        write.filter =
            okd_mirror::ComponentFilter::new(&self.include, &self.exclude).map_err(fail)?;
        if let Some(size) = self.max_archive_size {
            write.max_chunk_size = size;
        }
        let outcome = write
            .run(stores, content, Arc::new(okd_mirror::progress::NoProgress))
            .await
            .map_err(fail)?;
        Ok(format!(
            "archive {}: {} images, {} chunks, {} bytes",
            dir.display(),
            outcome.mirror.plan.images.len(),
            outcome.manifest.chunks.len() + 1,
            outcome.bytes
        ))
    }
}
