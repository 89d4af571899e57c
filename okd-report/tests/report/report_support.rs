//! A realistic stream for the report tests: six synthetic OKD/SCOS payloads (testkit) gated by
//! the real `release-okd-scos-4.19.json` policy, with recorded job runs giving three accepted
//! releases, one rejected, one still verifying and one pending, an upgrade graph with edges
//! from a 4.18 release of another stream, and real diffs between consecutive payloads.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use okd_gating::{
    CreationState, GatingPolicy, JobRun, ParseMode, Phase, ReleaseRecord, ReleaseRef, RunKind,
    RunState, StreamState,
};
use okd_oci::{ManifestRef, MemoryStore};
use okd_release::{Release, ReleaseDiff};
use okd_report::{DiffSummary, ReportModel};
use testkit::payload::{NextSpec, PayloadChanges, PayloadSpec, generate};

pub const STREAM: &str = "4.19.0-0.okd-scos";
pub const MINOR_SOURCE: &str = "4.18.0-0.okd-scos-2025-05-28-101010";

/// The model and what the tests check against.
pub struct Fixture {
    pub model: ReportModel,
    /// Release names, oldest first.
    pub names: Vec<String>,
    /// Expected phases, oldest first.
    pub phases: Vec<Phase>,
    /// What changed into each release (index 0: nothing).
    pub changes: Vec<PayloadChanges>,
    /// The diffs, as okd-release made them (index 0: none).
    pub diffs: Vec<Option<ReleaseDiff>>,
}

pub fn policy() -> GatingPolicy {
    let path = format!(
        "{}/tests/data/release-okd-scos-4.19.json",
        env!("CARGO_MANIFEST_DIR")
    );
    GatingPolicy::from_json(
        &std::fs::read(path).unwrap(),
        "release-okd-scos-4.19.json",
        ParseMode::Strict,
    )
    .unwrap()
}

fn name_at(t: DateTime<Utc>) -> String {
    format!("{STREAM}-{}", t.format("%Y-%m-%d-%H%M%S"))
}

fn log(run: &str) -> String {
    format!(
        "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/{run}/1800000000000000001"
    )
}

struct Runs<'a> {
    record: &'a mut ReleaseRecord,
    at: DateTime<Utc>,
}

impl Runs<'_> {
    fn run(&mut self, job: &str, attempt: u32, state: RunState, from: Option<&str>) -> &mut Self {
        let started = self.at + Duration::minutes(5 + 150 * i64::from(attempt));
        let mut run = JobRun {
            job: job.to_string(),
            kind: RunKind::Verify,
            attempt,
            state,
            started,
            finished: (state != RunState::Pending).then(|| started + Duration::minutes(97)),
            upgrade_from: from.map(|f| ReleaseRef {
                name: f.to_string(),
                pullspec: format!("quay.io/okd/scos-release:{f}"),
            }),
            handle: None,
            log: None,
            skipped: false,
        };
        run.log = Some(log(&run.run_name(&self.record.name)));
        self.record.runs.push(run);
        self
    }

    /// The last pass could not start `job`: nothing to upgrade from.
    fn not_run(&mut self, job: &str) -> &mut Self {
        self.record
            .not_run
            .insert(job.to_string(), okd_gating::NotRun::NoUpgradeSource);
        self
    }
}

