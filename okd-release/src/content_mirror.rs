//! Mirroring a release's content while it is built: what `oc adm release new --mirror REPO`
//! does.
//!
//! Every component is copied to `REPO:<release name>-<tag>` (no architecture in the tag, as
//! `oc` tags content mirrors), and every image-references `from.name` becomes
//! `REPO@<same digest>` *before* the operators' manifests are substituted, so the manifests name
//! the mirror too. Like `oc`, the copy covers every tag the payload holds before unreferenced
//! tags are pruned, and refuses a component named by tag: a mirror keyed by digest cannot hold
//! an image whose digest was never fixed.
//!
//! ```
//! use std::sync::Arc;
//! use okd_release::content_mirror::ContentMirror;
//!
//! let store = Arc::new(okd_oci::MemoryStore::new());
//! let mirror = ContentMirror::new(store, "okd/scos-content", "quay.io/okd/scos-content")?;
//! assert_eq!(mirror.tag_for("4.19.0-okd-scos.2", "cli"), "4.19.0-okd-scos.2-cli");
//! let d: okd_oci::Digest = "sha256:0123456789012345678901234567890123456789012345678901234567890123".parse().unwrap();
//! assert_eq!(mirror.pullspec(&d), format!("quay.io/okd/scos-content@{d}"));
//! assert!(ContentMirror::new(Arc::new(okd_oci::MemoryStore::new()), "x", "quay.io/x:tag").is_err());
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use okd_oci::{Access, Digest, ImageRef, ManifestRef, Store, StoreMap};

use crate::Error;
use crate::image_references::ImageReferences;

/// Where a release's content is mirrored: a repository of a store, and the repository name
/// the payload calls it by. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ContentMirror {
    store: Arc<dyn Store>,
    repository: String,
    public: String,
}

/// One component copied into the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorCopy {
    /// The image-references tag.
    pub tag: String,
    /// Where the image was read (a pullspec by digest).
    pub source: String,
    /// Its digest, the same in the mirror.
    pub digest: Digest,
    /// The mirror's tag for it (`<release name>-<tag>`).
    pub mirror_tag: String,
}

impl ContentMirror {
    /// Content goes to `repository` of `store`; the payload names it `public`
    /// (`HOST[:PORT]/REPO`, no tag or digest, as `oc` requires of `--mirror`).
    pub fn new(store: Arc<dyn Store>, repository: &str, public: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidPullspec {
            tag: String::new(),
            pullspec: public.to_string(),
            reason: format!("the content mirror {reason}"),
        };
        let image: ImageRef = public
            .parse()
            .map_err(|e: okd_oci::Error| invalid(&format!("is not a repository: {e}")))?;
        let ImageRef::Registry(r) = &image else {
            return Err(invalid("must be a registry repository"));
        };
        if r.digest.is_some() || image.tag_written() {
            return Err(invalid(
                "must be an image repository and may not contain a tag or digest",
            ));
        }
        if !okd_oci::is_valid_repository(repository) {
            return Err(invalid(&format!("repository {repository:?} is not valid")));
        }
        Ok(ContentMirror {
            store,
            repository: repository.to_string(),
            public: format!("{}/{}", r.registry, r.repository),
        })
    }

    /// A registry repository reached through `stores`, named in the payload as written
    /// (`127.0.0.1:5000/okd/scos-content`).
    pub async fn in_registry(stores: &StoreMap, repository: &str) -> Result<Self, Error> {
        let image: ImageRef = repository.parse()?;
        let ImageRef::Registry(r) = &image else {
            return Err(Error::InvalidPullspec {
                tag: String::new(),
                pullspec: repository.to_string(),
                reason: "the content mirror must be a registry repository".to_string(),
            });
        };
        let repo = r.repository.clone();
        let store = stores.store(&image, Access::Write).await?;
        ContentMirror::new(store, &repo, repository)
    }

    /// The mirror's tag for component `tag` of release `release`.
    pub fn tag_for(&self, release: &str, tag: &str) -> String {
        format!("{release}-{tag}")
    }

