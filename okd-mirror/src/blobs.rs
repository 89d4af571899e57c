//! The deduplicated set of blobs of a plan, and what each destination repository needs.
//!
//! Blobs are keyed by digest across every image of a mirror, so a blob shared by many images
//! (a base layer) is read and transferred once per destination store. Each destination
//! repository of a blob gets one `HEAD`, then an action: present, mount from a repository of the
//! same store that has it (or will have it), or copy.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use okd_oci::{BlobRef, Digest, Store};
use serde::Serialize;

use crate::limits::Limits;
use crate::{Error, MirrorOptions};

/// A blob, where it is read from and what each destination repository needs.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBlob {
    /// The digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Media type, as the first manifest referencing it declares.
    pub media_type: String,
    /// `location/repo` it is read from.
    pub source: String,
    /// One entry per destination repository.
    pub targets: Vec<BlobTarget>,
    #[serde(skip)]
    pub(crate) src: Arc<dyn Store>,
    #[serde(skip)]
    pub(crate) src_location: String,
    #[serde(skip)]
    pub(crate) src_repo: String,
}

/// One blob at one destination repository: what a copy or a mount makes present, and what an
/// image waits for before its manifests are written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey {
    /// The blob.
    pub digest: Digest,
    /// The destination store's location (registry host, or `oci:` and the layout directory).
    pub location: String,
    /// The destination repository.
    pub repo: String,
}

impl BlobKey {
    /// The blob `digest` in repository `repo` of the store at `location`.
    pub fn new(digest: Digest, location: impl Into<String>, repo: impl Into<String>) -> BlobKey {
        BlobKey {
            digest,
            location: location.into(),
            repo: repo.into(),
        }
    }

    /// `location/repo`, as reports and progress events name a blob's destination.
    pub fn destination(&self) -> String {
        format!("{}/{}", self.location, self.repo)
    }
}

/// `DIGEST into LOCATION/REPO`.
impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} into {}/{}", self.digest, self.location, self.repo)
    }
}

/// A destination repository of a blob.
#[derive(Debug, Clone, Serialize)]
pub struct BlobTarget {
    /// Store location.
    pub location: String,
    /// Repository.
    pub repo: String,
    /// What to do.
    pub action: BlobAction,
    #[serde(skip)]
    pub(crate) store: Arc<dyn Store>,
}

impl BlobTarget {
    /// The key of `digest` at this target.
    pub fn key(&self, digest: &Digest) -> BlobKey {
        BlobKey::new(digest.clone(), self.location.clone(), self.repo.clone())
    }
}

/// What a blob needs at one destination repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum BlobAction {
    /// Already there.
    Present,
    /// Mount from another repository of the same store (copied when the store declines).
    Mount {
        /// The repository to mount from.
        from: String,
    },
    /// Transfer the bytes.
    Copy,
    /// Not asked while planning ([`MirrorOptions::check_blobs`] off): transfer the bytes unless
    /// the store finds it present as the upload opens.
    CopyIfMissing,
}

pub(crate) type StoreAt<'a> = (&'a Arc<dyn Store>, &'a str, &'a str);

/// Blobs of all images, deduplicated by digest, in first-seen order.
#[derive(Default)]
pub(crate) struct BlobSet {
    index: HashMap<Digest, usize>,
    blobs: Vec<PlannedBlob>,
}

