//! Garbage collection of releases.
//!
//! The controller's rules (`calculateSyncActions`), for Integration streams; pinned (`keep`)
//! releases are never touched, and Stable streams lose nothing:
//!
//! * when an accepted release exists, Failed and Rejected releases older than the oldest accepted
//!   one are removed;
//! * of the remaining, the newest [`GcPolicy::keep_failed`](crate::GcPolicy) Failed and
//!   [`keep_rejected`](crate::GcPolicy) Rejected are kept and the rest removed;
//! * the newest [`keep_accepted`](crate::GcPolicy) accepted releases are kept; older accepted
//!   ones are removed once `created + expires` is in the past (never, without `expires`);
//! * Pending and Ready releases are never removed.
//!
//! The newest accepted release is never removed, even with `keep_accepted` set to 0.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use okd_gating::{collect_garbage, GatingPolicy, Phase, ReleaseRecord};
//! let policy = GatingPolicy::builder("s").target("release").expires(Duration::from_secs(72 * 3600)).build()?;
//! let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
//! let releases: Vec<ReleaseRecord> = (0..8).map(|i| {
//!     let mut r = ReleaseRecord::pending(&format!("s-{i}"), "", &i.to_string(), t0 + TimeDelta::hours(i));
//!     r.phase = Phase::Accepted;
//!     r
//! }).collect();
//! let now = t0 + TimeDelta::hours(74);
//! assert_eq!(collect_garbage(&policy, &releases, now), ["s-1", "s-0"]);
//! # Ok::<(), okd_gating::Error>(())
//! ```

use chrono::{DateTime, Utc};

use crate::record::{Phase, ReleaseRecord};
use crate::schedule::add_duration;
use crate::{GatingPolicy, StreamMode};

/// Names of the releases to remove at `now`, newest first.
pub fn collect_garbage(
    policy: &GatingPolicy,
    releases: &[ReleaseRecord],
    now: DateTime<Utc>,
) -> Vec<String> {
    if policy.mode == StreamMode::Stable {
        return Vec::new();
    }
    let mut tags: Vec<&ReleaseRecord> = releases.iter().filter(|r| !r.keep).collect();
    tags.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));

    let mut failed = Vec::new();
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    // Lengths of the failed/rejected lists when the oldest accepted release was seen.
    let mut cut: Option<(usize, usize)> = None;
    for r in &tags {
        match r.phase {
            Phase::Failed => failed.push(*r),
            Phase::Rejected => rejected.push(*r),
            Phase::Accepted => {
                accepted.push(*r);
                cut = Some((failed.len(), rejected.len()));
            }
            Phase::Pending | Phase::Ready => {}
        }
    }
    let mut remove: Vec<&ReleaseRecord> = Vec::new();
    if let Some((f, r)) = cut {
        remove.extend(failed.drain(f..));
        remove.extend(rejected.drain(r..));
    }
    remove.extend(failed.iter().skip(policy.gc.keep_failed));
    remove.extend(rejected.iter().skip(policy.gc.keep_rejected));
    if let Some(expires) = policy.expires {
        let keep = policy.gc.keep_accepted.max(1);
        remove.extend(
            accepted
                .iter()
                .skip(keep)
                .filter(|r| add_duration(r.created, expires) < now),
        );
    }
    remove.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
    remove.into_iter().map(|r| r.name.clone()).collect()
}