pub async fn fixture() -> Fixture {
    use RunState::{Failed as F, Pending as P, Succeeded as S};
    let t0 = Utc.with_ymd_and_hms(2025, 6, 2, 3, 0, 0).unwrap();
    let store = MemoryStore::new();
    let first = name_at(t0);
    let spec = PayloadSpec::new()
        .components(24)
        .layer_size(512)
        .version(first.clone())
        .created(t0.timestamp());
    let mut payloads = vec![generate(&store, &spec).await.unwrap()];
    let mut changes = vec![PayloadChanges::default()];
    let steps = [
        (2, 3, 1, 0),
        (3, 1, 0, 1),
        (1, 2, 0, 0),
        (2, 0, 2, 0),
        (1, 1, 0, 0),
    ];
    for (i, (changed, rebuilt, added, removed)) in steps.into_iter().enumerate() {
        let at = t0 + Duration::days(i as i64 + 1);
        let (next, c) = payloads
            .last()
            .unwrap()
            .next(
                &store,
                &NextSpec {
                    changed,
                    rebuilt,
                    added,
                    removed,
                    version: name_at(at),
                    seed: 7 + i as u64,
                },
            )
            .await
            .unwrap();
        payloads.push(next);
        changes.push(c);
    }
    let mut releases = Vec::new();
    for p in &payloads {
        releases.push(
            Release::load(
                &store,
                &p.release.repo,
                &ManifestRef::Tag(p.release.tag.clone()),
            )
            .await
            .unwrap(),
        );
    }
    let names: Vec<String> = payloads.iter().map(|p| p.version.clone()).collect();

    let policy = policy();
    let mut state = StreamState::default();
    for (i, p) in payloads.iter().enumerate() {
        let at = t0 + Duration::days(i as i64);
        let mut r =
            ReleaseRecord::pending(&names[i], p.release_pullspec(), &format!("inputs-{i}"), at);
        r.creation = CreationState::Succeeded;
        let mut runs = Runs { record: &mut r, at };
        match i {
            0 => {
                runs.run("aws", 0, S, None)
                    .not_run("aws-upgrade")
                    .run("aws-upgrade-minor", 0, S, Some(MINOR_SOURCE))
                    .run("gcp", 0, S, None)
                    .run("vsphere", 0, S, None)
                    .run("metal-ovn-assisted", 0, F, None)
                    .run("agent-single-node-ipv6", 0, S, None);
            }
            1 => {
                runs.run("aws", 0, F, None)
                    .run("aws", 1, S, None)
                    .run("aws-upgrade", 0, S, Some(&names[0]))
                    .run("aws-upgrade-minor", 0, S, Some(MINOR_SOURCE))
                    .run("gcp", 0, F, None)
                    .run("vsphere", 0, S, None)
                    .run("metal-ovn-assisted", 0, S, None)
                    .run("agent-single-node-ipv6", 0, S, None);
            }
            2 => {
                runs.run("aws", 0, F, None)
                    .run("aws", 1, F, None)
                    .run("aws", 2, F, None)
                    .run("aws-upgrade", 0, F, Some(&names[1]))
                    .run("aws-upgrade-minor", 0, S, Some(MINOR_SOURCE))
                    .run("gcp", 0, S, None)
                    .run("vsphere", 0, F, None);
            }
            3 => {
                runs.run("aws", 0, S, None)
                    .run("aws-upgrade", 0, S, Some(&names[1]))
                    .run("aws-upgrade-minor", 0, F, Some(MINOR_SOURCE))
                    .run("gcp", 0, S, None)
                    .run("vsphere", 0, S, None)
                    .run("metal-ovn-assisted", 0, S, None)
                    .run("agent-single-node-ipv6", 0, F, None);
            }
            4 => {
                runs.run("aws", 0, P, None)
                    .run("aws-upgrade", 0, P, Some(&names[3]))
                    .run("gcp", 0, S, None);
            }
            _ => {
                r.creation = CreationState::Pending;
            }
        }
        let e = okd_gating::evaluate(&policy, &r);
        r.phase = e.phase;
        r.reason = e.reason;
        r.message = e.message;
        state.graph.record_release(&r);
        state.releases.push(r);
    }
    // A second, local run of the 4.18 upgrade into the newest accepted release.
    state.graph.record(
        MINOR_SOURCE,
        &names[3],
        RunState::Succeeded,
        "/var/log/okd-streams/minor-2.log",
    );

    let mut model = ReportModel::from_stream(STREAM, &state, &policy);
    model.generated = Some(t0 + Duration::days(6));
    let mut diffs = vec![None];
    for i in 1..releases.len() {
        let diff = ReleaseDiff::between(&releases[i - 1], &releases[i]);
        let entry = model.release_mut(&names[i]).unwrap();
        entry.digest = Some(payloads[i].release_digest().to_string());
        if i < 5 {
            entry.diff = Some(DiffSummary::from(&diff).with_text(diff.to_text(t0, true)));
        }
        diffs.push(Some(diff));
    }
    Fixture {
        model,
        names,
        phases: vec![
            Phase::Accepted,
            Phase::Accepted,
            Phase::Rejected,
            Phase::Accepted,
            Phase::Ready,
            Phase::Pending,
        ],
        changes,
        diffs,
    }
}