impl BlobSet {
    pub(crate) fn add(
        &mut self,
        b: &BlobRef,
        src: StoreAt<'_>,
        dst: StoreAt<'_>,
    ) -> Result<(), Error> {
        let i = match self.index.get(&b.digest) {
            Some(&i) => {
                if self.blobs[i].size != b.size {
                    return Err(Error::InvalidSource {
                        source_ref: format!("{}/{}", src.1, src.2),
                        reason: format!(
                            "blob {} is declared with sizes {} and {}",
                            b.digest, self.blobs[i].size, b.size
                        ),
                    });
                }
                i
            }
            None => {
                self.index.insert(b.digest.clone(), self.blobs.len());
                self.blobs.push(PlannedBlob {
                    digest: b.digest.clone(),
                    size: b.size,
                    media_type: b.media_type.clone(),
                    source: format!("{}/{}", src.1, src.2),
                    targets: Vec::new(),
                    src: src.0.clone(),
                    src_location: src.1.to_string(),
                    src_repo: src.2.to_string(),
                });
                self.blobs.len() - 1
            }
        };
        let blob = &mut self.blobs[i];
        if !blob
            .targets
            .iter()
            .any(|t| t.location == dst.1 && t.repo == dst.2)
        {
            blob.targets.push(BlobTarget {
                location: dst.1.to_string(),
                repo: dst.2.to_string(),
                action: BlobAction::Copy,
                store: dst.0.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn into_blobs(self) -> Vec<PlannedBlob> {
        self.blobs
    }
}

/// One `HEAD` per blob and destination repository; present targets become [`BlobAction::Present`].
pub(crate) async fn check_presence(
    blobs: &mut [PlannedBlob],
    options: &MirrorOptions,
    limits: &Limits,
    width: usize,
) -> Result<(), Error> {
    let checks: Vec<(usize, usize)> = blobs
        .iter()
        .enumerate()
        .flat_map(|(i, b)| (0..b.targets.len()).map(move |t| (i, t)))
        .collect();
    let found: Vec<(usize, usize, bool)> = futures::stream::iter(checks)
        .map(|(i, t)| {
            let b = &blobs[i];
            let target = &b.targets[t];
            async move {
                let _p = limits.acquire(&[&target.location]).await;
                let size = options
                    .retry
                    .run(
                        || target.store.blob_size(&target.repo, &b.digest),
                        |_, _, _| {},
                    )
                    .await
                    .map_err(|e| Error::Destination {
                        image: format!("{}/{}", target.location, target.repo),
                        source: Box::new(e),
                    })?;
                Ok::<_, Error>((i, t, size.is_some()))
            }
        })
        .buffer_unordered(width)
        .try_collect()
        .await?;
    for (i, t, present) in found {
        if present {
            blobs[i].targets[t].action = BlobAction::Present;
        }
    }
    Ok(())
}

/// Per store: mount from a repository that has the blob (or from the source repository when the
/// source is the same store), else copy into the first repository and mount into the others.
/// `checked` says whether [`check_presence`] ran; without it, copies become
/// [`BlobAction::CopyIfMissing`].
pub(crate) fn assign_actions(b: &mut PlannedBlob, checked: bool) {
    let mut locations: Vec<String> = b.targets.iter().map(|t| t.location.clone()).collect();
    locations.dedup();
    let mut done = std::collections::HashSet::new();
    for loc in locations {
        if !done.insert(loc.clone()) {
            continue;
        }
        let in_store: Vec<usize> = (0..b.targets.len())
            .filter(|&i| b.targets[i].location == loc)
            .collect();
        let holder = in_store
            .iter()
            .find(|&&i| b.targets[i].action == BlobAction::Present)
            .map(|&i| b.targets[i].repo.clone());
        let from = match holder {
            Some(repo) => Some(repo),
            None if loc == b.src_location => Some(b.src_repo.clone()),
            None => None,
        };
        let mut first_copy = from.is_none();
        let mut copied_into = None;
        for &i in &in_store {
            let t = &mut b.targets[i];
            if t.action == BlobAction::Present {
                continue;
            }
            if first_copy {
                t.action = if checked {
                    BlobAction::Copy
                } else {
                    BlobAction::CopyIfMissing
                };
                copied_into = Some(t.repo.clone());
                first_copy = false;
            } else {
                let from = from
                    .clone()
                    .or_else(|| copied_into.clone())
                    .unwrap_or_default();
                t.action = BlobAction::Mount { from };
            }
        }
    }
}
