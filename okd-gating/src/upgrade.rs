//! Resolving where an upgrade job upgrades from, out of the accepted history.
//!
//! The [`History`] is every accepted release the deciding process knows, across streams. The
//! rules follow the controller (`getUpgradeTagAndPullSpec`, `resolveUpgradeRelease`):
//!
//! * `Previous`: the newest accepted release of the same stream; `PreviousMinus1`: the second.
//! * `PreviousPatch`: the highest accepted release with the candidate's major.minor in any
//!   Stable stream; `PreviousMinor`: the same for minor − 1.
//! * `Candidate {stream, version, relative}`: the newest accepted release (skipping `relative`)
//!   of stream `<version>.0-0.<stream><to-suffix>`, where the suffix is the policy's `to` without
//!   its `release` prefix (`release-scos` ⇒ `4.18.0-0.okd-scos`).
//! * `Prerelease {lower, upper}`: the highest accepted Stable release strictly between them.
//! * `Release {version, channel}`: a release of that exact name, or for a minor version the
//!   highest accepted one in stream `<channel>-<version>`, else in any Stable stream. (The
//!   controller asks Cincinnati; okd-gating asks the history, so callers record channel contents
//!   there.)
//!
//! * `Upstream` (okd-streams' own): the release the candidate was built from
//!   ([`ReleaseRecord::upstream`](crate::ReleaseRecord::upstream)). Upstream releases also count
//!   as Stable releases for `PreviousPatch` and `PreviousMinor`: a stream built from
//!   `4.19.0-okd-scos.3` can test the upgrade from it.
//!
//! "Newest" is by version in Stable streams and for `candidate` (the controller sorts those by
//! semver), by creation time in Integration streams. A history made with
//! [`History::from_state`] holds every stream of one state file.
//!
//! Choices where the controller is loose: the candidate itself is never its own source; for
//! `PreviousPatch`, `PreviousMinor` and `Prerelease` only versions *lower* than the candidate are
//! considered (an upgrade edge never points down). When nothing matches, the job is not started
//! (the controller never creates it), whatever the source; the controller fails its sync for a
//! `candidate` that matches nothing, okd-streams reports the job as not run instead.
//!
//! ```
//! use chrono::Utc;
//! use okd_gating::{resolve_upgrade_source, AcceptedRelease, GatingPolicy, History, UpgradeSource, VerifyJob};
//! let policy = GatingPolicy::builder("4-scos-stable").stable()
//!     .job(VerifyJob::blocking("upgrade-minor", "e2e").upgrade_from(UpgradeSource::PreviousMinor))
//!     .build()?;
//! let mut history = History::default();
//! history.push(AcceptedRelease::new("4-scos-stable", true, "4.18.0-okd-scos.9", "quay.io/okd/scos-release:4.18.0-okd-scos.9", Utc::now()));
//! let src = resolve_upgrade_source(&policy, &policy.jobs[0], "4.19.0-okd-scos.1", &history).unwrap();
//! assert_eq!(src.name, "4.18.0-okd-scos.9");
//! # Ok::<(), okd_gating::Error>(())
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::record::{GatingState, Phase, ReleaseRef, StreamState};
use okd_release::{MajorMinor, ReleaseVersion};

use crate::{GatingPolicy, StreamMode, UpgradeSource, VerifyJob};

fn version(name: &str) -> Option<ReleaseVersion> {
    ReleaseVersion::parse(name).ok()
}

/// The minor of a release name, or of a bare minor version such as `4.18`.
fn minor_of(name: &str) -> Option<MajorMinor> {
    version(name)
        .map(|v| v.major_minor())
        .or_else(|| name.parse().ok())
}

