//! Sampled upgrades of a Stable stream (the config's `upgrade` map): upgrade runs from a sample
//! of the versions a release's metadata says it upgrades from (`release-metadata`'s
//! `previous`, kept in [`ReleaseRecord::previous`]).
//!
//! The rules follow the controller (`sync_upgrade.go`):
//!
//! * Only Stable streams, only enabled platforms of the map.
//! * The versions are bucketed by `major.minor`; in each bucket (highest first) all of them
//!   when there are fewer than 9, else the three highest, the three lowest and three more from
//!   the rest, drawn with a generator seeded by the SHA-256 of the list. The three drawn differ
//!   from the controller's picks: it draws with Go's `math/rand`, okd-gating with ChaCha8 from
//!   the same seed. The rule and the rest of the sample are the same.
//! * One run per sampled version, `upgrade-from-<version>-<platform>`, platforms in turn (in
//!   name order; the controller takes them in Go's map order), each run once.
//! * The source is the release of that name in the history (any stream, or an upstream); the
//!   controller builds `quay.io/openshift-release-dev/ocp-release:<version>-<arch>`, which names
//!   OCP releases only. A version the history does not know is not run (no upgrade source).
//! * The runs of a platform are one informing entry of the release's status: any success is a
//!   success, else any run still running is pending, else a failure. They never delay a
//!   release with blocking jobs; with none, the release waits for every platform, as it waits
//!   for informing jobs.
//!
//! ```
//! use okd_gating::sample_previous;
//! let previous: Vec<String> = (0..12).map(|z| format!("4.18.{z}")).collect();
//! let sample = sample_previous(&previous);
//! assert_eq!(sample.len(), 9);
//! assert_eq!(&sample[..6], ["4.18.11", "4.18.10", "4.18.9", "4.18.2", "4.18.1", "4.18.0"]);
//! assert_eq!(sample, sample_previous(&previous)); // the same list, the same sample
//! ```

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest as _, Sha256};

use crate::record::{JobRun, NotRun, ReleaseRecord, RunKind};
use crate::schedule::JobPlan;
use crate::verdict::{JobRole, JobState, JobStatus, reduce, run_outcome};
use crate::{Gate, GatingPolicy, History, Launch, NoUpgradeSource, StreamMode};

/// Versions per bucket taken from each end, and drawn from the rest.
const SAMPLE: usize = 3;

/// The controller's sample of `previous` (see the [module docs](self)). Versions that are not
/// semantic versions are left out.
pub fn sample_previous(previous: &[String]) -> Vec<String> {
    let mut buckets: BTreeMap<String, Vec<semver::Version>> = BTreeMap::new();
    for v in previous {
        if let Ok(version) = semver::Version::parse(v) {
            let key = format!("{}.{:02}", version.major, version.minor);
            buckets.entry(key).or_default().push(version);
        }
    }
    let mut seed = [0u8; 32];
    let mut hash = Sha256::new();
    for v in previous {
        hash.update(v.as_bytes());
    }
    seed.copy_from_slice(&hash.finalize());
    let mut rng = ChaCha8Rng::from_seed(seed);
    let mut out = Vec::new();
    for versions in buckets.values_mut() {
        versions.sort_by(|a, b| b.cmp(a).then_with(|| b.to_string().cmp(&a.to_string())));
        let names: Vec<String> = versions.iter().map(ToString::to_string).collect();
        if names.len() < 3 * SAMPLE {
            out.extend(names);
            continue;
        }
        out.extend_from_slice(&names[..SAMPLE]);
        out.extend_from_slice(&names[names.len() - SAMPLE..]);
        let rest = &names[SAMPLE..names.len() - SAMPLE];
        let mut drawn: Vec<String> = Vec::new();
        while drawn.len() < SAMPLE {
            let v = &rest[rng.random_range(0..rest.len())];
            if !drawn.contains(v) {
                drawn.push(v.clone());
            }
        }
        out.extend(drawn);
    }
    out
}