    /// The pullspec the payload names the mirrored image `digest` by.
    pub fn pullspec(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.public)
    }

    /// The repository as the payload names it (`HOST/REPO`).
    pub fn public_repository(&self) -> &str {
        &self.public
    }

    /// Refuses a component named by tag: `is` holds the pullspecs as given, before they are
    /// resolved.
    pub(crate) fn check_by_digest(is: &ImageReferences) -> Result<(), Error> {
        for tag in is.tags() {
            let Some(pullspec) = tag.pullspec() else {
                continue;
            };
            let by_digest = pullspec
                .parse::<ImageRef>()
                .ok()
                .and_then(|i| i.digest().cloned())
                .is_some();
            if !by_digest || pullspec.rsplit_once('@').is_some_and(|(n, _)| has_tag(n)) {
                return Err(Error::NotByDigest {
                    tag: tag.name.clone(),
                    pullspec: pullspec.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Points every tag of `is` at the mirror and returns the copies that make it true.
    pub(crate) fn redirect(
        &self,
        release: &str,
        is: &mut ImageReferences,
    ) -> Result<Vec<MirrorCopy>, Error> {
        let mut copies = Vec::new();
        for tag in &mut is.spec.tags {
            let Some(from) = tag.from.as_mut().filter(|f| f.kind == "DockerImage") else {
                continue;
            };
            let digest = from
                .name
                .parse::<ImageRef>()
                .ok()
                .and_then(|i| i.digest().cloned())
                .ok_or_else(|| Error::NotByDigest {
                    tag: tag.name.clone(),
                    pullspec: from.name.clone(),
                })?;
            copies.push(MirrorCopy {
                tag: tag.name.clone(),
                source: std::mem::replace(&mut from.name, self.pullspec(&digest)),
                mirror_tag: self.tag_for(release, &tag.name),
                digest,
            });
        }
        Ok(copies)
    }

    /// Copies every image of `copies` (read through `sources`) into the mirror, `concurrency`
    /// at a time, each tagged last so a tag never names an incomplete image.
    pub async fn copy_all(
        &self,
        sources: &StoreMap,
        copies: &[MirrorCopy],
        concurrency: usize,
    ) -> Result<okd_oci::copy::CopyStats, Error> {
        // The components share most blobs: each is checked and copied once for all of them.
        let shared = okd_oci::copy::SharedBlobs::new();
        let stats: Vec<okd_oci::copy::CopyStats> = futures::stream::iter(copies)
            .map(|c| self.copy_one(sources, c, &shared))
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        Ok(stats
            .into_iter()
            .fold(okd_oci::copy::CopyStats::default(), add))
    }

    async fn copy_one(
        &self,
        sources: &StoreMap,
        c: &MirrorCopy,
        shared: &okd_oci::copy::SharedBlobs,
    ) -> Result<okd_oci::copy::CopyStats, Error> {
        let image: ImageRef =
            c.source
                .parse()
                .map_err(|e: okd_oci::Error| Error::InvalidPullspec {
                    tag: c.tag.clone(),
                    pullspec: c.source.clone(),
                    reason: e.to_string(),
                })?;
        let found = sources.resolve(&image, Access::Read).await?;
        let reference = ManifestRef::Digest(c.digest.clone());
        let copy = || {
            okd_oci::copy::copy_image_sharing(
                found.store.as_ref(),
                &found.repository,
                &reference,
                self.store.as_ref(),
                &self.repository,
                Some(&c.mirror_tag),
                shared,
            )
        };
        // Shared blobs are committed before any copy that needs them writes its manifest, but a
        // registry may still answer a manifest PUT for a just-committed blob as missing;
        // copying the image again (present blobs are skipped) settles it, and a second refusal
        // is the error.
        let (top, stats) = match copy().await {
            Err(okd_oci::Error::MissingReference { missing, .. }) => {
                tracing::debug!(component = %c.tag, %missing, "manifest refused for a missing blob; copying again");
                copy().await?
            }
            other => other?,
        };
        if top.digest() != &c.digest {
            return Err(okd_oci::Error::DigestMismatch {
                what: format!("component {} at {}", c.tag, c.source),
                expected: c.digest.clone(),
                actual: top.digest().clone(),
            }
            .into());
        }
        Ok(stats)
    }
}

/// True when a pullspec's name part (before any `@`) ends in a `:tag` after its last `/`.
fn has_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    // `host:port` alone has no slash after it; a tag is a colon in the last path segment.
    name.contains('/') && last.contains(':')
}

fn add(a: okd_oci::copy::CopyStats, b: okd_oci::copy::CopyStats) -> okd_oci::copy::CopyStats {
    okd_oci::copy::CopyStats {
        blobs_copied: a.blobs_copied + b.blobs_copied,
        bytes_copied: a.bytes_copied + b.bytes_copied,
        blobs_skipped: a.blobs_skipped + b.blobs_skipped,
        blobs_mounted: a.blobs_mounted + b.blobs_mounted,
        manifests_written: a.manifests_written + b.manifests_written,
    }
}
