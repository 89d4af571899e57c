//! What a mirror did: per image, per blob, and in total; as JSON for tools.
//!
//! Bytes are counted three ways: copied (transferred in this run), mounted (made present by a
//! cross-repository mount, nothing transferred) and skipped (the destination already had them).
//! Per image, a blob shared by several images counts for each of them; the totals count each
//! blob and destination repository once.
//!
//! ```
//! use okd_mirror::MirrorReport;
//!
//! let report = MirrorReport::default();
//! assert!(report.check().is_ok());
//! assert!(report.to_json().unwrap().contains("\"totals\""));
//! ```

use std::sync::Arc;
use std::time::Duration;

use okd_oci::{Digest, ImageRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::plan::PlannedImage;
use crate::progress::{BlobOutcome, secs};
use crate::{Error, ImageKind, MirrorPlan};

/// Why an image or a blob copy failed: the typed [`Error`] with its causes, shared between the
/// reports that name it. In JSON it is the error's message; a report read back from JSON has
/// [`Error::Reported`] errors.
#[derive(Debug, Clone)]
pub struct Failure(Arc<Error>);

impl Failure {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// The shared error, to build errors caused by this one.
    pub fn shared(&self) -> Arc<Error> {
        self.0.clone()
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure(Arc::new(e))
    }
}

impl From<Arc<Error>> for Failure {
    fn from(e: Arc<Error>) -> Failure {
        Failure(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The error's own causes: a failure is the error it wraps.
impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two failures are equal when they say the same: a report read back from JSON equals the one
/// that was written.
impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Failure, D::Error> {
        let message = String::deserialize(d)?;
        Ok(Failure::from(Error::Reported { message }))
    }
}

/// The outcome of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageStatus {
    /// The destination already had it; nothing was read or written.
    Present,
    /// It was written in this run.
    Written,
    /// It could not be written.
    Failed,
    /// Dry run: it would be written.
    Planned,
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageReport {
    /// Component name, `release`, or the source of an additional image.
    pub name: String,
    /// What the image is.
    pub kind: ImageKind,
    /// The source as given.
    pub source: ImageRef,
    /// The destination.
    pub destination: ImageRef,
    /// Digest of the top-level manifest at the destination.
    pub digest: Digest,
    /// Outcome.
    pub status: ImageStatus,
    /// Blobs of this image transferred in this run.
    pub blobs_copied: u64,
    /// Their bytes.
    pub bytes_copied: u64,
    /// Blobs of this image mounted.
    pub blobs_mounted: u64,
    /// Their bytes.
    pub bytes_mounted: u64,
    /// Blobs of this image already at the destination.
    pub blobs_skipped: u64,
    /// Their bytes.
    pub bytes_skipped: u64,
    /// Manifests written (children and top level).
    pub manifests_written: u64,
    /// Time from its first blob transfer to its last manifest.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Time from the start of the run until it was complete.
    #[serde(with = "secs")]
    pub finished_after: Duration,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

impl ImageReport {
    /// The report of an image before anything was done for it: status `Planned`, all counts zero.
    pub(crate) fn planned(image: &PlannedImage) -> ImageReport {
        ImageReport {
            name: image.mapping.name.clone(),
            kind: image.mapping.kind,
            source: image.mapping.source.clone(),
            destination: image.mapping.destination.clone(),
            digest: image.digest.clone(),
            status: ImageStatus::Planned,
            blobs_copied: 0,
            bytes_copied: 0,
            blobs_mounted: 0,
            bytes_mounted: 0,
            blobs_skipped: 0,
            bytes_skipped: 0,
            manifests_written: 0,
            duration: Duration::ZERO,
            finished_after: Duration::ZERO,
            error: None,
        }
    }
}

/// What happened to one blob at one destination repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobReport {
    /// The blob.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// `location/repo`.
    pub destination: String,
    /// Outcome; absent when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<BlobOutcome>,
    /// Time spent, retries included.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// Sums over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTotals {
    /// Images.
    pub images: u64,
    /// Images written.
    pub images_written: u64,
    /// Images already present.
    pub images_present: u64,
    /// Images that failed.
    pub images_failed: u64,
    /// Blob transfers.
    pub blobs_copied: u64,
    /// Bytes transferred.
    pub bytes_copied: u64,
    /// Blob mounts.
    pub blobs_mounted: u64,
    /// Bytes made present by mounts.
    pub bytes_mounted: u64,
    /// Blobs found present (by the plan or by the destination on write).
    pub blobs_skipped: u64,
    /// Their bytes.
    pub bytes_skipped: u64,
    /// Blobs that failed.
    pub blobs_failed: u64,
    /// Manifests written.
    pub manifests_written: u64,
    /// Retries of blob and manifest copies.
    pub retries: u64,
}

/// Everything a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MirrorReport {
    /// True when nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// Wall-clock time of planning (reading sources, checking the destination), when known.
    #[serde(default, with = "secs")]
    pub planning: Duration,
    /// Wall-clock time of the copy. For a whole run ([`crate::run`]), copies start while the
    /// plan is being made, so this counts from the start of planning and
    /// [`planning`](Self::planning) is part of it; for [`execute`](crate::execute) alone, it
    /// counts from the call.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Sums.
    pub totals: ReportTotals,
    /// Per image, in plan order.
    pub images: Vec<ImageReport>,
    /// Per blob and destination repository that needed work or was found present.
    pub blobs: Vec<BlobReport>,
    /// Warnings from planning.
    pub warnings: Vec<String>,
}

impl MirrorReport {
    /// The report of a dry run: what the plan would do, nothing done.
    pub fn from_plan(plan: &MirrorPlan) -> MirrorReport {
        let images: Vec<ImageReport> = plan
            .images
            .iter()
            .map(|i| ImageReport {
                status: if i.present {
                    ImageStatus::Present
                } else {
                    ImageStatus::Planned
                },
                ..ImageReport::planned(i)
            })
            .collect();
        MirrorReport {
            dry_run: true,
            planning: Duration::ZERO,
            duration: Duration::ZERO,
            totals: ReportTotals {
                images: plan.totals.images as u64,
                images_present: (plan.totals.images - plan.totals.pending_images) as u64,
                ..ReportTotals::default()
            },
            images,
            blobs: Vec::new(),
            warnings: plan.warnings.clone(),
        }
    }

    /// The images that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ImageReport> {
        self.images
            .iter()
            .filter(|i| i.status == ImageStatus::Failed)
    }

    /// `Ok` when every image is at its destination (or would be, for a dry run); otherwise an
    /// error naming the first failure, with its causes.
    pub fn check(&self) -> Result<(), Error> {
        let failed: Vec<&ImageReport> = self.failures().collect();
        match failed.first() {
            None => Ok(()),
            Some(first) => Err(Error::Incomplete {
                failed: failed.len(),
                total: self.images.len(),
                image: first.destination.to_string(),
                first: first.error.clone().unwrap_or_else(|| {
                    Failure::from(Error::Reported {
                        message: "failed".to_string(),
                    })
                }),
            }),
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Serialize {
            what: "mirror report".to_string(),
            reason: e.to_string(),
        })
    }
}

/// The sums of a run: each blob and destination repository once, blobs the plan found in place
/// counted as skipped.
pub(crate) fn totals(
    images: &[ImageReport],
    blobs: &[BlobReport],
    plan: &MirrorPlan,
    retries: u64,
) -> ReportTotals {
    let mut t = ReportTotals {
        images: images.len() as u64,
        retries,
        ..ReportTotals::default()
    };
    for i in images {
        match i.status {
            ImageStatus::Written => t.images_written += 1,
            ImageStatus::Present => t.images_present += 1,
            ImageStatus::Failed => t.images_failed += 1,
            ImageStatus::Planned => {}
        }
        t.manifests_written += i.manifests_written;
    }
    for b in blobs {
        match b.outcome {
            Some(BlobOutcome::Copied) => {
                t.blobs_copied += 1;
                t.bytes_copied += b.size;
            }
            Some(BlobOutcome::Mounted) => {
                t.blobs_mounted += 1;
                t.bytes_mounted += b.size;
            }
            Some(BlobOutcome::Skipped) => {
                t.blobs_skipped += 1;
                t.bytes_skipped += b.size;
            }
            None => t.blobs_failed += 1,
        }
    }
    // Blobs the plan found in place never reach a task; count them as skipped too.
    t.blobs_skipped += plan.totals.blobs_present as u64;
    t.bytes_skipped += plan.totals.bytes_present;
    t
}