/// One sampled upgrade run of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampledRun {
    /// Its job name, `upgrade-from-<version>-<platform>` (the run is `<release>-<job>`).
    pub job: String,
    /// The version it upgrades from.
    pub from: String,
    /// The platform (key of the `upgrade` map).
    pub platform: String,
    /// The platform's prow job.
    pub prow_job: String,
}

/// The sampled upgrade runs `record` gets under `policy` (none outside Stable streams).
pub fn sampled_runs(policy: &GatingPolicy, record: &ReleaseRecord) -> Vec<SampledRun> {
    let platforms: Vec<_> = policy
        .sampled_upgrades
        .iter()
        .filter(|u| !u.disabled)
        .collect();
    if policy.mode != StreamMode::Stable || platforms.is_empty() {
        return Vec::new();
    }
    sample_previous(&record.previous)
        .into_iter()
        .enumerate()
        .map(|(i, from)| {
            let u = platforms[i % platforms.len()];
            SampledRun {
                job: format!("upgrade-from-{from}-{}", u.platform),
                from,
                platform: u.platform.clone(),
                prow_job: u.prow_job.clone(),
            }
        })
        .collect()
}

fn run_of<'a>(record: &'a ReleaseRecord, job: &str) -> Option<&'a JobRun> {
    record
        .runs
        .iter()
        .find(|r| r.kind == RunKind::Sampled && r.job == job)
}

/// Adds the sampled runs of `record` not started yet to `plan`.
pub(crate) fn plan_sampled(
    policy: &GatingPolicy,
    record: &ReleaseRecord,
    history: &History,
    plan: &mut JobPlan,
) {
    let runs = sampled_runs(policy, record);
    for u in policy.sampled_upgrades.iter().filter(|u| !u.disabled) {
        if policy.mode == StreamMode::Stable && !runs.iter().any(|r| r.platform == u.platform) {
            // Nothing to upgrade from on this platform: its entry stays unknown.
            plan.not_run
                .push((u.platform.clone(), NotRun::NoUpgradeSource));
        }
    }
    for s in runs {
        if run_of(record, &s.job).is_some() {
            continue;
        }
        let upgrade_from = history.find(&s.from).filter(|f| f.name != record.name);
        if upgrade_from.is_none() && policy.no_upgrade_source == NoUpgradeSource::KeepReady {
            plan.not_run.push((s.job, NotRun::NoUpgradeSource));
            continue;
        }
        plan.launches.push(Launch {
            skip: upgrade_from.is_none(),
            job: s.job,
            kind: RunKind::Sampled,
            attempt: 0,
            upgrade_from,
        });
    }
}

/// One informing entry per enabled platform, over its sampled runs.
pub(crate) fn sampled_statuses(policy: &GatingPolicy, record: &ReleaseRecord) -> Vec<JobStatus> {
    if policy.mode != StreamMode::Stable {
        return Vec::new();
    }
    let runs = sampled_runs(policy, record);
    policy
        .sampled_upgrades
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| {
            let states: Vec<&JobRun> = runs
                .iter()
                .filter(|s| s.platform == u.platform)
                .filter_map(|s| run_of(record, &s.job))
                .collect();
            JobStatus {
                name: u.platform.clone(),
                role: JobRole::Upgrade,
                gate: Gate::Informing,
                asynchronous: false,
                state: platform_state(&states),
                runs: states.len() as u32,
            }
        })
        .collect()
}

/// The controller's state of a job without retries, over its runs (skipped ones left out):
/// the verdict's own rule with no retries.
fn platform_state(runs: &[&JobRun]) -> JobState {
    let ran: Vec<JobState> = runs
        .iter()
        .filter(|r| !r.skipped)
        .map(|r| run_outcome(r))
        .collect();
    if ran.is_empty() && !runs.is_empty() {
        return JobState::Skipped;
    }
    reduce(&ran, 0)
}
