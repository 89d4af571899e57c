//! Whether a new candidate release may be created now.
//!
//! The controller's creation gate (`calculateSyncActions`), for Integration streams. Pinned
//! (`keep`) releases are ignored throughout. A release is created only when **all** hold:
//!
//! 1. the inputs changed: their hash differs from that of every release of the stream;
//! 2. no release is Pending (one is processed at a time);
//! 3. `maxUnreadyReleases` is 0, or fewer releases than that are undecided (Pending or Ready);
//! 4. `minCreationIntervalSeconds` has passed since the newest release was created.
//!
//! Stable streams never create releases (people tag them in), nor do end-of-life streams.
//! Because names have one-second resolution, a creation that would reuse an existing name waits
//! one second.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use okd_gating::{may_create, CreationDecision, GatingPolicy, ReleaseRecord};
//! let policy = GatingPolicy::builder("4.19.0-0.okd-scos").target("release-scos")
//!     .min_creation_interval(Duration::from_secs(12 * 3600)).build()?;
//! let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
//! let mut r = ReleaseRecord::pending("4.19.0-0.okd-scos-2025-01-01-000000", "", "h1", t0);
//! r.phase = okd_gating::Phase::Accepted;
//! let later = t0 + chrono::TimeDelta::hours(1);
//! assert_eq!(may_create(&policy, &[r], "h2", later),
//!     CreationDecision::Wait { until: t0 + chrono::TimeDelta::hours(12) });
//! # Ok::<(), okd_gating::Error>(())
//! ```

use chrono::{DateTime, Utc};

use crate::record::{Phase, ReleaseRecord};
use crate::schedule::add_duration;
use crate::{GatingPolicy, StreamMode};

/// Why no release may be created.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CreationBlock {
    /// The stream is Stable.
    StableStream,
    /// The stream is end-of-life.
    EndOfLife,
    /// A release was already built from these inputs.
    NoNewInputs,
    /// This release is still being created.
    PendingRelease(String),
    /// Too many releases are undecided.
    TooManyUnready {
        /// Undecided releases.
        unready: usize,
        /// The limit.
        max: u32,
    },
}

/// The creation gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CreationDecision {
    /// Create a release now.
    Create,
    /// Inputs changed, but the minimum interval has not passed: ask again at `until`.
    Wait {
        /// When the interval ends.
        until: DateTime<Utc>,
    },
    /// Nothing to create.
    Blocked(CreationBlock),
}

/// Decides whether a release may be created from inputs hashing to `inputs_hash`.
pub fn may_create(
    policy: &GatingPolicy,
    releases: &[ReleaseRecord],
    inputs_hash: &str,
    now: DateTime<Utc>,
) -> CreationDecision {
    if policy.end_of_life {
        return CreationDecision::Blocked(CreationBlock::EndOfLife);
    }
    if policy.mode == StreamMode::Stable {
        return CreationDecision::Blocked(CreationBlock::StableStream);
    }
    let live: Vec<&ReleaseRecord> = releases.iter().filter(|r| !r.keep).collect();
    if live.iter().any(|r| r.inputs_hash == inputs_hash) {
        return CreationDecision::Blocked(CreationBlock::NoNewInputs);
    }
    if let Some(p) = live.iter().find(|r| r.phase == Phase::Pending) {
        return CreationDecision::Blocked(CreationBlock::PendingRelease(p.name.clone()));
    }
    let unready = live.iter().filter(|r| !r.phase.is_terminal()).count();
    let max = policy.max_unready_releases;
    if max > 0 && unready >= max as usize {
        return CreationDecision::Blocked(CreationBlock::TooManyUnready { unready, max });
    }
    if let Some(newest) = live.iter().map(|r| r.created).max() {
        let until = add_duration(newest, policy.min_creation_interval);
        if now < until {
            return CreationDecision::Wait { until };
        }
    }
    let name = release_name(policy, now);
    if releases.iter().any(|r| r.name == name) {
        return CreationDecision::Wait {
            until: now + chrono::TimeDelta::seconds(1),
        };
    }
    CreationDecision::Create
}

/// The name of a release created at `now`: `<stream>-<UTC YYYY-MM-DD-HHMMSS>`.
pub fn release_name(policy: &GatingPolicy, now: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        policy.name,
        now.format(okd_release::TIMESTAMP_FORMAT)
    )
}

/// Pending releases other than the newest: the controller fails them (reason `Aborted`,
/// "Multiple releases were found simultaneously running.").
pub fn superseded_pending(releases: &[ReleaseRecord]) -> Vec<String> {
    let mut pending: Vec<&ReleaseRecord> = releases
        .iter()
        .filter(|r| !r.keep && r.phase == Phase::Pending)
        .collect();
    pending.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
    pending.iter().skip(1).map(|r| r.name.clone()).collect()
}