/// Orders release names: versions by version order, other names after them by name.
fn compare(a: &str, b: &str) -> Ordering {
    match (version(a), version(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// An accepted release known to the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedRelease {
    /// Its stream.
    pub stream: String,
    /// True when the stream is Stable.
    pub stable: bool,
    /// Release name.
    pub name: String,
    /// Where its image is.
    pub pullspec: String,
    /// Creation time.
    pub created: DateTime<Utc>,
}

impl AcceptedRelease {
    /// An accepted release.
    pub fn new(
        stream: &str,
        stable: bool,
        name: &str,
        pullspec: &str,
        created: DateTime<Utc>,
    ) -> Self {
        AcceptedRelease {
            stream: stream.to_string(),
            stable,
            name: name.to_string(),
            pullspec: pullspec.to_string(),
            created,
        }
    }

    fn as_ref(&self) -> ReleaseRef {
        ReleaseRef {
            name: self.name.clone(),
            pullspec: self.pullspec.clone(),
        }
    }
}

/// Accepted releases across streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    releases: Vec<AcceptedRelease>,
    /// Candidate name → the release it was built from.
    upstreams: BTreeMap<String, ReleaseRef>,
}

/// The pseudo stream the releases streams were built from belong to in a [`History`].
pub const UPSTREAM_STREAM: &str = "upstream";

impl History {
    /// Adds a release.
    pub fn push(&mut self, release: AcceptedRelease) {
        self.releases.push(release);
    }

    /// Adds the accepted releases of a stream, and the upstream release of each of its
    /// releases (an upstream is a published release: a Stable source for every stream).
    pub fn add_stream(&mut self, policy: &GatingPolicy, state: &StreamState) {
        let stable = policy.mode == StreamMode::Stable || state.stable;
        self.add(&policy.name, stable, state);
    }

    /// Every stream of a state file: what a release of any of them may upgrade from. Each
    /// stream's Stable flag is the one it recorded ([`StreamState::stable`]).
    pub fn from_state(state: &GatingState) -> History {
        let mut h = History::default();
        for (name, stream) in &state.streams {
            h.add(name, stream.stable, stream);
        }
        h
    }

    fn add(&mut self, stream: &str, stable: bool, state: &StreamState) {
        for r in &state.releases {
            if let Some(up) = &r.upstream {
                self.upstreams.insert(r.name.clone(), up.clone());
                if !self.releases.iter().any(|a| a.name == up.name) {
                    self.push(AcceptedRelease::new(
                        UPSTREAM_STREAM,
                        true,
                        &up.name,
                        &up.pullspec,
                        r.created,
                    ));
                }
            }
            let known = self
                .releases
                .iter()
                .any(|a| a.stream == stream && a.name == r.name);
            if r.phase == Phase::Accepted && !known {
                self.push(AcceptedRelease::new(
                    stream,
                    stable,
                    &r.name,
                    &r.pullspec,
                    r.created,
                ));
            }
        }
    }

    /// The history of a single stream.
    pub fn of_stream(policy: &GatingPolicy, state: &StreamState) -> History {
        let mut h = History::default();
        h.add_stream(policy, state);
        h
    }

    /// Every release.
    pub fn releases(&self) -> &[AcceptedRelease] {
        &self.releases
    }

    /// The release `candidate` was built from, when the history knows it.
    pub fn upstream_of(&self, candidate: &str) -> Option<&ReleaseRef> {
        self.upstreams.get(candidate)
    }

    /// The release named `name`: an accepted release of any stream, or the upstream of one.
    pub fn find(&self, name: &str) -> Option<ReleaseRef> {
        self.releases
            .iter()
            .find(|r| r.name == name)
            .map(AcceptedRelease::as_ref)
            .or_else(|| self.upstreams.values().find(|u| u.name == name).cloned())
    }

    /// The `skip`-th newest release of `stream` other than the candidate, newest by version
    /// (`by_version`: Stable streams and `candidate` sources) or by creation time.
    fn newest_in_stream(
        &self,
        stream: &str,
        candidate: &str,
        skip: usize,
        by_version: bool,
    ) -> Option<ReleaseRef> {
        let mut in_stream: Vec<&AcceptedRelease> = self
            .releases
            .iter()
            .filter(|r| r.stream == stream && r.name != candidate)
            .collect();
        if by_version {
            in_stream.sort_by(|a, b| compare(&b.name, &a.name));
        } else {
            in_stream.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
        }
        in_stream.get(skip).map(|r| r.as_ref())
    }

    fn highest(
        &self,
        candidate: &str,
        filter: impl Fn(&AcceptedRelease) -> bool,
    ) -> Option<ReleaseRef> {
        self.releases
            .iter()
            .filter(|r| r.name != candidate && filter(r))
            .filter(|r| compare(&r.name, candidate) == Ordering::Less)
            .max_by(|a, b| compare(&a.name, &b.name))
            .map(AcceptedRelease::as_ref)
    }
}

/// Resolves the source of upgrade job `job` for `candidate`; `None` when the job is not an
/// upgrade job or nothing matches (the job is then not run; see
/// [`NoUpgradeSource`](crate::NoUpgradeSource)).
pub fn resolve_upgrade_source(
    policy: &GatingPolicy,
    job: &VerifyJob,
    candidate: &str,
    history: &History,
) -> Option<ReleaseRef> {
    resolve_source(policy, job.upgrade.as_ref()?, candidate, history)
}

/// Resolves `source` for `candidate` of `policy`'s stream.
pub(crate) fn resolve_source(
    policy: &GatingPolicy,
    source: &UpgradeSource,
    candidate: &str,
    history: &History,
) -> Option<ReleaseRef> {
    let same_minor_offset = |offset: u64| {
        let mut wanted = minor_of(candidate)?;
        wanted.minor = wanted.minor.checked_sub(offset)?;
        history.highest(candidate, |r| r.stable && minor_of(&r.name) == Some(wanted))
    };
    let stable = policy.mode == StreamMode::Stable;
    match source {
        UpgradeSource::Previous => history.newest_in_stream(&policy.name, candidate, 0, stable),
        UpgradeSource::PreviousMinus1 => {
            history.newest_in_stream(&policy.name, candidate, 1, stable)
        }
        UpgradeSource::PreviousPatch => same_minor_offset(0),
        UpgradeSource::PreviousMinor => same_minor_offset(1),
        // A stream that names its release like its upstream has no edge to test.
        UpgradeSource::Upstream => history
            .upstream_of(candidate)
            .filter(|u| u.name != candidate)
            .cloned(),
        UpgradeSource::Candidate {
            stream,
            version,
            relative,
        } => {
            let suffix = policy
                .target
                .strip_prefix("release")
                .unwrap_or(&policy.target);
            let name = format!("{version}.0-0.{stream}{suffix}");
            history.newest_in_stream(&name, candidate, *relative as usize, true)
        }
        UpgradeSource::Prerelease { lower, upper } => {
            let (lo, hi) = (version(lower)?, version(upper)?);
            history.highest(candidate, |r| {
                r.stable && version(&r.name).is_some_and(|v| v > lo && v < hi)
            })
        }
        UpgradeSource::Release {
            version: wanted,
            channel,
            ..
        } => {
            if version(wanted).is_some() {
                return history
                    .releases
                    .iter()
                    .find(|r| &r.name == wanted && r.name != candidate)
                    .map(AcceptedRelease::as_ref);
            }
            let mm = minor_of(wanted)?;
            let channel_stream = format!("{channel}-{wanted}");
            let in_minor = |r: &AcceptedRelease| minor_of(&r.name) == Some(mm);
            history
                .highest(candidate, |r| r.stream == channel_stream && in_minor(r))
                .or_else(|| history.highest(candidate, |r| r.stable && in_minor(r)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn orders_okd_names() {
        assert_eq!(
            compare("4.19.0-okd-scos.9", "4.19.0-okd-scos.19"),
            Ordering::Less
        );
        assert_eq!(
            compare("4.19.0-okd-scos.1", "not-a-version"),
            Ordering::Less
        );
        assert_eq!(
            compare("4.18.0-okd-scos.9", "4.19.0-okd-scos.0"),
            Ordering::Less
        );
        assert_eq!(
            minor_of("4.18"),
            Some(MajorMinor {
                major: 4,
                minor: 18
            })
        );
        assert_eq!(
            minor_of("4.19.0-0.okd-scos-2025-01-30-032525"),
            Some(MajorMinor {
                major: 4,
                minor: 19
            })
        );
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, h, 0, 0).unwrap()
    }

    fn history() -> History {
        let mut h = History::default();
        let mut add = |stream: &str, stable: bool, name: &str, hour: u32| {
            h.push(AcceptedRelease::new(
                stream,
                stable,
                name,
                &format!("quay.io/okd/scos-release:{name}"),
                t(hour),
            ))
        };
        add(
            "4.19.0-0.okd-scos",
            false,
            "4.19.0-0.okd-scos-2025-03-01-010000",
            1,
        );
        add(
            "4.19.0-0.okd-scos",
            false,
            "4.19.0-0.okd-scos-2025-03-01-020000",
            2,
        );
        add(
            "4.18.0-0.okd-scos",
            false,
            "4.18.0-0.okd-scos-2025-03-01-030000",
            3,
        );
        add(
            "4.18.0-0.okd-scos",
            false,
            "4.18.0-0.okd-scos-2025-03-01-040000",
            4,
        );
        add("4-scos-stable", true, "4.18.0-okd-scos.8", 5);
        add("4-scos-stable", true, "4.18.0-okd-scos.10", 6);
        add("4-scos-stable", true, "4.19.0-okd-scos.1", 7);
        add("4-scos-stable", true, "4.19.0-okd-scos.3", 8);
        add("stable-4.17", false, "4.17.0-okd-scos.2", 9);
        h
    }

    fn resolve(src: UpgradeSource, stable: bool, candidate: &str) -> Option<String> {
        let mut b = GatingPolicy::builder(if stable {
            "4-scos-stable"
        } else {
            "4.19.0-0.okd-scos"
        })
        .target("release-scos")
        .job(VerifyJob::blocking("u", "e2e").upgrade_from(src));
        if stable {
            b = b.stable();
        }
        let p = b.build().unwrap();
        resolve_upgrade_source(&p, &p.jobs[0], candidate, &history()).map(|r| r.name)
    }

    #[test]
    fn keyword_sources() {
        let c = "4.19.0-0.okd-scos-2025-03-02-000000";
        assert_eq!(
            resolve(UpgradeSource::Previous, false, c).as_deref(),
            Some("4.19.0-0.okd-scos-2025-03-01-020000")
        );
        assert_eq!(
            resolve(UpgradeSource::PreviousMinus1, false, c).as_deref(),
            Some("4.19.0-0.okd-scos-2025-03-01-010000")
        );
        assert_eq!(
            resolve(UpgradeSource::PreviousPatch, true, "4.19.0-okd-scos.4").as_deref(),
            Some("4.19.0-okd-scos.3")
        );
        // Never down: the highest lower 4.19 for .2 is .1.
        assert_eq!(
            resolve(UpgradeSource::PreviousPatch, true, "4.19.0-okd-scos.2").as_deref(),
            Some("4.19.0-okd-scos.1")
        );
        assert_eq!(
            resolve(UpgradeSource::PreviousMinor, true, "4.19.0-okd-scos.4").as_deref(),
            Some("4.18.0-okd-scos.10")
        );
        assert_eq!(
            resolve(UpgradeSource::PreviousMinor, true, "4.17.0-okd-scos.4"),
            None
        );
    }

    #[test]
    fn explicit_sources() {
        let c = "4.19.0-0.okd-scos-2025-03-02-000000";
        let cand = |relative| UpgradeSource::Candidate {
            stream: "okd".into(),
            version: "4.18".into(),
            relative,
        };
        assert_eq!(
            resolve(cand(0), false, c).as_deref(),
            Some("4.18.0-0.okd-scos-2025-03-01-040000")
        );
        assert_eq!(
            resolve(cand(1), false, c).as_deref(),
            Some("4.18.0-0.okd-scos-2025-03-01-030000")
        );
        assert_eq!(resolve(cand(2), false, c), None);
        let pre = UpgradeSource::Prerelease {
            lower: "4.18.0-okd-scos.8".into(),
            upper: "4.19.0-okd-scos.3".into(),
        };
        assert_eq!(
            resolve(pre, false, "4.19.0-okd-scos.9").as_deref(),
            Some("4.19.0-okd-scos.1")
        );
        let rel = |v: &str| UpgradeSource::Release {
            version: v.into(),
            channel: "stable".into(),
            architecture: "amd64".into(),
        };
        assert_eq!(
            resolve(rel("4.17"), false, c).as_deref(),
            Some("4.17.0-okd-scos.2")
        );
        assert_eq!(
            resolve(rel("4.18"), false, c).as_deref(),
            Some("4.18.0-okd-scos.10")
        );
        assert_eq!(
            resolve(rel("4.18.0-okd-scos.8"), false, c).as_deref(),
            Some("4.18.0-okd-scos.8")
        );
    }
}
